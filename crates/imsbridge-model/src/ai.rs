use serde::{Deserialize, Serialize};

use crate::{ModelError, normalise_word};

/// Whether a record concerns an AI system, and why we think so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiFlag {
    pub flagged: bool,
    /// AI risk categories (ISO/IEC 42001 Annex C objectives and risk sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<AiRiskCategory>,
    /// What set the flag: an explicit column, a 42001 clause reference, a category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// AI-related objectives and risk sources after ISO/IEC 42001 Annex C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiRiskCategory {
    Accountability,
    AiExpertise,
    DataQuality,
    EnvironmentalImpact,
    Fairness,
    Maintainability,
    Privacy,
    Robustness,
    Safety,
    Security,
    Transparency,
}

impl AiRiskCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            AiRiskCategory::Accountability => "accountability",
            AiRiskCategory::AiExpertise => "ai_expertise",
            AiRiskCategory::DataQuality => "data_quality",
            AiRiskCategory::EnvironmentalImpact => "environmental_impact",
            AiRiskCategory::Fairness => "fairness",
            AiRiskCategory::Maintainability => "maintainability",
            AiRiskCategory::Privacy => "privacy",
            AiRiskCategory::Robustness => "robustness",
            AiRiskCategory::Safety => "safety",
            AiRiskCategory::Security => "security",
            AiRiskCategory::Transparency => "transparency",
        }
    }

    /// Reads the words registers use for a category ("Bias" is fairness, "Explainability" is
    /// transparency, "Training data quality" is data quality).
    pub fn parse(raw: &str) -> Result<AiRiskCategory, ModelError> {
        let w = normalise_word(raw);
        let found = [
            (
                &["accountab", "responsib", "oversight", "human oversight"][..],
                AiRiskCategory::Accountability,
            ),
            (
                &["privacy", "personal data", "data protection", "datenschutz"][..],
                AiRiskCategory::Privacy,
            ),
            (
                &["expertise", "competen", "skill"][..],
                AiRiskCategory::AiExpertise,
            ),
            (
                &["data quality", "training data", "test data", "data"][..],
                AiRiskCategory::DataQuality,
            ),
            (
                &["environment", "energy", "carbon", "sustainab"][..],
                AiRiskCategory::EnvironmentalImpact,
            ),
            (
                &["fair", "bias", "discriminat", "equity"][..],
                AiRiskCategory::Fairness,
            ),
            (&["maintainab"][..], AiRiskCategory::Maintainability),
            (
                &["robust", "reliab", "accuracy", "drift", "hallucinat"][..],
                AiRiskCategory::Robustness,
            ),
            (&["safety", "harm"][..], AiRiskCategory::Safety),
            (
                &["security", "adversarial", "poisoning", "prompt injection"][..],
                AiRiskCategory::Security,
            ),
            (
                &["transparen", "explainab", "interpretab", "disclosure"][..],
                AiRiskCategory::Transparency,
            ),
        ]
        .into_iter()
        .find(|(stems, _)| stems.iter().any(|s| w.contains(s)))
        .map(|(_, c)| c);
        found.ok_or_else(|| ModelError::UnknownWord {
            what: "AI risk category",
            value: raw.to_string(),
            expected: "one of accountability, ai_expertise, data_quality, environmental_impact, fairness, maintainability, privacy, robustness, safety, security, transparency",
        })
    }

    /// Parses a cell that may list several categories ("Fairness; Transparency"). Parts that
    /// are not categories are returned so the caller can warn.
    pub fn parse_list(raw: &str) -> (Vec<AiRiskCategory>, Vec<String>) {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for part in raw.split([';', ',', '/', '|', '\n']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match AiRiskCategory::parse(part) {
                Ok(c) if !found.contains(&c) => found.push(c),
                Ok(_) => {}
                Err(_) => unknown.push(part.to_string()),
            }
        }
        found.sort();
        (found, unknown)
    }
}

/// Risk tier of an AI system in the inventory (EU AI Act style tiers, which is what most
/// inventories record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiRiskTier {
    Minimal,
    Limited,
    High,
    Unacceptable,
}

impl AiRiskTier {
    pub fn parse(raw: &str) -> Result<AiRiskTier, ModelError> {
        let w = normalise_word(raw);
        Ok(match w.as_str() {
            "minimal" | "minimal risk" | "low" | "none" | "1" => AiRiskTier::Minimal,
            "limited" | "limited risk" | "medium" | "transparency" | "2" => AiRiskTier::Limited,
            "high" | "high risk" | "3" => AiRiskTier::High,
            "unacceptable" | "prohibited" | "unacceptable risk" | "4" => AiRiskTier::Unacceptable,
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "AI risk tier",
                    value: raw.to_string(),
                    expected: "minimal, limited, high or unacceptable",
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_category_words() {
        assert_eq!(AiRiskCategory::parse("Bias"), Ok(AiRiskCategory::Fairness));
        assert_eq!(
            AiRiskCategory::parse("Explainability"),
            Ok(AiRiskCategory::Transparency)
        );
        assert_eq!(
            AiRiskCategory::parse("Training data quality"),
            Ok(AiRiskCategory::DataQuality)
        );
        assert_eq!(
            AiRiskCategory::parse("Environmental impact"),
            Ok(AiRiskCategory::EnvironmentalImpact)
        );
        assert!(AiRiskCategory::parse("Finance").is_err());
        let (cats, unknown) = AiRiskCategory::parse_list("Privacy; Fairness, Budget");
        assert_eq!(
            cats,
            vec![AiRiskCategory::Fairness, AiRiskCategory::Privacy]
        );
        assert_eq!(unknown, vec!["Budget".to_string()]);
    }

    #[test]
    fn reads_tiers() {
        assert_eq!(AiRiskTier::parse("High risk"), Ok(AiRiskTier::High));
        assert_eq!(
            AiRiskTier::parse("prohibited"),
            Ok(AiRiskTier::Unacceptable)
        );
        assert!(AiRiskTier::parse("spicy").is_err());
    }
}
