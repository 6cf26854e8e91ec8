//! Joint audit packs: one integrated audit for several standards, from registers living in
//! several systems. A pack holds an integrated audit programme (shared HS processes audited
//! once, discipline-specific clauses apart, an order and effort weight by risk), coverage and
//! gaps per clause (imported or carried over through the HS crosswalk, each state with the
//! path it came from), an evidence index with ages, open items, and maturity per process
//! with the trend against the previous pack. It is written as `audit-pack.xlsx`,
//! `index.html`, `assessment-results.json` (OSCAL), `programme.csv` and `pack.json`.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use imsbridge_audit::{PackOptions, build, write_pack};
//! use imsbridge_mappings::Mappings;
//! use imsbridge_model::{
//!     ClauseRef, Conformity, Details, NonconformityDetails, Provenance, Record, RecordId,
//!     RecordKind, StandardId, Status,
//! };
//!
//! let mappings = Mappings::embedded()?;
//! let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
//! // An open nonconformity in the quality system's CAPA register, raised on 9001 9.2.
//! let nc = Record {
//!     id: RecordId::from_source("qms-capa.csv", RecordKind::Nonconformity, "NC-7"),
//!     provenance: Provenance {
//!         system: "qms-capa.csv".into(),
//!         connector: "spreadsheet".into(),
//!         external_id: "NC-7".into(),
//!         location: "qms-capa.csv!R7".into(),
//!         imported_at: now,
//!         content_hash: String::new(),
//!     },
//!     title: "Audit programme not updated".into(),
//!     description: None,
//!     owner: Some("QM".into()),
//!     status: Some(Status::from_label("Open")),
//!     dates: Default::default(),
//!     clauses: vec![ClauseRef::new(StandardId::Iso9001, "9.2")],
//!     hs: vec![],
//!     ai: Default::default(),
//!     details: Details::Nonconformity(NonconformityDetails::default()),
//!     extra: Default::default(),
//! };
//! let options = PackOptions::new(vec![StandardId::Iso27001, StandardId::Iso9001], now);
//! let pack = build([&nc], &mappings, options)?;
//!
//! // Internal audit is one shared process, and the 9001 finding carries over to 27001 9.2.
//! let row = pack.coverage_of(StandardId::Iso27001, "9.2").unwrap();
//! assert_eq!(row.state, Conformity::PartiallyConforming);
//! assert_eq!(
//!     row.basis[0].path,
//!     "iso27001 9.2 ← HS 9.2 (equal) ← iso9001 9.2 ← record qms-capa.csv!R7"
//! );
//!
//! let out = tempfile::tempdir()?;
//! let summary = write_pack(&pack, out.path())?;
//! assert_eq!(summary.files.len(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`scope`]: the `--scope` syntax ([`Scope`]).
//! - [`PackOptions`], [`build`] / [`PackBuilder`]: records into an [`AuditPack`]; the
//!   derivation rules are [`RULES`], the maturity criteria [`MATURITY_CRITERIA`].
//! - [`write_pack`]: the files; [`run`]: store → pack → files in one call, for the CLI.

mod build;
mod error;
mod layout;
mod maturity;
mod options;
mod pack;
pub mod scope;
mod write;

use std::path::Path;

use imsbridge_mappings::Mappings;
use imsbridge_model::RecordKind;
use imsbridge_store::{RecordFilter, Store, StoredRecord};

pub use build::{PackBuilder, RULES, build};
pub use error::{AuditError, ScopeError};
pub use maturity::{Criterion, LEVEL_NAMES, MATURITY_CRITERIA};
pub use options::{
    DEFAULT_HTML_ROW_LIMIT, DEFAULT_REVIEW_PERIOD_DAYS, PACK_JSON, PackOptions, PreviousPack,
};
pub use pack::{
    AuditPack, CoverageRow, Derivation, EvidenceCounts, EvidenceFlag, EvidenceItem, HeatCell,
    HeatRow, MaturityRow, OpenItem, OpenReason, PACK_FORMAT, PackSummary, ProgrammeClause,
    ProgrammeLine, Section, StateCounts, Trend,
};
pub use scope::Scope;
pub use write::{CSV_FILE, HTML_FILE, OSCAL_FILE, XLSX_FILE, neutralise, write_pack};

/// Why reading the store stopped early.
enum ReadStop {
    Store(imsbridge_store::StoreError),
    BuilderGone,
}

impl From<imsbridge_store::StoreError> for ReadStop {
    fn from(e: imsbridge_store::StoreError) -> ReadStop {
        ReadStop::Store(e)
    }
}

/// Records per hand-over from the store reader to the builder.
const BATCH: usize = 512;

/// Reads the records in scope from `store`, builds the pack and writes it into `out_dir`.
/// When `options.previous` is `None`, the trend compares with `out_dir/pack.json` if there
/// is one.
pub fn run(
    store: &Store,
    mappings: &Mappings,
    mut options: PackOptions,
    out_dir: &Path,
) -> Result<PackSummary, AuditError> {
    if options.previous.is_none() {
        options.previous = PreviousPack::read(out_dir)?;
    }
    // Narrow the store query where the scope maps onto its filter exactly; the builder
    // applies the whole scope anyway.
    let filter = RecordFilter {
        kind: match options.scope.kinds.as_slice() {
            [one] => Some(*one),
            _ => None::<RecordKind>,
        },
        ai_only: options.scope.ai == Some(true),
        ..RecordFilter::default()
    };
    let builder = PackBuilder::new(mappings, options)?;
    let started = std::time::Instant::now();
    // This thread reads rows from the store (where its connection lives); a second one
    // decodes them and builds the pack, decoding being most of a read's cost. Rows cross in
    // batches to keep the hand-over cheap.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<StoredRecord>>(8);
    let pack = std::thread::scope(|scope| {
        let building = scope.spawn(move || {
            let mut builder = builder;
            for batch in rx {
                for stored in batch {
                    builder.add_owned(stored.decode()?);
                }
            }
            builder.finish()
        });
        let mut batch = Vec::with_capacity(BATCH);
        let read = store.for_each_stored_record(&filter, |record| {
            batch.push(record);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                // A closed channel means the builder stopped on an error, reported below.
                if tx.send(full).is_err() {
                    return Err(ReadStop::BuilderGone);
                }
            }
            Ok(())
        });
        // The last batch, then the end of the stream (dropping the sender).
        let read = match read {
            Ok(()) => {
                let _ = tx.send(batch);
                Ok(())
            }
            Err(e) => Err(e),
        };
        drop(tx);
        let built = building.join().unwrap_or(Err(AuditError::Panicked {
            what: "pack builder",
        }));
        match (read, built) {
            (Err(ReadStop::Store(e)), _) => Err(AuditError::Store(e)),
            // The builder's own error says why it stopped.
            (_, built) => built,
        }
    })?;
    tracing::debug!(
        records = pack.records,
        elapsed_ms = started.elapsed().as_millis(),
        "audit pack: records read and views built"
    );
    write_pack(&pack, out_dir)
}
