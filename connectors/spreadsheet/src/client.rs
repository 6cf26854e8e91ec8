//! The reading side of the connector: opens a file, tells its format by its
//! content, lists sheets, finds the header row and streams the rows below it.
//!
//! Submodules:
//! - `detect` — format detection by magic bytes and zip entries, zip-bomb guard;
//! - `ole` — just enough of the OLE2 compound-file format to list stream names
//!   (to tell an encrypted OOXML workbook from a real `.xls`);
//! - `workbook` — XLSX/XLSM/XLSB streaming and XLS/ODS via calamine, merges;
//! - `xlsx_merges` — a fast scan for an XLSX sheet's merged regions;
//! - `csv` — encoding and delimiter sniffing, streaming records;
//! - `header` — header detection, two-row headers, handing rows to the caller;
//! - `error` — [`ReadError`].

mod csv;
mod detect;
mod error;
mod header;
mod ole;
mod workbook;
mod xlsx_merges;
pub use workbook::inside_guarded_read;

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::config::ReadOptions;

pub use error::{BestCandidate, ReadError};

/// One cell value as read from the file.
///
/// Formulas are represented by their cached value (what Excel last showed).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A workbook cell formatted as a date or date-time. Plain numbers stay
    /// [`Cell::Number`] even when they happen to look like date serials.
    DateTime(chrono::NaiveDateTime),
    /// A formula error as Excel shows it (`"#REF!"`, `"#N/A"` …), or a
    /// message from the reader when the cell broke a limit
    /// (`"cell holds 1048576 characters; the limit is 32767"`). The mapper
    /// should reject the row and report the text.
    Error(String),
}

impl Cell {
    /// True for [`Cell::Empty`] and for text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text, the way it is used for header names: numbers
    /// without a trailing `.0`, dates as ISO 8601, booleans as Excel writes
    /// them. Empty cells give an empty string.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) => text.clone(),
            Cell::Number(n) => format_number(*n),
            Cell::Bool(true) => "TRUE".to_owned(),
            Cell::Bool(false) => "FALSE".to_owned(),
            Cell::DateTime(dt) => {
                if dt.time() == chrono::NaiveTime::MIN {
                    dt.format("%Y-%m-%d").to_string()
                } else {
                    dt.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            }
            Cell::Error(text) => text.clone(),
        }
    }
}

/// Formats a number the way a user typed it: `3`, not `3.0`.
fn format_number(n: f64) -> String {
    // Integral values within f64's exact-integer range print without a
    // fraction; everything else uses Rust's shortest round-trip form.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// One row of the table below the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based row number as the spreadsheet application shows it; for CSV
    /// the record number, the header record (and any title records) counted.
    /// Blank rows are not passed on, so numbers can jump.
    pub number: u32,
    /// Cells by column index (0 = column A). Workbook rows end at their last
    /// non-empty cell; CSV rows have exactly the record's field count (capped
    /// at `max_columns`). Use [`Row::get`] to read past the end safely.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell at a column index, [`Cell::Empty`] past the end of the row.
    pub fn get(&self, index: usize) -> &Cell {
        const EMPTY: &Cell = &Cell::Empty;
        self.cells.get(index).unwrap_or(EMPTY)
    }

    /// True when every cell is blank (see [`Cell::is_blank`]).
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_blank)
    }
}

/// One column of the detected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// 0-based column index, the index into [`Row::cells`].
    pub index: usize,
    /// Column letter(s) as the spreadsheet shows them: `"C"`, `"AA"`.
    pub letter: String,
    /// Header text with whitespace collapsed; two-row headers combined
    /// (`"Inherent Likelihood"`); empty header cells named `"Column F"`;
    /// repeated names suffixed `" (2)"`, `" (3)"` ….
    pub name: String,
}

/// The header found by [`SpreadsheetFile::read_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// First header row (the group-label row of a two-row header).
    pub first_row: u32,
    /// Last header row; data rows follow it.
    pub last_row: u32,
    /// Columns from A to the last column with a header name.
    pub columns: Vec<Column>,
}

/// Where something is in a file, for messages.
///
/// Displays as `risks.xlsx!Risks!C7`, `capa.csv!C7` (CSV has no sheet),
/// `risks.xlsx!Risks!7` (whole row), `risks.xlsx!Risks` (whole sheet) or
/// `risks.xlsx` (whole file). A `row` of 0 means "no particular row".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// File name only, never the full path (paths can carry user names).
    pub file: String,
    pub sheet: Option<String>,
    pub row: u32,
    pub column: Option<usize>,
}

