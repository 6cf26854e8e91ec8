//! Contract tests of the read side against an emulated instance (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, Utc};
use common::*;
use imsbridge_connector::{ConnectorError, Page, Source};
use imsbridge_model::{
    Details, ImplementationStatus, Record, RecordKind, StandardId, StatusCategory, TreatmentOption,
};
use mockito::Server;
use serde_json::json;

async fn read_all(sn: &impl Source, stream: &str, since: Option<DateTime<Utc>>) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = sn.read_page(stream, since, next.as_deref()).await.unwrap();
        next = page.next.clone();
        pages.push(page);
        if next.is_none() {
            return pages;
        }
        assert!(pages.len() < 20, "runaway paging");
    }
}

fn records(pages: &[Page]) -> Vec<Record> {
    pages.iter().flat_map(|p| p.records.clone()).collect()
}

fn ids(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.provenance.external_id.clone())
        .collect()
}

#[tokio::test]
async fn risks_map_every_field_and_keep_the_rest() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        RISKS,
        vec![row(
            1,
            10,
            20,
            json!({
                "number": "RISK0010001", "name": "Training data bias",
                "description": "Under-represented groups", "category": "operational",
                "response": "mitigate", "state": "monitor",
                "inherent_likelihood": "4", "inherent_impact": "5", "inherent_score": "20",
                "residual_likelihood": "2", "residual_impact": "3", "residual_score": "6",
                "owner": "6816f79cc0a8016401c5a33be04be441", "profile": "a1b2",
                "u_imsbridge_id": "IMSB-00112233aabbccdd",
            }),
        )],
    );
    let sn = connector(&sn_instance.url(), "");
    let page = sn.read_page("risks", None, None).await.unwrap();
    assert!(page.rejects.is_empty() && page.next.is_none());
    let [r] = page.records.as_slice() else {
        panic!("{:?}", page.records)
    };
    assert_eq!(r.kind(), RecordKind::Risk);
    assert_eq!(r.title, "Training data bias");
    assert_eq!(r.description.as_deref(), Some("Under-represented groups"));
    assert_eq!(r.provenance.external_id, sys_id(1));
    assert_eq!(r.provenance.connector, "servicenow");
    assert_eq!(
        r.provenance.location,
        format!("/api/now/table/sn_risk_risk/{}", sys_id(1))
    );
    assert_eq!(r.provenance.content_hash, r.compute_content_hash());
    let (category, label) = r
        .status
        .as_ref()
        .map(|s| (s.category, s.label.as_str()))
        .unwrap();
    assert_eq!((category, label), (StatusCategory::InProgress, "monitor"));
    assert_eq!(r.dates.identified, NaiveDate::from_ymd_opt(2026, 1, 1));
    let Details::Risk(risk) = &r.details else {
        panic!("not a risk")
    };
    assert_eq!(risk.category.as_deref(), Some("operational"));
    assert_eq!(
        risk.treatment.as_ref().unwrap().option,
        TreatmentOption::Modify
    );
    assert_eq!(risk.inherent.likelihood.as_ref().unwrap().normalised, 4.0);
    assert_eq!(risk.inherent.score.as_ref().unwrap().value, 20.0);
    assert_eq!(
        risk.residual.impact.as_ref().unwrap().scale,
        "servicenow:1-5"
    );
    // The bridge's own risks are AI risks.
    assert!(
        r.ai.flagged
            && r.ai
                .reason
                .as_deref()
                .unwrap()
                .contains("IMSB-00112233aabbccdd")
    );
    // References and everything unmapped: kept, nothing lost.
    for (field, value) in [
        ("number", "RISK0010001"),
        ("owner", "6816f79cc0a8016401c5a33be04be441"),
        ("profile", "a1b2"),
        ("sys_updated_on", "2026-01-01 00:00:20"),
        ("sys_mod_count", "0"),
    ] {
        assert_eq!(
            r.extra.get(field).map(String::as_str),
            Some(value),
            "{field}"
        );
    }
    assert_eq!(page.cursor, Some("2026-01-01T00:00:20Z".parse().unwrap()));
    // Raw values, no reference links, explicit order.
    let seen = &sn_instance.requests()[0];
    for part in [
        "sysparm_display_value=false",
        "sysparm_exclude_reference_link=true",
        "sysparm_query=ORDERBYsys_created_on^ORDERBYsys_id",
        "sysparm_limit=100",
        "sysparm_offset=0",
    ] {
        assert!(
            seen.target.contains(part),
            "{part} missing in {}",
            seen.target
        );
    }
    assert!(!seen.target.contains("sysparm_fields"), "{}", seen.target);
    assert_eq!(seen.authorization, basic_header());
}

