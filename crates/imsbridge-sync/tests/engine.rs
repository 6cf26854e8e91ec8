//! The sync engine end to end against in-memory fakes: plan, apply (with lost answers,
//! refusals and crash repair) and pull. Every test checks the final store and remote state:
//! exact counts, no duplicate by correlation id, no lost record.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod fake;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use fake::{FakeSource, FakeTarget, PageSpec, desired_fields};
use imsbridge_connector::{CommonConfig, ConflictPolicy, Reject, correlation_id};
use imsbridge_mappings::Mappings;
use imsbridge_model::{AiFlag, Dates, Details, Provenance, Record, RecordId, RecordKind};
use imsbridge_store::{
    ImportRunStart, ImportRunSummary, Intent, JournalEntry, JournalOutcome, Link, Store,
};
use imsbridge_sync::{
    Action, ApplyOptions, ApplyReport, FieldChange, Outcome, Plan, PlanItem, SyncError, TargetRef,
    apply, make_plan, pull_source,
};
use serde_json::json;

const TARGET: &str = "grc";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn record(system: &str, external_id: &str, title: &str, ai: bool) -> Record {
    let mut record = Record {
        id: RecordId::from_source(system, RecordKind::Risk, external_id),
        provenance: Provenance {
            system: system.into(),
            connector: "spreadsheet".into(),
            external_id: external_id.into(),
            location: format!("{system}:{external_id}"),
            imported_at: Utc::now(),
            content_hash: String::new(),
        },
        title: title.into(),
        // Independent of the title, so that a title change changes exactly one field.
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

fn ai_risk(external_id: &str, title: &str) -> Record {
    record("erm", external_id, title, true)
}

fn import(store: &mut Store, records: &[Record]) {
    let run = ImportRunStart::new("risks.xlsx", "erm", "spreadsheet");
    let mut tx = store.begin_import(&run).unwrap();
    for r in records {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap();
}

/// Re-imports `r` with a new title (a new content hash).
fn retitle(store: &mut Store, r: &Record, title: &str) -> Record {
    let mut changed = r.clone();
    changed.title = title.into();
    changed.seal();
    assert_ne!(changed.provenance.content_hash, r.provenance.content_hash);
    import(store, std::slice::from_ref(&changed));
    changed
}

fn target_ref(fake: &FakeTarget, policy: ConflictPolicy) -> TargetRef<'_> {
    named_target(TARGET, fake, policy)
}

fn named_target<'a>(name: &'a str, fake: &'a FakeTarget, policy: ConflictPolicy) -> TargetRef<'a> {
    TargetRef {
        name,
        connector: "fake",
        policy,
        kinds: vec![RecordKind::Risk],
        target: fake,
    }
}

async fn plan_with(store: &Store, fake: &FakeTarget, policy: ConflictPolicy) -> Plan {
    make_plan(store, &[target_ref(fake, policy)]).await.unwrap()
}

async fn plan(store: &Store, fake: &FakeTarget) -> Plan {
    plan_with(store, fake, ConflictPolicy::Report).await
}

async fn apply_opts(
    store: &mut Store,
    plan: &Plan,
    fake: &FakeTarget,
    policy: ConflictPolicy,
    options: &ApplyOptions,
) -> ApplyReport {
    apply(store, plan, &[target_ref(fake, policy)], options, &|_| {})
        .await
        .unwrap()
}

async fn apply_with(
    store: &mut Store,
    plan: &Plan,
    fake: &FakeTarget,
    policy: ConflictPolicy,
) -> ApplyReport {
    apply_opts(store, plan, fake, policy, &fast()).await
}

/// The defaults without the pause before a lost create is looked up (the fake answers at
/// once, so waiting proves nothing and only slows the tests).
fn fast() -> ApplyOptions {
    ApplyOptions {
        settle: std::time::Duration::ZERO,
        ..ApplyOptions::default()
    }
}

async fn apply_default(store: &mut Store, plan: &Plan, fake: &FakeTarget) -> ApplyReport {
    apply_with(store, plan, fake, ConflictPolicy::Report).await
}

/// The journal, oldest first.
fn journal(store: &Store) -> Vec<JournalEntry> {
    let mut rows = store.journal(Some(TARGET), 1000).unwrap();
    rows.reverse();
    rows
}

fn links(store: &Store) -> Vec<Link> {
    store.links(Some(TARGET)).unwrap()
}

fn item<'p>(plan: &'p Plan, r: &Record) -> &'p PlanItem {
    plan.items
        .iter()
        .find(|i| i.record == r.id)
        .unwrap_or_else(|| panic!("no plan item for {}", r.provenance.external_id))
}

fn actions(plan: &Plan) -> Vec<Action> {
    plan.items.iter().map(|i| i.action).collect()
}

fn corr(r: &Record) -> String {
    correlation_id(r)
}

/// Every planned record holds exactly one remote record carrying its correlation id.
fn assert_one_remote_each(fake: &FakeTarget, records: &[Record]) {
    for r in records {
        fake.one(&corr(r));
    }
    assert_eq!(fake.len(), records.len(), "{:#?}", fake.snapshot());
}

/// A store holding `n` AI risks, synced once to a fresh fake.
async fn synced(n: usize) -> (Store, FakeTarget, Vec<Record>) {
    let mut store = Store::open_in_memory().unwrap();
    let records: Vec<Record> = (1..=n)
        .map(|i| ai_risk(&format!("R-{i}"), &format!("Risk {i}")))
        .collect();
    import(&mut store, &records);
    let fake = FakeTarget::new();
    let p = plan(&store, &fake).await;
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.created, n as u64);
    assert_one_remote_each(&fake, &records);
    (store, fake, records)
}

