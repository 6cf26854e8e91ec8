//! Contract tests of the read side, against the recorded CISO Assistant answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use common::*;
use imsbridge_connector::{ConnectorError, Page, Source};
use imsbridge_model::{
    ClauseRef, Conformity, Details, ImplementationStatus, Record, StandardId, StatusCategory,
    TreatmentOption,
};
use mockito::{Matcher, Server};
use serde_json::Value;

fn by_ref<'a>(records: &'a [Record], ref_id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.extra.get("ref_id").map(String::as_str) == Some(ref_id))
        .unwrap_or_else(|| panic!("no record with ref_id {ref_id}"))
}

fn risk(record: &Record) -> &imsbridge_model::RiskDetails {
    match &record.details {
        Details::Risk(r) => r,
        other => panic!("not a risk: {other:?}"),
    }
}

async fn read_all(ca: &impl Source, stream: &str) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = ca.read_page(stream, None, next.as_deref()).await.unwrap();
        next = page.next.clone();
        pages.push(page);
        if next.is_none() {
            return pages;
        }
        assert!(pages.len() < 10, "runaway paging");
    }
}

#[test]
fn fixture_folder_is_found_or_the_test_fails() {
    assert!(fixtures_dir().join("README.md").is_file());
    let err = find_fixtures(Path::new("/nonexistent/repo"), None).unwrap_err();
    assert!(err.contains("IMSBRIDGE_SHARED_DIR"), "{err}");
    let err = find_fixtures(Path::new("/"), Some("/nonexistent/shared")).unwrap_err();
    assert!(err.contains("/nonexistent/shared"), "{err}");
}

#[tokio::test]
async fn risk_scenarios_are_read_across_three_pages() {
    let mut server = Server::new_async().await;
    let first = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![q("limit", "2"), q("ordering", "created_at")]),
        200,
        &fixture("risk-scenarios-page1.json").body,
    )
    .await;
    let second = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![q("offset", "2"), q("risk_assessment", ASSESSMENT)]),
        200,
        &fixture("risk-scenarios-page2.json").body,
    )
    .await;
    let third = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![q("offset", "4"), q("risk_assessment", ASSESSMENT)]),
        200,
        &fixture("risk-scenarios-page3.json").body,
    )
    .await;
    let containers = serve_containers(&mut server).await;
    let ca = connector(&server, &format!("{DEMO}page_size = 2"));

    let pages = read_all(&ca, "risk_scenarios").await;
    assert_eq!(pages.len(), 3);
    for m in [&first, &second, &third] {
        m.assert_async().await;
    }
    // The matrix is fetched once and cached across pages.
    containers[3].assert_async().await;
    assert_eq!(
        pages[0].next.as_deref(),
        Some(
            "/api/risk-scenarios/?limit=2&offset=2&risk_assessment=229498b5-131d-4aca-80e8-adc3a7900f9f"
        ),
        "the server's relative next link is the page token"
    );
    let records: Vec<Record> = pages.iter().flat_map(|p| p.records.clone()).collect();
    assert!(pages.iter().all(|p| p.rejects.is_empty()));
    assert_eq!(records.len(), 6);

    // R-AI-005: inherent proba 0 / impact 4; level 1 = grid[0][4].
    let r5 = by_ref(&records, "R-AI-005");
    let inherent = &risk(r5).inherent;
    let l = inherent.likelihood.as_ref().unwrap();
    assert_eq!(
        (l.value, l.normalised, l.raw.as_str()),
        (1.0, 1.0, "1 - unlikely")
    );
    assert_eq!(l.scale, "ciso-assistant:risk-matrix-5x5-iso27005");
    let i = inherent.impact.as_ref().unwrap();
    assert_eq!(
        (i.value, i.normalised, i.raw.as_str()),
        (5.0, 5.0, "5 - catastrophic")
    );
    let s = inherent.score.as_ref().unwrap();
    assert_eq!(
        (s.value, s.normalised, s.raw.as_str()),
        (2.0, 7.0, "2 - low")
    );
    assert_eq!(
        risk(r5)
            .treatment
            .as_ref()
            .map(|t| (t.option, t.label.as_str())),
        Some((TreatmentOption::Share, "transfer"))
    );
    assert_eq!(
        r5.provenance.external_id,
        "366446b5-261b-4e21-aeda-07faa75c85f8"
    );
    assert_eq!(
        r5.provenance.location,
        "/api/risk-scenarios/366446b5-261b-4e21-aeda-07faa75c85f8/"
    );
    assert_eq!(r5.provenance.connector, "ciso-assistant");
    assert_eq!(r5.provenance.system, "ca");
    assert_eq!(
        r5.provenance.content_hash,
        r5.compute_content_hash(),
        "sealed"
    );
    // current_* has no place in the model: kept, readable, in extra.
    assert_eq!(r5.extra["current_proba"], "1 - unlikely (index 0)");
    assert_eq!(r5.owner.as_deref(), Some("admin@example.com"));
    assert_eq!(r5.extra["owner_ids"], ACTOR);
    assert!(r5.hs.is_empty());

    // R-AI-006: residual not rated; `open` is a state, not a treatment option.
    let r6 = by_ref(&records, "R-AI-006");
    assert!(risk(r6).residual.is_empty());
    assert!(risk(r6).treatment.is_none());
    assert_eq!(
        r6.status.as_ref().map(|s| (s.category, s.label.as_str())),
        Some((StatusCategory::Open, "open"))
    );
    assert_eq!(risk(r6).inherent.score.as_ref().unwrap().raw, "3 - medium");

    // R-AI-004: accept → retain; R-AI-001 residual 1/2 with its justification as the plan.
    assert_eq!(
        risk(by_ref(&records, "R-AI-004"))
            .treatment
            .as_ref()
            .map(|t| t.option),
        Some(TreatmentOption::Retain)
    );
    let r1 = by_ref(&records, "R-AI-001");
    let residual = &risk(r1).residual;
    assert_eq!(residual.likelihood.as_ref().unwrap().value, 2.0);
    assert_eq!(residual.impact.as_ref().unwrap().normalised, 3.0);
    assert_eq!(
        risk(r1).treatment_plan.as_deref(),
        Some("Fairness testing pipeline under deployment")
    );

    // Scenarios of the configured assessment are AI risks, with the reason.
    assert!(records.iter().all(|r| r.ai.flagged));
    assert!(
        r1.ai
            .reason
            .as_deref()
            .unwrap()
            .contains("AI risk register")
    );

    // The cursor is the page's latest updated_at.
    assert_eq!(
        pages[2].cursor,
        Some(
            "2026-11-27T03:51:36.399311Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        )
    );
}

