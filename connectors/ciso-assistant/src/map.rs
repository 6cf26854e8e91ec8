//! Pure functions to and from the unified model: CISO Assistant objects (as the API returns
//! them) → [`Record`]s, a local risk → the fields of a risk scenario in the API's **write
//! shape**, and a risk scenario in the **read shape** → the same write shape, so that a plan
//! compares like with like. No I/O here: what needs a request (risk matrices, requirement
//! nodes) is fetched by the client and passed in.
//!
//! Read shape and write shape: a `GET` expands relations to `{"id", "str"}` objects and ratings
//! to `{"value", "name", …}` objects; `POST`/`PATCH` bodies and their answers use bare UUIDs
//! and plain integers. Ratings are 0-based indexes into the risk matrix's lists, `-1` meaning
//! "not rated".

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_connector::{Conversion, Desired, FieldMap, RemoteRecord, correlation_id};
use imsbridge_model::{
    AiFlag, AuditFindingDetails, ClauseRef, Conformity, ControlDetails, Dates, Details,
    DocumentDetails, ImplementationStatus, IncidentDetails, Provenance, Record, RecordId,
    RecordKind, RequirementAssessmentDetails, RiskDetails, RiskRating, ScaleValue, StandardId,
    Status, Treatment, TreatmentOption,
};
use serde_json::{Map, Value, json};

/// The connector's name in provenance.
pub const CONNECTOR: &str = "ciso-assistant";

/// The correlation prefix the bridge writes into `ref_id`.
pub const CORRELATION_PREFIX: &str = "IMSB-";

/// The risk scenario fields the bridge writes, in the write shape. A remote record is compared
/// on these only.
pub const WRITE_FIELDS: [&str; 9] = [
    "name",
    "description",
    "ref_id",
    "treatment",
    "inherent_proba",
    "inherent_impact",
    "residual_proba",
    "residual_impact",
    "owner",
];

/// The streams CISO Assistant offers, one per register object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    RiskScenarios,
    AppliedControls,
    RequirementAssessments,
    Evidences,
    Incidents,
    Findings,
}

impl Stream {
    pub const ALL: [Stream; 6] = [
        Stream::RiskScenarios,
        Stream::AppliedControls,
        Stream::RequirementAssessments,
        Stream::Evidences,
        Stream::Incidents,
        Stream::Findings,
    ];

    /// The stream's name in configuration (`read = ["risk_scenarios"]`).
    pub fn name(self) -> &'static str {
        match self {
            Stream::RiskScenarios => "risk_scenarios",
            Stream::AppliedControls => "applied_controls",
            Stream::RequirementAssessments => "requirement_assessments",
            Stream::Evidences => "evidences",
            Stream::Incidents => "incidents",
            Stream::Findings => "findings",
        }
    }

    /// The API collection path (`/api/risk-scenarios/`).
    pub fn endpoint(self) -> &'static str {
        match self {
            Stream::RiskScenarios => "/api/risk-scenarios/",
            Stream::AppliedControls => "/api/applied-controls/",
            Stream::RequirementAssessments => "/api/requirement-assessments/",
            Stream::Evidences => "/api/evidences/",
            Stream::Incidents => "/api/incidents/",
            Stream::Findings => "/api/findings/",
        }
    }

    pub fn kind(self) -> RecordKind {
        match self {
            Stream::RiskScenarios => RecordKind::Risk,
            Stream::AppliedControls => RecordKind::Control,
            Stream::RequirementAssessments => RecordKind::RequirementAssessment,
            Stream::Evidences => RecordKind::Document,
            Stream::Incidents => RecordKind::Incident,
            Stream::Findings => RecordKind::AuditFinding,
        }
    }

    pub fn from_name(name: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Why an object could not be mapped (shared by every connector).
pub use imsbridge_connector::MapError;

// ---------------------------------------------------------------------------------------------
// Risk matrix
// ---------------------------------------------------------------------------------------------

/// One level of a matrix axis (`"4 - very likely"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub name: String,
    pub abbreviation: Option<String>,
}

/// A risk matrix with its decoded `json_definition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub id: String,
    pub name: String,
    pub urn: Option<String>,
    pub ref_id: Option<String>,
    /// Likelihood levels, lowest first; a scenario's `*_proba` indexes this list.
    pub probability: Vec<Level>,
    /// Impact levels, lowest first; `*_impact` indexes this list.
    pub impact: Vec<Level>,
    /// Risk levels, lowest first; `*_level` indexes this list.
    pub risk: Vec<Level>,
    /// `grid[proba][impact]` = risk level index.
    pub grid: Vec<Vec<i64>>,
}

/// Which list of the matrix a rating indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Probability,
    Impact,
    Risk,
}