// ---------------------------------------------------------------------------------------
// 1. First sync, stable plans, idempotent re-sync
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn first_sync_creates_only_wanted_records_and_a_resync_writes_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let wanted = vec![
        ai_risk("R-1", "Training data is biased"),
        ai_risk("R-2", "Model drift"),
        ai_risk("R-3", "Prompt injection"),
    ];
    let not_ai = record("erm", "R-4", "Office flood", false);
    // Read from the target itself: writing it back would duplicate it there.
    let own = record(TARGET, "G-1", "Already in the GRC tool", true);
    let mut all = wanted.clone();
    all.push(not_ai.clone());
    import(&mut store, &all);
    let run = ImportRunStart::new("https://grc.example", TARGET, "fake");
    let mut tx = store.begin_import(&run).unwrap();
    tx.upsert(&own).unwrap();
    tx.commit(&ImportRunSummary::default()).unwrap();

    let fake = FakeTarget::new();
    let first = plan(&store, &fake).await;
    assert_eq!(first.summary.create, 3);
    assert_eq!(
        (
            first.summary.update,
            first.summary.noop,
            first.summary.conflict,
            first.summary.skipped
        ),
        (0, 0, 0, 0)
    );
    assert!(first.summary.has_changes());
    assert_eq!(actions(&first), vec![Action::Create; 3]);
    let mut ids: Vec<RecordId> = wanted.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(
        first.items.iter().map(|i| i.record).collect::<Vec<_>>(),
        ids
    );
    for r in &wanted {
        let i = item(&first, r);
        assert_eq!(i.correlation, corr(r));
        assert_eq!(i.remote_id, None);
        assert_eq!(i.desired, desired_fields(r));
        // A create writes every field, from nothing.
        let expected: BTreeMap<String, FieldChange> = desired_fields(r)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    FieldChange {
                        from: json!(null),
                        to: v,
                    },
                )
            })
            .collect();
        assert_eq!(i.changes, expected);
    }
    assert!(
        !first
            .items
            .iter()
            .any(|i| i.record == not_ai.id || i.record == own.id)
    );

    // Planning only reads: nothing written anywhere.
    assert_eq!(fake.calls().writes(), 0);
    assert!(links(&store).is_empty() && journal(&store).is_empty());

    // The same state plans the same items, byte for byte.
    let second = plan(&store, &fake).await;
    assert_eq!(
        serde_json::to_string_pretty(&first.items).unwrap(),
        serde_json::to_string_pretty(&second.items).unwrap()
    );
    let mut second_same_time = second.clone();
    second_same_time.created_at = first.created_at;
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second_same_time).unwrap()
    );

    // A plan survives its file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    first.write(&path).unwrap();
    assert_eq!(Plan::read(&path).unwrap(), first);
    let mut other = first.clone();
    other.format = "imsbridge-plan/0".into();
    other.write(&path).unwrap();
    let err = Plan::read(&path).unwrap_err();
    assert!(
        matches!(err, SyncError::PlanFile { .. }) && err.to_string().contains("imsbridge-plan/0"),
        "{err}"
    );

    let progressed = AtomicU64::new(0);
    let report = apply(
        &mut store,
        &first,
        &[target_ref(&fake, ConflictPolicy::Report)],
        &fast(),
        &|n| {
            progressed.fetch_add(n, Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert_eq!(progressed.load(Ordering::Relaxed), 3);
    assert_eq!(report.created, 3);
    assert_eq!(
        (
            report.updated,
            report.failed,
            report.refused,
            report.repaired
        ),
        (0, 0, 0, 0)
    );
    assert!(report.wrote());
    assert!(report.items.iter().all(|o| o.outcome == Outcome::Created));
    assert_eq!(fake.calls().create, 3);
    assert_one_remote_each(&fake, &wanted);

    let saved = links(&store);
    assert_eq!(saved.len(), 3);
    for r in &wanted {
        let link = saved.iter().find(|l| l.record == r.id).unwrap();
        let remote = fake.one(&corr(r));
        assert_eq!(link.remote_id, remote.remote_id);
        assert_eq!(link.correlation, corr(r));
        assert_eq!(link.remote_version, remote.version);
        assert_eq!(link.synced_hash, r.provenance.content_hash);
        assert_eq!(remote.fields, desired_fields(r));
    }
    let rows = journal(&store);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|j| j.action == "create"
        && j.outcome == Some(JournalOutcome::Written)
        && j.remote_id.is_some()));

    // Again: everything in sync, nothing to write.
    let again = plan(&store, &fake).await;
    assert_eq!(actions(&again), vec![Action::Noop; 3]);
    assert!(!again.summary.has_changes());
    assert!(
        again
            .items
            .iter()
            .all(|i| i.reason.as_deref() == Some("in sync"))
    );
    let before = fake.calls();
    let report = apply_default(&mut store, &again, &fake).await;
    let after = fake.calls();
    assert_eq!(report.unchanged, 3);
    assert!(!report.wrote());
    assert_eq!(after.create, before.create);
    assert_eq!(after.update, before.update);
    assert_eq!(after.lookup, before.lookup);
    assert_eq!(after.list, before.list + 1, "apply lists the target once");
    assert_eq!(links(&store), saved, "fresh links are not rewritten");
    assert_eq!(journal(&store).len(), 3);
    assert_one_remote_each(&fake, &wanted);
}

