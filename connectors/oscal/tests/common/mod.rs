//! Helpers shared by the integration tests: the NIST material, a fixed clock, sample records.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use imsbridge_mappings::Mappings;
use imsbridge_model::{
    AiFlag, AiRiskCategory, AuditFindingDetails, ClauseRef, Conformity, Dates, Details,
    FindingType, NonconformityDetails, Provenance, Record, RecordId, RecordKind,
    RequirementAssessmentDetails, RiskDetails, RiskRating, ScaleValue, StandardId, Status,
    Treatment,
};

/// `shared/oscal` of the work tree: found by walking up from this crate, or named by
/// `IMSBRIDGE_OSCAL_SHARED`. The tests need it; the library does not.
pub fn shared() -> PathBuf {
    if let Ok(dir) = std::env::var("IMSBRIDGE_OSCAL_SHARED") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/oscal"))
        .find(|p| p.join("examples").is_dir())
        .expect("shared/oscal (NIST examples and schemas) not found above the crate; set IMSBRIDGE_OSCAL_SHARED")
}

pub fn example(name: &str) -> PathBuf {
    shared().join("examples").join(name)
}

pub fn schema(name: &str) -> serde_json::Value {
    let path = shared().join("schemas/json-1.2.1").join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("schema")).expect("schema JSON")
}

pub fn mappings() -> Mappings {
    Mappings::embedded().expect("built-in mappings")
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53)
        .single()
        .expect("a valid time")
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

pub const SYSTEM: &str = "erm";

fn record(kind: RecordKind, external_id: &str, title: &str, details: Details) -> Record {
    Record {
        id: RecordId::from_source(SYSTEM, kind, external_id),
        provenance: Provenance {
            system: SYSTEM.into(),
            connector: "spreadsheet".into(),
            external_id: external_id.into(),
            location: format!("register.xlsx!{kind}!A2"),
            imported_at: now(),
            content_hash: String::new(),
        },
        title: title.into(),
        description: None,
        owner: None,
        status: None,
        dates: Dates::default(),
        clauses: Vec::new(),
        hs: Vec::new(),
        ai: AiFlag::default(),
        details,
        extra: BTreeMap::new(),
    }
}

fn rate(m: &Mappings, scale: &str, raw: &str) -> ScaleValue {
    m.scale(scale)
        .expect("scale")
        .read_value(raw)
        .expect("on the scale")
}

fn link(m: &Mappings, r: &mut Record, clauses: &[(StandardId, &str)]) {
    r.clauses = clauses
        .iter()
        .map(|(s, c)| ClauseRef::new(*s, *c))
        .collect();
    let mut hs = Vec::new();
    for c in &r.clauses {
        hs.extend(m.hs_links(c).expect("a mapped clause"));
    }
    hs.sort();
    hs.dedup();
    r.hs = hs;
}

/// Risks and corrective actions as registers give them, AI risks among them.
pub fn risk_records(m: &Mappings) -> Vec<Record> {
    let mut drift = record(
        RecordKind::Risk,
        "R-1",
        "Model drift degrades credit decisions",
        Details::Risk(Box::new(RiskDetails {
            category: Some("AI model".into()),
            inherent: RiskRating {
                likelihood: Some(rate(m, "1-5", "4 - Likely")),
                impact: Some(rate(m, "low-medium-high", "High")),
                score: Some(rate(m, "score-1-25", "16")),
            },
            residual: RiskRating {
                likelihood: Some(rate(m, "1-5", "2")),
                impact: None,
                score: None,
            },
            treatment: Some(Treatment::parse("Mitigate").expect("a treatment")),
            treatment_plan: Some("Retrain the model monthly\nMonitor drift with alerts".into()),
        })),
    );
    drift.description = Some(
        "The scoring model was trained on 2022 data.\nApplicants' profiles have shifted since."
            .into(),
    );
    drift.owner = Some("Head of Data Science".into());
    drift.status = Some(Status::from_label("In treatment"));
    drift.dates = Dates {
        identified: Some(date(2026, 1, 10)),
        due: Some(date(2026, 6, 30)),
        ..Dates::default()
    };
    link(m, &mut drift, &[(StandardId::Iso42001, "6.1.4")]);
    drift.ai = AiFlag {
        flagged: true,
        categories: vec![AiRiskCategory::Robustness],
        reason: Some("AI risk category".into()),
    };

    let bare = record(
        RecordKind::Risk,
        "R-2",
        "Supplier outage",
        Details::Risk(Box::default()),
    );

    let mut moderate = record(
        RecordKind::Risk,
        "R-3",
        "Prompt injection through the support chatbot",
        Details::Risk(Box::new(RiskDetails {
            inherent: RiskRating {
                likelihood: Some(rate(m, "low-medium-high", "Moderate")),
                impact: Some(rate(m, "low-medium-high", "low")),
                score: None,
            },
            treatment: Some(Treatment::parse("accept").expect("a treatment")),
            ..RiskDetails::default()
        })),
    );
    moderate.status = Some(Status::from_label("Closed"));
    moderate.ai = AiFlag {
        flagged: true,
        categories: vec![AiRiskCategory::Security],
        reason: Some("explicit AI column".into()),
    };

    let mut action = record(
        RecordKind::CorrectiveAction,
        "CA-1",
        "Add a drift monitor",
        Details::CorrectiveAction(NonconformityDetails {
            source: Some("internal audit".into()),
            corrective_action: Some("Alert when the population stability index exceeds 0.2".into()),
            ..NonconformityDetails::default()
        }),
    );
    action.status = Some(Status::from_label("Open"));
    action.dates.due = Some(date(2026, 5, 1));
    vec![drift, bare, moderate, action]
}

