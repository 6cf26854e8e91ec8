//! End-to-end tests of `imsbridge systems check | plan | apply | sync | links | journal`
//! against the in-process fake CISO Assistant: the real binary, a real store, and a server
//! that can fail on demand. Every test checks both sides afterwards: each AI risk exactly
//! once in the target, the links and the journal in the store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: failing loudly is their job"
)]

#[path = "sync/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use imsbridge_e2e::fake_ciso::{FakeCiso, FakeOptions, Fault, FaultEffect, FaultWhen};
use serde_json::{Value, json};

use harness::{Env, Setup, TARGET, array, external_id, read_json, str_of, with_outcome};

const SCENARIOS: &str = "/api/risk-scenarios/";

// ---------------------------------------------------------------------------------------------
// 1. The happy path
// ---------------------------------------------------------------------------------------------

#[test]
fn plan_then_apply_creates_each_risk_once_and_a_resync_only_reads() {
    let env = Env::new(5);
    let n = env.setup.n;
    let expected = env.expected_correlations();

    let out = env.run(["plan", "--out", "plan.json", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stdout.contains("Plan: 5 to create, 0 to update"),
        "{}",
        out.describe()
    );
    assert_eq!(
        env.fake.request_counts().writes(),
        0,
        "planning must only read"
    );
    let plan = read_json(&env.path("plan.json"));
    assert_eq!(plan["format"], "imsbridge-plan/1", "{plan}");
    assert_eq!(plan["summary"]["create"], n, "{plan}");
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), n, "{plan}");
    for item in items {
        assert_eq!(item["action"], "create", "{item}");
        assert_eq!(item["target"], TARGET, "{item}");
        let record = str_of(&item["record"]);
        let correlation = str_of(&item["correlation"]);
        assert!(correlation.starts_with("IMSB-"), "{item}");
        assert_eq!(expected[&record], correlation, "{item}");
        assert_eq!(
            item["changes"]["ref_id"]["to"],
            correlation.as_str(),
            "{item}"
        );
    }

    env.fake.reset_counts();
    let out = env.run(["apply", "plan.json", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!(counts.post, n as u64, "one POST per risk: {counts:?}");
    assert_eq!(counts.patch + counts.other, 0, "{counts:?}");
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), n, "{journal:#?}");
    for entry in &journal {
        assert_eq!(entry["action"], "create", "{entry}");
        assert_eq!(entry["outcome"], "written", "{entry}");
        let scenario = env.scenario_by_ref(&str_of(&entry["correlation"]));
        assert_eq!(entry["remote_id"], scenario["id"], "{entry}");
    }

    // Nothing changed on either side: a sync plans noops and sends GETs only.
    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!(counts.writes(), 0, "{counts:?}");
    assert!(counts.get > 0, "{counts:?}");
    let log = env.fake.request_log();
    assert!(log.iter().all(|r| r.method == "GET"), "{log:#?}");
    assert_eq!(env.journal().len(), n);
    env.assert_remote_exactly_once();
    env.assert_links_complete();

    // The saved plan is stale now: applying it again refuses its creates, writes nothing.
    env.fake.reset_counts();
    let out = env.run(["apply", "plan.json"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert!(out.stdout.contains("refused"), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
    assert_eq!(env.journal().len(), n);
    env.assert_remote_exactly_once();
}

#[test]
fn a_target_being_written_by_another_run_is_left_alone_until_it_is_free() {
    let env = Env::new(3);
    // Another run (this test process, alive) holds the target's lock.
    let holder = imsbridge_store::LockOwner {
        host: "ims-ops-7".into(),
        pid: std::process::id(),
        started_at: chrono::Utc::now(),
    };
    let lock = format!("sync-target:{TARGET}");
    let mut store = imsbridge_store::Store::open(&env.ims.store).unwrap();
    let held = store
        .try_lock(&lock, &holder, chrono::Utc::now(), Duration::from_secs(120))
        .unwrap();
    assert!(held.is_none(), "{held:?}");

    for args in [vec!["sync"], vec!["plan", "--out", "plan.json"]] {
        let out = env.run(&args);
        if args[0] == "plan" {
            // Planning only reads: it does not need the lock.
            assert_eq!(out.code, Some(0), "{}", out.describe());
            continue;
        }
        assert_eq!(out.code, Some(1), "{}", out.describe());
        let expected = format!(
            "target `{TARGET}` is being written by another imsbridge run (pid {} on ims-ops-7",
            std::process::id()
        );
        assert!(out.stderr.contains(&expected), "{}", out.describe());
    }
    let out = env.run(["apply", "plan.json"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("being written by another imsbridge run")
    );
    env.assert_nothing_written();

    // Released: the sync runs, and leaves the lock free behind it.
    assert!(store.release_lock(&lock, &holder).unwrap());
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();
    let other = imsbridge_store::LockOwner {
        pid: std::process::id() + 1,
        ..holder
    };
    let free = store
        .try_lock(&lock, &other, chrono::Utc::now(), Duration::from_secs(120))
        .unwrap();
    assert!(free.is_none(), "the sync kept its lock: {free:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Faults on the wire
// ---------------------------------------------------------------------------------------------

fn respond(status: u16, body: &str, headers: &[(&str, &str)]) -> FaultEffect {
    FaultEffect::Respond {
        status,
        body: body.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn post_fault(when: FaultWhen, effect: FaultEffect) -> Fault {
    Fault {
        method: "POST".into(),
        path_prefix: SCENARIOS.into(),
        times: 1,
        when,
        effect,
    }
}

/// What a faulted create must lead to.
struct Expect {
    /// POSTs of scenarios in all.
    posts: u64,
    /// The engine looked the record up by its correlation id.
    lookup: bool,
    /// Journal entries noting that a lookup confirmed the create.
    confirmed_by_lookup: usize,
    /// The run takes at least this long (a server-requested wait).
    at_least: Duration,
}

/// Syncs 4 risks with one create faulted; the end state must be exact all the same.
fn sync_with_post_fault(fault: Fault, expect: Expect) {
    let mut setup = Setup::new(4);
    if matches!(fault.effect, FaultEffect::Delay(_)) {
        setup = setup.timeout_secs(1);
    }
    let env = Env::with(setup);
    let n = env.setup.n;
    env.fake.add_fault(fault.clone());
    let started = Instant::now();
    let out = env.run(["sync", "--detailed-exitcode"]);
    let took = started.elapsed();
    let log = env.fake.request_log();
    assert_eq!(out.code, Some(2), "{fault:?}\n{}\n{log:#?}", out.describe());
    assert!(took >= expect.at_least, "{fault:?}: took {took:?}");

    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let counts = env.fake.request_counts();
    assert_eq!(counts.post, expect.posts, "{fault:?}\n{log:#?}");
    assert_eq!(counts.patch + counts.other, 0, "{counts:?}");
    let lookups = log
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("search=IMSB-"))
        .count();
    assert_eq!(lookups > 0, expect.lookup, "{fault:?}\n{log:#?}");

    let journal = env.journal();
    assert_eq!(journal.len(), n, "{journal:#?}");
    assert_eq!(
        with_outcome(&journal, Some("written")).len(),
        n,
        "{journal:#?}"
    );
    let confirmed = journal
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("confirmed by lookup"))
        })
        .count();
    assert_eq!(confirmed, expect.confirmed_by_lookup, "{journal:#?}");

    // And the next sync has nothing left to do.
    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
}

/// Syncs 4 risks with one create lost before it reached the server (not stored, answer an
/// error or nothing). The engine looks it up once, finds nothing — which right after a lost
/// answer proves nothing, the request may still be running — and does not send it again:
/// the run fails that item and leaves its intent open. The next sync settles the intent
/// (`not-written`) and creates the risk, once.
fn sync_with_lost_create(fault: Fault) {
    let env = Env::with(Setup::new(4));
    let n = env.setup.n;
    env.fake.add_fault(fault.clone());
    let out = env.run(["sync", "--detailed-exitcode"]);
    let log = env.fake.request_log();
    assert_eq!(out.code, Some(1), "{fault:?}\n{}\n{log:#?}", out.describe());
    assert!(out.stdout.contains("left open"), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!(
        counts.post, 4,
        "not sent again in the same run: {fault:?}\n{log:#?}"
    );
    assert_eq!(env.fake.scenario_count(), n - 1);
    assert!(env.fake.duplicate_ref_ids().is_empty());
    let lookups = log
        .iter()
        .filter(|r| r.method == "GET" && r.target.contains("search=IMSB-"))
        .count();
    assert!(lookups > 0, "{fault:?}\n{log:#?}");
    let journal = env.journal();
    assert_eq!(with_outcome(&journal, None).len(), 1, "{journal:#?}");

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(env.fake.request_counts().post, 1);
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), n + 1, "{journal:#?}");
    assert_eq!(
        with_outcome(&journal, Some("written")).len(),
        n,
        "{journal:#?}"
    );
    assert_eq!(
        with_outcome(&journal, Some("not-written")).len(),
        1,
        "{journal:#?}"
    );

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
}

const HTML_500: &str = "<h1>Server Error (500)</h1>";

#[test]
fn post_500_before_storing_is_left_open_and_created_by_the_next_sync() {
    sync_with_lost_create(post_fault(FaultWhen::Before, respond(500, HTML_500, &[])));
}

#[test]
fn post_500_after_storing_is_found_by_lookup_not_duplicated() {
    sync_with_post_fault(
        post_fault(FaultWhen::After, respond(500, HTML_500, &[])),
        Expect {
            posts: 4,
            lookup: true,
            confirmed_by_lookup: 1,
            at_least: Duration::ZERO,
        },
    );
}

#[test]
fn post_502_before_storing_is_left_open_and_created_by_the_next_sync() {
    sync_with_lost_create(post_fault(
        FaultWhen::Before,
        respond(502, "Bad Gateway", &[]),
    ));
}

#[test]
fn post_502_after_storing_is_found_by_lookup_not_duplicated() {
    sync_with_post_fault(
        post_fault(FaultWhen::After, respond(502, "Bad Gateway", &[])),
        Expect {
            posts: 4,
            lookup: true,
            confirmed_by_lookup: 1,
            at_least: Duration::ZERO,
        },
    );
}

#[test]
fn post_503_without_retry_after_is_treated_as_ambiguous() {
    // Landed: found by the lookup.
    sync_with_post_fault(
        post_fault(FaultWhen::After, respond(503, "Service Unavailable", &[])),
        Expect {
            posts: 4,
            lookup: true,
            confirmed_by_lookup: 1,
            at_least: Duration::ZERO,
        },
    );
    // Not landed: the lookup finds nothing; the next sync settles and creates it.
    sync_with_lost_create(post_fault(
        FaultWhen::Before,
        respond(503, "Service Unavailable", &[]),
    ));
}

#[test]
fn post_503_with_retry_after_is_retried_after_the_wait() {
    sync_with_post_fault(
        post_fault(
            FaultWhen::Before,
            respond(
                503,
                r#"{"detail":"Down for maintenance."}"#,
                &[("Retry-After", "1")],
            ),
        ),
        Expect {
            posts: 5,
            lookup: false,
            confirmed_by_lookup: 0,
            at_least: Duration::from_secs(1),
        },
    );
}

#[test]
fn post_429_with_retry_after_is_retried_after_the_wait() {
    sync_with_post_fault(
        post_fault(
            FaultWhen::Before,
            respond(
                429,
                r#"{"detail":"Request was throttled. Expected available in 1 second."}"#,
                &[("Retry-After", "1")],
            ),
        ),
        Expect {
            posts: 5,
            lookup: false,
            confirmed_by_lookup: 0,
            at_least: Duration::from_secs(1),
        },
    );
}

#[test]
fn post_connection_dropped_is_settled_by_lookup() {
    // Dropped after the create landed: found, not created again.
    sync_with_post_fault(
        post_fault(FaultWhen::After, FaultEffect::Close),
        Expect {
            posts: 4,
            lookup: true,
            confirmed_by_lookup: 1,
            at_least: Duration::ZERO,
        },
    );
    // Dropped before: not found; the next sync settles and creates it.
    sync_with_lost_create(post_fault(FaultWhen::Before, FaultEffect::Close));
}

#[test]
fn create_answered_after_the_timeout_is_found_by_lookup_not_duplicated() {
    // timeout_secs = 1; the create is stored, then its answer waits 2.5 s.
    sync_with_post_fault(
        post_fault(
            FaultWhen::After,
            FaultEffect::Delay(Duration::from_millis(2500)),
        ),
        Expect {
            posts: 4,
            lookup: true,
            confirmed_by_lookup: 1,
            at_least: Duration::from_secs(1),
        },
    );
}

#[test]
fn ambiguous_create_whose_lookup_fails_stays_open_and_is_repaired_next_run() {
    let env = Env::new(3);
    // The first create lands but is answered 500; the lookup that would settle it is refused.
    // The two list reads of plan and apply pass untouched (a zero delay), the third read of
    // the scenarios, the lookup, gets the 403.
    env.fake
        .fail_after_next("POST", SCENARIOS, 500, HTML_500, 1);
    env.fake.add_fault(Fault {
        method: "GET".into(),
        path_prefix: SCENARIOS.into(),
        times: 2,
        when: FaultWhen::Before,
        effect: FaultEffect::Delay(Duration::ZERO),
    });
    env.fake.fail_next(
        "GET",
        SCENARIOS,
        403,
        r#"{"detail":"You do not have permission to perform this action."}"#,
        1,
    );
    let out = env.run(["sync", "--concurrency", "1"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stdout.contains("FAILED"), "{}", out.describe());
    assert!(
        out.stdout.contains("may or may not have been created"),
        "{}",
        out.describe()
    );
    let log = env.fake.request_log();
    assert!(
        log.iter()
            .any(|r| r.status == 403 && r.target.contains("search=IMSB-")),
        "the lookup was the refused request: {log:#?}"
    );
    // Three scenarios exist remotely; only two are linked; the third intent stays open.
    assert_eq!(env.fake.scenario_count(), 3);
    assert!(env.fake.duplicate_ref_ids().is_empty());
    assert_eq!(env.links().len(), 2);
    let journal = env.journal();
    let open = with_outcome(&journal, None);
    assert_eq!(open.len(), 1, "{journal:#?}");
    assert_eq!(
        with_outcome(&journal, Some("written")).len(),
        2,
        "{journal:#?}"
    );
    let open_ref = str_of(&open[0]["correlation"]);

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(
        out.code,
        Some(0),
        "nothing to write, only to settle: {}",
        out.describe()
    );
    assert_eq!(env.fake.request_counts().writes(), 0);
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), 3, "{journal:#?}");
    let repaired = with_outcome(&journal, Some("repaired"));
    assert_eq!(repaired.len(), 1, "{journal:#?}");
    assert_eq!(repaired[0]["correlation"], open_ref.as_str());
}

#[test]
fn create_refused_by_the_server_is_journalled_failed_and_created_next_run() {
    let env = Env::new(3);
    // A definite refusal (400 with field errors): nothing was created, so the journal says
    // `failed` (not open) and there is no lookup and no retry in this run.
    env.fake.fail_next(
        "POST",
        SCENARIOS,
        400,
        r#"{"name": ["Ensure this field has no more than 200 characters."]}"#,
        1,
    );
    let out = env.run(["sync", "--concurrency", "1"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stdout.contains("FAILED"), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!(counts.post, 3, "1 refused + 2 other creates: {counts:?}");
    assert_eq!(env.fake.scenario_count(), 2);
    assert!(env.fake.duplicate_ref_ids().is_empty());
    assert_eq!(env.links().len(), 2);
    let journal = env.journal();
    let failed = with_outcome(&journal, Some("failed"));
    assert_eq!(failed.len(), 1, "{journal:#?}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("name: Ensure this field"),
        "{journal:#?}"
    );
    assert!(with_outcome(&journal, None).is_empty(), "{journal:#?}");

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(env.fake.request_counts().post, 1);
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), 4, "{journal:#?}");
    assert_eq!(
        journal[0]["correlation"], failed[0]["correlation"],
        "{journal:#?}"
    );
    assert_eq!(journal[0]["outcome"], "written", "{journal:#?}");
}

#[test]
fn updates_whose_answer_failed_are_settled_by_the_next_sync() {
    let mut env = Env::new(3);
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let mut titles = env.titles.clone();
    titles.insert(
        external_id(1),
        "Prompt injection, first revision".to_string(),
    );
    titles.insert(
        external_id(2),
        "Prompt injection, second revision".to_string(),
    );
    env.import_register(titles);

    // One PATCH lands but is answered 502, the other is refused before it is applied.
    env.fake
        .fail_after_next("PATCH", SCENARIOS, 502, "Bad Gateway", 1);
    env.fake
        .fail_next("PATCH", SCENARIOS, 502, "Bad Gateway", 1);
    env.fake.reset_counts();
    let out = env.run(["sync", "--concurrency", "1"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    // A PATCH is not repeated blindly.
    assert_eq!(env.fake.request_counts().patch, 2);
    let journal = env.journal();
    assert_eq!(
        with_outcome(&journal, Some("failed")).len(),
        2,
        "{journal:#?}"
    );
    let titles = env.record_titles();
    let updated_remotely = env
        .expected_correlations()
        .iter()
        .filter(|(record, c)| env.scenario_by_ref(c)["name"] == titles[*record].as_str())
        .count();
    // AI-003 did not change; of the other two, exactly the landed one matches.
    assert_eq!(updated_remotely, 2);

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!(
        (counts.post, counts.patch),
        (0, 1),
        "only the lost update: {counts:?}"
    );
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    assert_eq!(with_outcome(&env.journal(), Some("written")).len(), 4);

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
}

#[test]
fn create_still_running_on_the_server_when_the_client_times_out_is_not_duplicated() {
    // timeout_secs = 1; the server takes 2.5 s before it stores the first create (a slow
    // database, a long queue), then stores it although the client has given up: a real
    // server finishes a request whose client went away. Looking the record up at once finds
    // nothing; creating it again then makes a second scenario when the first one lands.
    let env = Env::with(Setup::new(3).timeout_secs(1));
    env.fake.add_fault(post_fault(
        FaultWhen::Before,
        FaultEffect::Delay(Duration::from_millis(2500)),
    ));
    let out = env.run(["sync", "--concurrency", "1"]);
    // Let the slow request finish on the server before judging.
    let deadline = Instant::now() + Duration::from_secs(20);
    while (env.fake.request_log().len() as u64) < env.fake.request_counts().total() {
        assert!(Instant::now() < deadline, "{:#?}", env.fake.request_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let dups = env.fake.duplicate_ref_ids();
    assert!(
        dups.is_empty(),
        "duplicated: {dups:?}\n{}\n{:#?}",
        out.describe(),
        env.fake.request_log()
    );
    // Whatever the first run made of it, the next one converges.
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    assert!(with_outcome(&env.journal(), None).is_empty());
}

#[test]
fn apply_refuses_items_whose_remote_changed_since_planning() {
    let mut env = Env::new(2);
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let record = env.record_id(&external_id(1));
    let correlation = env.expected_correlations()[&record].clone();
    let remote_id = str_of(&env.scenario_by_ref(&correlation)["id"]);
    let mut titles = env.titles.clone();
    let local_name = "Prompt injection through shared notebooks";
    titles.insert(external_id(1), local_name.to_string());
    env.import_register(titles);
    let out = env.run(["plan", "--out", "plan.json", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());

    // Someone changes another field of the same scenario between plan and apply.
    assert!(
        env.fake
            .edit_scenario(&remote_id, "treatment", json!("accept"))
            .is_some()
    );
    env.fake.reset_counts();
    let out = env.run(["apply", "plan.json"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert!(
        out.stdout.contains("refused") && out.stdout.contains("changed since planning"),
        "{}",
        out.describe()
    );
    assert_eq!(env.fake.request_counts().writes(), 0);
    assert_eq!(env.journal().len(), 2, "{:#?}", env.journal());

    // Planned again: the local change is written, the remote edit of another field is kept.
    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(env.fake.request_counts().patch, 1);
    let scenario = env.fake.scenario(&remote_id).unwrap();
    assert_eq!(scenario["name"], local_name, "{scenario}");
    assert_eq!(scenario["treatment"], "accept", "{scenario}");
    env.assert_remote_exactly_once();
    env.assert_links_complete();
}

#[test]
fn listings_spread_over_many_pages_are_read_whole() {
    let mut setup = Setup::new(7);
    setup.page_size = Some(2);
    let env = Env::with(setup);
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
    let pages = env
        .fake
        .request_log()
        .iter()
        .filter(|r| r.target.starts_with(SCENARIOS) && r.target.contains("offset="))
        .count();
    assert!(pages >= 6, "plan and apply each walk 4 pages of 2: {pages}");
}

#[test]
fn create_answered_2xx_with_an_unreadable_body_is_not_journalled_as_not_written() {
    // The create is stored and answered 201, but the body is cut off (a proxy, a crashed
    // worker): the scenario exists, and the store must not claim it was not written.
    let env = Env::new(3);
    env.fake.fail_after_next(
        "POST",
        SCENARIOS,
        201,
        r#"{"id": "4e1c0a52-0000-4000-8000-00000000"#,
        1,
    );
    let out = env.run(["sync", "--concurrency", "1"]);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
    assert_eq!(
        env.fake.scenario_count(),
        3,
        "{:#?}",
        env.fake.request_log()
    );
    assert!(env.fake.duplicate_ref_ids().is_empty());
    let first = env.expected_correlations()[&env.record_id(&external_id(1))].clone();
    let journal = env.journal();
    let entry = journal
        .iter()
        .find(|e| e["correlation"] == first.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no journal entry for {first}: {journal:#?}"));

    // The next sync converges either way: the scenario is found by its correlation id.
    let out2 = env.run(["sync"]);
    assert_eq!(out2.code, Some(0), "{}", out2.describe());
    env.assert_remote_exactly_once();
    env.assert_links_complete();

    assert_ne!(
        entry["outcome"],
        "failed",
        "the create landed (201), yet the journal records a failed write, which means \
         \"the remote is known not to have it\": {entry:#}\n{}",
        out.describe()
    );
}

#[test]
fn a_remotely_deleted_scenario_is_a_conflict_not_a_silent_re_create() {
    let env = Env::new(2);
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let record = env.record_id(&external_id(2));
    let correlation = env.expected_correlations()[&record].clone();
    let remote_id = str_of(&env.scenario_by_ref(&correlation)["id"]);
    assert!(env.fake.delete_scenario(&remote_id));

    env.fake.reset_counts();
    let out = env.run(["--format", "json", "plan", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let plan = out.json().unwrap();
    let item = array(plan["items"].clone())
        .into_iter()
        .find(|i| i["record"] == record.as_str())
        .unwrap();
    assert_eq!(item["action"], "conflict", "{item}");
    assert!(
        item["reason"].as_str().unwrap().contains(&remote_id),
        "{item}"
    );
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
    assert_eq!(env.fake.scenario_count(), 1);

    // local-wins puts it back, once, under the same correlation id, and relinks it.
    env.write_config("local-wins");
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(env.fake.request_counts().post, 1);
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    assert_ne!(str_of(&env.scenario_by_ref(&correlation)["id"]), remote_id);
}

/// A failed run must leave no trace: no remote write, no link, no journal entry, no plan file.
fn assert_failed_cleanly(env: &Env, out: &imsbridge_e2e::cli::RunOutput, plan_file: &str) {
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stderr.contains("error:"), "{}", out.describe());
    env.assert_nothing_written();
    assert!(
        !env.path(plan_file).exists(),
        "a plan file was written by a failed run"
    );
}

#[test]
fn malformed_list_answers_fail_clearly_and_write_nothing() {
    let env = Env::new(3);
    let records_before = env.ims.snapshot().unwrap();
    let cases = [
        (
            "truncated JSON",
            r#"{"count": 1, "next": null, "previous": null, "results": [{"id": "#,
            "not the expected JSON",
        ),
        (
            "an HTML login page",
            "<!DOCTYPE html><html><body>Please log in</body></html>",
            "HTML page",
        ),
        (
            "results of the wrong type",
            r#"{"count": 1, "next": null, "previous": null, "results": "none"}"#,
            "results",
        ),
    ];
    for (what, body, says) in cases {
        env.fake.fail_next("GET", SCENARIOS, 200, body, 1);
        let out = env.run(["sync", "--out", "plan.json"]);
        assert_failed_cleanly(&env, &out, "plan.json");
        for needle in [says, "risk-scenarios", TARGET] {
            assert!(
                out.stderr.contains(needle),
                "{what}: the error should mention {needle:?}\n{}",
                out.describe()
            );
        }
        // Not retried: a 200 with a bad body is not transient.
        let list_reads = env
            .fake
            .request_log()
            .iter()
            .filter(|r| r.target.starts_with(SCENARIOS))
            .count();
        assert_eq!(list_reads, 1, "{what}: {:#?}", env.fake.request_log());
        env.fake.reset_counts();
    }
    assert_eq!(env.ims.snapshot().unwrap(), records_before);

    // The failures left nothing in the way of a normal sync.
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();
    env.assert_links_complete();
}

#[test]
fn looping_next_link_stops_the_listing_and_writes_nothing() {
    let env = Env::new(3);
    // Page 1 links to page 2, which links to itself.
    let looping = json!({
        "count": 300,
        "next": format!("{SCENARIOS}?limit=100&offset=100&risk_assessment={}",
            imsbridge_e2e::fake_ciso::RISK_ASSESSMENT_ID),
        "previous": null,
        "results": [],
    })
    .to_string();
    env.fake.fail_next("GET", SCENARIOS, 200, &looping, 2);
    let out = env.run(["sync", "--out", "plan.json"]);
    assert_failed_cleanly(&env, &out, "plan.json");
    assert!(out.stderr.contains("pagination loop"), "{}", out.describe());
    let list_reads: Vec<_> = env
        .fake
        .request_log()
        .into_iter()
        .filter(|r| r.target.starts_with(SCENARIOS))
        .collect();
    assert_eq!(
        list_reads.len(),
        2,
        "the walk stops at the repeat: {list_reads:#?}"
    );

    env.fake.clear_faults();
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();
}

#[test]
fn next_link_to_another_origin_is_refused_and_gets_no_request() {
    let env = Env::new(3);
    // Another server that would accept the same token: it must never hear from the client.
    let other = FakeCiso::start(FakeOptions {
        token: env.setup.server_token.clone(),
        ..FakeOptions::default()
    });
    assert_ne!(other.base_url(), env.fake.base_url());
    let foreign = json!({
        "count": 300,
        "next": format!("{}{SCENARIOS}?limit=100&offset=100", other.base_url()),
        "previous": null,
        "results": [],
    })
    .to_string();
    env.fake.fail_next("GET", SCENARIOS, 200, &foreign, 1);
    let out = env.run(["sync", "--out", "plan.json"]);
    assert_failed_cleanly(&env, &out, "plan.json");
    assert!(
        out.stderr.contains("refused to send") && out.stderr.contains("origin"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(&other.base_url()),
        "the refused link is named: {}",
        out.describe()
    );
    assert!(!out.stderr.contains(&env.setup.server_token));
    let counts = other.request_counts();
    assert_eq!(
        counts.total(),
        0,
        "the other origin was contacted: {counts:?}"
    );

    // A redirect to the other origin is not followed either.
    env.fake.reset_counts();
    env.fake.add_fault(Fault {
        method: "GET".into(),
        path_prefix: "/api/folders/".into(),
        times: 1,
        when: FaultWhen::Before,
        effect: respond(
            302,
            "",
            &[("Location", &format!("{}/api/folders/", other.base_url()))],
        ),
    });
    let out = env.run(["sync", "--out", "plan.json"]);
    assert_failed_cleanly(&env, &out, "plan.json");
    assert!(
        out.stderr.contains("redirected (302)") && out.stderr.contains(&other.base_url()),
        "{}",
        out.describe()
    );
    assert_eq!(other.request_counts().total(), 0);

    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();
    assert_eq!(other.request_counts().total(), 0);
}

#[test]
fn wrong_token_fails_with_an_actionable_message_and_writes_nothing() {
    let mut setup = Setup::new(3);
    setup.client_token = Some("wrong-token-6c1f".to_string());
    let env = Env::with(setup);
    for args in [
        vec!["sync", "--out", "plan.json"],
        vec!["plan", "--out", "plan.json"],
    ] {
        env.fake.reset_counts();
        let out = env.run(&args);
        assert_failed_cleanly(&env, &out, "plan.json");
        let all = format!("{}{}", out.stdout, out.stderr);
        for needle in ["401", "token_env", "Invalid token."] {
            assert!(
                all.contains(needle),
                "the message should say {needle:?}:\n{}",
                out.describe()
            );
        }
        for secret in ["wrong-token-6c1f", env.setup.server_token.as_str()] {
            assert!(
                !all.contains(secret),
                "{secret} leaked:\n{}",
                out.describe()
            );
        }
        assert!(
            !all.to_ascii_uppercase().contains("REDACTED"),
            "{}",
            out.describe()
        );
        // A 401 is final: one request, not retried.
        assert_eq!(
            env.fake.request_counts().total(),
            1,
            "{:#?}",
            env.fake.request_log()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A crash in the middle of a run
// ---------------------------------------------------------------------------------------------

/// Waits for the gate to hold a create, checks that exactly `stored` scenarios exist, kills
/// `child` while it waits for the answer, then opens the gate and waits until the server has
/// answered every request it received (creates of the dead client that were waiting at the
/// gate are stored then, as a real server would). Returns the held scenario.
fn kill_while_held(env: &Env, child: &mut std::process::Child, log: &str, stored: usize) -> Value {
    let held = env.fake.wait_paused(Duration::from_secs(60));
    let Some(held) = held else {
        let _ = child.kill();
        let _ = child.wait();
        let err = std::fs::read_to_string(env.path(&format!("{log}.err"))).unwrap_or_default();
        panic!("no create reached the gate; stderr of the run:\n{err}");
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended while its create was held"
    );
    assert_eq!(env.fake.scenario_count(), stored);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");
    // Requests the client wrote just before dying reach the server a moment later.
    std::thread::sleep(Duration::from_millis(200));
    env.fake.release();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (env.fake.request_log().len() as u64) < env.fake.request_counts().total() {
        assert!(
            Instant::now() < deadline,
            "the fake did not settle: {:#?}",
            env.fake.request_log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    held
}

#[test]
fn apply_killed_after_a_create_landed_is_repaired_by_the_next_sync() {
    let env = Env::new(5);
    let out = env.run(["plan", "--out", "plan.json"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    // One item at a time: items 1 and 2 are created and linked, the 3rd is stored remotely
    // and its answer held while the process is killed.
    env.fake.pause_after_creates(3);
    let mut child = env.spawn(&["apply", "plan.json", "--concurrency", "1"], "apply");
    let held = kill_while_held(&env, &mut child, "apply", 3);
    let held_ref = str_of(&held["ref_id"]);
    assert_eq!(env.fake.scenario_count(), 3);

    // What the killed run left: two links, and an open intent for the held create.
    assert_eq!(env.links().len(), 2, "{:#?}", env.links());
    let journal = env.journal();
    assert_eq!(journal.len(), 3, "{journal:#?}");
    assert_eq!(
        with_outcome(&journal, Some("written")).len(),
        2,
        "{journal:#?}"
    );
    let open = with_outcome(&journal, None);
    assert_eq!(open.len(), 1, "{journal:#?}");
    assert_eq!(open[0]["correlation"], held_ref.as_str(), "{journal:#?}");
    assert_eq!(open[0]["action"], "create");

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stdout.contains("1 interrupted writes settled first"),
        "{}",
        out.describe()
    );
    assert_eq!(
        env.fake.request_counts().post,
        2,
        "only the two never-sent creates: {:#?}",
        env.fake.request_log()
    );
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), 5, "{journal:#?}");
    let repaired = with_outcome(&journal, Some("repaired"));
    assert_eq!(repaired.len(), 1, "{journal:#?}");
    assert_eq!(repaired[0]["correlation"], held_ref.as_str());
    assert_eq!(repaired[0]["remote_id"], held["id"], "{journal:#?}");
    assert_eq!(with_outcome(&journal, Some("written")).len(), 4);
    assert!(with_outcome(&journal, None).is_empty(), "{journal:#?}");

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
}

#[test]
fn concurrent_sync_killed_mid_apply_converges_on_the_next_sync() {
    let env = Env::new(6);
    env.fake.pause_after_creates(2);
    let mut child = env.spawn(&["sync", "--concurrency", "4"], "sync");
    // The gate keeps later creates from being stored: exactly two exist while it holds.
    let held = kill_while_held(&env, &mut child, "sync", 2);
    let held_ref = str_of(&held["ref_id"]);
    assert!(env.links().len() <= 1, "{:#?}", env.links());

    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    env.assert_remote_exactly_once();
    env.assert_links_complete();

    let journal = env.journal();
    assert!(with_outcome(&journal, None).is_empty(), "{journal:#?}");
    assert!(
        with_outcome(&journal, Some("failed")).is_empty(),
        "{journal:#?}"
    );
    let repaired = with_outcome(&journal, Some("repaired"));
    assert!(
        repaired
            .iter()
            .any(|e| e["correlation"] == held_ref.as_str()),
        "the held create is repaired: {journal:#?}"
    );
    // Each risk was created once: by a write that was answered, or found after the crash.
    let written = with_outcome(&journal, Some("written"));
    assert_eq!(written.len() + repaired.len(), env.setup.n, "{journal:#?}");
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for e in written.iter().chain(repaired.iter()) {
        *created.entry(str_of(&e["correlation"])).or_default() += 1;
    }
    assert!(created.values().all(|&c| c == 1), "{journal:#?}");
    // Intents the crash cut off before they reached the server are settled as not written.
    for e in with_outcome(&journal, Some("not-written")) {
        assert!(
            created.contains_key(&str_of(&e["correlation"])),
            "{journal:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The token never leaves the process
// ---------------------------------------------------------------------------------------------

const CANARY: &str = "canary-5f0c2e1d-SECRET";
const WRONG_CANARY: &str = "canary-0badc0de-WRONG";

fn assert_no_canary(what: &str, text: &str) {
    for needle in [CANARY, WRONG_CANARY, "5f0c2e1d", "0badc0de"] {
        assert!(!text.contains(needle), "{what} contains {needle}:\n{text}");
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn canary_token_appears_in_no_output_log_plan_or_store_file() {
    let mut env = Env::with(Setup::new(3).token(CANARY));
    let mut runs = Vec::new();
    let mut run = |env: &Env, token: Option<&str>, args: &[&str], code: &[i32]| {
        let out = env.run_with_token(token, args);
        assert!(
            out.code.is_some_and(|c| code.contains(&c)),
            "expected exit {code:?}\n{}",
            out.describe()
        );
        runs.push(out.clone());
        out
    };
    let out = run(&env, Some(CANARY), &["-vv", "systems", "check"], &[0]);
    assert!(
        out.stderr.contains("http request"),
        "debug logs on: {}",
        out.describe()
    );
    run(
        &env,
        Some(CANARY),
        &["-vv", "plan", "--out", "plan.json"],
        &[0],
    );
    let out = run(&env, Some(CANARY), &["-vv", "apply", "plan.json"], &[0]);
    assert!(out.stderr.contains("POST"), "{}", out.describe());
    env.assert_remote_exactly_once();

    // An update too, so that PATCH requests are logged.
    let mut titles = env.titles.clone();
    titles.insert(external_id(1), "Prompt injection, revised".to_string());
    env.import_register(titles);
    let out = run(
        &env,
        Some(CANARY),
        &["-vv", "sync", "--out", "plan2.json"],
        &[0],
    );
    assert!(out.stdout.contains("updated"), "{}", out.describe());
    run(
        &env,
        Some(CANARY),
        &["-vvv", "--format", "json", "sync"],
        &[0],
    );
    run(&env, Some(CANARY), &["-vv", "journal"], &[0]);
    run(
        &env,
        Some(CANARY),
        &["-vv", "--format", "json", "journal"],
        &[0],
    );
    run(&env, Some(CANARY), &["-vv", "links"], &[0]);
    run(
        &env,
        Some(CANARY),
        &["-vv", "--format", "json", "links"],
        &[0],
    );
    run(
        &env,
        Some(CANARY),
        &[
            "-vv",
            "pull",
            "--system",
            TARGET,
            "--stream",
            "risk_scenarios",
        ],
        &[0, 3],
    );

    // Failing runs with a wrong token that is a canary too.
    let wrong = Some(WRONG_CANARY);
    let out = run(&env, wrong, &["-vv", "systems", "check"], &[1]);
    assert!(out.stdout.contains("FAIL"), "{}", out.describe());
    for args in [
        &["-vv", "sync", "--out", "plan-bad.json"][..],
        &["-vvv", "plan", "--out", "plan-bad.json"][..],
        &["-vv", "apply", "plan.json"][..],
        &[
            "-vv",
            "pull",
            "--system",
            TARGET,
            "--stream",
            "risk_scenarios",
        ][..],
    ] {
        let out = run(&env, wrong, args, &[1]);
        assert!(out.stderr.contains("401"), "{}", out.describe());
        assert!(
            !out.stderr.to_ascii_uppercase().contains("REDACTED"),
            "{}",
            out.describe()
        );
    }

    for out in &runs {
        assert_no_canary(&format!("stdout of `{}`", out.command), &out.stdout);
        assert_no_canary(&format!("stderr of `{}`", out.command), &out.stderr);
    }
    let files = files_under(env.dir.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for must in ["imsbridge.db", "plan.json", "plan2.json"] {
        assert!(names.iter().any(|n| n == must), "{must} missing: {names:?}");
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for needle in [CANARY, WRONG_CANARY, "5f0c2e1d", "0badc0de"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains {needle}",
                file.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Conflicts
// ---------------------------------------------------------------------------------------------

#[test]
fn a_field_changed_on_both_sides_is_a_conflict_until_local_wins() {
    let mut env = Env::new(3);
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    env.assert_remote_exactly_once();

    let record = env.record_id(&external_id(2));
    let correlation = env.expected_correlations()[&record].clone();
    let remote_id = str_of(&env.scenario_by_ref(&correlation)["id"]);
    let remote_name = "Prompt injection (renamed in CISO Assistant)";
    let local_name = "Prompt injection via uploaded documents";
    assert!(
        env.fake
            .edit_scenario(&remote_id, "name", json!(remote_name))
            .is_some()
    );
    let mut titles = env.titles.clone();
    titles.insert(external_id(2), local_name.to_string());
    env.import_register(titles);

    let out = env.run([
        "--format",
        "json",
        "plan",
        "--out",
        "plan.json",
        "--detailed-exitcode",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let plan = out.json().unwrap();
    assert_eq!(plan, read_json(&env.path("plan.json")));
    assert_eq!(plan["summary"]["conflict"], 1, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    assert_eq!(plan["summary"]["noop"], 2, "{plan}");
    let items = array(plan["items"].clone());
    let item = items
        .iter()
        .find(|i| i["record"] == record.as_str())
        .unwrap();
    assert_eq!(item["action"], "conflict", "{item}");
    assert!(item["reason"].as_str().unwrap().contains("name"), "{item}");
    assert_eq!(item["changes"]["name"]["from"], remote_name, "{item}");
    assert_eq!(item["changes"]["name"]["to"], local_name, "{item}");

    env.fake.reset_counts();
    let out = env.run(["apply", "plan.json"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert!(out.stdout.contains("conflict"), "{}", out.describe());
    let out = env.run(["sync"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
    assert_eq!(env.fake.scenario(&remote_id).unwrap()["name"], remote_name);
    assert_eq!(env.journal().len(), 3, "{:#?}", env.journal());

    env.write_config("local-wins");
    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let counts = env.fake.request_counts();
    assert_eq!((counts.post, counts.patch), (0, 1), "{counts:?}");
    assert_eq!(env.fake.scenario(&remote_id).unwrap()["name"], local_name);
    env.assert_remote_exactly_once();
    env.assert_links_complete();
    let journal = env.journal();
    assert_eq!(journal.len(), 4, "{journal:#?}");
    let newest = &journal[0];
    assert_eq!(newest["action"], "update", "{newest}");
    assert_eq!(newest["outcome"], "written", "{newest}");
    assert_eq!(newest["correlation"], correlation.as_str(), "{newest}");
    assert_eq!(newest["remote_id"], remote_id.as_str(), "{newest}");

    env.fake.reset_counts();
    let out = env.run(["sync", "--detailed-exitcode"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);
}

// ---------------------------------------------------------------------------------------------
// 6. systems check
// ---------------------------------------------------------------------------------------------

#[test]
fn systems_check_passes_against_the_fake() {
    let env = Env::new(1);
    let out = env.run(["systems", "check"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("ca (ciso-assistant): ok"),
        "{}",
        out.describe()
    );
    for check in [
        "reachable",
        "token",
        "folder",
        "perimeter",
        "risk assessment",
        "risk matrix",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with("ok") && l.contains(&format!(" {check}:"))),
            "no ok line for {check}:\n{}",
            out.describe()
        );
    }
    assert!(!out.stdout.contains("FAIL"), "{}", out.describe());
    assert_eq!(env.fake.request_counts().writes(), 0);

    let out = env.run(["--format", "json", "systems", "check"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let verdicts = array(out.json().unwrap());
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(verdicts[0]["system"], TARGET);
    assert_eq!(verdicts[0]["ok"], true);
}

#[test]
fn systems_check_with_a_wrong_or_missing_token_fails_naming_token_env() {
    let env = Env::new(1);
    let out = env.run_with_token(Some("not-the-token-77aa"), ["systems", "check"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout.contains("ca (ciso-assistant): FAILED"),
        "{}",
        out.describe()
    );
    let fail: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .collect();
    assert!(
        fail.iter()
            .any(|l| l.contains("token_env") && l.contains("401")),
        "{}",
        out.describe()
    );
    assert!(!out.stdout.contains("not-the-token-77aa"));
    assert!(!out.stderr.contains("not-the-token-77aa"));

    let out = env.run_with_token(None, ["systems", "check"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("FAIL")
                && l.contains("CA_TOKEN")
                && l.contains("token_env")
                && l.contains("not set")),
        "{}",
        out.describe()
    );
    assert_eq!(env.fake.request_counts().writes(), 0);
}
