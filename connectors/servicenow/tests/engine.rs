//! The sync engine end to end against the emulated instance: plan, apply, re-plan, local and
//! remote edits under each conflict policy, a lost create answer, and a pull of what was
//! written. Every test checks the instance's rows: one per record, never a duplicate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::*;
use imsbridge_connector::{ConflictPolicy, SystemEntry, correlation_id};
use imsbridge_connector_servicenow::ServiceNow;
use imsbridge_mappings::Mappings;
use imsbridge_model::{AiFlag, Dates, Details, Provenance, Record, RecordId, RecordKind};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store};
use imsbridge_sync::{
    Action, ApplyOptions, ApplyReport, Plan, TargetRef, apply, make_plan, pull_source,
};
use serde_json::{Value, json};

const TARGET: &str = "snow";

fn ai_risk(external_id: &str, title: &str, ai: bool) -> Record {
    let mut record = Record {
        id: RecordId::from_source("erm", RecordKind::Risk, external_id),
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
        details: Details::empty(RecordKind::Risk),
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

fn retitle(store: &mut Store, r: &Record, title: &str) -> Record {
    let mut changed = r.clone();
    changed.title = title.into();
    changed.seal();
    import(store, std::slice::from_ref(&changed));
    changed
}

struct World {
    instance: Instance,
    sn: ServiceNow,
    store: Store,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(records: &[Record]) -> World {
        let instance = Instance::start().await;
        let sn = connector(&instance.url(), "write = ['risk']");
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("imsbridge.db")).unwrap();
        import(&mut store, records);
        World {
            instance,
            sn,
            store,
            _dir: dir,
        }
    }

    fn target(&self, policy: ConflictPolicy) -> TargetRef<'_> {
        TargetRef {
            name: TARGET,
            connector: "servicenow",
            policy,
            kinds: vec![RecordKind::Risk],
            target: &self.sn,
        }
    }

    async fn plan(&self, policy: ConflictPolicy) -> Plan {
        make_plan(&self.store, &[self.target(policy)])
            .await
            .unwrap()
    }

    async fn apply(&mut self, plan: &Plan, policy: ConflictPolicy) -> ApplyReport {
        let options = ApplyOptions {
            settle: std::time::Duration::ZERO,
            ..ApplyOptions::default()
        };
        let target = TargetRef {
            name: TARGET,
            connector: "servicenow",
            policy,
            kinds: vec![RecordKind::Risk],
            target: &self.sn,
        };
        apply(&mut self.store, plan, &[target], &options, &|_| {})
            .await
            .unwrap()
    }

    /// Plans and applies under `report`.
    async fn sync(&mut self) -> ApplyReport {
        let plan = self.plan(ConflictPolicy::Report).await;
        self.apply(&plan, ConflictPolicy::Report).await
    }

    fn rows(&self) -> Vec<Row> {
        self.instance.with(|s| s.rows(RISKS).to_vec())
    }

    /// The one row carrying `r`'s correlation id.
    fn one(&self, r: &Record) -> Row {
        let corr = correlation_id(r);
        let found: Vec<Row> = self
            .rows()
            .into_iter()
            .filter(|row| row[CORR_FIELD] == corr.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{corr}: {found:#?}");
        found.into_iter().next().unwrap()
    }

    fn writes(&self) -> Vec<Seen> {
        self.instance
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
}

fn actions(plan: &Plan) -> Vec<Action> {
    plan.items.iter().map(|i| i.action).collect()
}

#[tokio::test]
async fn a_first_sync_creates_each_ai_risk_once_and_the_next_writes_nothing() {
    let records: Vec<Record> = (1..=3)
        .map(|i| ai_risk(&format!("R-{i}"), &format!("Risk {i}"), true))
        .collect();
    let mut all = records.clone();
    all.push(ai_risk("R-4", "Not an AI risk", false));
    let mut w = World::new(&all).await;

    let plan = w.plan(ConflictPolicy::Report).await;
    assert_eq!(actions(&plan), vec![Action::Create; 3]);
    assert!(w.writes().is_empty(), "planning only reads");
    let report = w.apply(&plan, ConflictPolicy::Report).await;
    assert_eq!((report.created, report.failed), (3, 0));
    assert_eq!(w.rows().len(), 3);
    for r in &records {
        let row = w.one(r);
        assert_eq!(row["name"], r.title.as_str());
        assert_eq!(row["description"], r.description.as_deref().unwrap());
    }
    assert_eq!(w.store.links(Some(TARGET)).unwrap().len(), 3);

    let before = w.writes().len();
    let again = w.plan(ConflictPolicy::Report).await;
    assert_eq!(actions(&again), vec![Action::Noop; 3]);
    let report = w.apply(&again, ConflictPolicy::Report).await;
    assert_eq!(
        (report.unchanged, report.created, report.updated),
        (3, 0, 0)
    );
    assert_eq!(w.writes().len(), before, "zero writes");

    // Pulled back from the instance, the bridge's rows are AI risks of `snow`: never planned
    // back to it, so still nothing to do.
    let entry = SystemEntry::split(
        0,
        toml::from_str(&format!(
            "name = '{TARGET}'\ntype = 'servicenow'\nbase_url = '{}'\ntoken_env = 'T'",
            w.instance.url()
        ))
        .unwrap(),
    )
    .unwrap();
    let rejects = tempfile::tempdir().unwrap();
    let streams = vec!["risks".to_string()];
    let pulled = pull_source(
        &mut w.store,
        &Mappings::embedded().unwrap(),
        &entry.common,
        &w.sn,
        Some(&streams),
        true,
        rejects.path(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(pulled.imported, 3);
    let after_pull = w.plan(ConflictPolicy::Report).await;
    assert_eq!(actions(&after_pull), vec![Action::Noop; 3]);
    assert_eq!(w.rows().len(), 3);
}

#[tokio::test]
async fn a_local_edit_patches_exactly_that_field() {
    let records: Vec<Record> = (1..=2)
        .map(|i| ai_risk(&format!("R-{i}"), &format!("Risk {i}"), true))
        .collect();
    let mut w = World::new(&records).await;
    w.sync().await;
    let changed = retitle(&mut w.store, &records[0], "Risk 1, reworded");
    let plan = w.plan(ConflictPolicy::Report).await;
    let item = plan.items.iter().find(|i| i.record == changed.id).unwrap();
    assert_eq!(item.action, Action::Update);
    assert_eq!(item.changes.keys().collect::<Vec<_>>(), ["name"]);
    let before = w.writes().len();
    let report = w.apply(&plan, ConflictPolicy::Report).await;
    assert_eq!((report.updated, report.unchanged), (1, 1));
    let writes = w.writes();
    let [patch] = &writes[before..] else {
        panic!("{writes:?}")
    };
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        serde_json::from_str::<Value>(&patch.body).unwrap(),
        json!({"name": "Risk 1, reworded"})
    );
    assert_eq!(w.one(&changed)["name"], "Risk 1, reworded");
    assert_eq!(
        actions(&w.plan(ConflictPolicy::Report).await),
        vec![Action::Noop; 2]
    );
}

#[tokio::test]
async fn both_sides_editing_the_same_field_follows_the_conflict_policy() {
    for policy in [
        ConflictPolicy::Report,
        ConflictPolicy::LocalWins,
        ConflictPolicy::RemoteWins,
    ] {
        let record = ai_risk("R-1", "Risk 1", true);
        let mut w = World::new(std::slice::from_ref(&record)).await;
        w.sync().await;
        let changed = retitle(&mut w.store, &record, "Local title");
        let id = w.one(&changed)["sys_id"].as_str().unwrap().to_string();
        w.instance
            .with(|s| s.edit(RISKS, &id, "name", "Remote name"));

        let plan = w.plan(policy).await;
        let [item] = plan.items.as_slice() else {
            panic!()
        };
        let before = w.writes().len();
        let report = w.apply(&plan, policy).await;
        let expected = match policy {
            ConflictPolicy::Report => (Action::Conflict, "Remote name", 0),
            ConflictPolicy::LocalWins => (Action::Update, "Local title", 1),
            ConflictPolicy::RemoteWins => (Action::Noop, "Remote name", 0),
        };
        assert_eq!(item.action, expected.0, "{policy:?}");
        assert_eq!(w.one(&changed)["name"], expected.1, "{policy:?}");
        assert_eq!(w.writes().len() - before, expected.2, "{policy:?}");
        match policy {
            ConflictPolicy::Report => {
                assert_eq!(report.conflicts, 1);
                assert!(item.reason.as_deref().unwrap().contains("name"));
            }
            ConflictPolicy::RemoteWins => assert_eq!(item.remote_edits, ["name"]),
            ConflictPolicy::LocalWins => assert_eq!(report.updated, 1),
        }
        assert_eq!(w.rows().len(), 1);
    }
}

#[tokio::test]
async fn a_create_answered_with_a_500_after_storing_is_not_duplicated() {
    let records: Vec<Record> = (1..=2)
        .map(|i| ai_risk(&format!("R-{i}"), &format!("Risk {i}"), true))
        .collect();
    let mut w = World::new(&records).await;
    // Whichever create goes first is stored, then answered with a 500.
    let mut fault = Fault::status(
        "POST",
        RISKS,
        500,
        json!({"error": {"message": "Transaction cancelled: maximum execution time exceeded"}, "status": "failure"}),
    );
    fault.apply_first = true;
    w.instance.fault(fault);
    // The lookup that would settle it at once fails too: the next run must settle it.
    for r in &records {
        w.instance.fault(Fault::status(
            "GET",
            &format!("u_imsbridge_id={}", correlation_id(r)),
            403,
            json!({"error": {"message": "Operation Failed", "detail": "ACL Exception"}, "status": "failure"}),
        ));
    }
    let first = w.sync().await;
    assert_eq!((first.created, first.failed), (1, 1), "{:#?}", first.items);
    assert_eq!(w.rows().len(), 2, "the lost create did land");

    let posts = w.writes().iter().filter(|r| r.method == "POST").count();
    let second = w.sync().await;
    assert_eq!(second.repaired, 1, "{second:#?}");
    assert_eq!(second.created, 0);
    assert_eq!(
        w.writes().iter().filter(|r| r.method == "POST").count(),
        posts,
        "nothing posted again"
    );
    for r in &records {
        w.one(r);
    }
    assert_eq!(w.rows().len(), 2);
    assert_eq!(w.store.links(Some(TARGET)).unwrap().len(), 2);
    assert_eq!(
        actions(&w.plan(ConflictPolicy::Report).await),
        vec![Action::Noop; 2]
    );
}
