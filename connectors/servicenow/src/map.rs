//! Pure functions to and from the unified model: Table API rows (read with
//! `sysparm_display_value=false`, so raw values: choice keys, reference sys_ids, UTC
//! timestamps as `YYYY-MM-DD HH:MM:SS`) → [`Record`]s, a local risk → the fields written, and a
//! row of the write table → the same write shape, so that a plan compares like with like.
//! No I/O here.
//!
//! Kinds, and why:
//! - risks (`sn_risk_risk`) → Risk.
//! - controls (`sn_compliance_control`) → Control.
//! - control objectives (`sn_compliance_policy_statement`) → Control: a control objective is
//!   the statement a control is generated from (the content layer of ServiceNow's GRC), i.e.
//!   the requirement side of a Statement of Applicability line. It carries no conformity
//!   result, so it is no RequirementAssessment, and no measurable target, so no Objective.
//! - issues (`sn_grc_issue`) → Nonconformity: GRC issues are raised from failed controls,
//!   attestations and audits, and carry the remediation (CAPA).
//! - audit engagements (`sn_audit_engagement`) → Document (`document_type` "audit
//!   engagement"): an engagement is the audit itself, the documented information of the audit
//!   programme, not a finding; its findings are issues in `sn_grc_issue` and come through the
//!   issues stream. Counting engagements as findings would inflate every finding count.
//! - security incidents (`sn_si_incident`) → Incident.
//!
//! References (owners, entities, assignment groups) arrive as sys_ids and are kept in `extra`
//! under their field names: turning them into names would cost a request per user.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use imsbridge_connector::{Conversion, Desired, FieldMap, RemoteRecord};
use imsbridge_model::{
    AiFlag, ClauseRef, ControlDetails, Dates, Details, DocumentDetails, ImplementationStatus,
    IncidentDetails, NonconformityDetails, Provenance, Record, RecordId, RecordKind, RiskDetails,
    RiskRating, ScaleValue, Status, StatusCategory, Treatment, TreatmentOption,
};
use serde_json::{Map, Value, json};

use crate::config::Config;

/// The connector's name in provenance.
pub const CONNECTOR: &str = "servicenow";

/// The prefix of the correlation ids the bridge writes.
pub const CORRELATION_PREFIX: &str = "IMSB-";

/// The scale id of likelihood and impact read from ServiceNow (1–5, the platform default).
pub const SCALE_1_5: &str = "servicenow:1-5";

/// The scale id of scores read from ServiceNow (likelihood × impact, 1–25).
pub const SCALE_SCORE: &str = "servicenow:score-1-25";

/// The streams ServiceNow offers, one per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Risks,
    Controls,
    ControlObjectives,
    Issues,
    Audits,
    Incidents,
}

impl Stream {
    pub const ALL: [Stream; 6] = [
        Stream::Risks,
        Stream::Controls,
        Stream::ControlObjectives,
        Stream::Issues,
        Stream::Audits,
        Stream::Incidents,
    ];

