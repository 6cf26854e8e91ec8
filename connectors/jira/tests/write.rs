//! Contract tests of the write side against a mock Jira Cloud site: exact correlation,
//! create/edit/transition bodies, lost answers, authentication and `systems check`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use common::*;
use imsbridge_connector::{CheckStatus, ConnectorError, Credentials, FieldMap, Target};
use imsbridge_connector_jira::Jira;
use imsbridge_model::{
    AiFlag, Dates, Details, IncidentDetails, Provenance, Record, RecordId, RecordKind, RiskDetails,
    RiskRating, ScaleValue, Status, Treatment,
};
use mockito::{Matcher, Server};
use serde_json::{Value, json};

/// The fields asked for when issues are compared (no mapped fields, no transitions).
fn compare_fields() -> Value {
    json!([
        "summary",
        "description",
        "duedate",
        "status",
        "labels",
        "updated"
    ])
}

fn record(kind: RecordKind, title: &str, description: &str) -> Record {
    let details = match kind {
        RecordKind::Risk => Details::Risk(Box::new(RiskDetails {
            inherent: RiskRating {
                likelihood: Some(ScaleValue {
                    raw: "4".into(),
                    scale: "1-5".into(),
                    value: 4.0,
                    normalised: 4.0,
                }),
                ..RiskRating::default()
            },
            treatment: Treatment::parse("accept").ok(),
            ..RiskDetails::default()
        })),
        _ => Details::Incident(IncidentDetails {
            severity: Some("High".into()),
            ..IncidentDetails::default()
        }),
    };
    let mut record = Record {
        id: RecordId::from_source("erm", kind, title),
        provenance: Provenance {
            system: "erm".into(),
            connector: "spreadsheet".into(),
            external_id: title.into(),
            location: "risks.xlsx!A2".into(),
            imported_at: Utc::now(),
            content_hash: String::new(),
        },
        title: title.into(),
        description: Some(description.into()),
        owner: Some("Dana".into()),
        status: Some(Status::from_label("Open")),
        dates: Dates {
            due: NaiveDate::from_ymd_opt(2026, 9, 30),
            ..Dates::default()
        },
        clauses: vec![],
        hs: vec![],
        ai: AiFlag {
            flagged: true,
            ..AiFlag::default()
        },
        details,
        extra: BTreeMap::new(),
    };
    record.seal();
    record
}

/// An issue the bridge wrote, as search returns it.
fn ours(id: &str, label: &str, updated: &str) -> Value {
    issue(
        id,
        &format!("CAPA-{id}"),
        json!({"summary": "Model drift", "description": doc("Seen in Q1"), "duedate": null,
               "status": status("To Do", "new"), "labels": ["ai", label], "updated": updated}),
    )
}

#[tokio::test]
async fn desired_needs_the_field_list_and_holds_only_issue_fields() {
    let mut server = Server::new_async().await;
    let fields = serve_fields(&mut server).await.expect(1);
    let project = serve_project(&mut server).await.expect(1);
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk', incident = 'Incident', nonconformity = 'Nonconformity' }\n\
         write = ['risk', 'incident']\ntransitions = true\n\
         fields = { likelihood = 'Likelihood', treatment = 'Treatment', severity = 'Severity' }",
    );
    let risk = record(RecordKind::Risk, "Model drift", "Seen in Q1\nby Dana");
    let early = jira.desired(&risk).unwrap_err();
    assert!(
        matches!(early, ConnectorError::Unwritable { .. }),
        "{early:?}"
    );

    assert_eq!(jira.prepare(false).await.unwrap(), Vec::<String>::new());
    jira.prepare(true).await.unwrap();
    fields.assert_async().await;
    project.assert_async().await;

    let desired = jira.desired(&risk).unwrap();
    assert_eq!(
        Value::Object(desired.fields.clone().into_iter().collect()),
        json!({
            "summary": "Model drift",
            "description": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "Seen in Q1"}, {"type": "hardBreak"}, {"type": "text", "text": "by Dana"}]}]},
            "duedate": "2026-09-30",
            "customfield_10050": 4.0,
            "customfield_10052": {"value": "Accept"},
            "status": "new",
        })
    );
    let incident = jira
        .desired(&record(RecordKind::Incident, "Prompt leak", ""))
        .unwrap();
    let keys: Vec<&str> = incident.fields.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "customfield_10055",
            "description",
            "duedate",
            "status",
            "summary"
        ]
    );
    assert_eq!(
        incident.fields["customfield_10055"],
        json!({"value": "High"})
    );
    assert_eq!(incident.fields["description"], Value::Null);

    let mut nc = risk.clone();
    nc.details = Details::Nonconformity(Default::default());
    let err = jira.desired(&nc).unwrap_err();
    assert!(matches!(err, ConnectorError::Unwritable { .. }), "{err:?}");
}

