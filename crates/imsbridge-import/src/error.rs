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
    #[error("{path}: {message}")]
    NoRegister { path: PathBuf, message: String },
    #[error("{}: no register files here (looked for .xlsx, .xlsm, .xlsb, .xls, .ods, .csv, .tsv)", path.display())]
    EmptyFolder { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the rejects file {}: {source}", path.display())]
    Rejects { path: PathBuf, source: csv::Error },
}
