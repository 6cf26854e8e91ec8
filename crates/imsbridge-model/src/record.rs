use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    AiFlag, AiRiskTier, ClauseRef, Conformity, HsLink, ImplementationStatus, ModelError, RecordId,
    RiskDetails, Status,
};

/// The kinds of register entry imsbridge knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Risk,
    Control,
    RequirementAssessment,
    Nonconformity,
    CorrectiveAction,
    Incident,
    AuditFinding,
    Document,
    Objective,
    AiSystem,
}

impl RecordKind {
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Risk,
        RecordKind::Control,
        RecordKind::RequirementAssessment,
        RecordKind::Nonconformity,
        RecordKind::CorrectiveAction,
        RecordKind::Incident,
        RecordKind::AuditFinding,
        RecordKind::Document,
        RecordKind::Objective,
        RecordKind::AiSystem,
    ];
    pub const ALL_NAMES: [&'static str; 10] = [
        "risk",
        "control",
        "requirement_assessment",
        "nonconformity",
        "corrective_action",
        "incident",
        "audit_finding",
        "document",
        "objective",
        "ai_system",
    ];

    pub fn as_str(self) -> &'static str {
        // ALL and ALL_NAMES are in the same order.
        let index = RecordKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default();
        RecordKind::ALL_NAMES[index]
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = ModelError;

    /// Accepts the kind names and their common synonyms (`soa` is control, `capa` and `nc`
    /// nonconformity, `finding` audit finding, `assessment` requirement assessment).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let w = crate::normalise_word(s).replace(' ', "_");
        let kind = match w.as_str() {
            "risk" | "risks" => RecordKind::Risk,
            "control" | "controls" | "soa" | "statement_of_applicability" => RecordKind::Control,
            "requirement_assessment" | "requirement_assessments" | "assessment" | "assessments" => {
                RecordKind::RequirementAssessment
            }
            "nonconformity" | "nonconformities" | "nc" | "capa" => RecordKind::Nonconformity,
            "corrective_action" | "corrective_actions" => RecordKind::CorrectiveAction,
            "incident" | "incidents" => RecordKind::Incident,
            "audit_finding" | "audit_findings" | "finding" | "findings" => RecordKind::AuditFinding,
            "document" | "documents" | "documented_information" => RecordKind::Document,
            "objective" | "objectives" => RecordKind::Objective,
            "ai_system" | "ai_systems" | "ai_inventory" => RecordKind::AiSystem,
            _ => return Err(ModelError::UnknownKind(s.to_string())),
        };
        Ok(kind)
    }
}

/// Where a record came from. Every record carries it, so any fact shown later can be traced to
/// a file cell or an API object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The configured system name (for a spreadsheet without one: the file name).
    pub system: String,
    /// The connector that read it (`spreadsheet`, `ciso-assistant` …).
    pub connector: String,
    /// The record's id in the source (the register's own id column).
    pub external_id: String,
    /// Where in the source: `file.xlsx!Risks!A7`, `file.csv:12`, an API path.
    pub location: String,
    pub imported_at: DateTime<Utc>,
    /// SHA-256 over the record's content (see [`Record::compute_content_hash`]).
    pub content_hash: String,
}

/// The dates a register keeps; which ones a kind uses varies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_review: Option<NaiveDate>,
}

impl Dates {
    pub fn is_empty(&self) -> bool {
        *self == Dates::default()
    }
}

/// One register entry in the unified model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: RecordId,
    pub provenance: Provenance,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Dates::is_empty")]
    pub dates: Dates,
    /// The standard clauses the source names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<ClauseRef>,
    /// The HS clauses derived from `clauses` through the clause maps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hs: Vec<HsLink>,
    #[serde(default)]
    pub ai: AiFlag,
    pub details: Details,
    /// Every source field the mapping did not use, under its source header: nothing is lost.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.details.kind()
    }

    /// SHA-256 (hex) over everything the record says, except when and where it was read
    /// (`imported_at`, `location`) and the hash itself: an unchanged row that moved down a
    /// sheet, or was read again tomorrow, hashes the same and is not rewritten.
    pub fn compute_content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Content<'a> {
            id: &'a RecordId,
            system: &'a str,
            connector: &'a str,
            external_id: &'a str,
            title: &'a str,
            description: &'a Option<String>,
            owner: &'a Option<String>,
            status: &'a Option<Status>,
            dates: &'a Dates,
            clauses: &'a [ClauseRef],
            hs: &'a [HsLink],
            ai: &'a AiFlag,
            details: &'a Details,
            extra: &'a BTreeMap<String, String>,
        }
        let content = Content {
            id: &self.id,
            system: &self.provenance.system,
            connector: &self.provenance.connector,
            external_id: &self.provenance.external_id,
            title: &self.title,
            description: &self.description,
            owner: &self.owner,
            status: &self.status,
            dates: &self.dates,
            clauses: &self.clauses,
            hs: &self.hs,
            ai: &self.ai,
            details: &self.details,
            extra: &self.extra,
        };
        // Serialised straight into the hasher: no intermediate buffer per record. Serialising
        // plain data cannot fail (no maps with non-string keys); were it ever to, the hash of
        // what was written so far is still deterministic.
        let mut hasher = HashWriter(Sha256::new());
        let _ = serde_json::to_writer(&mut hasher, &content);
        hex::encode(hasher.0.finalize())
    }

    /// Sets `provenance.content_hash` from the current content.
    pub fn seal(&mut self) {
        self.provenance.content_hash = self.compute_content_hash();
    }
}