/// Requirement assessments and audit findings against ISO/IEC 27001 and 42001.
pub fn assessment_records(m: &Mappings) -> Vec<Record> {
    let ra = |id: &str,
              title: &str,
              result: Conformity,
              evidence: Option<&str>,
              assessor: Option<&str>| {
        record(
            RecordKind::RequirementAssessment,
            id,
            title,
            Details::RequirementAssessment(RequirementAssessmentDetails {
                result,
                evidence: evidence.map(str::to_string),
                assessor: assessor.map(str::to_string),
            }),
        )
    };
    let mut a = ra(
        "iso27001:6.1.2",
        "Information security risk assessment",
        Conformity::Conforming,
        Some("Risk assessment report v3"),
        Some("A. Auditor"),
    );
    link(m, &mut a, &[(StandardId::Iso27001, "6.1.2")]);
    a.dates.reviewed = Some(date(2026, 2, 2));
    let mut b = ra(
        "iso27001:A.5.7",
        "Threat intelligence",
        Conformity::PartiallyConforming,
        None,
        Some("A. Auditor"),
    );
    link(m, &mut b, &[(StandardId::Iso27001, "A.5.7")]);
    let mut c = ra(
        "iso42001:6.1.4",
        "AI system impact assessment",
        Conformity::NotApplicable,
        None,
        None,
    );
    link(m, &mut c, &[(StandardId::Iso42001, "6.1.4")]);
    c.ai = AiFlag {
        flagged: true,
        categories: Vec::new(),
        reason: Some("references ISO/IEC 42001:2023 6.1.4".into()),
    };
    let mut d = ra(
        "competence",
        "Competence and awareness",
        Conformity::NotConforming,
        Some("Training records missing for 3 of 12 staff\nAwareness quiz not run in 2025"),
        Some("A. Auditor"),
    );
    link(
        m,
        &mut d,
        &[(StandardId::Iso27001, "7.2"), (StandardId::Iso27001, "7.3")],
    );
    let mut f = record(
        RecordKind::AuditFinding,
        "F-7",
        "Internal audit programme missed two processes",
        Details::AuditFinding(AuditFindingDetails {
            finding_type: Some(FindingType::MinorNonconformity),
            audit: Some("Internal audit 2026".into()),
            auditor: Some("B. Lead".into()),
            evidence: Some("Audit plan 2026 rev 1".into()),
        }),
    );
    f.description = Some("Procurement and HR were not audited.".into());
    f.status = Some(Status::from_label("Open"));
    f.dates = Dates {
        identified: Some(date(2026, 2, 20)),
        due: Some(date(2026, 4, 30)),
        ..Dates::default()
    };
    link(m, &mut f, &[(StandardId::Iso27001, "9.2")]);
    vec![a, b, c, d, f]
}

/// What a record says, without where and when it was read or by which connector: what a
/// round trip through OSCAL must keep.
pub fn content(r: &Record) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "kind": r.kind(),
        "external_id": r.provenance.external_id,
        "title": r.title,
        "description": r.description,
        "owner": r.owner,
        "status": r.status,
        "dates": r.dates,
        "clauses": r.clauses,
        "hs": r.hs,
        "ai": r.ai,
        "details": r.details,
    })
}

/// Validates a document against an official schema; panics with every error.
pub fn assert_valid(schema_file: &str, json: &str) {
    let schema = schema(schema_file);
    let validator = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let instance: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema_file}: {} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
