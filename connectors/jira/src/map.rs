//! Pure functions to and from the unified model: Jira issues (as search and `GET issue`
//! return them) → [`Record`]s, a local record → the fields of an issue in the API's **write
//! shape**, and an issue in the **read shape** → the same write shape, so that a plan compares
//! like with like. No I/O here: the field list and the resolved bindings are passed in.
//!
//! Read shape and write shape: Jira answers with objects where it takes plain values (a
//! select list reads `{"self", "value", "id"}` and is written `{"value"}`; the status reads
//! with its category), numbers may come back as `3` or `3.0`, and descriptions are ADF
//! documents whose layout Jira's editor changes freely. Every written field is therefore
//! normalised the same way on both sides ([`normalise`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_connector::{Conversion, Desired, FieldMap, RemoteRecord};
use imsbridge_mappings::Scale;
use imsbridge_model::{
    AiFlag, ClauseRef, Dates, Details, IncidentDetails, NonconformityDetails, Provenance, Record,
    RecordId, RecordKind, RiskDetails, RiskRating, ScaleValue, Status, StatusCategory, Treatment,
    TreatmentOption,
};
use serde_json::{Map, Value, json};

use crate::adf;
use crate::catalog::{Catalog, FieldDef, FieldType};

/// The connector's name in provenance.
pub const CONNECTOR: &str = "jira";

/// The correlation ids the engine hands out: `IMSB-` and sixteen hex digits.
pub const CORRELATION_PREFIX: &str = "IMSB-";

/// The label that carries a correlation id on an issue: `imsbridge-` and the same digits
/// (labels are lower case by habit and cannot hold every character).
pub const LABEL_PREFIX: &str = "imsbridge-";

/// Jira caps summaries at 255 characters.
pub const MAX_SUMMARY: usize = 255;

/// The key of the pseudo-field that carries the status category in the write shape.
pub const STATUS: &str = "status";

/// Fields left out of `extra`: they change without the issue's content changing (views,
/// watchers, time tracking, the version stamp), and would make every pull rewrite the record.
const VOLATILE: [&str; 18] = [
    "updated",
    "lastViewed",
    "statuscategorychangedate",
    "watches",
    "votes",
    "worklog",
    "timetracking",
    "progress",
    "aggregateprogress",
    "aggregatetimespent",
    "aggregatetimeestimate",
    "aggregatetimeoriginalestimate",
    "timespent",
    "timeestimate",
    "timeoriginalestimate",
    "workratio",
    "issuerestriction",
    "thumbnail",
];

/// The streams, one per record kind an issue type can be configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Nonconformities,
    CorrectiveActions,
    Risks,
    Incidents,
}

impl Stream {
    pub const ALL: [Stream; 4] = [
        Stream::Nonconformities,
        Stream::CorrectiveActions,
        Stream::Risks,
        Stream::Incidents,
    ];

    /// The stream's name in configuration (`read = ["risks"]`).
    pub fn name(self) -> &'static str {
        match self {
            Stream::Nonconformities => "nonconformities",
            Stream::CorrectiveActions => "corrective_actions",
            Stream::Risks => "risks",
            Stream::Incidents => "incidents",
        }
    }

    pub fn kind(self) -> RecordKind {
        match self {
            Stream::Nonconformities => RecordKind::Nonconformity,
            Stream::CorrectiveActions => RecordKind::CorrectiveAction,
            Stream::Risks => RecordKind::Risk,
            Stream::Incidents => RecordKind::Incident,
        }
    }

    pub fn from_name(name: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn from_kind(kind: RecordKind) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.kind() == kind)
    }
}

/// Why an object could not be mapped (shared by every connector).
pub use imsbridge_connector::MapError;

// ---------------------------------------------------------------------------------------------
// Bindings: model field → Jira field
// ---------------------------------------------------------------------------------------------

/// Whether a model field exists on records of `kind`.
pub fn applies(model: &str, kind: RecordKind) -> bool {
    use RecordKind::*;
    match model {
        "owner" | "due" | "clauses" => true,
        "likelihood"
        | "impact"
        | "residual_likelihood"
        | "residual_impact"
        | "treatment"
        | "treatment_plan" => kind == Risk,
        "category" => matches!(kind, Risk | Incident),
        "severity" => matches!(kind, Incident | Nonconformity | CorrectiveAction),
        "affected" | "resolution" => kind == Incident,
        "source" | "root_cause" | "correction" | "corrective_action" | "effectiveness" => {
            matches!(kind, Nonconformity | CorrectiveAction)
        }
        _ => false,
    }
}

