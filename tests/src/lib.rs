//! Fixtures for the end-to-end tests of the `imsbridge` binary, shared with the benchmarks.
//!
//! - [`examples`] writes the realistic sample registers committed under `examples/` (the
//!   quickstart data) and knows what importing them must yield.
//! - [`corpus`] writes malformed and hostile inputs, each with the outcome the CLI contract
//!   promises for it.
//! - [`write_register_xlsx`], [`write_register_csv`] and [`generate_risk_rows`] build large
//!   generated registers quickly (the benchmark's 200k-row XLSX and 1M-row CSV).
//! - [`cli`] finds the `imsbridge` binary next to the running test and runs it with a timeout.
//!
//! All content is synthetic: invented companies, people and risks. Standards are referenced by
//! clause number and title only.

pub mod cli;
pub mod corpus;
pub mod examples;
pub mod fake_ciso;
pub mod registers;

use std::fmt;

pub use cli::imsbridge_bin;
pub use registers::{
    CsvStyle, RISK_HEADER, generate_risk_rows, write_register_csv, write_register_csv_styled,
    write_register_xlsx,
};

/// Why a fixture could not be written.
#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    Xlsx(rust_xlsxwriter::XlsxError),
    Csv(csv::Error),
    /// A fixture's own data is inconsistent (a bad date in a table, a row too long for a sheet).
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Xlsx(e) => write!(f, "writing a workbook: {e}"),
            Error::Csv(e) => write!(f, "writing a CSV file: {e}"),
            Error::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Xlsx(e) => Some(e),
            Error::Csv(e) => Some(e),
            Error::Invalid(_) => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<rust_xlsxwriter::XlsxError> for Error {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        Error::Xlsx(e)
    }
}

impl From<csv::Error> for Error {
    fn from(e: csv::Error) -> Self {
        Error::Csv(e)
    }
}

#[cfg(test)]
mod tests {
    /// The benchmark propagates fixture errors with `anyhow`, which needs these bounds.
    #[test]
    fn error_is_send_sync_static() {
        fn bounds<T: std::error::Error + Send + Sync + 'static>() {}
        bounds::<super::Error>();
    }
}