impl Location {
    /// The whole file.
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            sheet: None,
            row: 0,
            column: None,
        }
    }

    /// The same place, narrowed to a row.
    pub fn at_row(&self, row: u32) -> Location {
        Location {
            row,
            column: None,
            ..self.clone()
        }
    }

    /// The same place, narrowed to a cell.
    pub fn at_cell(&self, row: u32, column: usize) -> Location {
        Location {
            row,
            column: Some(column),
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, "!{sheet}")?;
        }
        match (self.column, self.row) {
            (Some(column), 0) => write!(f, "!{}", column_letter(column)),
            (Some(column), row) => write!(f, "!{}{row}", column_letter(column)),
            (None, 0) => Ok(()),
            (None, row) => write!(f, "!{row}"),
        }
    }
}

/// Spreadsheet column letters for a 0-based index: 0 → `"A"`, 25 → `"Z"`,
/// 26 → `"AA"`, 16383 → `"XFD"`.
pub fn column_letter(index: usize) -> String {
    // Bijective base-26: there is no zero digit, hence the `- 1` per step.
    let mut letters = Vec::new();
    let mut n = index as u128 + 1;
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8_lossy(&letters).into_owned()
}

/// The file format, decided from the file's content rather than its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
    Csv,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Xlsx => "XLSX",
            Format::Xlsm => "XLSM",
            Format::Xlsb => "XLSB",
            Format::Xls => "XLS",
            Format::Ods => "ODS",
            Format::Csv => "CSV",
        })
    }
}

/// What [`SpreadsheetFile::read_table`] reports when it is done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableSummary {
    /// Rows passed to `on_row` (blank rows are skipped and not counted).
    pub rows: u64,
    /// Problems that did not stop reading: columns beyond `max_columns`,
    /// CSV fields that were not valid UTF-8, …
    pub warnings: Vec<(Location, String)>,
}

/// An opened spreadsheet file. `Send`, so imports can run on worker threads.
pub struct SpreadsheetFile {
    path: PathBuf,
    file_name: String,
    format: Format,
    options: ReadOptions,
    sheets: Vec<String>,
    backend: Backend,
}

/// The format-specific reader behind a [`SpreadsheetFile`].
enum Backend {
    Workbook(workbook::Workbook),
    Csv(csv::CsvPlan),
}

impl fmt::Debug for SpreadsheetFile {
    // calamine's readers do not implement Debug; the fields that identify the
    // file are what a log needs anyway.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpreadsheetFile")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("sheets", &self.sheets)
            .finish_non_exhaustive()
    }
}

impl SpreadsheetFile {
    /// Opens a file, deciding its format from its content.
    ///
    /// Zip-based workbooks are checked against the zip-bomb limits of
    /// `options` before anything is inflated. Errors name the file and say
    /// what to do (re-save, remove the password, export as CSV …).
    pub fn open(path: &Path, options: &ReadOptions) -> Result<SpreadsheetFile, ReadError> {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let detected = detect::detect(path, &file_name, options)?;
        let (backend, sheets) = match detected.format {
            Format::Csv => {
                let plan = csv::CsvPlan::sniff(path, &file_name)?;
                let stem = path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file_name.clone());
                (Backend::Csv(plan), vec![stem])
            }
            format => {
                let workbook = workbook::Workbook::open(path, &file_name, format)?;
                let sheets = workbook.sheet_names();
                if sheets.is_empty() {
                    return Err(ReadError::NoWorksheets { file: file_name });
                }
                (Backend::Workbook(workbook), sheets)
            }
        };
        tracing::debug!(file = %file_name, format = %detected.format, sheets = sheets.len(), "opened spreadsheet");
        Ok(SpreadsheetFile {
            path: path.to_path_buf(),
            file_name,
            format: detected.format,
            options: options.clone(),
            sheets,
            backend,
        })
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file name (without directories), as used in [`Location`]s.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Worksheet names in workbook order (chart sheets left out). A CSV file
    /// has one sheet named after the file stem.
    pub fn sheet_names(&self) -> Vec<String> {
        self.sheets.clone()
    }

