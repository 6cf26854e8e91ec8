//! Applying a plan: exactly the planned writes, each journalled (intent before, outcome
//! after), refusing items whose remote record changed since planning.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use futures_util::StreamExt;
use imsbridge_connector::{FieldMap, RemoteRecord};
use imsbridge_model::{RecordId, RecordKind};
use imsbridge_store::{Intent, JournalOutcome, Link, Store, StoreError};
use serde::Serialize;

use crate::plan::{SyncedFields, version_of};
use crate::{Action, Plan, PlanItem, SyncError, TargetRef};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Items written at once per target.
    pub concurrency: usize,
    /// How long to wait after a create whose answer was lost before looking it up: a request
    /// that timed out on our side may still be running on the server.
    pub settle: std::time::Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            settle: std::time::Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// Planned as a conflict: nothing written.
    Conflict,
    /// The remote changed since planning: nothing written; plan again.
    Refused,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemOutcome {
    pub target: String,
    pub record: RecordId,
    pub external_id: String,
    pub action: Action,
    pub outcome: Outcome,
    pub remote_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub refused: u64,
    pub failed: u64,
    /// Writes of an earlier, interrupted run whose outcome was settled first.
    pub repaired: u64,
    pub setup: Vec<String>,
    pub items: Vec<ItemOutcome>,
}

impl ApplyReport {
    pub fn wrote(&self) -> bool {
        self.created + self.updated > 0
    }
}

