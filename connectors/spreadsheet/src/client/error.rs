//! [`ReadError`]: everything that stops a file or a sheet from being read.
//!
//! Each message names the file (and sheet/cell where known), says what was
//! expected, and what the user can do about it.

use super::{Format, Location};

/// Why a spreadsheet could not be opened or a table not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },

    /// The name promises one format, the content is something else.
    #[error("{file} is not {expected}: {reason}")]
    WrongFormat {
        file: String,
        /// What the extension promised, e.g. "an Excel workbook".
        expected: &'static str,
        reason: String,
    },

    #[error(
        "{file} is not a spreadsheet that can be imported: {reason}. Save it as .xlsx or .csv and import that"
    )]
    UnsupportedFormat { file: String, reason: String },

    #[error(
        "{file}: workbook is password-protected; save a copy without a password and import that"
    )]
    Encrypted { file: String },

    /// Damaged, truncated or malformed content.
    #[error(
        "{location} is damaged or incomplete ({detail}); open it in Excel or LibreOffice, save it again and import the new copy"
    )]
    Corrupt { location: Location, detail: String },

    /// Zip-bomb guard: the archive would expand beyond the configured limits.
    #[error("{file}: refusing to unpack {entry}: {reason}")]
    TooLarge {
        file: String,
        /// The zip entry, or "the archive" for the total.
        entry: String,
        uncompressed: u64,
        compressed: u64,
        reason: String,
    },

    /// A CSV record grew beyond the per-record limit, nearly always because
    /// a quote was opened and never closed.
    #[error(
        "{location}: a record is longer than {limit_bytes} bytes, which usually means a field opens a double quote (\") that is never closed; check the quotes from this record on"
    )]
    RecordTooLarge {
        location: Location,
        limit_bytes: u64,
    },

    /// The workbook opened but lists no worksheet.
    #[error(
        "{file} contains no worksheets (only chart sheets, or the workbook is damaged); open it, check that it holds the register and save it again"
    )]
    NoWorksheets { file: String },

    #[error(
        "{file} has no sheet named \"{wanted}\"; its sheets are: {}",
        quoted_list(available)
    )]
    SheetNotFound {
        file: String,
        wanted: String,
        available: Vec<String>,
    },

    #[error(
        "{file} has several sheets matching \"{wanted}\" when case and spaces are ignored ({}); use the exact name",
        quoted_list(candidates)
    )]
    SheetAmbiguous {
        file: String,
        wanted: String,
        candidates: Vec<String>,
    },

    /// No row in the scanned range looked like a header.
    #[error("{location}: {}", describe_no_header(*scanned_rows, expected, best))]
    NoHeader {
        location: Location,
        scanned_rows: usize,
        /// What was looked for. A generic sentence unless the caller set it
        /// with [`ReadError::with_expected`].
        expected: String,
        /// The best-scoring row: its number, its score and its first cells
        /// (boxed to keep `ReadError` small on the happy path).
        best: Option<Box<BestCandidate>>,
    },
}

/// The row that came closest to being a header, for [`ReadError::NoHeader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestCandidate {
    pub row: u32,
    pub score: usize,
    /// The first few non-empty cells of that row, shortened.
    pub cells: Vec<String>,
}

impl ReadError {
    /// Replaces the "what was looked for" text of a [`ReadError::NoHeader`]
    /// (the mapper knows its column names; the reader does not). Other
    /// errors are returned unchanged.
    pub fn with_expected(self, expected: impl Into<String>) -> ReadError {
        match self {
            ReadError::NoHeader {
                location,
                scanned_rows,
                best,
                ..
            } => ReadError::NoHeader {
                location,
                scanned_rows,
                expected: expected.into(),
                best,
            },
            other => other,
        }
    }

    /// Where the problem is, as far as known.
    pub fn location(&self) -> Location {
        match self {
            ReadError::Corrupt { location, .. }
            | ReadError::RecordTooLarge { location, .. }
            | ReadError::NoHeader { location, .. } => location.clone(),
            ReadError::Io { file, .. }
            | ReadError::WrongFormat { file, .. }
            | ReadError::UnsupportedFormat { file, .. }
            | ReadError::Encrypted { file }
            | ReadError::TooLarge { file, .. }
            | ReadError::NoWorksheets { file }
            | ReadError::SheetNotFound { file, .. }
            | ReadError::SheetAmbiguous { file, .. } => Location::file(file.clone()),
        }
    }

    pub(super) fn io(file: &str, source: std::io::Error) -> ReadError {
        ReadError::Io {
            file: file.to_owned(),
            source,
        }
    }

    pub(super) fn corrupt(location: &Location, detail: impl std::fmt::Display) -> ReadError {
        ReadError::Corrupt {
            location: location.clone(),
            detail: detail.to_string(),
        }
    }

    pub(super) fn not_a(file: &str, format: Format, reason: impl Into<String>) -> ReadError {
        ReadError::WrongFormat {
            file: file.to_owned(),
            expected: match format {
                Format::Xlsx | Format::Xlsm | Format::Xlsb => "an Excel workbook",
                Format::Xls => "an Excel 97-2003 workbook",
                Format::Ods => "an OpenDocument spreadsheet",
                Format::Csv => "a text (CSV) file",
            },
            reason: reason.into(),
        }
    }
}

/// The sentence used in [`ReadError::NoHeader`] until the mapper supplies a
/// better one.
pub(super) const GENERIC_EXPECTED: &str =
    "looked for a row in which at least 2 cells name columns the import profile knows";

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_owned();
    }
    names
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_no_header(
    scanned_rows: usize,
    expected: &str,
    best: &Option<Box<BestCandidate>>,
) -> String {
    match best {
        Some(best) if scanned_rows > 0 => format!(
            "no header row found in the first {scanned_rows} non-blank rows; {expected}. The closest was row {} ({}) with {} recognised name{}; check the sheet name and the profile's column names",
            best.row,
            quoted_list(&best.cells),
            best.score,
            if best.score == 1 { "" } else { "s" },
        ),
        _ => format!(
            "the sheet has no non-blank rows, so there is no header row; {expected}. Check that the profile names the right sheet"
        ),
    }
}
