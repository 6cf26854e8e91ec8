//! The server on a fake clock with fake actions: missed fires, retries, the lock between two
//! servers, takeover of a crashed server's lock, shutdown in the middle of a run, and reload.
//! Tokio's paused time makes hours of schedule pass in milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use imsbridge_schedule::{
    ActionError, Actions, BoxFuture, CancelToken, Clock, ConfigError, FakeClock, KnownSystems,
    LockOwner, RunCounts, RunOutcome, RunRecord, RunRequest, Schedule, Schedules, Server,
    ServerOptions, ServerState, StoreHandle,
};
use imsbridge_store::{Claim, NewRun, Store};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, h, m, s).unwrap()
}

fn schedules(values: Vec<Value>) -> Vec<Schedule> {
    Schedules::from_values(values, &KnownSystems::default(), Path::new("."))
        .unwrap()
        .into_vec()
}

fn owner(pid: u32) -> LockOwner {
    LockOwner {
        host: "test-host".into(),
        pid,
        started_at: at(1, 0, 0, 0),
    }
}

fn options() -> ServerOptions {
    ServerOptions {
        detect_dead_holders: false,
        ..ServerOptions::default()
    }
}

/// An action that takes `duration`, fails its first `fail_first` calls, and reports each
/// start on a channel.
#[derive(Debug)]
struct Scripted {
    duration: Duration,
    fail_first: u32,
    /// Stop at the "checkpoint" (the end of the sleep) early when cancelled.
    stop_on_cancel: bool,
    calls: AtomicU32,
    started: mpsc::UnboundedSender<RunRequest>,
}

impl Scripted {
    fn new(duration: Duration) -> (Arc<Scripted>, mpsc::UnboundedReceiver<RunRequest>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Scripted {
                duration,
                fail_first: 0,
                stop_on_cancel: false,
                calls: AtomicU32::new(0),
                started: tx,
            }),
            rx,
        )
    }

    fn failing(self: Arc<Self>, n: u32) -> Arc<Scripted> {
        let mut me = Arc::try_unwrap(self).unwrap();
        me.fail_first = n;
        Arc::new(me)
    }

    fn stopping_on_cancel(self: Arc<Self>) -> Arc<Scripted> {
        let mut me = Arc::try_unwrap(self).unwrap();
        me.stop_on_cancel = true;
        Arc::new(me)
    }
}

impl Actions for Scripted {
    fn run(
        &self,
        request: RunRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'_, Result<RunCounts, ActionError>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let _ = self.started.send(request);
            let counts = RunCounts {
                pulled: 5,
                written: 2,
                ..RunCounts::default()
            };
            if self.stop_on_cancel {
                tokio::select! {
                    () = tokio::time::sleep(self.duration) => {}
                    () = cancel.cancelled() => {
                        return Err(ActionError::cancelled("stopped between systems").with_counts(counts));
                    }
                }
            } else {
                tokio::time::sleep(self.duration).await;
            }
            if n < self.fail_first {
                Err(ActionError::failed(format!("remote unavailable ({n})")))
            } else {
                Ok(counts)
            }
        })
    }
}

struct Running {
    control: imsbridge_schedule::Control,
    status: Arc<imsbridge_schedule::StatusBoard>,
    task: tokio::task::JoinHandle<Result<(), imsbridge_schedule::ScheduleError>>,
}

fn start(
    store: &StoreHandle,
    actions: Arc<dyn Actions>,
    clock: &FakeClock,
    schedules: Vec<Schedule>,
    owner: LockOwner,
    options: ServerOptions,
) -> Running {
    let server = Server::new(
        store.clone(),
        actions,
        Arc::new(clock.clone()),
        schedules,
        owner,
        options,
    );
    Running {
        control: server.control(),
        status: server.status(),
        task: tokio::spawn(server.run()),
    }
}

impl Running {
    async fn stop(self) {
        self.control.shutdown();
        self.task.await.unwrap().unwrap();
    }
}

async fn history(store: &StoreHandle) -> Vec<RunRecord> {
    let mut runs = store.call(|s| s.schedule_runs(None, 1000)).await.unwrap();
    runs.reverse();
    runs
}

fn memory() -> StoreHandle {
    StoreHandle::new(Store::open_in_memory().unwrap())
}

/// The server was down from 1 May 02:00 (its last handled fire) until 4 May 09:00.
async fn after_three_missed_days(missed: &str) -> (StoreHandle, FakeClock, Vec<RunRecord>) {
    let store = memory();
    store
        .call(|s| s.init_schedule("daily", at(1, 2, 0, 0)))
        .await
        .unwrap();
    let clock = FakeClock::new(at(4, 9, 0, 0));
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let daily = schedules(vec![
        json!({"name": "daily", "cron": "0 2 * * *", "action": "pull", "missed": missed}),
    ]);
    let server = start(&store, actions, &clock, daily, owner(1), options());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    server.stop().await;
    let runs = history(&store).await;
    (store, clock, runs)
}

