//! Scheduled runs (`imsbridge serve`): the history of every run, the last fire time each
//! schedule has handled (what the missed-run policy is decided from after downtime), running
//! totals for metrics, and a lock per schedule so that two servers on one store never run a
//! schedule twice.
//!
//! The caller passes every time in: the scheduler runs on a clock that tests can fake, and the
//! store must decide lock expiry and missed fires on that clock, not on its own.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::codec::{count_from_sql, count_to_sql, parse_timestamp, timestamp};
use crate::error::{Ctx, StoreError};
use crate::store::Store;

/// Run history, fire state, totals and locks.
pub(crate) const V5_SCHEDULES: &str = "
-- One row per attempt: a run that fails and is retried leaves one row per try.
CREATE TABLE schedule_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule    TEXT NOT NULL,
    action      TEXT NOT NULL,
    fire_at     TEXT NOT NULL,
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    -- NULL while the attempt is running.
    outcome     TEXT CHECK (outcome IN
                    ('succeeded', 'failed', 'retried', 'cancelled', 'skipped-locked')),
    pulled      INTEGER NOT NULL DEFAULT 0,
    written     INTEGER NOT NULL DEFAULT 0,
    conflicts   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs (schedule, id);

-- The newest fire time each schedule has handled (run, claimed or deliberately skipped).
CREATE TABLE schedule_state (
    schedule     TEXT NOT NULL PRIMARY KEY,
    last_fire_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;

-- Totals per schedule and outcome, kept apart from the history so that pruning old runs
-- never makes a Prometheus counter go down.
CREATE TABLE schedule_totals (
    schedule  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    runs      INTEGER NOT NULL,
    pulled    INTEGER NOT NULL,
    written   INTEGER NOT NULL,
    conflicts INTEGER NOT NULL,
    failed    INTEGER NOT NULL,
    last_at   TEXT NOT NULL,
    PRIMARY KEY (schedule, outcome)
) WITHOUT ROWID;

-- Who is running a schedule now. A holder renews expires_at while it runs; a lock past it
-- belongs to a server that stopped or hung, and the next claimant takes it over.
CREATE TABLE schedule_locks (
    schedule         TEXT NOT NULL PRIMARY KEY,
    owner            TEXT NOT NULL,
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    owner_started_at TEXT NOT NULL,
    acquired_at      TEXT NOT NULL,
    heartbeat_at     TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    run_id           INTEGER
) WITHOUT ROWID;
";

/// How a scheduled run (one attempt) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    Succeeded,
    /// Failed, and no attempt is left.
    Failed,
    /// Failed, and another attempt follows after the backoff.
    Retried,
    /// Stopped by a shutdown at a checkpoint, or before a retry could start.
    Cancelled,
    /// Not run: another server held the schedule's lock.
    SkippedLocked,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 5] = [
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::Retried,
        RunOutcome::Cancelled,
        RunOutcome::SkippedLocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Retried => "retried",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::SkippedLocked => "skipped-locked",
        }
    }

    fn parse(text: &str) -> Option<RunOutcome> {
        RunOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run did, in the terms every action shares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Records read from source systems.
    pub pulled: u64,
    /// Records written: created or updated, locally by a pull or remotely by a sync.
    pub written: u64,
    /// Items left for a person: sync conflicts, and writes refused because the remote changed.
    pub conflicts: u64,
    /// Items that failed: rejected rows of a pull, failed writes of a sync.
    pub failed: u64,
}

impl std::ops::AddAssign for RunCounts {
    fn add_assign(&mut self, other: RunCounts) {
        self.pulled += other.pulled;
        self.written += other.written;
        self.conflicts += other.conflicts;
        self.failed += other.failed;
    }
}

/// One `imsbridge serve` process, as it appears in locks and run history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockOwner {
    pub host: String,
    pub pid: u32,
    /// When the server started; with host and pid it tells two lives of one pid apart.
    pub started_at: DateTime<Utc>,
}

