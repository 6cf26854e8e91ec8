//! Contract tests of the write side: correlation, creates and updates (Table API and Import
//! Set), lost answers, OAuth, and `systems check`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use imsbridge_connector::{
    CheckStatus, ConnectorError, Credentials, FieldMap, Source, Target, correlation_id,
};
use imsbridge_model::{
    AiFlag, Dates, Details, Provenance, Record, RecordId, RecordKind, RiskDetails, Treatment,
};
use mockito::{Matcher, Server};
use serde_json::{Value, json};

const CORR: &str = "IMSB-0a1b2c3d4e5f6071";

fn risk(title: &str, description: Option<&str>, treatment: Option<&str>) -> Record {
    let mut record = Record {
        id: RecordId::from_source("erm", RecordKind::Risk, title),
        provenance: Provenance {
            system: "erm".into(),
            connector: "spreadsheet".into(),
            external_id: title.into(),
            location: "risks.xlsx!Risks!A2".into(),
            imported_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            content_hash: String::new(),
        },
        title: title.into(),
        description: description.map(str::to_string),
        owner: Some("Head of Data Science".into()),
        status: None,
        dates: Dates::default(),
        clauses: vec![],
        hs: vec![],
        ai: AiFlag {
            flagged: true,
            ..AiFlag::default()
        },
        details: Details::Risk(Box::new(RiskDetails {
            category: Some("operational".into()),
            treatment: treatment.map(|t| Treatment::parse(t).unwrap()),
            ..RiskDetails::default()
        })),
        extra: BTreeMap::new(),
    };
    record.seal();
    record
}

fn fields(pairs: &[(&str, &str)]) -> FieldMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

#[tokio::test]
async fn descriptive_fields_by_default_configured_ones_on_request() {
    let record = risk(
        "Model drift",
        Some(" Accuracy decays "),
        Some("Transfer to insurer"),
    );
    let sn = connector("https://x.service-now.com", "");
    let desired = sn.desired(&record).unwrap();
    assert_eq!(
        desired.fields,
        fields(&[("name", "Model drift"), ("description", "Accuracy decays")])
    );
    assert!(desired.conversions.is_empty());

    let sn = connector(
        "https://x.service-now.com",
        "write_fields = ['short_description', 'category', 'response']",
    );
    let desired = sn.desired(&record).unwrap();
    assert_eq!(
        desired.fields,
        fields(&[
            ("short_description", "Model drift"),
            ("category", "operational"),
            ("response", "transfer"),
        ])
    );
    assert_eq!(desired.conversions[0].from, "Transfer to insurer (share)");
    assert_eq!(desired.conversions[0].to, "\"transfer\"");
    let undecided = risk("x", None, None);
    assert_eq!(
        sn.desired(&undecided).unwrap().fields["response"],
        json!("")
    );

    // Only titled risks.
    let untitled = risk("  ", None, None);
    assert!(matches!(
        sn.desired(&untitled),
        Err(ConnectorError::Unwritable { .. })
    ));
    let mut incident = record.clone();
    incident.details = Details::empty(RecordKind::Incident);
    let err = sn.desired(&incident).unwrap_err();
    assert!(
        matches!(err, ConnectorError::Unwritable { .. })
            && err.to_string().contains("risk records only")
    );
}

#[tokio::test]
async fn lookup_confirms_the_correlation_exactly() {
    let sn_instance = Instance::start().await;
    // The instance compares case-insensitively: the near match comes back too.
    sn_instance.put(
        RISKS,
        vec![
            row(
                1,
                1,
                1,
                json!({"name": "near", CORR_FIELD: CORR.to_lowercase()}),
            ),
            row(
                2,
                2,
                2,
                json!({"name": "exact", "description": "d", CORR_FIELD: CORR}),
            ),
        ],
    );
    let sn = connector(&sn_instance.url(), "");
    let hit = sn.lookup(RecordKind::Risk, CORR).await.unwrap().unwrap();
    assert_eq!(hit.remote_id, sys_id(2));
    assert_eq!(hit.correlation.as_deref(), Some(CORR));
    assert_eq!(hit.version.as_deref(), Some("2026-01-01 00:00:02#0"));
    assert_eq!(
        hit.fields,
        fields(&[("name", "exact"), ("description", "d")])
    );
    let query = &sn_instance.requests()[0].target;
    assert!(
        query.starts_with(&format!(
            "/api/now/table/sn_risk_risk?sysparm_query=u_imsbridge_id={CORR}^ORDERBYsys_created_on^ORDERBYsys_id&"
        )) && query.contains("sysparm_fields=sys_id,sys_updated_on,sys_mod_count,u_imsbridge_id,name,description"),
        "{query}"
    );
    // Only a near match: not found, so the engine may create.
    sn_instance.with(|s| s.tables.get_mut(RISKS).unwrap().truncate(1));
    assert_eq!(sn.lookup(RecordKind::Risk, CORR).await.unwrap(), None);
    let err = sn.lookup(RecordKind::Incident, CORR).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unwritable { .. }));
}