#[tokio::test]
async fn plan_items_are_ordered_by_target_then_record() {
    let mut store = Store::open_in_memory().unwrap();
    let records: Vec<Record> = (1..=6).map(|i| ai_risk(&format!("R-{i}"), "x")).collect();
    import(&mut store, &records);
    let zeta = FakeTarget::new();
    let alpha = FakeTarget::new();
    let targets = [
        named_target("zeta", &zeta, ConflictPolicy::Report),
        named_target("alpha", &alpha, ConflictPolicy::Report),
    ];
    let p = make_plan(&store, &targets).await.unwrap();
    assert_eq!(p.items.len(), 12);
    let keys: Vec<(String, RecordId)> = p
        .items
        .iter()
        .map(|i| (i.target.clone(), i.record))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(p.items[0].target, "alpha");
    // The targets keep their configured order.
    assert_eq!(
        p.targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["zeta", "alpha"]
    );

    let report = apply(&mut store, &p, &targets, &fast(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.created, 12);
    assert_one_remote_each(&zeta, &records);
    assert_one_remote_each(&alpha, &records);

    // A plan naming a target that is not configured is refused whole.
    let err = apply(&mut store, &p, &targets[..1], &fast(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::UnknownTarget { ref target } if target == "alpha"),
        "{err}"
    );
}

#[tokio::test]
async fn a_record_the_target_cannot_take_is_skipped() {
    let mut store = Store::open_in_memory().unwrap();
    let ok = ai_risk("R-1", "Fine");
    let untitled = ai_risk("R-2", "");
    import(&mut store, &[ok.clone(), untitled.clone()]);
    let fake = FakeTarget::new();
    let p = plan(&store, &fake).await;
    assert_eq!(p.summary.create, 1);
    assert_eq!(p.summary.skipped, 1);
    assert_eq!(p.skipped[0].record, untitled.id);
    assert!(
        p.skipped[0].message.contains("title"),
        "{}",
        p.skipped[0].message
    );
    apply_default(&mut store, &p, &fake).await;
    assert_one_remote_each(&fake, &[ok]);
}

// ---------------------------------------------------------------------------------------
// 2. Local change
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_local_change_updates_exactly_the_changed_field() {
    let (mut store, fake, records) = synced(3).await;
    let changed = retitle(&mut store, &records[0], "Risk 1, reworded");

    let p = plan(&store, &fake).await;
    assert_eq!((p.summary.update, p.summary.noop), (1, 2));
    let i = item(&p, &changed);
    assert_eq!(i.action, Action::Update);
    let remote = fake.one(&corr(&changed));
    assert_eq!(i.remote_id.as_deref(), Some(remote.remote_id.as_str()));
    assert_eq!(i.remote_version, remote.version);
    assert_eq!(
        i.changes,
        BTreeMap::from([(
            "name".to_string(),
            FieldChange {
                from: json!("Risk 1"),
                to: json!("Risk 1, reworded")
            }
        )])
    );
    assert!(i.remote_edits.is_empty());

    let before = fake.calls();
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(
        (report.updated, report.unchanged, report.created),
        (1, 2, 0)
    );
    assert_eq!(fake.calls().update, before.update + 1);
    assert_eq!(fake.calls().create, before.create);
    let remote = fake.one(&corr(&changed));
    assert_eq!(remote.fields, desired_fields(&changed));
    assert_eq!(remote.version.as_deref(), Some("v2"));
    let link = store.link(TARGET, changed.id).unwrap().unwrap();
    assert_eq!(link.synced_hash, changed.provenance.content_hash);
    assert_eq!(link.remote_version.as_deref(), Some("v2"));
    let last = journal(&store).pop().unwrap();
    assert_eq!(last.action, "update");
    assert_eq!(last.outcome, Some(JournalOutcome::Written));
    assert_eq!(last.fields, r#"{"name":"Risk 1, reworded"}"#);

    let again = plan(&store, &fake).await;
    assert_eq!(actions(&again), vec![Action::Noop; 3]);
    let before = fake.calls();
    apply_default(&mut store, &again, &fake).await;
    assert_eq!(fake.calls().writes(), before.writes());
    assert_one_remote_each(&fake, &records);
}

// ---------------------------------------------------------------------------------------
// 3. Remote edit only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_remote_edit_is_kept_and_stays_kept() {
    let (mut store, fake, records) = synced(2).await;
    let r = &records[0];
    fake.edit_behind_the_back(&corr(r), "description", json!("Edited in the GRC tool"));

    for round in 0..3 {
        let p = plan(&store, &fake).await;
        let i = item(&p, r);
        assert_eq!(i.action, Action::Noop, "round {round}");
        assert_eq!(i.remote_edits, ["description"], "round {round}");
        assert!(i.changes.is_empty());
        assert!(i.reason.as_deref().unwrap().contains("remote edits kept"));
        assert!(!p.summary.has_changes());
        let before = fake.calls();
        let report = apply_default(&mut store, &p, &fake).await;
        assert_eq!(report.unchanged, 2);
        assert_eq!(fake.calls().writes(), before.writes(), "round {round}");
        assert_eq!(
            fake.one(&corr(r)).fields["description"],
            json!("Edited in the GRC tool")
        );
        // The first apply brings the link up to the remote's new version.
        let link = store.link(TARGET, r.id).unwrap().unwrap();
        assert_eq!(link.remote_version.as_deref(), Some("v2"));
    }
    assert_one_remote_each(&fake, &records);

    // A later local change to another field is written without undoing the remote edit.
    let changed = retitle(&mut store, r, "New local title");
    let p = plan(&store, &fake).await;
    let i = item(&p, &changed);
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.changes.keys().collect::<Vec<_>>(), ["name"]);
    assert_eq!(i.remote_edits, ["description"]);
    apply_default(&mut store, &p, &fake).await;
    let remote = fake.one(&corr(r));
    assert_eq!(remote.fields["name"], json!("New local title"));
    assert_eq!(
        remote.fields["description"],
        json!("Edited in the GRC tool")
    );
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, r).action, Action::Noop);
}

// ---------------------------------------------------------------------------------------
// 4. Both sides changed the same field
// ---------------------------------------------------------------------------------------

/// One synced record, then changed locally and remotely in the same field.
async fn both_changed() -> (Store, FakeTarget, Record) {
    let (mut store, fake, records) = synced(1).await;
    let changed = retitle(&mut store, &records[0], "Local title");
    fake.edit_behind_the_back(&corr(&changed), "name", json!("Remote name"));
    (store, fake, changed)
}

#[tokio::test]
async fn both_sides_changed_is_a_conflict_under_the_default_policy() {
    let (mut store, fake, r) = both_changed().await;
    let p = plan(&store, &fake).await;
    let i = item(&p, &r);
    assert_eq!(i.action, Action::Conflict);
    assert_eq!(p.summary.conflict, 1);
    assert!(p.summary.has_changes());
    assert!(i.reason.as_deref().unwrap().contains("name"));
    assert_eq!(
        i.changes["name"],
        FieldChange {
            from: json!("Remote name"),
            to: json!("Local title")
        }
    );
    let link_before = store.link(TARGET, r.id).unwrap();
    let before = fake.calls();
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.conflicts, 1);
    assert_eq!(report.items[0].outcome, Outcome::Conflict);
    assert_eq!(fake.calls().writes(), before.writes());
    assert_eq!(fake.one(&corr(&r)).fields["name"], json!("Remote name"));
    assert_eq!(store.link(TARGET, r.id).unwrap(), link_before);
    assert_eq!(journal(&store).len(), 1, "only the first create");
    // Still a conflict until someone decides.
    assert_eq!(
        item(&plan(&store, &fake).await, &r).action,
        Action::Conflict
    );
}

