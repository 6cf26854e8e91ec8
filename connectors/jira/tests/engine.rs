//! The sync engine end to end against a stateful mock of Jira Cloud: issues are created,
//! edited and searched as Jira does it, including the search index lag that `reconcileIssues`
//! bridges. Every test checks the final store and the issues Jira holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use common::*;
use imsbridge_connector::{ConflictPolicy, correlation_id};
use imsbridge_connector_jira::{Jira, adf};
use imsbridge_model::{AiFlag, Dates, Details, Provenance, Record, RecordId, RecordKind};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store};
use imsbridge_sync::{Action, ApplyOptions, ApplyReport, Plan, TargetRef, apply, make_plan};
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{Map, Value, json};

const SYSTEM: &str = "jira";
const CONFIG: &str =
    "issue_types = { risk = 'Risk', incident = 'Incident' }\nwrite = ['risk', 'incident']";

// ---------------------------------------------------------------------------------------
// A Jira site in memory
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Issue {
    id: String,
    key: String,
    fields: Map<String, Value>,
    /// Whether search sees it without `reconcileIssues` (Jira indexes new issues late).
    indexed: bool,
}

#[derive(Debug, Default)]
struct State {
    issues: Vec<Issue>,
    clock: i64,
    creates: u64,
    /// Bodies of the edits received.
    puts: Vec<Value>,
    /// The next N creates store the issue, then answer 500 (the answer is lost).
    fail_after_store: u32,
    /// The answer to the create being served.
    answer: Value,
}

impl State {
    fn stamp(&mut self) -> String {
        self.clock += 1;
        let at =
            Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + Duration::seconds(self.clock);
        at.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
    }

    /// Search catches up: every issue is indexed.
    fn index_all(&mut self) {
        for issue in &mut self.issues {
            issue.indexed = true;
        }
    }

    fn json(issue: &Issue) -> Value {
        json!({"id": issue.id, "key": issue.key, "fields": issue.fields})
    }