#[tokio::test]
async fn the_other_streams_map_to_their_kinds() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        "sn_compliance_control",
        vec![
            row(
                1,
                1,
                1,
                json!({"name": "Access review", "state": "attest", "status": "compliant"}),
            ),
            row(
                2,
                2,
                2,
                json!({"name": "Model card", "status": "non_compliant"}),
            ),
        ],
    );
    sn_instance.put(
        "sn_compliance_policy_statement",
        vec![row(3, 3, 3, json!({"name": "AI system impact assessment", "reference": "ISO/IEC 42001:2023 A.5.2", "state": "draft"}))],
    );
    sn_instance.put(
        "sn_grc_issue",
        vec![row(
            4,
            4,
            4,
            json!({
                "number": "ISS0001", "short_description": "Control failed attestation",
                "state": "2", "priority": "2", "recommendation": "Re-run the review",
                "opened_at": "2026-02-01 08:00:00", "due_date": "2026-03-01",
            }),
        )],
    );
    sn_instance.put(
        "sn_audit_engagement",
        vec![row(5, 5, 5, json!({"number": "AUD0001", "short_description": "ISMS internal audit 2026", "state": "3", "closed_at": "2026-04-30 17:00:00"}))],
    );
    sn_instance.put(
        "sn_si_incident",
        vec![row(
            6,
            6,
            6,
            json!({
                "number": "SIR0001", "short_description": "Prompt injection in chatbot",
                "state": "18", "severity": "1", "category": "unauthorized_access",
                "close_notes": "", "opened_at": "2026-05-02 09:30:00",
            }),
        )],
    );
    let sn = connector(&sn_instance.url(), "");
    let streams: Vec<(&str, RecordKind)> = sn.streams().iter().map(|s| (s.name, s.kind)).collect();
    assert_eq!(
        streams,
        [
            ("risks", RecordKind::Risk),
            ("controls", RecordKind::Control),
            ("control_objectives", RecordKind::Control),
            ("issues", RecordKind::Nonconformity),
            ("audits", RecordKind::Document),
            ("incidents", RecordKind::Incident),
        ]
    );
    assert!(
        sn.streams()
            .iter()
            .all(|s| s.primary_key == "sys_id" && s.cursor_field == Some("sys_updated_on"))
    );

    let controls = sn.read_page("controls", None, None).await.unwrap().records;
    let Details::Control(c) = &controls[0].details else {
        panic!()
    };
    assert_eq!(
        (c.applicable, c.implementation),
        (Some(true), Some(ImplementationStatus::Implemented))
    );
    let Details::Control(c) = &controls[1].details else {
        panic!()
    };
    assert_eq!(c.implementation, None);
    assert_eq!(
        controls[1].extra["status"], "non_compliant",
        "an unmapped verdict is kept"
    );

    let objective = &sn
        .read_page("control_objectives", None, None)
        .await
        .unwrap()
        .records[0];
    assert_eq!(objective.kind(), RecordKind::Control);
    assert_eq!(objective.clauses.len(), 1);
    assert_eq!(objective.clauses[0].standard, StandardId::Iso42001);
    assert!(!objective.extra.contains_key("reference"));

    let issue = &sn.read_page("issues", None, None).await.unwrap().records[0];
    let Details::Nonconformity(nc) = &issue.details else {
        panic!()
    };
    assert_eq!(issue.title, "Control failed attestation");
    assert_eq!(nc.severity.as_deref(), Some("2 - High"));
    assert_eq!(nc.corrective_action.as_deref(), Some("Re-run the review"));
    assert_eq!(
        issue.status.as_ref().unwrap().category,
        StatusCategory::InProgress
    );
    assert_eq!(issue.dates.identified, NaiveDate::from_ymd_opt(2026, 2, 1));
    assert_eq!(issue.dates.due, NaiveDate::from_ymd_opt(2026, 3, 1));
    assert_eq!(issue.extra["number"], "ISS0001");

    let audit = &sn.read_page("audits", None, None).await.unwrap().records[0];
    let Details::Document(doc) = &audit.details else {
        panic!()
    };
    assert_eq!(doc.document_type.as_deref(), Some("audit engagement"));
    assert_eq!(
        doc.link.as_deref(),
        Some(
            format!(
                "{}/sn_audit_engagement.do?sys_id={}",
                sn_instance.url(),
                sys_id(5)
            )
            .as_str()
        )
    );
    assert_eq!(audit.status.as_ref().unwrap().label, "Closed Complete");
    assert_eq!(audit.dates.closed, NaiveDate::from_ymd_opt(2026, 4, 30));

    let incident = &sn.read_page("incidents", None, None).await.unwrap().records[0];
    let Details::Incident(i) = &incident.details else {
        panic!()
    };
    assert_eq!(i.severity.as_deref(), Some("1 - High"));
    assert_eq!(i.category.as_deref(), Some("unauthorized_access"));
    assert_eq!(i.resolution, None);
    let status = incident.status.as_ref().unwrap();
    assert_eq!(
        (status.category, status.label.as_str()),
        (StatusCategory::InProgress, "Contain")
    );
    assert!(!incident.ai.flagged);
}