impl LockOwner {
    /// The identity compared when a lock is renewed or released.
    pub fn token(&self) -> String {
        format!("{}:{}:{}", self.host, self.pid, timestamp(&self.started_at))
    }
}

/// A schedule's lock as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleLock {
    pub schedule: String,
    pub owner: LockOwner,
    pub acquired_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The attempt running under the lock, once it has started.
    pub run_id: Option<i64>,
}

/// The answer to [`Store::claim_fire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The fire is the caller's: it holds the lock and the fire counts as handled.
    /// `taken_over` is the expired lock it replaced, if any; that holder's unfinished
    /// attempts were marked failed.
    Claimed { taken_over: Option<ScheduleLock> },
    /// This fire, or a later one, was handled already (by another server).
    AlreadyHandled { last_fire: DateTime<Utc> },
    /// Another holder's lock is live: the schedule is running elsewhere.
    Locked(ScheduleLock),
}

/// An attempt about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun<'a> {
    pub schedule: &'a str,
    pub action: &'a str,
    pub fire_at: DateTime<Utc>,
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub owner: &'a LockOwner,
}

/// One attempt in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub schedule: String,
    pub action: String,
    /// The fire time the run was for.
    pub fire_at: DateTime<Utc>,
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while the attempt runs.
    pub outcome: Option<RunOutcome>,
    #[serde(flatten)]
    pub counts: RunCounts,
    pub error: Option<String>,
    pub host: String,
    pub pid: u32,
}

/// All attempts of one schedule with one outcome, since the schedule first ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunTotals {
    pub schedule: String,
    pub outcome: RunOutcome,
    pub runs: u64,
    #[serde(flatten)]
    pub counts: RunCounts,
    /// When the newest of them finished.
    pub last_at: DateTime<Utc>,
}

const RUN_COLUMNS: &str = "id, schedule, action, fire_at, attempt, started_at, finished_at, \
    outcome, pulled, written, conflicts, failed, error, host, pid";