#[tokio::test]
async fn lookup_by_label_confirms_the_correlation_exactly() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let jql = format!(
        "project = \"CAPA\" AND issuetype = \"Risk\" AND labels = \"{LABEL}\" ORDER BY created ASC, key ASC"
    );
    let request = json!({"jql": jql, "fields": compare_fields(), "maxResults": 100});
    // A label that only resembles ours (one digit more) comes back too; it must be ignored.
    let search = serve_search(
        &mut server,
        request,
        json!({"issues": [
            ours("10007", &format!("{LABEL}0"), "2026-01-01T10:00:00.000+0000"),
            ours("10008", LABEL, "2026-01-02T10:00:00.000+0000"),
        ], "isLast": true}),
    )
    .await
    .expect(1);
    let miss_jql = jql.replace("0123456789abcdef", "fedcba9876543210");
    serve_search(
        &mut server,
        json!({"jql": miss_jql, "fields": compare_fields(), "maxResults": 100}),
        json!({"issues": [ours("10009", "imsbridge-fedcba9876543210x", "2026-01-01T10:00:00.000+0000")], "isLast": true}),
    )
    .await;
    let jira = connector(&server, "issue_types = { risk = 'Risk' }\nwrite = ['risk']");
    let found = jira.lookup(RecordKind::Risk, CORR).await.unwrap().unwrap();
    search.assert_async().await;
    assert_eq!(found.remote_id, "10008");
    assert_eq!(found.correlation.as_deref(), Some(CORR));
    assert_eq!(
        found.version.as_deref(),
        Some("2026-01-02T10:00:00.000+0000")
    );
    assert_eq!(
        found.fields["description"],
        json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Seen in Q1"}]}]})
    );
    assert!(
        jira.lookup(RecordKind::Risk, "IMSB-fedcba9876543210")
            .await
            .unwrap()
            .is_none()
    );
    let err = jira.lookup(RecordKind::Incident, CORR).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unwritable { .. }), "{err:?}");
}

#[tokio::test]
async fn lookup_by_correlation_field_ignores_fuzzy_hits() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let jql = format!(
        "project = \"CAPA\" AND issuetype = \"Risk\" AND cf[10060] ~ \"\\\"{CORR}\\\"\" ORDER BY created ASC, key ASC"
    );
    let with_id = |id: &str, value: &str| {
        issue(
            id,
            &format!("CAPA-{id}"),
            json!({"summary": "x", "status": status("To Do", "new"),
            "labels": [], "customfield_10060": value, "updated": "2026-01-01T10:00:00.000+0000"}),
        )
    };
    serve_search(
        &mut server,
        json!({"jql": jql, "fields": ["summary", "description", "duedate", "status", "labels", "updated", "customfield_10060"], "maxResults": 100}),
        json!({"issues": [with_id("10001", &format!("{CORR} (old)")), with_id("10002", &format!(" {CORR} "))], "isLast": true}),
    )
    .await
    .expect(1);
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nwrite = ['risk']\ncorrelation_field = 'External ID'",
    );
    let found = jira.lookup(RecordKind::Risk, CORR).await.unwrap().unwrap();
    assert_eq!(found.remote_id, "10002");
    assert_eq!(found.correlation.as_deref(), Some(CORR));
}

