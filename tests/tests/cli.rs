//! End-to-end tests of the read-side commands (`clauses`, `crosswalk`, `records` filters,
//! `coverage`) and of usage errors, against the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is their job"
)]

use std::collections::BTreeSet;

use imsbridge_e2e::cli::Imsbridge;
use imsbridge_e2e::examples::{
    self, AI_FILE, AI_RISKS, AI_SYSTEMS, ASSESSMENTS, CAPA_FILE, CAPAS, ERM_FILE, ISMS_FILE,
    ISMS_RISKS, SOA_CONTROLS, SOA_FILE,
};
use imsbridge_e2e::imsbridge_bin;
use serde_json::Value;
use tempfile::TempDir;

fn fresh() -> (TempDir, Imsbridge) {
    let tmp = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), tmp.path());
    (tmp, ims)
}

/// A store with every sample register imported.
fn with_examples() -> (TempDir, Imsbridge) {
    let (tmp, ims) = fresh();
    let dir = tmp.path().join("examples");
    examples::write_all(&dir).unwrap();
    let out = ims
        .run(["--format", "json", "import", dir.to_str().unwrap()])
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    (tmp, ims)
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// (system, external id) of each record.
fn keys(records: &[Value]) -> BTreeSet<(String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["provenance"]["system"].as_str().unwrap().to_string(),
                r["provenance"]["external_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn key(system: &str, id: &str) -> (String, String) {
    (system.to_string(), id.to_string())
}

#[test]
fn crosswalk_derives_9001_to_27001_through_the_hs() {
    let (_tmp, ims) = fresh();
    let pairs = array(
        ims.json(["crosswalk", "--from", "iso9001", "--to", "iso27001"])
            .unwrap(),
    );
    assert!(!pairs.is_empty());
    let via_is = |p: &Value, hs: &str| match &p["via"] {
        Value::String(s) => s == hs,
        Value::Array(items) => items.iter().any(|v| v == hs),
        _ => false,
    };
    // 9001 10.3 ⊃ HS 10.1 and 27001 10.1 ≡ HS 10.1, so 9001 10.3 ⊃ 27001 10.1 via HS 10.1.
    assert!(
        pairs.iter().any(|p| p["from"] == "10.3"
            && p["to"] == "10.1"
            && p["relationship"] == "superset"
            && via_is(p, "10.1")),
        "{pairs:?}"
    );
    // 9001 10.1 only intersects HS 10.1: it must never be paired as equal with 27001 10.1.
    for p in pairs
        .iter()
        .filter(|p| p["from"] == "10.1" && p["to"] == "10.1")
    {
        assert_eq!(p["relationship"], "intersects", "{p}");
    }
    // 9001 10.2 ⊃ HS 10.2 ≡ 27001 10.2.
    assert!(
        pairs
            .iter()
            .any(|p| p["from"] == "10.2" && p["to"] == "10.2" && p["relationship"] == "superset"),
        "{pairs:?}"
    );
    // 9001 9.2 and 27001 9.2 both equal HS 9.2: the one case where the pair itself is equal.
    assert!(
        pairs.iter().any(|p| p["from"] == "9.2"
            && p["to"] == "9.2"
            && p["relationship"] == "equal"
            && via_is(p, "9.2")),
        "{pairs:?}"
    );
}

#[test]
fn clauses_of_27001_carry_titles_and_hs_links() {
    let (_tmp, ims) = fresh();
    let clauses = array(ims.json(["clauses", "--standard", "iso27001"]).unwrap());
    let c53 = clauses
        .iter()
        .find(|c| c["id"] == "5.3")
        .unwrap_or_else(|| panic!("no clause 5.3: {clauses:?}"));
    assert_eq!(
        c53["title"], "Organizational roles, responsibilities and authorities",
        "{c53}"
    );
    assert!(
        c53["hs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["clause"] == "5.3" && h["relationship"] == "equal"),
        "{c53}"
    );
    // 6.1.2 is a discipline extension anchored on HS 6.1.
    let c612 = clauses.iter().find(|c| c["id"] == "6.1.2").unwrap();
    assert!(
        c612["hs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["clause"] == "6.1" && h["relationship"] == "intersects"),
        "{c612}"
    );
}

#[test]
fn records_filter_by_ai_flag() {
    let (_tmp, ims) = with_examples();
    let ai = ims.records(&["--ai"]).unwrap();
    assert!(ai.iter().all(|r| r["ai"]["flagged"] == true), "{ai:?}");
    let found = keys(&ai);
    let mut must = vec![];
    must.extend(AI_RISKS.iter().map(|r| key(AI_FILE, r.id)));
    must.extend(AI_SYSTEMS.iter().map(|s| key(AI_FILE, s.id)));
    must.extend(
        ISMS_RISKS
            .iter()
            .filter(|r| r.clause.contains("42001"))
            .map(|r| key(ISMS_FILE, r.id)),
    );
    for k in &must {
        assert!(
            found.contains(k),
            "{k:?} is AI-related but not listed by --ai"
        );
    }
    let mut must_not = vec![];
    must_not.extend(
        ISMS_RISKS
            .iter()
            .filter(|r| !r.clause.contains("42001"))
            .map(|r| key(ISMS_FILE, r.id)),
    );
    must_not.extend(
        examples::ERM_RISKS
            .iter()
            .map(|r| key(ERM_FILE, r.reference)),
    );
    must_not.extend(CAPAS.iter().map(|c| key(CAPA_FILE, c.id)));
    for k in &must_not {
        assert!(
            !found.contains(k),
            "{k:?} is not about AI but listed by --ai"
        );
    }
}

#[test]
fn records_filter_by_kind_and_standard() {
    let (_tmp, ims) = with_examples();

    let ncs = ims
        .records(&["--kind", "nonconformity", "--standard", "iso9001"])
        .unwrap();
    let want: BTreeSet<_> = CAPAS.iter().map(|c| key(CAPA_FILE, c.id)).collect();
    assert_eq!(keys(&ncs), want);

    let systems = ims.records(&["--kind", "ai_system"]).unwrap();
    let want: BTreeSet<_> = AI_SYSTEMS.iter().map(|s| key(AI_FILE, s.id)).collect();
    assert_eq!(keys(&systems), want);
    let credit = systems
        .iter()
        .find(|s| s["provenance"]["external_id"] == "AIS-02")
        .unwrap();
    assert_eq!(credit["details"]["risk_tier"], "high", "{credit}");

    // The SoA writes ISO/IEC 27001 Annex A controls without naming the standard ("A.5.1"), as
    // every SoA does; "42001 A.6.2.2" names its own.
    let controls_27001 = ims
        .records(&["--kind", "control", "--standard", "iso27001"])
        .unwrap();
    let want: BTreeSet<_> = SOA_CONTROLS
        .iter()
        .filter(|c| !c.id.starts_with("42001"))
        .map(|c| key(SOA_FILE, c.id))
        .collect();
    assert_eq!(keys(&controls_27001), want);
    let controls_42001 = ims
        .records(&["--kind", "control", "--standard", "iso42001"])
        .unwrap();
    assert_eq!(
        controls_42001.len(),
        SOA_CONTROLS
            .iter()
            .filter(|c| c.id.starts_with("42001"))
            .count()
    );

    // Requirement assessments, one per standard and clause, with their results.
    let assessments = ims
        .records(&["--kind", "requirement_assessment", "--standard", "iso27001"])
        .unwrap();
    assert_eq!(
        assessments.len(),
        ASSESSMENTS
            .iter()
            .filter(|a| a.standard == "ISO/IEC 27001:2022")
            .count()
    );
    let audit = assessments
        .iter()
        .find(|a| {
            a["clauses"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["clause"] == "9.2.2"))
        })
        .unwrap_or_else(|| panic!("no assessment of 27001 9.2.2: {assessments:?}"));
    assert_eq!(
        audit["details"]["result"], "partially_conforming",
        "{audit}"
    );
    assert!(
        audit["hs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["clause"] == "9.2.2" && h["relationship"] == "equal"),
        "{audit}"
    );
}

#[test]
fn records_filter_by_hs_clause_across_standards() {
    let (_tmp, ims) = with_examples();
    // Without --standard, --clause is an HS clause: everything sitting on HS 10.2.
    let on_10_2 = ims.records(&["--clause", "10.2"]).unwrap();
    let found = keys(&on_10_2);
    assert!(found.contains(&key(CAPA_FILE, "NC-2026-019")), "{found:?}");
    let assessed: Vec<&Value> = on_10_2
        .iter()
        .filter(|r| r["details"]["kind"] == "requirement_assessment")
        .collect();
    // 27001 10.2 and 42001 10.2 are both assessed; both sit on HS 10.2.
    assert_eq!(assessed.len(), 2, "{assessed:?}");
    assert!(
        on_10_2.iter().all(|r| r["hs"]
            .as_array()
            .is_some_and(|hs| hs.iter().any(|h| h["clause"] == "10.2"))),
        "{on_10_2:?}"
    );
    // The ERM register names no clauses, so none of its risks sits on any HS clause.
    assert!(!found.iter().any(|(system, _)| system == ERM_FILE));
}

#[test]
fn coverage_reports_the_hs_clauses_records_sit_on() {
    let (_tmp, ims) = with_examples();
    let coverage = ims.json(["coverage"]).unwrap();
    let text = coverage.to_string();
    assert!(
        coverage.as_array().is_some_and(|a| !a.is_empty())
            || coverage.as_object().is_some_and(|o| !o.is_empty()),
        "{text}"
    );
    // 27001 9.2.2 is assessed and equals HS 9.2.2; 9001 10.3 maps to HS 10.1.
    for hs in ["\"9.2.2\"", "\"10.1\""] {
        assert!(
            text.contains(hs),
            "coverage does not mention HS {hs}: {text}"
        );
    }
}

#[test]
fn unknown_standard_is_a_usage_error() {
    let (_tmp, ims) = fresh();
    let out = ims
        .run([
            "--format",
            "json",
            "crosswalk",
            "--from",
            "iso9001",
            "--to",
            "iso27002",
        ])
        .unwrap();
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("iso27002"), "{}", out.describe());
    let out = ims
        .run(["--format", "json", "records", "--kind", "widget"])
        .unwrap();
    assert_eq!(out.code, Some(2), "{}", out.describe());
}

#[test]
fn imports_lists_each_run_with_its_counts() {
    let (_tmp, ims) = with_examples();
    let out = ims.run(["--format", "json", "imports"]).unwrap();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let runs = array(out.json().unwrap());
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["inserted"], examples::expected_total());
    assert_eq!(runs[0]["rejected"], 0);
    assert_eq!(runs[0]["dry_run"], false);
    assert!(runs[0]["finished_at"].is_string());
}