const LOCK_COLUMNS: &str =
    "schedule, host, pid, owner_started_at, acquired_at, heartbeat_at, expires_at, run_id";

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Store {
    /// The newest fire time `schedule` has handled, if it was ever seen.
    pub fn schedule_last_fire(&self, schedule: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT last_fire_at FROM schedule_state WHERE schedule = ?1",
                params![schedule],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.ctx.sql(e))?;
        text.map(|t| parse_timestamp(&self.ctx, || format!("schedule {schedule}"), &t))
            .transpose()
    }

    /// Starts tracking `schedule` as of `at` unless it is tracked already, and returns its
    /// last handled fire time. A new schedule thus has no missed fires from before it existed.
    pub fn init_schedule(
        &mut self,
        schedule: &str,
        at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        // Read first: the scheduler asks on every wake-up, and a write would queue behind a
        // long import for nothing.
        if let Some(last) = self.schedule_last_fire(schedule)? {
            return Ok(last);
        }
        self.conn
            .execute(
                "INSERT OR IGNORE INTO schedule_state (schedule, last_fire_at, updated_at)
                 VALUES (?1, ?2, ?2)",
                params![schedule, timestamp(&at)],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(self.schedule_last_fire(schedule)?.unwrap_or(at))
    }

    /// Marks every fire up to `fire` as handled without running it (the `skip` policy).
    /// Returns false when a fire at or after it was handled already.
    pub fn skip_fires(
        &mut self,
        schedule: &str,
        fire: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "INSERT INTO schedule_state (schedule, last_fire_at, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (schedule) DO UPDATE SET last_fire_at = excluded.last_fire_at,
                     updated_at = excluded.updated_at
                 WHERE last_fire_at < excluded.last_fire_at",
                params![schedule, timestamp(&fire), timestamp(&now)],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(changed > 0)
    }

    /// Claims the run of `schedule` for `fire`: in one transaction, checks that no server
    /// handled this fire yet and that no live lock is held, then takes the lock (expiring
    /// `ttl` after `now`) and marks the fire handled. Two servers claiming the same fire
    /// get one `Claimed` and one `AlreadyHandled`.
    pub fn claim_fire(
        &mut self,
        schedule: &str,
        fire: DateTime<Utc>,
        owner: &LockOwner,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Claim, StoreError> {
        // IMMEDIATE: the read and the write below must not be split by another server's claim.
        let (tx, ctx) = self.immediate()?;
        let last: Option<String> = tx
            .query_row(
                "SELECT last_fire_at FROM schedule_state WHERE schedule = ?1",
                params![schedule],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| ctx.sql(e))?;
        if let Some(last) = last {
            let last = parse_timestamp(&ctx, || format!("schedule {schedule}"), &last)?;
            if last >= fire {
                return Ok(Claim::AlreadyHandled { last_fire: last });
            }
        }
        let current = lock_in(&tx, &ctx, schedule)?;
        let taken_over = match current {
            Some(lock) if lock.expires_at > now => return Ok(Claim::Locked(lock)),
            Some(lock) => {
                let message = format!(
                    "interrupted: the server running it (pid {} on {}) stopped renewing its \
                     lock; taken over at {}",
                    lock.owner.pid,
                    lock.owner.host,
                    timestamp(&now)
                );
                fail_open_runs(&tx, &ctx, schedule, &lock.owner, now, &message)?;
                Some(lock)
            }
            None => None,
        };
        tx.execute(
            "INSERT INTO schedule_state (schedule, last_fire_at, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (schedule) DO UPDATE SET last_fire_at = excluded.last_fire_at,
                 updated_at = excluded.updated_at",
            params![schedule, timestamp(&fire), timestamp(&now)],
        )
        .map_err(|e| ctx.sql(e))?;
        put_lock(&tx, &ctx, schedule, owner, now, ttl)?;
        tx.commit().map_err(|e| ctx.sql(e))?;
        Ok(Claim::Claimed { taken_over })
    }

    /// Takes the lock `name` for `owner` until `ttl` after `now`, unless another holder's
    /// lock on it is live; an expired lock is replaced, and the caller's own is renewed.
    /// Used for work that is not a schedule's fire, such as writing to a sync target: a
    /// name such as `sync-target:ca` cannot be a schedule's (schedule names have no `:`).
    pub fn try_lock(
        &mut self,
        name: &str,
        owner: &LockOwner,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Option<ScheduleLock>, StoreError> {
        let (tx, ctx) = self.immediate()?;
        if let Some(current) = lock_in(&tx, &ctx, name)?
            && current.expires_at > now
            && current.owner.token() != owner.token()
        {
            return Ok(Some(current));
        }
        put_lock(&tx, &ctx, name, owner, now, ttl)?;
        tx.commit().map_err(|e| ctx.sql(e))?;
        Ok(None)
    }

    /// Renews `owner`'s lock on `schedule` until `ttl` after `now`. False when the lock is
    /// no longer the owner's (another server took it over after it expired).
    pub fn renew_lock(
        &mut self,
        schedule: &str,
        owner: &LockOwner,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE schedule_locks SET heartbeat_at = ?3, expires_at = ?4
                 WHERE schedule = ?1 AND owner = ?2",
                params![
                    schedule,
                    owner.token(),
                    timestamp(&now),
                    timestamp(&expiry(now, ttl))
                ],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(changed > 0)
    }

    /// Releases `owner`'s lock on `schedule`; false when it held none.
    pub fn release_lock(&mut self, schedule: &str, owner: &LockOwner) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "DELETE FROM schedule_locks WHERE schedule = ?1 AND owner = ?2",
                params![schedule, owner.token()],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(changed > 0)
    }

    /// Removes a lock whose holder is known to be gone (a process that no longer exists on
    /// this host) before it expires, and marks that holder's unfinished attempts failed.
    /// Does nothing (false) when the lock has changed hands since `holder` was read.
    pub fn break_lock(
        &mut self,
        holder: &ScheduleLock,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (tx, ctx) = self.immediate()?;
        let removed = tx
            .execute(
                "DELETE FROM schedule_locks WHERE schedule = ?1 AND owner = ?2",
                params![holder.schedule, holder.owner.token()],
            )
            .map_err(|e| ctx.sql(e))?;
        if removed > 0 {
            fail_open_runs(&tx, &ctx, &holder.schedule, &holder.owner, now, reason)?;
        }
        tx.commit().map_err(|e| ctx.sql(e))?;
        Ok(removed > 0)
    }

    /// The lock on `schedule`, live or expired.
    pub fn schedule_lock(&self, schedule: &str) -> Result<Option<ScheduleLock>, StoreError> {
        lock_in(&self.conn, &self.ctx, schedule)
    }

    /// Records the start of an attempt; returns its id. The lock the owner holds on the
    /// schedule, if any, then names the attempt.
    pub fn start_run(&mut self, run: &NewRun<'_>) -> Result<i64, StoreError> {
        let ctx = self.ctx.clone();
        let tx = self.conn.transaction().map_err(|e| ctx.sql(e))?;
        tx.execute(
            "INSERT INTO schedule_runs (schedule, action, fire_at, attempt, started_at, host, pid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.schedule,
                run.action,
                timestamp(&run.fire_at),
                run.attempt,
                timestamp(&run.started_at),
                run.owner.host,
                run.owner.pid,
            ],
        )
        .map_err(|e| ctx.sql(e))?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE schedule_locks SET run_id = ?3 WHERE schedule = ?1 AND owner = ?2",
            params![run.schedule, run.owner.token(), id],
        )
        .map_err(|e| ctx.sql(e))?;
        tx.commit().map_err(|e| ctx.sql(e))?;
        Ok(id)
    }

    /// Records how an attempt ended and adds it to the totals, in one transaction. False
    /// when the attempt had been closed already (marked failed by a server that took its
    /// lock over); it then keeps that outcome, so that the totals count it once.
    pub fn finish_run(
        &mut self,
        id: i64,
        finished_at: DateTime<Utc>,
        outcome: RunOutcome,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let ctx = self.ctx.clone();
        let tx = self.conn.transaction().map_err(|e| ctx.sql(e))?;
        let done = finish_in(&tx, &ctx, id, finished_at, outcome, counts, error)?;
        tx.commit().map_err(|e| ctx.sql(e))?;
        Ok(done)
    }

    /// Records a fire that was not run because `holder` held the schedule's lock.
    pub fn record_skipped_locked(
        &mut self,
        run: &NewRun<'_>,
        holder: &ScheduleLock,
    ) -> Result<i64, StoreError> {
        let message = format!(
            "not run: the schedule was running on pid {} on {} (lock taken {}, expires {})",
            holder.owner.pid,
            holder.owner.host,
            timestamp(&holder.acquired_at),
            timestamp(&holder.expires_at)
        );
        let id = self.start_run(run)?;
        self.finish_run(
            id,
            run.started_at,
            RunOutcome::SkippedLocked,
            RunCounts::default(),
            Some(&message),
        )?;
        Ok(id)
    }

    /// The newest `limit` attempts (of one schedule), newest first.
    pub fn schedule_runs(
        &self,
        schedule: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE ?1 IS NULL OR schedule = ?1
             ORDER BY id DESC LIMIT ?2"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt
            .query(params![schedule, limit])
            .map_err(|e| self.ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.ctx.sql(e))? {
            out.push(run_from_row(&self.ctx, row)?);
        }
        Ok(out)
    }

    /// The newest attempt of `schedule` with one of `outcomes` (any outcome when empty).
    pub fn last_schedule_run(
        &self,
        schedule: &str,
        outcomes: &[RunOutcome],
    ) -> Result<Option<RunRecord>, StoreError> {
        // Walks the schedule's index backwards; the history is pruned, so this stays short.
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule = ?1 ORDER BY id DESC");
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt.query(params![schedule]).map_err(|e| self.ctx.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| self.ctx.sql(e))? {
            let run = run_from_row(&self.ctx, row)?;
            if outcomes.is_empty() || run.outcome.is_some_and(|o| outcomes.contains(&o)) {
                return Ok(Some(run));
            }
        }
        Ok(None)
    }

    /// Totals per schedule and outcome, ordered by schedule and outcome.
    pub fn run_totals(&self) -> Result<Vec<RunTotals>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT schedule, outcome, runs, pulled, written, conflicts, failed, last_at
                 FROM schedule_totals ORDER BY schedule, outcome",
            )
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.ctx.sql(e))? {
            let ctx = &self.ctx;
            let get = |e: rusqlite::Error| ctx.sql(e);
            let schedule: String = row.get(0).map_err(get)?;
            let outcome: String = row.get(1).map_err(get)?;
            let last_at: String = row.get(7).map_err(get)?;
            out.push(RunTotals {
                outcome: RunOutcome::parse(&outcome).ok_or_else(|| {
                    ctx.corrupt(format!("run totals have the unknown outcome '{outcome}'"))
                })?,
                runs: count_from_sql(row.get(2).map_err(get)?),
                counts: RunCounts {
                    pulled: count_from_sql(row.get(3).map_err(get)?),
                    written: count_from_sql(row.get(4).map_err(get)?),
                    conflicts: count_from_sql(row.get(5).map_err(get)?),
                    failed: count_from_sql(row.get(6).map_err(get)?),
                },
                last_at: parse_timestamp(ctx, || format!("run totals of {schedule}"), &last_at)?,
                schedule,
            });
        }
        Ok(out)
    }

    /// Deletes all but the newest `keep` finished attempts of `schedule`; returns how many
    /// went. The totals are not touched.
    pub fn prune_schedule_runs(
        &mut self,
        schedule: &str,
        keep: usize,
    ) -> Result<usize, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "DELETE FROM schedule_runs WHERE schedule = ?1 AND outcome IS NOT NULL
                 AND id <= (SELECT id FROM schedule_runs WHERE schedule = ?1
                            ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                params![schedule, keep],
            )
            .map_err(|e| self.ctx.sql(e))
    }
}

