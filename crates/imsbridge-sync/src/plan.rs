//! Plans: for every AI-flagged risk and incident in the store and every target, what a sync
//! would do (create, update, nothing, or stop at a conflict), worked out by comparing three
//! versions of each field: what local and remote held after the last sync (the link), what
//! the local record wants now, and what the remote holds now.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use imsbridge_connector::{
    ConflictPolicy, Conversion, FieldMap, RemoteRecord, Target, correlation_id,
};
use imsbridge_model::{Record, RecordId, RecordKind};
use imsbridge_store::{Link, RecordFilter, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::SyncError;

/// The plan file's format tag; `apply` refuses files with another.
pub const PLAN_FORMAT: &str = "imsbridge-plan/1";

/// A configured target, as the planner and applier see it.
pub struct TargetRef<'a> {
    pub name: &'a str,
    pub connector: &'a str,
    pub policy: ConflictPolicy,
    pub kinds: Vec<RecordKind>,
    pub target: &'a dyn Target,
}

impl std::fmt::Debug for TargetRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetRef")
            .field("name", &self.name)
            .field("connector", &self.connector)
            .field("policy", &self.policy)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Noop,
    Conflict,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Noop => "noop",
            Action::Conflict => "conflict",
        }
    }
}

/// One field's change: `from` is the remote value now (null when it has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub from: Value,
    pub to: Value,
}

/// What happens to one record in one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    pub target: String,
    pub action: Action,
    pub record: RecordId,
    pub kind: RecordKind,
    pub external_id: String,
    pub title: String,
    pub correlation: String,
    pub remote_id: Option<String>,
    /// The remote version seen while planning; apply refuses the item when it changed.
    pub remote_version: Option<String>,
    /// The fields to write (for `create`: all of them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, FieldChange>,
    /// Fields edited remotely since the last sync that this item does not overwrite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_edits: Vec<String>,
    /// How values were converted to the target's scales.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversions: Vec<Conversion>,
    /// Why a noop or a conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The local record's content hash when planned.
    pub local_hash: String,
    /// Everything the target should hold for the record (the base of the next comparison).
    pub desired: FieldMap,
}

/// A record that cannot be written to a target (e.g. it lacks a required field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub target: String,
    pub record: RecordId,
    pub external_id: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub name: String,
    pub connector: String,
    pub conflict: ConflictPolicy,
    /// What apply will set up first (containers to create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: u64,
    pub update: u64,
    pub noop: u64,
    pub conflict: u64,
    pub skipped: u64,
}

impl Summary {
    /// Whether applying would write anything (or needs a decision).
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.conflict > 0
    }
}

/// A reviewable plan: stable ordering (target, then record id), so two plans of the same
/// state are byte-identical but for `created_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<PlanTarget>,
    pub summary: Summary,
    pub items: Vec<PlanItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl Plan {
    pub fn read(path: &Path) -> Result<Plan, SyncError> {
        let err = |message: String| SyncError::PlanFile {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let plan: Plan = serde_path_to_error_free(&mut de).map_err(err)?;
        if plan.format != PLAN_FORMAT {
            return Err(err(format!(
                "format is `{}`, this build applies `{PLAN_FORMAT}`",
                plan.format
            )));
        }
        Ok(plan)
    }

    /// Writes the plan (pretty JSON) atomically: a half-written plan is never applied.
    pub fn write(&self, path: &Path) -> Result<(), SyncError> {
        let err = |message: String| SyncError::PlanFile {
            path: path.to_path_buf(),
            message,
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json + "\n").map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}

// serde_json's own error already carries line and column, which is what a hand-edited plan
// needs; the wrapper keeps the message on one line.
fn serde_path_to_error_free(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
) -> Result<Plan, String> {
    Plan::deserialize(de).map_err(|e| format!("not a valid plan: {e}"))
}

/// The verdict of the three-way comparison for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldVerdict {
    /// Local and remote agree.
    Same,
    /// Write the local value: only the local side changed (or there is no history).
    Write,
    /// Only the remote side changed: keep the remote edit.
    RemoteEdit,
    /// Both sides changed to different values.
    Conflict,
}

/// Compares one field: `base_local`/`base_remote` are the values after the last sync (None:
/// never synced), `local` the value wanted now, `remote` the value held now.
pub fn three_way(
    base_local: Option<&Value>,
    base_remote: Option<&Value>,
    local: &Value,
    remote: Option<&Value>,
) -> FieldVerdict {
    let remote_now = remote.unwrap_or(&Value::Null);
    if local == remote_now {
        return FieldVerdict::Same;
    }
    let (Some(base_local), Some(base_remote)) = (base_local, base_remote) else {
        return FieldVerdict::Write;
    };
    let local_changed = local != base_local;
    let remote_changed = remote_now != base_remote;
    match (local_changed, remote_changed) {
        (true, false) => FieldVerdict::Write,
        // (false, false): the two already differed after the last sync, i.e. a remote edit
        // was kept then (or the target rewrote the value on save); writing now would undo
        // that decision without anything having changed locally.
        (false, _) => FieldVerdict::RemoteEdit,
        (true, true) => FieldVerdict::Conflict,
    }
}

/// The link's record of the last sync: the fields local wanted and remote held.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SyncedFields {
    pub local: FieldMap,
    pub remote: FieldMap,
}

