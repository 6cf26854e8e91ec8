//! OSCAL documents into unified-model records.
//!
//! | OSCAL | record |
//! |---|---|
//! | catalog control (enhancements included) | control (or requirement assessment, see [`CatalogKind`]) |
//! | profile `include-controls` / `exclude-controls` id | control, applicable yes / no |
//! | POA&M and assessment-results risk | risk |
//! | POA&M item | corrective action |
//! | assessment-results finding | requirement assessment (always) and audit finding (when not satisfied) |
//! | observation | document (evidence), and its text as the evidence of what cites it |
//!
//! Elements imsbridge exported carry properties in the [`IMSBRIDGE_NS`] namespace (the
//! record's external id, status, dates, clauses, exact ratings …); they are read back from
//! those, so that export → import gives the same records. Elements it generated from another
//! record (`derived`: a risk's POA&M item, evidence observations, "not assessed" findings) are
//! skipped.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_mappings::{Dimension, Mappings};
use imsbridge_model::{
    AiFlag, AiRiskCategory, AuditFindingDetails, ClauseRef, Conformity, ControlDetails, Dates,
    Details, DocumentDetails, FindingType, HsLink, NonconformityDetails, Provenance, Record,
    RecordId, RecordKind, RequirementAssessmentDetails, RiskDetails, RiskRating, ScaleValue,
    StandardId, Status, StatusCategory, Treatment, TreatmentOption, normalise_word,
};
use serde::Serialize;

use crate::client::Format;
use crate::document::{
    AssessmentResult, AssessmentResults, Catalog, Characterization, Control, Document, Facet,
    Finding, Metadata, ModelKind, OSCAL_NS, Observation, OscalDateTime, OscalUuid, Param, Part,
    PlanOfActionAndMilestones, PoamItem, Profile, Prop, Risk,
};
use crate::markup::{MarkupLine, MarkupMultiline};

/// The namespace of the properties imsbridge writes (and reads back).
pub const IMSBRIDGE_NS: &str = "https://imsbridge.dev/ns/oscal";

/// The prefix of the facet systems for imsbridge's own rating scales:
/// `https://imsbridge.dev/ns/scales/1-5`.
pub const SCALE_NS_PREFIX: &str = "https://imsbridge.dev/ns/scales/";

/// The connector name in provenance.
pub const CONNECTOR: &str = "oscal";

/// The names of imsbridge's properties.
pub mod prop {
    pub const RECORD_ID: &str = "record-id";
    pub const EXTERNAL_ID: &str = "external-id";
    pub const KIND: &str = "kind";
    pub const DERIVED: &str = "derived";
    pub const STATUS: &str = "status";
    pub const STATUS_CATEGORY: &str = "status-category";
    pub const OWNER: &str = "owner";
    pub const CATEGORY: &str = "category";
    pub const CLAUSE: &str = "clause";
    pub const AI: &str = "ai";
    pub const AI_CATEGORY: &str = "ai-category";
    pub const AI_REASON: &str = "ai-reason";
    pub const TREATMENT: &str = "treatment";
    pub const TREATMENT_OPTION: &str = "treatment-option";
    pub const RATING: &str = "rating";
    pub const SCALE: &str = "scale";
    pub const RAW: &str = "raw";
    pub const VALUE: &str = "value";
    pub const NORMALISED: &str = "normalised";
    pub const CONFORMITY: &str = "conformity";
    pub const ASSESSOR: &str = "assessor";
    pub const AUDITOR: &str = "auditor";
    pub const AUDIT: &str = "audit";
    pub const FINDING_TYPE: &str = "finding-type";
    pub const SOURCE: &str = "source";
    pub const SEVERITY: &str = "severity";
    pub const ROOT_CAUSE: &str = "root-cause";
    pub const CORRECTION: &str = "correction";
    pub const CORRECTIVE_ACTION: &str = "corrective-action";
    pub const EFFECTIVENESS: &str = "effectiveness";
    pub const IDENTIFIED: &str = "identified";
    pub const DUE: &str = "due";
    pub const CLOSED: &str = "closed";
    pub const REVIEWED: &str = "reviewed";
    pub const NEXT_REVIEW: &str = "next-review";
    pub const HS: &str = "hs";
    pub const CLAUSE_KIND: &str = "clause-kind";
    pub const VIA_HS: &str = "via-hs";
}

/// What catalog and profile entries become.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CatalogKind {
    /// Controls (a Statement of Applicability line each).
    #[default]
    Control,
    /// Requirements to assess: requirement assessments, not yet assessed.
    RequirementAssessment,
}

impl CatalogKind {
    fn record_kind(self) -> RecordKind {
        match self {
            CatalogKind::Control => RecordKind::Control,
            CatalogKind::RequirementAssessment => RecordKind::RequirementAssessment,
        }
    }
}

/// How to map a document.
#[derive(Debug, Clone)]
pub struct MapOptions {
    pub catalog_kind: CatalogKind,
    /// Keep only these kinds; empty keeps all.
    pub kinds: Vec<RecordKind>,
    /// The standard catalog control labels (or ids) number clauses of, when the catalog is an
    /// ISO standard's: links controls to clauses and the Harmonized Structure.
    pub standard: Option<StandardId>,
    pub imported_at: DateTime<Utc>,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            catalog_kind: CatalogKind::Control,
            kinds: Vec::new(),
            standard: None,
            imported_at: Utc::now(),
        }
    }
}

/// A problem that did not stop a record from importing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub location: String,
    pub message: String,
}

/// An element that could not become a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub location: String,
    pub message: String,
    /// The element as OSCAL JSON (also for XML documents), to fix and re-import.
    pub raw: String,
}

/// The result of importing one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    pub model: ModelKind,
    pub format: Format,
    pub title: String,
    pub oscal_version: String,
    pub document_uuid: String,
    pub records: Vec<Record>,
    pub rejects: Vec<Rejected>,
    pub warnings: Vec<Issue>,
}

/// A place in the document, spelled for the format it was read from: a JSON path
/// (`plan-of-action-and-milestones.risks[1]`) or an XPath (`/plan-of-action-and-milestones/risk[2]`).
#[derive(Debug, Clone)]
struct Loc {
    json: String,
    xml: String,
}

impl Loc {
    fn root(model: ModelKind) -> Loc {
        Loc {
            json: model.root_name().to_string(),
            xml: format!("/{}", model.root_name()),
        }
    }

    fn at(&self, json_key: &str, xml_name: &str, index: usize) -> Loc {
        Loc {
            json: format!("{}.{json_key}[{index}]", self.json),
            xml: format!("{}/{xml_name}[{}]", self.xml, index + 1),
        }
    }

    fn show(&self, source: &str, format: Format) -> String {
        match format {
            Format::Json => format!("{source}#{}", self.json),
            Format::Xml => format!("{source}#{}", self.xml),
        }
    }
}

