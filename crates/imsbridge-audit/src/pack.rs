//! The audit pack as data: every view, serialisable as `pack.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_connector_oscal::{Document, ExportOptions, export};
use imsbridge_mappings::Mappings;
use imsbridge_model::{Conformity, Record, RecordId, RecordKind, Relationship, StandardId};
use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::maturity::Criterion;

/// The `format` of `pack.json`; a later reader checks it before reading a trend from it.
pub const PACK_FORMAT: &str = "imsbridge-audit-pack/1";

/// A joint audit pack for several standards, built by [`crate::build`] or [`crate::PackBuilder`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditPack {
    pub format: &'static str,
    pub title: String,
    pub generated_at: DateTime<Utc>,
    pub standards: Vec<StandardId>,
    /// The scope as given (`all` when none).
    pub scope: String,
    pub review_period_days: u32,
    /// Records in scope.
    pub records: u64,
    /// Records in scope per source system.
    pub systems: BTreeMap<String, u64>,
    /// Shared HS processes, in HS order; `order` gives the suggested audit order.
    pub programme: Vec<ProgrammeLine>,
    /// Discipline-specific clauses, audited per standard, in the standards' order.
    pub discipline: Vec<ProgrammeLine>,
    /// Every clause of the chosen standards with its conformity state.
    pub coverage: Vec<CoverageRow>,
    /// HS process × standard: the worst state of the standard's shared clauses on the row.
    pub heatmap: Vec<HeatRow>,
    /// The evidence index by flag; the items themselves are in the workbook's Evidence
    /// sheet (and, up to the row limit, the HTML page).
    pub evidence_counts: EvidenceCounts,
    /// One item per record in scope. Not in `pack.json`: at one item per record it would
    /// make the file (and every later run, which reads it for the trend) grow with the
    /// store, to tens of megabytes for 100,000 records.
    #[serde(skip)]
    pub evidence: Vec<EvidenceItem>,
    pub open_items: Vec<OpenItem>,
    pub maturity: Vec<MaturityRow>,
    /// The maturity criteria the levels were computed with.
    pub criteria: &'static [Criterion],
    /// When the pack the trend compares with was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_generated_at: Option<DateTime<Utc>>,
    /// The derivation rules in words, so the pack documents itself.
    pub rules: &'static [(&'static str, &'static str)],
    /// The requirement assessments and audit findings in scope, for the OSCAL assessment
    /// results (exported when the pack is written, in parallel with the workbook).
    #[serde(skip)]
    pub(crate) assessed: Vec<Record>,
    #[serde(skip)]
    pub(crate) mappings: Mappings,
    /// Evidence item indices per programme line (`programme` order).
    #[serde(skip)]
    pub(crate) evidence_by_line: Vec<Vec<u32>>,
    /// Evidence items with no HS clause of the chosen standards.
    #[serde(skip)]
    pub(crate) unmapped_evidence: Vec<u32>,
    #[serde(skip)]
    pub(crate) html_row_limit: usize,
}

/// Whether a programme line is a process shared by the standards or one standard's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Shared,
    DisciplineSpecific,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Shared => "shared",
            Section::DisciplineSpecific => "discipline_specific",
        }
    }
}

/// One line of the integrated audit programme.
#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeLine {
    /// Suggested audit order, 1 first: by effort weight, heaviest first; ties in HS order.
    pub order: usize,
    pub section: Section,
    /// The HS clause (shared line) or the HS clauses the clause is anchored to
    /// (discipline-specific line).
    pub hs: Vec<String>,
    /// The HS clause's title, or the standard clause's.
    pub title: String,
    pub standards: Vec<StandardId>,
    pub clauses: Vec<ProgrammeClause>,
    /// Records in scope behind the line.
    pub records: u64,
    pub open_items: u64,
    /// The summed risk exposure of those records (see [`crate::build`]).
    pub exposure: f64,
    /// Relative effort: 1 is one standard's session with no risk exposure.
    pub weight: f64,
}

/// A standard's clause on a programme line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammeClause {
    pub standard: StandardId,
    pub clause: String,
    pub title: String,
    /// The HS clause it is mapped to, and how it compares with it.
    pub hs: String,
    pub relationship: Relationship,
}

impl ProgrammeClause {
    /// `iso27001 9.2 (equal HS 9.2)`.
    pub fn label(&self) -> String {
        format!(
            "{} {} ({} HS {})",
            self.standard.key(),
            self.clause,
            self.relationship.as_str(),
            self.hs
        )
    }
}