impl SyncedFields {
    /// `None` when the link's record cannot be read.
    pub(crate) fn parse(link: &Link) -> Option<SyncedFields> {
        // A link written by an older build, or damaged, only loses its history: the next
        // sync treats the record as never synced, which writes local values but cannot lose
        // a remote record.
        serde_json::from_str(&link.synced_fields).ok()
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The remote version token, or a hash of the fields when the target has none.
pub(crate) fn version_of(remote: &RemoteRecord) -> String {
    match &remote.version {
        Some(v) => v.clone(),
        None => {
            let json = serde_json::to_string(&remote.fields).unwrap_or_default();
            format!("sha256:{}", hex::encode(Sha256::digest(json.as_bytes())))
        }
    }
}

/// Whether a record is for this target: AI-flagged, of a kind the target takes, and not read
/// from the target itself (writing a record back to where it came from would duplicate it).
pub(crate) fn wanted(record: &Record, target: &TargetRef<'_>) -> bool {
    record.ai.flagged
        && target.kinds.contains(&record.kind())
        && record.provenance.system != target.name
}

/// Computes the plan for `targets`. Reads only: the store is not written and the targets see
/// one list walk per kind.
pub async fn make_plan(store: &Store, targets: &[TargetRef<'_>]) -> Result<Plan, SyncError> {
    let mut plan = Plan {
        format: PLAN_FORMAT.into(),
        created_at: Utc::now(),
        targets: Vec::new(),
        summary: Summary::default(),
        items: Vec::new(),
        skipped: Vec::new(),
    };
    for t in targets {
        let setup = t.target.prepare(false).await?;
        plan.targets.push(PlanTarget {
            name: t.name.to_string(),
            connector: t.connector.to_string(),
            conflict: t.policy,
            setup,
        });
        let links: HashMap<RecordId, Link> = store
            .links(Some(t.name))?
            .into_iter()
            .map(|l| (l.record, l))
            .collect();
        for &kind in &t.kinds {
            let remotes = t.target.list(kind).await?;
            let mut by_correlation: HashMap<&str, &RemoteRecord> = HashMap::new();
            let mut by_id: HashMap<&str, &RemoteRecord> = HashMap::new();
            for r in &remotes {
                if let Some(c) = &r.correlation {
                    by_correlation.insert(c.as_str(), r);
                }
                by_id.insert(r.remote_id.as_str(), r);
            }
            let filter = RecordFilter {
                kind: Some(kind),
                ai_only: true,
                ..RecordFilter::default()
            };
            let mut records = store.records(&filter)?;
            records.retain(|r| wanted(r, t));
            records.sort_by_key(|r| r.id);
            for record in &records {
                let link = links.get(&record.id);
                let correlation = link
                    .map(|l| l.correlation.clone())
                    .unwrap_or_else(|| correlation_id(record));
                let remote = link
                    .and_then(|l| by_id.get(l.remote_id.as_str()).copied())
                    .or_else(|| by_correlation.get(correlation.as_str()).copied());
                match plan_item(t, record, &correlation, link, remote) {
                    Ok(item) => plan.items.push(item),
                    Err(message) => plan.skipped.push(Skipped {
                        target: t.name.to_string(),
                        record: record.id,
                        external_id: record.provenance.external_id.clone(),
                        message,
                    }),
                }
            }
        }
    }
    plan.items
        .sort_by(|a, b| (a.target.as_str(), a.record).cmp(&(b.target.as_str(), b.record)));
    for item in &plan.items {
        match item.action {
            Action::Create => plan.summary.create += 1,
            Action::Update => plan.summary.update += 1,
            Action::Noop => plan.summary.noop += 1,
            Action::Conflict => plan.summary.conflict += 1,
        }
    }
    plan.summary.skipped = plan.skipped.len() as u64;
    Ok(plan)
}

fn plan_item(
    t: &TargetRef<'_>,
    record: &Record,
    correlation: &str,
    link: Option<&Link>,
    remote: Option<&RemoteRecord>,
) -> Result<PlanItem, String> {
    let desired = t.target.desired(record).map_err(|e| e.to_string())?;
    let mut item = PlanItem {
        target: t.name.to_string(),
        action: Action::Noop,
        record: record.id,
        kind: record.kind(),
        external_id: record.provenance.external_id.clone(),
        title: record.title.clone(),
        correlation: correlation.to_string(),
        remote_id: remote.map(|r| r.remote_id.clone()),
        remote_version: remote.map(version_of),
        changes: BTreeMap::new(),
        remote_edits: Vec::new(),
        conversions: desired.conversions,
        reason: None,
        local_hash: record.provenance.content_hash.clone(),
        desired: desired.fields,
    };
    let Some(remote) = remote else {
        if link.is_some() && t.policy != ConflictPolicy::LocalWins {
            // Linked before, gone now: deleted remotely, or its correlation was edited away.
            // Creating it again could undo a deliberate deletion.
            item.action = match t.policy {
                ConflictPolicy::RemoteWins => Action::Noop,
                _ => Action::Conflict,
            };
            item.reason = Some(format!(
                "the linked remote record {} is no longer in the target (deleted, or its correlation id was changed)",
                link.map(|l| l.remote_id.as_str()).unwrap_or_default()
            ));
            return Ok(item);
        }
        item.action = Action::Create;
        item.changes = item
            .desired
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    FieldChange {
                        from: Value::Null,
                        to: v.clone(),
                    },
                )
            })
            .collect();
        return Ok(item);
    };
    let base = link.and_then(SyncedFields::parse);
    let mut conflicts = Vec::new();
    for (field, wanted) in &item.desired {
        // With a readable base, a field missing from it was empty at the last sync (a
        // connector that sends a field only when set, a field mapped since): null, like a
        // field missing from the remote now. Passing None would mean "never synced", and a
        // field set on both sides since would be written over the remote edit without a
        // conflict.
        let (base_local, base_remote) = match &base {
            Some(b) => (
                Some(b.local.get(field).unwrap_or(&Value::Null)),
                Some(b.remote.get(field).unwrap_or(&Value::Null)),
            ),
            None => (None, None),
        };
        let verdict = three_way(base_local, base_remote, wanted, remote.fields.get(field));
        let change = || FieldChange {
            from: remote.fields.get(field).cloned().unwrap_or(Value::Null),
            to: wanted.clone(),
        };
        match (verdict, t.policy) {
            (FieldVerdict::Same, _) => {}
            (FieldVerdict::Write, _) | (_, ConflictPolicy::LocalWins) => {
                item.changes.insert(field.clone(), change());
            }
            (FieldVerdict::RemoteEdit, _)
            | (FieldVerdict::Conflict, ConflictPolicy::RemoteWins) => {
                item.remote_edits.push(field.clone());
            }
            (FieldVerdict::Conflict, ConflictPolicy::Report) => {
                conflicts.push(field.clone());
                item.changes.insert(field.clone(), change());
            }
        }
    }
    if !conflicts.is_empty() {
        item.action = Action::Conflict;
        item.reason = Some(format!(
            "changed both locally and in the target since the last sync: {} (policy `report`; set conflict = \"local-wins\" or \"remote-wins\" on the system, or edit one side)",
            conflicts.join(", ")
        ));
    } else if item.changes.is_empty() {
        item.action = Action::Noop;
        item.reason = Some(if item.remote_edits.is_empty() {
            "in sync".into()
        } else {
            format!("remote edits kept: {}", item.remote_edits.join(", "))
        });
    } else {
        item.action = Action::Update;
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn three_way_rules() {
        let a = json!("a");
        let b = json!("b");
        let c = json!("c");
        // No history: whatever differs is written.
        assert_eq!(three_way(None, None, &a, Some(&b)), FieldVerdict::Write);
        assert_eq!(three_way(None, None, &a, None), FieldVerdict::Write);
        assert_eq!(three_way(None, None, &a, Some(&a)), FieldVerdict::Same);
        // Local changed a→b, remote still a.
        assert_eq!(
            three_way(Some(&a), Some(&a), &b, Some(&a)),
            FieldVerdict::Write
        );
        // Remote changed a→c, local still a.
        assert_eq!(
            three_way(Some(&a), Some(&a), &a, Some(&c)),
            FieldVerdict::RemoteEdit
        );
        // Both changed, differently.
        assert_eq!(
            three_way(Some(&a), Some(&a), &b, Some(&c)),
            FieldVerdict::Conflict
        );
        // Both changed to the same value.
        assert_eq!(
            three_way(Some(&a), Some(&a), &b, Some(&b)),
            FieldVerdict::Same
        );
        // A kept remote edit stays kept while local does not change.
        assert_eq!(
            three_way(Some(&a), Some(&c), &a, Some(&c)),
            FieldVerdict::RemoteEdit
        );
    }
}