impl Store {
    /// A transaction that takes SQLite's write lock at once (IMMEDIATE), so that what it
    /// reads cannot change under it before it writes; with the context for its errors.
    fn immediate(&mut self) -> Result<(Transaction<'_>, Ctx), StoreError> {
        let ctx = self.ctx.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| ctx.sql(e))?;
        Ok((tx, ctx))
    }
}

/// Writes `owner`'s lock on `name`, replacing any other.
fn put_lock(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    name: &str,
    owner: &LockOwner,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO schedule_locks (schedule, owner, host, pid, owner_started_at,
             acquired_at, heartbeat_at, expires_at, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, NULL)",
        params![
            name,
            owner.token(),
            owner.host,
            owner.pid,
            timestamp(&owner.started_at),
            timestamp(&now),
            timestamp(&expiry(now, ttl)),
        ],
    )
    .map_err(|e| ctx.sql(e))?;
    Ok(())
}

fn lock_in(
    conn: &rusqlite::Connection,
    ctx: &Ctx,
    schedule: &str,
) -> Result<Option<ScheduleLock>, StoreError> {
    let sql = format!("SELECT {LOCK_COLUMNS} FROM schedule_locks WHERE schedule = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| ctx.sql(e))?;
    let mut rows = stmt.query(params![schedule]).map_err(|e| ctx.sql(e))?;
    let Some(row) = rows.next().map_err(|e| ctx.sql(e))? else {
        return Ok(None);
    };
    let get = |e: rusqlite::Error| ctx.sql(e);
    let what = || format!("the lock of schedule {schedule}");
    let time = |i: usize| -> Result<DateTime<Utc>, StoreError> {
        let text: String = row.get(i).map_err(get)?;
        parse_timestamp(ctx, what, &text)
    };
    Ok(Some(ScheduleLock {
        schedule: row.get(0).map_err(get)?,
        owner: LockOwner {
            host: row.get(1).map_err(get)?,
            pid: row.get(2).map_err(get)?,
            started_at: time(3)?,
        },
        acquired_at: time(4)?,
        heartbeat_at: time(5)?,
        expires_at: time(6)?,
        run_id: row.get(7).map_err(get)?,
    }))
}

/// Closes the attempts `owner` left running on `schedule` as failed.
fn fail_open_runs(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    schedule: &str,
    owner: &LockOwner,
    now: DateTime<Utc>,
    message: &str,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id FROM schedule_runs
                 WHERE schedule = ?1 AND outcome IS NULL AND host = ?2 AND pid = ?3",
            )
            .map_err(|e| ctx.sql(e))?;
        let rows = stmt
            .query_map(params![schedule, owner.host, owner.pid], |row| row.get(0))
            .map_err(|e| ctx.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| ctx.sql(e))?
    };
    for id in ids {
        finish_in(
            tx,
            ctx,
            id,
            now,
            RunOutcome::Failed,
            RunCounts::default(),
            Some(message),
        )?;
    }
    Ok(())
}