impl Axis {
    fn word(self) -> &'static str {
        match self {
            Axis::Probability => "probability",
            Axis::Impact => "impact",
            Axis::Risk => "risk",
        }
    }
}

impl Matrix {
    /// Reads a risk matrix object (`GET /api/risk-matrices/<id>/` or an item of the list).
    /// `json_definition` is a JSON-encoded **string** in the API; an object is accepted too.
    pub fn from_api(object: &Value) -> Result<Matrix, MapError> {
        let obj = object
            .as_object()
            .ok_or_else(|| MapError::new("", "a risk matrix must be a JSON object"))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| MapError::new("id", "missing"))?
            .to_string();
        let definition = match obj.get("json_definition") {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).map_err(|e| {
                MapError::new(
                    "json_definition",
                    format!("the JSON-encoded string does not decode: {e}"),
                )
            })?,
            Some(v @ Value::Object(_)) => v.clone(),
            _ => {
                return Err(MapError::new(
                    "json_definition",
                    "missing: the matrix has no definition",
                ));
            }
        };
        let levels = |key: &str| -> Result<Vec<Level>, MapError> {
            let items = definition
                .get(key)
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    MapError::new(
                        format!("json_definition.{key}"),
                        "missing or empty: the matrix defines no levels",
                    )
                })?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let name = item.get("name").and_then(Value::as_str).ok_or_else(|| {
                        MapError::new(format!("json_definition.{key}[{i}].name"), "missing")
                    })?;
                    Ok(Level {
                        name: name.to_string(),
                        abbreviation: item
                            .get("abbreviation")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    })
                })
                .collect()
        };
        let grid = definition
            .get("grid")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .map(|r| r.iter().filter_map(Value::as_i64).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        };
        Ok(Matrix {
            name: text("name").unwrap_or_else(|| id.clone()),
            urn: text("urn"),
            ref_id: text("ref_id"),
            id,
            probability: levels("probability")?,
            impact: levels("impact")?,
            risk: levels("risk")?,
            grid,
        })
    }

    pub fn levels(&self, axis: Axis) -> &[Level] {
        match axis {
            Axis::Probability => &self.probability,
            Axis::Impact => &self.impact,
            Axis::Risk => &self.risk,
        }
    }

    /// The scale id values read on this matrix carry: `ciso-assistant:<ref_id>` (the library's
    /// short name, e.g. `risk-matrix-5x5-iso27005`), else the URN, else the id.
    pub fn scale_id(&self) -> String {
        let key = self
            .ref_id
            .as_deref()
            .or(self.urn.as_deref())
            .unwrap_or(&self.id);
        format!("{CONNECTOR}:{key}")
    }

    /// How plans name the matrix: `5x5 matrix "5x5 ISO-27005"`.
    pub fn describe(&self) -> String {
        format!(
            "{}x{} matrix \"{}\"",
            self.probability.len(),
            self.impact.len(),
            self.name
        )
    }

    /// The risk level of a (proba, impact) pair, as the server computes it on save.
    pub fn level_of(&self, proba: usize, impact: usize) -> Option<usize> {
        let level = *self.grid.get(proba)?.get(impact)?;
        usize::try_from(level).ok().filter(|l| *l < self.risk.len())
    }
}

/// A 0-based index on an axis of `n` levels → the common scale. Likelihood and impact spread
/// linearly over 1.0–5.0; risk levels over 1.0–25.0, the range of scores (the product of two
/// 1–5 ratings). The level is the matrix's own verdict and need not equal the product of the
/// normalised likelihood and impact, so it is kept as the score rather than recomputed; the
/// linear spread keeps its order and its ends (lowest level = 1, highest = 25).
pub fn normalise_index(index: usize, n: usize, axis: Axis) -> f64 {
    let top = match axis {
        Axis::Probability | Axis::Impact => 5.0,
        Axis::Risk => 25.0,
    };
    if n <= 1 {
        return 1.0;
    }
    // Matrices have a handful of levels: these conversions are exact.
    1.0 + (top - 1.0) * index as f64 / (n - 1) as f64
}

/// A normalised 1–5 value → the nearest 0-based index on an axis of `n` levels (the inverse of
/// [`normalise_index`]): `round((n − 1) · (normalised − 1) / 4)`. Values outside 1–5 are
/// clamped.
pub fn index_for(normalised: f64, n: usize) -> usize {
    if n <= 1 || !normalised.is_finite() {
        return 0;
    }
    let clamped = normalised.clamp(1.0, 5.0);
    let index = ((n - 1) as f64 * (clamped - 1.0) / 4.0).round();
    // In range by construction: 0 ≤ index ≤ n − 1.
    (index as usize).min(n - 1)
}