#[tokio::test]
async fn incremental_read_asks_for_changes_since_the_cursor() {
    let mut server = Server::new_async().await;
    let f = fixture("risk-scenarios-updated-since.json");
    assert!(f.path.contains("updated_at__gte=2026-11-27T03:51:35Z"));
    let page = serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::AllOf(vec![
            q("updated_at__gte", "2026-11-27T03:51:35Z"),
            q("limit", "100"),
            q("ordering", "created_at"),
        ]),
        200,
        &f.body,
    )
    .await;
    let matrix = serve_matrix(&mut server).await;
    // With ai = false nothing is resolved and nothing is flagged.
    let ca = connector(&server, &format!("{DEMO}ai = false"));
    let since = "2026-11-27T03:51:35.750Z".parse::<DateTime<Utc>>().unwrap();
    let got = ca
        .read_page("risk_scenarios", Some(since), None)
        .await
        .unwrap();
    page.assert_async().await;
    matrix.assert_async().await;
    let refs: Vec<&str> = got
        .records
        .iter()
        .map(|r| r.extra["ref_id"].as_str())
        .collect();
    assert_eq!(refs, ["R-AI-003", "R-AI-006"]);
    assert!(got.records.iter().all(|r| !r.ai.flagged));
    assert_eq!(got.next, None);
    assert_eq!(
        got.cursor,
        Some(
            "2026-11-27T03:51:36.503198Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        )
    );
}

#[tokio::test]
async fn unmappable_scenarios_are_rejected_with_their_position() {
    let mut server = Server::new_async().await;
    let mut body = fixture("risk-scenarios-page1.json").body;
    body["results"][1]["inherent_proba"]["value"] = Value::from(7);
    body["next"] = Value::Null;
    serve(
        &mut server,
        "GET",
        "/api/risk-scenarios/",
        Matcher::Any,
        200,
        &body,
    )
    .await;
    serve_matrix(&mut server).await;
    let ca = connector(&server, "ai = false");
    let page = ca.read_page("risk_scenarios", None, None).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.rejects.len(), 1);
    let reject = &page.rejects[0];
    assert_eq!(
        reject.location,
        "GET /api/risk-scenarios/?limit=100&ordering=created_at results[1].inherent_proba"
    );
    assert!(reject.message.contains("index 7"), "{}", reject.message);
    assert!(reject.raw.contains("8b9593cf-0bf3-4bb8-893e-4e5f4abc1ce7"));
}