    /// The stream's name in configuration (`read = ["risks"]`).
    pub fn name(self) -> &'static str {
        match self {
            Stream::Risks => "risks",
            Stream::Controls => "controls",
            Stream::ControlObjectives => "control_objectives",
            Stream::Issues => "issues",
            Stream::Audits => "audits",
            Stream::Incidents => "incidents",
        }
    }

    pub fn kind(self) -> RecordKind {
        match self {
            Stream::Risks => RecordKind::Risk,
            Stream::Controls | Stream::ControlObjectives => RecordKind::Control,
            Stream::Issues => RecordKind::Nonconformity,
            Stream::Audits => RecordKind::Document,
            Stream::Incidents => RecordKind::Incident,
        }
    }

    /// The configuration key naming the stream's table, and the table.
    pub fn table(self, config: &Config) -> (&'static str, &str) {
        let tables = config.tables();
        let index = Stream::ALL.iter().position(|s| *s == self).unwrap_or(0);
        tables
            .get(index)
            .copied()
            .unwrap_or(("risk_table", &config.risk_table))
    }

    pub fn from_name(name: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Task-derived tables (a number, a short description, numeric states) as opposed to GRC
    /// items (a name, word states).
    fn is_task(self) -> bool {
        matches!(self, Stream::Issues | Stream::Audits | Stream::Incidents)
    }

    /// The fields the mapping uses, for `sysparm_fields` when `read_fields` narrows a read.
    pub fn mapped_fields(self) -> &'static [&'static str] {
        match self {
            Stream::Risks => &[
                "name",
                "short_description",
                "description",
                "category",
                "response",
                "state",
                "inherent_likelihood",
                "inherent_impact",
                "inherent_score",
                "residual_likelihood",
                "residual_impact",
                "residual_score",
            ],
            Stream::Controls => &[
                "name",
                "short_description",
                "description",
                "state",
                "status",
            ],
            Stream::ControlObjectives => &[
                "name",
                "short_description",
                "description",
                "state",
                "reference",
            ],
            Stream::Issues => &[
                "number",
                "short_description",
                "description",
                "state",
                "priority",
                "recommendation",
                "root_cause",
                "opened_at",
                "due_date",
                "closed_at",
            ],
            Stream::Audits => &[
                "number",
                "short_description",
                "name",
                "description",
                "state",
                "opened_at",
                "due_date",
                "closed_at",
            ],
            Stream::Incidents => &[
                "number",
                "short_description",
                "description",
                "state",
                "severity",
                "category",
                "close_notes",
                "opened_at",
                "closed_at",
            ],
        }
    }
}

/// Why an object could not be mapped (shared by every connector).
pub use imsbridge_connector::MapError;

/// What mapping needs beyond the row.
#[derive(Debug, Clone)]
pub struct ReadContext<'a> {
    /// The configured system name (provenance, record ids).
    pub system: &'a str,
    pub imported_at: DateTime<Utc>,
    /// The table the row came from.
    pub table: &'a str,
    /// The field holding the bridge's correlation id (risks carrying one are AI risks).
    pub correlation_field: &'a str,
    /// The instance's base URL without the trailing slash, for links to records.
    pub base_url: &'a str,
}