#[tokio::test]
async fn list_walks_every_page_and_keeps_the_bridge_s_rows_only() {
    let sn_instance = Instance::start().await;
    let mut rows: Vec<Row> = (1..=5)
        .map(|n| {
            row(
                n,
                n,
                n,
                json!({"name": format!("AI risk {n}"), CORR_FIELD: format!("IMSB-{n:016x}")}),
            )
        })
        .collect();
    rows.push(row(
        6,
        6,
        6,
        json!({"name": "someone else's", CORR_FIELD: ""}),
    ));
    rows.push(row(
        7,
        7,
        7,
        json!({"name": "look-alike", CORR_FIELD: "imsb-lowercase"}),
    ));
    sn_instance.put(RISKS, rows);
    let sn = connector(&sn_instance.url(), "page_size = 2");
    let listed = sn.list(RecordKind::Risk).await.unwrap();
    let ids: Vec<String> = listed.iter().map(|r| r.remote_id.clone()).collect();
    assert_eq!(ids, (1..=5).map(sys_id).collect::<Vec<_>>());
    assert_eq!(
        listed[4].correlation.as_deref(),
        Some("IMSB-0000000000000005")
    );
    assert_eq!(listed[0].fields["name"], json!("AI risk 1"));
    let requests = sn_instance.requests();
    assert_eq!(requests.len(), 3, "three pages of two");
    assert!(
        requests[0].target.contains(
            "sysparm_query=u_imsbridge_idSTARTSWITHIMSB-^ORDERBYsys_created_on^ORDERBYsys_id"
        ),
        "{}",
        requests[0].target
    );
}

#[tokio::test]
async fn create_posts_the_fields_and_the_correlation_id() {
    let sn_instance = Instance::start().await;
    let sn = connector(&sn_instance.url(), "");
    let record = risk(
        "Prompt injection",
        Some("Chatbot follows injected text"),
        None,
    );
    let desired = sn.desired(&record).unwrap();
    let corr = correlation_id(&record);
    let created = sn
        .create(RecordKind::Risk, &corr, &desired.fields)
        .await
        .unwrap();
    let seen = sn_instance.requests();
    let [post] = seen.as_slice() else {
        panic!("{seen:?}")
    };
    assert_eq!(post.method, "POST");
    assert!(
        post.target
            .starts_with("/api/now/table/sn_risk_risk?sysparm_display_value=false"),
        "{}",
        post.target
    );
    assert_eq!(
        serde_json::from_str::<Value>(&post.body).unwrap(),
        json!({"name": "Prompt injection", "description": "Chatbot follows injected text", CORR_FIELD: corr})
    );
    assert_eq!(created.correlation.as_deref(), Some(corr.as_str()));
    assert_eq!(
        created.fields, desired.fields,
        "the answer reads back as what was written"
    );
    let stored = sn_instance.with(|s| s.rows(RISKS)[0].clone());
    assert_eq!(created.remote_id, stored["sys_id"]);
    assert_eq!(
        created.version,
        Some(format!("{}#0", stored["sys_updated_on"].as_str().unwrap()))
    );
}

