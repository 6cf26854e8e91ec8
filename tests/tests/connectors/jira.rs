//! Jira Cloud through the binary: an in-memory site (field list, project, permissions, issue
//! create/edit, enhanced search honouring labels and `reconcileIssues`).

use std::sync::{Arc, Mutex};

use mockito::{Matcher, Mock, Server};
use serde_json::{Value, json};

use super::setup::{Installation, actions, correlation_of, verdicts};

const EMAIL: &str = "qm@acme.example";
const TOKEN: &str = "jira-canary-51c7e2";

#[derive(Debug, Default)]
struct Site {
    /// Issues as `GET issue` shows them: `{id, key, fields}`.
    issues: Vec<Value>,
    creates: u64,
    edits: u64,
}

impl Site {
    fn create(&mut self, body: &Value) -> Value {
        self.creates += 1;
        let n = self.issues.len() + 1;
        let mut fields = body["fields"].clone();
        fields["updated"] = json!(format!("2026-11-0{n}T10:00:00.000+0000"));
        fields["status"] =
            json!({"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}});
        let issue =
            json!({"id": format!("{}", 20_000 + n), "key": format!("CAPA-{n}"), "fields": fields});
        self.issues.push(issue.clone());
        json!({"id": issue["id"], "key": issue["key"]})
    }

    /// Search as far as the connector's JQL goes: a `labels = "…"` clause filters exactly,
    /// anything else returns every issue (the connector must confirm what it gets).
    fn search(&self, body: &Value) -> Value {
        let jql = body["jql"].as_str().unwrap_or_default();
        let label = jql
            .split("labels = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        let issues: Vec<&Value> = self
            .issues
            .iter()
            .filter(|i| match label {
                Some(l) => i["fields"]["labels"]
                    .as_array()
                    .is_some_and(|ls| ls.iter().any(|x| x == l)),
                None => true,
            })
            .collect();
        json!({"issues": issues, "isLast": true})
    }
}

fn body(request: &mockito::Request) -> Value {
    serde_json::from_slice(request.body().unwrap()).unwrap()
}

fn fixed(server: &mut Server, method: &str, path: &str, answer: Value) -> Mock {
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(answer.to_string())
        .create()
}

fn serve(server: &mut Server, site: &Arc<Mutex<Site>>) -> Vec<Mock> {
    let field = |id: &str, name: &str, ty: &str| json!({"id": id, "key": id, "name": name, "custom": false, "schema": {"type": ty, "system": id}});
    let mut mocks = vec![
        fixed(
            server,
            "GET",
            "/rest/api/3/field",
            json!([
                field("summary", "Summary", "string"),
                field("description", "Description", "string"),
                field("duedate", "Due date", "date"),
                field("labels", "Labels", "array"),
                field("status", "Status", "status"),
                field("updated", "Updated", "datetime"),
            ]),
        ),
        fixed(
            server,
            "GET",
            "/rest/api/3/project/CAPA",
            json!({"id": "10000", "key": "CAPA", "issueTypes": [
                {"id": "10001", "name": "Risk", "subtask": false},
                {"id": "10002", "name": "Incident", "subtask": false}]}),
        ),
        fixed(
            server,
            "GET",
            "/rest/api/3/myself",
            json!({"accountId": "5b10a", "emailAddress": EMAIL, "displayName": "QM", "timeZone": "Europe/Berlin"}),
        ),
        fixed(
            server,
            "GET",
            "/rest/api/3/mypermissions",
            json!({"permissions": {
                "BROWSE_PROJECTS": {"key": "BROWSE_PROJECTS", "havePermission": true},
                "CREATE_ISSUES": {"key": "CREATE_ISSUES", "havePermission": true},
                "EDIT_ISSUES": {"key": "EDIT_ISSUES", "havePermission": true}}}),
        ),
    ];
    let s = Arc::clone(site);
    mocks.push(
        server
            .mock("POST", "/rest/api/3/issue")
            .with_status(201)
            .with_header("content-type", "application/json")
            .with_body_from_request(move |r| {
                s.lock().unwrap().create(&body(r)).to_string().into_bytes()
            })
            .create(),
    );
    let s = Arc::clone(site);
    mocks.push(
        server
            .mock("POST", "/rest/api/3/search/jql")
            .with_header("content-type", "application/json")
            .with_body_from_request(move |r| {
                s.lock().unwrap().search(&body(r)).to_string().into_bytes()
            })
            .create(),
    );
    let s = Arc::clone(site);
    mocks.push(
        server
            .mock("PUT", Matcher::Regex(r"^/rest/api/3/issue/\d+".into()))
            .with_status(204)
            .with_body_from_request(move |_| {
                s.lock().unwrap().edits += 1;
                Vec::new()
            })
            .create(),
    );
    mocks
}

#[test]
fn jira_is_checked_synced_and_left_alone_when_nothing_changed() {
    let mut ims = Installation::with_ai_risks(&[
        "Training data drawn from an unlicensed corpus",
        "Chatbot answers outside its approved scope",
    ]);
    let mut server = Server::new();
    let site = Arc::new(Mutex::new(Site::default()));
    let _mocks = serve(&mut server, &site);
    ims.write_config(&format!(
        r#"[[system]]
name = "jira"
type = "jira"
base_url = "{url}"
username_env = "JIRA_EMAIL"
token_env = "JIRA_API_TOKEN"
project = "CAPA"
issue_types = {{ risk = "Risk", incident = "Incident" }}
write = ["risk"]
"#,
        url = server.url()
    ));

    // Without the token the check names the variable and reads nothing.
    ims.env = vec![("JIRA_EMAIL".into(), EMAIL.into())];
    let out = ims.run(&["systems", "check"]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert!(out.stderr.contains("JIRA_API_TOKEN") || out.stdout.contains("JIRA_API_TOKEN"));

    ims.env.push(("JIRA_API_TOKEN".into(), TOKEN.into()));
    let checks = ims.json(&["systems", "check"], 0);
    let verdicts = verdicts(&checks, "jira");
    assert!(!verdicts.is_empty());
    assert!(
        verdicts.iter().all(|(_, status)| status != "failed"),
        "{verdicts:?}"
    );

    let ids = ims.ai_risk_ids();
    assert_eq!(ids.len(), 2);
    let plan = ims.json(&["plan", "--target", "jira"], 0);
    assert_eq!(actions(&plan).get("create"), Some(&2), "{plan}");

    let out = ims.run(&["sync", "--target", "jira"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    {
        let site = site.lock().unwrap();
        assert_eq!(site.creates, 2);
        let mut labels: Vec<String> = site
            .issues
            .iter()
            .flat_map(|i| i["fields"]["labels"].as_array().unwrap().clone())
            .map(|l| l.as_str().unwrap().to_string())
            .collect();
        labels.sort();
        let mut expected: Vec<String> = ids
            .iter()
            .map(|id| correlation_of(id).replace("IMSB-", "imsbridge-"))
            .collect();
        expected.sort();
        assert_eq!(labels, expected);
        for issue in &site.issues {
            assert_eq!(issue["fields"]["issuetype"]["id"], "10001", "{issue}");
            assert_eq!(issue["fields"]["description"]["type"], "doc", "{issue}");
        }
    }

    // Nothing changed on either side: the next plan writes nothing.
    let plan = ims.json(&["plan", "--target", "jira", "--detailed-exitcode"], 0);
    assert_eq!(actions(&plan).get("noop"), Some(&2), "{plan}");
    let out = ims.run(&["sync", "--target", "jira"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let site = site.lock().unwrap();
    assert_eq!((site.creates, site.edits), (2, 0));

    // The token never reaches the output, the store or its journal.
    let journal = ims.run(&["--format", "json", "journal"]);
    for text in [&out.stdout, &out.stderr, &journal.stdout] {
        assert!(!text.contains(TOKEN));
    }
    let db = std::fs::read(ims.path().join("imsbridge.db")).unwrap();
    assert!(!db.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
}