/// The Jira field of each mapped model field: the `fields` key resolved against the site's
/// field list, over the defaults (owner → Assignee, due → Due date).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings {
    map: BTreeMap<String, FieldDef>,
}

impl Bindings {
    /// Resolves `fields` (model field → Jira name or id). `Err((model, message))` names the
    /// first field that does not resolve.
    pub fn resolve(
        fields: &BTreeMap<String, String>,
        catalog: &Catalog,
    ) -> Result<Bindings, (String, String)> {
        let mut map = BTreeMap::new();
        for (model, id, name, ty) in [
            ("owner", "assignee", "Assignee", FieldType::User),
            ("due", "duedate", "Due date", FieldType::Date),
        ] {
            let def = catalog.get(id).cloned().unwrap_or(FieldDef {
                id: id.into(),
                name: name.into(),
                ty,
            });
            map.insert(model.to_string(), def);
        }
        for (model, wanted) in fields {
            let def = catalog
                .resolve(wanted)
                .map_err(|message| (model.clone(), message))?;
            map.insert(model.clone(), def.clone());
        }
        Ok(Bindings { map })
    }

    pub fn get(&self, model: &str) -> Option<&FieldDef> {
        self.map.get(model)
    }

    /// The bindings of the model fields records of `kind` have.
    pub fn for_kind(&self, kind: RecordKind) -> impl Iterator<Item = (&str, &FieldDef)> {
        self.map
            .iter()
            .filter(move |(model, _)| applies(model, kind))
            .map(|(m, d)| (m.as_str(), d))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldDef)> {
        self.map.iter().map(|(m, d)| (m.as_str(), d))
    }
}

/// How written issues carry their correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correlation {
    /// The label `imsbridge-<digits>`.
    Label,
    /// A single-line text field holding `IMSB-<digits>`.
    Field(FieldDef),
}

/// Whether `text` is a correlation id the engine hands out (`IMSB-` + 16 lower-case hex).
pub fn is_correlation(text: &str) -> bool {
    text.strip_prefix(CORRELATION_PREFIX).is_some_and(|hex| {
        hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `IMSB-0123456789abcdef` → `imsbridge-0123456789abcdef`.
pub fn correlation_label(correlation: &str) -> Option<String> {
    is_correlation(correlation)
        .then(|| format!("{LABEL_PREFIX}{}", &correlation[CORRELATION_PREFIX.len()..]))
}

/// `imsbridge-0123456789abcdef` → `IMSB-0123456789abcdef`; anything else (a label that only
/// resembles one) → `None`.
pub fn label_correlation(label: &str) -> Option<String> {
    let hex = label.strip_prefix(LABEL_PREFIX)?;
    let correlation = format!("{CORRELATION_PREFIX}{hex}");
    is_correlation(&correlation).then_some(correlation)
}

/// The correlation id an issue carries, if any, in the `IMSB-…` form.
pub fn correlation_of(fields: &Map<String, Value>, correlation: &Correlation) -> Option<String> {
    match correlation {
        Correlation::Label => fields
            .get("labels")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find_map(label_correlation),
        Correlation::Field(def) => fields
            .get(&def.id)?
            .as_str()
            .map(str::trim)
            .filter(|v| is_correlation(v))
            .map(str::to_string),
    }
}

// ---------------------------------------------------------------------------------------------
// Read side: issues → records
// ---------------------------------------------------------------------------------------------

/// What mapping needs beyond the issue itself.
#[derive(Debug, Clone)]
pub struct ReadContext<'a> {
    /// The configured system name (provenance, record ids).
    pub system: &'a str,
    /// The site's address without a trailing slash, for links to issues.
    pub site: &'a str,
    pub imported_at: DateTime<Utc>,
    pub catalog: &'a Catalog,
    pub bindings: &'a Bindings,
    /// The scale rating fields are read on (set whenever one is mapped).
    pub scale: Option<&'a Scale>,
    /// Issues with this label are flagged AI.
    pub ai_label: Option<&'a str>,
}

/// The status of an issue: its name kept as the label, the category from Jira's status
/// category (new → open, indeterminate → in progress, done → closed). A done status whose
/// name or resolution says it was abandoned ("Cancelled", "Won't Do", "Duplicate") is
/// cancelled rather than closed.
pub fn status_of(status: &Value, resolution: Option<&Value>) -> Option<Status> {
    let name = status.get("name")?.as_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let by_words = Status::from_label(name);
    let category_key = status
        .get("statusCategory")
        .and_then(|c| c.get("key"))
        .and_then(Value::as_str);
    let category = match category_key {
        Some("new") => StatusCategory::Open,
        Some("indeterminate") => StatusCategory::InProgress,
        Some("done") => {
            let resolution_cancelled = resolution
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|r| Status::from_label(r).category == StatusCategory::Cancelled);
            if by_words.category == StatusCategory::Cancelled || resolution_cancelled {
                StatusCategory::Cancelled
            } else {
                StatusCategory::Closed
            }
        }
        // No category (an unusual answer): the name's words decide.
        _ => by_words.category,
    };
    Some(Status {
        category,
        label: name.to_string(),
    })
}

/// A value as text, for model fields and `extra`: users by display name, options by value,
/// ADF as plain text, lists joined with `; `. `None` for what holds nothing.
pub fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.trim().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n),
        Value::Array(items) => items
            .iter()
            .filter_map(text_of)
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("doc") => {
            adf::to_text(value)
        }
        Value::Object(o) => {
            let named = ["displayName", "value", "name", "key"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str));
            match named {
                // A cascading select: parent and child.
                Some(parent) => match o.get("child").and_then(text_of) {
                    Some(child) => format!("{parent} - {child}"),
                    None => parent.trim().to_string(),
                },
                None if o.is_empty() => String::new(),
                None => value.to_string(),
            }
        }
    };
    (!text.is_empty()).then_some(text)
}