/// A clause of a chosen standard and the conformity state derived for it.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub standard: StandardId,
    pub clause: String,
    pub title: String,
    /// `core`, `split`, `extension`, `annex` … as the clause map classifies it.
    pub kind: String,
    pub discipline_specific: bool,
    /// The programme rows (HS clauses) the clause sits on.
    pub hs: Vec<String>,
    pub state: Conformity,
    /// How many records contributed each state (after capping).
    pub contributions: StateCounts,
    /// Up to five of the derivations that gave `state`.
    pub basis: Vec<Derivation>,
}

/// One record's contribution to a clause's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Derivation {
    /// The state contributed (after the crosswalk cap).
    pub result: Conformity,
    /// What the record itself says.
    pub recorded: Conformity,
    /// Carried over through the crosswalk rather than imported for this clause.
    pub carried: bool,
    /// `iso27001 9.2 ← HS 9.2 (equal) ← iso9001 9.2 ← record qms-capa.csv!R7`.
    pub path: String,
    pub record: RecordId,
    pub system: String,
    pub location: String,
}

/// How many clauses (or contributions) are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    pub conforming: u64,
    pub partially_conforming: u64,
    pub not_conforming: u64,
    pub not_applicable: u64,
    pub not_assessed: u64,
}

impl StateCounts {
    pub fn add(&mut self, state: Conformity) {
        *self.get_mut(state) += 1;
    }

    pub fn get(&self, state: Conformity) -> u64 {
        match state {
            Conformity::Conforming => self.conforming,
            Conformity::PartiallyConforming => self.partially_conforming,
            Conformity::NotConforming => self.not_conforming,
            Conformity::NotApplicable => self.not_applicable,
            Conformity::NotAssessed => self.not_assessed,
        }
    }

    fn get_mut(&mut self, state: Conformity) -> &mut u64 {
        match state {
            Conformity::Conforming => &mut self.conforming,
            Conformity::PartiallyConforming => &mut self.partially_conforming,
            Conformity::NotConforming => &mut self.not_conforming,
            Conformity::NotApplicable => &mut self.not_applicable,
            Conformity::NotAssessed => &mut self.not_assessed,
        }
    }

    pub fn total(&self) -> u64 {
        Conformity::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// One HS process row of the heat map.
#[derive(Debug, Clone, Serialize)]
pub struct HeatRow {
    pub hs: String,
    pub title: String,
    /// One cell per chosen standard, in the pack's standard order.
    pub cells: Vec<HeatCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatCell {
    pub standard: StandardId,
    /// `None` when the standard has no shared clause on the row.
    pub state: Option<Conformity>,
    /// Shared clauses of the standard on the row, and how many are conforming (or N/A).
    pub clauses: u64,
    pub conforming: u64,
}

/// Why an item of evidence deserves a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceFlag {
    /// Dated within the review period, no review overdue.
    Current,
    /// Older than the review period.
    Stale,
    /// Its next review date has passed.
    ReviewOverdue,
    /// No date to judge its age by.
    Undated,
}

impl EvidenceFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceFlag::Current => "current",
            EvidenceFlag::Stale => "stale",
            EvidenceFlag::ReviewOverdue => "review_overdue",
            EvidenceFlag::Undated => "undated",
        }
    }

    /// Older than the review period or past its review date.
    pub fn is_flagged(self) -> bool {
        matches!(self, EvidenceFlag::Stale | EvidenceFlag::ReviewOverdue)
    }
}

/// How many evidence items carry each flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceCounts {
    pub items: u64,
    pub current: u64,
    pub stale: u64,
    pub review_overdue: u64,
    pub undated: u64,
}

impl EvidenceCounts {
    pub fn of(items: &[EvidenceItem]) -> EvidenceCounts {
        let mut counts = EvidenceCounts::default();
        for item in items {
            counts.items += 1;
            *match item.flag {
                EvidenceFlag::Current => &mut counts.current,
                EvidenceFlag::Stale => &mut counts.stale,
                EvidenceFlag::ReviewOverdue => &mut counts.review_overdue,
                EvidenceFlag::Undated => &mut counts.undated,
            } += 1;
        }
        counts
    }

    /// Older than the review period or past the review date.
    pub fn flagged(&self) -> u64 {
        self.stale + self.review_overdue
    }
}

/// A record offered as evidence, with where it lives and how old it is.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceItem {
    pub record: RecordId,
    pub kind: RecordKind,
    pub title: String,
    pub system: String,
    pub connector: String,
    pub location: String,
    pub external_id: String,
    /// The record's clauses of the chosen standards (and HS), `iso27001 7.5.3`.
    pub clauses: Vec<String>,
    /// The programme rows it is behind; empty when it names no clause.
    pub hs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A document link or the evidence text of a control, assessment or finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The date the age is counted from, and which date it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dated: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_basis: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    pub flag: EvidenceFlag,
}

/// Why a record is an open item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenReason {
    OpenNonconformity,
    OpenFinding,
    /// A risk treatment, corrective action, nonconformity or finding past its due date.
    Overdue,
    AiRiskWithoutOwner,
    AiRiskWithoutTreatment,
}

