//! In-memory stand-ins for a target and a source, with fault injection.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use imsbridge_connector::{
    BoxFuture, Check, ConnectorError, Desired, FieldMap, Page, Reject, RemoteRecord, Source,
    StreamInfo, Target, correlation_id,
};
use imsbridge_model::{Record, RecordKind};
use serde_json::{Value, json};

/// How many calls of each kind the fake has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    pub prepare: u64,
    pub list: u64,
    pub lookup: u64,
    pub create: u64,
    pub update: u64,
}

impl Calls {
    pub fn writes(&self) -> u64 {
        self.create + self.update
    }
}

#[derive(Debug, Default)]
pub struct TargetState {
    /// remote_id → record.
    pub records: BTreeMap<String, RemoteRecord>,
    /// remote_id → how many times it was written (its version).
    writes: BTreeMap<String, u64>,
    next_id: u64,
    pub calls: Calls,
    /// The next N creates store the record, then fail with `Ambiguous` (the answer was lost).
    pub ambiguous_after_store: u32,
    /// The next N creates fail with `Ambiguous` without storing anything.
    pub ambiguous_before_store: u32,
    /// The next N creates fail with `Remote` (a plain refusal).
    pub remote_fail_creates: u32,
    /// The next N lookups fail with `Ambiguous`.
    pub fail_lookups: u32,
    /// When set the fake hands out no version token (the engine hashes the fields).
    pub unversioned: bool,
    /// Creates in flight now, and the most there ever were at once.
    pub in_flight: u64,
    pub max_in_flight: u64,
}

impl TargetState {
    fn version(&self, remote_id: &str) -> Option<String> {
        if self.unversioned {
            None
        } else {
            self.writes.get(remote_id).map(|n| format!("v{n}"))
        }
    }

    fn stamp(&mut self, remote_id: &str) -> RemoteRecord {
        *self.writes.entry(remote_id.to_string()).or_default() += 1;
        let version = self.version(remote_id);
        let record = self
            .records
            .get_mut(remote_id)
            .expect("stamping a record that exists");
        record.version = version;
        record.clone()
    }

    fn insert(&mut self, correlation: &str, fields: &FieldMap) -> RemoteRecord {
        self.next_id += 1;
        let remote_id = format!("r-{}", self.next_id);
        self.records.insert(
            remote_id.clone(),
            RemoteRecord {
                remote_id: remote_id.clone(),
                correlation: Some(correlation.to_string()),
                version: None,
                fields: fields.clone(),
            },
        );
        self.stamp(&remote_id)
    }
}

fn ambiguous(message: &str) -> ConnectorError {
    ConnectorError::Ambiguous {
        system: "grc".into(),
        message: message.into(),
    }
}

/// A target holding its records in memory.
#[derive(Debug)]
pub struct FakeTarget {
    pub state: Mutex<TargetState>,
}

impl Default for FakeTarget {
    fn default() -> Self {
        FakeTarget::new()
    }
}