/// `3` for 3.0, `2.5` for 2.5.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) => fmt_number(f),
        None => n.to_string(),
    }
}

fn fmt_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

fn parse_datetime(text: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text.trim()))
        .ok()
}

/// A date (`2027-03-31`) or a timestamp (its date where it was recorded: Jira writes
/// timestamps in the user's zone, which is the day the user saw).
fn date_of(value: &Value) -> Option<NaiveDate> {
    let text = value.as_str()?.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_datetime(text).map(|t| t.date_naive()))
}

/// An issue's `fields.updated`, for the page cursor.
pub fn updated_of(issue: &Value) -> Option<DateTime<Utc>> {
    let text = issue.get("fields")?.get("updated")?.as_str()?;
    parse_datetime(text).map(|t| t.with_timezone(&Utc))
}

/// A rating field's value on the scale.
fn rating(
    value: &Value,
    scale: Option<&Scale>,
    path: &str,
) -> Result<Option<ScaleValue>, MapError> {
    let Some(raw) = text_of(value) else {
        return Ok(None);
    };
    let scale = scale.ok_or_else(|| MapError::new(path, "no scale to read the rating on"))?;
    scale.read_value(&raw).map(Some).ok_or_else(|| {
        MapError::new(
            path,
            format!("{raw:?} is not on the scale {}", scale.describe()),
        )
    })
}