#[tokio::test]
async fn list_walks_every_page_and_keeps_only_the_bridges_issues() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let jql = "project = \"CAPA\" AND issuetype = \"Risk\" AND labels is not EMPTY ORDER BY created ASC, key ASC";
    let request = |token: Option<&str>| {
        let mut body = json!({"jql": jql, "fields": compare_fields(), "maxResults": 2});
        if let Some(t) = token {
            body["nextPageToken"] = json!(t);
        }
        body
    };
    serve_search(
        &mut server,
        request(None),
        json!({"issues": [
            ours("10001", LABEL, "2026-01-01T10:00:00.000+0000"),
            ours("10002", "imsbridge-not-ours", "2026-01-01T10:00:00.000+0000"),
        ], "nextPageToken": "p2", "isLast": false}),
    )
    .await
    .expect(1);
    serve_search(
        &mut server,
        request(Some("p2")),
        json!({"issues": [ours("10003", "imsbridge-fedcba9876543210", "2026-01-03T10:00:00.000+0000")], "isLast": true}),
    )
    .await
    .expect(1);
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nwrite = ['risk']\npage_size = 2",
    );
    let listed = jira.list(RecordKind::Risk).await.unwrap();
    let seen: Vec<(&str, Option<&str>)> = listed
        .iter()
        .map(|r| (r.remote_id.as_str(), r.correlation.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("10001", Some(CORR)),
            ("10003", Some("IMSB-fedcba9876543210"))
        ]
    );
    assert_eq!(listed[0].fields["summary"], json!("Model drift"));
    assert_eq!(listed[0].fields["duedate"], Value::Null);
}

#[tokio::test]
async fn create_sends_adf_label_type_and_project_then_reconciles_searches() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    serve_project(&mut server).await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk', incident = 'Incident' }\nwrite = ['risk', 'incident']",
    );
    jira.prepare(true).await.unwrap();
    let incident = record(
        RecordKind::Incident,
        "Prompt leak",
        "Seen in the logs\n\nReported by CX",
    );
    let fields = jira.desired(&incident).unwrap().fields;
    let post = server
        .mock("POST", "/rest/api/3/issue")
        .match_header("authorization", auth())
        .match_body(Matcher::Json(json!({"fields": {
            "project": {"id": "10000"},
            "issuetype": {"id": "10002"},
            "summary": "Prompt leak",
            "description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Seen in the logs"}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "Reported by CX"}]}]},
            "duedate": "2026-09-30",
            "labels": [LABEL],
        }})))
        .with_status(201)
        .with_body(r#"{"id":"10042","key":"CAPA-42","self":"https://acme.atlassian.net/rest/api/3/issue/10042"}"#)
        .expect(1)
        .create_async()
        .await;
    let created = issue(
        "10042",
        "CAPA-42",
        json!({"summary": "Prompt leak", "description": fields["description"], "duedate": "2026-09-30",
               "status": status("Reported", "new"), "labels": [LABEL], "updated": "2026-03-01T12:00:00.000+0000"}),
    );
    let read_back = server
        .mock("GET", "/rest/api/3/issue/10042")
        .match_query(Matcher::UrlEncoded(
            "fields".into(),
            "summary,description,duedate,status,labels,updated".into(),
        ))
        .with_body(created.to_string())
        .expect(1)
        .create_async()
        .await;
    let remote = jira
        .create(RecordKind::Incident, CORR, &fields)
        .await
        .unwrap();
    post.assert_async().await;
    read_back.assert_async().await;
    assert_eq!(remote.remote_id, "10042");
    assert_eq!(remote.correlation.as_deref(), Some(CORR));
    assert_eq!(
        remote.version.as_deref(),
        Some("2026-03-01T12:00:00.000+0000")
    );
    assert_eq!(remote.fields, fields, "read back in the shape written");

    // New issues lag in search: later searches name them in reconcileIssues.
    let search = server
        .mock("POST", SEARCH)
        .match_body(Matcher::PartialJson(json!({"reconcileIssues": [10042]})))
        .with_body(json!({"issues": [created], "isLast": true}).to_string())
        .expect(1)
        .create_async()
        .await;
    let found = jira.lookup(RecordKind::Incident, CORR).await.unwrap();
    search.assert_async().await;
    assert_eq!(found.unwrap().remote_id, "10042");
}

