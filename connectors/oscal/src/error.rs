//! Why an OSCAL document was refused, and where.

use std::fmt;

use thiserror::Error;

/// What went wrong, for callers that react differently (and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// Larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    TooLarge,
    /// Not UTF-8 (or an XML declaration naming another encoding).
    Encoding,
    /// Neither JSON nor XML, or no OSCAL model at the root.
    NotOscal,
    /// An OSCAL model imsbridge does not read (SSP, component definition, assessment plan).
    UnsupportedModel,
    /// Not well-formed JSON or XML.
    Syntax,
    /// The document ends early.
    Truncated,
    /// Nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep,
    /// An XML DOCTYPE or an entity other than XML's five: refused, never expanded.
    Dtd,
    /// Well-formed, but not valid OSCAL: a missing required field, a bad UUID, token,
    /// date, or an `oscal-version` outside 1.0–1.2.
    Invalid,
    /// A mapping collection holds no records to import.
    NothingToImport,
    /// The built-in mapping data could not be loaded.
    Mappings,
}

/// Where in a document: the file, and a JSON path or XML line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file name (or what the caller called the input).
    pub source: String,
    /// JSON: the path of the value (`catalog.groups[3].controls[0].id`).
    pub path: Option<String>,
    /// Line and column, both from 1.
    pub line: Option<(u64, u64)>,
}

impl Location {
    pub fn file(source: &str) -> Location {
        Location {
            source: source.to_string(),
            path: None,
            line: None,
        }
    }

    /// The line and column of a byte offset in `text`.
    pub(crate) fn at_offset(source: &str, text: &[u8], offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or_default();
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let column = before
            .get(line_start..)
            .map_or(0, |rest| String::from_utf8_lossy(rest).chars().count())
            as u64
            + 1;
        Location {
            source: source.to_string(),
            path: None,
            line: Some((line, column)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(path), Some((l, c))) => {
                write!(f, "{}: {path} (line {l}, column {c})", self.source)
            }
            (Some(path), None) => write!(f, "{}: {path}", self.source),
            (None, Some((l, c))) => write!(f, "{}:{l}:{c}", self.source),
            (None, None) => f.write_str(&self.source),
        }
    }
}

/// A refused document: what, where, and what to do about it.
#[derive(Debug, Error)]
#[error("{location}: {message}")]
pub struct OscalError {
    pub kind: ErrorKind,
    pub location: Location,
    pub message: String,
    #[source]
    pub source: Option<std::io::Error>,
}

impl OscalError {
    pub(crate) fn new(kind: ErrorKind, location: Location, message: impl Into<String>) -> Self {
        OscalError {
            kind,
            location,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        OscalError {
            kind: ErrorKind::Io,
            location: Location::file(&path.display().to_string()),
            message: format!("cannot read the file: {source}"),
            source: Some(source),
        }
    }
}

/// Why an export could not be made.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ExportError {
    #[error("nothing to export: {0}")]
    Empty(String),
    #[error("{standard} has no clause list in the mapping data")]
    UnknownStandard { standard: String },
    #[error("no crosswalk from {from} to {to}: {reason}")]
    NoCrosswalk {
        from: String,
        to: String,
        reason: String,
    },
}
