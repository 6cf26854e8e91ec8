use std::path::PathBuf;

use thiserror::Error;

/// Why an import wrote nothing. Row-level problems are not errors: they are rejected rows in
/// the report.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error(transparent)]
    Read(#[from] imsbridge_connector_spreadsheet::ReadError),
    #[error(transparent)]
    Plan(#[from] imsbridge_connector_spreadsheet::PlanError),
    #[error(transparent)]
    Store(#[from] imsbridge_store::StoreError),
    /// An OSCAL document that cannot be read; the message names the JSON path or XML line.
    #[error(transparent)]
    Oscal(#[from] imsbridge_connector_oscal::OscalError),
    #[error("{path}: {message}")]
    NoRegister { path: PathBuf, message: String },
    #[error("{}: no register files here (looked for .xlsx, .xlsm, .xlsb, .xls, .ods, .csv, .tsv, and OSCAL .json/.xml)", path.display())]
    EmptyFolder { path: PathBuf },
    // The cause is part of the message and deliberately not a `source`: printed with its
    // chain, it would say the same thing twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("writing the rejects file {}: {error}", path.display())]
    Rejects { path: PathBuf, error: csv::Error },
}
