//! Mock-server helpers for the contract tests: a Jira Cloud site answering as its REST API v3
//! documentation says (field list, project, enhanced search, issue create/edit/transitions).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use imsbridge_connector::{Credentials, SystemEntry};
use imsbridge_connector_jira::Jira;
use imsbridge_http::{Auth, HttpClient, HttpConfig};
use mockito::{Matcher, Mock, Server};
use serde_json::{Value, json};

/// The account and API token the connector under test sends.
pub const EMAIL: &str = "qm@acme.example";
pub const TOKEN: &str = "jira-token-7f3a9c";
/// base64("qm@acme.example:jira-token-7f3a9c")
pub const BASIC: &str = "Basic cW1AYWNtZS5leGFtcGxlOmppcmEtdG9rZW4tN2YzYTlj";

pub const SEARCH: &str = "/rest/api/3/search/jql";

/// A correlation id as the engine hands them out, and its label.
pub const CORR: &str = "IMSB-0123456789abcdef";
pub const LABEL: &str = "imsbridge-0123456789abcdef";

/// The `[[system]]` table of a connector for `server` with these extra keys.
pub fn entry(server: &Server, extra: &str) -> SystemEntry {
    let text = format!(
        "name = 'jira'\ntype = 'jira'\nbase_url = '{}'\nusername_env = 'JIRA_EMAIL'\n\
         token_env = 'JIRA_API_TOKEN'\nproject = 'CAPA'\n{extra}",
        server.url()
    );
    SystemEntry::split(0, toml::from_str(&text).unwrap()).unwrap()
}

/// A connector for `server` (email + API token, Basic) with these extra keys.
pub fn connector(server: &Server, extra: &str) -> Jira {
    let credentials = Credentials {
        username: Some(EMAIL.into()),
        token: Some(TOKEN.into()),
        ..Credentials::default()
    };
    Jira::from_entry(&entry(server, extra), credentials, &|_| None).unwrap()
}

/// A connector on an HTTP client with a short timeout and quick backoff.
pub fn quick_connector(server: &Server, extra: &str, timeout: Duration) -> Jira {
    let mut config = HttpConfig::new(server.url().parse().unwrap());
    config.timeout = timeout;
    config.min_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(50);
    let auth = Auth::Basic {
        username: EMAIL.into(),
        password: TOKEN.into(),
    };
    let http = HttpClient::new("jira", config, auth).unwrap();
    Jira::with_http(&entry(server, extra), http).unwrap()
}

/// The site's fields: the system fields the connector reads, and custom fields.
pub fn field_list() -> Value {
    let custom = |id: &str, name: &str, ty: &str, custom: &str| {
        json!({"id": id, "key": id, "name": name, "custom": true,
               "schema": {"type": ty, "custom": format!("com.atlassian.jira.plugin.system.customfieldtypes:{custom}")}})
    };
    let system = |id: &str, name: &str, ty: &str| json!({"id": id, "key": id, "name": name, "custom": false, "schema": {"type": ty, "system": id}});
    json!([
        system("summary", "Summary", "string"),
        system("description", "Description", "string"),
        system("duedate", "Due date", "date"),
        system("assignee", "Assignee", "user"),
        system("status", "Status", "status"),
        system("labels", "Labels", "array"),
        system("priority", "Priority", "priority"),
        system("created", "Created", "datetime"),
        system("updated", "Updated", "datetime"),
        system("resolution", "Resolution", "resolution"),
        system("resolutiondate", "Resolved", "datetime"),
        system("issuetype", "Issue Type", "issuetype"),
        system("project", "Project", "project"),
        {"id": "lastViewed", "name": "Last Viewed", "schema": {"type": "datetime", "system": "lastViewed"}},
        {"id": "watches", "name": "Watchers", "schema": {"type": "watches", "system": "watches"}},
        custom("customfield_10050", "Likelihood", "number", "float"),
        custom("customfield_10051", "Impact", "number", "float"),
        custom("customfield_10052", "Treatment", "option", "select"),
        custom("customfield_10053", "Treatment plan", "string", "textarea"),
        custom("customfield_10054", "Root cause", "string", "textarea"),
        custom("customfield_10055", "Severity", "option", "select"),
        custom("customfield_10056", "ISO clauses", "string", "textfield"),
        custom("customfield_10057", "Category", "string", "textfield"),
        custom("customfield_10060", "External ID", "string", "textfield"),
        custom("customfield_10070", "Risk level", "option", "select"),
        custom("customfield_10071", "Risk level", "number", "float"),
    ])
}

/// The `Authorization` header every request must carry.
pub fn auth() -> &'static str {
    BASIC
}

/// `GET /rest/api/3/field`.
pub async fn serve_fields(server: &mut Server) -> Mock {
    server
        .mock("GET", "/rest/api/3/field")
        .match_header("authorization", auth())
        .with_header("content-type", "application/json")
        .with_body(field_list().to_string())
        .create_async()
        .await
}

/// The project CAPA (id 10000) with its issue types.
pub fn project() -> Value {
    json!({"id": "10000", "key": "CAPA", "name": "Corrective and preventive actions",
    "issueTypes": [
        {"id": "10001", "name": "Risk", "subtask": false},
        {"id": "10002", "name": "Incident", "subtask": false},
        {"id": "10003", "name": "Nonconformity", "subtask": false},
        {"id": "10004", "name": "Corrective Action", "subtask": false},
    ]})
}

pub async fn serve_project(server: &mut Server) -> Mock {
    serve(server, "GET", "/rest/api/3/project/CAPA", 200, &project()).await
}

/// A mock answering `method path` (any query) with `status` and `body`, for requests carrying
/// the credentials.
pub async fn serve(
    server: &mut Server,
    method: &str,
    path: &str,
    status: usize,
    body: &Value,
) -> Mock {
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .match_header("authorization", auth())
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create_async()
        .await
}

/// A search answering requests whose body is exactly `request` with `response`.
pub async fn serve_search(server: &mut Server, request: Value, response: Value) -> Mock {
    server
        .mock("POST", SEARCH)
        .match_header("authorization", auth())
        .match_body(Matcher::Json(request))
        .with_header("content-type", "application/json")
        .with_body(response.to_string())
        .create_async()
        .await
}

/// An issue as search and `GET issue` return it.
pub fn issue(id: &str, key: &str, fields: Value) -> Value {
    json!({"expand": "renderedFields,names,schema", "id": id, "key": key,
           "self": format!("https://acme.atlassian.net/rest/api/3/issue/{id}"), "fields": fields})
}

/// An ADF document of one paragraph.
pub fn doc(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

/// A status with its category.
pub fn status(name: &str, category: &str) -> Value {
    json!({"name": name, "id": "1", "statusCategory": {"id": 2, "key": category, "name": category}})
}