/// Carries out `plan` against `targets`. Per target: settle the open intents of an earlier
/// run, prepare (creating containers), list the remote records once, then write the items,
/// `options.concurrency` at a time.
pub async fn apply(
    store: &mut Store,
    plan: &Plan,
    targets: &[TargetRef<'_>],
    options: &ApplyOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ApplyReport, SyncError> {
    let mut report = ApplyReport::default();
    for planned in &plan.targets {
        let Some(t) = targets.iter().find(|t| t.name == planned.name) else {
            return Err(SyncError::UnknownTarget {
                target: planned.name.clone(),
            });
        };
        report.repaired += repair(store, t).await?;
        report.setup.extend(t.target.prepare(true).await?);

        let items: Vec<&PlanItem> = plan.items.iter().filter(|i| i.target == t.name).collect();
        let mut kinds: Vec<RecordKind> = items.iter().map(|i| i.kind).collect();
        kinds.sort();
        kinds.dedup();
        let mut remotes: Vec<RemoteRecord> = Vec::new();
        for kind in kinds {
            remotes.extend(t.target.list(kind).await?);
        }
        let by_id: HashMap<&str, &RemoteRecord> =
            remotes.iter().map(|r| (r.remote_id.as_str(), r)).collect();
        let by_correlation: HashMap<&str, &RemoteRecord> = remotes
            .iter()
            .filter_map(|r| r.correlation.as_deref().map(|c| (c, r)))
            .collect();

        let shared = Shared {
            store: Mutex::new(&mut *store),
            target: t,
            by_id,
            by_correlation,
            options,
        };
        let outcomes: Vec<Result<ItemOutcome, SyncError>> = futures_util::stream::iter(items)
            .map(|item| {
                let shared = &shared;
                async move {
                    let outcome = shared.run(item).await;
                    progress(1);
                    outcome
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        let mut outcomes = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
        outcomes.sort_by_key(|o| o.record);
        for o in &outcomes {
            match o.outcome {
                Outcome::Created => report.created += 1,
                Outcome::Updated => report.updated += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Conflict => report.conflicts += 1,
                Outcome::Refused => report.refused += 1,
                Outcome::Failed => report.failed += 1,
            }
        }
        report.items.extend(outcomes);
    }
    Ok(report)
}

/// Settles intents left open by an interrupted run: found remotely by correlation → linked
/// ("repaired"); not found → the write never happened ("not-written"). Returns how many.
async fn repair(store: &mut Store, t: &TargetRef<'_>) -> Result<u64, SyncError> {
    let open = store.open_intents(t.name)?;
    let mut settled = 0;
    for intent in open {
        let record = store.record(intent.record)?;
        let kind = record
            .as_ref()
            .map(|r| r.kind())
            .unwrap_or(RecordKind::Risk);
        let found = t.target.lookup(kind, &intent.correlation).await?;
        match found {
            Some(remote) if intent.action == "create" => {
                let local: FieldMap = serde_json::from_str(&intent.fields).unwrap_or_default();
                let link = Link {
                    target: t.name.to_string(),
                    record: intent.record,
                    kind,
                    remote_id: remote.remote_id.clone(),
                    correlation: intent.correlation.clone(),
                    remote_version: Some(version_of(&remote)),
                    synced_hash: record
                        .as_ref()
                        .map(|r| r.provenance.content_hash.clone())
                        .unwrap_or_default(),
                    synced_fields: SyncedFields {
                        local,
                        remote: remote.fields.clone(),
                    }
                    .to_json(),
                    synced_at: Utc::now(),
                };
                store.journal_outcome(
                    intent.id,
                    JournalOutcome::Repaired,
                    Some(&version_of(&remote)),
                    Some("an earlier run stopped after this create; found in the target by its correlation id and linked"),
                    Some(&link),
                )?;
            }
            Some(remote) => {
                // An update whose outcome is unknown: the link keeps its old base, so the next
                // plan compares again and writes whatever did not arrive.
                store.journal_outcome(
                    intent.id,
                    JournalOutcome::Repaired,
                    Some(&version_of(&remote)),
                    Some("an earlier run stopped during this update; the next plan compares the fields again"),
                    None,
                )?;
            }
            None => {
                store.journal_outcome(
                    intent.id,
                    JournalOutcome::NotWritten,
                    None,
                    Some("an earlier run stopped before this write reached the target"),
                    None,
                )?;
            }
        }
        settled += 1;
    }
    Ok(settled)
}

struct Shared<'s, 't> {
    store: Mutex<&'s mut Store>,
    target: &'t TargetRef<'t>,
    by_id: HashMap<&'t str, &'t RemoteRecord>,
    by_correlation: HashMap<&'t str, &'t RemoteRecord>,
    options: &'t ApplyOptions,
}

impl Shared<'_, '_> {
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, SyncError> {
        // A poisoned lock means another item panicked mid-write; the store's own
        // transactions keep it consistent, so carrying on with it is safe.
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&mut guard)?)
    }

    fn outcome(
        &self,
        item: &PlanItem,
        outcome: Outcome,
        remote_id: Option<String>,
        message: Option<String>,
    ) -> ItemOutcome {
        ItemOutcome {
            target: item.target.clone(),
            record: item.record,
            external_id: item.external_id.clone(),
            action: item.action,
            outcome,
            remote_id,
            message,
        }
    }

    fn link(&self, item: &PlanItem, remote: &RemoteRecord) -> Link {
        Link {
            target: item.target.clone(),
            record: item.record,
            kind: item.kind,
            remote_id: remote.remote_id.clone(),
            correlation: item.correlation.clone(),
            remote_version: Some(version_of(remote)),
            synced_hash: item.local_hash.clone(),
            synced_fields: SyncedFields {
                local: item.desired.clone(),
                remote: remote.fields.clone(),
            }
            .to_json(),
            synced_at: Utc::now(),
        }
    }

    async fn run(&self, item: &PlanItem) -> Result<ItemOutcome, SyncError> {
        match item.action {
            Action::Conflict => Ok(self.outcome(
                item,
                Outcome::Conflict,
                item.remote_id.clone(),
                item.reason.clone(),
            )),
            Action::Noop => self.noop(item),
            Action::Create => self.create(item).await,
            Action::Update => self.update(item).await,
        }
    }

    /// Nothing to write; the link is brought up to date so the next plan starts from now.
    fn noop(&self, item: &PlanItem) -> Result<ItemOutcome, SyncError> {
        let remote = item
            .remote_id
            .as_deref()
            .and_then(|id| self.by_id.get(id))
            .copied();
        if let Some(remote) = remote {
            let current = self.with_store(|s| s.link(&item.target, item.record))?;
            let fresh = current.as_ref().is_some_and(|l| {
                l.remote_version.as_deref() == Some(version_of(remote).as_str())
                    && l.synced_hash == item.local_hash
            });
            if !fresh {
                let link = self.link(item, remote);
                self.with_store(|s| s.save_link(&link))?;
            }
        }
        Ok(self.outcome(
            item,
            Outcome::Unchanged,
            item.remote_id.clone(),
            item.reason.clone(),
        ))
    }

    async fn create(&self, item: &PlanItem) -> Result<ItemOutcome, SyncError> {
        if let Some(existing) = self.by_correlation.get(item.correlation.as_str()) {
            return Ok(self.outcome(
                item,
                Outcome::Refused,
                Some(existing.remote_id.clone()),
                Some(format!(
                    "a record with the correlation id {} appeared in the target since planning; plan again",
                    item.correlation
                )),
            ));
        }
        let fields: FieldMap = item
            .changes
            .iter()
            .map(|(k, c)| (k.clone(), c.to.clone()))
            .collect();
        let fields_json = serde_json::to_string(&fields).unwrap_or_default();
        let intent = self.with_store(|s| {
            s.journal_intent(&Intent {
                target: &item.target,
                record: item.record,
                action: "create",
                correlation: &item.correlation,
                remote_id: None,
                fields: &fields_json,
            })
        })?;
        let kind = item.kind;
        let result = self
            .target
            .target
            .create(kind, &item.correlation, &fields)
            .await;
        let (remote, note) = match result {
            Ok(remote) => (remote, None),
            Err(e) if e.is_ambiguous() => {
                // The create may have landed, or may still land: a request that timed out
                // here can still be running on the server, so "not found" right now proves
                // nothing. Look once after a pause; if it is there, link it. If not, do NOT
                // send it again in this run: the intent stays open, and the next run looks
                // the record up before it writes. Slower to heal, but never a duplicate.
                tokio::time::sleep(self.options.settle).await;
                match self.target.target.lookup(kind, &item.correlation).await {
                    Ok(Some(remote)) => (remote, Some(format!("confirmed by lookup after: {e}"))),
                    Ok(None) => {
                        let message = format!(
                            "{e}; not found in the target yet — left open, the next sync settles it (it looks the record up before writing, so no duplicate is made)"
                        );
                        return Ok(self.outcome(item, Outcome::Failed, None, Some(message)));
                    }
                    Err(lookup) => {
                        let message = format!(
                            "{e}; the lookup that would settle it failed too ({lookup}) — left open, the next sync settles it"
                        );
                        return Ok(self.outcome(item, Outcome::Failed, None, Some(message)));
                    }
                }
            }
            Err(e) => {
                let message = e.to_string();
                self.with_store(|s| {
                    s.journal_outcome(intent, JournalOutcome::Failed, None, Some(&message), None)
                })?;
                return Ok(self.outcome(item, Outcome::Failed, None, Some(message)));
            }
        };
        let link = self.link(item, &remote);
        let version = version_of(&remote);
        self.with_store(|s| {
            s.journal_outcome(
                intent,
                JournalOutcome::Written,
                Some(&version),
                note.as_deref(),
                Some(&link),
            )
        })?;
        Ok(self.outcome(item, Outcome::Created, Some(remote.remote_id), note))
    }

    async fn update(&self, item: &PlanItem) -> Result<ItemOutcome, SyncError> {
        let Some(remote_id) = item.remote_id.as_deref() else {
            return Ok(self.outcome(
                item,
                Outcome::Failed,
                None,
                Some("the plan's update names no remote record".into()),
            ));
        };
        let Some(current) = self.by_id.get(remote_id) else {
            return Ok(self.outcome(
                item,
                Outcome::Refused,
                Some(remote_id.to_string()),
                Some("the remote record is no longer in the target; plan again".into()),
            ));
        };
        if Some(version_of(current)) != item.remote_version {
            return Ok(self.outcome(
                item,
                Outcome::Refused,
                Some(remote_id.to_string()),
                Some(format!(
                    "the remote record changed since planning (version {} → {}); plan again",
                    item.remote_version.as_deref().unwrap_or("none"),
                    version_of(current)
                )),
            ));
        }
        let changes: FieldMap = item
            .changes
            .iter()
            .map(|(k, c)| (k.clone(), c.to.clone()))
            .collect();
        let changes_json = serde_json::to_string(&changes).unwrap_or_default();
        let intent = self.with_store(|s| {
            s.journal_intent(&Intent {
                target: &item.target,
                record: item.record,
                action: "update",
                correlation: &item.correlation,
                remote_id: Some(remote_id),
                fields: &changes_json,
            })
        })?;
        match self
            .target
            .target
            .update(item.kind, remote_id, &changes)
            .await
        {
            Ok(remote) => {
                let link = self.link(item, &remote);
                let version = version_of(&remote);
                self.with_store(|s| {
                    s.journal_outcome(
                        intent,
                        JournalOutcome::Written,
                        Some(&version),
                        None,
                        Some(&link),
                    )
                })?;
                Ok(self.outcome(item, Outcome::Updated, Some(remote.remote_id), None))
            }
            Err(e) => {
                // An update is idempotent: if it did land, the next plan finds nothing to do;
                // if not, it plans the same change again.
                let message = e.to_string();
                self.with_store(|s| {
                    s.journal_outcome(intent, JournalOutcome::Failed, None, Some(&message), None)
                })?;
                Ok(self.outcome(
                    item,
                    Outcome::Failed,
                    Some(remote_id.to_string()),
                    Some(message),
                ))
            }
        }
    }
}