#[tokio::test]
async fn update_sends_only_the_changed_fields() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let put = server
        .mock("PUT", "/rest/api/3/issue/10042")
        .match_header("authorization", auth())
        .match_body(Matcher::Json(
            json!({"fields": {"summary": "Prompt leak via plugin"}}),
        ))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let transitions = server
        .mock("GET", "/rest/api/3/issue/10042/transitions")
        .expect(0)
        .create_async()
        .await;
    let issue = issue(
        "10042",
        "CAPA-42",
        json!({"summary": "Prompt leak via plugin", "description": null, "status": status("Reported", "new"),
               "labels": [LABEL], "updated": "2026-03-02T08:00:00.000+0000"}),
    );
    serve(&mut server, "GET", "/rest/api/3/issue/10042", 200, &issue).await;
    let jira = connector(
        &server,
        "issue_types = { incident = 'Incident' }\nwrite = ['incident']",
    );
    let changes: FieldMap = [("summary".to_string(), json!("Prompt leak via plugin"))].into();
    let remote = jira
        .update(RecordKind::Incident, "10042", &changes)
        .await
        .unwrap();
    put.assert_async().await;
    transitions.assert_async().await;
    assert_eq!(
        remote.version.as_deref(),
        Some("2026-03-02T08:00:00.000+0000")
    );
    assert_eq!(remote.fields["summary"], json!("Prompt leak via plugin"));
    assert!(
        !remote.fields.contains_key("status"),
        "status is not compared without transitions"
    );
}

#[tokio::test]
async fn a_status_change_takes_a_transition_into_the_wanted_category() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let offered = json!({"transitions": [
        {"id": "11", "name": "Start work", "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
        {"id": "31", "name": "Close", "to": {"name": "Closed", "statusCategory": {"key": "done"}}},
    ]});
    serve(
        &mut server,
        "GET",
        "/rest/api/3/issue/10042/transitions",
        200,
        &offered,
    )
    .await;
    let post = server
        .mock("POST", "/rest/api/3/issue/10042/transitions")
        .match_body(Matcher::Json(json!({"transition": {"id": "31"}})))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let put = server
        .mock("PUT", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let closed = issue(
        "10042",
        "CAPA-42",
        json!({"summary": "x", "status": status("Closed", "done"), "labels": [LABEL],
               "updated": "2026-03-03T08:00:00.000+0000"}),
    );
    serve(&mut server, "GET", "/rest/api/3/issue/10042", 200, &closed).await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nwrite = ['risk']\ntransitions = true",
    );
    let changes: FieldMap = [("status".to_string(), json!("done"))].into();
    let remote = jira
        .update(RecordKind::Risk, "10042", &changes)
        .await
        .unwrap();
    post.assert_async().await;
    put.assert_async().await;
    assert_eq!(remote.fields["status"], json!("done"));

    // No way back to "new" from here: the error lists what the workflow offers.
    let changes: FieldMap = [("status".to_string(), json!("new"))].into();
    let err = jira
        .update(RecordKind::Risk, "10042", &changes)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("category `new`")
            && err.contains("Start work → In Progress (indeterminate), Close → Closed (done)"),
        "{err}"
    );
}