/// A row's `sys_id`, if it has a usable one.
pub fn sys_id(row: &Value) -> Option<&str> {
    row.get("sys_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A ServiceNow timestamp (`2026-01-02 10:00:00`, UTC with `sysparm_display_value=false`).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// The timestamp format of encoded queries: whole seconds, which also rounds a bound down
/// and keeps it inclusive.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A row's `sys_updated_on`, for the page cursor.
pub fn updated_on(row: &Value) -> Option<DateTime<Utc>> {
    row.get("sys_updated_on")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
}

/// Maps one row of `stream`.
pub fn map_row(stream: Stream, row: &Value, ctx: &ReadContext<'_>) -> Result<Record, MapError> {
    let obj = row
        .as_object()
        .ok_or_else(|| MapError::new("", "not a JSON object"))?;
    let id = sys_id(row)
        .ok_or_else(|| MapError::new("sys_id", "missing: every ServiceNow row has a sys_id"))?
        .to_string();
    let mut f = Fields::new(obj);
    f.take("sys_id");
    let title_fields: &[&str] = if stream.is_task() {
        &["short_description", "name", "number"]
    } else {
        &["name", "short_description", "number"]
    };
    let title = title_fields
        .iter()
        .find_map(|key| f.take_str(key))
        .ok_or_else(|| {
            MapError::new(
                title_fields.first().copied().unwrap_or("name"),
                format!(
                    "missing or empty: a record needs a title ({} are all empty)",
                    title_fields.join(", ")
                ),
            )
        })?;
    let mut d = Draft {
        description: f.take_str("description"),
        status: f.take_str("state").map(|s| state(stream, &s)),
        dates: Dates::default(),
        clauses: Vec::new(),
        ai: AiFlag::default(),
    };
    // Creation is when a GRC item was identified; tasks say when they were opened.
    d.dates.identified = f
        .take_date("opened_at")
        .or_else(|| f.peek_str("sys_created_on").and_then(parse_date));
    let details = match stream {
        Stream::Risks => risk(&mut f, &mut d, ctx),
        Stream::Controls => control(&mut f),
        Stream::ControlObjectives => control_objective(&mut f, &mut d),
        Stream::Issues => issue(&mut f, &mut d),
        Stream::Audits => audit(&mut f, &mut d, ctx, &id),
        Stream::Incidents => incident(&mut f, &mut d),
    };
    let kind = stream.kind();
    let mut record = Record {
        id: RecordId::from_source(ctx.system, kind, &id),
        provenance: Provenance {
            system: ctx.system.to_string(),
            connector: CONNECTOR.to_string(),
            location: format!("/api/now/table/{}/{id}", ctx.table),
            external_id: id,
            imported_at: ctx.imported_at,
            content_hash: String::new(),
        },
        title,
        description: d.description,
        owner: None,
        status: d.status,
        dates: d.dates,
        clauses: d.clauses,
        hs: Vec::new(),
        ai: d.ai,
        details,
        extra: f.into_extra(),
    };
    record.seal();
    Ok(record)
}

/// The common fields while a row is mapped.
struct Draft {
    description: Option<String>,
    status: Option<Status>,
    dates: Dates,
    clauses: Vec<ClauseRef>,
    ai: AiFlag,
}

fn risk(f: &mut Fields, d: &mut Draft, ctx: &ReadContext<'_>) -> Details {
    let rating = |f: &mut Fields, prefix: &str| RiskRating {
        likelihood: f.take_rating(&format!("{prefix}_likelihood"), 5.0, SCALE_1_5),
        impact: f.take_rating(&format!("{prefix}_impact"), 5.0, SCALE_1_5),
        score: f.take_rating(&format!("{prefix}_score"), 25.0, SCALE_SCORE),
    };
    let inherent = rating(f, "inherent");
    let residual = rating(f, "residual");
    // `response` is the chosen treatment (accept, avoid, mitigate, transfer); a word the
    // model does not know stays in extra.
    let treatment = match f.peek_str("response").map(|r| Treatment::parse(&r)) {
        Some(Ok(t)) => {
            f.take("response");
            Some(t)
        }
        _ => None,
    };
    // The correlation id stays in extra (it is a field of the row like any other); it marks
    // the risks this bridge wrote as AI risks.
    if let Some(corr) = f
        .peek_str(ctx.correlation_field)
        .filter(|c| c.starts_with(CORRELATION_PREFIX))
    {
        d.ai = AiFlag {
            flagged: true,
            categories: Vec::new(),
            reason: Some(format!(
                "written to ServiceNow by imsbridge as an AI risk (correlation id {corr} in {})",
                ctx.correlation_field
            )),
        };
    }
    Details::Risk(Box::new(RiskDetails {
        category: f.take_str("category"),
        inherent,
        residual,
        treatment,
        treatment_plan: None,
    }))
}

fn control(f: &mut Fields) -> Details {
    // `status` is the control's compliance verdict; only the two that say something about
    // applicability and implementation are mapped, the rest stays in extra.
    let (applicable, implementation) = match f.peek_str("status").as_deref() {
        Some("compliant") => (Some(true), Some(ImplementationStatus::Implemented)),
        Some("not_applicable") => (Some(false), Some(ImplementationStatus::NotApplicable)),
        _ => (None, None),
    };
    if implementation.is_some() {
        f.take("status");
    }
    Details::Control(ControlDetails {
        applicable,
        justification: None,
        implementation,
        evidence: None,
    })
}

fn control_objective(f: &mut Fields, d: &mut Draft) -> Details {
    // A reference the model reads as a clause (`ISO/IEC 27001:2022 A.5.1`) becomes one;
    // anything else stays in extra.
    if let Some(clause) = f
        .peek_str("reference")
        .and_then(|r| ClauseRef::parse(&r, None).ok())
    {
        d.clauses.push(clause);
        f.take("reference");
    }
    Details::Control(ControlDetails::default())
}

fn issue(f: &mut Fields, d: &mut Draft) -> Details {
    d.dates.due = f.take_date("due_date");
    d.dates.closed = f.take_date("closed_at");
    Details::Nonconformity(NonconformityDetails {
        source: None,
        severity: f.take_str("priority").map(|p| priority(&p)),
        root_cause: f.take_str("root_cause"),
        correction: None,
        corrective_action: f.take_str("recommendation"),
        effectiveness: None,
    })
}

fn audit(f: &mut Fields, d: &mut Draft, ctx: &ReadContext<'_>, id: &str) -> Details {
    d.dates.due = f.take_date("due_date");
    d.dates.closed = f.take_date("closed_at");
    Details::Document(DocumentDetails {
        document_type: Some("audit engagement".into()),
        version: None,
        // The engagement's form in the instance: where its documented information lives.
        link: Some(format!("{}/{}.do?sys_id={id}", ctx.base_url, ctx.table)),
        approver: None,
    })
}

fn incident(f: &mut Fields, d: &mut Draft) -> Details {
    d.dates.closed = f.take_date("closed_at");
    Details::Incident(IncidentDetails {
        severity: f.take_str("severity").map(|s| match s.as_str() {
            "1" => "1 - High".to_string(),
            "2" => "2 - Medium".to_string(),
            "3" => "3 - Low".to_string(),
            _ => s,
        }),
        category: f.take_str("category"),
        affected: None,
        resolution: f.take_str("close_notes"),
    })
}

/// Task priorities by their platform labels.
fn priority(raw: &str) -> String {
    let label = match raw {
        "1" => "Critical",
        "2" => "High",
        "3" => "Moderate",
        "4" => "Low",
        "5" => "Planning",
        _ => return raw.to_string(),
    };
    format!("{raw} - {label}")
}

/// A raw `state` as a status. Task tables store numbers (the task base states, and the
/// security incident's own phases); GRC items store words. A code not known here keeps the
/// code as its label, in the category `other`.
pub fn state(stream: Stream, raw: &str) -> Status {
    use StatusCategory::*;
    let known: Option<(StatusCategory, &str)> = if stream.is_task() {
        match (stream, raw) {
            (Stream::Incidents, "10") => Some((Open, "Draft")),
            (Stream::Incidents, "16") => Some((InProgress, "Analysis")),
            (Stream::Incidents, "18") => Some((InProgress, "Contain")),
            (Stream::Incidents, "19") => Some((InProgress, "Eradicate")),
            (Stream::Incidents, "20") => Some((InProgress, "Recover")),
            (Stream::Incidents, "100") => Some((InProgress, "Review")),
            (Stream::Incidents, "3") => Some((Closed, "Closed")),
            (Stream::Incidents, "7") => Some((Cancelled, "Cancelled")),
            (_, "1") => Some((Open, "Open")),
            (_, "2") => Some((InProgress, "Work in Progress")),
            (_, "-5") => Some((InProgress, "Pending")),
            (_, "3") => Some((Closed, "Closed Complete")),
            (_, "4") => Some((Closed, "Closed Incomplete")),
            (_, "7") => Some((Cancelled, "Closed Skipped")),
            _ => None,
        }
    } else {
        match raw {
            "draft" => Some((Open, "draft")),
            "assess" | "attest" | "analyze" | "respond" | "review" | "monitor" => {
                Some((InProgress, raw))
            }
            "retired" => Some((Closed, "retired")),
            _ => None,
        }
    };
    match known {
        Some((category, label)) => Status {
            category,
            label: label.to_string(),
        },
        None if stream.is_task() => Status {
            category: Other,
            label: raw.to_string(),
        },
        None => Status::from_label(raw),
    }
}

fn parse_date(text: String) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_timestamp(text).map(|t| t.date_naive()))
}

