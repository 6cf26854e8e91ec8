//! The model as OSCAL documents: pure functions from records (or mapping data) to a typed
//! [`Document`], which writes itself as JSON ([`Document::to_json`]) or XML
//! ([`Document::to_xml`]).
//!
//! - [`poam`]: risks (with their ratings and treatment) and corrective actions as a POA&M.
//! - [`assessment_results`]: requirement assessments and audit findings of chosen standards.
//! - [`catalog`]: a standard's (or the Harmonized Structure's) clause numbers and titles.
//! - [`mapping`]: a crosswalk as an OSCAL 1.2 mapping collection.
//!
//! UUIDs are version 5, from a fixed namespace and the content they identify (record ids,
//! standard keys, clause numbers): exporting the same content twice gives the same UUIDs.
//! `last-modified` is the time the caller passes in. Every element made for a record carries
//! the record's fields as properties in the [`IMSBRIDGE_NS`] namespace, so that importing the
//! export gives the same records back; elements made only to satisfy OSCAL (a risk's POA&M
//! item, evidence observations, "not assessed" findings) are marked `derived`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_mappings::{ClauseKind, Confidence, Mappings};
use imsbridge_model::{
    ClauseRef, Conformity, Details, FindingType, NonconformityDetails, Record, RecordKind,
    Relationship, RiskRating, ScaleValue, StandardId, Status, StatusCategory, normalise_word,
};
use uuid::Uuid;

use crate::document::{
    Actor, AssessmentResult, AssessmentResults, Characterization, ConfidenceScore, Control,
    ControlSelection, Document, EXPORT_OSCAL_VERSION, Facet, Finding, FindingTarget, Group,
    ImplementationStatus, ImportHref, Map, MapRelationship, Mapping, MappingCollection,
    MappingItem, MappingMethod, MappingProvenance, MappingStatus, MatchingRationale, Metadata,
    OSCAL_NS, ObjectiveStatus, Observation, Origin, OscalDateTime, OscalUuid, OscalVersion, Part,
    Party, PlanOfActionAndMilestones, PoamItem, Prop, RelatedObservation, RelatedRisk,
    ResourceReference, Response, ReviewedControls, Risk, SelectControlById, Token,
};
use crate::error::ExportError;
use crate::map::{IMSBRIDGE_NS, OSCAL_WORDS, SCALE_NS_PREFIX, prop, status_category_str};
use crate::markup::{MarkupLine, MarkupMultiline};

/// The namespace of export UUIDs (a fixed random UUID: changing it would change every UUID
/// ever exported).
const EXPORT_NAMESPACE: Uuid = Uuid::from_u128(0x9d3e_51c2_7a84_4f6b_b1e0_2c58_d7a9_3f16);

/// What every export needs from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The document title; each export has a sensible default.
    pub title: Option<String>,
    /// The document's own version (metadata `version`). Default "1.0".
    pub version: String,
    /// `last-modified`, and the time assessment results are dated: the real time of the
    /// export, passed in so that tests can fix it.
    pub last_modified: DateTime<Utc>,
    /// The party named as the origin of ratings and of the export. Default "imsbridge".
    pub party: String,
}

impl ExportOptions {
    pub fn new(last_modified: DateTime<Utc>) -> ExportOptions {
        ExportOptions {
            title: None,
            version: "1.0".into(),
            last_modified,
            party: "imsbridge".into(),
        }
    }
}

/// A version 5 UUID of content keys.
fn stable(parts: &[&str]) -> OscalUuid {
    OscalUuid(Uuid::new_v5(
        &EXPORT_NAMESPACE,
        parts.join("\u{1f}").as_bytes(),
    ))
}

fn when(t: DateTime<Utc>) -> OscalDateTime {
    OscalDateTime(t.fixed_offset())
}