struct Ctx<'a> {
    source: &'a str,
    system: &'a str,
    format: Format,
    options: &'a MapOptions,
    mappings: &'a Mappings,
    metadata: &'a Metadata,
    records: Vec<Record>,
    rejects: Vec<Rejected>,
    warnings: Vec<Issue>,
    /// (kind, external id) → index into `records`, to refuse duplicates.
    seen: HashMap<(RecordKind, String), usize>,
}

impl Ctx<'_> {
    fn loc(&self, loc: &Loc) -> String {
        loc.show(self.source, self.format)
    }

    fn warn(&mut self, loc: &Loc, message: impl Into<String>) {
        let location = self.loc(loc);
        self.warnings.push(Issue {
            location,
            message: message.into(),
        });
    }

    fn reject<T: Serialize>(&mut self, loc: &Loc, message: impl Into<String>, element: &T) {
        let location = self.loc(loc);
        self.rejects.push(Rejected {
            location,
            message: message.into(),
            raw: serde_json::to_string(element).unwrap_or_default(),
        });
    }

    fn wanted(&self, kind: RecordKind) -> bool {
        self.options.kinds.is_empty() || self.options.kinds.contains(&kind)
    }

    /// Seals and keeps a record, refusing a second record of the same kind and external id.
    fn push<T: Serialize>(&mut self, mut record: Record, loc: &Loc, element: &T) {
        let kind = record.kind();
        if !self.wanted(kind) {
            return;
        }
        let key = (kind, record.provenance.external_id.clone());
        if let Some(&first) = self.seen.get(&key) {
            let first_loc = self
                .records
                .get(first)
                .map(|r| r.provenance.location.clone())
                .unwrap_or_default();
            let message = format!(
                "a second {kind} with the id {:?} (the first is at {first_loc}): ids must be unique, so this one is not imported",
                key.1
            );
            self.reject(loc, message, element);
            return;
        }
        record.provenance.location = self.loc(loc);
        record.seal();
        self.seen.insert(key, self.records.len());
        self.records.push(record);
    }

    fn new_record(&self, kind: RecordKind, external_id: String, title: String) -> Record {
        Record {
            id: RecordId::from_source(self.system, kind, &external_id),
            provenance: Provenance {
                system: self.system.to_string(),
                connector: CONNECTOR.to_string(),
                external_id,
                location: String::new(),
                imported_at: self.options.imported_at,
                content_hash: String::new(),
            },
            title,
            description: None,
            owner: None,
            status: None,
            dates: Dates::default(),
            clauses: Vec::new(),
            hs: Vec::new(),
            ai: AiFlag::default(),
            details: Details::empty(kind),
            extra: BTreeMap::new(),
        }
    }

    /// The clauses' HS links; a clause the maps do not know is a warning, not a rejection.
    fn hs_links(&mut self, clauses: &[ClauseRef], loc: &Loc) -> Vec<HsLink> {
        let mut hs = Vec::new();
        for c in clauses {
            match self.mappings.hs_links(c) {
                Ok(links) => hs.extend(links),
                Err(e) => self.warn(loc, e.to_string()),
            }
        }
        hs.sort();
        hs.dedup();
        hs
    }

    fn party_names(&self, uuids: impl Iterator<Item = OscalUuid>) -> Option<String> {
        let mut names: Vec<&str> = Vec::new();
        for u in uuids {
            if let Some(n) = self.metadata.party_name(&u)
                && !names.contains(&n)
            {
                names.push(n);
            }
        }
        (!names.is_empty()).then(|| names.join(", "))
    }

    /// The names of the parties holding a role (`assessor`) in the metadata.
    fn role_holders(&self, role: &str) -> Option<String> {
        let uuids = self
            .metadata
            .responsible_parties
            .iter()
            .filter(|r| r.role_id.as_str() == role)
            .flat_map(|r| r.party_uuids.iter().copied());
        self.party_names(uuids)
    }
}

/// Maps a parsed document to records.
pub fn map_document(
    doc: &Document,
    format: Format,
    source: &str,
    system: &str,
    options: &MapOptions,
    mappings: &Mappings,
) -> Imported {
    let metadata = doc.metadata();
    let mut ctx = Ctx {
        source,
        system,
        format,
        options,
        mappings,
        metadata,
        records: Vec::new(),
        rejects: Vec::new(),
        warnings: Vec::new(),
        seen: HashMap::new(),
    };
    let root = Loc::root(doc.model());
    match doc {
        Document::Catalog(c) => map_catalog(&mut ctx, c, &root),
        Document::Profile(p) => map_profile(&mut ctx, p, &root),
        Document::PlanOfActionAndMilestones(p) => map_poam(&mut ctx, p, &root),
        Document::AssessmentResults(a) => map_assessment_results(&mut ctx, a, &root),
        Document::MappingCollection(_) => ctx.warn(
            &root,
            "a mapping collection relates controls of two catalogs and holds no records to import",
        ),
    }
    Imported {
        model: doc.model(),
        format,
        title: metadata.title.plain_text(),
        oscal_version: metadata.oscal_version.0.clone(),
        document_uuid: doc.uuid().to_string(),
        records: ctx.records,
        rejects: ctx.rejects,
        warnings: ctx.warnings,
    }
}

// ---------------------------------------------------------------------------------------------
// imsbridge properties

/// An imsbridge property's value; text with line breaks is read from the property's
/// remarks, where export puts it (property values are one line).
fn ib(props: &[Prop], name: &str) -> Option<String> {
    props
        .iter()
        .find(|p| p.ns.as_deref() == Some(IMSBRIDGE_NS) && p.name.as_str() == name)
        .map(|p| match &p.remarks {
            Some(r) => r.plain_text(),
            None => p.value.trim().to_string(),
        })
}

fn ib_all<'a>(props: &'a [Prop], name: &'a str) -> impl Iterator<Item = &'a str> {
    props
        .iter()
        .filter(move |p| p.ns.as_deref() == Some(IMSBRIDGE_NS) && p.name.as_str() == name)
        .map(|p| p.value.as_str())
}

/// Whether imsbridge exported this element for a record (rather than a foreign tool).
fn is_ours(props: &[Prop]) -> bool {
    ib(props, prop::RECORD_ID).is_some()
}

fn is_derived(props: &[Prop]) -> bool {
    ib(props, prop::DERIVED).is_some()
}

/// Properties that are not imsbridge's, kept as `prop:<name>` (namespaced ones as
/// `prop:<ns>#<name>`), several values joined by "; ".
fn foreign_props(props: &[Prop], extra: &mut BTreeMap<String, String>) {
    for p in props {
        let key = match p.ns.as_deref() {
            Some(IMSBRIDGE_NS) => continue,
            None | Some(OSCAL_NS) => format!("prop:{}", p.name),
            Some(ns) => format!("prop:{ns}#{}", p.name),
        };
        append(extra, &key, &p.value, "; ");
    }
}

