use thiserror::Error;

/// Why a value could not be turned into a model type. Messages name what was expected so that
/// the caller can prefix the location (file, sheet, cell) and show it to a user as is.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error(
        "unknown standard {0:?}: expected one of iso27001, iso9001, iso42001, iso14001, iso45001, iso22301, iso31000, coso-erm or hs (a suffix such as :2022 is accepted)"
    )]
    UnknownStandard(String),
    #[error(
        "{0:?} is not a clause reference: expected a clause number such as 6.1.2 or an Annex A control such as A.5.7, optionally after a standard (ISO/IEC 27001:2022 6.1.2)"
    )]
    BadClause(String),
    #[error(
        "clause {0:?} names no standard: write it as \"27001 {0}\", add a Standard column, or say which standard (--standard, or `standard` in a profile)"
    )]
    NoStandard(String),
    #[error(
        "{reference:?} names the {year} edition; the clause maps cover {mapped} only: give the reference in that edition's numbering"
    )]
    UnsupportedEdition {
        reference: String,
        year: String,
        mapped: &'static str,
    },
    #[error("unknown record kind {0:?}: expected one of {kinds}", kinds = crate::RecordKind::ALL_NAMES.join(", "))]
    UnknownKind(String),
    #[error("{value:?} is not a known {what}: expected {expected}")]
    UnknownWord {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}
