//! Contract tests of the read side against a mock Jira Cloud site: enhanced search paging,
//! incremental JQL, field resolution by name, ADF, status categories, rejects and errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use common::*;
use imsbridge_connector::{ConnectorError, Page, Source, Target};
use imsbridge_model::{
    ClauseRef, Details, RecordId, RecordKind, StandardId, StatusCategory, TreatmentOption,
};
use mockito::{Matcher, Server};
use serde_json::{Value, json};

const RISKS: &str = "project = \"CAPA\" AND issuetype = \"Risk\" ORDER BY created ASC, key ASC";

fn search_request(jql: &str, page_size: u32, token: Option<&str>) -> Value {
    let mut body = json!({"jql": jql, "fields": ["*all"], "maxResults": page_size});
    if let Some(token) = token {
        body["nextPageToken"] = json!(token);
    }
    body
}

fn last_page(issues: Vec<Value>) -> Value {
    json!({"issues": issues, "isLast": true})
}

/// Every page of a stream, following the tokens as the engine does.
async fn read_all(jira: &impl Source, stream: &str) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = jira
            .read_page(stream, None, token.as_deref())
            .await
            .unwrap();
        token = page.next.clone();
        pages.push(page);
        if token.is_none() {
            return pages;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
}

#[tokio::test]
async fn risks_read_custom_fields_by_name_adf_and_status_categories() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let description = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Raised by "},
            {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Dana Scully"}},
            {"type": "text", "text": "."}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "drift"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "bias"}]}]}]}]});
    let risk = issue(
        "10001",
        "CAPA-1",
        json!({
            "summary": "Credit model drift",
            "description": description,
            "status": status("In Review", "indeterminate"),
            "assignee": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Scully"},
            // 23:30 in California is the next day in UTC: the day the user saw is kept.
            "created": "2026-01-05T23:30:00.000-0800",
            "updated": "2026-02-01T10:00:00.000+0000",
            "duedate": "2026-06-30",
            "resolutiondate": null,
            "issuetype": {"id": "10001", "name": "Risk"},
            "customfield_10050": 4.0,
            "customfield_10051": 2,
            "customfield_10052": {"self": "https://acme/rest/api/3/customFieldOption/1", "value": "Mitigate", "id": "1"},
            "customfield_10053": doc("Retrain monthly"),
            "customfield_10056": "ISO/IEC 42001:2023 6.1.4, 8.2",
            "customfield_10057": "Model risk",
            "customfield_10099": "from an app",
            "labels": ["ai", "model-risk"],
            "priority": {"name": "High", "id": "2"},
            "lastViewed": "2026-02-02T08:00:00.000+0000",
            "watches": {"watchCount": 3, "isWatching": false},
            "environment": null,
        }),
    );
    let search = serve_search(
        &mut server,
        search_request(RISKS, 100, None),
        last_page(vec![risk]),
    )
    .await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nai_label = 'ai'\n\
         fields = { likelihood = 'Likelihood', impact = 'impact', treatment = 'Treatment', \
         treatment_plan = 'Treatment plan', clauses = 'ISO clauses', category = 'customfield_10057' }",
    );
    let page = jira.read_page("risks", None, None).await.unwrap();
    search.assert_async().await;
    assert!(page.rejects.is_empty(), "{:?}", page.rejects);
    assert_eq!(page.next, None);
    assert_eq!(page.cursor, "2026-02-01T10:00:00Z".parse().ok());
    let [r] = page.records.as_slice() else {
        panic!("{:?}", page.records)
    };
    assert_eq!(
        r.id,
        RecordId::from_source("jira", RecordKind::Risk, "10001")
    );
    assert_eq!(r.provenance.external_id, "CAPA-1");
    assert_eq!(
        r.provenance.location,
        format!("{}/browse/CAPA-1", server.url())
    );
    assert_eq!(r.title, "Credit model drift");
    assert_eq!(
        r.description.as_deref(),
        Some("Raised by @Dana Scully.\n\n- drift\n- bias")
    );
    let status = r.status.as_ref().unwrap();
    assert_eq!(
        (status.category, status.label.as_str()),
        (StatusCategory::InProgress, "In Review")
    );
    assert_eq!(r.owner.as_deref(), Some("Dana Scully"));
    assert_eq!(r.dates.identified, NaiveDate::from_ymd_opt(2026, 1, 5));
    assert_eq!(r.dates.due, NaiveDate::from_ymd_opt(2026, 6, 30));
    assert_eq!(r.dates.closed, None);
    assert_eq!(
        r.clauses,
        vec![
            ClauseRef::new(StandardId::Iso42001, "6.1.4"),
            ClauseRef::new(StandardId::Iso42001, "8.2")
        ]
    );
    assert!(r.ai.flagged && r.ai.reason.as_deref().unwrap().contains("`ai`"));
    let Details::Risk(risk) = &r.details else {
        panic!("{:?}", r.details)
    };
    let likelihood = risk.inherent.likelihood.as_ref().unwrap();
    assert_eq!(
        (
            likelihood.raw.as_str(),
            likelihood.scale.as_str(),
            likelihood.normalised
        ),
        ("4", "1-5", 4.0)
    );
    assert_eq!(risk.inherent.impact.as_ref().unwrap().normalised, 2.0);
    assert_eq!(
        risk.treatment.as_ref().unwrap().option,
        TreatmentOption::Modify
    );
    assert_eq!(risk.treatment_plan.as_deref(), Some("Retrain monthly"));
    assert_eq!(risk.category.as_deref(), Some("Model risk"));
    // Unmapped fields are kept under Jira's names; volatile ones are not.
    let extra: Vec<(&str, &str)> = r
        .extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        extra,
        vec![
            ("Issue id", "10001"),
            ("Labels", "ai; model-risk"),
            ("Priority", "High"),
            ("customfield_10099", "from an app"),
        ]
    );
}