/// The longest text a record field built from several elements gets (evidence from cited
/// observations, related titles …), in bytes: one element cited a million times must not
/// multiply into gigabytes.
const MAX_JOINED_TEXT: usize = 64 * 1024;

/// `text` cut to at most `max` bytes at a character boundary, marked with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

/// Joins the texts, stopping once the result is long enough.
fn join_clipped(texts: impl Iterator<Item = String>, sep: &str) -> String {
    let mut out = String::new();
    for t in texts {
        if out.len() >= MAX_JOINED_TEXT {
            break;
        }
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&t);
    }
    clip(&out, MAX_JOINED_TEXT)
}

fn append(extra: &mut BTreeMap<String, String>, key: &str, value: &str, sep: &str) {
    if value.trim().is_empty() {
        return;
    }
    let entry = extra.entry(key.to_string()).or_default();
    if entry.len() >= MAX_JOINED_TEXT {
        return;
    }
    if !entry.is_empty() {
        entry.push_str(sep);
    }
    entry.push_str(&clip(value, MAX_JOINED_TEXT));
}

/// `iso27001 6.1.2` (the form written by export) → a clause reference.
pub(crate) fn parse_clause_prop(value: &str) -> Result<ClauseRef, String> {
    let (key, clause) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("{value:?} is not a clause reference (\"iso27001 6.1.2\")"))?;
    let standard = key.parse::<StandardId>().map_err(|e| e.to_string())?;
    let clause = clause.trim();
    if clause.is_empty() {
        return Err(format!("{value:?} names no clause"));
    }
    Ok(ClauseRef::new(standard, clause))
}

/// The clause references an element's imsbridge properties name.
fn clause_props(ctx: &mut Ctx<'_>, props: &[Prop], loc: &Loc) -> Vec<ClauseRef> {
    let mut out = Vec::new();
    for v in ib_all(props, prop::CLAUSE) {
        match parse_clause_prop(v) {
            Ok(c) if !out.contains(&c) => out.push(c),
            Ok(_) => {}
            Err(e) => ctx.warn(loc, e),
        }
    }
    out
}

fn date_prop(ctx: &mut Ctx<'_>, props: &[Prop], name: &str, loc: &Loc) -> Option<NaiveDate> {
    let v = ib(props, name)?;
    match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            ctx.warn(
                loc,
                format!("imsbridge property {name} = {v:?} is not a date (YYYY-MM-DD)"),
            );
            None
        }
    }
}

/// Dates from imsbridge properties; `None` when there are none.
fn dates_from_props(ctx: &mut Ctx<'_>, props: &[Prop], loc: &Loc) -> Dates {
    Dates {
        identified: date_prop(ctx, props, prop::IDENTIFIED, loc),
        due: date_prop(ctx, props, prop::DUE, loc),
        closed: date_prop(ctx, props, prop::CLOSED, loc),
        reviewed: date_prop(ctx, props, prop::REVIEWED, loc),
        next_review: date_prop(ctx, props, prop::NEXT_REVIEW, loc),
    }
}

/// The date of a date-time in its own time zone: 2024-01-01T05:00:00-04:00 is 1 January.
fn date_of(t: &OscalDateTime) -> NaiveDate {
    t.0.date_naive()
}

fn status_category(s: &str) -> Option<StatusCategory> {
    Some(match s {
        "open" => StatusCategory::Open,
        "in_progress" => StatusCategory::InProgress,
        "closed" => StatusCategory::Closed,
        "cancelled" => StatusCategory::Cancelled,
        "other" => StatusCategory::Other,
        _ => return None,
    })
}

pub(crate) fn status_category_str(c: StatusCategory) -> &'static str {
    match c {
        StatusCategory::Open => "open",
        StatusCategory::InProgress => "in_progress",
        StatusCategory::Closed => "closed",
        StatusCategory::Cancelled => "cancelled",
        StatusCategory::Other => "other",
    }
}

/// A status from imsbridge properties (label and category exactly as exported).
fn status_from_props(props: &[Prop]) -> Option<Status> {
    let label = ib(props, prop::STATUS)?;
    let category = ib(props, prop::STATUS_CATEGORY)
        .as_deref()
        .and_then(status_category)
        .unwrap_or_else(|| Status::from_label(&label).category);
    Some(Status {
        category,
        label: label.trim().to_string(),
    })
}

/// OSCAL's risk statuses, categorised; other labels as any register's.
pub(crate) fn risk_status(label: &str) -> Status {
    let category = match normalise_word(label).as_str() {
        "open" => StatusCategory::Open,
        "investigating" | "remediating" | "deviation requested" => StatusCategory::InProgress,
        // An approved deviation is a decided, accepted risk: no further action is planned.
        "deviation approved" | "closed" => StatusCategory::Closed,
        _ => return Status::from_label(label),
    };
    Status {
        category,
        label: label.trim().to_string(),
    }
}

fn ai_from_props(props: &[Prop], clauses: &[ClauseRef]) -> AiFlag {
    let explicit = ib(props, prop::AI).map(|v| matches!(v.trim(), "true" | "yes"));
    let categories = {
        let mut c: Vec<AiRiskCategory> = ib_all(props, prop::AI_CATEGORY)
            .filter_map(|v| AiRiskCategory::parse(v).ok())
            .collect();
        c.sort();
        c.dedup();
        c
    };
    match explicit {
        Some(flagged) => AiFlag {
            flagged,
            categories,
            reason: ib(props, prop::AI_REASON),
        },
        None => match clauses.iter().find(|c| c.standard == StandardId::Iso42001) {
            Some(c) => AiFlag {
                flagged: true,
                categories,
                reason: Some(format!("references {c}")),
            },
            None => AiFlag {
                flagged: !categories.is_empty(),
                reason: (!categories.is_empty()).then(|| "AI risk category".to_string()),
                categories,
            },
        },
    }
}

fn treatment_option(s: &str) -> Option<TreatmentOption> {
    [
        TreatmentOption::Modify,
        TreatmentOption::Retain,
        TreatmentOption::Avoid,
        TreatmentOption::Share,
    ]
    .into_iter()
    .find(|o| o.as_str() == s.trim())
}