fn date_time(d: NaiveDate) -> OscalDateTime {
    when(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

fn metadata(title: String, options: &ExportOptions, parties: Vec<Party>) -> Metadata {
    Metadata {
        title: MarkupLine::from_plain(&title),
        published: None,
        last_modified: when(options.last_modified),
        version: if options.version.trim().is_empty() {
            "1.0".into()
        } else {
            options.version.trim().to_string()
        },
        oscal_version: OscalVersion(EXPORT_OSCAL_VERSION.into()),
        props: Vec::new(),
        links: Vec::new(),
        roles: Vec::new(),
        parties,
        responsible_parties: Vec::new(),
        remarks: None,
    }
}

/// One line, single-spaced: what OSCAL's plain `string` fields accept.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn party(name: &str, kind: &str) -> Party {
    Party {
        uuid: stable(&["party", name]),
        kind: kind.into(),
        name: Some(one_line(name)),
        short_name: None,
    }
}

fn origin(party: &Party) -> Origin {
    Origin {
        actors: vec![Actor {
            kind: "party".into(),
            actor_uuid: party.uuid,
            role_id: None,
            props: Vec::new(),
        }],
    }
}

/// A non-empty title: the record's, else its external id.
fn title_of(r: &Record) -> String {
    let t = r.title.trim();
    if t.is_empty() {
        r.provenance.external_id.clone()
    } else {
        t.to_string()
    }
}

fn text(s: &str) -> MarkupMultiline {
    MarkupMultiline::from_plain(s)
}

// ---------------------------------------------------------------------------------------------
// imsbridge properties

/// A property in imsbridge's namespace; `None` for an empty value. OSCAL property values are
/// one line: text with line breaks keeps its first line as the value and the whole text in the
/// property's remarks (read back from there).
fn ib(name: &str, value: &str) -> Option<Prop> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let mut p = Prop::new(name, v, Some(IMSBRIDGE_NS));
    if v.contains('\n') {
        let first = v.lines().next().unwrap_or_default().trim();
        p.value = format!("{first} …");
        p.remarks = Some(text(v));
    }
    Some(p)
}

fn push(props: &mut Vec<Prop>, name: &str, value: Option<&str>) {
    if let Some(p) = value.and_then(|v| ib(name, v)) {
        props.push(p);
    }
}

/// `iso27001 6.1.2`: the clause form properties use (every standard, COSO principles too).
pub(crate) fn clause_prop(c: &ClauseRef) -> String {
    format!("{} {}", c.standard.key(), c.clause)
}

/// The properties every exported record carries: identity, status, owner, dates, clauses, AI.
fn record_props(r: &Record) -> Vec<Prop> {
    let mut p = Vec::new();
    push(&mut p, prop::RECORD_ID, Some(&r.id.to_string()));
    push(&mut p, prop::EXTERNAL_ID, Some(&r.provenance.external_id));
    push(&mut p, prop::KIND, Some(r.kind().as_str()));
    if let Some(s) = &r.status {
        push(&mut p, prop::STATUS, Some(&s.label));
        push(
            &mut p,
            prop::STATUS_CATEGORY,
            Some(status_category_str(s.category)),
        );
    }
    push(&mut p, prop::OWNER, r.owner.as_deref());
    let d = &r.dates;
    for (name, date) in [
        (prop::IDENTIFIED, d.identified),
        (prop::DUE, d.due),
        (prop::CLOSED, d.closed),
        (prop::REVIEWED, d.reviewed),
        (prop::NEXT_REVIEW, d.next_review),
    ] {
        push(&mut p, name, date.map(|d| d.to_string()).as_deref());
    }
    for c in &r.clauses {
        push(&mut p, prop::CLAUSE, Some(&clause_prop(c)));
    }
    push(
        &mut p,
        prop::AI,
        Some(if r.ai.flagged { "true" } else { "false" }),
    );
    for c in &r.ai.categories {
        push(&mut p, prop::AI_CATEGORY, Some(c.as_str()));
    }
    push(&mut p, prop::AI_REASON, r.ai.reason.as_deref());
    p
}

