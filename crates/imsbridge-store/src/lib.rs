//! The imsbridge store: one SQLite file with the unified records, their version history and
//! the import runs that wrote them. All of imsbridge's SQL lives in this crate.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use chrono::Utc;
//! use imsbridge_model::{
//!     AiFlag, ClauseRef, Dates, Details, Provenance, Record, RecordId, RecordKind, StandardId,
//! };
//! use imsbridge_store::{ImportRunStart, ImportRunSummary, RecordFilter, Store, UpsertOutcome};
//!
//! # fn main() -> Result<(), imsbridge_store::StoreError> {
//! let mut store = Store::open_in_memory()?;
//!
//! let mut record = Record {
//!     id: RecordId::from_source("risks.csv", RecordKind::Risk, "R-1"),
//!     provenance: Provenance {
//!         system: "risks.csv".into(),
//!         connector: "spreadsheet".into(),
//!         external_id: "R-1".into(),
//!         location: "risks.csv:2".into(),
//!         imported_at: Utc::now(),
//!         content_hash: String::new(),
//!     },
//!     title: "Training data is biased".into(),
//!     description: None,
//!     owner: None,
//!     status: None,
//!     dates: Dates::default(),
//!     clauses: vec![ClauseRef::new(StandardId::Iso42001, "6.1.2")],
//!     hs: vec![],
//!     ai: AiFlag { flagged: true, ..AiFlag::default() },
//!     details: Details::empty(RecordKind::Risk),
//!     extra: BTreeMap::new(),
//! };
//! record.seal();
//!
//! // One transaction per imported file: all of it lands, or none.
//! let run = ImportRunStart::new("risks.csv", "risks.csv", "spreadsheet");
//! let mut import = store.begin_import(&run)?;
//! assert_eq!(import.upsert(&record)?, UpsertOutcome::Inserted);
//! // The same content again writes nothing.
//! assert_eq!(import.upsert(&record)?, UpsertOutcome::Unchanged);
//! let run = import.commit(&ImportRunSummary::default())?;
//!
//! let ai_risks_on_42001 = RecordFilter {
//!     standard: Some(StandardId::Iso42001),
//!     ai_only: true,
//!     ..RecordFilter::default()
//! };
//! assert_eq!(store.records(&ai_risks_on_42001)?, vec![record]);
//! assert_eq!(store.import_runs(1)?[0].id, run);
//! # Ok(())
//! # }
//! ```

mod codec;
mod error;
mod import;
mod schedule;
mod schema;
mod store;
mod sync;

pub use error::StoreError;
pub use import::{
    EncodedRecord, ImportCounts, ImportRun, ImportRunStart, ImportRunSummary, ImportTx,
    KnownSources, SourceCollector, SourceHash, UpsertOutcome,
};
pub use schedule::{
    Claim, LockOwner, NewRun, RunCounts, RunOutcome, RunRecord, RunTotals, ScheduleLock,
};
pub use schema::SCHEMA_VERSION;
pub use store::{DEFAULT_BUSY_TIMEOUT, RecordFilter, RecordVersion, Store, StoredRecord};
pub use sync::{Intent, JournalEntry, JournalOutcome, Link};

#[cfg(test)]
mod tests;
// The unit tests share the integration tests' helpers, which name the crate from outside.
#[cfg(test)]
extern crate self as imsbridge_store;