fn text_or_none(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn multi(m: &MarkupMultiline) -> Option<String> {
    text_or_none(m.plain_text())
}

fn line(m: &MarkupLine) -> String {
    m.plain_text()
}

/// The common fields of an element imsbridge exported: owner, status, dates, clauses, AI.
fn apply_ours(ctx: &mut Ctx<'_>, r: &mut Record, props: &[Prop], loc: &Loc) {
    // Export fills OSCAL's required description with the title when a record has none.
    if r.description.as_deref() == Some(r.title.as_str()) {
        r.description = None;
    }
    r.owner = ib(props, prop::OWNER);
    r.status = status_from_props(props);
    r.dates = dates_from_props(ctx, props, loc);
    r.clauses = clause_props(ctx, props, loc);
    r.hs = ctx.hs_links(&r.clauses, loc);
    r.ai = ai_from_props(props, &r.clauses);
}

// ---------------------------------------------------------------------------------------------
// Catalogs and profiles

/// The longest a parameter renders (its label, or its choices), in bytes.
const MAX_PARAM_TEXT: usize = 4 * 1024;

/// How much parameter text one control's statement and parts may take in, in bytes: a few
/// bytes of `{{ insert: … }}` can expand to a long selection, and a hostile catalog could
/// insert one a million times.
const MAX_INSERTED: usize = 1024 * 1024;

struct CatalogWalk<'a> {
    params: HashMap<&'a str, &'a Param>,
    /// Each parameter rendered once.
    texts: RefCell<HashMap<String, String>>,
    /// Parameters being rendered: one met again refers to itself (a loop).
    resolving: RefCell<HashSet<String>>,
    /// Parameter text inserted into the current control so far.
    inserted: Cell<usize>,
}

impl<'a> CatalogWalk<'a> {
    fn collect_params(&mut self, params: &'a [Param]) {
        for p in params {
            self.params.insert(p.id.as_str(), p);
        }
    }

    fn collect_control(&mut self, c: &'a Control) {
        self.collect_params(&c.params);
        for sub in &c.controls {
            self.collect_control(sub);
        }
    }

    fn collect_group(&mut self, g: &'a crate::document::Group) {
        self.collect_params(&g.params);
        for c in &g.controls {
            self.collect_control(c);
        }
        for sub in &g.groups {
            self.collect_group(sub);
        }
    }

    /// A parameter as text: its values, `[Selection (one or more): a; b]`, or
    /// `[Assignment: label]`.
    fn param_text(&self, id: &str) -> String {
        if let Some(t) = self.texts.borrow().get(id) {
            return t.clone();
        }
        if !self.resolving.borrow_mut().insert(id.to_string()) {
            return format!("[Assignment: {id}]");
        }
        let text = clip(&self.render_param(id), MAX_PARAM_TEXT);
        self.resolving.borrow_mut().remove(id);
        self.texts.borrow_mut().insert(id.to_string(), text.clone());
        text
    }

    fn render_param(&self, id: &str) -> String {
        let Some(p) = self.params.get(id) else {
            return format!("[Assignment: {id}]");
        };
        if !p.values.is_empty() {
            return p.values.join(", ");
        }
        // Nested inserts stop adding once the parameter's text is long enough.
        let spent = Cell::new(0usize);
        let insert = |_: &str, r: &str| {
            if spent.get() > MAX_PARAM_TEXT {
                return Some(String::new());
            }
            let t = self.param_text(r);
            spent.set(spent.get() + t.len());
            Some(t)
        };
        if let Some(select) = &p.select {
            let mut choices = String::new();
            for c in &select.choice {
                if choices.len() > MAX_PARAM_TEXT {
                    break;
                }
                if !choices.is_empty() {
                    choices.push_str("; ");
                }
                choices.push_str(&c.plain_text_with(&insert));
            }
            let how = match select.how_many.as_deref() {
                Some("one-or-more") => " (one or more)",
                _ => "",
            };
            return format!("[Selection{how}: {choices}]");
        }
        match &p.label {
            Some(label) => format!("[Assignment: {}]", label.plain_text_with(&insert)),
            None => format!("[Assignment: {id}]"),
        }
    }

    /// A parameter inserted into the current control's text, within its budget.
    fn insert(&self, id: &str) -> String {
        let text = self.param_text(id);
        let used = self.inserted.get().saturating_add(text.len());
        if used > MAX_INSERTED {
            return format!("[{id}]");
        }
        self.inserted.set(used);
        text
    }

    /// A part as text lines: its prose (labelled with its `label` property) and its
    /// sub-parts, indented by level.
    fn part_lines(&self, part: &Part, depth: usize, lines: &mut Vec<String>) {
        let insert = |_: &str, r: &str| Some(self.insert(r));
        let indent = "  ".repeat(depth);
        let label = part.prop("label");
        let mut first = true;
        if let Some(prose) = &part.prose {
            for l in prose.plain_text_with(&insert).lines() {
                match (first, label) {
                    (true, Some(label)) => lines.push(format!("{indent}{label} {l}")),
                    _ => lines.push(format!("{indent}{l}")),
                }
                first = false;
            }
        }
        if first && let Some(label) = label {
            lines.push(format!("{indent}{label}"));
        }
        let child_depth = if part.prose.is_some() || label.is_some() {
            depth + 1
        } else {
            depth
        };
        for p in &part.parts {
            self.part_lines(p, child_depth, lines);
        }
    }
}

struct GroupPath {
    titles: Vec<String>,
    ids: Vec<String>,
}

fn map_catalog(ctx: &mut Ctx<'_>, catalog: &Catalog, root: &Loc) {
    let mut walk = CatalogWalk {
        params: HashMap::new(),
        texts: RefCell::new(HashMap::new()),
        resolving: RefCell::new(HashSet::new()),
        inserted: Cell::new(0),
    };
    walk.collect_params(&catalog.params);
    for c in &catalog.controls {
        walk.collect_control(c);
    }
    for g in &catalog.groups {
        walk.collect_group(g);
    }
    let mut path = GroupPath {
        titles: Vec::new(),
        ids: Vec::new(),
    };
    for (i, c) in catalog.controls.iter().enumerate() {
        map_control(
            ctx,
            &walk,
            c,
            None,
            &path,
            &root.at("controls", "control", i),
        );
    }
    for (i, g) in catalog.groups.iter().enumerate() {
        map_group(ctx, &walk, g, &mut path, &root.at("groups", "group", i));
    }
}

fn map_group(
    ctx: &mut Ctx<'_>,
    walk: &CatalogWalk<'_>,
    group: &crate::document::Group,
    path: &mut GroupPath,
    loc: &Loc,
) {
    path.titles.push(line(&group.title));
    path.ids
        .push(group.id.as_ref().map(|t| t.0.clone()).unwrap_or_default());
    for (i, c) in group.controls.iter().enumerate() {
        map_control(ctx, walk, c, None, path, &loc.at("controls", "control", i));
    }
    for (i, g) in group.groups.iter().enumerate() {
        map_group(ctx, walk, g, path, &loc.at("groups", "group", i));
    }
    path.titles.pop();
    path.ids.pop();
}