#[tokio::test]
async fn lost_or_unreadable_create_answers_are_ambiguous_and_refusals_are_not() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    serve_project(&mut server).await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nwrite = ['risk']\nfields = { likelihood = 'Likelihood' }",
    );
    jira.prepare(true).await.unwrap();
    let fields: FieldMap = [("summary".to_string(), json!("Model drift"))].into();

    let cases = [
        (
            500,
            "{\"errorMessages\":[\"Internal server error\"]}",
            true,
            "may or may not have been created",
        ),
        (
            201,
            "<html><body>Created</body></html>",
            true,
            "may or may not have been created",
        ),
        (
            400,
            r#"{"errorMessages":[],"errors":{"customfield_10050":"Operation value must be a number.","duedate":"Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."}}"#,
            false,
            "was rejected (400): Likelihood (customfield_10050): Operation value must be a \
             number.; Due date: Field 'duedate' cannot be set.",
        ),
    ];
    for (status, body, ambiguous, needle) in cases {
        let post = server
            .mock("POST", "/rest/api/3/issue")
            .with_status(status)
            .with_body(body)
            .expect(1)
            .create_async()
            .await;
        let err = jira
            .create(RecordKind::Risk, CORR, &fields)
            .await
            .unwrap_err();
        post.assert_async().await;
        post.remove_async().await;
        assert_eq!(err.is_ambiguous(), ambiguous, "{status}: {err:?}");
        assert!(err.to_string().contains(needle), "{status}: {err}");
    }
}

/// A body that trickles a blank every 10 ms for half a second: past a 200 ms deadline.
fn slow_body(w: &mut dyn std::io::Write) -> std::io::Result<()> {
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(10));
        w.write_all(b" ")?;
        w.flush()?;
    }
    w.write_all(b"{}")
}

#[tokio::test]
async fn a_create_that_times_out_is_ambiguous_and_not_repeated() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    serve_project(&mut server).await;
    let post = server
        .mock("POST", "/rest/api/3/issue")
        .with_status(201)
        .with_chunked_body(slow_body)
        .expect(1)
        .create_async()
        .await;
    let jira = quick_connector(
        &server,
        "issue_types = { risk = 'Risk' }\nwrite = ['risk']",
        Duration::from_millis(200),
    );
    let fields: FieldMap = [("summary".to_string(), json!("Model drift"))].into();
    let err = jira
        .create(RecordKind::Risk, CORR, &fields)
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    post.assert_async().await;
}

