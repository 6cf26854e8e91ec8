use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ModelError, Relationship, StandardId};

/// A reference to one clause (or Annex A control) of one standard, e.g.
/// `ISO/IEC 27001:2022 A.5.7`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClauseRef {
    pub standard: StandardId,
    /// The clause number as the standard numbers it: `6.1.2`, or `A.5.7` for annex controls.
    pub clause: String,
}

/// A Harmonized Structure clause a record sits on, derived from one of its clause references
/// through the standard's clause map. Keeps the path so every derived link can say where it
/// came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HsLink {
    /// The HS clause id (`9.2.2`).
    pub clause: String,
    /// How the referenced clause compares with the HS clause (NIST IR 8477 direction:
    /// standard clause compared with HS clause).
    pub relationship: Relationship,
    /// The clause reference this link was derived from.
    pub via: ClauseRef,
}

impl ClauseRef {
    pub fn new(standard: StandardId, clause: impl Into<String>) -> Self {
        ClauseRef {
            standard,
            clause: clause.into(),
        }
    }

    /// Whether this is an annex control (`A.5.7`) rather than a numbered clause.
    pub fn is_annex(&self) -> bool {
        self.clause.starts_with('A')
    }

    /// Parses one reference. The standard may be named in the text; otherwise `default`
    /// (e.g. the standard a sheet or column is about) is used. A title after the number is
    /// ignored: "6.1.2 Information security risk assessment" is clause 6.1.2.
    pub fn parse(text: &str, default: Option<StandardId>) -> Result<ClauseRef, ModelError> {
        let bad = || ModelError::BadClause(text.trim().to_string());
        let (standard, rest) = match StandardId::split_prefix(text) {
            Some((id, Some(year), _)) if Some(year) != id.edition() => {
                return Err(ModelError::UnsupportedEdition {
                    reference: text.trim().to_string(),
                    year: year.to_string(),
                    mapped: id.designation(),
                });
            }
            Some((id, _, rest)) => (id, rest),
            None => match default {
                Some(id) => (id, text.trim()),
                // A clause number with no standard is a different mistake from text that is
                // no clause at all, and the fix differs: name the standard.
                None if parse_number(text).is_some() => {
                    return Err(ModelError::NoStandard(text.trim().to_string()));
                }
                None => return Err(bad()),
            },
        };
        let clause = parse_number(rest).ok_or_else(bad)?;
        Ok(ClauseRef { standard, clause })
    }

    /// Parses a cell that may hold several references separated by `;`, `,`, `|` or line
    /// breaks ("6.1.2; A.5.7, A.8.12"). A standard named in one part carries over to the parts
    /// after it ("27001 A.5.7, A.5.8"). Returns the references and the parts that were not
    /// references with the reason, so the caller can reject or warn instead of dropping them.
    pub fn parse_list(
        text: &str,
        default: Option<StandardId>,
    ) -> (Vec<ClauseRef>, Vec<(String, ModelError)>) {
        let mut refs = Vec::new();
        let mut failed = Vec::new();
        let mut current = default;
        for part in text.split([';', ',', '|', '\n', '\r']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match ClauseRef::parse(part, current) {
                Ok(r) => {
                    current = Some(r.standard);
                    if !refs.contains(&r) {
                        refs.push(r);
                    }
                }
                Err(e) => failed.push((part.to_string(), e)),
            }
        }
        (refs, failed)
    }
}

/// Reads a clause number at the start of `text`: `9.2`, `clause 9.2`, `§9.2`, `A.5.7`, `A5.7`,
/// `Annex A 5.7`, `A.5.7 Threat intelligence`.
fn parse_number(text: &str) -> Option<String> {
    let mut s = text.trim();
    let lower = s.to_ascii_lowercase();
    for prefix in ["clause ", "clause", "cl. ", "cl.", "§ ", "§"] {
        if lower.starts_with(prefix) {
            s = s[prefix.len()..].trim_start();
            break;
        }
    }
    let mut annex = false;
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("annex a") {
        annex = true;
        s = s["annex a".len()..].trim_start_matches(['.', ' ', ':']);
    } else if let Some(r) = s.strip_prefix(['A', 'a']) {
        if r.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') {
            annex = true;
            s = r.trim_start_matches(['.', ' ']);
        } else {
            return None;
        }
    }
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            number.push(c);
            chars.next();
        } else if c == '.' {
            chars.next();
            // A dot is part of the number only when a digit follows ("6.1." ends at "6.1").
            if chars.peek().is_some_and(char::is_ascii_digit) {
                number.push('.');
            } else {
                break;
            }
        } else {
            break;
        }
    }
    // The number must end at a word boundary: "6.1.2a" or "12abc" are not clause numbers.
    if number.is_empty() || chars.peek().is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    Some(if annex { format!("A.{number}") } else { number })
}

impl fmt::Display for ClauseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.standard.designation(), self.clause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StandardId::*;

    #[test]
    fn parses_references_as_registers_write_them() {
        let cases = [
            ("ISO/IEC 27001:2022 6.1.2", None, Iso27001, "6.1.2"),
            ("Annex A 5.7", Some(Iso27001), Iso27001, "A.5.7"),
            ("A.5.7", Some(Iso27001), Iso27001, "A.5.7"),
            ("A5.7", Some(Iso27001), Iso27001, "A.5.7"),
            ("ISO/IEC 42001:2023 6.1.4", None, Iso42001, "6.1.4"),
            ("42001 A.6.2.2", Some(Iso27001), Iso42001, "A.6.2.2"),
            ("Clause 9.2", Some(Iso9001), Iso9001, "9.2"),
            (
                "6.1.2 Information security risk assessment",
                Some(Iso27001),
                Iso27001,
                "6.1.2",
            ),
            ("9001 10.3", None, Iso9001, "10.3"),
            ("10.", Some(Iso9001), Iso9001, "10"),
        ];
        for (text, default, standard, clause) in cases {
            assert_eq!(
                ClauseRef::parse(text, default),
                Ok(ClauseRef::new(standard, clause)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_clause() {
        assert_eq!(
            ClauseRef::parse("6.1.2", None),
            Err(ModelError::NoStandard("6.1.2".into())),
            "no standard known"
        );
        assert!(ClauseRef::parse("see policy", Some(Iso27001)).is_err());
        assert!(ClauseRef::parse("6.1.2a", Some(Iso27001)).is_err());
        assert!(ClauseRef::parse("Access", Some(Iso27001)).is_err());
        assert!(matches!(
            ClauseRef::parse("ISO/IEC 27001:2013 A.9.2", None),
            Err(ModelError::UnsupportedEdition { .. })
        ));
    }

    #[test]
    fn parses_lists_and_carries_the_standard_forward() {
        let (refs, unparsed) =
            ClauseRef::parse_list("27001 A.5.7, A.5.8; 42001 6.1.4 | nonsense", Some(Iso9001));
        assert_eq!(
            refs,
            vec![
                ClauseRef::new(Iso27001, "A.5.7"),
                ClauseRef::new(Iso27001, "A.5.8"),
                ClauseRef::new(Iso42001, "6.1.4"),
            ]
        );
        assert_eq!(unparsed.len(), 1);
        assert_eq!(unparsed[0].0, "nonsense");
        assert!(matches!(
            ClauseRef::parse("A.5.7", None),
            Err(ModelError::NoStandard(_))
        ));
    }

    #[test]
    fn displays_with_designation() {
        assert_eq!(
            ClauseRef::new(Iso27001, "A.5.7").to_string(),
            "ISO/IEC 27001:2022 A.5.7"
        );
    }
}