#[tokio::test(start_paused = true)]
async fn run_once_makes_up_for_three_missed_fires_with_one_run() {
    let (store, _, runs) = after_three_missed_days("run-once").await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].fire_at, at(4, 2, 0, 0));
    assert_eq!(runs[0].outcome, Some(RunOutcome::Succeeded));
    assert_eq!(runs[0].started_at, at(4, 9, 0, 0));
    assert_eq!(
        store.call(|s| s.schedule_last_fire("daily")).await.unwrap(),
        Some(at(4, 2, 0, 0))
    );
}

#[tokio::test(start_paused = true)]
async fn skip_drops_missed_fires_and_runs_the_next_one() {
    let (store, clock, runs) = after_three_missed_days("skip").await;
    assert!(runs.is_empty(), "{runs:#?}");
    assert_eq!(
        store.call(|s| s.schedule_last_fire("daily")).await.unwrap(),
        Some(at(4, 2, 0, 0))
    );
    // Back up again (same store, same clock), the next fire on 5 May runs on time.
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let daily = schedules(vec![
        json!({"name": "daily", "cron": "0 2 * * *", "action": "pull", "missed": "skip"}),
    ]);
    let server = start(&store, actions, &clock, daily, owner(2), options());
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    server.stop().await;
    let runs = history(&store).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].fire_at, at(5, 2, 0, 0));
    assert_eq!(runs[0].started_at, at(5, 2, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn failures_are_retried_with_doubling_backoff_up_to_the_limit() {
    let store = memory();
    let clock = FakeClock::new(at(1, 1, 59, 0));
    let (actions, _started) = Scripted::new(Duration::from_secs(2));
    let actions = actions.failing(u32::MAX);
    let daily = schedules(vec![json!({
        "name": "daily", "cron": "0 2 * * *", "action": "sync",
        "retries": 2, "retry_backoff_secs": 10
    })]);
    let server = start(&store, actions, &clock, daily, owner(1), options());
    tokio::time::sleep(Duration::from_secs(600)).await;
    server.stop().await;

    let runs = history(&store).await;
    let summary: Vec<(u32, Option<RunOutcome>, DateTime<Utc>)> = runs
        .iter()
        .map(|r| (r.attempt, r.outcome, r.started_at))
        .collect();
    // 02:00:00 fails after 2 s; +10 s backoff; 02:00:12 fails at :14; +20 s; 02:00:34 fails.
    assert_eq!(
        summary,
        vec![
            (1, Some(RunOutcome::Retried), at(1, 2, 0, 0)),
            (2, Some(RunOutcome::Retried), at(1, 2, 0, 12)),
            (3, Some(RunOutcome::Failed), at(1, 2, 0, 34)),
        ]
    );
    assert!(runs.iter().all(|r| r.fire_at == at(1, 2, 0, 0)));
    assert_eq!(runs[2].error.as_deref(), Some("remote unavailable (2)"));
    assert_eq!(runs[2].finished_at, Some(at(1, 2, 0, 36)));
    // The lock went with the run.
    assert_eq!(
        store.call(|s| s.schedule_lock("daily")).await.unwrap(),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_succeeds_ends_the_fire() {
    let store = memory();
    let clock = FakeClock::new(at(1, 1, 59, 0));
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let actions = actions.failing(1);
    let daily = schedules(vec![json!({
        "name": "daily", "cron": "0 2 * * *", "action": "pull", "retry_backoff_secs": 5
    })]);
    let server = start(&store, actions, &clock, daily, owner(1), options());
    tokio::time::sleep(Duration::from_secs(600)).await;
    server.stop().await;
    let outcomes: Vec<_> = history(&store)
        .await
        .iter()
        .map(|r| (r.attempt, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, Some(RunOutcome::Retried)),
            (2, Some(RunOutcome::Succeeded))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn two_servers_on_one_store_run_each_fire_once_and_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let clock = FakeClock::new(at(1, 2, 0, 0));
    // Every 10 s, and each run takes 15 s: fires keep coming while a run holds the lock.
    let every_10s = || {
        schedules(vec![
            json!({"name": "fast", "cron": "*/10 * * * * *", "action": "pull"}),
        ])
    };
    let store_a = StoreHandle::new(Store::open(&path).unwrap());
    let store_b = StoreHandle::new(Store::open(&path).unwrap());
    let (actions_a, _sa) = Scripted::new(Duration::from_secs(15));
    let (actions_b, _sb) = Scripted::new(Duration::from_secs(15));
    let a = start(
        &store_a,
        actions_a,
        &clock,
        every_10s(),
        owner(1),
        options(),
    );
    let b = start(
        &store_b,
        actions_b,
        &clock,
        every_10s(),
        owner(2),
        options(),
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    a.stop().await;
    b.stop().await;

    let runs = history(&store_a).await;
    let ran: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.outcome != Some(RunOutcome::SkippedLocked))
        .collect();
    assert!(ran.len() >= 5, "{runs:#?}");
    // No fire ran twice.
    let mut fires: Vec<DateTime<Utc>> = ran.iter().map(|r| r.fire_at).collect();
    fires.dedup();
    assert_eq!(fires.len(), ran.len(), "{runs:#?}");
    // Runs never overlapped, whichever server ran them.
    for pair in ran.windows(2) {
        assert!(
            pair[0].finished_at.unwrap() <= pair[1].started_at,
            "overlap: {pair:#?}"
        );
    }
    assert!(ran.iter().all(|r| r.outcome == Some(RunOutcome::Succeeded)));
    // The server that found the schedule running elsewhere said so in the history.
    let skipped: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.outcome == Some(RunOutcome::SkippedLocked))
        .collect();
    assert!(!skipped.is_empty(), "{runs:#?}");
    for s in skipped {
        let holder = ran
            .iter()
            .find(|r| r.started_at <= s.started_at && r.finished_at.unwrap() >= s.started_at)
            .expect("a skipped fire happens while a run holds the lock");
        assert_ne!(holder.pid, s.pid);
        assert!(
            s.error
                .as_deref()
                .unwrap()
                .contains(&format!("pid {}", holder.pid))
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_crashed_servers_lock_is_taken_over_once_it_expires() {
    let store = memory();
    let crashed = owner(7);
    // Pid 7 claimed the 02:00 fire and started its run, then died without a word.
    let orphan = store
        .call({
            let crashed = crashed.clone();
            move |s| {
                assert!(matches!(
                    s.claim_fire(
                        "minutely",
                        at(1, 2, 0, 0),
                        &crashed,
                        at(1, 2, 0, 0),
                        Duration::from_secs(120)
                    )?,
                    Claim::Claimed { .. }
                ));
                s.start_run(&NewRun {
                    schedule: "minutely",
                    action: "pull",
                    fire_at: at(1, 2, 0, 0),
                    attempt: 1,
                    started_at: at(1, 2, 0, 0),
                    owner: &crashed,
                })
            }
        })
        .await
        .unwrap();
    let clock = FakeClock::new(at(1, 2, 0, 30));
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let minutely = schedules(vec![
        json!({"name": "minutely", "cron": "* * * * *", "action": "pull", "missed": "skip"}),
    ]);
    let server = start(&store, actions, &clock, minutely, owner(8), options());
    // The lock expires at 02:02:00; fires at 02:01 is refused, 02:02 takes over.
    tokio::time::sleep(Duration::from_secs(100)).await;
    server.stop().await;

    let runs = history(&store).await;
    let summary: Vec<(i64, u32, Option<RunOutcome>, DateTime<Utc>)> = runs
        .iter()
        .map(|r| (r.id, r.pid, r.outcome, r.fire_at))
        .collect();
    assert_eq!(
        summary,
        vec![
            (orphan, 7, Some(RunOutcome::Failed), at(1, 2, 0, 0)),
            (
                orphan + 1,
                8,
                Some(RunOutcome::SkippedLocked),
                at(1, 2, 1, 0)
            ),
            (orphan + 2, 8, Some(RunOutcome::Succeeded), at(1, 2, 2, 0)),
        ]
    );
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("pid 7 on test-host")
    );
    assert_eq!(runs[0].finished_at, Some(at(1, 2, 2, 0)));
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_the_running_run_finish_and_starts_no_other() {
    let store = memory();
    let clock = FakeClock::new(at(1, 1, 59, 58));
    // A run of 45 s on a schedule firing every 10 s.
    let (actions, mut started) = Scripted::new(Duration::from_secs(45));
    let fast = schedules(vec![
        json!({"name": "fast", "cron": "*/10 * * * * *", "action": "sync"}),
    ]);
    let server = start(&store, actions.clone(), &clock, fast, owner(1), options());
    started.recv().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        server.status.snapshot().schedules[0]
            .running_since
            .is_some()
    );
    server.control.shutdown();
    // Stopping, not stopped: the run is still going.
    tokio::task::yield_now().await;
    assert_eq!(server.status.snapshot().state, ServerState::Stopping);
    let status = Arc::clone(&server.status);
    server.task.await.unwrap().unwrap();
    assert_eq!(status.snapshot().state, ServerState::Stopped);

    let runs = history(&store).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].outcome, Some(RunOutcome::Succeeded));
    assert_eq!(runs[0].started_at, at(1, 2, 0, 0));
    assert_eq!(runs[0].finished_at, Some(at(1, 2, 0, 45)));
    assert_eq!(runs[0].counts.written, 2);
    assert_eq!(actions.calls.load(Ordering::SeqCst), 1);
    assert_eq!(clock.now(), at(1, 2, 0, 45));
}

#[tokio::test(start_paused = true)]
async fn an_action_that_stops_at_a_checkpoint_is_recorded_as_cancelled() {
    let store = memory();
    let clock = FakeClock::new(at(1, 1, 59, 59));
    let (actions, mut started) = Scripted::new(Duration::from_secs(300));
    let actions = actions.stopping_on_cancel();
    let daily = schedules(vec![
        json!({"name": "daily", "cron": "0 2 * * *", "action": "pull"}),
    ]);
    let server = start(&store, actions, &clock, daily, owner(1), options());
    started.recv().await.unwrap();
    server.stop().await;
    let runs = history(&store).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Some(RunOutcome::Cancelled));
    assert_eq!(runs[0].error.as_deref(), Some("stopped between systems"));
    assert_eq!(runs[0].counts.pulled, 5);
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_retry_backoff_records_the_retry_as_cancelled() {
    let store = memory();
    let clock = FakeClock::new(at(1, 1, 59, 59));
    let (actions, mut started) = Scripted::new(Duration::from_secs(1));
    let actions = actions.failing(u32::MAX);
    let daily = schedules(vec![json!({
        "name": "daily", "cron": "0 2 * * *", "action": "pull", "retry_backoff_secs": 3600
    })]);
    let server = start(&store, actions, &clock, daily, owner(1), options());
    started.recv().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    server.stop().await;
    let outcomes: Vec<_> = history(&store)
        .await
        .iter()
        .map(|r| (r.attempt, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, Some(RunOutcome::Retried)),
            (2, Some(RunOutcome::Cancelled))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_reload_keeps_the_running_schedules_and_a_good_one_replaces_them() {
    let store = memory();
    let clock = FakeClock::new(at(1, 2, 0, 30));
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let first = schedules(vec![
        json!({"name": "minutely", "cron": "* * * * *", "action": "pull"}),
    ]);
    // The first reload reads a broken file; the second a file with another schedule.
    let reloads = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&reloads);
    let server = Server::new(
        store.clone(),
        actions,
        Arc::new(clock.clone()),
        first,
        owner(1),
        options(),
    )
    .with_reload(move || -> Result<Vec<Schedule>, ConfigError> {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(ConfigError::new(
                "schedule[0] (minutely).cron",
                "`* * *` has 3 fields",
            ))
        } else {
            Ok(schedules(vec![
                json!({"name": "hourly", "cron": "0 * * * *", "action": "pull"}),
            ]))
        }
    });
    let (control, status) = (server.control(), server.status());
    let task = tokio::spawn(server.run());

    tokio::time::sleep(Duration::from_secs(60)).await; // the 02:01 run
    control.reload();
    tokio::time::sleep(Duration::from_secs(60)).await; // the 02:02 run, old schedule kept
    let snapshot = status.snapshot();
    let reload = snapshot.last_reload.unwrap();
    assert!(!reload.ok);
    assert!(
        reload
            .error
            .unwrap()
            .contains("schedule[0] (minutely).cron")
    );
    assert_eq!(snapshot.schedules[0].name, "minutely");

    control.reload();
    tokio::time::sleep(Duration::from_secs(3600)).await; // the 03:00 run of "hourly"
    control.shutdown();
    task.await.unwrap().unwrap();
    assert!(status.snapshot().last_reload.unwrap().ok);
    let runs: Vec<(String, DateTime<Utc>)> = history(&store)
        .await
        .into_iter()
        .map(|r| (r.schedule, r.fire_at))
        .collect();
    assert_eq!(
        runs,
        vec![
            ("minutely".to_string(), at(1, 2, 1, 0)),
            ("minutely".to_string(), at(1, 2, 2, 0)),
            ("hourly".to_string(), at(1, 3, 0, 0)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_schedule_does_not_run_for_fires_before_it_existed() {
    let store = memory();
    let clock = FakeClock::new(at(1, 2, 30, 0));
    let (actions, _started) = Scripted::new(Duration::from_secs(1));
    let hourly = schedules(vec![
        json!({"name": "hourly", "cron": "0 * * * *", "action": "pull"}),
    ]);
    let server = start(&store, actions, &clock, hourly, owner(1), options());
    tokio::time::sleep(Duration::from_secs(60)).await;
    server.stop().await;
    assert!(history(&store).await.is_empty());
    let status = store
        .call(|s| s.schedule_last_fire("hourly"))
        .await
        .unwrap();
    assert_eq!(status, Some(at(1, 2, 30, 0)));
}
