//! Imports register files into the store: every valid row of every register sheet (and every
//! element of an OSCAL document) in one transaction, rejected rows reported and written to a
//! rejects CSV, the run recorded.
//!
//! ```no_run
//! use std::path::Path;
//! use imsbridge_import::{ImportOptions, import_path};
//! use imsbridge_mappings::Mappings;
//! use imsbridge_store::Store;
//!
//! let mappings = Mappings::embedded()?;
//! let mut store = Store::open(Path::new("imsbridge.db"))?;
//! let options = ImportOptions::new(mappings.default_profile().clone(), Path::new("."));
//! let report = import_path(&mut store, &mappings, Path::new("examples/"), &options, &mut |_| {})?;
//! println!("{} imported, {} rejected", report.imported, report.rejected);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod files;
mod oscal;
mod rejects;
mod report;
mod run;

pub use error::ImportError;
pub use files::register_files;
/// For a panic hook: a panic inside the spreadsheet parser is contained and reported as a
/// damaged file.
pub use imsbridge_connector_spreadsheet::inside_guarded_read;
pub use rejects::RejectsFile;
pub use report::{ImportReport, Warning};
pub use run::{ImportOptions, import_path};
