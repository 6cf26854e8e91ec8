//! The scheduler: one task that keeps every schedule's time, and one task per run.
//!
//! - Each fire is claimed in the store before it runs ([`Store::claim_fire`]): a second
//!   server on the same store gets "already handled" for a fire the first one took, and a
//!   fire that comes while the schedule still runs elsewhere is recorded as `skipped-locked`.
//! - A run holds the schedule's lock and renews it while it runs; a lock that stops being
//!   renewed (a crashed or hung server) expires and the next claimant takes it over.
//! - Shutdown stops starting runs, tells running ones to stop at their next checkpoint, and
//!   returns once they have finished and been recorded.
//!
//! [`Store::claim_fire`]: imsbridge_store::Store::claim_fire

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use imsbridge_store::{Claim, LockOwner, NewRun, RunCounts, RunOutcome};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::actions::{Actions, CancelToken, RunRequest};
use crate::clock::{self, Clock};
use crate::config::Schedule;
use crate::error::{ActionError, ActionErrorKind, ConfigError, ScheduleError};
use crate::handle::StoreHandle;
use crate::policy::{Decision, decide};

/// How the server behaves; the defaults suit production.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How long a run's lock lasts without renewal. Long enough to ride out a store that is
    /// busy with a large import (renewals wait for it), short enough that a crashed server's
    /// schedules resume soon.
    pub lock_ttl: Duration,
    /// How often a running run renews its lock.
    pub heartbeat: Duration,
    /// Finished attempts kept per schedule in the history (totals are kept regardless).
    pub keep_runs: usize,
    /// How late a wake-up may be and still count as on time rather than missed.
    pub on_time_grace: Duration,
    /// Take over at once a lock held by a process of this host that no longer exists,
    /// instead of waiting for it to expire (so a server restarted after a crash resumes at
    /// once). Tests that fake several servers in one process turn it off.
    pub detect_dead_holders: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            lock_ttl: Duration::from_secs(120),
            heartbeat: Duration::from_secs(20),
            keep_runs: 1000,
            on_time_grace: Duration::from_secs(60),
            detect_dead_holders: true,
        }
    }
}

/// Reads the schedules again for a reload (SIGHUP). An error keeps the running ones.
pub trait Reload: Send + Sync + 'static {
    fn reload(&self) -> Result<Vec<Schedule>, ConfigError>;
}

impl<F> Reload for F
where
    F: Fn() -> Result<Vec<Schedule>, ConfigError> + Send + Sync + 'static,
{
    fn reload(&self) -> Result<Vec<Schedule>, ConfigError> {
        self()
    }
}

/// Asks a running server to stop or to reload; cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    shutdown: Arc<watch::Sender<bool>>,
    reload: mpsc::UnboundedSender<()>,
}

impl Control {
    /// Stop starting runs; let the running ones reach a checkpoint; then `run` returns.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Read the configuration again through the server's [`Reload`].
    pub fn reload(&self) {
        // Fails only when the server has finished, when there is nothing left to reload.
        let _ = self.reload.send(());
    }
}

/// What the server is doing, for the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSnapshot {
    pub state: ServerState,
    pub started_at: Option<DateTime<Utc>>,
    pub host: String,
    pub pid: u32,
    pub schedules: Vec<ScheduleStatus>,
    pub last_reload: Option<ReloadStatus>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    #[default]
    Starting,
    Running,
    /// Shutting down: no new runs; running ones are finishing.
    Stopping,
    Stopped,
}

/// One schedule, live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    pub name: String,
    pub action: String,
    pub cron: String,
    pub timezone: String,
    pub enabled: bool,
    pub next_fire: Option<DateTime<Utc>>,
    /// When the running attempt started, if one is running here.
    pub running_since: Option<DateTime<Utc>>,
}

/// The outcome of the last reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadStatus {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub error: Option<String>,
}

/// The live status, shared by the scheduler and the endpoint.
#[derive(Debug, Default)]
pub struct StatusBoard {
    inner: Mutex<StatusSnapshot>,
}

impl StatusBoard {
    pub fn snapshot(&self) -> StatusSnapshot {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StatusSnapshot> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut StatusSnapshot)) {
        f(&mut self.lock());
    }

    fn set_running(&self, name: &str, since: Option<DateTime<Utc>>) {
        self.update(|s| {
            if let Some(entry) = s.schedules.iter_mut().find(|e| e.name == name) {
                entry.running_since = since;
            }
        });
    }
}