/// The index a rating field holds: a plain integer (write shape) or the `value` of a rating
/// object (read shape). `Ok(None)`: not rated (`-1`) or absent.
fn rating_index(value: Option<&Value>, path: &str) -> Result<Option<i64>, MapError> {
    let index = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::Object(o)) => match o.get("value") {
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        },
        Some(_) => None,
    };
    match index {
        Some(-1) => Ok(None),
        Some(i) => Ok(Some(i)),
        None => Err(MapError::new(
            path,
            "not a rating: expected an integer index or an object with an integer `value`",
        )),
    }
}

/// Reads one rating (proba, impact or level) onto the common scale.
fn rating(
    obj: &Map<String, Value>,
    key: &str,
    matrix: &Matrix,
    axis: Axis,
) -> Result<Option<ScaleValue>, MapError> {
    let Some(index) = rating_index(obj.get(key), key)? else {
        return Ok(None);
    };
    scale_value(obj.get(key), index, matrix, axis, key).map(Some)
}

fn scale_value(
    field: Option<&Value>,
    index: i64,
    matrix: &Matrix,
    axis: Axis,
    path: &str,
) -> Result<ScaleValue, MapError> {
    let levels = matrix.levels(axis);
    let i = usize::try_from(index)
        .ok()
        .filter(|i| *i < levels.len())
        .ok_or_else(|| {
            MapError::new(
                path,
                format!(
                    "index {index} is outside the {} levels 0–{} of the {}",
                    axis.word(),
                    levels.len().saturating_sub(1),
                    matrix.describe()
                ),
            )
        })?;
    // The object's own name is what the user saw; the matrix's is the same in practice.
    let raw = field
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .filter(|n| *n != "--")
        .map(str::to_string)
        .or_else(|| levels.get(i).map(|l| l.name.clone()))
        .unwrap_or_default();
    Ok(ScaleValue {
        raw,
        scale: matrix.scale_id(),
        value: (i + 1) as f64,
        normalised: normalise_index(i, levels.len(), axis),
    })
}

/// Inherent, current or residual rating of a scenario. The level comes from `<prefix>_level`;
/// when absent (an older answer), from the matrix grid.
fn risk_rating(
    obj: &Map<String, Value>,
    prefix: &str,
    matrix: &Matrix,
) -> Result<RiskRating, MapError> {
    let likelihood = rating(obj, &format!("{prefix}_proba"), matrix, Axis::Probability)?;
    let impact = rating(obj, &format!("{prefix}_impact"), matrix, Axis::Impact)?;
    let level_key = format!("{prefix}_level");
    let score = match rating_index(obj.get(&level_key), &level_key)? {
        Some(index) => Some(scale_value(
            obj.get(&level_key),
            index,
            matrix,
            Axis::Risk,
            &level_key,
        )?),
        None if !obj.contains_key(&level_key) => {
            match (&likelihood, &impact) {
                (Some(l), Some(i)) => {
                    // value = index + 1 on the matrix.
                    let (p, m) = (l.value as usize - 1, i.value as usize - 1);
                    match matrix.level_of(p, m) {
                        Some(level) => Some(scale_value(
                            None,
                            level as i64,
                            matrix,
                            Axis::Risk,
                            &level_key,
                        )?),
                        None => None,
                    }
                }
                _ => None,
            }
        }
        None => None,
    };
    Ok(RiskRating {
        likelihood,
        impact,
        score,
    })
}

// ---------------------------------------------------------------------------------------------
// Read side: objects → records
// ---------------------------------------------------------------------------------------------

/// The configured risk assessment, whose scenarios are flagged as AI risks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiAssessment {
    pub id: String,
    pub name: String,
}

/// A requirement node as far as clause references need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequirementNode {
    pub ref_id: Option<String>,
    pub urn: Option<String>,
    pub name: Option<String>,
}

impl RequirementNode {
    /// Reads a node from `GET /api/requirement-nodes/<id>/` or from the `requirement` object a
    /// requirement assessment nests.
    pub fn from_api(value: &Value) -> RequirementNode {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        };
        RequirementNode {
            ref_id: text("ref_id"),
            urn: text("urn"),
            name: text("name"),
        }
    }

    /// The clause this node is, when its framework is a standard the model knows and its
    /// `ref_id` a clause number. The framework comes from the node's URN
    /// (`urn:intuitem:risk:req_node:iso42001-2023:4.1` → `iso42001-2023` → ISO/IEC
    /// 42001:2023); another edition than the model's (27001:2013) gives no clause.
    pub fn clause(&self) -> Option<ClauseRef> {
        let standard = self.standard()?;
        let ref_id = self.ref_id.as_deref()?;
        ClauseRef::parse(ref_id, Some(standard))
            .ok()
            .filter(|c| c.standard == standard)
    }

    fn standard(&self) -> Option<StandardId> {
        let urn = self.urn.as_deref()?;
        let framework = urn.strip_prefix("urn:")?.split(':').nth(3)?;
        framework.parse::<StandardId>().ok()
    }
}

