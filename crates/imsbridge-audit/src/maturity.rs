//! Maturity levels per HS process, from criteria kept here as data (and written into every
//! pack, so a reader sees what a level meant when the pack was made).

use serde::Serialize;

/// The level names, level 1 first.
pub const LEVEL_NAMES: [&str; 5] = ["ad hoc", "developing", "defined", "managed", "optimising"];

/// One criterion: a row reaches a level when it meets every criterion of that level and of
/// all levels below. Level 1 (ad hoc) has none: every row has at least level 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Criterion {
    pub id: &'static str,
    pub level: u8,
    pub description: &'static str,
}

/// The criteria, lowest level first.
pub const MATURITY_CRITERIA: &[Criterion] = &[
    Criterion {
        id: "evidence",
        level: 2,
        description: "At least one record from any source system is behind the process.",
    },
    Criterion {
        id: "documented",
        level: 3,
        description: "A document behind the process is current: dated within the review period and not past its next review date.",
    },
    Criterion {
        id: "assessed",
        level: 4,
        description: "Every chosen standard with a shared clause on the process has at least one of those clauses in a state other than not assessed.",
    },
    Criterion {
        id: "monitored",
        level: 4,
        description: "A requirement assessment, audit finding or control behind the process is dated within the review period.",
    },
    Criterion {
        id: "risks_owned",
        level: 4,
        description: "Every risk behind the process that is not closed has an owner and a treatment decision (met when there is none).",
    },
    Criterion {
        id: "nothing_overdue",
        level: 4,
        description: "No risk treatment, nonconformity, corrective action or finding behind the process is past its due date.",
    },
    Criterion {
        id: "improvement_closed",
        level: 5,
        description: "A nonconformity, corrective action or audit finding behind the process was closed within the review period.",
    },
    Criterion {
        id: "all_conforming",
        level: 5,
        description: "No shared clause on the process is partially or not conforming.",
    },
];

/// The highest level whose criteria (and those of every lower level) are all in `met`.
pub fn level(met: &[&str]) -> u8 {
    let mut level = 1;
    for l in 2..=5u8 {
        if MATURITY_CRITERIA
            .iter()
            .filter(|c| c.level == l)
            .all(|c| met.contains(&c.id))
        {
            level = l;
        } else {
            break;
        }
    }
    level
}

/// The name of a level (1–5).
pub fn level_name(level: u8) -> &'static str {
    LEVEL_NAMES
        .get(usize::from(level.clamp(1, 5)) - 1)
        .copied()
        .unwrap_or("ad hoc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_cumulative() {
        assert_eq!(level(&[]), 1);
        assert_eq!(level(&["evidence"]), 2);
        // Level 5 criteria without level 3 do not count.
        assert_eq!(
            level(&["evidence", "improvement_closed", "all_conforming"]),
            2
        );
        let all: Vec<&str> = MATURITY_CRITERIA.iter().map(|c| c.id).collect();
        assert_eq!(level(&all), 5);
        assert_eq!(level_name(4), "managed");
    }
}