impl FakeTarget {
    pub fn new() -> FakeTarget {
        FakeTarget {
            state: Mutex::new(TargetState::default()),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut TargetState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn calls(&self) -> Calls {
        self.with(|s| s.calls)
    }

    /// Every remote record carrying `correlation`.
    pub fn by_correlation(&self, correlation: &str) -> Vec<RemoteRecord> {
        self.with(|s| {
            s.records
                .values()
                .filter(|r| r.correlation.as_deref() == Some(correlation))
                .cloned()
                .collect()
        })
    }

    /// The one remote record carrying `correlation`; panics on none or several.
    pub fn one(&self, correlation: &str) -> RemoteRecord {
        let found = self.by_correlation(correlation);
        assert_eq!(found.len(), 1, "records with {correlation}: {found:?}");
        found.into_iter().next().unwrap()
    }

    pub fn len(&self) -> usize {
        self.with(|s| s.records.len())
    }

    /// Correlation → fields, for comparing end states regardless of remote ids.
    pub fn snapshot(&self) -> BTreeMap<String, FieldMap> {
        self.with(|s| {
            let mut out = BTreeMap::new();
            for r in s.records.values() {
                let c = r.correlation.clone().unwrap_or_default();
                assert!(
                    out.insert(c.clone(), r.fields.clone()).is_none(),
                    "duplicate correlation {c}"
                );
            }
            out
        })
    }

    /// Someone edits a record in the target's own UI: the field changes, the version moves.
    pub fn edit_behind_the_back(&self, correlation: &str, field: &str, value: Value) {
        self.with(|s| {
            let id = s
                .records
                .values()
                .find(|r| r.correlation.as_deref() == Some(correlation))
                .map(|r| r.remote_id.clone())
                .expect("record to edit");
            s.records
                .get_mut(&id)
                .unwrap()
                .fields
                .insert(field.into(), value);
            s.stamp(&id);
        });
    }

    /// A record appears in the target without the engine's involvement (another run, a
    /// request whose answer was lost).
    pub fn put(&self, correlation: &str, fields: FieldMap) -> RemoteRecord {
        self.with(|s| s.insert(correlation, &fields))
    }

    pub fn delete(&self, correlation: &str) {
        self.with(|s| {
            s.records
                .retain(|_, r| r.correlation.as_deref() != Some(correlation))
        });
    }
}

/// The fields the fake wants for a record.
pub fn desired_fields(record: &Record) -> FieldMap {
    let mut fields = FieldMap::new();
    fields.insert("name".into(), json!(record.title));
    fields.insert("description".into(), json!(record.description));
    fields.insert("ref_id".into(), json!(correlation_id(record)));
    // Like real connectors, a field only sent when the record has a value for it.
    if let Some(owner) = &record.owner {
        fields.insert("owner".into(), json!([owner]));
    }
    fields
}

impl Target for FakeTarget {
    fn writable_kinds(&self) -> &[RecordKind] {
        &[RecordKind::Risk]
    }

    fn desired(&self, record: &Record) -> Result<Desired, ConnectorError> {
        if record.title.is_empty() {
            return Err(ConnectorError::Unwritable {
                system: "grc".into(),
                message: "a risk needs a title".into(),
            });
        }
        Ok(Desired {
            fields: desired_fields(record),
            conversions: Vec::new(),
        })
    }

    fn prepare(&self, _create: bool) -> BoxFuture<'_, Result<Vec<String>, ConnectorError>> {
        Box::pin(async move {
            self.with(|s| s.calls.prepare += 1);
            Ok(Vec::new())
        })
    }

    fn list(&self, _kind: RecordKind) -> BoxFuture<'_, Result<Vec<RemoteRecord>, ConnectorError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            Ok(self.with(|s| {
                s.calls.list += 1;
                s.records.values().cloned().collect()
            }))
        })
    }

    fn lookup<'a>(
        &'a self,
        _kind: RecordKind,
        correlation: &'a str,
    ) -> BoxFuture<'a, Result<Option<RemoteRecord>, ConnectorError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.with(|s| {
                s.calls.lookup += 1;
                if s.fail_lookups > 0 {
                    s.fail_lookups -= 1;
                    return Err(ambiguous("lookup timed out"));
                }
                Ok(s.records
                    .values()
                    .find(|r| r.correlation.as_deref() == Some(correlation))
                    .cloned())
            })
        })
    }

    fn create<'a>(
        &'a self,
        _kind: RecordKind,
        correlation: &'a str,
        fields: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>> {
        Box::pin(async move {
            self.with(|s| {
                s.in_flight += 1;
                s.max_in_flight = s.max_in_flight.max(s.in_flight);
            });
            tokio::task::yield_now().await;
            let result = self.with(|s| {
                s.calls.create += 1;
                if s.ambiguous_before_store > 0 {
                    s.ambiguous_before_store -= 1;
                    return Err(ambiguous("connection reset before the request was sent"));
                }
                if s.remote_fail_creates > 0 {
                    s.remote_fail_creates -= 1;
                    return Err(ConnectorError::Remote {
                        system: "grc".into(),
                        message: "400 Bad Request: name too long".into(),
                    });
                }
                let record = s.insert(correlation, fields);
                if s.ambiguous_after_store > 0 {
                    s.ambiguous_after_store -= 1;
                    return Err(ambiguous("502 Bad Gateway after the record was saved"));
                }
                Ok(record)
            });
            tokio::task::yield_now().await;
            self.with(|s| s.in_flight -= 1);
            result
        })
    }

    fn update<'a>(
        &'a self,
        _kind: RecordKind,
        remote_id: &'a str,
        changes: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.with(|s| {
                s.calls.update += 1;
                let Some(record) = s.records.get_mut(remote_id) else {
                    return Err(ConnectorError::Remote {
                        system: "grc".into(),
                        message: format!("404: no record {remote_id}"),
                    });
                };
                for (k, v) in changes {
                    record.fields.insert(k.clone(), v.clone());
                }
                Ok(s.stamp(remote_id))
            })
        })
    }

    fn check(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async { vec![Check::ok("fake", "always fine")] })
    }
}

/// One page a [`FakeSource`] serves.
#[derive(Debug, Clone, Default)]
pub struct PageSpec {
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    pub cursor: Option<DateTime<Utc>>,
    /// Fail with a `Remote` error instead of serving the page.
    pub fail: bool,
}

/// One `read_page` call: the lower bound and the page token asked for.
pub type Request = (Option<DateTime<Utc>>, Option<String>);

/// A source serving fixed pages of one stream, `risks`. Page `i` is requested with the token
/// `p{i}` (the first with none); the last page's `next` is `loop_to` when set (a server
/// that sends the client round in circles), else none.
#[derive(Debug, Default)]
pub struct FakeSource {
    pub pages: Vec<PageSpec>,
    pub loop_to: Option<usize>,
    /// Every (since, token) the engine asked for.
    pub requests: Mutex<Vec<Request>>,
}

impl FakeSource {
    pub fn new(pages: Vec<PageSpec>) -> FakeSource {
        FakeSource {
            pages,
            ..FakeSource::default()
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Source for FakeSource {
    fn streams(&self) -> Vec<StreamInfo> {
        vec![StreamInfo {
            name: "risks",
            kind: RecordKind::Risk,
            primary_key: "id",
            cursor_field: Some("updated_at"),
        }]
    }

    fn read_page<'a>(
        &'a self,
        _stream: &'a str,
        since: Option<DateTime<Utc>>,
        page: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        Box::pin(async move {
            self.requests
                .lock()
                .unwrap()
                .push((since, page.map(str::to_string)));
            let index = match page {
                None => 0,
                Some(token) => token
                    .strip_prefix('p')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| ConnectorError::Remote {
                        system: "src".into(),
                        message: format!("bad page token {token}"),
                    })?,
            };
            let spec = self
                .pages
                .get(index)
                .ok_or_else(|| ConnectorError::Remote {
                    system: "src".into(),
                    message: format!("no page {index}"),
                })?;
            if spec.fail {
                return Err(ConnectorError::Remote {
                    system: "src".into(),
                    message: format!("500 on page {index}"),
                });
            }
            let next = if index + 1 < self.pages.len() {
                Some(format!("p{}", index + 1))
            } else {
                self.loop_to.map(|i| format!("p{i}"))
            };
            Ok(Page {
                records: spec.records.clone(),
                rejects: spec.rejects.clone(),
                cursor: spec.cursor,
                next,
            })
        })
    }
}