#[tokio::test]
async fn update_patches_only_the_changes() {
    let sn_instance = Instance::start().await;
    sn_instance.put(
        RISKS,
        vec![row(
            9,
            1,
            1,
            json!({"name": "Old", "description": "keep", CORR_FIELD: CORR}),
        )],
    );
    let sn = connector(&sn_instance.url(), "");
    let changes = fields(&[("name", "New")]);
    let updated = sn
        .update(RecordKind::Risk, &sys_id(9), &changes)
        .await
        .unwrap();
    let seen = sn_instance.requests();
    assert_eq!(seen[0].method, "PATCH");
    assert!(
        seen[0]
            .target
            .starts_with(&format!("/api/now/table/sn_risk_risk/{}?", sys_id(9)))
    );
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({"name": "New"})
    );
    assert_eq!(
        updated.fields,
        fields(&[("name", "New"), ("description", "keep")])
    );
    assert!(
        updated.version.as_deref().unwrap().ends_with("#1"),
        "{:?}",
        updated.version
    );
    let err = sn
        .update(RecordKind::Risk, "../sys_user", &changes)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a ServiceNow sys_id"), "{err}");
}

#[tokio::test]
async fn the_import_set_path_writes_through_the_staging_table() {
    let sn_instance = Instance::start().await;
    sn_instance.with(|s| {
        s.import_maps
            .insert("u_imsb_risk_import".into(), RISKS.into());
    });
    let sn = connector(
        &sn_instance.url(),
        "import_set_table = 'u_imsb_risk_import'",
    );
    let created = sn
        .create(
            RecordKind::Risk,
            CORR,
            &fields(&[("name", "Drift"), ("description", "")]),
        )
        .await
        .unwrap();
    let updated = sn
        .update(
            RecordKind::Risk,
            &created.remote_id,
            &fields(&[("description", "now described")]),
        )
        .await
        .unwrap();
    assert_eq!(updated.remote_id, created.remote_id);
    assert_eq!(updated.fields["description"], json!("now described"));
    assert_eq!(
        sn_instance.with(|s| s.rows(RISKS).len()),
        1,
        "coalesced, not inserted twice"
    );
    let lines: Vec<String> = sn_instance
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap()))
        .collect();
    let row = format!("/api/now/table/sn_risk_risk/{}", created.remote_id);
    assert_eq!(
        lines,
        [
            "POST /api/now/import/u_imsb_risk_import".to_string(),
            format!("GET {row}"),
            format!("GET {row}"),
            "POST /api/now/import/u_imsb_risk_import".to_string(),
            format!("GET {row}"),
        ]
    );
    let bodies: Vec<Value> = sn_instance
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies[1],
        json!({"description": "now described", CORR_FIELD: CORR})
    );

    // A transform that fails says so, with the transform's message.
    sn_instance.fault(Fault::status(
        "POST",
        "/api/now/import/",
        201,
        json!({"import_set": "ISET1", "result": [{"status": "error", "status_message": "Field 'name' is mandatory", "table": RISKS}]}),
    ));
    let err = sn
        .create(RecordKind::Risk, "IMSB-ffffffffffffffff", &FieldMap::new())
        .await
        .unwrap_err();
    assert!(!err.is_ambiguous(), "{err:?}");
    assert!(
        err.to_string()
            .contains("status error): Field 'name' is mandatory"),
        "{err}"
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_ambiguous_and_sent_once() {
    let sn_instance = Instance::start().await;
    let sn = connector(&sn_instance.url(), "");
    let body = fields(&[("name", "x"), ("description", "")]);
    // Stored, then a 500.
    let mut fault = Fault::status(
        "POST",
        RISKS,
        500,
        json!({"error": {"message": "Transaction cancelled"}, "status": "failure"}),
    );
    fault.apply_first = true;
    sn_instance.fault(fault);
    let err = sn.create(RecordKind::Risk, CORR, &body).await.unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(
        err.to_string().contains("may or may not have been created"),
        "{err}"
    );
    assert_eq!(sn_instance.requests().len(), 1, "never repeated blindly");
    // The engine's lookup then finds it.
    assert!(sn.lookup(RecordKind::Risk, CORR).await.unwrap().is_some());

    // A 2xx that cannot be read: created, probably.
    let mut fault = Fault::status("POST", RISKS, 201, json!("<html>proxy</html>"));
    fault.apply_first = true;
    sn_instance.fault(fault);
    let err = sn
        .create(RecordKind::Risk, "IMSB-1111111111111111", &body)
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");

    // A refusal is no ambiguity: nothing was written.
    sn_instance.fault(Fault::status(
        "POST",
        RISKS,
        400,
        json!({"error": {"message": "Operation Failed", "detail": "Data Policy Exception: The following fields are mandatory: Entity"}, "status": "failure"}),
    ));
    let err = sn
        .create(RecordKind::Risk, "IMSB-2222222222222222", &body)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Remote { .. }), "{err:?}");
    assert!(
        err.to_string().contains("rejected (400): Operation Failed: Data Policy Exception: The following fields are mandatory: Entity"),
        "{err}"
    );
}