/// The identity of this process in locks and run history.
pub fn this_process(started_at: DateTime<Utc>) -> LockOwner {
    LockOwner {
        host: host_name(),
        pid: std::process::id(),
        started_at,
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether `holder` is a process of this host that is gone. Only Linux's /proc can tell;
/// elsewhere the lock is left to expire.
fn holder_is_gone(me: &LockOwner, holder: &LockOwner) -> bool {
    if holder.host != me.host {
        return false;
    }
    if holder.pid == me.pid {
        // An earlier life of this pid: a restarted container's server is pid 1 every time.
        return holder.token() != me.token();
    }
    other_process_is_gone(me, holder)
}

/// Whether `holder` is another process of this host (another pid) that no longer exists.
/// Only Linux's /proc can tell; elsewhere the answer is no, and a lock is left to expire.
pub fn other_process_is_gone(me: &LockOwner, holder: &LockOwner) -> bool {
    holder.host == me.host
        && holder.pid != me.pid
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{}", holder.pid)).exists()
}

/// What a run task needs.
#[derive(Debug)]
struct RunCtx {
    store: StoreHandle,
    clock: Arc<dyn Clock>,
    actions: Arc<dyn Actions>,
    owner: LockOwner,
    options: ServerOptions,
    status: Arc<StatusBoard>,
}

/// One schedule in the scheduler's hands.
#[derive(Debug)]
struct Slot {
    schedule: Arc<Schedule>,
    /// The fire the scheduler is sleeping until; `None` after start, a run or a reload.
    awaiting: Option<DateTime<Utc>>,
    next_fire: Option<DateTime<Utc>>,
    running: bool,
    /// Removed by a reload while running: dropped once the run ends.
    retired: bool,
    /// A fire found locked by another server: not handled in the store (that server may
    /// run it as missed), but this server must not try it again.
    seen: Option<DateTime<Utc>>,
    /// After a store error, leave the schedule alone until then.
    retry_after: Option<DateTime<Utc>>,
}

impl Slot {
    fn new(schedule: Schedule) -> Slot {
        Slot {
            schedule: Arc::new(schedule),
            awaiting: None,
            next_fire: None,
            running: false,
            retired: false,
            seen: None,
            retry_after: None,
        }
    }
}

/// Retry a store that could not be read (locked by a long import) after this long.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// The scheduler. Build it, take its [`Control`] and [`StatusBoard`], then `run` it.
pub struct Server {
    ctx: Arc<RunCtx>,
    schedules: Vec<Schedule>,
    reloader: Option<Box<dyn Reload>>,
    shutdown: Arc<watch::Sender<bool>>,
    reload_tx: mpsc::UnboundedSender<()>,
    reload_rx: mpsc::UnboundedReceiver<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("ctx", &self.ctx)
            .field("schedules", &self.schedules.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    pub fn new(
        store: StoreHandle,
        actions: Arc<dyn Actions>,
        clock: Arc<dyn Clock>,
        schedules: Vec<Schedule>,
        owner: LockOwner,
        options: ServerOptions,
    ) -> Server {
        let (shutdown, _) = watch::channel(false);
        let (reload_tx, reload_rx) = mpsc::unbounded_channel();
        let status = Arc::new(StatusBoard::default());
        status.update(|s| {
            s.host = owner.host.clone();
            s.pid = owner.pid;
        });
        Server {
            ctx: Arc::new(RunCtx {
                store,
                clock,
                actions,
                owner,
                options,
                status,
            }),
            schedules,
            reloader: None,
            shutdown: Arc::new(shutdown),
            reload_tx,
            reload_rx,
        }
    }

    /// How a reload (SIGHUP) reads the schedules again; without one, reloads are refused.
    pub fn with_reload(mut self, reloader: impl Reload) -> Server {
        self.reloader = Some(Box::new(reloader));
        self
    }

    pub fn control(&self) -> Control {
        Control {
            shutdown: Arc::clone(&self.shutdown),
            reload: self.reload_tx.clone(),
        }
    }

    pub fn status(&self) -> Arc<StatusBoard> {
        Arc::clone(&self.ctx.status)
    }

    /// Runs the schedules until [`Control::shutdown`], then waits for the running runs.
    pub async fn run(mut self) -> Result<(), ScheduleError> {
        let ctx = Arc::clone(&self.ctx);
        let mut slots: BTreeMap<String, Slot> = std::mem::take(&mut self.schedules)
            .into_iter()
            .map(|s| (s.name().to_string(), Slot::new(s)))
            .collect();
        let (cancel_tx, cancel) = CancelToken::new();
        let mut shutdown = self.shutdown.subscribe();
        let mut runs: JoinSet<FireEnd> = JoinSet::new();
        let mut run_names: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut stopping = false;
        ctx.status.update(|s| {
            s.started_at = Some(ctx.owner.started_at);
            s.state = ServerState::Running;
        });
        tracing::info!(
            schedules = slots.len(),
            host = %ctx.owner.host,
            pid = ctx.owner.pid,
            "scheduler started"
        );

        loop {
            let mut wake: Option<DateTime<Utc>> = None;
            if !stopping {
                for (name, slot) in slots.iter_mut() {
                    if slot.running || slot.retired || !slot.schedule.config.enabled {
                        continue;
                    }
                    if let Some(retry) = slot.retry_after {
                        if ctx.clock.now() < retry {
                            wake = Some(wake.map_or(retry, |w| w.min(retry)));
                            continue;
                        }
                        slot.retry_after = None;
                    }
                    match plan_slot(&ctx, slot).await {
                        Ok(Planned::Start { fire }) => {
                            slot.running = true;
                            slot.awaiting = None;
                            let handle = runs.spawn(run_fire(
                                Arc::clone(&ctx),
                                Arc::clone(&slot.schedule),
                                fire,
                                cancel.clone(),
                            ));
                            run_names.insert(handle.id(), name.clone());
                        }
                        Ok(Planned::Wait(until)) => {
                            wake = Some(wake.map_or(until, |w| w.min(until)));
                        }
                        Ok(Planned::Never) => {}
                        Err(e) => {
                            tracing::warn!(schedule = %name, error = %e, "cannot read the schedule's state; trying again shortly");
                            let retry = clock::add(ctx.clock.now(), STORE_RETRY);
                            slot.retry_after = Some(retry);
                            wake = Some(wake.map_or(retry, |w| w.min(retry)));
                        }
                    }
                }
            }
            publish(&ctx.status, &slots, stopping);
            if stopping && runs.is_empty() {
                break;
            }

            tokio::select! {
                // Shutdown first: once asked, nothing new starts even if a fire is due too.
                biased;
                _ = shutdown.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    cancel_tx.send_replace(true);
                    let running: Vec<&str> = slots
                        .iter()
                        .filter(|(_, s)| s.running)
                        .map(|(n, _)| n.as_str())
                        .collect();
                    if running.is_empty() {
                        tracing::info!("shutting down");
                    } else {
                        tracing::warn!(
                            running = %running.join(", "),
                            "shutting down once the running runs reach a checkpoint (signal again to exit at once)"
                        );
                    }
                }
                Some(done) = runs.join_next_with_id(), if !runs.is_empty() => {
                    let (id, end) = match done {
                        Ok((id, end)) => (id, end),
                        Err(e) => {
                            tracing::error!(error = %e, "a run task failed");
                            (e.id(), FireEnd::Error)
                        }
                    };
                    if let Some(name) = run_names.remove(&id) {
                        let retired = slots.get(&name).is_some_and(|s| s.retired);
                        if retired {
                            slots.remove(&name);
                        } else if let Some(slot) = slots.get_mut(&name) {
                            slot.running = false;
                            slot.awaiting = None;
                            match end {
                                FireEnd::Done => {}
                                FireEnd::Locked(fire) => slot.seen = Some(fire),
                                FireEnd::Error => {
                                    slot.retry_after =
                                        Some(clock::add(ctx.clock.now(), STORE_RETRY));
                                }
                            }
                        }
                    }
                }
                Some(()) = self.reload_rx.recv() => {
                    self.reload(&mut slots);
                }
                () = sleep_opt(&*ctx.clock, wake), if !stopping => {}
            }
        }
        ctx.status.update(|s| s.state = ServerState::Stopped);
        tracing::info!("scheduler stopped");
        Ok(())
    }

    fn reload(&self, slots: &mut BTreeMap<String, Slot>) {
        let now = self.ctx.clock.now();
        let Some(reloader) = &self.reloader else {
            tracing::warn!("a reload was asked for, but this server cannot reload");
            return;
        };
        let new = match reloader.reload() {
            Ok(new) => new,
            Err(e) => {
                tracing::error!(error = %e, "the configuration was not reloaded; the schedules run on as before");
                self.ctx.status.update(|s| {
                    s.last_reload = Some(ReloadStatus {
                        at: now,
                        ok: false,
                        error: Some(e.to_string()),
                    });
                });
                return;
            }
        };
        let (mut added, mut changed) = (Vec::new(), Vec::new());
        let mut keep = std::collections::BTreeSet::new();
        for schedule in new {
            let name = schedule.name().to_string();
            keep.insert(name.clone());
            match slots.get_mut(&name) {
                Some(slot) if *slot.schedule == schedule && !slot.retired => {}
                Some(slot) => {
                    // A running run finishes on the definition it started with.
                    slot.schedule = Arc::new(schedule);
                    slot.awaiting = None;
                    slot.retired = false;
                    changed.push(name);
                }
                None => {
                    slots.insert(name.clone(), Slot::new(schedule));
                    added.push(name);
                }
            }
        }
        let mut removed = Vec::new();
        slots.retain(|name, slot| {
            if keep.contains(name) {
                return true;
            }
            removed.push(name.clone());
            slot.retired = true;
            slot.running
        });
        tracing::info!(
            added = %added.join(", "),
            changed = %changed.join(", "),
            removed = %removed.join(", "),
            schedules = keep.len(),
            "configuration reloaded"
        );
        self.ctx.status.update(|s| {
            s.last_reload = Some(ReloadStatus {
                at: now,
                ok: true,
                error: None,
            });
        });
    }
}

async fn sleep_opt(clock: &dyn Clock, until: Option<DateTime<Utc>>) {
    match until {
        Some(t) => clock::sleep_until(clock, t).await,
        None => std::future::pending().await,
    }
}

fn publish(status: &StatusBoard, slots: &BTreeMap<String, Slot>, stopping: bool) {
    status.update(|s| {
        if stopping {
            s.state = ServerState::Stopping;
        }
        let running: HashMap<String, Option<DateTime<Utc>>> = s
            .schedules
            .iter()
            .map(|e| (e.name.clone(), e.running_since))
            .collect();
        s.schedules = slots
            .iter()
            .filter(|(_, slot)| !slot.retired)
            .map(|(name, slot)| ScheduleStatus {
                name: name.clone(),
                action: slot.schedule.action().as_str().to_string(),
                cron: slot.schedule.config.cron.clone(),
                timezone: slot.schedule.config.timezone.clone(),
                enabled: slot.schedule.config.enabled,
                next_fire: if slot.schedule.config.enabled {
                    slot.next_fire
                } else {
                    None
                },
                running_since: running.get(name).copied().flatten(),
            })
            .collect();
    });
}

/// How a run task ended, as far as the scheduler cares.
#[derive(Debug, Clone, Copy)]
enum FireEnd {
    /// Ran, or found handled by another server.
    Done,
    /// Another server held the lock.
    Locked(DateTime<Utc>),
    /// The store could not be used; try again later.
    Error,
}

enum Planned {
    Start { fire: DateTime<Utc> },
    Wait(DateTime<Utc>),
    Never,
}

/// Decides for one idle schedule, carrying out skips on the way.
async fn plan_slot(ctx: &RunCtx, slot: &mut Slot) -> Result<Planned, ScheduleError> {
    let name = slot.schedule.name().to_string();
    let now = ctx.clock.now();
    let mut last = {
        let name = name.clone();
        ctx.store.call(move |s| s.init_schedule(&name, now)).await?
    };
    if let Some(seen) = slot.seen {
        last = last.max(seen);
    }
    loop {
        match decide(
            &slot.schedule,
            last,
            now,
            slot.awaiting,
            ctx.options.on_time_grace,
        ) {
            Decision::Run { fire, missed } => {
                if missed > 0 {
                    tracing::info!(schedule = %name, missed, %fire, "running once for the missed fires (missed = \"run-once\")");
                }
                return Ok(Planned::Start { fire });
            }
            Decision::Skip { fire, missed } => {
                tracing::info!(schedule = %name, missed, %fire, "skipping the missed fires (missed = \"skip\")");
                let n = name.clone();
                ctx.store.call(move |s| s.skip_fires(&n, fire, now)).await?;
                last = fire;
                slot.awaiting = None;
            }
            Decision::Wait { until } => {
                slot.awaiting = Some(until);
                slot.next_fire = Some(until);
                return Ok(Planned::Wait(until));
            }
            Decision::Never => {
                slot.next_fire = None;
                return Ok(Planned::Never);
            }
        }
    }
}

/// Claims `fire`, runs its attempts, records each, and releases the lock.
async fn run_fire(
    ctx: Arc<RunCtx>,
    schedule: Arc<Schedule>,
    fire: DateTime<Utc>,
    cancel: CancelToken,
) -> FireEnd {
    let name = schedule.name().to_string();
    match claim(&ctx, &schedule, fire).await {
        Err(e) => {
            tracing::error!(schedule = %name, %fire, error = %e, "cannot claim the run; trying again shortly");
            return FireEnd::Error;
        }
        Ok(Claim::AlreadyHandled { last_fire }) => {
            tracing::debug!(schedule = %name, %fire, %last_fire, "another server handled this fire");
            return FireEnd::Done;
        }
        Ok(Claim::Locked(holder)) => {
            tracing::warn!(
                schedule = %name,
                %fire,
                holder_pid = holder.owner.pid,
                holder_host = %holder.owner.host,
                "not run: the schedule is running on another server"
            );
            let owner = ctx.owner.clone();
            let action = schedule.action().as_str();
            let now = ctx.clock.now();
            let recorded = ctx
                .store
                .call(move |s| {
                    s.record_skipped_locked(
                        &NewRun {
                            schedule: &name,
                            action,
                            fire_at: fire,
                            attempt: 1,
                            started_at: now,
                            owner: &owner,
                        },
                        &holder,
                    )
                })
                .await;
            if let Err(e) = recorded {
                tracing::error!(error = %e, "cannot record the skipped run");
            }
            return FireEnd::Locked(fire);
        }
        Ok(Claim::Claimed { taken_over }) => {
            if let Some(old) = taken_over {
                tracing::warn!(
                    schedule = %name,
                    old_pid = old.owner.pid,
                    old_host = %old.owner.host,
                    expired = %old.expires_at,
                    "took over the lock of a server that stopped renewing it; its unfinished run is recorded as failed"
                );
            }
        }
    }

    let heartbeat = tokio::spawn(heartbeat(Arc::clone(&ctx), name.clone()));
    attempts(&ctx, &schedule, fire, &cancel).await;
    heartbeat.abort();

    let owner = ctx.owner.clone();
    let keep = ctx.options.keep_runs;
    let n = name.clone();
    let released = ctx
        .store
        .call(move |s| {
            let released = s.release_lock(&n, &owner)?;
            s.prune_schedule_runs(&n, keep)?;
            Ok(released)
        })
        .await;
    match released {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(schedule = %name, "the lock had been taken over by another server before the run ended")
        }
        Err(e) => {
            tracing::error!(schedule = %name, error = %e, "cannot release the lock; it expires by itself")
        }
    }
    FireEnd::Done
}

async fn claim(
    ctx: &RunCtx,
    schedule: &Schedule,
    fire: DateTime<Utc>,
) -> Result<Claim, ScheduleError> {
    let try_claim = || {
        let (name, owner, now, ttl) = (
            schedule.name().to_string(),
            ctx.owner.clone(),
            ctx.clock.now(),
            ctx.options.lock_ttl,
        );
        ctx.store
            .call(move |s| s.claim_fire(&name, fire, &owner, now, ttl))
    };
    let claim = try_claim().await?;
    let Claim::Locked(holder) = &claim else {
        return Ok(claim);
    };
    if !ctx.options.detect_dead_holders || !holder_is_gone(&ctx.owner, &holder.owner) {
        return Ok(claim);
    }
    let reason = format!(
        "interrupted: the server running it (pid {} on {}) is no longer running",
        holder.owner.pid, holder.owner.host
    );
    let (holder, now) = (holder.clone(), ctx.clock.now());
    let pid = holder.owner.pid;
    let broke = ctx
        .store
        .call(move |s| s.break_lock(&holder, now, &reason))
        .await?;
    if broke {
        tracing::warn!(schedule = %schedule.name(), old_pid = pid, "took over the lock of a server process that is gone");
    }
    try_claim().await
}

/// Renews the lock while the run goes on.
async fn heartbeat(ctx: Arc<RunCtx>, name: String) {
    loop {
        clock::sleep(&*ctx.clock, ctx.options.heartbeat).await;
        let (n, owner, now, ttl) = (
            name.clone(),
            ctx.owner.clone(),
            ctx.clock.now(),
            ctx.options.lock_ttl,
        );
        match ctx
            .store
            .call(move |s| s.renew_lock(&n, &owner, now, ttl))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(schedule = %name, "lost the schedule's lock to another server (renewals were late); it may run the schedule too");
                return;
            }
            Err(e) => {
                tracing::warn!(schedule = %name, error = %e, "cannot renew the schedule's lock; trying again")
            }
        }
    }
}