/// Maps one issue of `stream`.
pub fn map_issue(stream: Stream, issue: &Value, ctx: &ReadContext<'_>) -> Result<Record, MapError> {
    let obj = issue
        .as_object()
        .ok_or_else(|| MapError::new("", "not a JSON object"))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(MapError::new("id", "missing: every issue has an id")),
    };
    let key = obj
        .get("key")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| MapError::new("key", "missing: every issue has a key"))?
        .to_string();
    let mut rest = obj
        .get("fields")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| MapError::new("fields", "missing: the issue has no fields"))?;
    let kind = stream.kind();

    let title = rest.get("summary").and_then(text_of).ok_or_else(|| {
        MapError::new("fields.summary", "missing or empty: a record needs a title")
    })?;
    rest.remove("summary");
    let description = rest.remove("description").and_then(|d| text_of(&d));
    let status = rest
        .remove("status")
        .and_then(|s| status_of(&s, rest.get("resolution")));
    let mut dates = Dates {
        identified: rest.remove("created").and_then(|v| date_of(&v)),
        closed: rest.remove("resolutiondate").and_then(|v| date_of(&v)),
        ..Dates::default()
    };
    // The stream is the issue type.
    rest.remove("issuetype");
    for volatile in VOLATILE {
        rest.remove(volatile);
    }

    // Mapped fields, each taken out of `rest` once used; a value the model cannot hold stays
    // in `rest`, so it reaches `extra`.
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    let mut ratings: BTreeMap<&str, ScaleValue> = BTreeMap::new();
    let mut owner = None;
    let mut clauses = Vec::new();
    let mut treatment = None;
    let mut used: Vec<String> = Vec::new();
    for (model, def) in ctx.bindings.for_kind(kind) {
        let Some(value) = rest.get(&def.id) else {
            continue;
        };
        let path = format!("fields.{}", def.id);
        match model {
            "owner" => owner = text_of(value),
            "due" => dates.due = date_of(value),
            "clauses" => {
                if let Some(text) = text_of(value) {
                    let (refs, unparsed) = ClauseRef::parse_list(&text, None);
                    clauses = refs;
                    if !unparsed.is_empty() {
                        // Kept whole in extra: what could not be read is not dropped.
                        continue;
                    }
                }
            }
            "likelihood" | "impact" | "residual_likelihood" | "residual_impact" => {
                if let Some(v) = rating(value, ctx.scale, &path)? {
                    ratings.insert(model, v);
                }
            }
            "treatment" => {
                if let Some(text) = text_of(value) {
                    match Treatment::parse(&text) {
                        Ok(t) => treatment = Some(t),
                        Err(_) => continue,
                    }
                }
            }
            other => {
                if let Some(text) = text_of(value) {
                    texts.insert(other, text);
                }
            }
        }
        used.push(def.id.clone());
    }
    for id in used {
        rest.remove(&id);
    }

    let labels: Vec<&str> = rest
        .get("labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ai = match ctx.ai_label {
        Some(wanted) if labels.iter().any(|l| l.trim() == wanted.trim()) => AiFlag {
            flagged: true,
            categories: Vec::new(),
            reason: Some(format!(
                "Jira issue labelled `{wanted}` (ai_label of system `{}`)",
                ctx.system
            )),
        },
        _ => AiFlag::default(),
    };

    let mut take = |name: &str| texts.remove(name);
    let details = match kind {
        RecordKind::Risk => Details::Risk(Box::new(RiskDetails {
            category: take("category"),
            inherent: RiskRating {
                likelihood: ratings.remove("likelihood"),
                impact: ratings.remove("impact"),
                score: None,
            },
            residual: RiskRating {
                likelihood: ratings.remove("residual_likelihood"),
                impact: ratings.remove("residual_impact"),
                score: None,
            },
            treatment,
            treatment_plan: take("treatment_plan"),
        })),
        RecordKind::Incident => Details::Incident(IncidentDetails {
            severity: take("severity"),
            category: take("category"),
            affected: take("affected"),
            resolution: take("resolution"),
        }),
        _ => {
            let nc = NonconformityDetails {
                source: take("source"),
                severity: take("severity"),
                root_cause: take("root_cause"),
                correction: take("correction"),
                corrective_action: take("corrective_action"),
                effectiveness: take("effectiveness"),
            };
            if kind == RecordKind::CorrectiveAction {
                Details::CorrectiveAction(nc)
            } else {
                Details::Nonconformity(nc)
            }
        }
    };

    let mut extra: BTreeMap<String, String> = rest
        .iter()
        .filter_map(|(id, value)| text_of(value).map(|text| (ctx.catalog.label(id), text)))
        .collect();
    // The key is what people quote, but it changes when an issue moves to another project;
    // the id does not, so the record id is derived from it and it is kept here too.
    extra.insert("Issue id".into(), id.clone());

    let mut record = Record {
        id: RecordId::from_source(ctx.system, kind, &id),
        provenance: Provenance {
            system: ctx.system.to_string(),
            connector: CONNECTOR.to_string(),
            location: format!("{}/browse/{key}", ctx.site),
            external_id: key,
            imported_at: ctx.imported_at,
            content_hash: String::new(),
        },
        title,
        description,
        owner,
        status,
        dates,
        clauses,
        hs: Vec::new(),
        ai,
        details,
        extra,
    };
    record.seal();
    Ok(record)
}

// ---------------------------------------------------------------------------------------------
// Write side: record → issue fields, and an issue → the same shape
// ---------------------------------------------------------------------------------------------