#[tokio::test]
async fn local_wins_overwrites_the_remote_edit() {
    let (mut store, fake, r) = both_changed().await;
    let p = plan_with(&store, &fake, ConflictPolicy::LocalWins).await;
    let i = item(&p, &r);
    assert_eq!(i.action, Action::Update);
    assert_eq!(
        i.changes,
        BTreeMap::from([(
            "name".to_string(),
            FieldChange {
                from: json!("Remote name"),
                to: json!("Local title")
            }
        )])
    );
    let report = apply_with(&mut store, &p, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(report.updated, 1);
    assert_eq!(fake.one(&corr(&r)).fields, desired_fields(&r));
    for policy in [ConflictPolicy::LocalWins, ConflictPolicy::Report] {
        let p = plan_with(&store, &fake, policy).await;
        assert_eq!(item(&p, &r).action, Action::Noop, "{policy:?}");
        assert!(item(&p, &r).remote_edits.is_empty());
    }
    assert_one_remote_each(&fake, &[r]);
}

#[tokio::test]
async fn remote_wins_keeps_the_remote_edit_and_writes_nothing() {
    let (mut store, fake, r) = both_changed().await;
    let p = plan_with(&store, &fake, ConflictPolicy::RemoteWins).await;
    let i = item(&p, &r);
    assert_eq!(i.action, Action::Noop);
    assert_eq!(i.remote_edits, ["name"]);
    assert!(i.changes.is_empty());
    let before = fake.calls();
    let report = apply_with(&mut store, &p, &fake, ConflictPolicy::RemoteWins).await;
    assert_eq!(report.unchanged, 1);
    assert_eq!(fake.calls().writes(), before.writes());
    assert_eq!(fake.one(&corr(&r)).fields["name"], json!("Remote name"));
    // The decision sticks, whatever the policy later: nothing changed since it was taken.
    for policy in [ConflictPolicy::RemoteWins, ConflictPolicy::Report] {
        let p = plan_with(&store, &fake, policy).await;
        assert_eq!(item(&p, &r).action, Action::Noop, "{policy:?}");
        assert_eq!(item(&p, &r).remote_edits, ["name"]);
    }
}

/// Pins the current meaning of local-wins: the local record is the master, so a remote-only
/// edit is overwritten too, not only a field changed on both sides.
#[tokio::test]
async fn local_wins_also_overwrites_a_remote_only_edit() {
    let (mut store, fake, records) = synced(1).await;
    let r = &records[0];
    fake.edit_behind_the_back(&corr(r), "description", json!("Edited remotely"));
    let p = plan_with(&store, &fake, ConflictPolicy::LocalWins).await;
    let i = item(&p, r);
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.changes.keys().collect::<Vec<_>>(), ["description"]);
    assert!(i.remote_edits.is_empty());
    apply_with(&mut store, &p, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(fake.one(&corr(r)).fields, desired_fields(r));
}

#[tokio::test]
async fn a_remote_record_deleted_since_the_last_sync() {
    let (mut store, fake, records) = synced(1).await;
    let r = &records[0];
    fake.delete(&corr(r));
    // Report: a person decides; remote-wins: leave it deleted; local-wins: create it again.
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, r).action, Action::Conflict);
    assert!(item(&p, r).reason.as_deref().unwrap().contains("no longer"));
    let p = plan_with(&store, &fake, ConflictPolicy::RemoteWins).await;
    assert_eq!(item(&p, r).action, Action::Noop);
    apply_with(&mut store, &p, &fake, ConflictPolicy::RemoteWins).await;
    assert_eq!(fake.len(), 0);
    let p = plan_with(&store, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(item(&p, r).action, Action::Create);
    let report = apply_with(&mut store, &p, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(report.created, 1);
    assert_one_remote_each(&fake, &records);
    let link = store.link(TARGET, r.id).unwrap().unwrap();
    assert_eq!(link.remote_id, fake.one(&corr(r)).remote_id);
    assert_eq!(item(&plan(&store, &fake).await, r).action, Action::Noop);
}

/// A field the record did not have at the last sync (a connector sends `owner` only when
/// set) was empty then, not "never synced": changed on both sides since, it is a conflict.
#[tokio::test]
async fn a_field_absent_at_the_last_sync_still_gets_three_way_treatment() {
    let (mut store, fake, records) = synced(2).await;
    let (a, b) = (&records[0], &records[1]);
    assert!(!fake.one(&corr(a)).fields.contains_key("owner"));

    // a: set remotely and locally, differently. b: set locally only.
    fake.edit_behind_the_back(&corr(a), "owner", json!(["alice"]));
    let mut a2 = a.clone();
    a2.owner = Some("bob".into());
    a2.seal();
    let mut b2 = b.clone();
    b2.owner = Some("carol".into());
    b2.seal();
    import(&mut store, &[a2.clone(), b2.clone()]);

    let p = plan(&store, &fake).await;
    let ia = item(&p, &a2);
    assert_eq!(ia.action, Action::Conflict, "{ia:#?}");
    assert!(ia.reason.as_deref().unwrap().contains("owner"));
    let ib = item(&p, &b2);
    assert_eq!(ib.action, Action::Update);
    assert_eq!(
        ib.changes,
        BTreeMap::from([(
            "owner".to_string(),
            FieldChange {
                from: json!(null),
                to: json!(["carol"])
            }
        )])
    );
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.conflicts, report.updated), (1, 1));
    assert_eq!(
        fake.one(&corr(a)).fields["owner"],
        json!(["alice"]),
        "not overwritten"
    );
    assert_eq!(fake.one(&corr(b)).fields["owner"], json!(["carol"]));

    // Local-wins settles it for the local value.
    let p = plan_with(&store, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(item(&p, &a2).action, Action::Update);
    apply_with(&mut store, &p, &fake, ConflictPolicy::LocalWins).await;
    assert_eq!(fake.one(&corr(a)).fields["owner"], json!(["bob"]));
    assert_eq!(actions(&plan(&store, &fake).await), vec![Action::Noop; 2]);
}

/// A link whose record of the last sync cannot be read only loses its history: the record is
/// treated as never synced, which writes the local values (and cannot lose the remote record).
#[tokio::test]
async fn a_damaged_link_only_loses_its_history() {
    let (mut store, fake, records) = synced(1).await;
    let r = &records[0];
    let mut link = store.link(TARGET, r.id).unwrap().unwrap();
    link.synced_fields = "{not json".into();
    store.save_link(&link).unwrap();
    fake.edit_behind_the_back(&corr(r), "description", json!("Edited remotely"));

    let p = plan(&store, &fake).await;
    let i = item(&p, r);
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.changes.keys().collect::<Vec<_>>(), ["description"]);
    apply_default(&mut store, &p, &fake).await;
    assert_one_remote_each(&fake, &records);
    assert_eq!(fake.one(&corr(r)).fields, desired_fields(r));
    assert_eq!(item(&plan(&store, &fake).await, r).action, Action::Noop);
}