/// The fields of one row not mapped yet; what is left at the end goes to `extra`.
struct Fields {
    rest: Map<String, Value>,
}

impl Fields {
    fn new(obj: &Map<String, Value>) -> Fields {
        Fields { rest: obj.clone() }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    /// A non-empty text, trimmed, without taking it.
    fn peek_str(&self, key: &str) -> Option<String> {
        match self.rest.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        }
    }

    /// A non-empty text, trimmed. Empty texts and nulls are taken too (they hold nothing);
    /// other types stay in place and end up in extra.
    fn take_str(&mut self, key: &str) -> Option<String> {
        match self.rest.get(key) {
            Some(Value::String(s)) => {
                let text = s.trim().to_string();
                self.rest.remove(key);
                (!text.is_empty()).then_some(text)
            }
            Some(Value::Null) => {
                self.rest.remove(key);
                None
            }
            _ => None,
        }
    }

    /// A date (`2027-03-31`) or timestamp (`2027-03-31 09:30:00`, its date).
    fn take_date(&mut self, key: &str) -> Option<NaiveDate> {
        let date = parse_date(self.peek_str(key)?)?;
        self.rest.remove(key);
        Some(date)
    }

    /// A rating between 1 and `max` (a number or a numeric text). Anything else — an
    /// instance rating on a custom scale, a reference to a criteria table — stays in extra.
    fn take_rating(&mut self, key: &str, max: f64, scale: &str) -> Option<ScaleValue> {
        let raw = match self.rest.get(key)? {
            Value::String(s) if s.trim().is_empty() => {
                self.rest.remove(key);
                return None;
            }
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let value: f64 = raw.parse().ok().filter(|v: &f64| (1.0..=max).contains(v))?;
        self.rest.remove(key);
        Some(ScaleValue {
            raw,
            scale: scale.to_string(),
            value,
            normalised: value,
        })
    }

    fn into_extra(self) -> BTreeMap<String, String> {
        self.rest
            .into_iter()
            .filter_map(|(k, v)| render(&v).map(|text| (k, text)))
            .collect()
    }
}

/// A value as text for `extra`; `None` for what holds nothing (null, "").
fn render(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        // A reference with its link (when sysparm_exclude_reference_link is not honoured).
        Value::Object(o) => match o.get("value").and_then(Value::as_str) {
            Some(v) => Some(v.to_string()),
            None => Some(value.to_string()),
        },
        Value::Array(_) => Some(value.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Write side: record → fields, and a row of the write table → the same shape
// ---------------------------------------------------------------------------------------------

/// The `response` choice of a local treatment ("" when none was decided).
pub fn response_choice(treatment: Option<&Treatment>) -> &'static str {
    match treatment.map(|t| t.option) {
        Some(TreatmentOption::Modify) => "mitigate",
        Some(TreatmentOption::Retain) => "accept",
        Some(TreatmentOption::Avoid) => "avoid",
        Some(TreatmentOption::Share) => "transfer",
        None => "",
    }
}

/// The fields the write table should hold for `record`: exactly `write_fields`, in the
/// target's names. The correlation id is not among them: it is written once, on create, and
/// never changes.
pub fn desired(record: &Record, write_fields: &[String]) -> Result<Desired, String> {
    let Details::Risk(risk) = &record.details else {
        return Err(format!(
            "ServiceNow takes risk records only, not {}",
            record.kind()
        ));
    };
    let title = record.title.trim();
    if title.is_empty() {
        return Err("the record has no title, and a ServiceNow risk needs a name".into());
    }
    let mut fields = FieldMap::new();
    let mut conversions = Vec::new();
    for field in write_fields {
        let value = match field.as_str() {
            "name" | "short_description" => title.to_string(),
            "description" => record
                .description
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_string(),
            "category" => risk
                .category
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .to_string(),
            "response" => {
                let choice = response_choice(risk.treatment.as_ref());
                conversions.push(Conversion {
                    field: "response".into(),
                    from: risk
                        .treatment
                        .as_ref()
                        .map(|t| format!("{} ({})", t.label, t.option.as_str()))
                        .unwrap_or_else(|| "no treatment".into()),
                    to: if choice.is_empty() {
                        "\"\" (no response chosen)".into()
                    } else {
                        format!("{choice:?}")
                    },
                });
                choice.to_string()
            }
            // Validated against MAPPABLE_WRITE_FIELDS when the configuration was read.
            other => return Err(format!("`{other}` is not a field this connector writes")),
        };
        fields.insert(field.clone(), json!(value));
    }
    Ok(Desired {
        fields,
        conversions,
    })
}

/// A row of the write table (a Table API answer) as a [`RemoteRecord`] whose fields have the
/// shape [`desired`] produces: texts trimmed, empty and null alike as "".
pub fn remote_record(
    row: &Value,
    correlation_field: &str,
    write_fields: &[String],
) -> Result<RemoteRecord, MapError> {
    let obj = row
        .as_object()
        .ok_or_else(|| MapError::new("", "not a JSON object"))?;
    let remote_id = sys_id(row)
        .ok_or_else(|| MapError::new("sys_id", "missing"))?
        .to_string();
    let correlation = obj
        .get(correlation_field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| c.starts_with(CORRELATION_PREFIX))
        .map(str::to_string);
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::trim);
    // sys_updated_on has one-second resolution: two edits in the same second would share it,
    // so the modification count goes with it where the table has one.
    let version = match (text("sys_updated_on"), text("sys_mod_count")) {
        (Some(at), Some(count)) if !count.is_empty() => Some(format!("{at}#{count}")),
        (Some(at), _) => Some(at.to_string()),
        (None, _) => None,
    };
    let mut fields = FieldMap::new();
    for key in write_fields {
        let value = match obj.get(key.as_str()) {
            None => continue,
            Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(other) => render(other).unwrap_or_default(),
        };
        fields.insert(key.clone(), json!(value));
    }
    Ok(RemoteRecord {
        remote_id,
        correlation,
        version,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ReadContext<'static> {
        ReadContext {
            system: "snow",
            imported_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            table: "sn_risk_risk",
            correlation_field: "u_imsbridge_id",
            base_url: "https://x.service-now.com",
        }
    }

    #[test]
    fn ratings_in_range_are_read_the_rest_is_kept() {
        let row = json!({
            "sys_id": "a1", "name": "Model drift", "inherent_likelihood": "4",
            "inherent_impact": 5, "inherent_score": "20", "residual_likelihood": "7",
            "residual_impact": "", "residual_score": "6b0c1d", "response": "Mitigate",
            "state": "monitor", "category": "", "u_imsbridge_id": "IMSB-0011223344556677",
        });
        let r = map_row(Stream::Risks, &row, &ctx()).unwrap();
        let Details::Risk(risk) = &r.details else {
            panic!("not a risk")
        };
        assert_eq!(risk.inherent.likelihood.as_ref().unwrap().normalised, 4.0);
        assert_eq!(risk.inherent.impact.as_ref().unwrap().raw, "5");
        assert_eq!(risk.inherent.score.as_ref().unwrap().scale, SCALE_SCORE);
        assert!(risk.residual.is_empty());
        assert_eq!(r.extra["residual_likelihood"], "7");
        assert_eq!(r.extra["residual_score"], "6b0c1d");
        assert!(!r.extra.contains_key("residual_impact") && !r.extra.contains_key("category"));
        assert_eq!(
            risk.treatment.as_ref().unwrap().option,
            TreatmentOption::Modify
        );
        assert_eq!(
            r.status.as_ref().unwrap().category,
            StatusCategory::InProgress
        );
        assert!(r.ai.flagged);
        assert_eq!(r.extra["u_imsbridge_id"], "IMSB-0011223344556677");
    }

    #[test]
    fn states_by_table_kind() {
        assert_eq!(state(Stream::Incidents, "18").label, "Contain");
        assert_eq!(state(Stream::Issues, "3").category, StatusCategory::Closed);
        assert_eq!(
            state(Stream::Issues, "7").category,
            StatusCategory::Cancelled
        );
        let odd = state(Stream::Audits, "42");
        assert_eq!(
            (odd.category, odd.label.as_str()),
            (StatusCategory::Other, "42")
        );
        assert_eq!(
            state(Stream::Risks, "retired").category,
            StatusCategory::Closed
        );
        assert_eq!(
            state(Stream::Controls, "draft").category,
            StatusCategory::Open
        );
    }

    #[test]
    fn read_shape_equals_write_shape() {
        let fields: Vec<String> = ["name", "description", "response"]
            .map(String::from)
            .to_vec();
        let row = json!({
            "sys_id": "b2", "name": " Bias ", "description": null, "response": "mitigate",
            "sys_updated_on": "2026-01-02 10:00:00", "sys_mod_count": "3",
            "u_imsbridge_id": "IMSB-1",
        });
        let remote = remote_record(&row, "u_imsbridge_id", &fields).unwrap();
        assert_eq!(remote.version.as_deref(), Some("2026-01-02 10:00:00#3"));
        assert_eq!(remote.correlation.as_deref(), Some("IMSB-1"));
        assert_eq!(
            remote.fields,
            FieldMap::from([
                ("name".into(), json!("Bias")),
                ("description".into(), json!("")),
                ("response".into(), json!("mitigate")),
            ])
        );
        assert_eq!(
            format_timestamp(parse_timestamp("2026-01-02 10:00:59").unwrap()),
            "2026-01-02 10:00:59"
        );
    }
}
