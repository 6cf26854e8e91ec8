//! Moves records between the store and the configured systems: `pull` reads sources into the
//! store, `plan` compares the store's AI risks and incidents with each target, and `apply`
//! carries a plan out, journalling every remote write.
//!
//! ```
//! use imsbridge_sync::{Action, FieldChange, three_way};
//! use serde_json::json;
//!
//! // The three-way rule per field: base is what local and remote held after the last sync.
//! let local = json!("mitigate");
//! let remote = json!("accept");
//! // Only the local side changed since the last sync: write it.
//! assert_eq!(three_way(Some(&json!("accept")), Some(&json!("accept")), &local, Some(&remote)),
//!            imsbridge_sync::FieldVerdict::Write);
//! // Both changed: a conflict a person must settle.
//! assert_eq!(three_way(Some(&json!("open")), Some(&json!("open")), &local, Some(&remote)),
//!            imsbridge_sync::FieldVerdict::Conflict);
//! # let _ = (Action::Noop, FieldChange { from: json!(null), to: json!(1) });
//! ```

mod apply;
mod error;
mod plan;
mod pull;

pub use apply::{ApplyOptions, ApplyReport, ItemOutcome, Outcome, apply};
pub use error::SyncError;
pub use plan::{
    Action, FieldChange, FieldVerdict, PLAN_FORMAT, Plan, PlanItem, PlanTarget, Skipped, Summary,
    TargetRef, make_plan, three_way,
};
pub use pull::{PullReport, StreamReport, pull_source};