// ---------------------------------------------------------------------------------------
// 5. Refusals: the remote moved between plan and apply
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn apply_refuses_an_update_whose_remote_changed_since_planning() {
    let (mut store, fake, records) = synced(2).await;
    let changed = retitle(&mut store, &records[0], "Reworded");
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &changed).action, Action::Update);
    fake.edit_behind_the_back(&corr(&changed), "description", json!("Edited meanwhile"));

    let journal_before = journal(&store).len();
    let before = fake.calls();
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.refused, report.updated), (1, 0));
    let o = report
        .items
        .iter()
        .find(|o| o.record == changed.id)
        .unwrap();
    assert_eq!(o.outcome, Outcome::Refused);
    assert!(
        o.message
            .as_deref()
            .unwrap()
            .contains("changed since planning")
    );
    assert_eq!(fake.calls().writes(), before.writes());
    assert_eq!(fake.one(&corr(&changed)).fields["name"], json!("Risk 1"));
    assert_eq!(
        journal(&store).len(),
        journal_before,
        "a refusal journals nothing"
    );

    // Planned again, the name is written and the remote edit kept.
    let p = plan(&store, &fake).await;
    let i = item(&p, &changed);
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.remote_edits, ["description"]);
    assert_eq!(apply_default(&mut store, &p, &fake).await.updated, 1);
    let remote = fake.one(&corr(&changed));
    assert_eq!(remote.fields["name"], json!("Reworded"));
    assert_eq!(remote.fields["description"], json!("Edited meanwhile"));
    assert_one_remote_each(&fake, &records);
}

#[tokio::test]
async fn apply_refuses_an_update_when_the_target_has_no_version_tokens() {
    let mut store = Store::open_in_memory().unwrap();
    let r = ai_risk("R-1", "Risk 1");
    import(&mut store, std::slice::from_ref(&r));
    let fake = FakeTarget::new();
    fake.with(|s| s.unversioned = true);
    let p = plan(&store, &fake).await;
    apply_default(&mut store, &p, &fake).await;
    assert_eq!(fake.one(&corr(&r)).version, None);
    assert_eq!(item(&plan(&store, &fake).await, &r).action, Action::Noop);

    let changed = retitle(&mut store, &r, "Reworded");
    let p = plan(&store, &fake).await;
    assert!(
        item(&p, &changed)
            .remote_version
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
    fake.edit_behind_the_back(&corr(&r), "description", json!("Edited meanwhile"));
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.refused, 1);
    assert_eq!(fake.calls().update, 0);
}

#[tokio::test]
async fn apply_refuses_a_create_whose_correlation_appeared_since_planning() {
    let (mut store, fake, mut records) = synced(1).await;
    let new = ai_risk("R-9", "New risk");
    import(&mut store, std::slice::from_ref(&new));
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &new).action, Action::Create);
    // Another run (or a colleague) wrote it meanwhile.
    fake.put(&corr(&new), desired_fields(&new));

    let before = fake.calls();
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.refused, report.created), (1, 0));
    let o = report.items.iter().find(|o| o.record == new.id).unwrap();
    assert_eq!(o.outcome, Outcome::Refused);
    assert_eq!(o.remote_id, Some(fake.one(&corr(&new)).remote_id));
    assert_eq!(fake.calls().create, before.create);
    assert!(store.link(TARGET, new.id).unwrap().is_none());

    // Planned again, the record is found by its correlation id and adopted, not duplicated.
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &new).action, Action::Noop);
    apply_default(&mut store, &p, &fake).await;
    records.push(new.clone());
    assert_one_remote_each(&fake, &records);
    let link = store.link(TARGET, new.id).unwrap().unwrap();
    assert_eq!(link.remote_id, fake.one(&corr(&new)).remote_id);
}

// ---------------------------------------------------------------------------------------
// 6. Lost answers and failed creates
// ---------------------------------------------------------------------------------------

async fn one_record() -> (Store, FakeTarget, Record) {
    let mut store = Store::open_in_memory().unwrap();
    let r = ai_risk("R-1", "Risk 1");
    import(&mut store, std::slice::from_ref(&r));
    (store, FakeTarget::new(), r)
}

#[tokio::test]
async fn an_ambiguous_create_that_landed_is_found_not_repeated() {
    let (mut store, fake, r) = one_record().await;
    fake.with(|s| s.ambiguous_after_store = 1);
    let p = plan(&store, &fake).await;
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.created, 1);
    assert!(
        report.items[0]
            .message
            .as_deref()
            .unwrap()
            .contains("confirmed by lookup")
    );
    let calls = fake.calls();
    assert_eq!((calls.create, calls.lookup), (1, 1));
    let remote = fake.one(&corr(&r));
    assert_eq!(fake.len(), 1);
    assert_eq!(
        store.link(TARGET, r.id).unwrap().unwrap().remote_id,
        remote.remote_id
    );
    let rows = journal(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Some(JournalOutcome::Written));
    assert_eq!(item(&plan(&store, &fake).await, &r).action, Action::Noop);
}

#[tokio::test]
async fn an_ambiguous_create_not_found_stays_open_and_the_next_run_settles_it() {
    let (mut store, fake, r) = one_record().await;
    fake.with(|s| s.ambiguous_before_store = 1);
    let p = plan(&store, &fake).await;
    let report = apply_default(&mut store, &p, &fake).await;
    // Not found right after a lost answer proves nothing (the request may still be running
    // on the server), so this run does not send it again: one create, one lookup, failed.
    assert_eq!((report.created, report.failed), (0, 1));
    assert!(
        report.items[0]
            .message
            .as_deref()
            .unwrap()
            .contains("left open"),
        "{report:#?}"
    );
    let calls = fake.calls();
    assert_eq!((calls.create, calls.lookup), (1, 1));
    assert_eq!(fake.len(), 0);
    assert_eq!(store.open_intents(TARGET).unwrap().len(), 1);

    // The next run settles the open intent (not written) and then creates it, once.
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &r).action, Action::Create);
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.created, report.repaired), (1, 1));
    assert_one_remote_each(&fake, std::slice::from_ref(&r));
    let rows = journal(&store);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].outcome, Some(JournalOutcome::NotWritten));
    assert_eq!(rows[1].outcome, Some(JournalOutcome::Written));
    assert!(store.open_intents(TARGET).unwrap().is_empty());
    assert_eq!(item(&plan(&store, &fake).await, &r).action, Action::Noop);
}

#[tokio::test]
async fn a_create_that_lands_after_the_lookup_is_linked_by_the_next_run_not_duplicated() {
    let (mut store, fake, r) = one_record().await;
    fake.with(|s| s.ambiguous_before_store = 1);
    let p = plan(&store, &fake).await;
    assert_eq!(apply_default(&mut store, &p, &fake).await.failed, 1);
    // The slow request completes on the server after this run gave up waiting.
    let fields = p.items[0].desired.clone();
    fake.put(&corr(&r), fields);
    let p = plan(&store, &fake).await;
    // Found by its correlation id: nothing to create.
    assert_ne!(item(&p, &r).action, Action::Create);
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.created, report.repaired), (0, 1));
    assert_one_remote_each(&fake, &[r]);
    assert_eq!(fake.calls().create, 1);
}