impl OpenReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OpenReason::OpenNonconformity => "open_nonconformity",
            OpenReason::OpenFinding => "open_finding",
            OpenReason::Overdue => "overdue",
            OpenReason::AiRiskWithoutOwner => "ai_risk_without_owner",
            OpenReason::AiRiskWithoutTreatment => "ai_risk_without_treatment",
        }
    }
}

/// A record that needs attention before or during the audit.
#[derive(Debug, Clone, Serialize)]
pub struct OpenItem {
    pub record: RecordId,
    pub kind: RecordKind,
    pub title: String,
    pub system: String,
    pub location: String,
    pub external_id: String,
    pub reasons: Vec<OpenReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Nonconformity severity or finding type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_overdue: Option<i64>,
    pub clauses: Vec<String>,
    pub hs: Vec<String>,
}

/// Change of a maturity level against the previous pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Up,
    Down,
    Same,
    /// The previous pack had no such row.
    New,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Up => "up",
            Trend::Down => "down",
            Trend::Same => "same",
            Trend::New => "new",
        }
    }
}

/// The maturity of one HS process.
#[derive(Debug, Clone, Serialize)]
pub struct MaturityRow {
    pub hs: String,
    pub title: String,
    /// 1 ad hoc, 2 developing, 3 defined, 4 managed, 5 optimising.
    pub level: u8,
    pub level_name: &'static str,
    /// Criterion ids met and not met.
    pub met: Vec<&'static str>,
    pub unmet: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<u8>,
    /// `None` when there was no previous pack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
}

/// What `write_pack` reports; the CLI prints it with `--format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackSummary {
    pub generated_at: DateTime<Utc>,
    pub records: u64,
    /// Per standard, the number of clauses in each conformity state.
    pub standards: BTreeMap<StandardId, StateCounts>,
    pub programme_lines: usize,
    pub discipline_lines: usize,
    pub open_items: usize,
    /// Evidence older than the review period or past its review date.
    pub flagged_evidence: usize,
    /// The files written, in the order written.
    pub files: Vec<PathBuf>,
}

impl AuditPack {
    /// Per standard, the number of its clauses in each state.
    pub fn state_counts(&self) -> BTreeMap<StandardId, StateCounts> {
        let mut out: BTreeMap<StandardId, StateCounts> = self
            .standards
            .iter()
            .map(|s| (*s, StateCounts::default()))
            .collect();
        for row in &self.coverage {
            out.entry(row.standard).or_default().add(row.state);
        }
        out
    }

    /// The coverage row of a clause.
    pub fn coverage_of(&self, standard: StandardId, clause: &str) -> Option<&CoverageRow> {
        self.coverage
            .iter()
            .find(|r| r.standard == standard && r.clause == clause)
    }

    /// The shared programme line of an HS clause.
    pub fn programme_line(&self, hs: &str) -> Option<&ProgrammeLine> {
        self.programme
            .iter()
            .find(|l| l.hs.first().is_some_and(|h| h == hs))
    }

    /// The maturity row of an HS clause.
    pub fn maturity_of(&self, hs: &str) -> Option<&MaturityRow> {
        self.maturity.iter().find(|m| m.hs == hs)
    }

    /// The evidence behind a shared programme line (by its index in `programme`).
    pub fn evidence_of_line(&self, line: usize) -> impl Iterator<Item = &EvidenceItem> {
        self.evidence_by_line
            .get(line)
            .into_iter()
            .flatten()
            .filter_map(|i| self.evidence.get(*i as usize))
    }

    /// Evidence that names no clause of the chosen standards.
    pub fn unmapped_evidence(&self) -> impl Iterator<Item = &EvidenceItem> {
        self.unmapped_evidence
            .iter()
            .filter_map(|i| self.evidence.get(*i as usize))
    }

    /// The requirement assessments and audit findings in scope as OSCAL assessment results
    /// (what `assessment-results.json` holds).
    pub fn assessment_results(&self) -> Result<Document, AuditError> {
        let mut options = ExportOptions::new(self.generated_at);
        options.title = Some(format!("{}: assessment results", self.title));
        Ok(export::assessment_results(
            &self.assessed,
            &self.standards,
            &self.mappings,
            &options,
        )?)
    }

    pub(crate) fn summary(&self, files: Vec<PathBuf>) -> PackSummary {
        PackSummary {
            generated_at: self.generated_at,
            records: self.records,
            standards: self.state_counts(),
            programme_lines: self.programme.len(),
            discipline_lines: self.discipline.len(),
            open_items: self.open_items.len(),
            flagged_evidence: usize::try_from(self.evidence_counts.flagged()).unwrap_or(usize::MAX),
            files,
        }
    }
}
