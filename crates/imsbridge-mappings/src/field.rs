//! The canonical fields a register column can hold.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Dimension;

/// A canonical field: what a spreadsheet column (or an API attribute) holds, whatever its
/// header says. The snake_case names are used in profiles and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    ExternalId,
    Title,
    Description,
    Owner,
    Status,
    Category,
    IdentifiedDate,
    DueDate,
    ClosedDate,
    ReviewedDate,
    NextReviewDate,
    Clauses,
    Standard,
    AiFlag,
    AiCategory,
    Likelihood,
    Impact,
    Score,
    InherentLikelihood,
    InherentImpact,
    InherentScore,
    ResidualLikelihood,
    ResidualImpact,
    ResidualScore,
    Treatment,
    TreatmentPlan,
    Applicable,
    Justification,
    ImplementationStatus,
    Evidence,
    Result,
    Assessor,
    Source,
    Severity,
    RootCause,
    Correction,
    CorrectiveAction,
    Effectiveness,
    Affected,
    Resolution,
    FindingType,
    Audit,
    Auditor,
    DocumentType,
    Version,
    Link,
    Approver,
    Target,
    Measure,
    Progress,
    RiskTier,
    Purpose,
    Role,
    LifecycleStage,
    ModelType,
}

impl Field {
    pub const ALL: [Field; 55] = [
        Field::ExternalId,
        Field::Title,
        Field::Description,
        Field::Owner,
        Field::Status,
        Field::Category,
        Field::IdentifiedDate,
        Field::DueDate,
        Field::ClosedDate,
        Field::ReviewedDate,
        Field::NextReviewDate,
        Field::Clauses,
        Field::Standard,
        Field::AiFlag,
        Field::AiCategory,
        Field::Likelihood,
        Field::Impact,
        Field::Score,
        Field::InherentLikelihood,
        Field::InherentImpact,
        Field::InherentScore,
        Field::ResidualLikelihood,
        Field::ResidualImpact,
        Field::ResidualScore,
        Field::Treatment,
        Field::TreatmentPlan,
        Field::Applicable,
        Field::Justification,
        Field::ImplementationStatus,
        Field::Evidence,
        Field::Result,
        Field::Assessor,
        Field::Source,
        Field::Severity,
        Field::RootCause,
        Field::Correction,
        Field::CorrectiveAction,
        Field::Effectiveness,
        Field::Affected,
        Field::Resolution,
        Field::FindingType,
        Field::Audit,
        Field::Auditor,
        Field::DocumentType,
        Field::Version,
        Field::Link,
        Field::Approver,
        Field::Target,
        Field::Measure,
        Field::Progress,
        Field::RiskTier,
        Field::Purpose,
        Field::Role,
        Field::LifecycleStage,
        Field::ModelType,
    ];

    /// The snake_case name used in profiles (`inherent_likelihood`).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::ExternalId => "external_id",
            Field::Title => "title",
            Field::Description => "description",
            Field::Owner => "owner",
            Field::Status => "status",
            Field::Category => "category",
            Field::IdentifiedDate => "identified_date",
            Field::DueDate => "due_date",
            Field::ClosedDate => "closed_date",
            Field::ReviewedDate => "reviewed_date",
            Field::NextReviewDate => "next_review_date",
            Field::Clauses => "clauses",
            Field::Standard => "standard",
            Field::AiFlag => "ai_flag",
            Field::AiCategory => "ai_category",
            Field::Likelihood => "likelihood",
            Field::Impact => "impact",
            Field::Score => "score",
            Field::InherentLikelihood => "inherent_likelihood",
            Field::InherentImpact => "inherent_impact",
            Field::InherentScore => "inherent_score",
            Field::ResidualLikelihood => "residual_likelihood",
            Field::ResidualImpact => "residual_impact",
            Field::ResidualScore => "residual_score",
            Field::Treatment => "treatment",
            Field::TreatmentPlan => "treatment_plan",
            Field::Applicable => "applicable",
            Field::Justification => "justification",
            Field::ImplementationStatus => "implementation_status",
            Field::Evidence => "evidence",
            Field::Result => "result",
            Field::Assessor => "assessor",
            Field::Source => "source",
            Field::Severity => "severity",
            Field::RootCause => "root_cause",
            Field::Correction => "correction",
            Field::CorrectiveAction => "corrective_action",
            Field::Effectiveness => "effectiveness",
            Field::Affected => "affected",
            Field::Resolution => "resolution",
            Field::FindingType => "finding_type",
            Field::Audit => "audit",
            Field::Auditor => "auditor",
            Field::DocumentType => "document_type",
            Field::Version => "version",
            Field::Link => "link",
            Field::Approver => "approver",
            Field::Target => "target",
            Field::Measure => "measure",
            Field::Progress => "progress",
            Field::RiskTier => "risk_tier",
            Field::Purpose => "purpose",
            Field::Role => "role",
            Field::LifecycleStage => "lifecycle_stage",
            Field::ModelType => "model_type",
        }
    }

    /// The rating dimension of a likelihood, impact or score field (inherent and residual
    /// included), which decides the scales that can read it.
    pub fn dimension(self) -> Option<Dimension> {
        match self {
            Field::Likelihood | Field::InherentLikelihood | Field::ResidualLikelihood => {
                Some(Dimension::Likelihood)
            }
            Field::Impact | Field::InherentImpact | Field::ResidualImpact => {
                Some(Dimension::Impact)
            }
            Field::Score | Field::InherentScore | Field::ResidualScore => Some(Dimension::Score),
            _ => None,
        }
    }

    /// The inherent variant of a likelihood, impact or score field.
    pub fn inherent(self) -> Option<Field> {
        match self.dimension()? {
            Dimension::Likelihood => Some(Field::InherentLikelihood),
            Dimension::Impact => Some(Field::InherentImpact),
            Dimension::Score => Some(Field::InherentScore),
        }
    }

    /// The residual variant of a likelihood, impact or score field.
    pub fn residual(self) -> Option<Field> {
        match self.dimension()? {
            Dimension::Likelihood => Some(Field::ResidualLikelihood),
            Dimension::Impact => Some(Field::ResidualImpact),
            Dimension::Score => Some(Field::ResidualScore),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = String;

    /// Accepts the snake_case name in any case, with spaces or hyphens for underscores
    /// ("Due date", "due-date").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = crate::fold::fold(s).replace(' ', "_");
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == key)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a canonical field: expected one of {}",
                    Field::ALL.map(Field::as_str).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            assert_eq!(field.as_str().parse::<Field>(), Ok(field));
        }
        assert_eq!("Due date".parse::<Field>(), Ok(Field::DueDate));
        assert_eq!("risk-tier".parse::<Field>(), Ok(Field::RiskTier));
        assert!("colour".parse::<Field>().is_err());
    }

    #[test]
    fn rating_fields_have_variants() {
        assert_eq!(Field::Impact.inherent(), Some(Field::InherentImpact));
        assert_eq!(Field::InherentScore.residual(), Some(Field::ResidualScore));
        assert_eq!(
            Field::ResidualLikelihood.dimension(),
            Some(Dimension::Likelihood)
        );
        assert_eq!(Field::Owner.inherent(), None);
    }
}