#[tokio::test]
async fn a_create_refused_with_503_and_retry_after_is_sent_again_once() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    serve_project(&mut server).await;
    let busy = server
        .mock("POST", "/rest/api/3/issue")
        .with_status(503)
        .with_header("retry-after", "1")
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", "/rest/api/3/issue")
        .with_status(201)
        .with_body(r#"{"id":"10050","key":"CAPA-50"}"#)
        .expect(1)
        .create_async()
        .await;
    let created = issue(
        "10050",
        "CAPA-50",
        json!({"summary": "Model drift", "labels": [LABEL],
        "status": status("To Do", "new"), "updated": "2026-03-01T12:00:00.000+0000"}),
    );
    serve(&mut server, "GET", "/rest/api/3/issue/10050", 200, &created).await;
    let jira = connector(&server, "issue_types = { risk = 'Risk' }\nwrite = ['risk']");
    let fields: FieldMap = [("summary".to_string(), json!("Model drift"))].into();
    let started = Instant::now();
    let remote = jira.create(RecordKind::Risk, CORR, &fields).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(remote.remote_id, "10050");
    busy.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn email_and_token_go_as_basic_a_token_alone_as_bearer_and_passwords_are_refused() {
    let mut server = Server::new_async().await;
    let basic = server
        .mock("GET", "/rest/api/3/myself")
        .match_header("authorization", BASIC)
        .with_body(r#"{"accountId":"a1"}"#)
        .expect(1)
        .create_async()
        .await;
    let bearer = server
        .mock("GET", "/rest/api/3/myself")
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_body(r#"{"accountId":"a1"}"#)
        .expect(1)
        .create_async()
        .await;
    let extra = "issue_types = { risk = 'Risk' }";
    connector(&server, extra)
        .client()
        .get("/rest/api/3/myself")
        .await
        .unwrap();
    let token_only = Credentials {
        token: Some(TOKEN.into()),
        ..Credentials::default()
    };
    Jira::from_entry(&entry(&server, extra), token_only, &|_| None)
        .unwrap()
        .client()
        .get("/rest/api/3/myself")
        .await
        .unwrap();
    basic.assert_async().await;
    bearer.assert_async().await;

    let with_password = Credentials {
        username: Some(EMAIL.into()),
        password: Some("hunter2".into()),
        token: Some(TOKEN.into()),
    };
    let err = Jira::from_entry(&entry(&server, extra), with_password, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("password_env") && err.contains("token_env"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    let err = Jira::from_entry(&entry(&server, extra), Credentials::default(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no token"), "{err}");
}

#[tokio::test]
async fn the_token_never_appears_in_errors_checks_or_debug_output() {
    let mut server = Server::new_async().await;
    // Servers and proxies sometimes echo the request back.
    let echo = json!({"errorMessages": [format!("bad credentials {BASIC} ({TOKEN})")], "errors": {"token": TOKEN}}).to_string();
    for (method, path, status) in [
        ("GET", "/rest/api/3/field", 401),
        ("GET", "/rest/api/3/myself", 403),
        ("POST", "/rest/api/3/issue", 400),
    ] {
        server
            .mock(method, path)
            .with_status(status)
            .with_body(&echo)
            .create_async()
            .await;
    }
    serve(
        &mut server,
        "GET",
        "/rest/api/3/project/CAPA",
        200,
        &project(),
    )
    .await;
    let jira = connector(&server, "issue_types = { risk = 'Risk' }\nwrite = ['risk']");
    let mut texts = vec![format!("{jira:?}")];
    let err = jira.lookup(RecordKind::Risk, CORR).await.unwrap_err();
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));
    texts.push(format!("{:?}", jira.check().await));
    let fields: FieldMap = [("summary".to_string(), json!("x"))].into();
    let jira = connector(&server, "issue_types = { risk = 'Risk' }\nwrite = ['risk']");
    let err = jira
        .client()
        .create(&json!({"fields": fields}))
        .await
        .unwrap_err();
    texts.push(err.to_string());
    for text in &texts {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains(&BASIC[6..]), "{text}");
    }
    assert!(
        texts[1].contains("(401)") && texts[1].contains("[REDACTED]"),
        "{}",
        texts[1]
    );
    assert!(texts[4].contains("(400)"), "{}", texts[4]);
}

async fn serve_permissions(
    server: &mut Server,
    query: &str,
    have: &[(&str, bool)],
) -> mockito::Mock {
    let permissions: serde_json::Map<String, Value> = have
        .iter()
        .map(|(key, yes)| {
            (
                key.to_string(),
                json!({"key": key, "type": "PROJECT", "havePermission": yes}),
            )
        })
        .collect();
    server
        .mock("GET", "/rest/api/3/mypermissions")
        .match_query(Matcher::Exact(query.into()))
        .with_body(json!({"permissions": permissions}).to_string())
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn check_reports_identity_project_types_fields_and_permissions() {
    let mut server = Server::new_async().await;
    serve(
        &mut server,
        "GET",
        "/rest/api/3/myself",
        200,
        &json!({
        "accountId": "5b10a2844c20165700ede21g", "emailAddress": EMAIL, "displayName": "QM Bot",
        "timeZone": "Europe/Berlin", "active": true}),
    )
    .await;
    serve_project(&mut server).await;
    serve_fields(&mut server).await;
    let all = [
        ("BROWSE_PROJECTS", true),
        ("CREATE_ISSUES", true),
        ("EDIT_ISSUES", true),
        ("TRANSITION_ISSUES", true),
    ];
    let perms = serve_permissions(
        &mut server,
        "projectKey=CAPA&permissions=BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES,TRANSITION_ISSUES",
        &all,
    )
    .await;
    let good = "issue_types = { risk = 'Risk', incident = 'Incident' }\nwrite = ['risk']\n\
                transitions = true\nfields = { likelihood = 'Likelihood' }\ncorrelation_field = 'External ID'";
    let checks = connector(&server, good).check().await;
    perms.assert_async().await;
    assert!(
        checks.iter().all(|c| c.status == CheckStatus::Ok),
        "{checks:#?}"
    );
    let detail = |what: &str| {
        checks
            .iter()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("no check {what}: {checks:#?}"))
            .detail
            .clone()
    };
    assert!(
        detail("authentication").contains("QM Bot <qm@acme.example> (time zone Europe/Berlin)")
    );
    assert!(detail("project CAPA").contains("id 10000"));
    assert_eq!(
        detail("issue type incident"),
        "\"Incident\" (id 10002) in CAPA"
    );
    assert_eq!(
        detail("field likelihood"),
        "Likelihood (customfield_10050), a number field"
    );
    assert!(detail("permissions").contains("Transition issues in CAPA"));

    // What is wrong, each on its line.
    let perms = serve_permissions(
        &mut server,
        "projectKey=CAPA&permissions=BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES",
        &[
            ("BROWSE_PROJECTS", true),
            ("CREATE_ISSUES", true),
            ("EDIT_ISSUES", false),
        ],
    )
    .await;
    let bad = "issue_types = { risk = 'Risk', incident = 'Incidnet' }\nwrite = ['risk']\n\
               fields = { likelihood = 'Likelyhood', impact = 'Risk level', treatment = 'Assignee' }\n\
               correlation_field = 'Severity'";
    let checks = connector(&server, bad).check().await;
    perms.assert_async().await;
    let verdict = |what: &str| {
        let c = checks
            .iter()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("{what}: {checks:#?}"));
        (c.status, c.detail.clone())
    };
    let (s, d) = verdict("issue type incident");
    assert!(
        s == CheckStatus::Failed
            && d.contains("no issue type \"Incidnet\"")
            && d.contains("\"Risk\", \"Incident\""),
        "{d}"
    );
    let (s, d) = verdict("field likelihood");
    assert!(
        s == CheckStatus::Failed && d.contains("fields.likelihood") && d.contains("Likelyhood"),
        "{d}"
    );
    let (s, d) = verdict("field impact");
    assert!(
        s == CheckStatus::Failed && d.contains("2 Jira fields"),
        "{d}"
    );
    let (s, d) = verdict("field treatment");
    assert!(
        s == CheckStatus::Warning && d.contains("a user field"),
        "{d}"
    );
    let (s, d) = verdict("correlation field");
    assert!(
        s == CheckStatus::Failed && d.contains("a select list"),
        "{d}"
    );
    let (s, d) = verdict("permissions");
    assert!(
        s == CheckStatus::Failed && d.contains("missing in CAPA: Edit issues (EDIT_ISSUES)"),
        "{d}"
    );

    // A refused login stops the checks there; an unknown project fails its line.
    let mut server = Server::new_async().await;
    server
        .mock("GET", "/rest/api/3/myself")
        .with_status(401)
        .create_async()
        .await;
    let checks = connector(&server, good).check().await;
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].status, CheckStatus::Failed);
    assert!(
        checks[0].detail.contains("API token"),
        "{}",
        checks[0].detail
    );
    let mut server = Server::new_async().await;
    serve(
        &mut server,
        "GET",
        "/rest/api/3/myself",
        200,
        &json!({"accountId": "a"}),
    )
    .await;
    serve(
        &mut server,
        "GET",
        "/rest/api/3/project/CAPA",
        404,
        &json!({"errorMessages": ["No project could be found with key 'CAPA'."]}),
    )
    .await;
    let checks = connector(&server, "issue_types = { risk = 'Risk' }")
        .check()
        .await;
    let project = checks.iter().find(|c| c.what == "project CAPA").unwrap();
    assert_eq!(project.status, CheckStatus::Failed);
    assert!(
        project
            .detail
            .contains("does not exist, or the account cannot browse it")
    );
}
