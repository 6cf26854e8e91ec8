use serde::{Deserialize, Serialize};

use crate::{ModelError, normalise_word};

/// The common scale every likelihood and impact is normalised to: 1.0 (lowest) to 5.0
/// (highest), continuous so that a 1–3 or percentage scale does not lose its ordering.
pub const COMMON_MIN: f64 = 1.0;
pub const COMMON_MAX: f64 = 5.0;

/// One rated value (likelihood, impact or score) as the source wrote it and as normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleValue {
    /// The cell as written ("3 - Possible", "High", "40%").
    pub raw: String,
    /// The id of the scale mapping that read it (`mappings/scales/<id>.toml`).
    pub scale: String,
    /// The value on the source scale (3 on 1–5; 2 for "Medium" on Low/Medium/High; 40 for 40%).
    pub value: f64,
    /// The value on the common scale: 1.0–5.0 for likelihood and impact, 1.0–25.0 for scores
    /// (the product of the normalised likelihood and impact).
    pub normalised: f64,
}

/// Likelihood, impact and score at one point of treatment (inherent or residual).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskRating {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<ScaleValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<ScaleValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScaleValue>,
}

impl RiskRating {
    pub fn is_empty(&self) -> bool {
        self.likelihood.is_none() && self.impact.is_none() && self.score.is_none()
    }

    /// The normalised score: the source's own score when it gave one, else likelihood × impact
    /// on the common scale.
    pub fn normalised_score(&self) -> Option<f64> {
        if let Some(score) = &self.score {
            return Some(score.normalised);
        }
        match (&self.likelihood, &self.impact) {
            (Some(l), Some(i)) => Some(l.normalised * i.normalised),
            _ => None,
        }
    }
}

/// What was decided about a risk: the ISO 31000 / 27005 options, keeping the source's word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treatment {
    pub option: TreatmentOption,
    /// The word the source used ("Mitigate", "Transfer to insurer").
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreatmentOption {
    /// Change likelihood or consequence (mitigate, reduce, treat, control).
    Modify,
    /// Accept the risk as it is (retain, tolerate).
    Retain,
    /// Stop the activity (avoid, terminate).
    Avoid,
    /// Share with another party (transfer, insure, outsource).
    Share,
}

impl TreatmentOption {
    pub fn as_str(self) -> &'static str {
        match self {
            TreatmentOption::Modify => "modify",
            TreatmentOption::Retain => "retain",
            TreatmentOption::Avoid => "avoid",
            TreatmentOption::Share => "share",
        }
    }
}

impl Treatment {
    pub fn parse(raw: &str) -> Result<Treatment, ModelError> {
        let w = normalise_word(raw);
        let first = w.split(' ').next().unwrap_or_default();
        let option = match first {
            "modify" | "mitigate" | "mitigation" | "reduce" | "reduction" | "treat" | "control"
            | "remediate" | "minimise" | "minimize" | "mindern" | "reduzieren" | "réduire"
            | "atténuer" => TreatmentOption::Modify,
            "retain" | "accept" | "accepted" | "acceptance" | "tolerate" | "retention"
            | "akzeptieren" | "tragen" | "accepter" => TreatmentOption::Retain,
            "avoid" | "avoidance" | "terminate" | "eliminate" | "vermeiden" | "éviter" => {
                TreatmentOption::Avoid
            }
            "share" | "transfer" | "transferred" | "insure" | "insurance" | "outsource"
            | "übertragen" | "transférer" | "partager" => TreatmentOption::Share,
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "risk treatment",
                    value: raw.to_string(),
                    expected: "modify, retain, avoid or share (or mitigate, reduce, accept, tolerate, transfer, insure …)",
                });
            }
        };
        Ok(Treatment {
            option,
            label: raw.trim().to_string(),
        })
    }
}

/// What a risk record carries beyond the common fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "RiskRating::is_empty")]
    pub inherent: RiskRating,
    #[serde(default, skip_serializing_if = "RiskRating::is_empty")]
    pub residual: RiskRating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<Treatment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment_plan: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_treatment_words() {
        assert_eq!(
            Treatment::parse("Mitigate").map(|t| t.option),
            Ok(TreatmentOption::Modify)
        );
        assert_eq!(
            Treatment::parse("Transfer to insurer").map(|t| t.option),
            Ok(TreatmentOption::Share)
        );
        assert_eq!(
            Treatment::parse("accept").map(|t| t.option),
            Ok(TreatmentOption::Retain)
        );
        assert_eq!(
            Treatment::parse("Avoid").map(|t| t.label),
            Ok("Avoid".to_string())
        );
        assert!(Treatment::parse("ignore").is_err());
    }

    #[test]
    fn score_falls_back_to_product() {
        let v = |n: f64| ScaleValue {
            raw: n.to_string(),
            scale: "1-5".into(),
            value: n,
            normalised: n,
        };
        let rating = RiskRating {
            likelihood: Some(v(4.0)),
            impact: Some(v(3.0)),
            score: None,
        };
        assert_eq!(rating.normalised_score(), Some(12.0));
    }
}