#[tokio::test]
async fn a_refused_create_fails_and_is_planned_again() {
    let (mut store, fake, r) = one_record().await;
    fake.with(|s| s.remote_fail_creates = 1);
    let p = plan(&store, &fake).await;
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!((report.failed, report.created), (1, 0));
    assert_eq!(report.items[0].outcome, Outcome::Failed);
    assert!(report.items[0].message.as_deref().unwrap().contains("400"));
    let calls = fake.calls();
    assert_eq!(
        (calls.create, calls.lookup),
        (1, 0),
        "a plain refusal is not looked up"
    );
    assert_eq!(fake.len(), 0);
    let rows = journal(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Some(JournalOutcome::Failed));
    assert!(rows[0].message.as_deref().unwrap().contains("400"));
    assert!(store.open_intents(TARGET).unwrap().is_empty());
    assert!(links(&store).is_empty());

    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &r).action, Action::Create);
    assert_eq!(apply_default(&mut store, &p, &fake).await.created, 1);
    assert_one_remote_each(&fake, &[r]);
}

#[tokio::test]
async fn an_unsettled_create_stays_open_and_the_next_run_repairs_it() {
    let (mut store, fake, r) = one_record().await;
    // The create lands but its answer is lost, and the lookup that would settle it fails.
    fake.with(|s| {
        s.ambiguous_after_store = 1;
        s.fail_lookups = 1;
    });
    let p = plan(&store, &fake).await;
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.failed, 1);
    assert_eq!(fake.calls().create, 1);
    assert_eq!(store.open_intents(TARGET).unwrap().len(), 1);

    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &r).action, Action::Noop, "found by correlation");
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.repaired, 1);
    assert_eq!(fake.calls().create, 1);
    assert!(store.open_intents(TARGET).unwrap().is_empty());
    assert_eq!(journal(&store)[0].outcome, Some(JournalOutcome::Repaired));
    assert_one_remote_each(&fake, std::slice::from_ref(&r));
    assert_eq!(
        store.link(TARGET, r.id).unwrap().unwrap().remote_id,
        fake.one(&corr(&r)).remote_id
    );
}

// ---------------------------------------------------------------------------------------
// 7. Crash repair
// ---------------------------------------------------------------------------------------

fn open_intent(store: &mut Store, r: &Record) -> i64 {
    let fields = serde_json::to_string(&desired_fields(r)).unwrap();
    store
        .journal_intent(&Intent {
            target: TARGET,
            record: r.id,
            action: "create",
            correlation: &corr(r),
            remote_id: None,
            fields: &fields,
        })
        .unwrap()
}

#[tokio::test]
async fn a_killed_run_is_repaired_before_anything_is_written() {
    let mut store = Store::open_in_memory().unwrap();
    let landed = ai_risk("R-1", "Landed before the crash");
    let lost = ai_risk("R-2", "Never reached the target");
    import(&mut store, &[landed.clone(), lost.clone()]);
    let fake = FakeTarget::new();
    // The killed run: both intents committed, one POST arrived, no outcome recorded.
    let landed_intent = open_intent(&mut store, &landed);
    let lost_intent = open_intent(&mut store, &lost);
    fake.put(&corr(&landed), desired_fields(&landed));

    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &landed).action, Action::Noop);
    assert_eq!(item(&p, &lost).action, Action::Create);
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.repaired, 2, "both open intents settled");
    assert_eq!((report.created, report.unchanged), (1, 1));
    assert_eq!(fake.calls().create, 1);
    assert_one_remote_each(&fake, &[landed.clone(), lost.clone()]);

    let rows = journal(&store);
    let outcome_of = |id: i64| rows.iter().find(|j| j.id == id).unwrap().outcome;
    assert_eq!(outcome_of(landed_intent), Some(JournalOutcome::Repaired));
    assert_eq!(outcome_of(lost_intent), Some(JournalOutcome::NotWritten));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].record, lost.id);
    assert_eq!(rows[2].outcome, Some(JournalOutcome::Written));
    assert!(store.open_intents(TARGET).unwrap().is_empty());
    for r in [&landed, &lost] {
        let link = store.link(TARGET, r.id).unwrap().unwrap();
        let remote = fake.one(&corr(r));
        assert_eq!(link.remote_id, remote.remote_id);
        assert_eq!(link.remote_version, remote.version);
    }
    let p = plan(&store, &fake).await;
    assert_eq!(actions(&p), vec![Action::Noop; 2]);
}

#[tokio::test]
async fn re_applying_the_plan_of_a_killed_run_makes_no_duplicate() {
    let (mut store, fake, r) = one_record().await;
    let p = plan(&store, &fake).await;
    assert_eq!(item(&p, &r).action, Action::Create);
    // The run applying `p` was killed after its POST landed.
    open_intent(&mut store, &r);
    fake.put(&corr(&r), desired_fields(&r));

    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.repaired, 1);
    assert_eq!(
        (report.created, report.refused),
        (0, 1),
        "the stale create is refused"
    );
    assert_eq!(fake.calls().create, 0);
    assert_one_remote_each(&fake, std::slice::from_ref(&r));
    assert_eq!(
        store.link(TARGET, r.id).unwrap().unwrap().remote_id,
        fake.one(&corr(&r)).remote_id
    );
    assert_eq!(item(&plan(&store, &fake).await, &r).action, Action::Noop);
}

#[tokio::test]
async fn a_killed_update_is_settled_and_compared_again() {
    let (mut store, fake, records) = synced(2).await;
    let (a, b) = (&records[0], &records[1]);
    let a2 = retitle(&mut store, a, "A, reworded");
    let b2 = retitle(&mut store, b, "B, reworded");
    let p = plan(&store, &fake).await;
    assert_eq!(p.summary.update, 2);
    // The killed run: both update intents committed; a's PATCH arrived, b's did not.
    for (r, i) in [(&a2, item(&p, &a2)), (&b2, item(&p, &b2))] {
        let changes = serde_json::to_string(&json!({"name": r.title})).unwrap();
        store
            .journal_intent(&Intent {
                target: TARGET,
                record: r.id,
                action: "update",
                correlation: &i.correlation,
                remote_id: i.remote_id.as_deref(),
                fields: &changes,
            })
            .unwrap();
    }
    fake.edit_behind_the_back(&corr(&a2), "name", json!("A, reworded"));

    let p = plan(&store, &fake).await;
    assert_eq!(
        item(&p, &a2).action,
        Action::Noop,
        "arrived: nothing left to write"
    );
    assert_eq!(item(&p, &b2).action, Action::Update, "lost: written again");
    let before = fake.calls();
    let report = apply_default(&mut store, &p, &fake).await;
    assert_eq!(report.repaired, 2);
    assert_eq!((report.updated, report.unchanged), (1, 1));
    assert_eq!(fake.calls().update, before.update + 1);
    assert!(store.open_intents(TARGET).unwrap().is_empty());
    assert_eq!(fake.one(&corr(&a2)).fields, desired_fields(&a2));
    assert_eq!(fake.one(&corr(&b2)).fields, desired_fields(&b2));
    assert_eq!(actions(&plan(&store, &fake).await), vec![Action::Noop; 2]);
    assert_one_remote_each(&fake, &records);
}