#[tokio::test]
async fn pages_follow_the_link_header_to_the_last_page() {
    let sn_instance = Instance::start().await;
    let rows = (1..=5)
        .map(|n| row(n, n * 10, 100 - n, json!({"name": format!("Risk {n}")})))
        .collect();
    sn_instance.put(RISKS, rows);
    let sn = connector(&sn_instance.url(), "page_size = 2");
    let pages = read_all(&sn, "risks", None).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        ids(&records(&pages)),
        (1..=5).map(sys_id).collect::<Vec<_>>()
    );
    // The page token is the Link header's next target, on the configured host.
    let next = pages[0].next.as_deref().unwrap();
    assert!(
        next.starts_with("/api/now/table/sn_risk_risk?") && next.contains("sysparm_offset=2"),
        "{next}"
    );
    let targets: Vec<String> = sn_instance
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(targets.len(), 3, "one request per page: {targets:?}");
    assert!(targets[2].contains("sysparm_offset=4"), "{targets:?}");
    // The cursor of each page is its latest sys_updated_on.
    assert_eq!(
        pages[0].cursor,
        Some("2026-01-01T00:01:39Z".parse().unwrap())
    );
}

#[tokio::test]
async fn incremental_reads_ask_for_changes_since_the_cursor_in_whole_utc_seconds() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        RISKS,
        vec![
            row(1, 1, 50, json!({"name": "old"})),
            row(2, 2, 100, json!({"name": "at the bound"})),
            row(3, 3, 200, json!({"name": "new"})),
        ],
    );
    let sn = connector(&sn_instance.url(), "");
    let since: DateTime<Utc> = "2026-01-01T00:01:40.750Z".parse().unwrap();
    let page = sn.read_page("risks", Some(since), None).await.unwrap();
    let query = &sn_instance.requests()[0].target;
    assert!(
        query.contains(
            "sysparm_query=sys_updated_on>=2026-01-01 00:01:40^ORDERBYsys_created_on^ORDERBYsys_id&"
        ),
        "{query}"
    );
    assert_eq!(
        ids(&page.records),
        [sys_id(2), sys_id(3)],
        "the bound is inclusive"
    );
}