#[tokio::test]
async fn applied_controls_read_display_labels_and_raw_status() {
    let mut server = Server::new_async().await;
    let list = serve_fixture(&mut server, "applied-controls-list.json").await;
    let ca = connector(&server, "");
    let page = ca.read_page("applied_controls", None, None).await.unwrap();
    list.assert_async().await;
    assert!(page.rejects.is_empty());
    assert_eq!(page.records.len(), 3);
    let implementation = |r: &Record| match &r.details {
        Details::Control(c) => c.implementation,
        other => panic!("not a control: {other:?}"),
    };
    let ac10 = by_ref(&page.records, "AC-AI-010");
    assert_eq!(ac10.title, "Bias and fairness testing pipeline");
    assert_eq!(implementation(ac10), Some(ImplementationStatus::InProgress));
    assert_eq!(
        ac10.status.as_ref().unwrap().category,
        StatusCategory::InProgress
    );
    assert_eq!(ac10.dates.due, NaiveDate::from_ymd_opt(2027, 3, 31));
    // Display labels are kept as the list shows them.
    assert_eq!(ac10.extra["priority"], "P2");
    assert_eq!(ac10.extra["category"], "Technical");
    assert_eq!(ac10.extra["csf_function"], "Protect");
    assert_eq!(ac10.extra["effort"], "Medium");
    assert_eq!(ac10.owner.as_deref(), Some("admin@example.com"));
    let ac11 = by_ref(&page.records, "AC-AI-011");
    assert_eq!(
        implementation(ac11),
        Some(ImplementationStatus::Implemented)
    );
    assert!(
        ac11.extra["cost"].contains("amortization_period"),
        "nested objects kept as JSON"
    );
}

#[tokio::test]
async fn requirement_assessments_map_to_iso42001_clauses() {
    let mut server = Server::new_async().await;
    let f = fixture("requirement-assessments-list.json");
    serve(
        &mut server,
        "GET",
        "/api/requirement-assessments/",
        Matcher::Any,
        200,
        &f.body,
    )
    .await;
    let ca = connector(&server, "");
    let page = ca
        .read_page("requirement_assessments", None, None)
        .await
        .unwrap();
    assert!(page.rejects.is_empty(), "{:?}", page.rejects);
    assert_eq!(page.records.len(), 5);
    assert_eq!(
        page.next.as_deref(),
        Some(
            "/api/requirement-assessments/?compliance_assessment=53874e49-34dc-4a2c-a481-71ef8cbb74ce&limit=5&offset=5"
        )
    );
    let by_clause = |clause: &str| {
        page.records
            .iter()
            .find(|r| r.clauses == [ClauseRef::new(StandardId::Iso42001, clause)])
            .unwrap_or_else(|| panic!("no assessment of 42001 {clause}"))
    };
    let result = |r: &Record| match &r.details {
        Details::RequirementAssessment(d) => d.clone(),
        other => panic!("not an assessment: {other:?}"),
    };
    let a41 = by_clause("4.1");
    assert_eq!(result(a41).result, Conformity::PartiallyConforming);
    assert_eq!(
        result(a41).evidence.as_deref(),
        Some("Fairness test report Q3 2026")
    );
    assert_eq!(
        a41.title,
        "4.1 - Understanding the organization and its context"
    );
    assert_eq!(a41.clauses[0].to_string(), "ISO/IEC 42001:2023 4.1");
    assert!(a41.ai.flagged);
    assert!(a41.extra["observation"].contains("provider / deployer"));
    assert_eq!(result(by_clause("4.2")).result, Conformity::NotConforming);
    assert_eq!(result(by_clause("4.3")).result, Conformity::Conforming);
    assert_eq!(result(by_clause("4")).result, Conformity::NotAssessed);
}

#[tokio::test]
async fn requirement_given_by_id_is_looked_up_once() {
    let mut server = Server::new_async().await;
    let mut body = fixture("requirement-assessments-list.json").body;
    let node_id = "1557276e-d27b-4f87-b00c-5d6863c6c728";
    // The same node twice, as a bare UUID (write-style answer).
    for i in [1, 4] {
        body["results"][i]["requirement"] = Value::from(node_id);
    }
    serve(
        &mut server,
        "GET",
        "/api/requirement-assessments/",
        Matcher::Any,
        200,
        &body,
    )
    .await;
    let nodes = fixture("requirement-nodes-iso42001.json");
    let node = serve(
        &mut server,
        "GET",
        &format!("/api/requirement-nodes/{node_id}/"),
        Matcher::Any,
        200,
        &nodes.body["results"][1],
    )
    .await
    .expect(1);
    let ca = connector(&server, "");
    let page = ca
        .read_page("requirement_assessments", None, None)
        .await
        .unwrap();
    node.assert_async().await;
    let a = page
        .records
        .iter()
        .find(|r| r.provenance.external_id == "4225ccb1-ed6a-459f-857f-2d79e54902d7")
        .unwrap();
    assert_eq!(a.clauses, [ClauseRef::new(StandardId::Iso42001, "4.1")]);
}

