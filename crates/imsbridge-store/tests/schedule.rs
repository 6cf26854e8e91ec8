//! Scheduled runs in the store: fire claims between two servers, locks with expiry and
//! takeover, run history and totals.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use imsbridge_store::{Claim, LockOwner, NewRun, RunCounts, RunOutcome, Store};

const TTL: Duration = Duration::from_secs(60);

fn t(minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 2, minute, second).unwrap()
}

fn owner(pid: u32) -> LockOwner {
    LockOwner {
        host: "ims-01".into(),
        pid,
        started_at: t(0, 0),
    }
}

fn new_run<'a>(owner: &'a LockOwner, fire: DateTime<Utc>, attempt: u32) -> NewRun<'a> {
    NewRun {
        schedule: "nightly",
        action: "pull",
        fire_at: fire,
        attempt,
        started_at: fire,
        owner,
    }
}

#[test]
fn a_fire_is_claimed_once_and_a_live_lock_refuses_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let (a, b) = (owner(100), owner(200));
    let mut sa = Store::open(&path).unwrap();
    let mut sb = Store::open(&path).unwrap();

    let fire = t(1, 0);
    assert_eq!(
        sa.claim_fire("nightly", fire, &a, fire, TTL).unwrap(),
        Claim::Claimed { taken_over: None }
    );
    // The same fire from the second server: handled already, nothing to record.
    assert_eq!(
        sb.claim_fire("nightly", fire, &b, fire, TTL).unwrap(),
        Claim::AlreadyHandled { last_fire: fire }
    );
    // The next fire while a still holds the lock: refused, with the holder named.
    let Claim::Locked(holder) = sb
        .claim_fire("nightly", t(1, 30), &b, t(1, 30), TTL)
        .unwrap()
    else {
        panic!("expected the lock to be held");
    };
    assert_eq!(holder.owner, a);
    assert_eq!(holder.expires_at, t(2, 0));
    // Refusal does not mark the fire handled: a can still run it as a missed fire.
    assert_eq!(sb.schedule_last_fire("nightly").unwrap(), Some(fire));

    // Heartbeats keep it; release frees it; b claims the next fire.
    assert!(sa.renew_lock("nightly", &a, t(1, 50), TTL).unwrap());
    assert_eq!(
        sb.schedule_lock("nightly").unwrap().unwrap().expires_at,
        t(2, 50)
    );
    assert!(!sb.renew_lock("nightly", &b, t(1, 50), TTL).unwrap());
    assert!(sa.release_lock("nightly", &a).unwrap());
    assert!(matches!(
        sb.claim_fire("nightly", t(2, 0), &b, t(2, 0), TTL).unwrap(),
        Claim::Claimed { taken_over: None }
    ));
}

#[test]
fn an_expired_lock_is_taken_over_and_its_run_closed_as_failed() {
    let mut store = Store::open_in_memory().unwrap();
    let (a, b) = (owner(100), owner(200));
    store
        .claim_fire("nightly", t(1, 0), &a, t(1, 0), TTL)
        .unwrap();
    let crashed = store.start_run(&new_run(&a, t(1, 0), 1)).unwrap();
    assert_eq!(
        store.schedule_lock("nightly").unwrap().unwrap().run_id,
        Some(crashed)
    );

    // Before expiry: refused. After: taken over.
    assert!(matches!(
        store
            .claim_fire("nightly", t(1, 30), &b, t(1, 59), TTL)
            .unwrap(),
        Claim::Locked(_)
    ));
    let Claim::Claimed {
        taken_over: Some(old),
    } = store
        .claim_fire("nightly", t(2, 30), &b, t(2, 30), TTL)
        .unwrap()
    else {
        panic!("expected a takeover");
    };
    assert_eq!(old.owner, a);
    let runs = store.schedule_runs(Some("nightly"), 10).unwrap();
    assert_eq!(runs[0].id, crashed);
    assert_eq!(runs[0].outcome, Some(RunOutcome::Failed));
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("pid 100 on ims-01"),
        "{:?}",
        runs[0].error
    );
    // The crashed server, if it was only stalled, cannot overwrite that outcome or renew.
    assert!(
        !store
            .finish_run(
                crashed,
                t(3, 0),
                RunOutcome::Succeeded,
                RunCounts::default(),
                None
            )
            .unwrap()
    );
    assert!(!store.renew_lock("nightly", &a, t(3, 0), TTL).unwrap());
    let totals = store.run_totals().unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].outcome, totals[0].runs), (RunOutcome::Failed, 1));
}

#[test]
fn a_lock_of_a_vanished_process_can_be_broken_at_once() {
    let mut store = Store::open_in_memory().unwrap();
    let (a, b) = (owner(100), owner(200));
    store
        .claim_fire("nightly", t(1, 0), &a, t(1, 0), TTL)
        .unwrap();
    let run = store.start_run(&new_run(&a, t(1, 0), 1)).unwrap();
    let lock = store.schedule_lock("nightly").unwrap().unwrap();
    assert!(store.break_lock(&lock, t(1, 5), "pid 100 is gone").unwrap());
    // A second break of the same lock is a no-op.
    assert!(!store.break_lock(&lock, t(1, 6), "pid 100 is gone").unwrap());
    assert_eq!(
        store.schedule_runs(None, 1).unwrap()[0].error.as_deref(),
        Some("pid 100 is gone")
    );
    assert_eq!(store.schedule_runs(None, 1).unwrap()[0].id, run);
    assert!(matches!(
        store
            .claim_fire("nightly", t(1, 30), &b, t(1, 30), TTL)
            .unwrap(),
        Claim::Claimed { taken_over: None }
    ));
}