    fn labelled(&self, label: &str) -> Vec<&Issue> {
        self.issues
            .iter()
            .filter(|i| {
                i.fields["labels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l == label)
            })
            .collect()
    }

    fn by_id(&mut self, id: &str) -> &mut Issue {
        self.issues.iter_mut().find(|i| i.id == id).unwrap()
    }

    /// `POST /rest/api/3/issue`: the status to answer with (the issue is stored either way).
    fn create(&mut self, body: &Value) -> usize {
        self.creates += 1;
        let mut fields = body["fields"].as_object().unwrap().clone();
        let type_id = fields["issuetype"]["id"].as_str().unwrap().to_string();
        let type_name = project()["issueTypes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == type_id.as_str())
            .map(|t| t["name"].clone())
            .unwrap();
        assert_eq!(fields["project"], json!({"id": "10000"}));
        fields.insert("project".into(), json!({"id": "10000", "key": "CAPA"}));
        fields.insert(
            "issuetype".into(),
            json!({"id": type_id, "name": type_name}),
        );
        fields.insert("status".into(), status("To Do", "new"));
        let now = self.stamp();
        fields.insert("created".into(), json!(now));
        fields.insert("updated".into(), json!(now));
        let n = self.issues.len() + 1;
        let issue = Issue {
            id: format!("{}", 10_000 + n),
            key: format!("CAPA-{n}"),
            fields,
            indexed: false,
        };
        self.answer =
            json!({"id": issue.id, "key": issue.key, "self": "https://acme/rest/api/3/issue"});
        self.issues.push(issue);
        if self.fail_after_store > 0 {
            self.fail_after_store -= 1;
            self.answer = json!({"errorMessages": ["Internal server error"]});
            500
        } else {
            201
        }
    }

    /// `POST /rest/api/3/search/jql`, as far as the connector's queries go.
    fn search(&self, body: &Value) -> Value {
        let jql = body["jql"].as_str().unwrap();
        let quoted = |after: &str| {
            jql.find(after)
                .map(|at| &jql[at + after.len()..])
                .and_then(|rest| rest.split('"').next())
        };
        assert!(jql.starts_with("project = \"CAPA\""), "{jql}");
        let issue_type = quoted("issuetype = \"").unwrap();
        let label = quoted("labels = \"");
        let reconcile: Vec<String> = body
            .get("reconcileIssues")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().map(|i| i.to_string()).collect())
            .unwrap_or_default();
        let hits: Vec<Value> = self
            .issues
            .iter()
            .filter(|i| i.indexed || reconcile.contains(&i.id))
            .filter(|i| i.fields["issuetype"]["name"] == issue_type)
            .filter(|i| {
                let labels = i.fields["labels"].as_array().unwrap();
                match label {
                    Some(l) => labels.iter().any(|x| x == l),
                    None => !jql.contains("labels is not EMPTY") || !labels.is_empty(),
                }
            })
            .map(State::json)
            .collect();
        let size = body["maxResults"].as_u64().unwrap() as usize;
        let start: usize = body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(|t| t.parse().unwrap())
            .unwrap_or(0);
        let page: Vec<Value> = hits.iter().skip(start).take(size).cloned().collect();
        if start + size < hits.len() {
            json!({"issues": page, "nextPageToken": (start + size).to_string(), "isLast": false})
        } else {
            json!({"issues": page, "isLast": true})
        }
    }
}

type Shared = Arc<Mutex<State>>;

fn body(request: &mockito::Request) -> Value {
    serde_json::from_slice(request.body().unwrap()).unwrap()
}

fn issue_id(request: &mockito::Request) -> String {
    request.path().rsplit('/').next().unwrap().to_string()
}

/// Serves the site from `state`.
async fn jira_site(server: &mut Server, state: &Shared) -> Vec<Mock> {
    let mut mocks = vec![serve_fields(server).await, serve_project(server).await];
    let s = Arc::clone(state);
    let s2 = Arc::clone(state);
    mocks.push(
        server
            .mock("POST", "/rest/api/3/issue")
            .match_header("authorization", auth())
            .with_status_code_from_request(move |r| s.lock().unwrap().create(&body(r)))
            .with_body_from_request(move |_| s2.lock().unwrap().answer.to_string().into_bytes())
            .create_async()
            .await,
    );
    let s = Arc::clone(state);
    mocks.push(
        server
            .mock("PUT", Matcher::Regex(r"^/rest/api/3/issue/\d+$".into()))
            .match_header("authorization", auth())
            .with_status(204)
            .with_body_from_request(move |r| {
                let mut state = s.lock().unwrap();
                let edit = body(r);
                state.puts.push(edit.clone());
                let now = state.stamp();
                let issue = state.by_id(&issue_id(r));
                for (k, v) in edit["fields"].as_object().unwrap() {
                    issue.fields.insert(k.clone(), v.clone());
                }
                issue.fields.insert("updated".into(), json!(now));
                Vec::new()
            })
            .create_async()
            .await,
    );
    let s = Arc::clone(state);
    mocks.push(
        server
            .mock("GET", Matcher::Regex(r"^/rest/api/3/issue/\d+".into()))
            .match_header("authorization", auth())
            .with_body_from_request(move |r| {
                let mut state = s.lock().unwrap();
                State::json(state.by_id(&issue_id(r)))
                    .to_string()
                    .into_bytes()
            })
            .create_async()
            .await,
    );
    let s = Arc::clone(state);
    mocks.push(
        server
            .mock("POST", SEARCH)
            .match_header("authorization", auth())
            .with_body_from_request(move |r| {
                s.lock().unwrap().search(&body(r)).to_string().into_bytes()
            })
            .create_async()
            .await,
    );
    mocks
}

// ---------------------------------------------------------------------------------------
// The store side
// ---------------------------------------------------------------------------------------

fn record(kind: RecordKind, external_id: &str, title: &str, ai: bool) -> Record {
    let mut record = Record {
        id: RecordId::from_source("erm", kind, external_id),
        provenance: Provenance {
            system: "erm".into(),
            connector: "spreadsheet".into(),
            external_id: external_id.into(),
            location: format!("risks.xlsx:{external_id}"),
            imported_at: Utc::now(),
            content_hash: String::new(),
        },
        title: title.into(),
        description: Some(format!("Description of {external_id}")),
        owner: None,
        status: None,
        dates: Dates::default(),
        clauses: vec![],
        hs: vec![],
        ai: AiFlag {
            flagged: ai,
            ..AiFlag::default()
        },
        details: Details::empty(kind),
        extra: BTreeMap::new(),
    };
    record.seal();
    record
}

fn import(store: &mut Store, records: &[Record]) {
    let run = ImportRunStart::new("risks.xlsx", "erm", "spreadsheet");
    let mut tx = store.begin_import(&run).unwrap();
    for r in records {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap();
}

/// `r` re-imported with `edit` applied.
fn edit(store: &mut Store, r: &Record, edit: impl FnOnce(&mut Record)) -> Record {
    let mut changed = r.clone();
    edit(&mut changed);
    changed.seal();
    import(store, std::slice::from_ref(&changed));
    changed
}

fn fast() -> ApplyOptions {
    ApplyOptions {
        settle: std::time::Duration::ZERO,
        ..ApplyOptions::default()
    }
}

async fn plan(store: &Store, jira: &Jira, policy: ConflictPolicy) -> Plan {
    make_plan(store, &[target(jira, policy)]).await.unwrap()
}

fn target(jira: &Jira, policy: ConflictPolicy) -> TargetRef<'_> {
    TargetRef {
        name: SYSTEM,
        connector: "jira",
        policy,
        kinds: vec![RecordKind::Risk, RecordKind::Incident],
        target: jira,
    }
}

async fn run(store: &mut Store, plan: &Plan, jira: &Jira, policy: ConflictPolicy) -> ApplyReport {
    apply(store, plan, &[target(jira, policy)], &fast(), &|_| {})
        .await
        .unwrap()
}

fn label(r: &Record) -> String {
    format!("imsbridge-{}", &correlation_id(r)["IMSB-".len()..])
}

fn actions(plan: &Plan) -> Vec<Action> {
    plan.items.iter().map(|i| i.action).collect()
}

/// A temp store holding two AI risks, an AI incident and a risk that is not about AI, synced
/// once to a fresh site.
async fn synced() -> (
    tempfile::TempDir,
    Store,
    ServerGuard,
    Shared,
    Jira,
    Vec<Record>,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("imsbridge.db")).unwrap();
    let records = vec![
        record(RecordKind::Risk, "R-1", "Model drift", true),
        record(RecordKind::Risk, "R-2", "Prompt injection", true),
        record(RecordKind::Incident, "I-1", "Chatbot leaked a prompt", true),
    ];
    let other = record(RecordKind::Risk, "R-3", "Office flooding", false);
    import(&mut store, &records);
    import(&mut store, std::slice::from_ref(&other));
    let mut server = Server::new_async().await;
    let state: Shared = Arc::default();
    jira_site(&mut server, &state).await;
    let jira = connector(&server, CONFIG);

    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    assert_eq!(actions(&p), [Action::Create; 3], "{:#?}", p.items);
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    assert_eq!((report.created, report.failed), (3, 0), "{report:#?}");
    {
        let s = state.lock().unwrap();
        assert_eq!(s.creates, 3);
        for r in &records {
            let found = s.labelled(&label(r));
            assert_eq!(found.len(), 1, "{}", r.provenance.external_id);
            let fields = &found[0].fields;
            assert_eq!(fields["summary"], json!(r.title));
            assert_eq!(
                fields["description"],
                adf::from_text(r.description.as_deref().unwrap())
            );
            let ty = if r.kind() == RecordKind::Risk {
                "Risk"
            } else {
                "Incident"
            };
            assert_eq!(fields["issuetype"]["name"], json!(ty));
        }
        assert!(s.labelled(&label(&other)).is_empty());
        assert!(
            s.issues.iter().all(|i| !i.indexed),
            "nothing is in the search index yet"
        );
    }
    assert_eq!(store.links(Some(SYSTEM)).unwrap().len(), 3);
    (dir, store, server, state, jira, records)
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn issues_are_created_once_then_only_what_changed_is_written() {
    let (_dir, mut store, server, state, jira, records) = synced().await;

    // The same process plans again before Jira indexed the new issues: reconcileIssues lets
    // search see them, so nothing is created twice.
    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    assert_eq!(actions(&p), [Action::Noop; 3], "{:#?}", p.items);
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    assert!(!report.wrote(), "{report:#?}");
    assert_eq!(state.lock().unwrap().creates, 3);
    assert!(state.lock().unwrap().puts.is_empty());

    // A local edit: exactly that field is written.
    let changed = edit(&mut store, &records[0], |r| {
        r.title = "Model drift (retrained)".into()
    });
    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    let updates: Vec<_> = p
        .items
        .iter()
        .filter(|i| i.action == Action::Update)
        .collect();
    assert_eq!(updates.len(), 1, "{:#?}", p.items);
    assert_eq!(updates[0].record, changed.id);
    assert_eq!(updates[0].changes.keys().collect::<Vec<_>>(), ["summary"]);
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    assert_eq!(report.updated, 1, "{report:#?}");
    assert_eq!(
        state.lock().unwrap().puts,
        [json!({"fields": {"summary": "Model drift (retrained)"}})]
    );

    // And then nothing is left to do, in this process or the next.
    assert_eq!(
        actions(&plan(&store, &jira, ConflictPolicy::Report).await),
        [Action::Noop; 3]
    );
    state.lock().unwrap().index_all();
    let next_run = connector(&server, CONFIG);
    assert_eq!(
        actions(&plan(&store, &next_run, ConflictPolicy::Report).await),
        [Action::Noop; 3]
    );
    assert_eq!(state.lock().unwrap().creates, 3);
}

#[tokio::test]
async fn a_field_edited_on_both_sides_follows_the_conflict_policy() {
    let (_dir, mut store, _server, state, jira, records) = synced().await;
    let r = &records[1];
    let issue_id = state.lock().unwrap().labelled(&label(r))[0].id.clone();
    edit(&mut store, r, |r| {
        r.description = Some("Local: sanitise inputs".into())
    });
    {
        let mut s = state.lock().unwrap();
        let now = s.stamp();
        let issue = s.by_id(&issue_id);
        issue.fields.insert(
            "description".into(),
            adf::from_text("Remote: add a WAF rule"),
        );
        issue.fields.insert("updated".into(), json!(now));
    }
    let remote_text = |state: &Shared| {
        let s = state.lock().unwrap();
        let issue = s.issues.iter().find(|i| i.id == issue_id).unwrap();
        adf::to_text(&issue.fields["description"])
    };

    // report: a conflict, nothing written.
    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    let item = p.items.iter().find(|i| i.record == r.id).unwrap();
    assert_eq!(item.action, Action::Conflict, "{item:#?}");
    assert!(item.reason.as_deref().unwrap().contains("description"));
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    assert_eq!((report.conflicts, report.updated), (1, 0));
    assert_eq!(remote_text(&state), "Remote: add a WAF rule");

    // remote-wins: the remote edit is kept.
    let p = plan(&store, &jira, ConflictPolicy::RemoteWins).await;
    let item = p.items.iter().find(|i| i.record == r.id).unwrap();
    assert_eq!(
        (item.action, item.remote_edits.as_slice()),
        (Action::Noop, &["description".to_string()][..])
    );
    let report = run(&mut store, &p, &jira, ConflictPolicy::RemoteWins).await;
    assert!(!report.wrote(), "{report:#?}");
    assert_eq!(remote_text(&state), "Remote: add a WAF rule");
    assert!(state.lock().unwrap().puts.is_empty());

    // local-wins: the local value overwrites it, and only that field is sent.
    let p = plan(&store, &jira, ConflictPolicy::LocalWins).await;
    let item = p.items.iter().find(|i| i.record == r.id).unwrap();
    assert_eq!(item.action, Action::Update, "{item:#?}");
    let report = run(&mut store, &p, &jira, ConflictPolicy::LocalWins).await;
    assert_eq!(report.updated, 1, "{report:#?}");
    assert_eq!(remote_text(&state), "Local: sanitise inputs");
    let puts = state.lock().unwrap().puts.clone();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["description"]
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_duplicated_by_the_next_run() {
    let (_dir, mut store, server, state, jira, _records) = synced().await;
    let new = record(RecordKind::Risk, "R-4", "Training data poisoning", true);
    import(&mut store, std::slice::from_ref(&new));
    state.lock().unwrap().fail_after_store = 1;

    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    assert_eq!(p.summary.create, 1);
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    // Jira stored it, the answer was a 500, and the lookup cannot see the unindexed issue yet.
    assert_eq!((report.created, report.failed), (0, 1), "{report:#?}");
    assert!(report.items.iter().any(|i| {
        i.message
            .as_deref()
            .unwrap_or("")
            .contains("may or may not")
    }));
    assert_eq!(state.lock().unwrap().labelled(&label(&new)).len(), 1);
    assert!(store.link(SYSTEM, new.id).unwrap().is_none());

    // The next run (a new process; search has caught up) finds it and links it.
    state.lock().unwrap().index_all();
    let jira = connector(&server, CONFIG);
    let p = plan(&store, &jira, ConflictPolicy::Report).await;
    assert_eq!(p.summary.create, 0, "{:#?}", p.items);
    let report = run(&mut store, &p, &jira, ConflictPolicy::Report).await;
    assert_eq!((report.created, report.repaired), (0, 1), "{report:#?}");
    {
        let s = state.lock().unwrap();
        assert_eq!(s.creates, 4);
        assert_eq!(s.labelled(&label(&new)).len(), 1, "no duplicate");
    }
    let link = store.link(SYSTEM, new.id).unwrap().unwrap();
    assert_eq!(link.correlation, correlation_id(&new));
    assert_eq!(
        actions(&plan(&store, &jira, ConflictPolicy::Report).await),
        [Action::Noop; 4]
    );
}