#[tokio::test]
async fn evidences_incidents_and_findings() {
    let mut server = Server::new_async().await;
    serve_fixture(&mut server, "evidences-list.json").await;
    serve_fixture(&mut server, "incidents-list.json").await;
    serve_fixture(&mut server, "findings-list.json").await;
    let ca = connector(&server, "");

    let evidences = ca.read_page("evidences", None, None).await.unwrap().records;
    let report = evidences
        .iter()
        .find(|r| r.title == "Fairness test report Q3 2026")
        .unwrap();
    let Details::Document(doc) = &report.details else {
        panic!("not a document")
    };
    assert_eq!(
        doc.link.as_deref(),
        Some("https://example.org/reports/fairness-2026-q3.pdf")
    );
    assert_eq!(report.status.as_ref().unwrap().label, "Approved");
    assert_eq!(
        report.status.as_ref().unwrap().category,
        StatusCategory::Closed
    );

    let incidents = ca.read_page("incidents", None, None).await.unwrap().records;
    let inc = by_ref(&incidents, "INC-AI-001");
    let Details::Incident(details) = &inc.details else {
        panic!("not an incident")
    };
    assert_eq!(details.severity.as_deref(), Some("Moderate"));
    assert_eq!(
        inc.status.as_ref().unwrap().category,
        StatusCategory::InProgress
    );
    assert_eq!(
        inc.owner.as_deref(),
        Some("admin@example.com"),
        "incidents use `owners`"
    );
    assert_eq!(inc.dates.identified, NaiveDate::from_ymd_opt(2026, 11, 20));
    assert_eq!(inc.extra["detection"], "External");
    assert!(inc.extra["risk_scenarios"].contains("ca3584b0-4a00-44c3-a759-5e9bd9f429fb"));

    let findings = ca.read_page("findings", None, None).await.unwrap().records;
    let f1 = by_ref(&findings, "F-AI-001");
    let Details::AuditFinding(details) = &f1.details else {
        panic!("not a finding")
    };
    assert_eq!(
        details.audit.as_deref(),
        Some("AI red-team exercise 2026-Q4")
    );
    assert_eq!(
        details.evidence.as_deref(),
        Some("Fairness test report Q3 2026")
    );
    assert_eq!(f1.dates.due, NaiveDate::from_ymd_opt(2027, 1, 31));
    assert_eq!(f1.extra["severity"], "high");
    assert_eq!(f1.extra["priority"], "P1");
    assert_eq!(f1.status.as_ref().unwrap().label, "confirmed");
}

#[tokio::test]
async fn unauthorized_answers_are_actionable_and_never_show_the_token() {
    for name in ["unauthorized.json", "bad-token.json"] {
        let mut server = Server::new_async().await;
        let f = fixture(name);
        assert_eq!(f.status, 401);
        serve(
            &mut server,
            "GET",
            "/api/risk-scenarios/",
            Matcher::Any,
            401,
            &f.body,
        )
        .await;
        let ca = connector(&server, "");
        let err = ca
            .read_page("risk_scenarios", None, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Remote { .. }),
            "{name}: {err:?}"
        );
        let text = err.to_string();
        let detail = f.body["detail"].as_str().unwrap();
        for needle in ["401", "token_env", "Authorization: Token", detail] {
            assert!(text.contains(needle), "{name}: {needle} missing in {text}");
        }
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }
}

#[tokio::test]
async fn unknown_stream_is_named() {
    let server = Server::new_async().await;
    let ca = connector(&server, "");
    let err = ca
        .read_page("risks", None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("risks") && err.contains("risk_scenarios"),
        "{err}"
    );
}

#[test]
fn a_missing_token_is_a_configuration_error_and_debug_hides_the_token() {
    // unauthorized.json: the server refuses a request without a token; the connector does not
    // even build without one.
    let text = "name = 'ca'\ntype = 'ciso-assistant'\nbase_url = 'https://ca.example'\ntoken_env = 'CA_TOKEN'";
    let entry = imsbridge_connector::SystemEntry::split(0, toml::from_str(text).unwrap()).unwrap();
    let err = imsbridge_connector_ciso_assistant::CisoAssistant::from_entry(
        &entry,
        imsbridge_connector::Credentials::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("token"), "{err}");
    let ca = imsbridge_connector_ciso_assistant::CisoAssistant::from_entry(
        &entry,
        imsbridge_connector::Credentials {
            token: Some(TOKEN.into()),
            ..Default::default()
        },
    )
    .unwrap();
    let shown = format!("{ca:?}");
    assert!(
        shown.contains("ca.example") && !shown.contains(TOKEN),
        "{shown}"
    );
}