/// What the write mapping needs beyond the record.
#[derive(Debug, Clone)]
pub struct WriteContext<'a> {
    pub bindings: &'a Bindings,
    /// The scale rating fields are written on.
    pub scale: Option<&'a Scale>,
    /// Whether the status (category) is written, through a transition.
    pub transitions: bool,
}

/// The Jira status category a model status is written as; `None` for a status of no known
/// category (left as it is in Jira).
pub fn category_key(status: &Status) -> Option<&'static str> {
    match status.category {
        StatusCategory::Open => Some("new"),
        StatusCategory::InProgress => Some("indeterminate"),
        StatusCategory::Closed | StatusCategory::Cancelled => Some("done"),
        StatusCategory::Other => None,
    }
}

/// The word a treatment option is written as.
pub fn treatment_word(option: TreatmentOption) -> &'static str {
    match option {
        TreatmentOption::Modify => "Mitigate",
        TreatmentOption::Retain => "Accept",
        TreatmentOption::Avoid => "Avoid",
        TreatmentOption::Share => "Transfer",
    }
}

/// The fields written for records of `kind`, with their types: what remote issues are
/// compared on. `status` (the category) only with transitions.
pub fn write_fields(kind: RecordKind, ctx: &WriteContext<'_>) -> Vec<(String, FieldType)> {
    let mut fields = vec![
        ("summary".to_string(), FieldType::Text),
        ("description".to_string(), FieldType::Rich),
    ];
    for (model, def) in ctx.bindings.for_kind(kind) {
        if writable(model, def) && !fields.iter().any(|(id, _)| *id == def.id) {
            fields.push((def.id.clone(), def.ty));
        }
    }
    if ctx.transitions {
        fields.push((STATUS.to_string(), FieldType::Other));
    }
    fields
}

/// Whether the connector writes `model` into `def`. Ratings go to number and text fields only:
/// a select list's options are the site's own words, which a number does not name.
fn writable(model: &str, def: &FieldDef) -> bool {
    let rating = matches!(
        model,
        "likelihood" | "impact" | "residual_likelihood" | "residual_impact"
    );
    // The summary, description and status are written as such; a binding onto them would
    // write them twice.
    let reserved = matches!(
        def.id.as_str(),
        "summary" | "description" | "status" | "labels"
    );
    !reserved
        && if rating {
            matches!(def.ty, FieldType::Number | FieldType::Text)
        } else {
            def.ty.writable()
        }
}

/// A local value before it takes a field's shape.
#[derive(Debug, Clone, PartialEq)]
enum Local {
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

/// A local value in the write shape of a field of type `ty`.
fn encode(ty: FieldType, local: Option<&Local>) -> Value {
    let Some(local) = local else {
        return Value::Null;
    };
    let text = match local {
        Local::Text(s) => s.trim().to_string(),
        Local::Number(n) => fmt_number(*n),
        Local::Date(d) => d.format("%Y-%m-%d").to_string(),
    };
    if text.is_empty() {
        return Value::Null;
    }
    match (ty, local) {
        (FieldType::Number, Local::Number(n)) => json!(n),
        (FieldType::Number, _) => text.parse::<f64>().map_or(Value::Null, |n| json!(n)),
        // A single-line field: line breaks would be refused.
        (FieldType::Text, _) => json!(text.split_whitespace().collect::<Vec<_>>().join(" ")),
        (FieldType::Rich, _) => adf::from_text(&text),
        (FieldType::Date, Local::Date(_)) => json!(text),
        (FieldType::Date, _) => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string())),
        (FieldType::Option, _) => json!({"value": text}),
        (FieldType::Priority, _) => json!({"name": text}),
        _ => Value::Null,
    }
}

