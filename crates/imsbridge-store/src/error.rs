use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::ErrorCode;
use thiserror::Error;

/// Everything that can go wrong with a store. Each message names the store and says what the
/// user can do about it; the CLI prints them as they are.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open store {}: {reason}", path.display())]
    CannotOpen { path: PathBuf, reason: String },

    #[error(
        "{} is not an imsbridge store: {reason} (pass the path of a store created by imsbridge, \
         or a new path to create one)",
        path.display()
    )]
    NotAStore { path: PathBuf, reason: &'static str },

    #[error(
        "store {} was written by a newer imsbridge (schema {found}, this build knows {known}); \
         upgrade imsbridge to use it",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },

    #[error(
        "store {} is locked by another process (waited {} ms); try again when the other import \
         or sync has finished",
        path.display(),
        waited.as_millis()
    )]
    Locked { path: PathBuf, waited: Duration },

    #[error(
        "store {} is damaged ({detail}); restore it from a backup or import into a new store",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error("record {id} in store {} cannot be read: {reason}", path.display())]
    BadRecord {
        path: PathBuf,
        id: String,
        reason: String,
    },

    #[error(
        "no space left to write store {}; free disk space and run again (nothing of the \
         interrupted transaction was saved)",
        path.display()
    )]
    DiskFull { path: PathBuf },

    #[error(
        "store {} is read-only; check the permissions of the file and its directory",
        path.display()
    )]
    ReadOnly { path: PathBuf },

    #[error("cannot upgrade store {} to schema {version}: {source}", path.display())]
    Migration {
        path: PathBuf,
        version: u32,
        source: rusqlite::Error,
    },

    #[error("record {id} cannot be serialised for store {}: {source}", path.display())]
    Serialise {
        path: PathBuf,
        id: String,
        source: serde_json::Error,
    },

    /// Serialising a record for storage before any store is involved (see
    /// [`crate::EncodedRecord`]).
    #[error("record {id} cannot be serialised for storage: {source}")]
    Encode {
        id: String,
        source: serde_json::Error,
    },

    #[error(
        "the import into store {} was aborted by an earlier error; nothing of it was saved",
        path.display()
    )]
    ImportAborted { path: PathBuf },

    #[error("store {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// What every SQL error needs to become a [`StoreError`] a user can act on.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) path: PathBuf,
    pub(crate) busy_timeout: Duration,
}

impl Ctx {
    /// Classifies a SQLite error by its code: the codes a user can do something about get
    /// their own variant, the rest keep SQLite's message.
    pub(crate) fn sql(&self, e: rusqlite::Error) -> StoreError {
        let path = self.path.clone();
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked {
                path,
                waited: self.busy_timeout,
            },
            Some(ErrorCode::NotADatabase) => StoreError::NotAStore {
                path,
                reason: "it is not a SQLite database",
            },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path,
                detail: e.to_string(),
            },
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { path },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
            Some(ErrorCode::CannotOpen) => StoreError::CannotOpen {
                reason: cannot_open_reason(&path, &e),
                path,
            },
            _ => StoreError::Sqlite { path, source: e },
        }
    }

    pub(crate) fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn bad_record(&self, id: impl ToString, reason: impl ToString) -> StoreError {
        StoreError::BadRecord {
            path: self.path.clone(),
            id: id.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// SQLite says only "unable to open database file"; the usual cause is a missing directory,
/// which is worth saying outright.
fn cannot_open_reason(path: &Path, e: &rusqlite::Error) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            format!("directory {} does not exist", dir.display())
        }
        _ => e.to_string(),
    }
}
