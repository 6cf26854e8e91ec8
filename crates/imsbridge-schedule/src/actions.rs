//! The work a schedule does, behind a trait: the CLI implements it with the real pull, sync
//! and audit-pack code; tests implement it with actions that succeed, fail, hang or watch for
//! cancellation.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use imsbridge_store::RunCounts;
use tokio::sync::watch;

use crate::config::ScheduleConfig;
use crate::error::ActionError;

/// A boxed future, so that [`Actions`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One attempt of one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The schedule as configured when the run started (a reload does not change a run
    /// already under way).
    pub config: ScheduleConfig,
    /// The fire time the run is for.
    pub fire_at: DateTime<Utc>,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
}

/// Runs actions. `run` is called for one attempt at a time per schedule; different schedules
/// may run at once.
///
/// An implementation should look at `cancel` at its checkpoints (between systems, between
/// targets) and stop there with [`ActionError::cancelled`]; what it has started it finishes,
/// because the server never abandons a run in the middle.
pub trait Actions: Send + Sync + std::fmt::Debug + 'static {
    fn run(
        &self,
        request: RunRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'_, Result<RunCounts, ActionError>>;
}

/// Tells a running action that the server is shutting down.
#[derive(Debug, Clone)]
pub struct CancelToken(watch::Receiver<bool>);

impl CancelToken {
    /// A token and the sender that cancels it.
    pub fn new() -> (watch::Sender<bool>, CancelToken) {
        let (tx, rx) = watch::channel(false);
        (tx, CancelToken(rx))
    }

    /// A token that is never cancelled.
    pub fn never() -> CancelToken {
        let (tx, rx) = watch::channel(false);
        // Keeping the sender alive would be a leak; a dropped sender reads as "not cancelled".
        drop(tx);
        CancelToken(rx)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once cancelled; never when the sender is gone without cancelling.
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
