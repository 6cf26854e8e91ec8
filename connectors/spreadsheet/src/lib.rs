//! Reads registers (risks, controls, assessments, nonconformities …) from
//! spreadsheets: XLSX, XLSM, XLSB, XLS, ODS and CSV.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use std::path::Path;
//!
//! use imsbridge_connector_spreadsheet::{ReadError, ReadOptions, SpreadsheetFile};
//!
//! let mut file = SpreadsheetFile::open(Path::new("risks.xlsx"), &ReadOptions::default())?;
//! let sheet = file.find_sheet("risks")?; // finds "Risks "
//!
//! // The header is the row in which the most names are recognised.
//! let known = ["id", "title", "owner", "inherent likelihood", "inherent impact"];
//! let score = |names: &[String]| {
//!     names.iter().filter(|n| known.contains(&n.to_lowercase().as_str())).count()
//! };
//! let summary = file.read_table(
//!     &sheet,
//!     &score,
//!     &mut |header| {
//!         for column in &header.columns {
//!             println!("{} = {}", column.letter, column.name); // "D = Inherent Likelihood"
//!         }
//!         Ok::<(), ReadError>(())
//!     },
//!     &mut |row| {
//!         println!("row {}: {:?}", row.number, row.get(0));
//!         ControlFlow::Continue(())
//!     },
//! )?;
//! for (location, warning) in &summary.warnings {
//!     eprintln!("{location}: {warning}"); // "risks.xlsx!Risks!AMK2: the sheet uses …"
//! }
//! # Ok::<(), ReadError>(())
//! ```
//!
//! Modules:
//! - [`client`] — opening files (format by content, zip-bomb and size
//!   limits), sheets, header detection and row streaming; the value types
//!   [`Cell`], [`Row`], [`Header`], [`Location`];
//! - [`config`] — [`ReadOptions`], the limits applied to untrusted files;
//! - [`map`] — [`SheetMapper`]: a sheet's header and first rows planned into
//!   a mapping (fields, scales, date order), then rows into unified-model
//!   records or rejections naming the cell;
//! - [`dates`] — turning cells into dates: serials, ISO, day/month-first,
//!   month names, with [`DateError::Ambiguous`] for `01/03/2026`.

pub mod client;
pub mod config;
pub mod dates;
pub mod map;

pub use client::{
    Cell, Column, Format, Header, Location, ReadError, Row, SpreadsheetFile, TableSummary,
    column_letter, inside_guarded_read,
};
pub use config::{ReadOptions, SystemConfig};
pub use dates::{DateError, DateOrder, infer_order, parse_date};
pub use map::{
    Issue, MappedRow, PlanError, SAMPLE_ROWS, SheetMapper, SheetSource, SourceKey, cell_text,
};