#[tokio::test]
async fn a_create_that_times_out_is_ambiguous() {
    let mut server = Server::new_async().await;
    let post = server
        .mock(
            "POST",
            Matcher::Regex("^/api/now/table/sn_risk_risk".into()),
        )
        .with_status(201)
        .with_chunked_body(|w| {
            std::thread::sleep(Duration::from_millis(1300));
            w.write_all(b"{\"result\":{}}")
        })
        .expect(1)
        .create_async()
        .await;
    let sn = connector(&server.url(), "timeout_secs = 1");
    let err = sn
        .create(RecordKind::Risk, CORR, &FieldMap::new())
        .await
        .unwrap_err();
    post.assert_async().await;
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

const CLIENT_ID: &str = "3f2a9c0d5e";
const CLIENT_SECRET: &str = "oauth-s3cret-canary";
const REFRESH: &str = "refresh-canary-55aa";

fn oauth(url: &str, refresh: bool) -> imsbridge_connector_servicenow::ServiceNow {
    let mut keys =
        "oauth_client_id_env = 'SN_ID'\noauth_client_secret_env = 'SN_SECRET'\n".to_string();
    if refresh {
        keys.push_str("oauth_refresh_token_env = 'SN_REFRESH'\n");
    }
    keys.push_str("write = ['risk']\n");
    connector_with(url, &keys, Credentials::default(), &|name| match name {
        "SN_ID" => Some(CLIENT_ID.into()),
        "SN_SECRET" => Some(CLIENT_SECRET.into()),
        "SN_REFRESH" => Some(REFRESH.into()),
        _ => None,
    })
}

async fn token_mock(server: &mut Server, grant: &str, token: &str) -> mockito::Mock {
    server
        .mock("POST", "/oauth_token.do")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_header("authorization", Matcher::Missing)
        .match_body(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), grant.into()),
            Matcher::UrlEncoded("client_id".into(), CLIENT_ID.into()),
            Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
        ]))
        .with_status(200)
        .with_body(json!({"access_token": token, "scope": "useraccount", "token_type": "Bearer", "expires_in": 1799}).to_string())
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn oauth_tokens_are_fetched_once_cached_and_renewed_after_a_401() {
    let mut server = Server::new_async().await;
    let first = token_mock(&mut server, "client_credentials", "tok-1").await;
    let second = token_mock(&mut server, "client_credentials", "tok-2").await;
    let table = Matcher::Regex("^/api/now/table/sn_risk_risk".into());
    let ok_1 = server
        .mock("GET", table.clone())
        .match_header("authorization", "Bearer tok-1")
        .with_body(r#"{"result":[]}"#)
        .expect(2)
        .create_async()
        .await;
    // The instance revokes tok-1.
    let revoked = server
        .mock("GET", table.clone())
        .match_header("authorization", "Bearer tok-1")
        .with_status(401)
        .with_body(r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#)
        .expect(1)
        .create_async()
        .await;
    let ok_2 = server
        .mock("GET", table)
        .match_header("authorization", "Bearer tok-2")
        .with_body(r#"{"result":[]}"#)
        .expect(1)
        .create_async()
        .await;
    let sn = oauth(&server.url(), false);
    for _ in 0..3 {
        sn.read_page("risks", None, None).await.unwrap();
    }
    for m in [&first, &second, &ok_1, &revoked, &ok_2] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn a_refused_oauth_client_is_explained_without_its_secrets() {
    let mut server = Server::new_async().await;
    let token = server
        .mock("POST", "/oauth_token.do")
        .match_body(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), "refresh_token".into()),
            Matcher::UrlEncoded("refresh_token".into(), REFRESH.into()),
            Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
        ]))
        .with_status(401)
        // A server echoing what it was sent.
        .with_body(json!({"error": "server_error", "error_description": format!("access_denied for client_secret={CLIENT_SECRET}&refresh_token={REFRESH}")}).to_string())
        .expect_at_least(1)
        .create_async()
        .await;
    let no_table = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let sn = oauth(&server.url(), true);
    let err = sn.read_page("risks", None, None).await.unwrap_err();
    let checks = sn.check().await;
    token.assert_async().await;
    no_table.assert_async().await;
    let text = err.to_string();
    for needle in [
        "401",
        "access_denied",
        "oauth_client_id_env",
        "oauth_refresh_token_env",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    let [check] = checks.as_slice() else {
        panic!("{checks:?}")
    };
    assert_eq!(
        (check.what.as_str(), check.status),
        ("authentication", CheckStatus::Failed)
    );
    let shown = format!("{text} {err:?} {checks:?} {sn:?}");
    for secret in [CLIENT_SECRET, REFRESH] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// systems check
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn check_reports_authentication_every_table_and_the_correlation_field() {
    let sn_instance = Instance::start().await;
    sn_instance.put(RISKS, vec![row(1, 1, 1, json!({"name": "x"}))]);
    let sn = connector(&sn_instance.url(), "write = ['risk']");
    let checks = sn.check().await;
    let lines: Vec<(&str, CheckStatus)> =
        checks.iter().map(|c| (c.what.as_str(), c.status)).collect();
    assert_eq!(
        lines,
        [
            ("authentication", CheckStatus::Ok),
            ("read risks", CheckStatus::Ok),
            ("read controls", CheckStatus::Ok),
            ("read control_objectives", CheckStatus::Ok),
            ("read issues", CheckStatus::Ok),
            ("read audits", CheckStatus::Ok),
            ("read incidents", CheckStatus::Ok),
            ("write table", CheckStatus::Ok),
            ("correlation field", CheckStatus::Ok),
        ]
    );
    assert!(
        checks[0].detail.contains("Basic authentication"),
        "{:?}",
        checks[0]
    );
    assert_eq!(checks[1].detail, "sn_risk_risk: readable; 1 rows visible");
    assert!(sn_instance.requests()[0].target.contains("sysparm_limit=1"));
    assert_eq!(
        checks[8].detail,
        "sn_risk_risk.u_imsbridge_id exists (string)"
    );

    // A misspelt table, an ACL refusal, a missing correlation field.
    sn_instance.with(|s| s.dictionary.clear());
    sn_instance.fault(Fault::status(
        "GET",
        "/api/now/table/sn_grc_issue",
        403,
        json!({"error": {"message": "Operation Failed", "detail": "ACL Exception Read Failed due to security constraints"}, "status": "failure"}),
    ));
    let sn = connector(
        &sn_instance.url(),
        "write = ['risk']\nincident_table = 'sn_si_incidnet'",
    );
    let checks = sn.check().await;
    let find = |what: &str| {
        checks
            .iter()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("{what}: {checks:?}"))
    };
    assert_eq!(find("read issues").status, CheckStatus::Failed);
    assert!(
        find("read issues")
            .detail
            .contains("ACLs deny it read access to sn_grc_issue")
    );
    let incidents = find("read incidents");
    assert_eq!(incidents.status, CheckStatus::Failed);
    assert!(
        incidents.detail.contains("`sn_si_incidnet` does not exist")
            && incidents.detail.contains("fix `incident_table`"),
        "{incidents:?}"
    );
    let field = find("correlation field");
    assert_eq!(field.status, CheckStatus::Failed);
    assert!(
        field
            .detail
            .contains("create a string field named u_imsbridge_id"),
        "{field:?}"
    );
    assert_eq!(find("read risks").status, CheckStatus::Ok);

    // Bad credentials stop the checks at once.
    sn_instance.fault(Fault::status("GET", "/api/now/table/", 401, json!({"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"})));
    let checks = connector(&sn_instance.url(), "write = ['risk']")
        .check()
        .await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(
        (checks[0].what.as_str(), checks[0].status),
        ("authentication", CheckStatus::Failed)
    );
    assert!(
        checks[0].detail.contains("User Not Authenticated") && !checks[0].detail.contains(PASSWORD)
    );
}