/// What mapping needs beyond the object itself.
#[derive(Debug, Clone)]
pub struct ReadContext<'a> {
    /// The configured system name (provenance, record ids).
    pub system: &'a str,
    pub imported_at: DateTime<Utc>,
    /// Scenarios of this assessment are flagged AI (`None`: `ai = false`, or none configured).
    pub ai_assessment: Option<&'a AiAssessment>,
    /// Risk matrices by id, for the scenarios' ratings.
    pub matrices: &'a HashMap<String, Arc<Matrix>>,
    /// Requirement nodes by id, for objects that reference a node by bare UUID.
    pub nodes: &'a HashMap<String, RequirementNode>,
}

/// Maps one object of `stream`'s list.
pub fn map_object(
    stream: Stream,
    object: &Value,
    ctx: &ReadContext<'_>,
) -> Result<Record, MapError> {
    let obj = object
        .as_object()
        .ok_or_else(|| MapError::new("", "not a JSON object"))?;
    let mut fields = Fields::new(obj);
    let id = fields
        .take_str("id")
        .ok_or_else(|| MapError::new("id", "missing: every CISO Assistant object has an id"))?;
    let mut draft = Draft {
        title: None,
        description: fields.take_str("description"),
        owner: None,
        status: None,
        dates: Dates::default(),
        clauses: Vec::new(),
        ai: AiFlag::default(),
    };
    let details = match stream {
        Stream::RiskScenarios => risk_scenario(&mut fields, &mut draft, ctx)?,
        Stream::AppliedControls => applied_control(&mut fields, &mut draft),
        Stream::RequirementAssessments => requirement_assessment(&mut fields, &mut draft, ctx)?,
        Stream::Evidences => evidence(&mut fields, &mut draft),
        Stream::Incidents => incident(&mut fields, &mut draft),
        Stream::Findings => finding(&mut fields, &mut draft, ctx),
    };
    let title = draft
        .title
        .ok_or_else(|| MapError::new("name", "missing or empty: a record needs a title"))?;
    let kind = stream.kind();
    let mut record = Record {
        id: RecordId::from_source(ctx.system, kind, &id),
        provenance: Provenance {
            system: ctx.system.to_string(),
            connector: CONNECTOR.to_string(),
            location: format!("{}{id}/", stream.endpoint()),
            external_id: id,
            imported_at: ctx.imported_at,
            content_hash: String::new(),
        },
        title,
        description: draft.description,
        owner: draft.owner,
        status: draft.status,
        dates: draft.dates,
        clauses: draft.clauses,
        hs: Vec::new(),
        ai: draft.ai,
        details,
        extra: fields.into_extra(),
    };
    record.seal();
    Ok(record)
}

/// The common fields while an object is mapped.
struct Draft {
    title: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    status: Option<Status>,
    dates: Dates,
    clauses: Vec<ClauseRef>,
    ai: AiFlag,
}

fn risk_scenario(
    f: &mut Fields,
    d: &mut Draft,
    ctx: &ReadContext<'_>,
) -> Result<Details, MapError> {
    d.title = f.take_str("name");
    d.owner = f.take_owners("owner");
    let matrix_id = f
        .peek("risk_matrix")
        .and_then(relation_id)
        .ok_or_else(|| MapError::new("risk_matrix", "missing: the scenario names no matrix"))?;
    let matrix = ctx.matrices.get(matrix_id).ok_or_else(|| {
        MapError::new(
            "risk_matrix",
            format!("the risk matrix {matrix_id} could not be read"),
        )
    })?;
    let obj = f.remaining();
    let inherent = risk_rating(obj, "inherent", matrix)?;
    let residual = risk_rating(obj, "residual", matrix)?;
    for axis in ["proba", "impact", "level"] {
        f.take(&format!("inherent_{axis}"));
        f.take(&format!("residual_{axis}"));
    }
    // current_* (after existing controls) has no place in the model: kept in extra, rendered.
    let treatment_word = f.take_str("treatment");
    let treatment = match treatment_word.as_deref() {
        // `open` (not decided yet) and `cancelled` are no treatment option: they are states.
        Some(word @ ("open" | "cancelled")) => {
            d.status = Some(Status::from_label(word));
            None
        }
        Some(word) => match Treatment::parse(word) {
            Ok(t) => Some(t),
            Err(_) => {
                d.status = Some(Status::from_label(word));
                None
            }
        },
        None => None,
    };
    if let (Some(ai), Some(assessment)) = (
        ctx.ai_assessment,
        f.peek("risk_assessment").and_then(relation_id),
    ) && ai.id == assessment
    {
        d.ai = AiFlag {
            flagged: true,
            categories: Vec::new(),
            reason: Some(format!(
                "risk scenario of the CISO Assistant risk assessment \"{}\" configured as the AI \
                 risk register of system `{}`",
                ai.name, ctx.system
            )),
        };
    }
    Ok(Details::Risk(Box::new(RiskDetails {
        category: None,
        inherent,
        residual,
        treatment,
        treatment_plan: f.take_str("justification"),
    })))
}

