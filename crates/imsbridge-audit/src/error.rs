use std::path::PathBuf;

use imsbridge_connector_oscal::ExportError;
use imsbridge_store::StoreError;

/// What stops an audit pack. Each message names the file, folder or option to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error(
        "no standard chosen for the audit pack; pass one or more of iso27001, iso9001, iso42001, \
         iso14001, iso45001, iso22301"
    )]
    NoStandard,

    #[error(
        "{standard} cannot be part of an audit pack: {reason}; choose among iso27001, iso9001, \
         iso42001, iso14001, iso45001, iso22301"
    )]
    Standard { standard: String, reason: String },

    #[error(transparent)]
    Scope(#[from] ScopeError),

    #[error(
        "the scope names HS clause `{clause}`, which mappings/hs.toml does not list; use a clause \
         number of the Harmonized Structure (4 … 10.2), e.g. hs=9.2 or hs=7"
    )]
    UnknownHsClause { clause: String },

    #[error(
        "cannot read the previous pack {}: {reason}; move or delete it to write a pack without \
         a trend",
        path.display()
    )]
    PreviousPack { path: PathBuf, reason: String },

    #[error("cannot create the output folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write the workbook {}: {source}", path.display())]
    Xlsx {
        path: PathBuf,
        source: rust_xlsxwriter::XlsxError,
    },

    #[error("cannot export the OSCAL assessment results: {0}")]
    Oscal(#[from] ExportError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("the {what} stopped unexpectedly; this is a bug in imsbridge, please report it")]
    Panicked { what: &'static str },
}

/// A `--scope` text that cannot be read; names the part (1-based, `;`-separated) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope part {index} `{part}`: {reason}")]
pub struct ScopeError {
    pub index: usize,
    pub part: String,
    pub reason: String,
}
