//! The write side: records looked up by correlation, created and updated.

use std::collections::BTreeMap;

use imsbridge_model::{Record, RecordKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{BoxFuture, ConnectorError};

/// Field name → value in the target's own write shape.
pub type FieldMap = BTreeMap<String, Value>;

/// The correlation id the bridge stores in a field the target keeps (`ref_id`, a label):
/// `IMSB-` and the record id's first sixteen hex digits. Short enough for any text field and
/// found again exactly on read-back; 64 bits keep two records of one target from sharing an
/// id even at millions of records (eight digits would collide about once in a hundred
/// registers of 10,000).
pub fn correlation_id(record: &Record) -> String {
    let hex = record.id.0.simple().to_string();
    format!("IMSB-{}", &hex[..16])
}

/// A record as the target holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteRecord {
    /// The target's id for it.
    pub remote_id: String,
    /// The correlation id found on it, if any.
    pub correlation: Option<String>,
    /// The target's version token (`updated_at`): a different token means a remote edit.
    pub version: Option<String>,
    /// Its fields in the same shape [`Target::desired`] produces, for comparison.
    pub fields: FieldMap,
}

/// How a value was converted for the target (shown in plans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub field: String,
    /// The local value and its scale (`4 on 1-5`).
    pub from: String,
    /// The target value and how it reads there (`3 = "4 - High" on the 5x5 matrix`).
    pub to: String,
}

/// What the target should hold for a local record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub fields: FieldMap,
    pub conversions: Vec<Conversion>,
}

/// The verdict of one check in `systems check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warning,
    Failed,
}

/// One line of `systems check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub what: String,
    pub status: CheckStatus,
    pub detail: String,
}

impl Check {
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            status: CheckStatus::Ok,
            detail: detail.into(),
        }
    }
    pub fn warning(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            status: CheckStatus::Warning,
            detail: detail.into(),
        }
    }
    pub fn failed(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            status: CheckStatus::Failed,
            detail: detail.into(),
        }
    }
}

/// A system records are written to.
///
/// The engine calls `prepare` once, then `list` once per kind to see every record the bridge
/// wrote before, then `create`/`update` per planned item. After an ambiguous failure it calls
/// `lookup` before trying again.
pub trait Target: Send + Sync {
    /// The record kinds this target takes.
    fn writable_kinds(&self) -> &[RecordKind];

    /// The fields the target should hold for `record`.
    fn desired(&self, record: &Record) -> Result<Desired, ConnectorError>;

    /// Resolves (and, with `create`, makes) the containers writes go into. With
    /// `create == false` a missing container is not an error: the returned lines say what
    /// apply will create.
    fn prepare(&self, create: bool) -> BoxFuture<'_, Result<Vec<String>, ConnectorError>>;

    /// Every record of `kind` in the target that carries a bridge correlation id.
    fn list(&self, kind: RecordKind) -> BoxFuture<'_, Result<Vec<RemoteRecord>, ConnectorError>>;

    /// The record carrying exactly this correlation id.
    fn lookup<'a>(
        &'a self,
        kind: RecordKind,
        correlation: &'a str,
    ) -> BoxFuture<'a, Result<Option<RemoteRecord>, ConnectorError>>;

    fn create<'a>(
        &'a self,
        kind: RecordKind,
        correlation: &'a str,
        fields: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>>;

    /// Writes `changes` (only the changed fields) to the record `remote_id`.
    fn update<'a>(
        &'a self,
        kind: RecordKind,
        remote_id: &'a str,
        changes: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>>;

    /// Connection, authentication and permission checks for `systems check`.
    fn check(&self) -> BoxFuture<'_, Vec<Check>>;
}