/// A field of an issue (read shape) in the write shape [`desired`] produces for type `ty`.
pub fn normalise(ty: FieldType, value: Option<&Value>) -> Value {
    let value = match value {
        None | Some(Value::Null) => return Value::Null,
        Some(v) => v,
    };
    match ty {
        FieldType::Text => text_of(value).map_or(Value::Null, |t| {
            json!(t.split_whitespace().collect::<Vec<_>>().join(" "))
        }),
        FieldType::Rich => adf::from_text(&text_of(value).unwrap_or_default()),
        FieldType::Number => match value {
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
            Value::String(s) => s.trim().parse::<f64>().map_or(Value::Null, |f| json!(f)),
            _ => Value::Null,
        },
        FieldType::Date => {
            date_of(value).map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Option => match value.get("value").and_then(Value::as_str) {
            Some(v) => json!({"value": v.trim()}),
            None => text_of(value).map_or(Value::Null, |t| json!({"value": t})),
        },
        FieldType::Priority => match value.get("name").and_then(Value::as_str) {
            Some(n) => json!({"name": n.trim()}),
            None => Value::Null,
        },
        _ => value.clone(),
    }
}

/// The local value of a model field of `record`, with how it was converted.
fn local_value(
    model: &str,
    record: &Record,
    ctx: &WriteContext<'_>,
) -> (Option<Local>, Option<String>) {
    let text = |s: &Option<String>| s.as_deref().map(|t| Local::Text(t.to_string()));
    let risk = match &record.details {
        Details::Risk(r) => Some(r.as_ref()),
        _ => None,
    };
    let incident = match &record.details {
        Details::Incident(i) => Some(i),
        _ => None,
    };
    match model {
        "owner" => (text(&record.owner), None),
        "due" => (record.dates.due.map(Local::Date), None),
        "clauses" => {
            let joined = record
                .clauses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            ((!joined.is_empty()).then_some(Local::Text(joined)), None)
        }
        "likelihood" | "impact" | "residual_likelihood" | "residual_impact" => {
            let Some(risk) = risk else {
                return (None, None);
            };
            let value = match model {
                "likelihood" => &risk.inherent.likelihood,
                "impact" => &risk.inherent.impact,
                "residual_likelihood" => &risk.residual.likelihood,
                _ => &risk.residual.impact,
            };
            match (value, ctx.scale) {
                (Some(v), Some(scale)) if v.normalised.is_finite() => {
                    // The level of the scale nearest to the normalised value.
                    let level = scale.levels().iter().min_by(|a, b| {
                        (a.normalised - v.normalised)
                            .abs()
                            .total_cmp(&(b.normalised - v.normalised).abs())
                    });
                    match level {
                        Some(level) => (
                            Some(Local::Number(level.value)),
                            Some(format!(
                                "{} (1-5) → {} on {}",
                                fmt_number(v.normalised),
                                fmt_number(level.value),
                                scale.id()
                            )),
                        ),
                        None => (None, None),
                    }
                }
                _ => (None, None),
            }
        }
        "treatment" => (
            risk.and_then(|r| r.treatment.as_ref())
                .map(|t| Local::Text(treatment_word(t.option).to_string())),
            None,
        ),
        "treatment_plan" => (
            risk.and_then(|r| r.treatment_plan.clone()).map(Local::Text),
            None,
        ),
        "category" => match (&risk, &incident) {
            (Some(r), _) => (text(&r.category), None),
            (_, Some(i)) => (text(&i.category), None),
            _ => (None, None),
        },
        "severity" => (
            incident.and_then(|i| i.severity.clone()).map(Local::Text),
            None,
        ),
        "affected" => (
            incident.and_then(|i| i.affected.clone()).map(Local::Text),
            None,
        ),
        "resolution" => (
            incident.and_then(|i| i.resolution.clone()).map(Local::Text),
            None,
        ),
        _ => (None, None),
    }
}

/// The fields an issue should hold for `record`, in the write shape (Jira field ids as keys,
/// `status` holding the status category when transitions are on), with the conversions a plan
/// shows. `Err`: why the record cannot be written.
pub fn desired(record: &Record, ctx: &WriteContext<'_>) -> Result<Desired, String> {
    let kind = record.kind();
    if !matches!(kind, RecordKind::Risk | RecordKind::Incident) {
        return Err(format!(
            "Jira takes risk and incident records only, not {kind}"
        ));
    }
    let title = record
        .title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if title.is_empty() {
        return Err("the record has no title, and a Jira issue needs a summary".to_string());
    }
    let mut fields = FieldMap::new();
    let mut conversions = Vec::new();
    let summary = if title.chars().count() > MAX_SUMMARY {
        let cut: String = title.chars().take(MAX_SUMMARY - 1).collect();
        let cut = format!("{}…", cut.trim_end());
        conversions.push(Conversion {
            field: "summary".into(),
            from: format!("a title of {} characters", title.chars().count()),
            to: format!("cut to {MAX_SUMMARY}, Jira's limit for a summary"),
        });
        cut
    } else {
        title
    };
    fields.insert("summary".into(), json!(summary));
    fields.insert(
        "description".into(),
        adf::from_text(record.description.as_deref().unwrap_or("")),
    );
    for (model, def) in ctx.bindings.for_kind(kind) {
        let (local, how) = local_value(model, record, ctx);
        if !writable(model, def) {
            if local.is_some() {
                conversions.push(Conversion {
                    field: model.to_string(),
                    from: "the local value".into(),
                    to: format!("not written: {} is {}", def.describe(), def.ty.describe()),
                });
            }
            continue;
        }
        if let Some(how) = how {
            conversions.push(Conversion {
                field: def.id.clone(),
                from: model.to_string(),
                to: format!("{how} ({})", def.describe()),
            });
        }
        fields.insert(def.id.clone(), encode(def.ty, local.as_ref()));
    }
    if ctx.transitions
        && let Some(status) = &record.status
    {
        match category_key(status) {
            Some(key) => {
                fields.insert(STATUS.into(), json!(key));
                conversions.push(Conversion {
                    field: STATUS.into(),
                    from: format!("{} ({:?})", status.label, status.category),
                    to: format!("a status of the Jira category `{key}`, by a transition"),
                });
            }
            None => conversions.push(Conversion {
                field: STATUS.into(),
                from: status.label.clone(),
                to: "not written: the status falls in no category".into(),
            }),
        }
    }
    Ok(Desired {
        fields,
        conversions,
    })
}

/// An issue (search item or `GET issue` answer) as a [`RemoteRecord`] whose fields have the
/// shape [`desired`] produces; `correlation` in the `IMSB-…` form.
pub fn remote_record(
    issue: &Value,
    kind: RecordKind,
    ctx: &WriteContext<'_>,
    correlation: &Correlation,
) -> Result<RemoteRecord, MapError> {
    let remote_id = match issue.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(MapError::new("id", "missing")),
    };
    let fields = issue
        .get("fields")
        .and_then(Value::as_object)
        .ok_or_else(|| MapError::new("fields", "missing"))?;
    let mut shaped = FieldMap::new();
    for (id, ty) in write_fields(kind, ctx) {
        let value = if id == STATUS {
            fields
                .get("status")
                .and_then(|s| s.get("statusCategory"))
                .and_then(|c| c.get("key"))
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            normalise(ty, fields.get(&id))
        };
        shaped.insert(id, value);
    }
    Ok(RemoteRecord {
        remote_id,
        correlation: correlation_of(fields, correlation),
        version: fields
            .get("updated")
            .and_then(Value::as_str)
            .map(str::to_string),
        fields: shaped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::new(vec![
            FieldDef {
                id: "customfield_10050".into(),
                name: "Likelihood".into(),
                ty: FieldType::Number,
            },
            FieldDef {
                id: "customfield_10052".into(),
                name: "Treatment".into(),
                ty: FieldType::Option,
            },
            FieldDef {
                id: "customfield_10053".into(),
                name: "Treatment plan".into(),
                ty: FieldType::Rich,
            },
        ])
    }

    #[test]
    fn status_categories_map_and_keep_the_name() {
        let s = |name: &str, key: &str| json!({"name": name, "statusCategory": {"key": key}});
        let cat = |v: Value, r: Option<Value>| status_of(&v, r.as_ref()).unwrap().category;
        assert_eq!(cat(s("Triage", "new"), None), StatusCategory::Open);
        assert_eq!(
            cat(s("Containment", "indeterminate"), None),
            StatusCategory::InProgress
        );
        assert_eq!(cat(s("Verified", "done"), None), StatusCategory::Closed);
        assert_eq!(cat(s("Cancelled", "done"), None), StatusCategory::Cancelled);
        assert_eq!(
            cat(s("Done", "done"), Some(json!({"name": "Won't Do"}))),
            StatusCategory::Cancelled
        );
        assert_eq!(cat(json!({"name": "Parked"}), None), StatusCategory::Other);
        let label = status_of(&s("Awaiting CAB", "indeterminate"), None)
            .unwrap()
            .label;
        assert_eq!(label, "Awaiting CAB");
        assert_eq!(status_of(&json!({}), None), None);
        assert_eq!(category_key(&Status::from_label("Rejected")), Some("done"));
        assert_eq!(category_key(&Status::from_label("Parked")), None);
    }

    #[test]
    fn the_read_shape_normalises_to_the_write_shape() {
        let fields: BTreeMap<String, String> = [
            ("likelihood".to_string(), "Likelihood".to_string()),
            ("treatment".into(), "Treatment".into()),
            ("treatment_plan".into(), "Treatment plan".into()),
        ]
        .into();
        let bindings = Bindings::resolve(&fields, &catalog()).unwrap();
        let scale = crate::config::rating_scale("1-5").unwrap();
        let ctx = WriteContext {
            bindings: &bindings,
            scale: Some(&scale),
            transitions: true,
        };
        let mut record = Record {
            id: RecordId::from_source("erm", RecordKind::Risk, "R-1"),
            provenance: Provenance {
                system: "erm".into(),
                connector: "spreadsheet".into(),
                external_id: "R-1".into(),
                location: "x".into(),
                imported_at: Utc::now(),
                content_hash: String::new(),
            },
            title: "  Model  drift\n".into(),
            description: Some("Line one\nline two\n\nSecond".into()),
            owner: Some("Dana".into()),
            status: Some(Status::from_label("In progress")),
            dates: Dates {
                due: NaiveDate::from_ymd_opt(2026, 6, 30),
                ..Dates::default()
            },
            clauses: vec![],
            hs: vec![],
            ai: AiFlag::default(),
            details: Details::Risk(Box::new(RiskDetails {
                inherent: RiskRating {
                    likelihood: Some(ScaleValue {
                        raw: "High".into(),
                        scale: "low-medium-high".into(),
                        value: 3.0,
                        normalised: 4.1,
                    }),
                    ..RiskRating::default()
                },
                treatment: Treatment::parse("reduce").ok(),
                treatment_plan: Some("Retrain monthly".into()),
                ..RiskDetails::default()
            })),
            extra: BTreeMap::new(),
        };
        record.seal();
        let desired = desired(&record, &ctx).unwrap();
        let f = &desired.fields;
        assert_eq!(f["summary"], json!("Model drift"));
        assert_eq!(f["duedate"], json!("2026-06-30"));
        assert_eq!(f["customfield_10050"], json!(4.0));
        assert_eq!(f["customfield_10052"], json!({"value": "Mitigate"}));
        assert_eq!(f["status"], json!("indeterminate"));
        assert!(!f.contains_key("assignee"), "owners are not written");
        assert!(
            desired
                .conversions
                .iter()
                .any(|c| c.field == "owner" && c.to.contains("Assignee is a user field")),
            "{:?}",
            desired.conversions
        );
        let likelihood = desired
            .conversions
            .iter()
            .find(|c| c.field == "customfield_10050")
            .unwrap();
        assert_eq!(
            likelihood.to,
            "4.1 (1-5) → 4 on 1-5 (Likelihood (customfield_10050))"
        );

        // The same values as Jira answers them: objects, 4 instead of 4.0, a reformatted
        // document, a timestamp-free date, the status with its category.
        let issue = json!({"id": "10001", "key": "CAPA-1", "fields": {
            "summary": "Model drift ",
            "description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "Line one"}, {"type": "hardBreak"},
                    {"type": "text", "text": "line two "}]},
                {"type": "paragraph", "content": []},
                {"type": "paragraph", "content": [{"type": "text", "text": "Second"}]}]},
            "duedate": "2026-06-30",
            "customfield_10050": 4,
            "customfield_10052": {"self": "https://x/rest/api/3/customFieldOption/1", "value": "Mitigate", "id": "1"},
            "customfield_10053": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Retrain monthly"}]}]},
            "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            "labels": ["ai", "imsbridge-0123456789abcdeg", "imsbridge-0123456789abcdef"],
            "updated": "2026-03-01T10:00:00.000+0100",
        }});
        let remote = remote_record(&issue, RecordKind::Risk, &ctx, &Correlation::Label).unwrap();
        assert_eq!(remote.fields, desired.fields);
        assert_eq!(remote.remote_id, "10001");
        assert_eq!(remote.correlation.as_deref(), Some("IMSB-0123456789abcdef"));
        assert_eq!(
            remote.version.as_deref(),
            Some("2026-03-01T10:00:00.000+0100")
        );
        assert_eq!(label_correlation("imsbridge-0123456789ABCDEF"), None);
        assert_eq!(
            correlation_label("IMSB-0123456789abcdef").as_deref(),
            Some("imsbridge-0123456789abcdef")
        );
        assert_eq!(correlation_label("IMSB-0123"), None);
    }
}