fn map_control(
    ctx: &mut Ctx<'_>,
    walk: &CatalogWalk<'_>,
    control: &Control,
    parent: Option<&str>,
    path: &GroupPath,
    loc: &Loc,
) {
    let kind = ctx.options.catalog_kind.record_kind();
    walk.inserted.set(0);
    let label = crate::document::oscal_prop(&control.props, "label");
    let title = line(&control.title);
    let full_title = match label {
        Some(l) if !title.is_empty() => format!("{l} {title}"),
        Some(l) => l.to_string(),
        None if title.is_empty() => control.id.0.clone(),
        None => title,
    };
    let external_id = ib(&control.props, prop::EXTERNAL_ID).unwrap_or_else(|| control.id.0.clone());
    let mut r = ctx.new_record(kind, external_id, full_title);

    let mut statement = Vec::new();
    let mut extra = BTreeMap::new();
    for part in &control.parts {
        if part.name == "statement" {
            walk.part_lines(part, 0, &mut statement);
        } else {
            let mut lines = Vec::new();
            walk.part_lines(part, 0, &mut lines);
            append(
                &mut extra,
                &format!("part:{}", part.name),
                &lines.join("\n"),
                "\n",
            );
        }
    }
    r.description = text_or_none(statement.join("\n"));
    foreign_props(&control.props, &mut extra);
    if let Some(class) = &control.class {
        extra.insert("oscal:class".into(), class.clone());
    }
    if !path.titles.is_empty() {
        extra.insert("oscal:group".into(), path.titles.join(" / "));
        extra.insert("oscal:group-id".into(), path.ids.join("/"));
    }
    if let Some(p) = parent {
        extra.insert("oscal:parent".into(), p.to_string());
    }
    for p in &control.params {
        extra.insert(format!("param:{}", p.id), walk.param_text(p.id.as_str()));
    }
    for l in &control.links {
        let key = match &l.rel {
            Some(rel) => format!("link:{rel}"),
            None => "link".to_string(),
        };
        append(&mut extra, &key, l.href.trim_start_matches('#'), ", ");
    }
    r.extra = extra;

    r.status = crate::document::oscal_prop(&control.props, "status").map(Status::from_label);
    if is_ours(&control.props) {
        apply_ours(ctx, &mut r, &control.props, loc);
    } else if let Some(standard) = ctx.options.standard {
        // A catalog of a standard's clauses: the label (or id) is the clause number.
        let number = label.unwrap_or(control.id.as_str());
        match ClauseRef::parse(number, Some(standard)) {
            Ok(c) => r.clauses.push(c),
            Err(e) => ctx.warn(
                loc,
                format!("not linked to a clause of {}: {e}", standard.designation()),
            ),
        }
        r.hs = ctx.hs_links(&r.clauses.clone(), loc);
        r.ai = ai_from_props(&[], &r.clauses);
    } else {
        r.clauses = clause_props(ctx, &control.props, loc);
        r.hs = ctx.hs_links(&r.clauses.clone(), loc);
        r.ai = ai_from_props(&[], &r.clauses);
    }
    ctx.push(r, loc, control);

    for (i, sub) in control.controls.iter().enumerate() {
        map_control(
            ctx,
            walk,
            sub,
            Some(control.id.as_str()),
            path,
            &loc.at("controls", "control", i),
        );
    }
}