#[test]
fn history_lists_newest_first_and_totals_survive_pruning() {
    let mut store = Store::open_in_memory().unwrap();
    let a = owner(100);
    let counts = RunCounts {
        pulled: 10,
        written: 4,
        conflicts: 1,
        failed: 2,
    };
    // nightly: a failed try, its retry that succeeded, then a clean success.
    let first = store.start_run(&new_run(&a, t(1, 0), 1)).unwrap();
    store
        .finish_run(
            first,
            t(1, 1),
            RunOutcome::Retried,
            RunCounts::default(),
            Some("timeout"),
        )
        .unwrap();
    let second = store.start_run(&new_run(&a, t(1, 0), 2)).unwrap();
    store
        .finish_run(second, t(1, 5), RunOutcome::Succeeded, counts, None)
        .unwrap();
    let third = store.start_run(&new_run(&a, t(2, 0), 1)).unwrap();
    store
        .finish_run(third, t(2, 5), RunOutcome::Succeeded, counts, None)
        .unwrap();
    // another schedule, still running.
    let other = store
        .start_run(&NewRun {
            schedule: "weekly",
            ..new_run(&a, t(3, 0), 1)
        })
        .unwrap();

    let all = store.schedule_runs(None, 10).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other, third, second, first]
    );
    assert_eq!(all[0].outcome, None);
    assert_eq!(all[0].finished_at, None);
    let nightly = store.schedule_runs(Some("nightly"), 2).unwrap();
    assert_eq!(
        nightly.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![third, second]
    );
    assert_eq!(nightly[1].attempt, 2);
    assert_eq!(nightly[1].counts, counts);
    assert_eq!(
        store
            .last_schedule_run("nightly", &[RunOutcome::Retried])
            .unwrap()
            .unwrap()
            .error
            .as_deref(),
        Some("timeout")
    );

    let json = serde_json::to_value(&nightly[1]).unwrap();
    assert_eq!(json["outcome"], "succeeded");
    assert_eq!(json["written"], 4);
    assert_eq!(json["fire_at"], "2026-03-01T02:01:00Z");

    assert_eq!(store.prune_schedule_runs("nightly", 1).unwrap(), 2);
    assert_eq!(store.schedule_runs(Some("nightly"), 10).unwrap().len(), 1);
    let totals = store.run_totals().unwrap();
    let succeeded = totals
        .iter()
        .find(|x| x.schedule == "nightly" && x.outcome == RunOutcome::Succeeded)
        .unwrap();
    assert_eq!(succeeded.runs, 2);
    assert_eq!(succeeded.counts.written, 8);
    assert_eq!(succeeded.last_at, t(2, 5));
    assert!(totals.iter().all(|x| x.schedule == "nightly"));
}

#[test]
fn skipping_moves_the_last_fire_forward_only() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.init_schedule("nightly", t(0, 0)).unwrap(), t(0, 0));
    // Initialising again keeps what is there.
    assert_eq!(store.init_schedule("nightly", t(5, 0)).unwrap(), t(0, 0));
    assert!(store.skip_fires("nightly", t(3, 0), t(3, 1)).unwrap());
    assert!(!store.skip_fires("nightly", t(2, 0), t(3, 2)).unwrap());
    assert_eq!(store.schedule_last_fire("nightly").unwrap(), Some(t(3, 0)));
}

#[test]
fn a_skipped_locked_fire_is_recorded_with_its_holder() {
    let mut store = Store::open_in_memory().unwrap();
    let (a, b) = (owner(100), owner(200));
    store
        .claim_fire("nightly", t(1, 0), &a, t(1, 0), TTL)
        .unwrap();
    let Claim::Locked(holder) = store
        .claim_fire("nightly", t(1, 30), &b, t(1, 30), TTL)
        .unwrap()
    else {
        panic!("expected the lock to be held");
    };
    store
        .record_skipped_locked(&new_run(&b, t(1, 30), 1), &holder)
        .unwrap();
    let run = &store.schedule_runs(None, 1).unwrap()[0];
    assert_eq!(run.outcome, Some(RunOutcome::SkippedLocked));
    assert_eq!(run.pid, 200);
    assert!(run.error.as_deref().unwrap().contains("pid 100"));
}

#[test]
fn a_named_lock_is_held_by_one_owner_until_released_or_expired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let (a, b) = (owner(100), owner(200));
    let mut sa = Store::open(&path).unwrap();
    let mut sb = Store::open(&path).unwrap();
    let name = "sync-target:ca";

    assert_eq!(sa.try_lock(name, &a, t(1, 0), TTL).unwrap(), None);
    // Taking it again renews it for the same owner.
    assert_eq!(sa.try_lock(name, &a, t(1, 10), TTL).unwrap(), None);
    let held = sb.try_lock(name, &b, t(1, 20), TTL).unwrap().unwrap();
    assert_eq!((held.owner, held.expires_at), (a.clone(), t(2, 10)));
    // Another name is free, and the schedules' claims do not see the target lock.
    assert_eq!(
        sb.try_lock("sync-target:sn", &b, t(1, 20), TTL).unwrap(),
        None
    );
    assert_eq!(
        sb.claim_fire("nightly", t(1, 20), &b, t(1, 20), TTL)
            .unwrap(),
        Claim::Claimed { taken_over: None }
    );

    // Released: the other owner gets it.
    assert!(sa.release_lock(name, &a).unwrap());
    assert_eq!(sb.try_lock(name, &b, t(1, 30), TTL).unwrap(), None);
    // Expired without renewal: taken over.
    assert!(sa.try_lock(name, &a, t(2, 0), TTL).unwrap().is_some());
    assert_eq!(sa.try_lock(name, &a, t(2, 31), TTL).unwrap(), None);
    assert!(!sb.release_lock(name, &b).unwrap(), "b no longer holds it");
}