fn derived(what: &str) -> Vec<Prop> {
    ib(prop::DERIVED, what).into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// POA&M

/// OSCAL's risk status for a record's status: its own word when it is one of OSCAL's, else by
/// category.
fn oscal_risk_status(status: Option<&Status>) -> String {
    const WORDS: [&str; 6] = [
        "open",
        "investigating",
        "remediating",
        "deviation-requested",
        "deviation-approved",
        "closed",
    ];
    let Some(s) = status else {
        return "open".into();
    };
    let word = normalise_word(&s.label).replace(' ', "-");
    if WORDS.contains(&word.as_str()) {
        return word;
    }
    match s.category {
        StatusCategory::Open | StatusCategory::Other => "open",
        StatusCategory::InProgress => "remediating",
        StatusCategory::Closed | StatusCategory::Cancelled => "closed",
    }
    .into()
}

/// A rated value as a facet: on OSCAL's system when the value is one of OSCAL's words (low,
/// moderate, high), else on the scale's own system URI; the exact value, normalised value and
/// scale ride along as properties.
fn facet(name: &str, v: &ScaleValue) -> Option<Facet> {
    let raw = v.raw.trim();
    let single = one_line(raw);
    let word = normalise_word(raw);
    let (system, value) = if OSCAL_WORDS.contains(&word.as_str()) {
        (OSCAL_NS.to_string(), word)
    } else if v.scale.contains("://") {
        // A foreign system read from OSCAL: keep it.
        (v.scale.clone(), single)
    } else {
        (format!("{SCALE_NS_PREFIX}{}", v.scale), single)
    };
    let value = if value.is_empty() {
        v.value.to_string()
    } else {
        value
    };
    let mut props = Vec::new();
    if system == OSCAL_NS || v.scale.contains("://") {
        push(&mut props, prop::SCALE, Some(&v.scale));
    }
    if value != raw {
        push(&mut props, prop::RAW, Some(raw));
    }
    push(&mut props, prop::VALUE, Some(&v.value.to_string()));
    push(
        &mut props,
        prop::NORMALISED,
        Some(&v.normalised.to_string()),
    );
    Some(Facet {
        name: name.into(),
        system,
        value,
        props,
        remarks: None,
    })
}

fn characterization(which: &str, rating: &RiskRating, by: &Party) -> Option<Characterization> {
    let facets: Vec<Facet> = [
        ("likelihood", &rating.likelihood),
        ("impact", &rating.impact),
        ("risk", &rating.score),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.as_ref().and_then(|v| facet(name, v)))
    .collect();
    if facets.is_empty() {
        return None;
    }
    Some(Characterization {
        props: ib(prop::RATING, which).into_iter().collect(),
        links: Vec::new(),
        origin: origin(by),
        facets,
    })
}

fn risk(r: &Record, by: &Party) -> Risk {
    let title = title_of(r);
    let description = r.description.clone().unwrap_or_else(|| title.clone());
    let statement = r
        .extra
        .get("oscal:statement")
        .cloned()
        .unwrap_or_else(|| description.clone());
    let mut props = record_props(r);
    let mut characterizations = Vec::new();
    let mut remediations = Vec::new();
    if let Details::Risk(d) = &r.details {
        push(&mut props, prop::CATEGORY, d.category.as_deref());
        if let Some(t) = &d.treatment {
            push(&mut props, prop::TREATMENT, Some(&t.label));
            push(&mut props, prop::TREATMENT_OPTION, Some(t.option.as_str()));
        }
        characterizations.extend(characterization("inherent", &d.inherent, by));
        characterizations.extend(characterization("residual", &d.residual, by));
        if let Some(plan) = d.treatment_plan.as_deref().filter(|p| !p.trim().is_empty()) {
            let closed = r
                .status
                .as_ref()
                .is_some_and(|s| s.category == StatusCategory::Closed);
            remediations.push(Response {
                uuid: stable(&["remediation", &r.id.to_string()]),
                lifecycle: if closed { "completed" } else { "planned" }.into(),
                title: MarkupLine::from_plain(
                    d.treatment
                        .as_ref()
                        .map_or("Treatment plan", |t| t.label.as_str()),
                ),
                description: text(plan),
                props: d
                    .treatment
                    .as_ref()
                    .and_then(|t| ib("type", t.option.as_str()))
                    .into_iter()
                    .collect(),
                links: Vec::new(),
                origins: Vec::new(),
                tasks: Vec::new(),
                remarks: None,
            });
        }
    }
    Risk {
        uuid: stable(&["risk", &r.id.to_string()]),
        title: MarkupLine::from_plain(&title),
        description: text(&description),
        statement: text(&statement),
        props,
        links: Vec::new(),
        status: oscal_risk_status(r.status.as_ref()),
        origins: Vec::new(),
        threat_ids: Vec::new(),
        characterizations,
        mitigating_factors: Vec::new(),
        deadline: r.dates.due.map(date_time),
        remediations,
        related_observations: Vec::new(),
    }
}

fn nonconformity_props(props: &mut Vec<Prop>, nc: &NonconformityDetails) {
    push(props, prop::SOURCE, nc.source.as_deref());
    push(props, prop::SEVERITY, nc.severity.as_deref());
    push(props, prop::ROOT_CAUSE, nc.root_cause.as_deref());
    push(props, prop::CORRECTION, nc.correction.as_deref());
    push(
        props,
        prop::CORRECTIVE_ACTION,
        nc.corrective_action.as_deref(),
    );
    push(props, prop::EFFECTIVENESS, nc.effectiveness.as_deref());
}

/// Risks and corrective actions (or nonconformities) as a POA&M. Each risk gets a POA&M item
/// of its own (marked `derived`, linked to the risk): OSCAL wants at least one item, and a
/// risk under treatment is one. Records of other kinds are left out.
pub fn poam(records: &[Record], options: &ExportOptions) -> Result<Document, ExportError> {
    let by = party(&options.party, "organization");
    let mut risks = Vec::new();
    let mut items = Vec::new();
    for r in records {
        match r.kind() {
            RecordKind::Risk => {
                let risk = risk(r, &by);
                let plan = match &r.details {
                    Details::Risk(d) => d.treatment_plan.clone(),
                    _ => None,
                };
                items.push(PoamItem {
                    uuid: Some(stable(&["poam-item", &r.id.to_string()])),
                    title: risk.title.clone(),
                    description: text(
                        &plan
                            .filter(|p| !p.trim().is_empty())
                            .unwrap_or_else(|| format!("Treat the risk: {}", title_of(r))),
                    ),
                    props: derived("risk"),
                    links: Vec::new(),
                    origins: Vec::new(),
                    related_findings: Vec::new(),
                    related_observations: Vec::new(),
                    related_risks: vec![RelatedRisk {
                        risk_uuid: risk.uuid,
                    }],
                    remarks: None,
                });
                risks.push(risk);
            }
            RecordKind::CorrectiveAction | RecordKind::Nonconformity => {
                let title = title_of(r);
                let mut props = record_props(r);
                if let Details::CorrectiveAction(nc) | Details::Nonconformity(nc) = &r.details {
                    nonconformity_props(&mut props, nc);
                }
                items.push(PoamItem {
                    uuid: Some(stable(&["poam-item", &r.id.to_string()])),
                    title: MarkupLine::from_plain(&title),
                    description: text(r.description.as_deref().unwrap_or(&title)),
                    props,
                    links: Vec::new(),
                    origins: Vec::new(),
                    related_findings: Vec::new(),
                    related_observations: Vec::new(),
                    related_risks: Vec::new(),
                    remarks: None,
                });
            }
            _ => {}
        }
    }
    if items.is_empty() {
        return Err(ExportError::Empty(
            "a POA&M needs at least one risk, corrective action or nonconformity".into(),
        ));
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| "Plan of action and milestones (imsbridge)".into());
    Ok(Document::PlanOfActionAndMilestones(Box::new(
        PlanOfActionAndMilestones {
            uuid: stable(&["poam", &title, &ids.join(",")]),
            metadata: metadata(title, options, vec![by]),
            import_ssp: None,
            system_id: None,
            observations: Vec::new(),
            risks,
            findings: Vec::new(),
            poam_items: items,
        },
    )))
}

// ---------------------------------------------------------------------------------------------
// Catalogs

/// One clause of a standard as a catalog control.
#[derive(Debug, Clone)]
struct Entry {
    clause: String,
    title: String,
    parent: Option<String>,
    kind: Option<ClauseKind>,
    hs: Vec<(String, Relationship)>,
}

/// A standard's clauses in order (the HS clauses for [`StandardId::Hs`]).
fn entries(standard: StandardId, mappings: &Mappings) -> Result<Vec<Entry>, ExportError> {
    if standard == StandardId::Hs {
        return Ok(mappings
            .hs_clauses()
            .iter()
            .map(|c| Entry {
                clause: c.id.clone(),
                title: c.title.clone(),
                parent: c.parent.clone(),
                kind: None,
                hs: vec![(c.id.clone(), Relationship::Equal)],
            })
            .collect());
    }
    let map = mappings
        .standard(standard)
        .ok_or_else(|| ExportError::UnknownStandard {
            standard: standard.designation().into(),
        })?;
    let summaries = mappings.clause_summaries(standard);
    Ok(map
        .clauses()
        .iter()
        .map(|c| Entry {
            clause: c.id.clone(),
            title: c.title.clone(),
            parent: c.parent.clone(),
            kind: Some(c.kind),
            hs: summaries
                .iter()
                .find(|s| s.id == c.id)
                .map(|s| {
                    s.hs.iter()
                        .map(|h| (h.clause.clone(), h.relationship))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// The control id of a clause: `iso27001-6.1.2`, `iso27001-A.5.7`, `hs-9.2`.
pub fn control_id(standard: StandardId, clause: &str) -> String {
    format!("{}-{}", standard.key(), clause)
}

fn entry_control(standard: StandardId, e: &Entry, all: &[Entry]) -> Control {
    let id = control_id(standard, &e.clause);
    let mut props = vec![Prop::new("label", e.clause.clone(), None)];
    push(
        &mut props,
        prop::CLAUSE,
        Some(&clause_prop(&ClauseRef::new(standard, e.clause.clone()))),
    );
    if let Some(k) = e.kind {
        push(&mut props, prop::CLAUSE_KIND, Some(k.as_str()));
    }
    for (hs, rel) in &e.hs {
        push(&mut props, prop::HS, Some(&format!("{hs} {rel}")));
    }
    Control {
        id: Token(id.clone()),
        class: None,
        title: MarkupLine::from_plain(&e.title),
        params: Vec::new(),
        props,
        links: Vec::new(),
        // An objective to point assessment findings at; the requirement text itself is the
        // standard's and is not reproduced.
        parts: vec![Part {
            id: Some(Token(format!("{id}_obj"))),
            name: "assessment-objective".into(),
            ns: None,
            class: None,
            title: None,
            props: Vec::new(),
            prose: None,
            parts: Vec::new(),
            links: Vec::new(),
        }],
        controls: all
            .iter()
            .filter(|c| c.parent.as_deref() == Some(e.clause.as_str()))
            .map(|c| entry_control(standard, c, all))
            .collect(),
    }
}

/// The entries that are controls: every clause under a top-level one, and top-level clauses
/// without sub-clauses (the Annex A themes, say), which are requirements in their own right.
fn control_entries(all: &[Entry]) -> Vec<&Entry> {
    all.iter()
        .filter(|e| {
            e.parent.is_some()
                || !all
                    .iter()
                    .any(|c| c.parent.as_deref() == Some(e.clause.as_str()))
        })
        .collect()
}

/// A standard's clause list (numbers and titles only) as a catalog: a group per top-level
/// clause, its sub-clauses as controls nested as the standard nests them. `hs` gives the
/// Harmonized Structure itself.
pub fn catalog(
    standard: StandardId,
    mappings: &Mappings,
    options: &ExportOptions,
) -> Result<Document, ExportError> {
    let all = entries(standard, mappings)?;
    let groups = all
        .iter()
        .filter(|e| e.parent.is_none())
        .map(|top| {
            let children: Vec<Control> = all
                .iter()
                .filter(|c| c.parent.as_deref() == Some(top.clause.as_str()))
                .map(|c| entry_control(standard, c, &all))
                .collect();
            let controls = if children.is_empty() {
                vec![entry_control(standard, top, &all)]
            } else {
                children
            };
            Group {
                id: Some(Token(format!("{}-group-{}", standard.key(), top.clause))),
                class: None,
                title: MarkupLine::from_plain(&top.title),
                params: Vec::new(),
                props: vec![Prop::new("label", top.clause.clone(), None)],
                links: Vec::new(),
                parts: Vec::new(),
                groups: Vec::new(),
                controls,
            }
        })
        .collect();
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| format!("{}: clauses", standard.designation()));
    let mut meta = metadata(title, options, Vec::new());
    meta.remarks = Some(text(&format!(
        "The clause numbers and titles of {}, for linking records and assessments. The requirement text is not included: it is the standard's.",
        standard.designation()
    )));
    Ok(Document::Catalog(Box::new(crate::document::Catalog {
        uuid: stable(&["catalog", standard.key()]),
        metadata: meta,
        params: Vec::new(),
        controls: Vec::new(),
        groups,
    })))
}

// ---------------------------------------------------------------------------------------------
// Assessment results

/// The finding target state for a conformity result; OSCAL knows only satisfied and
/// not-satisfied, the rest is said by the reason, the implementation status and the
/// `conformity` property.
fn target_status(c: Conformity) -> (ObjectiveStatus, Option<ImplementationStatus>) {
    let (state, reason, implementation) = match c {
        Conformity::Conforming => ("satisfied", "pass", None),
        Conformity::NotConforming => ("not-satisfied", "fail", None),
        // OSCAL: "not completely satisfied, but may be partially satisfied".
        Conformity::PartiallyConforming => ("not-satisfied", "other", Some("partial")),
        Conformity::NotApplicable => ("satisfied", "other", Some("not-applicable")),
        // Not shown to be satisfied; the property says it was not assessed at all.
        Conformity::NotAssessed => ("not-satisfied", "other", None),
    };
    (
        ObjectiveStatus {
            state: state.into(),
            reason: Some(reason.into()),
            remarks: None,
        },
        implementation.map(|s| ImplementationStatus {
            state: s.into(),
            remarks: None,
        }),
    )
}

fn finding_type_conformity(t: Option<FindingType>) -> Conformity {
    match t {
        Some(FindingType::MajorNonconformity) => Conformity::NotConforming,
        Some(FindingType::MinorNonconformity) => Conformity::PartiallyConforming,
        Some(
            FindingType::Positive
            | FindingType::OpportunityForImprovement
            | FindingType::Observation,
        ) => Conformity::Conforming,
        None => Conformity::NotConforming,
    }
}

fn finding_type_str(t: FindingType) -> &'static str {
    match t {
        FindingType::MajorNonconformity => "major",
        FindingType::MinorNonconformity => "minor",
        FindingType::Observation => "observation",
        FindingType::OpportunityForImprovement => "ofi",
        FindingType::Positive => "positive",
    }
}

/// The entry a clause reference falls under: the clause itself, or its nearest listed
/// ancestor (27001 A.5.7 → A.5 when only the theme is listed).
fn entry_for<'a>(clause: &str, controls: &[&'a Entry]) -> Option<&'a Entry> {
    let mut current = clause;
    loop {
        if let Some(e) = controls.iter().find(|e| e.clause == current) {
            return Some(e);
        }
        let cut = current.rfind('.')?;
        current = current.get(..cut)?;
        if current.eq_ignore_ascii_case("a") {
            return None;
        }
    }
}

struct ArBuilder<'a> {
    options: &'a ExportOptions,
    parties: BTreeMap<String, Party>,
    observations: Vec<Observation>,
}

impl ArBuilder<'_> {
    fn party_origin(&mut self, name: Option<&str>) -> Vec<Origin> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Vec::new();
        };
        let p = self
            .parties
            .entry(name.to_string())
            .or_insert_with(|| party(name, "person"));
        vec![origin(p)]
    }

    fn evidence(
        &mut self,
        r: &Record,
        standard: StandardId,
        evidence: Option<&str>,
    ) -> Vec<RelatedObservation> {
        let Some(e) = evidence.filter(|e| !e.trim().is_empty()) else {
            return Vec::new();
        };
        let uuid = stable(&["evidence", &r.id.to_string(), standard.key()]);
        if !self.observations.iter().any(|o| o.uuid == uuid) {
            self.observations.push(Observation {
                uuid,
                title: Some(MarkupLine::from_plain(&format!(
                    "Evidence: {}",
                    title_of(r)
                ))),
                description: text(e),
                props: derived("evidence"),
                links: Vec::new(),
                methods: vec!["EXAMINE".into()],
                types: Vec::new(),
                origins: Vec::new(),
                subjects: Vec::new(),
                relevant_evidence: Vec::new(),
                collected: when(self.options.last_modified),
                expires: None,
                remarks: None,
            });
        }
        vec![RelatedObservation {
            observation_uuid: uuid,
        }]
    }

    /// The finding of a requirement assessment or audit finding under a clause entry; `first`
    /// is false for the second and later clauses of a record, whose findings are `derived`.
    fn finding(
        &mut self,
        r: &Record,
        standard: StandardId,
        e: &Entry,
        first: bool,
    ) -> Option<Finding> {
        let cid = control_id(standard, &e.clause);
        let (conformity, mut props, origins, evidence) = match &r.details {
            Details::RequirementAssessment(d) => {
                let props = record_props(r);
                let mut p = props;
                push(&mut p, prop::ASSESSOR, d.assessor.as_deref());
                let origins = self.party_origin(d.assessor.as_deref());
                (d.result, p, origins, d.evidence.clone())
            }
            Details::AuditFinding(d) => {
                let mut p = record_props(r);
                push(
                    &mut p,
                    prop::FINDING_TYPE,
                    d.finding_type.map(finding_type_str),
                );
                push(&mut p, prop::AUDIT, d.audit.as_deref());
                push(&mut p, prop::AUDITOR, d.auditor.as_deref());
                let origins = self.party_origin(d.auditor.as_deref());
                (
                    finding_type_conformity(d.finding_type),
                    p,
                    origins,
                    d.evidence.clone(),
                )
            }
            _ => return None,
        };
        if !first {
            props = derived("also");
        }
        let (status, implementation_status) = target_status(conformity);
        let title = title_of(r);
        Some(Finding {
            uuid: stable(&["finding", &r.id.to_string(), &cid]),
            title: MarkupLine::from_plain(&title),
            description: text(r.description.as_deref().unwrap_or(&title)),
            props,
            links: Vec::new(),
            origins,
            target: FindingTarget {
                kind: "objective-id".into(),
                target_id: Token(format!("{cid}_obj")),
                title: Some(MarkupLine::from_plain(&format!("{} {}", e.clause, e.title))),
                description: None,
                props: ib(prop::CONFORMITY, conformity.as_str())
                    .into_iter()
                    .collect(),
                links: Vec::new(),
                status,
                implementation_status,
                remarks: None,
            },
            implementation_statement_uuid: None,
            related_observations: self.evidence(r, standard, evidence.as_deref()),
            related_risks: Vec::new(),
            remarks: None,
        })
    }
}