#[tokio::test]
async fn pages_are_followed_to_the_last_and_repeated_issues_dropped() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let one = |id: &str, n: u32| {
        issue(
            id,
            &format!("CAPA-{n}"),
            json!({"summary": format!("Risk {n}"), "status": status("Open", "new"),
                   "updated": format!("2026-02-0{n}T10:00:00.000+0000")}),
        )
    };
    let first = serve_search(
        &mut server,
        search_request(RISKS, 2, None),
        json!({"issues": [one("10001", 1), one("10002", 2)], "nextPageToken": "tok-2", "isLast": false}),
    )
    .await
    .expect(1);
    // The second page repeats 10002 (an issue moved across the boundary while paging).
    let second = serve_search(
        &mut server,
        search_request(RISKS, 2, Some("tok-2")),
        json!({"issues": [one("10002", 2), one("10003", 3)], "isLast": true}),
    )
    .await
    .expect(1);
    let jira = connector(&server, "issue_types = { risk = 'Risk' }\npage_size = 2");
    let pages = read_all(&jira, "risks").await;
    first.assert_async().await;
    second.assert_async().await;
    assert_eq!(pages.len(), 2);
    let keys: Vec<&str> = pages
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| r.provenance.external_id.as_str())
        .collect();
    assert_eq!(keys, ["CAPA-1", "CAPA-2", "CAPA-3"]);
    assert_eq!(pages[1].cursor, "2026-02-03T10:00:00Z".parse().ok());

    // A new walk starts afresh: the same issues are read again.
    let again = read_all(&jira, "risks").await;
    assert_eq!(again.iter().map(|p| p.records.len()).sum::<usize>(), 3);
}

#[tokio::test]
async fn incremental_reads_send_a_relative_period_and_keep_it_for_the_whole_walk() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    // 1 h 59 min 30 s back: 120 whole minutes, one more for Jira's minute resolution.
    let jql = "project = \"CAPA\" AND issuetype = \"Incident\" AND updated >= \"-121m\" \
               ORDER BY created ASC, key ASC";
    let since = Utc::now() - chrono::Duration::seconds(2 * 3600 - 30);
    let incident = |id: &str| {
        issue(
            id,
            &format!("CAPA-{id}"),
            json!({"summary": "Outage", "status": status("Reported", "new")}),
        )
    };
    let first = serve_search(
        &mut server,
        search_request(jql, 100, None),
        json!({"issues": [incident("1")], "nextPageToken": "next", "isLast": false}),
    )
    .await
    .expect(1);
    let second = serve_search(
        &mut server,
        search_request(jql, 100, Some("next")),
        last_page(vec![incident("2")]),
    )
    .await
    .expect(1);
    let jira = connector(&server, "issue_types = { incident = 'Incident' }");
    let page = jira
        .read_page("incidents", Some(since), None)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    // The engine passes `since` again with the token; the period stays the first page's.
    let later = since - chrono::Duration::days(1);
    let page = jira
        .read_page("incidents", Some(later), page.next.as_deref())
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    first.assert_async().await;
    second.assert_async().await;
}