/// Feeds serialised bytes to a SHA-256 hasher.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The kind-specific part of a record. The variant is the record's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Details {
    Risk(Box<RiskDetails>),
    Control(ControlDetails),
    RequirementAssessment(RequirementAssessmentDetails),
    Nonconformity(NonconformityDetails),
    CorrectiveAction(NonconformityDetails),
    Incident(IncidentDetails),
    AuditFinding(AuditFindingDetails),
    Document(DocumentDetails),
    Objective(ObjectiveDetails),
    AiSystem(AiSystemDetails),
}

impl Details {
    pub fn kind(&self) -> RecordKind {
        match self {
            Details::Risk(_) => RecordKind::Risk,
            Details::Control(_) => RecordKind::Control,
            Details::RequirementAssessment(_) => RecordKind::RequirementAssessment,
            Details::Nonconformity(_) => RecordKind::Nonconformity,
            Details::CorrectiveAction(_) => RecordKind::CorrectiveAction,
            Details::Incident(_) => RecordKind::Incident,
            Details::AuditFinding(_) => RecordKind::AuditFinding,
            Details::Document(_) => RecordKind::Document,
            Details::Objective(_) => RecordKind::Objective,
            Details::AiSystem(_) => RecordKind::AiSystem,
        }
    }

    /// Empty details of a kind, for mappers that fill them field by field.
    pub fn empty(kind: RecordKind) -> Details {
        match kind {
            RecordKind::Risk => Details::Risk(Box::default()),
            RecordKind::Control => Details::Control(ControlDetails::default()),
            RecordKind::RequirementAssessment => {
                Details::RequirementAssessment(RequirementAssessmentDetails::default())
            }
            RecordKind::Nonconformity => Details::Nonconformity(NonconformityDetails::default()),
            RecordKind::CorrectiveAction => {
                Details::CorrectiveAction(NonconformityDetails::default())
            }
            RecordKind::Incident => Details::Incident(IncidentDetails::default()),
            RecordKind::AuditFinding => Details::AuditFinding(AuditFindingDetails::default()),
            RecordKind::Document => Details::Document(DocumentDetails::default()),
            RecordKind::Objective => Details::Objective(ObjectiveDetails::default()),
            RecordKind::AiSystem => Details::AiSystem(AiSystemDetails::default()),
        }
    }
}

/// A control, with the Statement of Applicability fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable: Option<bool>,
    /// Why the control is included or excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<ImplementationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// The result of assessing one requirement (clause) of a standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementAssessmentDetails {
    pub result: Conformity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessor: Option<String>,
}

impl Default for RequirementAssessmentDetails {
    fn default() -> Self {
        RequirementAssessmentDetails {
            result: Conformity::NotAssessed,
            evidence: None,
            assessor: None,
        }
    }
}

/// A nonconformity and its correction / corrective action (also used for a corrective action
/// tracked on its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonconformityDetails {
    /// Where it was raised: internal audit, customer complaint, supplier, incident …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrective_action: Option<String>,
    /// How and whether the action's effectiveness was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effectiveness: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// How an audit graded a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingType {
    MajorNonconformity,
    MinorNonconformity,
    Observation,
    OpportunityForImprovement,
    Positive,
}

impl FindingType {
    pub fn parse(raw: &str) -> Result<FindingType, ModelError> {
        let w = crate::normalise_word(raw);
        Ok(match w.as_str() {
            "major" | "major nc" | "major nonconformity" | "major non conformity" | "nc major" => {
                FindingType::MajorNonconformity
            }
            "minor"
            | "minor nc"
            | "minor nonconformity"
            | "minor non conformity"
            | "nc minor"
            | "nc"
            | "nonconformity"
            | "non conformity" => FindingType::MinorNonconformity,
            "observation" | "obs" | "concern" | "area of concern" => FindingType::Observation,
            "ofi"
            | "opportunity for improvement"
            | "improvement"
            | "recommendation"
            | "opportunity" => FindingType::OpportunityForImprovement,
            "positive" | "strength" | "good practice" | "noteworthy" => FindingType::Positive,
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "finding type",
                    value: raw.to_string(),
                    expected: "major, minor, observation, OFI or positive",
                });
            }
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFindingDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_type: Option<FindingType>,
    /// The audit that raised it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auditor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// An item of documented information.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the document lives (URL, path, DMS id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
}

/// An entry of the AI system inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiSystemDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<AiRiskTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Provider, deployer, user … as the inventory says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let id = RecordId::from_source("reg.xlsx", RecordKind::Risk, "R-1");
        Record {
            id,
            provenance: Provenance {
                system: "reg.xlsx".into(),
                connector: "spreadsheet".into(),
                external_id: "R-1".into(),
                location: "reg.xlsx!Risks!A7".into(),
                imported_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default(),
                content_hash: String::new(),
            },
            title: "Model drift".into(),
            description: None,
            owner: Some("CISO".into()),
            status: Some(Status::from_label("Open")),
            dates: Dates::default(),
            clauses: vec![],
            hs: vec![],
            ai: AiFlag::default(),
            details: Details::Risk(Box::default()),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn hash_ignores_when_and_where_but_not_content() {
        let a = sample();
        let mut b = a.clone();
        b.provenance.location = "reg.xlsx!Risks!A9".into();
        b.provenance.imported_at = Utc::now();
        assert_eq!(a.compute_content_hash(), b.compute_content_hash());
        b.extra.insert("Comment".into(), "new".into());
        assert_ne!(a.compute_content_hash(), b.compute_content_hash());
    }

    #[test]
    fn round_trips_through_json() {
        let mut a = sample();
        a.seal();
        let json = serde_json::to_string(&a).unwrap();
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(a, back);
        assert_eq!(back.kind(), RecordKind::Risk);
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(kind));
            assert_eq!(Details::empty(kind).kind(), kind);
        }
        assert_eq!("SoA".parse::<RecordKind>(), Ok(RecordKind::Control));
        assert!("widget".parse::<RecordKind>().is_err());
    }
}