/// The attempts of one fire: the first, then retries with backoff while they fail.
async fn attempts(ctx: &RunCtx, schedule: &Schedule, fire: DateTime<Utc>, cancel: &CancelToken) {
    let name = schedule.name().to_string();
    let action = schedule.action().as_str();
    let total = schedule.attempts();
    for attempt in 1..=total {
        let started = ctx.clock.now();
        let id = {
            let (n, owner) = (name.clone(), ctx.owner.clone());
            ctx.store
                .call(move |s| {
                    s.start_run(&NewRun {
                        schedule: &n,
                        action,
                        fire_at: fire,
                        attempt,
                        started_at: started,
                        owner: &owner,
                    })
                })
                .await
        };
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(schedule = %name, error = %e, "cannot record the run's start; it is not run");
                return;
            }
        };
        ctx.status.set_running(&name, Some(started));
        tracing::info!(schedule = %name, action, %fire, attempt, "run started");
        let request = RunRequest {
            config: schedule.config.clone(),
            fire_at: fire,
            attempt,
        };
        // Its own task, so that a panicking action fails this attempt, not the scheduler.
        let actions = Arc::clone(&ctx.actions);
        let token = cancel.clone();
        let result = match tokio::spawn(async move { actions.run(request, token).await }).await {
            Ok(result) => result,
            Err(e) => Err(ActionError::failed(format!("the action crashed: {e}"))),
        };
        ctx.status.set_running(&name, None);
        let finished = ctx.clock.now();
        let (outcome, counts, error) = match result {
            Ok(counts) => (RunOutcome::Succeeded, counts, None),
            Err(e) => {
                let outcome = match e.kind {
                    ActionErrorKind::Cancelled => RunOutcome::Cancelled,
                    ActionErrorKind::Failed if attempt < total && !cancel.is_cancelled() => {
                        RunOutcome::Retried
                    }
                    ActionErrorKind::Failed | ActionErrorKind::Permanent => RunOutcome::Failed,
                };
                (outcome, e.counts, Some(e.message))
            }
        };
        let took = (finished - started).to_std().unwrap_or(Duration::ZERO);
        match (outcome, &error) {
            (RunOutcome::Succeeded, _) => tracing::info!(
                schedule = %name, attempt, ?took, pulled = counts.pulled, written = counts.written,
                conflicts = counts.conflicts, failed = counts.failed, "run succeeded"
            ),
            (RunOutcome::Retried, Some(e)) => {
                tracing::warn!(schedule = %name, attempt, of = total, error = %e, "run failed; retrying")
            }
            (RunOutcome::Cancelled, e) => {
                tracing::warn!(schedule = %name, attempt, error = e.as_deref().unwrap_or(""), "run cancelled by the shutdown")
            }
            (_, e) => {
                tracing::error!(schedule = %name, attempt, error = e.as_deref().unwrap_or(""), "run failed")
            }
        }
        let closed = ctx
            .store
            .call(move |s| s.finish_run(id, finished, outcome, counts, error.as_deref()))
            .await;
        match closed {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                schedule = %name, run = id,
                "the run had been recorded as interrupted by a server that took over its lock"
            ),
            Err(e) => {
                tracing::error!(schedule = %name, run = id, error = %e, "cannot record the run's end")
            }
        }
        if outcome != RunOutcome::Retried {
            return;
        }
        let wait = schedule.backoff(attempt);
        tokio::select! {
            () = clock::sleep(&*ctx.clock, wait) => {}
            () = cancel.cancelled() => {
                // The attempt that will not happen is recorded, so the history shows why the
                // fire ended without success or failure.
                let (n, owner, now) = (name.clone(), ctx.owner.clone(), ctx.clock.now());
                let recorded = ctx.store.call(move |s| {
                    let id = s.start_run(&NewRun {
                        schedule: &n,
                        action,
                        fire_at: fire,
                        attempt: attempt + 1,
                        started_at: now,
                        owner: &owner,
                    })?;
                    s.finish_run(
                        id,
                        now,
                        RunOutcome::Cancelled,
                        RunCounts::default(),
                        Some("not started: the server shut down while waiting to retry"),
                    )
                }).await;
                if let Err(e) = recorded {
                    tracing::error!(schedule = %name, error = %e, "cannot record the cancelled retry");
                }
                return;
            }
        }
    }
}
