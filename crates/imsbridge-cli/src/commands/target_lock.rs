//! One writer per sync target. `sync` and `apply` first settle the journal intents an earlier
//! run left open, then write; a second run on the same target at the same time would take
//! the first one's in-flight writes for interrupted ones, and both could create the same
//! record. So each target is locked in the store for the whole plan-and-apply, whether the
//! run is a manual `imsbridge sync`, an `apply`, or a schedule of `imsbridge serve`.
//!
//! The lock lives in the same table as the schedules' locks, under `sync-target:<name>`, and
//! is renewed every 20 seconds by a thread of its own while the run lasts; a process that
//! dies leaves a lock that expires two minutes after its last renewal (at once, on the same
//! host, once its pid is gone).

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use imsbridge_store::{LockOwner, ScheduleLock, Store};

/// How long a lock lasts without renewal.
const TTL: Duration = Duration::from_secs(120);
/// How often the holder renews it.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// The locks on the targets of one run; released when dropped.
#[derive(Debug)]
pub struct TargetLocks {
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl TargetLocks {
    /// Locks every target in `targets`, or none: when one is held by another live run, the
    /// ones taken so far are released and the error names the holder.
    pub fn acquire(store: &mut Store, path: PathBuf, targets: &[&str]) -> anyhow::Result<Self> {
        let owner = imsbridge_schedule::this_process(Utc::now());
        let mut targets: Vec<&str> = targets.to_vec();
        // One order for every run: of two runs on overlapping targets, one gets them all,
        // rather than each taking one and both giving up.
        targets.sort_unstable();
        targets.dedup();
        let mut taken: Vec<String> = Vec::new();
        for target in targets {
            let name = format!("sync-target:{target}");
            match take(store, &name, &owner) {
                Ok(()) => taken.push(name),
                Err(holder) => {
                    for name in &taken {
                        let _ = store.release_lock(name, &owner);
                    }
                    let holder = match holder {
                        Holder::Live(lock) => lock,
                        Holder::Error(e) => return Err(e),
                    };
                    anyhow::bail!(
                        "target `{target}` is being written by another imsbridge run (pid {} on \
                         {}, since {}); nothing was planned or written. Run again when it has \
                         finished (its lock lapses by {} if that run has died)",
                        holder.owner.pid,
                        holder.owner.host,
                        holder.acquired_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        holder.expires_at.format("%H:%M:%S UTC"),
                    );
                }
            }
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("target-locks".into())
            .spawn(move || keep(path, taken, owner, stopped))?;
        Ok(TargetLocks {
            stop: Some(stop),
            keeper: Some(keeper),
        })
    }
}

impl Drop for TargetLocks {
    fn drop(&mut self) {
        // Dropping the sender wakes the keeper, which releases the locks and ends.
        drop(self.stop.take());
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

enum Holder {
    Live(ScheduleLock),
    Error(anyhow::Error),
}

/// Takes one lock, breaking it first when its holder is a process of this host that is gone.
fn take(store: &mut Store, name: &str, owner: &LockOwner) -> Result<(), Holder> {
    for _ in 0..2 {
        let held = store
            .try_lock(name, owner, Utc::now(), TTL)
            .map_err(|e| Holder::Error(e.into()))?;
        let Some(holder) = held else {
            return Ok(());
        };
        // The same pid is this very process (another schedule of `serve` writing the same
        // target): alive.
        if !imsbridge_schedule::other_process_is_gone(owner, &holder.owner) {
            return Err(Holder::Live(holder));
        }
        let reason = format!(
            "the run holding it (pid {} on {}) is gone",
            holder.owner.pid, holder.owner.host
        );
        store
            .break_lock(&holder, Utc::now(), &reason)
            .map_err(|e| Holder::Error(e.into()))?;
    }
    Err(Holder::Error(anyhow::anyhow!(
        "the lock {name} changed hands twice while it was being taken; try again"
    )))
}

/// Renews the locks until told to stop, then releases them. It has a store connection of
/// its own, since the run holds the other one.
fn keep(path: PathBuf, names: Vec<String>, owner: LockOwner, stop: mpsc::Receiver<()>) {
    let mut store = match Store::open(&path) {
        Ok(store) => Some(store),
        Err(e) => {
            tracing::warn!(store = %path.display(), error = %e, "cannot renew the target locks; they lapse in two minutes");
            None
        }
    };
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(HEARTBEAT) {
        for name in &names {
            let renewed = store
                .as_mut()
                .map(|s| s.renew_lock(name, &owner, Utc::now(), TTL));
            match renewed {
                Some(Ok(true)) | None => {}
                Some(Ok(false)) => tracing::warn!(lock = %name, "the target lock was taken over"),
                Some(Err(e)) => {
                    tracing::warn!(lock = %name, error = %e, "cannot renew the target lock")
                }
            }
        }
    }
    let store = store.or_else(|| Store::open(&path).ok());
    if let Some(mut store) = store {
        for name in &names {
            if let Err(e) = store.release_lock(name, &owner) {
                tracing::warn!(lock = %name, error = %e, "cannot release the target lock; it lapses in two minutes");
            }
        }
    }
}