fn map_profile(ctx: &mut Ctx<'_>, profile: &Profile, root: &Loc) {
    let kind = ctx.options.catalog_kind.record_kind();
    let set_params = profile
        .modify
        .as_ref()
        .map(|m| m.set_parameters.as_slice())
        .unwrap_or_default();
    for (i, import) in profile.imports.iter().enumerate() {
        let iloc = root.at("imports", "import", i);
        if import.include_all.is_some() {
            ctx.warn(
                &iloc,
                format!(
                    "the profile includes all controls of {}: resolve the profile against its catalog to import them (only controls listed by id become records)",
                    import.href
                ),
            );
        }
        for (applicable, key, selections) in [
            (true, "include-controls", &import.include_controls),
            (false, "exclude-controls", &import.exclude_controls),
        ] {
            for (j, sel) in selections.iter().enumerate() {
                let sloc = iloc.at(key, key, j);
                if !sel.matching.is_empty() {
                    ctx.warn(
                        &sloc,
                        "controls selected by pattern (matching) are not resolved without the catalog; only ids listed in with-ids become records",
                    );
                }
                for (k, id) in sel.with_ids.iter().enumerate() {
                    let loc = sloc.at("with-ids", "with-id", k);
                    let mut r = ctx.new_record(kind, id.0.clone(), id.0.clone());
                    r.details = match kind {
                        RecordKind::RequirementAssessment => {
                            Details::RequirementAssessment(RequirementAssessmentDetails {
                                result: if applicable {
                                    Conformity::NotAssessed
                                } else {
                                    Conformity::NotApplicable
                                },
                                evidence: None,
                                assessor: None,
                            })
                        }
                        _ => Details::Control(ControlDetails {
                            applicable: Some(applicable),
                            ..ControlDetails::default()
                        }),
                    };
                    r.extra.insert("oscal:import".into(), import.href.clone());
                    if let Some(w) = &sel.with_child_controls {
                        r.extra
                            .insert("oscal:with-child-controls".into(), w.clone());
                    }
                    // NIST names parameters <control id>_prm_<n>: a profile's settings follow
                    // their control by that convention.
                    let prefix = format!("{}_", id.0);
                    for sp in set_params
                        .iter()
                        .filter(|s| s.param_id.0.starts_with(&prefix))
                    {
                        let text = if !sp.values.is_empty() {
                            sp.values.join(", ")
                        } else if let Some(label) = &sp.label {
                            format!("[Assignment: {}]", label.plain_text())
                        } else {
                            continue;
                        };
                        r.extra.insert(format!("param:{}", sp.param_id), text);
                    }
                    if let Some(standard) = ctx.options.standard
                        && let Ok(c) = ClauseRef::parse(id.as_str(), Some(standard))
                    {
                        r.clauses.push(c);
                        r.hs = ctx.hs_links(&r.clauses.clone(), &loc);
                    }
                    r.ai = ai_from_props(&[], &r.clauses);
                    ctx.push(r, &loc, id);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Risks, observations, POA&M items, findings

/// The text an observation contributes as evidence.
fn observation_text(o: &Observation) -> String {
    let description = o.description.plain_text();
    if is_derived(&o.props) {
        return clip(&description, MAX_JOINED_TEXT);
    }
    let mut s = match &o.title {
        Some(t) => format!("{}: {description}", line(t)),
        None => description,
    };
    if let Some(r) = o.remarks.as_ref().and_then(multi) {
        s.push('\n');
        s.push_str(&r);
    }
    clip(&s, MAX_JOINED_TEXT)
}

/// The evidence text of the observations an element cites.
fn cited_evidence(
    cited: &[crate::document::RelatedObservation],
    observations: &HashMap<OscalUuid, &Observation>,
) -> String {
    join_clipped(
        cited.iter().filter_map(|o| {
            observations
                .get(&o.observation_uuid)
                .map(|o| observation_text(o))
        }),
        "\n",
    )
}

fn observations_by_uuid(list: &[Observation]) -> HashMap<OscalUuid, &Observation> {
    list.iter().map(|o| (o.uuid, o)).collect()
}

/// The dimension a facet rates, by OSCAL's facet names.
fn facet_dimension(name: &str) -> Option<Dimension> {
    match name {
        "likelihood" => Some(Dimension::Likelihood),
        "impact" => Some(Dimension::Impact),
        "risk" => Some(Dimension::Score),
        _ => None,
    }
}

/// OSCAL's own words for likelihood, impact and risk.
pub(crate) const OSCAL_WORDS: [&str; 3] = ["low", "moderate", "high"];

fn parse_f64(s: Option<&str>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// A facet as a rated value: exactly as exported when imsbridge wrote it, otherwise read on a
/// known scale (OSCAL's low/moderate/high, a declared scale, or one detected from the value).
fn facet_value(ctx: &Ctx<'_>, f: &Facet, dimension: Dimension) -> Result<ScaleValue, String> {
    let raw = ib(&f.props, prop::RAW).unwrap_or_else(|| f.value.clone());
    let own_scale = f.system.strip_prefix(SCALE_NS_PREFIX);
    let scale_name = ib(&f.props, prop::SCALE)
        .or_else(|| own_scale.map(str::to_string))
        .unwrap_or_else(|| f.system.clone());
    if let (Some(value), Some(normalised)) = (
        parse_f64(ib(&f.props, prop::VALUE).as_deref()),
        parse_f64(ib(&f.props, prop::NORMALISED).as_deref()),
    ) {
        return Ok(ScaleValue {
            raw,
            scale: scale_name,
            value,
            normalised,
        });
    }
    let word = normalise_word(&f.value);
    if f.system == OSCAL_NS
        && let Some(i) = OSCAL_WORDS.iter().position(|w| *w == word)
    {
        // Three levels spread over the common range: 1, 3, 5 (scores 1, 13, 25).
        let value = i as f64 + 1.0;
        let normalised = if dimension == Dimension::Score {
            1.0 + 12.0 * i as f64
        } else {
            1.0 + 2.0 * i as f64
        };
        return Ok(ScaleValue {
            raw,
            scale: scale_name,
            value,
            normalised,
        });
    }
    let declared = own_scale.and_then(|id| ctx.mappings.scale(id));
    let scale = declared.or_else(|| ctx.mappings.detect_scale(dimension, &[f.value.as_str()]));
    match scale.and_then(|s| s.read(&f.value)) {
        Some(reading) => Ok(ScaleValue {
            raw,
            scale: scale_name,
            value: reading.value,
            normalised: reading.normalised,
        }),
        None => Err(format!(
            "the {} facet {:?} (system {}) is on no known scale; kept as text in the record's extra fields",
            f.name, f.value, f.system
        )),
    }
}

fn map_characterizations(
    ctx: &mut Ctx<'_>,
    list: &[Characterization],
    details: &mut RiskDetails,
    extra: &mut BTreeMap<String, String>,
    loc: &Loc,
) {
    for (i, ch) in list.iter().enumerate() {
        let cloc = loc.at("characterizations", "characterization", i);
        let residual = ib(&ch.props, prop::RATING).as_deref() == Some("residual");
        for (j, f) in ch.facets.iter().enumerate() {
            let floc = cloc.at("facets", "facet", j);
            let Some(dimension) = facet_dimension(&f.name) else {
                append(extra, &format!("facet:{}", f.name), &f.value, "; ");
                continue;
            };
            match facet_value(ctx, f, dimension) {
                Ok(v) => {
                    let rating: &mut RiskRating = if residual {
                        &mut details.residual
                    } else {
                        &mut details.inherent
                    };
                    let slot = match dimension {
                        Dimension::Likelihood => &mut rating.likelihood,
                        Dimension::Impact => &mut rating.impact,
                        Dimension::Score => &mut rating.score,
                    };
                    if slot.is_none() {
                        *slot = Some(v);
                    } else {
                        append(extra, &format!("facet:{}", f.name), &f.value, "; ");
                    }
                }
                Err(message) => {
                    append(extra, &format!("facet:{}", f.name), &f.value, "; ");
                    ctx.warn(&floc, message);
                }
            }
        }
    }
}

fn map_risk(
    ctx: &mut Ctx<'_>,
    risk: &Risk,
    observations: &HashMap<OscalUuid, &Observation>,
    identified: Option<NaiveDate>,
    loc: &Loc,
) {
    let ours = is_ours(&risk.props);
    let external_id = ib(&risk.props, prop::EXTERNAL_ID).unwrap_or_else(|| risk.uuid.to_string());
    let mut r = ctx.new_record(RecordKind::Risk, external_id, line(&risk.title));
    r.description = multi(&risk.description);
    let mut extra = BTreeMap::new();
    let statement = multi(&risk.statement);
    if statement.is_some() && statement != r.description {
        extra.insert("oscal:statement".to_string(), statement.unwrap_or_default());
    }
    let mut details = RiskDetails {
        category: ib(&risk.props, prop::CATEGORY),
        ..RiskDetails::default()
    };
    map_characterizations(ctx, &risk.characterizations, &mut details, &mut extra, loc);

    // Treatment: imsbridge's property, else the first remediation whose `type` reads as one.
    details.treatment = match ib(&risk.props, prop::TREATMENT) {
        Some(label) => match ib(&risk.props, prop::TREATMENT_OPTION)
            .as_deref()
            .and_then(treatment_option)
        {
            Some(option) => Some(Treatment { option, label }),
            None => Treatment::parse(&label).ok(),
        },
        None => risk.remediations.iter().find_map(|rem| {
            rem.props
                .iter()
                .filter(|p| p.name.as_str() == "type")
                .find_map(|p| Treatment::parse(&p.value).ok())
        }),
    };
    let plans: Vec<String> = risk
        .remediations
        .iter()
        .filter_map(|rem| multi(&rem.description))
        .collect();
    details.treatment_plan = text_or_none(plans.join("\n"));
    for rem in &risk.remediations {
        append(
            &mut extra,
            "oscal:remediations",
            &format!("{} ({})", line(&rem.title), rem.lifecycle),
            "; ",
        );
        for t in &rem.tasks {
            let when = t.timing.as_ref().and_then(|t| {
                t.within_date_range
                    .as_ref()
                    .map(|r| format!(" ({} – {})", date_of(&r.start), date_of(&r.end)))
                    .or_else(|| {
                        t.on_date
                            .as_ref()
                            .map(|d| format!(" ({})", date_of(&d.date)))
                    })
            });
            append(
                &mut extra,
                "oscal:tasks",
                &format!("{}{}", line(&t.title), when.unwrap_or_default()),
                "\n",
            );
        }
    }
    for m in &risk.mitigating_factors {
        if let Some(d) = multi(&m.description) {
            append(&mut extra, "oscal:mitigating-factors", &d, "\n");
        }
    }
    for t in &risk.threat_ids {
        append(
            &mut extra,
            "oscal:threats",
            &format!("{} ({})", t.id, t.system),
            "; ",
        );
    }
    let evidence = cited_evidence(&risk.related_observations, observations);
    if !evidence.is_empty() {
        extra.insert("oscal:observations".into(), evidence);
    }
    foreign_props(&risk.props, &mut extra);
    r.details = Details::Risk(Box::new(details));
    r.extra = extra;

    if ours {
        apply_ours(ctx, &mut r, &risk.props, loc);
        r.dates.due = r.dates.due.or(risk.deadline.as_ref().map(date_of));
    } else {
        r.status = Some(risk_status(&risk.status));
        r.dates.due = risk.deadline.as_ref().map(date_of);
        r.dates.identified = identified;
        r.clauses = clause_props(ctx, &risk.props, loc);
        r.hs = ctx.hs_links(&r.clauses.clone(), loc);
        r.ai = ai_from_props(&risk.props, &r.clauses);
    }
    ctx.push(r, loc, risk);
}

fn map_observation(ctx: &mut Ctx<'_>, o: &Observation, loc: &Loc) {
    if is_derived(&o.props) {
        return;
    }
    let description = multi(&o.description);
    let title = match &o.title {
        Some(t) => line(t),
        None => description
            .as_deref()
            .and_then(|d| d.lines().next())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Observation {}", o.uuid)),
    };
    let mut r = ctx.new_record(RecordKind::Document, o.uuid.to_string(), title);
    r.description = description;
    r.details = Details::Document(DocumentDetails {
        document_type: Some("observation".into()),
        version: None,
        link: o.relevant_evidence.iter().find_map(|e| e.href.clone()),
        approver: None,
    });
    r.dates.reviewed = Some(date_of(&o.collected));
    r.dates.next_review = o.expires.as_ref().map(date_of);
    r.extra.insert("oscal:methods".into(), o.methods.join(", "));
    if !o.types.is_empty() {
        r.extra.insert("oscal:types".into(), o.types.join(", "));
    }
    if let Some(rem) = o.remarks.as_ref().and_then(multi) {
        r.extra.insert("oscal:remarks".into(), rem);
    }
    for e in &o.relevant_evidence {
        if let Some(d) = multi(&e.description) {
            append(&mut r.extra, "oscal:evidence", &d, "\n");
        }
    }
    foreign_props(&o.props, &mut r.extra);
    r.owner = ctx.party_names(
        o.origins
            .iter()
            .flat_map(|g| g.actors.iter().map(|a| a.actor_uuid)),
    );
    ctx.push(r, loc, o);
}

fn nonconformity_details(props: &[Prop]) -> NonconformityDetails {
    let get = |n: &str| ib(props, n);
    NonconformityDetails {
        source: get(prop::SOURCE),
        severity: get(prop::SEVERITY),
        root_cause: get(prop::ROOT_CAUSE),
        correction: get(prop::CORRECTION),
        corrective_action: get(prop::CORRECTIVE_ACTION),
        effectiveness: get(prop::EFFECTIVENESS),
    }
}

fn map_poam_item(
    ctx: &mut Ctx<'_>,
    item: &PoamItem,
    risks: &HashMap<OscalUuid, &Risk>,
    observations: &HashMap<OscalUuid, &Observation>,
    loc: &Loc,
) {
    if is_derived(&item.props) {
        return;
    }
    let ours = is_ours(&item.props);
    let kind = match ib(&item.props, prop::KIND).as_deref() {
        Some("nonconformity") => RecordKind::Nonconformity,
        _ => RecordKind::CorrectiveAction,
    };
    let external_id = ib(&item.props, prop::EXTERNAL_ID)
        .or_else(|| item.uuid.map(|u| u.to_string()))
        .unwrap_or_else(|| line(&item.title));
    let mut r = ctx.new_record(kind, external_id, line(&item.title));
    r.description = multi(&item.description);
    let nc = nonconformity_details(&item.props);
    r.details = if kind == RecordKind::Nonconformity {
        Details::Nonconformity(nc)
    } else {
        Details::CorrectiveAction(nc)
    };
    let mut extra = BTreeMap::new();
    let mut deadlines = Vec::new();
    for rr in &item.related_risks {
        match risks.get(&rr.risk_uuid) {
            Some(risk) => {
                append(&mut extra, "oscal:related-risks", &line(&risk.title), "; ");
                deadlines.extend(risk.deadline.as_ref().map(date_of));
            }
            None => {
                append(
                    &mut extra,
                    "oscal:related-risks",
                    &rr.risk_uuid.to_string(),
                    "; ",
                );
                ctx.warn(
                    loc,
                    format!("related risk {} is not in the document", rr.risk_uuid),
                );
            }
        }
    }
    let evidence = cited_evidence(&item.related_observations, observations);
    if !evidence.is_empty() {
        extra.insert("oscal:observations".into(), evidence);
    }
    for f in &item.related_findings {
        append(
            &mut extra,
            "oscal:related-findings",
            &f.finding_uuid.to_string(),
            "; ",
        );
    }
    if let Some(rem) = item.remarks.as_ref().and_then(multi) {
        extra.insert("oscal:remarks".into(), rem);
    }
    foreign_props(&item.props, &mut extra);
    r.extra = extra;
    if ours {
        apply_ours(ctx, &mut r, &item.props, loc);
    } else {
        // The item is due when the earliest risk it addresses is.
        r.dates.due = deadlines.into_iter().min();
        r.clauses = clause_props(ctx, &item.props, loc);
        r.hs = ctx.hs_links(&r.clauses.clone(), loc);
        r.ai = ai_from_props(&item.props, &r.clauses);
    }
    ctx.push(r, loc, item);
}

fn map_poam(ctx: &mut Ctx<'_>, poam: &PlanOfActionAndMilestones, root: &Loc) {
    let observations = observations_by_uuid(&poam.observations);
    for (i, risk) in poam.risks.iter().enumerate() {
        map_risk(ctx, risk, &observations, None, &root.at("risks", "risk", i));
    }
    let risks: HashMap<OscalUuid, &Risk> = poam.risks.iter().map(|r| (r.uuid, r)).collect();
    for (i, item) in poam.poam_items.iter().enumerate() {
        map_poam_item(
            ctx,
            item,
            &risks,
            &observations,
            &root.at("poam-items", "poam-item", i),
        );
    }
    for (i, finding) in poam.findings.iter().enumerate() {
        map_finding(
            ctx,
            finding,
            None,
            &observations,
            &root.at("findings", "finding", i),
        );
    }
    for (i, o) in poam.observations.iter().enumerate() {
        map_observation(ctx, o, &root.at("observations", "observation", i));
    }
}

fn map_assessment_results(ctx: &mut Ctx<'_>, ar: &AssessmentResults, root: &Loc) {
    for (i, result) in ar.results.iter().enumerate() {
        let rloc = root.at("results", "result", i);
        let observations = observations_by_uuid(&result.observations);
        let started = date_of(&result.start);
        for (j, risk) in result.risks.iter().enumerate() {
            map_risk(
                ctx,
                risk,
                &observations,
                Some(started),
                &rloc.at("risks", "risk", j),
            );
        }
        for (j, finding) in result.findings.iter().enumerate() {
            map_finding(
                ctx,
                finding,
                Some(result),
                &observations,
                &rloc.at("findings", "finding", j),
            );
        }
        for (j, o) in result.observations.iter().enumerate() {
            map_observation(ctx, o, &rloc.at("observations", "observation", j));
        }
    }
}

/// A finding target's conformity: imsbridge's property, else `not-applicable`
/// implementation, else satisfied → conforming, not-satisfied → not conforming.
fn target_conformity(finding: &Finding) -> Result<Conformity, String> {
    let t = &finding.target;
    if let Some(c) = ib(&t.props, prop::CONFORMITY) {
        return Conformity::parse(&c).map_err(|e| e.to_string());
    }
    if t.implementation_status
        .as_ref()
        .is_some_and(|i| i.state == "not-applicable")
    {
        return Ok(Conformity::NotApplicable);
    }
    match t.status.state.as_str() {
        "satisfied" => Ok(Conformity::Conforming),
        "not-satisfied" => Ok(Conformity::NotConforming),
        other => Err(format!(
            "target status {other:?} is neither satisfied nor not-satisfied"
        )),
    }
}

fn map_finding(
    ctx: &mut Ctx<'_>,
    finding: &Finding,
    result: Option<&AssessmentResult>,
    observations: &HashMap<OscalUuid, &Observation>,
    loc: &Loc,
) {
    if is_derived(&finding.props) {
        return;
    }
    let ours = is_ours(&finding.props);
    let explicit_kind = ib(&finding.props, prop::KIND).and_then(|k| k.parse::<RecordKind>().ok());
    let conformity = match target_conformity(finding) {
        Ok(c) => c,
        Err(message) => {
            ctx.reject(loc, message, finding);
            return;
        }
    };
    let kinds: Vec<RecordKind> = match explicit_kind {
        Some(k) => vec![k],
        None if conformity == Conformity::Conforming || conformity == Conformity::NotApplicable => {
            vec![RecordKind::RequirementAssessment]
        }
        None => vec![RecordKind::RequirementAssessment, RecordKind::AuditFinding],
    };
    let external_id =
        ib(&finding.props, prop::EXTERNAL_ID).unwrap_or_else(|| finding.uuid.to_string());
    let evidence = cited_evidence(&finding.related_observations, observations);
    let evidence = text_or_none(evidence);
    let origin_names = ctx.party_names(finding.origins.iter().flat_map(|o| {
        o.actors
            .iter()
            .filter(|a| a.kind == "party")
            .map(|a| a.actor_uuid)
    }));
    let assessor = origin_names.or_else(|| ctx.role_holders("assessor"));
    let result_title = result.map(|r| line(&r.title));

    for kind in kinds {
        let mut r = ctx.new_record(kind, external_id.clone(), line(&finding.title));
        r.description = multi(&finding.description);
        let mut extra = BTreeMap::new();
        extra.insert(
            "oscal:target".into(),
            format!("{} {}", finding.target.kind, finding.target.target_id),
        );
        let state = match &finding.target.status.reason {
            Some(reason) => format!("{} ({reason})", finding.target.status.state),
            None => finding.target.status.state.clone(),
        };
        extra.insert("oscal:state".into(), state);
        if let Some(t) = &result_title {
            extra.insert("oscal:result".into(), t.clone());
        }
        for rr in &finding.related_risks {
            append(
                &mut extra,
                "oscal:related-risks",
                &rr.risk_uuid.to_string(),
                "; ",
            );
        }
        if let Some(rem) = finding.remarks.as_ref().and_then(multi) {
            extra.insert("oscal:remarks".into(), rem);
        }
        foreign_props(&finding.props, &mut extra);
        r.extra = extra;
        r.details = match kind {
            RecordKind::AuditFinding => Details::AuditFinding(AuditFindingDetails {
                finding_type: ib(&finding.props, prop::FINDING_TYPE)
                    .and_then(|t| FindingType::parse(&t).ok()),
                audit: if ours {
                    ib(&finding.props, prop::AUDIT)
                } else {
                    result_title.clone()
                },
                auditor: if ours {
                    ib(&finding.props, prop::AUDITOR)
                } else {
                    assessor.clone()
                },
                evidence: evidence.clone(),
            }),
            RecordKind::RequirementAssessment => {
                Details::RequirementAssessment(RequirementAssessmentDetails {
                    result: conformity,
                    evidence: evidence.clone(),
                    assessor: if ours {
                        ib(&finding.props, prop::ASSESSOR)
                    } else {
                        assessor.clone()
                    },
                })
            }
            other => {
                ctx.warn(
                    loc,
                    format!("imsbridge kind {other} is not read from a finding"),
                );
                continue;
            }
        };
        if ours {
            apply_ours(ctx, &mut r, &finding.props, loc);
        } else {
            r.dates.reviewed = result.map(|res| date_of(res.end.as_ref().unwrap_or(&res.start)));
            r.clauses = clause_props(ctx, &finding.props, loc);
            r.hs = ctx.hs_links(&r.clauses.clone(), loc);
            r.ai = ai_from_props(&finding.props, &r.clauses);
        }
        ctx.push(r, loc, finding);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oscal_risk_statuses_are_categorised() {
        assert_eq!(
            risk_status("deviation-approved").category,
            StatusCategory::Closed
        );
        assert_eq!(
            risk_status("investigating").category,
            StatusCategory::InProgress
        );
        assert_eq!(risk_status("open").category, StatusCategory::Open);
        assert_eq!(
            risk_status("In treatment").category,
            StatusCategory::InProgress
        );
        assert_eq!(
            risk_status("deviation-approved").label,
            "deviation-approved"
        );
    }

    #[test]
    fn clause_properties_parse_every_standard() {
        assert_eq!(
            parse_clause_prop("iso27001 A.5.7"),
            Ok(ClauseRef::new(StandardId::Iso27001, "A.5.7"))
        );
        assert_eq!(
            parse_clause_prop("coso-erm P1"),
            Ok(ClauseRef::new(StandardId::CosoErm, "P1"))
        );
        assert!(parse_clause_prop("6.1.2").is_err());
    }
}