fn finish_in(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: i64,
    finished_at: DateTime<Utc>,
    outcome: RunOutcome,
    counts: RunCounts,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let changed = tx
        .execute(
            "UPDATE schedule_runs SET finished_at = ?2, outcome = ?3, pulled = ?4, written = ?5,
                 conflicts = ?6, failed = ?7, error = ?8
             WHERE id = ?1 AND outcome IS NULL",
            params![
                id,
                timestamp(&finished_at),
                outcome.as_str(),
                count_to_sql(counts.pulled),
                count_to_sql(counts.written),
                count_to_sql(counts.conflicts),
                count_to_sql(counts.failed),
                error,
            ],
        )
        .map_err(|e| ctx.sql(e))?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO schedule_totals (schedule, outcome, runs, pulled, written, conflicts, failed,
             last_at)
         SELECT schedule, outcome, 1, pulled, written, conflicts, failed, finished_at
         FROM schedule_runs WHERE id = ?1
         ON CONFLICT (schedule, outcome) DO UPDATE SET runs = runs + 1,
             pulled = pulled + excluded.pulled, written = written + excluded.written,
             conflicts = conflicts + excluded.conflicts, failed = failed + excluded.failed,
             last_at = max(last_at, excluded.last_at)",
        params![id],
    )
    .map_err(|e| ctx.sql(e))?;
    Ok(true)
}