// ---------------------------------------------------------------------------------------
// 8. Concurrency
// ---------------------------------------------------------------------------------------

/// (remote fields by correlation, links as (record, correlation, fields), journal outcomes)
type EndState = (
    BTreeMap<String, imsbridge_connector::FieldMap>,
    BTreeSet<(RecordId, String, String)>,
    Vec<(String, Option<JournalOutcome>)>,
);

async fn run_with_concurrency(concurrency: usize) -> (EndState, u64) {
    let mut store = Store::open_in_memory().unwrap();
    let records: Vec<Record> = (1..=20)
        .map(|i| ai_risk(&format!("R-{i:02}"), &format!("Risk {i}")))
        .collect();
    import(&mut store, &records);
    let fake = FakeTarget::new();
    // Lost answers and failed sends land on whichever creates come first.
    fake.with(|s| {
        s.ambiguous_after_store = 3;
        s.ambiguous_before_store = 2;
    });
    let options = ApplyOptions {
        concurrency,
        ..fast()
    };
    let p = plan(&store, &fake).await;
    let report = apply_opts(&mut store, &p, &fake, ConflictPolicy::Report, &options).await;
    // Two creates were lost before they landed: those stay open this run and are settled and
    // written by the next one.
    assert_eq!((report.created, report.failed), (18, 2), "{report:#?}");
    assert_eq!(fake.calls().create, 20);
    let p = plan(&store, &fake).await;
    assert_eq!(p.summary.create, 2);
    let report2 = apply_opts(&mut store, &p, &fake, ConflictPolicy::Report, &options).await;
    assert_eq!((report2.created, report2.repaired), (2, 2), "{report2:#?}");
    assert_eq!(fake.calls().create, 22);
    // The report is in record order whatever order the writes finished in.
    let order: Vec<RecordId> = report.items.iter().map(|o| o.record).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    // A second round of local changes, written concurrently too.
    for r in records.iter().step_by(4) {
        retitle(&mut store, r, &format!("{} (revised)", r.title));
    }
    let p = plan(&store, &fake).await;
    assert_eq!(p.summary.update, 5);
    let report = apply_opts(&mut store, &p, &fake, ConflictPolicy::Report, &options).await;
    assert_eq!((report.updated, report.unchanged), (5, 15));
    let p = plan(&store, &fake).await;
    assert_eq!(p.summary.noop, 20);

    assert_eq!(fake.len(), 20);
    let links: BTreeSet<(RecordId, String, String)> = links(&store)
        .into_iter()
        .map(|l| {
            let remote = fake.one(&l.correlation);
            assert_eq!(l.remote_id, remote.remote_id);
            (l.record, l.correlation, l.synced_fields)
        })
        .collect();
    assert_eq!(links.len(), 20);
    // Which creates lose their answer depends on the order they run in, so the journal is
    // compared as counts of (action, outcome), not per record.
    let mut outcomes: Vec<(String, Option<JournalOutcome>)> = journal(&store)
        .into_iter()
        .map(|j| (j.action, j.outcome))
        .collect();
    outcomes.sort_by_key(|(a, o)| (a.clone(), o.map(|o| o.as_str())));
    let max = fake.with(|s| s.max_in_flight);
    ((fake.snapshot(), links, outcomes), max)
}

#[tokio::test]
async fn concurrency_does_not_change_the_outcome() {
    let (serial, serial_max) = run_with_concurrency(1).await;
    let (parallel, parallel_max) = run_with_concurrency(8).await;
    assert_eq!(serial_max, 1);
    assert!(
        parallel_max > 1,
        "the writes really overlapped: {parallel_max}"
    );
    assert_eq!(serial.0.len(), 20);
    assert_eq!(
        serial.2.len(),
        27,
        "22 creates (2 lost and settled as not written) and 5 updates journalled"
    );
    assert_eq!(serial, parallel);
}

// ---------------------------------------------------------------------------------------
// 9. Pull
// ---------------------------------------------------------------------------------------

fn common(overlap_secs: u64) -> CommonConfig {
    serde_json::from_value(json!({
        "name": "src",
        "type": "fake",
        "base_url": "https://src.example",
        "overlap_secs": overlap_secs,
    }))
    .unwrap()
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
}

/// A record as a source hands it over: not sealed.
fn pulled(external_id: &str, title: &str) -> Record {
    let mut r = record("src", external_id, title, true);
    r.provenance.content_hash.clear();
    r
}

fn page(ids: &[&str], cursor: DateTime<Utc>) -> PageSpec {
    PageSpec {
        records: ids
            .iter()
            .map(|id| pulled(id, &format!("Pulled {id}")))
            .collect(),
        cursor: Some(cursor),
        ..PageSpec::default()
    }
}

async fn pull(
    store: &mut Store,
    source: &FakeSource,
    overlap_secs: u64,
    rejects_dir: &std::path::Path,
) -> Result<imsbridge_sync::PullReport, SyncError> {
    let mappings = Mappings::embedded().unwrap();
    pull_source(
        store,
        &mappings,
        &common(overlap_secs),
        source,
        None,
        false,
        rejects_dir,
        &|_| {},
    )
    .await
}

fn saved_cursor(store: &Store) -> Option<String> {
    store.cursor("src", "risks").unwrap()
}

