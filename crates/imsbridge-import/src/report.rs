use std::collections::BTreeMap;
use std::path::PathBuf;

use imsbridge_model::RecordKind;
use serde::Serialize;

/// A problem that did not stop a row from importing, or a rejected row's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub location: String,
    pub message: String,
}

/// What an import did. Serialises as the `--format json` output of `imsbridge import`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// New records written.
    pub imported: u64,
    /// Changed records written (the previous version kept in history).
    pub updated: u64,
    /// Records whose content hash matched the store: nothing written.
    pub unchanged: u64,
    /// Rows that could not be imported (see `rejects` and the rejects file).
    pub rejected: u64,
    pub warnings: Vec<Warning>,
    /// The rejected rows with their reasons.
    pub rejects: Vec<Warning>,
    pub rejects_file: Option<PathBuf>,
    /// Records read in this run, by kind.
    pub records: BTreeMap<RecordKind, u64>,
    /// The sheets imported, with their kinds: `file.xlsx!Risks` → risk.
    pub sheets: BTreeMap<String, RecordKind>,
    pub dry_run: bool,
    /// The import run's id in the store (none for a dry run).
    pub run_id: Option<i64>,
    /// Of the unchanged records, those recognised by their source row's hash, without mapping
    /// the row. Diagnostic only: not part of the JSON output.
    #[serde(skip)]
    pub recognised: u64,
}