fn run_from_row(ctx: &Ctx, row: &Row<'_>) -> Result<RunRecord, StoreError> {
    let get = |e: rusqlite::Error| ctx.sql(e);
    let id: i64 = row.get(0).map_err(get)?;
    let what = || format!("scheduled run {id}");
    let time = |i: usize| -> Result<DateTime<Utc>, StoreError> {
        let text: String = row.get(i).map_err(get)?;
        parse_timestamp(ctx, what, &text)
    };
    let finished: Option<String> = row.get(6).map_err(get)?;
    let outcome: Option<String> = row.get(7).map_err(get)?;
    Ok(RunRecord {
        id,
        schedule: row.get(1).map_err(get)?,
        action: row.get(2).map_err(get)?,
        fire_at: time(3)?,
        attempt: row.get(4).map_err(get)?,
        started_at: time(5)?,
        finished_at: finished
            .map(|t| parse_timestamp(ctx, what, &t))
            .transpose()?,
        outcome: match outcome {
            Some(o) => Some(RunOutcome::parse(&o).ok_or_else(|| {
                ctx.corrupt(format!("scheduled run {id} has the unknown outcome '{o}'"))
            })?),
            None => None,
        },
        counts: RunCounts {
            pulled: count_from_sql(row.get(8).map_err(get)?),
            written: count_from_sql(row.get(9).map_err(get)?),
            conflicts: count_from_sql(row.get(10).map_err(get)?),
            failed: count_from_sql(row.get(11).map_err(get)?),
        },
        error: row.get(12).map_err(get)?,
        host: row.get(13).map_err(get)?,
        pid: row.get(14).map_err(get)?,
    })
}