#[tokio::test]
async fn nonconformities_corrective_actions_and_incidents_have_their_own_streams() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let jira = connector(
        &server,
        "issue_types = { nonconformity = 'Nonconformity', corrective_action = 'Corrective Action', \
         incident = 'Incident' }\nfields = { root_cause = 'Root cause', severity = 'Severity' }",
    );
    let names: Vec<&str> = jira.streams().iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["nonconformities", "corrective_actions", "incidents"]
    );
    assert!(jira.writable_kinds() == [RecordKind::Incident]);

    let scoped = |ty: &str| {
        format!("project = \"CAPA\" AND issuetype = \"{ty}\" ORDER BY created ASC, key ASC")
    };
    serve_search(
        &mut server,
        search_request(&scoped("Nonconformity"), 100, None),
        last_page(vec![issue(
            "20001",
            "CAPA-7",
            json!({
                "summary": "Calibration overdue",
                "status": status("Done", "done"),
                "resolution": {"name": "Done"},
                "resolutiondate": "2026-03-02T09:00:00.000+0100",
                "customfield_10054": doc("Reminder job disabled"),
                "customfield_10055": {"value": "Major", "id": "3"},
            }),
        )]),
    )
    .await;
    serve_search(
        &mut server,
        search_request(&scoped("Corrective Action"), 100, None),
        last_page(vec![issue(
            "20002",
            "CAPA-8",
            json!({
                "summary": "Re-enable reminders",
                "status": status("Done", "done"),
                "resolution": {"name": "Won't Do"},
            }),
        )]),
    )
    .await;
    serve_search(
        &mut server,
        search_request(&scoped("Incident"), 100, None),
        last_page(vec![issue(
            "20003",
            "CAPA-9",
            json!({
                "summary": "Chatbot leaked a prompt",
                "status": status("Reported", "new"),
                "customfield_10055": {"value": "Critical", "id": "4"},
            }),
        )]),
    )
    .await;

    let nc = &read_all(&jira, "nonconformities").await[0].records[0];
    let Details::Nonconformity(d) = &nc.details else {
        panic!("{:?}", nc.details)
    };
    assert_eq!(d.root_cause.as_deref(), Some("Reminder job disabled"));
    assert_eq!(d.severity.as_deref(), Some("Major"));
    assert_eq!(nc.status.as_ref().unwrap().category, StatusCategory::Closed);
    assert_eq!(nc.dates.closed, NaiveDate::from_ymd_opt(2026, 3, 2));
    assert_eq!(nc.extra.get("Resolution").map(String::as_str), Some("Done"));

    let ca = &read_all(&jira, "corrective_actions").await[0].records[0];
    assert!(matches!(ca.details, Details::CorrectiveAction(_)));
    assert_eq!(
        ca.status.as_ref().unwrap().category,
        StatusCategory::Cancelled
    );
    assert_eq!(ca.status.as_ref().unwrap().label, "Done");

    let incident = &read_all(&jira, "incidents").await[0].records[0];
    let Details::Incident(i) = &incident.details else {
        panic!("{:?}", incident.details)
    };
    assert_eq!(i.severity.as_deref(), Some("Critical"));
    assert_eq!(
        incident.status.as_ref().unwrap().category,
        StatusCategory::Open
    );
    assert!(!incident.ai.flagged, "no ai_label configured");

    let err = jira
        .read_page("risks", None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no stream `risks`")
            && err.contains("nonconformities, corrective_actions, incidents"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_or_ambiguous_field_names_are_errors_that_name_them() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let search = server.mock("POST", SEARCH).expect(0).create_async().await;
    for (fields, needles) in [
        (
            "{ likelihood = 'Likelyhood' }",
            vec![
                "(jira).fields.likelihood",
                "no Jira field is named \"Likelyhood\"",
            ],
        ),
        (
            "{ impact = 'Risk level' }",
            vec![
                "(jira).fields.impact",
                "2 Jira fields are named \"Risk level\"",
                "customfield_10070, customfield_10071",
            ],
        ),
    ] {
        let jira = connector(
            &server,
            &format!("issue_types = {{ risk = 'Risk' }}\nfields = {fields}"),
        );
        let err = jira.read_page("risks", None, None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Config(_)), "{err:?}");
        let text = err.to_string();
        for needle in needles {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }
    search.assert_async().await;
}

#[tokio::test]
async fn issues_that_cannot_be_mapped_are_rejected_with_their_position() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let good = issue(
        "1",
        "CAPA-1",
        json!({"summary": "Fine", "customfield_10050": 3}),
    );
    let untitled = issue(
        "2",
        "CAPA-2",
        json!({"summary": "  ", "customfield_10050": 3}),
    );
    let off_scale = issue(
        "3",
        "CAPA-3",
        json!({"summary": "Off scale", "customfield_10050": 7}),
    );
    serve_search(
        &mut server,
        search_request(RISKS, 100, None),
        last_page(vec![good, untitled.clone(), off_scale.clone()]),
    )
    .await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nfields = { likelihood = 'Likelihood' }",
    );
    let page = jira.read_page("risks", None, None).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.rejects.len(), 2);
    let [a, b] = page.rejects.as_slice() else {
        panic!()
    };
    assert_eq!(
        a.location,
        "POST /rest/api/3/search/jql (risks) issues[1].fields.summary"
    );
    assert!(a.message.contains("title"), "{}", a.message);
    assert_eq!(serde_json::from_str::<Value>(&a.raw).unwrap(), untitled);
    assert_eq!(
        b.location,
        "POST /rest/api/3/search/jql (risks) issues[2].fields.customfield_10050"
    );
    assert!(
        b.message.contains("\"7\" is not on the scale"),
        "{}",
        b.message
    );
    assert_eq!(serde_json::from_str::<Value>(&b.raw).unwrap(), off_scale);
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_jira_asks_for() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let limited = server
        .mock("POST", SEARCH)
        .with_status(429)
        .with_header("retry-after", "1")
        .with_header("x-ratelimit-remaining", "0")
        .expect(1)
        .create_async()
        .await;
    let ok = serve_search(
        &mut server,
        search_request(RISKS, 100, None),
        last_page(vec![]),
    )
    .await
    .expect(1);
    let jira = connector(&server, "issue_types = { risk = 'Risk' }");
    let started = Instant::now();
    let page = jira.read_page("risks", None, None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert!(page.records.is_empty());
    limited.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_after_that_wait() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let unavailable = server
        .mock("POST", SEARCH)
        .with_status(503)
        .with_header("retry-after", "1")
        .with_body("Service Unavailable")
        .expect(1)
        .create_async()
        .await;
    let ok = serve_search(
        &mut server,
        search_request(RISKS, 100, None),
        last_page(vec![issue("1", "CAPA-1", json!({"summary": "Back"}))]),
    )
    .await
    .expect(1);
    let jira = connector(&server, "issue_types = { risk = 'Risk' }");
    let started = Instant::now();
    let page = jira.read_page("risks", None, None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.records.len(), 1);
    unavailable.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn an_unknown_project_is_named_by_search_400_and_project_404() {
    let mut server = Server::new_async().await;
    serve_fields(&mut server).await;
    let jql = "project = \"NOPE\" AND issuetype = \"Risk\" ORDER BY created ASC, key ASC";
    server
        .mock("POST", SEARCH)
        .match_body(Matcher::PartialJson(json!({"jql": jql})))
        .with_status(400)
        .with_body(
            json!({"errorMessages": ["The value 'NOPE' does not exist for the field 'project'."],
                   "errors": {}, "warningMessages": []})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    serve(
        &mut server,
        "GET",
        "/rest/api/3/project/NOPE",
        404,
        &json!({"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}),
    )
    .await;
    let jira = connector(
        &server,
        "issue_types = { risk = 'Risk' }\nread_projects = ['NOPE']\nwrite = ['risk']",
    );
    let err = jira
        .read_page("risks", None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "POST /rest/api/3/search/jql was rejected (400): The value 'NOPE' does not \
                      exist for the field 'project'."
        ) && err.contains(&format!("(JQL: {jql})")),
        "{err}"
    );
    // Writing resolves the write project first: a 404 there says what to check.
    let text = "name = 'jira'\ntype = 'jira'\nbase_url = '{url}'\nusername_env = 'E'\ntoken_env = 'T'\n\
                project = 'NOPE'\nissue_types = { risk = 'Risk' }\nwrite = ['risk']";
    let entry = imsbridge_connector::SystemEntry::split(
        0,
        toml::from_str(&text.replace("{url}", &server.url())).unwrap(),
    )
    .unwrap();
    let credentials = imsbridge_connector::Credentials {
        username: Some(EMAIL.into()),
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    let jira = imsbridge_connector_jira::Jira::from_entry(&entry, credentials, &|_| None).unwrap();
    let err = jira.prepare(false).await.unwrap_err().to_string();
    assert!(
        err.contains("the project NOPE does not exist, or the account cannot browse it")
            && err.contains("`project`"),
        "{err}"
    );
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    for (status, body, needles) in [
        (
            401,
            json!({"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}),
            vec![
                "(401)",
                "Client must be authenticated",
                "username_env",
                "API token",
                "Bearer",
            ],
        ),
        (
            403,
            json!({"errorMessages": ["You do not have permission to see the specified project."], "errors": {}}),
            vec![
                "(403): You do not have permission to see the specified project.",
                "Browse projects",
                "permission scheme",
            ],
        ),
    ] {
        let mut server = Server::new_async().await;
        serve_fields(&mut server).await;
        server
            .mock("POST", SEARCH)
            .with_status(status)
            .with_body(body.to_string())
            .expect(1)
            .create_async()
            .await;
        let jira = connector(&server, "issue_types = { risk = 'Risk' }");
        let err = jira.read_page("risks", None, None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Remote { .. }), "{err:?}");
        let text = err.to_string();
        for needle in needles {
            assert!(
                text.contains(needle),
                "{status}: {needle} missing in {text}"
            );
        }
    }
}