#[tokio::test]
async fn a_walk_survives_edits_midway_without_skipping_or_repeating_a_row() {
    let sn_instance = Instance::start().await;
    // A is older than the window; B..E are in it, in creation order, B updated last.
    sn_instance.put(
        RISKS,
        vec![
            row(1, 10, 5, json!({"name": "A"})),
            row(2, 20, 190, json!({"name": "B"})),
            row(3, 30, 150, json!({"name": "C"})),
            row(4, 40, 160, json!({"name": "D"})),
            row(5, 50, 170, json!({"name": "E"})),
        ],
    );
    // After the first page a user edits A (which now enters the window) and C (read on the
    // first page). Ordered by sys_updated_on, C would jump to the end and E would slide back
    // onto the first page's offsets: never read.
    sn_instance.with(|s| {
        s.after_list = Some(Box::new(|tables, pages| {
            if pages == 1 {
                for row in tables.get_mut(RISKS).unwrap().iter_mut() {
                    if row["name"] == "A" || row["name"] == "C" {
                        row.insert("sys_updated_on".into(), json!(ts(500)));
                    }
                }
            }
        }));
    });
    let sn = connector(&sn_instance.url(), "page_size = 2");
    let since = "2026-01-01T00:01:00Z".parse().unwrap();
    let pages = read_all(&sn, "risks", Some(since)).await;
    let read = ids(&records(&pages));
    // A entering the window shifted C onto the second page again: it is returned once, and
    // nothing is skipped.
    assert_eq!(read, [sys_id(2), sys_id(3), sys_id(4), sys_id(5)]);
    let second = &sn_instance.requests()[1].target;
    assert!(
        second.contains("ORDERBYsys_created_on^ORDERBYsys_id"),
        "{second}"
    );
    // A new walk starts afresh: nothing is remembered from the last one.
    let again = read_all(&sn, "risks", Some(since)).await;
    assert_eq!(records(&again).len(), 5);
}

#[tokio::test]
async fn unmappable_rows_are_rejected_with_their_position_and_raw_json() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        RISKS,
        vec![
            row(1, 1, 1, json!({"name": "fine"})),
            row(2, 2, 2, json!({"name": "", "short_description": " "})),
        ],
    );
    let sn = connector(&sn_instance.url(), "");
    let page = sn.read_page("risks", None, None).await.unwrap();
    assert_eq!(page.records.len(), 1);
    let [reject] = page.rejects.as_slice() else {
        panic!("{:?}", page.rejects)
    };
    assert!(
        reject
            .location
            .starts_with("GET /api/now/table/sn_risk_risk?")
            && reject
                .location
                .ends_with(&format!("result[1] (sys_id {}).name", sys_id(2))),
        "{}",
        reject.location
    );
    assert!(reject.message.contains("title"), "{}", reject.message);
    assert!(reject.raw.contains(&sys_id(2)) && reject.raw.contains("\"short_description\""));
}