#[tokio::test]
async fn pull_reads_every_page_in_one_run_and_moves_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    // The highest cursor is on the middle page: pages need not be in cursor order.
    let source = FakeSource::new(vec![
        page(&["S-1", "S-2"], at(1)),
        page(&["S-3", "S-4"], at(3)),
        page(&["S-5", "S-2"], at(2)),
    ]);
    let mappings = Mappings::embedded().unwrap();
    let progressed = AtomicU64::new(0);
    let report = pull_source(
        &mut store,
        &mappings,
        &common(60),
        &source,
        None,
        false,
        dir.path(),
        &|n| {
            progressed.fetch_add(n, Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    // Progress advances by what was read, like the spreadsheet import's.
    assert_eq!(progressed.load(Ordering::Relaxed), 6);
    assert_eq!(
        (report.imported, report.updated, report.unchanged),
        (5, 0, 1)
    );
    assert_eq!(report.rejected, 0);
    assert_eq!(report.rejects_file, None);
    let stream = &report.streams[0];
    assert_eq!((stream.pages, stream.read, stream.since), (3, 6, None));
    assert_eq!(stream.cursor, Some(at(3)));
    assert_eq!(
        source.requests(),
        vec![
            (None, None),
            (None, Some("p1".into())),
            (None, Some("p2".into()))
        ]
    );
    assert_eq!(store.record_count().unwrap(), 5);
    assert_eq!(saved_cursor(&store), Some(at(3).to_rfc3339()));
    let runs = store.import_runs(10).unwrap();
    assert_eq!(runs.len(), 1, "one import run for the whole pull");
    assert_eq!(Some(runs[0].id), report.run_id);
    let s1 = store
        .record(RecordId::from_source("src", RecordKind::Risk, "S-1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        s1.provenance.content_hash,
        s1.compute_content_hash(),
        "sealed"
    );

    // The next pull reads from the cursor less the overlap.
    let mut next = page(&["S-4"], at(5));
    next.records[0].title = "Pulled S-4, revised".into();
    let source = FakeSource::new(vec![next]);
    let report = pull(&mut store, &source, 60, dir.path()).await.unwrap();
    let since = at(3) - Duration::seconds(60);
    assert_eq!(source.requests(), vec![(Some(since), None)]);
    assert_eq!(report.streams[0].since, Some(since));
    assert_eq!(report.updated, 1);
    assert_eq!(store.record_count().unwrap(), 5);
    assert_eq!(saved_cursor(&store), Some(at(5).to_rfc3339()));

    // `full` ignores the cursor.
    let source = FakeSource::new(vec![page(&["S-1"], at(5))]);
    pull_source(
        &mut store,
        &mappings,
        &common(60),
        &source,
        None,
        true,
        dir.path(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(source.requests(), vec![(None, None)]);
}

#[tokio::test]
async fn a_failed_page_commits_nothing_and_keeps_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let source = FakeSource::new(vec![page(&["S-1"], at(1))]);
    pull(&mut store, &source, 0, dir.path()).await.unwrap();
    assert_eq!(saved_cursor(&store), Some(at(1).to_rfc3339()));

    let mut first = page(&["S-2", "S-3"], at(4));
    first.rejects.push(Reject {
        location: "/api/risks/ results[1]".into(),
        message: "no title".into(),
        raw: "{}".into(),
    });
    let failing = FakeSource::new(vec![
        first,
        PageSpec {
            fail: true,
            ..PageSpec::default()
        },
    ]);
    let err = pull(&mut store, &failing, 0, dir.path()).await.unwrap_err();
    assert!(matches!(err, SyncError::Connector(_)), "{err}");
    assert!(err.to_string().contains("500 on page 1"), "{err}");
    assert_eq!(failing.requests().len(), 2);
    assert_eq!(store.record_count().unwrap(), 1);
    assert!(
        store
            .record(RecordId::from_source("src", RecordKind::Risk, "S-2"))
            .unwrap()
            .is_none()
    );
    assert_eq!(saved_cursor(&store), Some(at(1).to_rfc3339()));
    assert_eq!(
        store.import_runs(10).unwrap().len(),
        1,
        "the failed run left no trace"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the failed run's rejects file is removed"
    );
}

#[tokio::test]
async fn a_looping_page_token_stops_the_pull() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let mut source = FakeSource::new(vec![
        page(&["S-1"], at(1)),
        page(&["S-2"], at(2)),
        page(&["S-3"], at(3)),
    ]);
    source.loop_to = Some(1);
    let err = pull(&mut store, &source, 0, dir.path()).await.unwrap_err();
    match &err {
        SyncError::PageLoop {
            system,
            stream,
            token,
        } => {
            assert_eq!(
                (system.as_str(), stream.as_str(), token.as_str()),
                ("src", "risks", "p1")
            );
        }
        other => panic!("expected a page loop, got {other}"),
    }
    assert_eq!(
        source.requests().len(),
        3,
        "stopped before reading a page twice"
    );
    assert_eq!(store.record_count().unwrap(), 0);
    assert_eq!(saved_cursor(&store), None);
}

#[tokio::test]
async fn rejects_are_written_to_a_csv_in_the_given_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let mut p = page(&["S-1"], at(1));
    p.rejects.push(Reject {
        location: "/api/risk-scenarios/ results[3]".into(),
        message: "the risk has no name".into(),
        raw: r#"{"id":"x-3","name":null}"#.into(),
    });
    let source = FakeSource::new(vec![p]);
    let report = pull(&mut store, &source, 0, dir.path()).await.unwrap();
    assert_eq!((report.imported, report.rejected), (1, 1));
    assert_eq!(report.streams[0].rejected, 1);
    let path = report.rejects_file.clone().expect("a rejects file");
    assert_eq!(path.parent(), Some(dir.path()));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "location");
    assert_eq!(&header[1], "reason");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(&rows[0][0], "/api/risk-scenarios/ results[3]");
    assert_eq!(&rows[0][1], "the risk has no name");
    assert_eq!(&rows[0][2], r#"{"id":"x-3","name":null}"#);
    let run = &store.import_runs(1).unwrap()[0];
    assert_eq!(run.rejected, 1);
    assert_eq!(
        run.rejects_file.as_deref(),
        Some(path.display().to_string().as_str())
    );
}

#[tokio::test]
async fn pull_rejects_an_unknown_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let source = FakeSource::new(vec![page(&["S-1"], at(1))]);
    let mappings = Mappings::embedded().unwrap();
    let streams = vec!["controls".to_string()];
    let err = pull_source(
        &mut store,
        &mappings,
        &common(0),
        &source,
        Some(&streams),
        false,
        dir.path(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SyncError::UnknownStream { .. }), "{err}");
    assert!(err.to_string().contains("risks"), "{err}");
    assert!(source.requests().is_empty());
}

// Pulled records are synced like imported ones, except back to their own system.
#[tokio::test]
async fn pulled_records_are_not_written_back_to_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let source = FakeSource::new(vec![page(&["S-1", "S-2"], at(1))]);
    pull(&mut store, &source, 0, dir.path()).await.unwrap();
    let fake = FakeTarget::new();
    let to_src = make_plan(
        &store,
        &[named_target("src", &fake, ConflictPolicy::Report)],
    )
    .await
    .unwrap();
    assert!(to_src.items.is_empty());
    let to_grc = plan(&store, &fake).await;
    assert_eq!(to_grc.summary.create, 2);
}