/// Requirement assessments and audit findings for the clauses of the chosen standards, one
/// result per standard. Every clause that is a control in [`catalog`] gets at least one
/// finding; a clause nobody assessed gets one that says so (target `not-satisfied`, reason
/// `other`, property `conformity = not_assessed`, marked `derived`). Evidence becomes an
/// observation (marked `derived`) the finding cites.
pub fn assessment_results(
    records: &[Record],
    standards: &[StandardId],
    mappings: &Mappings,
    options: &ExportOptions,
) -> Result<Document, ExportError> {
    let mut chosen: Vec<StandardId> = Vec::new();
    for s in standards {
        if !chosen.contains(s) {
            chosen.push(*s);
        }
    }
    if chosen.is_empty() {
        return Err(ExportError::Empty("no standard chosen".into()));
    }
    let mut b = ArBuilder {
        options,
        parties: BTreeMap::new(),
        observations: Vec::new(),
    };
    let assessed: Vec<&Record> = records
        .iter()
        .filter(|r| {
            matches!(
                r.kind(),
                RecordKind::RequirementAssessment | RecordKind::AuditFinding
            )
        })
        .collect();
    let mut results = Vec::new();
    for standard in &chosen {
        let all = entries(*standard, mappings)?;
        let controls = control_entries(&all);
        // Findings per entry, in the records' order.
        let mut by_entry: BTreeMap<usize, Vec<(&Record, bool)>> = BTreeMap::new();
        for r in &assessed {
            let mut first = true;
            let mut seen = BTreeSet::new();
            for c in r.clauses.iter().filter(|c| c.standard == *standard) {
                let Some(e) = entry_for(&c.clause, &controls) else {
                    continue;
                };
                let Some(index) = controls.iter().position(|x| std::ptr::eq(*x, e)) else {
                    continue;
                };
                if seen.insert(index) {
                    by_entry.entry(index).or_default().push((r, first));
                    first = false;
                }
            }
        }
        let mut findings = Vec::new();
        for (index, e) in controls.iter().enumerate() {
            let mut assessed_here = false;
            for (r, first) in by_entry.get(&index).map(Vec::as_slice).unwrap_or_default() {
                if let Some(f) = b.finding(r, *standard, e, *first) {
                    assessed_here |= r.kind() == RecordKind::RequirementAssessment;
                    findings.push(f);
                }
            }
            if !assessed_here {
                let cid = control_id(*standard, &e.clause);
                let (status, _) = target_status(Conformity::NotAssessed);
                findings.push(Finding {
                    uuid: stable(&["not-assessed", standard.key(), &e.clause]),
                    title: MarkupLine::from_plain(&format!(
                        "{} {}: not assessed",
                        e.clause, e.title
                    )),
                    description: text(&format!(
                        "No assessment of {} {} was recorded.",
                        standard.designation(),
                        e.clause
                    )),
                    props: derived("not-assessed"),
                    links: Vec::new(),
                    origins: Vec::new(),
                    target: FindingTarget {
                        kind: "objective-id".into(),
                        target_id: Token(format!("{cid}_obj")),
                        title: Some(MarkupLine::from_plain(&format!("{} {}", e.clause, e.title))),
                        description: None,
                        props: ib(prop::CONFORMITY, Conformity::NotAssessed.as_str())
                            .into_iter()
                            .collect(),
                        links: Vec::new(),
                        status,
                        implementation_status: None,
                        remarks: None,
                    },
                    implementation_statement_uuid: None,
                    related_observations: Vec::new(),
                    related_risks: Vec::new(),
                    remarks: None,
                });
            }
        }
        let selection = ControlSelection {
            description: None,
            props: Vec::new(),
            links: Vec::new(),
            include_all: None,
            include_controls: controls
                .iter()
                .map(|e| SelectControlById {
                    control_id: Token(control_id(*standard, &e.clause)),
                    statement_ids: Vec::new(),
                })
                .collect(),
            exclude_controls: Vec::new(),
            remarks: None,
        };
        let observations = std::mem::take(&mut b.observations);
        results.push(AssessmentResult {
            uuid: stable(&["result", standard.key()]),
            title: MarkupLine::from_plain(&format!(
                "{}: requirement assessments",
                standard.designation()
            )),
            description: text(&format!(
                "Requirement assessments and audit findings for the clauses of {}, exported by imsbridge. Clauses without an assessment are reported as not assessed.",
                standard.designation()
            )),
            start: when(options.last_modified),
            end: None,
            props: Vec::new(),
            links: Vec::new(),
            reviewed_controls: ReviewedControls {
                description: None,
                props: Vec::new(),
                links: Vec::new(),
                control_selections: vec![selection],
                remarks: None,
            },
            observations,
            risks: Vec::new(),
            findings,
            remarks: None,
        });
    }
    let keys: Vec<&str> = chosen.iter().map(|s| s.key()).collect();
    let ids: Vec<String> = assessed.iter().map(|r| r.id.to_string()).collect();
    let title = options.title.clone().unwrap_or_else(|| {
        format!(
            "Assessment results: {}",
            chosen
                .iter()
                .map(|s| s.designation())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok(Document::AssessmentResults(Box::new(AssessmentResults {
        uuid: stable(&["assessment-results", &keys.join(","), &ids.join(",")]),
        metadata: metadata(title, options, b.parties.into_values().collect()),
        import_ap: ImportHref {
            // No OSCAL assessment plan exists for a register: the reference says so.
            href: "urn:imsbridge:assessment-plan:none".into(),
        },
        results,
    })))
}

// ---------------------------------------------------------------------------------------------
// Mapping collections

/// A model relationship in OSCAL's vocabulary. The clause maps compare meaning (semantic
/// matching), so equality is `equivalent-to`; `equal-to` (the same words) is never claimed.
pub fn oscal_relationship(r: Relationship) -> MapRelationship {
    match r {
        Relationship::Equal => MapRelationship::EquivalentTo,
        Relationship::Subset => MapRelationship::SubsetOf,
        Relationship::Superset => MapRelationship::SupersetOf,
        Relationship::Intersects => MapRelationship::IntersectsWith,
        Relationship::NotRelated => MapRelationship::NoRelationship,
    }
}

fn catalog_ref(standard: StandardId) -> ResourceReference {
    ResourceReference {
        ns: None,
        kind: "catalog".into(),
        // The catalog `export oscal catalog <standard>` writes.
        href: format!("urn:imsbridge:catalog:{}", standard.key()),
        props: Vec::new(),
    }
}

/// The crosswalk `from` → `to` (either may be `hs`) as a mapping collection: one map entry per
/// related clause pair, relationship in OSCAL's vocabulary, confidence as category. A map to or
/// from the HS is the clause map itself (method human, status complete); between two standards
/// it is composed through the HS clauses both map to (method hybrid, status draft: a
/// composition that cannot tell is `intersects-with`).
pub fn mapping(
    from: StandardId,
    to: StandardId,
    mappings: &Mappings,
    options: &ExportOptions,
) -> Result<Document, ExportError> {
    let pairs = mappings.crosswalk(from, to);
    if pairs.is_empty() {
        return Err(ExportError::NoCrosswalk {
            from: from.designation().into(),
            to: to.designation().into(),
            reason: "no clause pair is related through the Harmonized Structure".into(),
        });
    }
    let direct = from == StandardId::Hs || to == StandardId::Hs;
    let maps = pairs
        .iter()
        .map(|p| Map {
            uuid: stable(&["map", from.key(), to.key(), &p.from, &p.to, &p.via]),
            ns: None,
            matching_rationale: None,
            relationship: oscal_relationship(p.relationship),
            sources: vec![MappingItem {
                kind: "control".into(),
                id_ref: control_id(from, &p.from),
                props: Vec::new(),
            }],
            targets: vec![MappingItem {
                kind: "control".into(),
                id_ref: control_id(to, &p.to),
                props: Vec::new(),
            }],
            confidence_score: Some(ConfidenceScore {
                category: Some(
                    match p.confidence {
                        Confidence::Low => "low",
                        Confidence::Medium => "medium",
                        Confidence::High => "high",
                    }
                    .into(),
                ),
                percentage: None,
            }),
            props: if direct {
                Vec::new()
            } else {
                ib(prop::VIA_HS, &p.via).into_iter().collect()
            },
            links: Vec::new(),
            remarks: None,
        })
        .collect();
    let description = if direct {
        format!(
            "How the clauses of {} compare with those of {}, from imsbridge's clause maps (compiled by people from clause numbers and titles). Relationships follow NIST IR 8477, source compared with target.",
            from.designation(),
            to.designation()
        )
    } else {
        format!(
            "How the clauses of {} compare with those of {}, composed through the ISO Harmonized Structure: two clauses are related when both map to the same HS clause (the via-hs property), and the relationship is composed from the two clause-map relationships. A composition that cannot be decided is intersects-with. Relationships follow NIST IR 8477, source compared with target.",
            from.designation(),
            to.designation()
        )
    };
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| format!("Crosswalk {} → {}", from.designation(), to.designation()));
    Ok(Document::MappingCollection(Box::new(MappingCollection {
        uuid: stable(&["mapping-collection", from.key(), to.key()]),
        metadata: metadata(title, options, Vec::new()),
        provenance: MappingProvenance {
            method: if direct {
                MappingMethod::Human
            } else {
                MappingMethod::Hybrid
            },
            matching_rationale: MatchingRationale::Semantic,
            status: if direct {
                MappingStatus::Complete
            } else {
                MappingStatus::Draft
            },
            confidence_score: None,
            mapping_description: text(&description),
            props: Vec::new(),
            links: Vec::new(),
            remarks: None,
        },
        mappings: vec![Mapping {
            uuid: stable(&["mapping", from.key(), to.key()]),
            method: None,
            matching_rationale: None,
            status: None,
            source_resource: catalog_ref(from),
            target_resource: catalog_ref(to),
            maps,
            props: Vec::new(),
            links: Vec::new(),
            remarks: None,
            mapping_description: None,
        }],
    })))
}
