use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ModelError, normalise_word};

/// The conformity state of a requirement: the result of a requirement assessment, or the state
/// an audit pack derives for a clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conformity {
    Conforming,
    PartiallyConforming,
    NotConforming,
    NotApplicable,
    NotAssessed,
}

impl Conformity {
    pub const ALL: [Conformity; 5] = [
        Conformity::Conforming,
        Conformity::PartiallyConforming,
        Conformity::NotConforming,
        Conformity::NotApplicable,
        Conformity::NotAssessed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Conformity::Conforming => "conforming",
            Conformity::PartiallyConforming => "partially_conforming",
            Conformity::NotConforming => "not_conforming",
            Conformity::NotApplicable => "not_applicable",
            Conformity::NotAssessed => "not_assessed",
        }
    }

    /// Reads the words assessment sheets and GRC tools use (compliant, met, partial, gap,
    /// major NC, N/A, CISO Assistant's `partially_compliant` …). An empty cell is not assessed.
    pub fn parse(raw: &str) -> Result<Conformity, ModelError> {
        let w = normalise_word(raw);
        Ok(match w.as_str() {
            "conforming" | "conform" | "conforms" | "conformity" | "compliant" | "complies"
            | "compliance" | "met" | "fully met" | "yes" | "y" | "ok" | "pass" | "passed"
            | "satisfied" | "fulfilled" | "c" | "konform" | "erfüllt" | "conforme" => {
                Conformity::Conforming
            }
            "partially conforming"
            | "partially conform"
            | "partially compliant"
            | "partial"
            | "partially"
            | "partly"
            | "partially met"
            | "pc"
            | "minor nc"
            | "minor nonconformity"
            | "minor"
            | "teilweise"
            | "teilweise erfüllt"
            | "partiellement conforme" => Conformity::PartiallyConforming,
            "not conforming"
            | "nonconforming"
            | "non conforming"
            | "non conformity"
            | "nonconformity"
            | "not compliant"
            | "non compliant"
            | "noncompliant"
            | "not met"
            | "no"
            | "n"
            | "fail"
            | "failed"
            | "not satisfied"
            | "gap"
            | "nc"
            | "major nc"
            | "major nonconformity"
            | "major"
            | "nicht erfüllt"
            | "non conforme" => Conformity::NotConforming,
            "not applicable" | "n/a" | "na" | "n.a." | "excluded" | "nicht anwendbar"
            | "non applicable" => Conformity::NotApplicable,
            "" | "not assessed" | "not yet assessed" | "tbd" | "to be assessed" | "open"
            | "pending" | "unknown" | "?" | "nicht bewertet" => Conformity::NotAssessed,
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "conformity result",
                    value: raw.to_string(),
                    expected: "conforming, partially conforming, not conforming, not applicable or not assessed (or compliant, partial, gap, N/A …)",
                });
            }
        })
    }
}

impl fmt::Display for Conformity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a control is implemented (Statement of Applicability column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImplementationStatus {
    NotStarted,
    Planned,
    InProgress,
    Implemented,
    NotApplicable,
}

impl ImplementationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImplementationStatus::NotStarted => "not_started",
            ImplementationStatus::Planned => "planned",
            ImplementationStatus::InProgress => "in_progress",
            ImplementationStatus::Implemented => "implemented",
            ImplementationStatus::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(raw: &str) -> Result<ImplementationStatus, ModelError> {
        let w = normalise_word(raw);
        Ok(match w.as_str() {
            "not started" | "not implemented" | "none" | "missing" | "to do" | "todo" | "open"
            | "no" => ImplementationStatus::NotStarted,
            "planned" | "plan" | "scheduled" | "to be implemented" | "geplant" => {
                ImplementationStatus::Planned
            }
            "in progress"
            | "partial"
            | "partially implemented"
            | "ongoing"
            | "wip"
            | "started"
            | "in bearbeitung"
            | "in umsetzung" => ImplementationStatus::InProgress,
            "implemented" | "done" | "active" | "complete" | "completed" | "in place"
            | "operational" | "yes" | "fully implemented" | "umgesetzt" | "implementé"
            | "mis en œuvre" => ImplementationStatus::Implemented,
            "not applicable" | "n/a" | "na" | "excluded" => ImplementationStatus::NotApplicable,
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "implementation status",
                    value: raw.to_string(),
                    expected: "not started, planned, in progress, implemented or not applicable",
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_result_words() {
        assert_eq!(Conformity::parse("Compliant"), Ok(Conformity::Conforming));
        assert_eq!(
            Conformity::parse("partially_compliant"),
            Ok(Conformity::PartiallyConforming)
        );
        assert_eq!(
            Conformity::parse("Non-Conforming"),
            Ok(Conformity::NotConforming)
        );
        assert_eq!(Conformity::parse("N/A"), Ok(Conformity::NotApplicable));
        assert_eq!(Conformity::parse(""), Ok(Conformity::NotAssessed));
        assert!(Conformity::parse("maybe").is_err());
    }

    #[test]
    fn reads_implementation_words() {
        assert_eq!(
            ImplementationStatus::parse("In Progress"),
            Ok(ImplementationStatus::InProgress)
        );
        assert_eq!(
            ImplementationStatus::parse("Implemented"),
            Ok(ImplementationStatus::Implemented)
        );
        assert!(ImplementationStatus::parse("eventually").is_err());
    }
}
