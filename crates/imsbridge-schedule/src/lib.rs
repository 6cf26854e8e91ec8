//! Scheduled runs for `imsbridge serve`: cron schedules in a time zone, each fire claimed
//! in the store (two servers on one store never run it twice), missed fires made up for or
//! skipped, failures retried with backoff, every attempt recorded, graceful shutdown and
//! reload, and a loopback status endpoint (`/healthz`, `/runs`, Prometheus `/metrics`). Time
//! comes from a [`Clock`] and the work from [`Actions`], so tests fake both:
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use chrono::{TimeZone, Utc};
//! use imsbridge_schedule::{
//!     ActionError, Actions, BoxFuture, CancelToken, FakeClock, KnownSystems, RunCounts,
//!     RunOutcome, RunRequest, Schedules, Server, ServerOptions, StoreHandle, this_process,
//! };
//! use imsbridge_store::Store;
//!
//! #[derive(Debug)]
//! struct Pretend;
//!
//! impl Actions for Pretend {
//!     fn run(&self, _: RunRequest, _: CancelToken) -> BoxFuture<'_, Result<RunCounts, ActionError>> {
//!         Box::pin(async { Ok(RunCounts { pulled: 3, ..RunCounts::default() }) })
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let schedules = Schedules::from_values(
//!     vec![serde_json::json!({"name": "hourly-pull", "cron": "0 * * * *", "action": "pull"})],
//!     &KnownSystems::default(),
//!     Path::new("."),
//! )?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?;
//! let store = StoreHandle::new(Store::open_in_memory()?);
//! runtime.block_on(async {
//!     let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 5, 1, 9, 30, 0).unwrap());
//!     let owner = this_process(Utc::now());
//!     let server = Server::new(store.clone(), Arc::new(Pretend), Arc::new(clock),
//!         schedules.into_vec(), owner, ServerOptions::default());
//!     let control = server.control();
//!     let running = tokio::spawn(server.run());
//!     // Paused time jumps ahead whenever every task waits: 3 hours pass at once.
//!     tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
//!     control.shutdown();
//!     running.await??;
//!     let runs = store.call(|s| s.schedule_runs(None, 10)).await?;
//!     assert_eq!(runs.len(), 3);
//!     assert!(runs.iter().all(|r| r.outcome == Some(RunOutcome::Succeeded)));
//!     Ok(())
//! })
//! # }
//! ```

mod actions;
mod clock;
mod config;
mod error;
mod handle;
mod http;
mod policy;
mod server;
pub mod signals;

pub use actions::{Actions, BoxFuture, CancelToken, RunRequest};
pub use chrono_tz::Tz;
pub use clock::{Clock, FakeClock, SystemClock, add, sleep, sleep_until};
pub use config::{
    ActionKind, DEFAULT_RETRIES, DEFAULT_RETRY_BACKOFF_SECS, KEYS, KnownSystems, MAX_BACKOFF,
    MissedPolicy, Schedule, ScheduleConfig, Schedules, parse_cron,
};
pub use error::{ActionError, ActionErrorKind, ConfigError, ScheduleError};
pub use handle::StoreHandle;
pub use http::{
    EndpointState, MAX_REQUEST_BYTES, READ_TIMEOUT, Response, StatusEndpoint, render_metrics, route,
};
pub use imsbridge_store::{LockOwner, RunCounts, RunOutcome, RunRecord, RunTotals};
pub use policy::{Decision, decide};
pub use server::{
    Control, Reload, ReloadStatus, ScheduleStatus, Server, ServerOptions, ServerState, StatusBoard,
    StatusSnapshot, other_process_is_gone, this_process,
};