#[tokio::test]
async fn configured_tables_and_fields_are_asked_for() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        "u_ai_risk",
        vec![row(1, 1, 1, json!({"name": "x", "u_note": "kept"}))],
    );
    let sn = connector(
        &sn_instance.url(),
        "risk_table = 'u_ai_risk'\nread_fields = ['u_note']",
    );
    let page = sn.read_page("risks", None, None).await.unwrap();
    assert_eq!(page.records[0].extra["u_note"], "kept");
    let target = &sn_instance.requests()[0].target;
    assert!(target.starts_with("/api/now/table/u_ai_risk?"), "{target}");
    assert!(
        target.contains("sysparm_fields=sys_id,sys_created_on,sys_updated_on,name,")
            && target.contains(",u_imsbridge_id,u_note"),
        "{target}"
    );
    let err = sn
        .read_page("risk", None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no stream `risk`") && err.contains("control_objectives"),
        "{err}"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says() {
    let sn_instance = Instance::start().await;
    sn_instance.put(RISKS, vec![row(1, 1, 1, json!({"name": "x"}))]);
    let mut fault = Fault::status(
        "GET",
        "/api/now/table/sn_risk_risk",
        429,
        json!({"error": {"message": "Too Many Requests"}, "status": "failure"}),
    );
    fault.headers.push(("retry-after".into(), "1".into()));
    sn_instance.fault(fault);
    let sn = connector(&sn_instance.url(), "");
    let started = Instant::now();
    let page = sn.read_page("risks", None, None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.records.len(), 1);
    assert_eq!(sn_instance.requests().len(), 2);
}

#[tokio::test]
async fn a_used_up_rate_limit_pauses_the_next_request_until_reset_capped() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        RISKS,
        (1..=2)
            .map(|n| row(n, n, n, json!({"name": "x"})))
            .collect(),
    );
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    sn_instance.fault(Fault {
        method: "GET",
        contains: "sysparm_offset=0".into(),
        status: None,
        body: String::new(),
        headers: vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), reset.to_string()),
        ],
        apply_first: false,
        times: 1,
    });
    // The reset is an hour away: the pause is capped at max_rate_limit_wait_secs.
    let sn = connector(
        &sn_instance.url(),
        "page_size = 1\nmax_rate_limit_wait_secs = 1",
    );
    let first = sn.read_page("risks", None, None).await.unwrap();
    let started = Instant::now();
    let second = sn
        .read_page("risks", None, first.next.as_deref())
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(second.records.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Error bodies: each message says what happened and what to change.
// ---------------------------------------------------------------------------------------------

async fn error_of(status: usize, body: serde_json::Value, extra: &str) -> ConnectorError {
    let mut server = Server::new_async().await;
    server
        .mock("GET", mockito::Matcher::Regex("^/api/now/table/".into()))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create_async()
        .await;
    connector(&server.url(), extra)
        .read_page("risks", None, None)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_400_shows_the_instance_s_message_and_detail() {
    let err = error_of(
        400,
        json!({"error": {"message": "Invalid query", "detail": "Field 'u_risk_sc0re' is not a valid field of table sn_risk_risk"}, "status": "failure"}),
        "",
    )
    .await;
    assert!(matches!(err, ConnectorError::Remote { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("snow: GET /api/now/table/sn_risk_risk?"),
        "{text}"
    );
    assert!(
        text.contains("was rejected (400): Invalid query: Field 'u_risk_sc0re' is not a valid field of table sn_risk_risk"),
        "{text}"
    );
}

#[tokio::test]
async fn a_401_names_the_credential_keys_and_never_the_password() {
    let err = error_of(
        401,
        json!({"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"}),
        "",
    )
    .await;
    let text = err.to_string();
    for needle in [
        "401",
        "User Not Authenticated: Required to provide Auth information",
        "username_env",
        "password_env",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    assert!(!text.contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD));
}

#[tokio::test]
async fn a_403_is_an_acl_refusal_naming_the_table() {
    let err = error_of(
        403,
        json!({"error": {"message": "Operation Failed", "detail": "ACL Exception Read Failed due to security constraints"}, "status": "failure"}),
        "",
    )
    .await
    .to_string();
    assert!(
        err.contains(
            "refused (403): Operation Failed: ACL Exception Read Failed due to security constraints"
        ),
        "{err}"
    );
    assert!(
        err.contains("ACLs deny it read access to sn_risk_risk") && err.contains("role"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_table_names_the_table_and_its_key() {
    for status in [404, 400] {
        let err = error_of(
            status,
            json!({"error": {"message": "Invalid table sn_risk_riks", "detail": null}, "status": "failure"}),
            "risk_table = 'sn_risk_riks'",
        )
        .await
        .to_string();
        assert!(
            err.contains(&format!("failed ({status})"))
                && err.contains("the table `sn_risk_riks` does not exist")
                && err.contains("fix `risk_table`")
                && err.contains("Invalid table sn_risk_riks"),
            "{err}"
        );
    }
}