fn applied_control(f: &mut Fields, d: &mut Draft) -> Details {
    d.title = f.take_str("name");
    d.owner = f.take_owners("owner");
    // `status` stays a raw choice in the list serializer (to_do, in_progress, on_hold, active,
    // deprecated, --), unlike priority/category/effort, which come as display labels and are
    // kept in extra as shown.
    let status = f.take_str("status");
    let implementation = status
        .as_deref()
        .and_then(|s| ImplementationStatus::parse(s).ok());
    d.status = status.as_deref().map(Status::from_label);
    d.dates.due = f.take_date("eta");
    Details::Control(ControlDetails {
        applicable: None,
        justification: None,
        implementation,
        evidence: None,
    })
}

fn requirement_assessment(
    f: &mut Fields,
    d: &mut Draft,
    ctx: &ReadContext<'_>,
) -> Result<Details, MapError> {
    let node = match f.peek("requirement") {
        Some(v @ Value::Object(_)) => Some(RequirementNode::from_api(v)),
        Some(Value::String(id)) => ctx.nodes.get(id).cloned(),
        _ => None,
    };
    if let Some(node) = &node {
        // The nested node is the source of the clause: drop it from extra only when it was
        // used, so an unknown framework keeps its reference there.
        if let Some(clause) = node.clause() {
            if clause.standard == StandardId::Iso42001 {
                d.ai = AiFlag {
                    flagged: true,
                    categories: Vec::new(),
                    reason: Some(format!(
                        "assessment of the ISO/IEC 42001 requirement {clause}"
                    )),
                };
            }
            d.clauses.push(clause);
            f.take("requirement");
        }
    }
    d.title = f.take_str("name").or_else(|| {
        node.as_ref().and_then(|n| match (&n.ref_id, &n.name) {
            (Some(r), Some(name)) => Some(format!("{r} - {name}")),
            (None, Some(name)) => Some(name.clone()),
            (Some(r), None) => Some(r.clone()),
            (None, None) => None,
        })
    });
    let result = match f.take_str("result") {
        Some(word) => {
            Conformity::parse(&word).map_err(|e| MapError::new("result", e.to_string()))?
        }
        None => Conformity::NotAssessed,
    };
    d.status = f.take_str("status").as_deref().map(Status::from_label);
    d.dates.due = f.take_date("due_date");
    Ok(Details::RequirementAssessment(
        RequirementAssessmentDetails {
            result,
            evidence: f.take_labels("evidences"),
            assessor: None,
        },
    ))
}

fn evidence(f: &mut Fields, d: &mut Draft) -> Details {
    d.title = f.take_str("name");
    d.owner = f.take_owners("owner");
    // A display label in the list ("Approved", "Draft").
    d.status = f.take_str("status").as_deref().map(Status::from_label);
    let link = f.take_str("link").or_else(|| f.take_str("attachment"));
    Details::Document(DocumentDetails {
        document_type: Some("evidence".to_string()),
        version: None,
        link,
        approver: None,
    })
}

fn incident(f: &mut Fields, d: &mut Draft) -> Details {
    d.title = f.take_str("name");
    // Incidents call their owners `owners`.
    d.owner = f.take_owners("owners");
    // Display labels in the list: status "Ongoing", severity "Moderate".
    d.status = f.take_str("status").as_deref().map(Status::from_label);
    d.dates.identified = f.take_date("reported_at");
    d.dates.closed = f.take_date("resolved_at");
    Details::Incident(IncidentDetails {
        severity: f.take_str("severity"),
        category: None,
        affected: f.take_labels("assets"),
        resolution: f.take_str("resolution"),
    })
}

fn finding(f: &mut Fields, d: &mut Draft, ctx: &ReadContext<'_>) -> Details {
    d.title = f.take_str("name");
    d.owner = f.take_owners("owner");
    d.status = f.take_str("status").as_deref().map(Status::from_label);
    d.dates.due = f.take_date("due_date");
    let node = match f.peek("requirement_node") {
        Some(v @ Value::Object(o)) if o.contains_key("urn") => Some(RequirementNode::from_api(v)),
        Some(v) => relation_id(v).and_then(|id| ctx.nodes.get(id)).cloned(),
        None => None,
    };
    if let Some(clause) = node.as_ref().and_then(RequirementNode::clause) {
        d.clauses.push(clause);
        f.take("requirement_node");
    }
    let audit = f
        .peek("findings_assessment")
        .and_then(relation_label)
        .map(str::to_string);
    if audit.is_some() {
        f.take("findings_assessment");
    }
    Details::AuditFinding(AuditFindingDetails {
        finding_type: None,
        audit,
        auditor: None,
        evidence: f.take_labels("evidences"),
    })
}