    /// Finds a sheet by name, tolerant of case and of leading/trailing
    /// spaces (`"risks "` finds `"Risks"`); an exact match always wins.
    ///
    /// A CSV file has a single table, so any wanted name finds it: profiles
    /// name sheets for workbooks and the same profile should work on a CSV
    /// export.
    pub fn find_sheet(&self, wanted: &str) -> Result<String, ReadError> {
        if let Backend::Csv(_) = self.backend {
            return self
                .sheets
                .first()
                .cloned()
                .ok_or_else(|| ReadError::SheetNotFound {
                    file: self.file_name.clone(),
                    wanted: wanted.to_owned(),
                    available: Vec::new(),
                });
        }
        if let Some(exact) = self.sheets.iter().find(|name| name.as_str() == wanted) {
            return Ok(exact.clone());
        }
        let key = wanted.trim().to_lowercase();
        let matches: Vec<&String> = self
            .sheets
            .iter()
            .filter(|name| name.trim().to_lowercase() == key)
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ReadError::SheetNotFound {
                file: self.file_name.clone(),
                wanted: wanted.to_owned(),
                available: self.sheets.clone(),
            }),
            several => Err(ReadError::SheetAmbiguous {
                file: self.file_name.clone(),
                wanted: wanted.to_owned(),
                candidates: several.iter().map(|name| (*name).clone()).collect(),
            }),
        }
    }

    /// Streams one sheet.
    ///
    /// 1. Among the first `header_scan_rows` non-blank rows, the row with the
    ///    highest `score` (at least 2) becomes the header; `score` receives
    ///    the row's cells as text, whitespace collapsed, empty cells as `""`.
    ///    Rows above it (titles, instructions) are ignored. When the row
    ///    directly above carries group labels ("Inherent" over "Likelihood |
    ///    Impact"), they are combined into the names if that raises `score`.
    /// 2. `on_header` is called once; an error from it ends the read.
    /// 3. `on_row` is called for every non-blank row below the header, in
    ///    order; returning `ControlFlow::Break` stops reading early.
    ///
    /// `sheet` is looked up like [`find_sheet`](Self::find_sheet). The
    /// callbacks' error type only has to accept a [`ReadError`], so a mapper
    /// can use its own error type.
    pub fn read_table<E: From<ReadError>>(
        &mut self,
        sheet: &str,
        score: &dyn Fn(&[String]) -> usize,
        on_header: &mut dyn FnMut(&Header) -> Result<(), E>,
        on_row: &mut dyn FnMut(Row) -> ControlFlow<()>,
    ) -> Result<TableSummary, E> {
        let sheet = self.find_sheet(sheet)?;
        let location = Location {
            file: self.file_name.clone(),
            sheet: match self.backend {
                Backend::Csv(_) => None,
                Backend::Workbook(_) => Some(sheet.clone()),
            },
            row: 0,
            column: None,
        };
        let mut warnings = Vec::new();
        let (merges, supports_merges) = match &mut self.backend {
            Backend::Workbook(workbook) => {
                let merges = workbook.merges(&sheet, &location)?;
                (merges, workbook.supports_merges())
            }
            Backend::Csv(_) => (Vec::new(), false),
        };
        let mut table = header::TableAssembler::new(
            location.clone(),
            &self.options,
            score,
            on_header,
            on_row,
            merges.clone(),
            supports_merges,
        );
        match &mut self.backend {
            Backend::Workbook(workbook) => workbook.stream(
                &sheet,
                &location,
                &self.options,
                &merges,
                &mut table,
                &mut warnings,
            )?,
            Backend::Csv(plan) => plan.stream(
                &self.path,
                &location,
                &self.options,
                &mut table,
                &mut warnings,
            )?,
        }
        let rows = table.finish()?;
        Ok(TableSummary { rows, warnings })
    }
}

/// Receives the rows a format reader produces, in sheet order.
///
/// Implemented by [`header::TableAssembler`]; a trait so the format readers
/// need not know about header detection or the caller's error type.
trait RowSink {
    type Error;
    /// Takes one row; `Break` asks the reader to stop.
    fn push(&mut self, row: Row) -> Result<ControlFlow<()>, Self::Error>;
}

/// Counts columns a reader had to drop because of `max_columns`, so one
/// warning can report the sheet's real width.
#[derive(Debug, Default)]
struct ColumnOverflow {
    first: Option<(u32, usize)>,
    widest: usize,
}

impl ColumnOverflow {
    fn record(&mut self, row: u32, column: usize) {
        if self.first.is_none() {
            self.first = Some((row, column));
        }
        self.widest = self.widest.max(column.saturating_add(1));
    }

    fn into_warning(self, location: &Location, max_columns: usize) -> Option<(Location, String)> {
        let (row, _) = self.first?;
        Some((
            location.at_cell(row, max_columns),
            format!(
                "the sheet uses {} columns; only the first {} (A to {}) were read. \
                 Delete the unused columns or raise max_columns if data lies further right",
                self.widest,
                max_columns,
                column_letter(max_columns.saturating_sub(1)),
            ),
        ))
    }
}

/// Applies the `max_cell_chars` limit to a text value.
///
/// Returns the error cell instead of the text when it is too long, so the
/// mapper rejects the row rather than importing a truncated value.
fn limit_text(text: &str, max_chars: usize) -> Option<Cell> {
    // Byte length bounds the char count from above: cheap early exit for
    // the common short cell.
    if text.len() <= max_chars {
        return None;
    }
    let chars = text.chars().count();
    (chars > max_chars).then(|| {
        Cell::Error(format!(
            "cell holds {chars} characters; the limit is {max_chars}"
        ))
    })
}

#[cfg(test)]
mod tests;