/// The fields of one object not mapped yet; what is left at the end goes to `extra`.
struct Fields {
    rest: Map<String, Value>,
}

impl Fields {
    fn new(obj: &Map<String, Value>) -> Fields {
        Fields { rest: obj.clone() }
    }

    fn remaining(&self) -> &Map<String, Value> {
        &self.rest
    }

    fn peek(&self, key: &str) -> Option<&Value> {
        self.rest.get(key).filter(|v| !v.is_null())
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    /// A non-empty string, trimmed. Other types are left in place (and end up in extra).
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

    /// A date (`2027-03-31`) or timestamp (`2026-11-20T09:30:00Z`, its UTC date).
    fn take_date(&mut self, key: &str) -> Option<NaiveDate> {
        let text = self.rest.get(key)?.as_str()?;
        let date = parse_date(text)?;
        self.rest.remove(key);
        Some(date)
    }

    /// The display names of a relation list, joined with `; `; ids are kept in extra as
    /// `<key>_ids` so that nothing is lost.
    fn take_labels(&mut self, key: &str) -> Option<String> {
        let items = self.rest.get(key)?.as_array()?.clone();
        let labels: Vec<&str> = items.iter().filter_map(relation_label).collect();
        let ids: Vec<&str> = items.iter().filter_map(relation_id).collect();
        self.rest.remove(key);
        if !ids.is_empty() {
            self.rest
                .insert(format!("{key}_ids"), Value::String(ids.join("; ")));
        }
        (!labels.is_empty()).then(|| labels.join("; "))
    }

    /// Owners (a list of actor relations): their display names, the actor ids kept in extra.
    fn take_owners(&mut self, key: &str) -> Option<String> {
        self.take_labels(key)
    }

    fn into_extra(self) -> BTreeMap<String, String> {
        self.rest
            .into_iter()
            .filter_map(|(k, v)| render(&v).map(|text| (k, text)))
            .collect()
    }
}

/// The id of a relation: a bare UUID (write shape) or the `id` of `{"id", "str"}` (read shape).
pub fn relation_id(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// The display name of a relation: its `name` when it has one, else `str`.
fn relation_label(value: &Value) -> Option<&str> {
    match value {
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("str"))
            .and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A value as text for `extra`; `None` for what holds nothing (null, "", [], {}).
fn render(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(render).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::Object(o) if o.is_empty() => None,
        Value::Object(o) => {
            // A rating (current_proba …): its level name and index.
            if let (Some(Value::Number(v)), Some(name)) =
                (o.get("value"), o.get("name").and_then(Value::as_str))
            {
                return Some(match v.as_i64() {
                    Some(-1) => "not rated".to_string(),
                    _ => format!("{name} (index {v})"),
                });
            }
            // A relation: its name and id.
            if let Some(label) = o.get("str").and_then(Value::as_str) {
                return Some(match o.get("id").and_then(Value::as_str) {
                    Some(id) => format!("{label} ({id})"),
                    None => label.to_string(),
                });
            }
            Some(Value::Object(o.clone()).to_string())
        }
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).date_naive())
}

/// An object's `updated_at`, for the page cursor.
pub fn updated_at(object: &Value) -> Option<DateTime<Utc>> {
    let text = object.get("updated_at")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------------
// Write side: record → risk scenario fields, and remote scenario → the same shape
// ---------------------------------------------------------------------------------------------

/// The `treatment` choice of a local treatment option.
pub fn treatment_choice(treatment: Option<&Treatment>) -> &'static str {
    match treatment.map(|t| t.option) {
        Some(TreatmentOption::Modify) => "mitigate",
        Some(TreatmentOption::Retain) => "accept",
        Some(TreatmentOption::Avoid) => "avoid",
        Some(TreatmentOption::Share) => "transfer",
        None => "open",
    }
}

/// The fields a risk scenario should hold for `record`, in the write shape, with the
/// conversions a plan shows. Ratings go onto the target `matrix`; owners through
/// `owner_actors` (local name → actor id).
pub fn desired(
    record: &Record,
    matrix: &Matrix,
    owner_actors: &BTreeMap<String, String>,
) -> Result<Desired, String> {
    let Details::Risk(risk) = &record.details else {
        return Err(format!(
            "CISO Assistant takes risk records only, not {}",
            record.kind()
        ));
    };
    let title = record.title.trim();
    if title.is_empty() {
        return Err("the record has no title, and a risk scenario needs a name".to_string());
    }
    let mut fields = FieldMap::new();
    let mut conversions = Vec::new();
    fields.insert("name".into(), json!(title));
    fields.insert(
        "description".into(),
        json!(record.description.as_deref().map(str::trim).unwrap_or("")),
    );
    fields.insert("ref_id".into(), json!(correlation_id(record)));
    fields.insert(
        "treatment".into(),
        json!(treatment_choice(risk.treatment.as_ref())),
    );
    for (prefix, rating) in [("inherent", &risk.inherent), ("residual", &risk.residual)] {
        for (axis, value) in [
            (Axis::Probability, &rating.likelihood),
            (Axis::Impact, &rating.impact),
        ] {
            let field = match axis {
                Axis::Impact => format!("{prefix}_impact"),
                _ => format!("{prefix}_proba"),
            };
            let (index, conversion) = convert_rating(&field, value.as_ref(), matrix, axis);
            fields.insert(field, json!(index));
            conversions.push(conversion);
        }
    }
    if let Some(owner) = record
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        match owner_ids(owner, owner_actors) {
            Ok(ids) => {
                fields.insert("owner".into(), json!(ids));
                conversions.push(Conversion {
                    field: "owner".into(),
                    from: owner.to_string(),
                    to: format!("actor {}", ids.join(", ")),
                });
            }
            Err(missing) => conversions.push(Conversion {
                field: "owner".into(),
                from: owner.to_string(),
                to: format!(
                    "not written: no actor id for {} in owner_actors",
                    missing
                        .iter()
                        .map(|m| format!("{m:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    Ok(Desired {
        fields,
        conversions,
    })
}

/// A local rating → the index on the target matrix, and how it was converted.
fn convert_rating(
    field: &str,
    value: Option<&ScaleValue>,
    matrix: &Matrix,
    axis: Axis,
) -> (i64, Conversion) {
    let levels = matrix.levels(axis);
    match value.filter(|v| v.normalised.is_finite()) {
        Some(v) if !levels.is_empty() => {
            let index = index_for(v.normalised, levels.len());
            let name = levels.get(index).map(|l| l.name.as_str()).unwrap_or("");
            (
                index as i64,
                Conversion {
                    field: field.to_string(),
                    from: format!("{} (1-5)", number(v.normalised)),
                    to: format!("{index} = {name:?} ({})", matrix.describe()),
                },
            )
        }
        _ => (
            -1,
            Conversion {
                field: field.to_string(),
                from: "not rated".into(),
                to: "-1 = not rated".into(),
            },
        ),
    }
}

/// `4` for 4.0, `3.5` for 3.5.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_string()
    }
}

/// The actor ids of a local owner: the whole name when `owner_actors` has it, else each of the
/// names it lists (`;`, `,`, `|` or line breaks), all or nothing. `Err`: the names without an
/// actor id — a partial list would remove the other owners in the target.
fn owner_ids(
    owner: &str,
    owner_actors: &BTreeMap<String, String>,
) -> Result<Vec<String>, Vec<String>> {
    let find = |name: &str| -> Option<String> {
        owner_actors.get(name).cloned().or_else(|| {
            owner_actors
                .iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
    };
    if let Some(id) = find(owner) {
        return Ok(vec![id.to_ascii_lowercase()]);
    }
    let names: Vec<&str> = owner
        .split([';', ',', '|', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match find(name) {
            Some(id) => ids.push(id.to_ascii_lowercase()),
            None => missing.push(name.to_string()),
        }
    }
    if !missing.is_empty() || ids.is_empty() {
        if missing.is_empty() {
            missing.push(owner.to_string());
        }
        return Err(missing);
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// A risk scenario as the API returns it — read shape (GET) or write shape (the answer to a
/// POST/PATCH) — as a [`RemoteRecord`] whose fields have the shape [`desired`] produces.
pub fn remote_record(object: &Value) -> Result<RemoteRecord, MapError> {
    let obj = object
        .as_object()
        .ok_or_else(|| MapError::new("", "not a JSON object"))?;
    let remote_id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| MapError::new("id", "missing"))?
        .to_string();
    let correlation = obj
        .get("ref_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| r.starts_with(CORRELATION_PREFIX))
        .map(str::to_string);
    let version = obj
        .get("updated_at")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(RemoteRecord {
        remote_id,
        correlation,
        version,
        fields: write_shape(obj)?,
    })
}

/// The written fields of a scenario in the write shape: relations → ids, ratings → their
/// index, owners → sorted ids, missing texts → "" (CISO Assistant answers `null` or `""` for
/// the same empty description).
pub fn write_shape(obj: &Map<String, Value>) -> Result<FieldMap, MapError> {
    let mut fields = FieldMap::new();
    for key in WRITE_FIELDS {
        let Some(value) = obj.get(key) else { continue };
        let normalised = match key {
            "name" | "description" | "ref_id" | "treatment" => match value {
                Value::Null => json!(""),
                Value::String(s) => json!(s.trim()),
                other => other.clone(),
            },
            "owner" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| MapError::new("owner", "not a list of actors"))?;
                let mut ids: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        relation_id(item)
                            .map(str::to_ascii_lowercase)
                            .ok_or_else(|| MapError::new(format!("owner[{i}]"), "no actor id"))
                    })
                    .collect::<Result<_, _>>()?;
                ids.sort();
                ids.dedup();
                json!(ids)
            }
            _ => json!(rating_index(Some(value), key)?.unwrap_or(-1)),
        };
        fields.insert(key.to_string(), normalised);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix_5x5() -> Matrix {
        let risk: Vec<Value> = [
            "1 - very low",
            "2 - low",
            "3 - medium",
            "4 - high",
            "5 - very high",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": i, "name": n}))
        .collect();
        let def = json!({
            "probability": (1..=5).map(|i| json!({"id": i - 1, "name": format!("{i} - p")})).collect::<Vec<_>>(),
            "impact": (1..=5).map(|i| json!({"id": i - 1, "name": format!("{i} - i")})).collect::<Vec<_>>(),
            "risk": risk,
            "grid": [[0,0,1,1,1],[0,1,1,2,2],[1,1,2,3,3],[1,2,3,3,4],[2,3,3,4,4]],
        });
        Matrix::from_api(&json!({
            "id": "m1", "name": "5x5 ISO-27005", "ref_id": "risk-matrix-5x5-iso27005",
            "json_definition": def.to_string(),
        }))
        .unwrap()
    }

    #[test]
    fn index_conversions_round_trip() {
        for n in [3usize, 4, 5] {
            for i in 0..n {
                let v = normalise_index(i, n, Axis::Probability);
                assert_eq!(index_for(v, n), i, "n={n} i={i}");
            }
        }
        assert_eq!(index_for(5.0, 5), 4);
        assert_eq!(index_for(1.0, 5), 0);
        assert_eq!(index_for(4.0, 5), 3);
        assert_eq!(index_for(9.0, 5), 4, "clamped");
        assert_eq!(index_for(f64::NAN, 5), 0);
        assert_eq!(normalise_index(3, 5, Axis::Risk), 19.0);
        assert_eq!(normalise_index(0, 1, Axis::Impact), 1.0);
    }

    #[test]
    fn matrix_decodes_its_definition_string() {
        let m = matrix_5x5();
        assert_eq!(m.probability.len(), 5);
        assert_eq!(m.risk[3].name, "4 - high");
        assert_eq!(m.level_of(0, 4), Some(1));
        assert_eq!(m.level_of(4, 0), Some(2));
        assert_eq!(m.scale_id(), "ciso-assistant:risk-matrix-5x5-iso27005");
        let bad = Matrix::from_api(&json!({"id": "x", "json_definition": "{not json"}));
        assert_eq!(bad.unwrap_err().path, "json_definition");
    }

    #[test]
    fn ratings_read_both_shapes_and_reject_out_of_range() {
        let m = matrix_5x5();
        let obj = json!({
            "inherent_proba": {"value": 0, "name": "1 - p"},
            "inherent_impact": 4,
            "residual_proba": {"value": -1, "name": "--"},
            "residual_impact": -1,
        });
        let obj = obj.as_object().unwrap();
        let r = risk_rating(obj, "inherent", &m).unwrap();
        assert_eq!(r.likelihood.as_ref().unwrap().normalised, 1.0);
        assert_eq!(r.impact.as_ref().unwrap().raw, "5 - i");
        // No level in the object: from the grid, [proba][impact].
        assert_eq!(r.score.as_ref().unwrap().raw, "2 - low");
        assert!(risk_rating(obj, "residual", &m).unwrap().is_empty());
        let bad = json!({"inherent_proba": 5});
        let err = risk_rating(bad.as_object().unwrap(), "inherent", &m).unwrap_err();
        assert_eq!(err.path, "inherent_proba");
    }

    #[test]
    fn owners_all_or_nothing() {
        let map: BTreeMap<String, String> = [
            ("Dana".to_string(), "B".to_string()),
            ("Alex".to_string(), "A".to_string()),
        ]
        .into();
        assert_eq!(owner_ids("dana", &map), Ok(vec!["b".to_string()]));
        assert_eq!(
            owner_ids("Dana; Alex", &map),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(owner_ids("Dana; Kim", &map), Err(vec!["Kim".to_string()]));
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(number(4.0), "4");
        assert_eq!(number(3.5), "3.5");
        assert_eq!(number(2.25), "2.25");
    }
}
