//! The Jira Cloud connector: reads the issues of configured projects and issue types into the
//! unified model (nonconformities, corrective actions, risks, incidents), and writes AI risks
//! and AI incidents as issues of one project.
//!
//! ```
//! use imsbridge_connector::{Credentials, Source, SystemEntry, Target};
//! use imsbridge_connector_jira::{Config, Jira};
//! use imsbridge_model::RecordKind;
//!
//! let table: toml::Table = toml::from_str(r#"
//!     name = "jira"
//!     type = "jira"
//!     base_url = "https://acme.atlassian.net"
//!     username_env = "JIRA_EMAIL"
//!     token_env = "JIRA_API_TOKEN"
//!     project = "CAPA"
//!     issue_types = { nonconformity = "Nonconformity", corrective_action = "Corrective Action", risk = "Risk", incident = "Incident" }
//!     write = ["risk", "incident"]
//!     fields = { likelihood = "Likelihood", impact = "Impact", treatment = "Treatment" }
//!     transitions = true
//! "#).unwrap();
//! let entry = SystemEntry::split(0, table).unwrap();
//!
//! // The connector's own keys, checked when the configuration is read…
//! let config: Config = imsbridge_connector::deserialize_specific(&entry).unwrap();
//! config.validate(&entry).unwrap();
//! assert_eq!(config.page_size, 100);
//!
//! // …and the connector, once the email and API token are read (normally from the variables
//! // JIRA_EMAIL and JIRA_API_TOKEN). With a user name the token is sent as Basic
//! // authentication; a token alone is sent as a Bearer token (OAuth 2.0).
//! let credentials = Credentials {
//!     username: Some("quality@acme.example".into()),
//!     token: Some("api-token-from-env".into()),
//!     ..Credentials::default()
//! };
//! let jira = Jira::from_entry(&entry, credentials, &|_| None).unwrap();
//! let streams: Vec<&str> = jira.streams().iter().map(|s| s.name).collect();
//! assert_eq!(streams, ["nonconformities", "corrective_actions", "risks", "incidents"]);
//! assert_eq!(jira.writable_kinds(), &[RecordKind::Risk, RecordKind::Incident]);
//! assert!(!format!("{jira:?}").contains("api-token-from-env"));
//! ```
//!
//! - [`config`]: the `[[system]]` keys ([`Config`]).
//! - [`client`]: all requests, which may be repeated, Jira's error bodies as messages.
//! - [`catalog`]: the site's fields, names resolved to `customfield_…` ids.
//! - [`jql`]: every query sent, and why it is ordered and bounded as it is.
//! - [`adf`]: Atlassian Document Format ↔ plain text.
//! - [`map`]: pure mapping to and from the model, read shape ↔ write shape.
//!
//! Correlation: a written issue carries the exact label `imsbridge-<16 hex>` (the engine's
//! `IMSB-<16 hex>`), or that id in the `correlation_field`. Search finds candidates, and every
//! candidate is confirmed by an exact comparison here: JQL's `~` is a fuzzy word search. New
//! issues reach Jira's search index with a delay, so the ids of issues created by this process
//! are passed to every later search as `reconcileIssues`.

pub mod adf;
pub mod catalog;
pub mod client;
pub mod config;
pub mod jql;
pub mod map;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use imsbridge_connector::{
    BoxFuture, Check, ConfigError, ConnectorError, Credentials, Desired, FieldMap, Page, Reject,
    RemoteRecord, Source, StreamInfo, SystemEntry, Target, deserialize_specific,
};
use imsbridge_http::{Auth, HttpClient, HttpConfig};
use imsbridge_mappings::Scale;
use imsbridge_model::{Record, RecordKind};
use serde_json::{Map, Value, json};

pub use catalog::{Catalog, FieldDef, FieldType};
pub use client::Client;
pub use config::{Config, IssueTypes};
pub use map::{Bindings, Correlation, Stream};

/// Jira accepts at most this many ids in `reconcileIssues`; the most recent creates are kept.
pub const MAX_RECONCILE: usize = 50;

/// Pages a single list or lookup walks before it gives up (a guard against a paging loop that
/// repeats no token).
const MAX_PAGES: usize = 10_000;

/// A configured Jira Cloud site: a [`Source`] of one stream per configured issue type and a
/// [`Target`] for AI risks and incidents.
pub struct Jira {
    name: String,
    /// The entry's key path prefix, for configuration errors found only against the site.
    path: String,
    /// The site's address without a trailing slash (links to issues).
    site: String,
    config: Config,
    /// The common `fields` key: model field → Jira field name or id.
    fields: BTreeMap<String, String>,
    /// Whether `write` is set (permissions to check).
    writing: bool,
    /// The kinds this target takes: risk and incident, where an issue type is configured.
    kinds: Vec<RecordKind>,
    /// The scale rating fields are read and written on, when one is mapped.
    scale: Option<Scale>,
    client: Client,
    mapping: tokio::sync::OnceCell<Arc<Mapping>>,
    project: tokio::sync::OnceCell<Arc<Project>>,
    /// Issue ids read so far in the current walk of each stream (duplicates are dropped).
    walks: Mutex<HashMap<Stream, HashSet<String>>>,
    /// Ids of the issues this process created, newest last (for `reconcileIssues`).
    created: Mutex<VecDeque<u64>>,
}

impl std::fmt::Debug for Jira {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jira")
            .field("name", &self.name)
            .field("http", self.client.http())
            .field("config", &self.config)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

/// The field list and what the configuration names in it.
#[derive(Debug)]
struct Mapping {
    catalog: Arc<Catalog>,
    bindings: Bindings,
    correlation: Correlation,
}

/// The project issues are written to.
#[derive(Debug)]
struct Project {
    id: String,
    key: String,
    /// Its issue types: (id, name).
    types: Vec<(String, String)>,
}

impl Jira {
    /// Builds the connector of a `[[system]]` entry: its own keys checked, `base_url` and a
    /// token required. With a user name (the account's email) the token is an API token sent
    /// as Basic authentication; without one it is sent as a Bearer token. No request is sent.
    /// `env` is unused: every secret comes in `credentials`.
    pub fn from_entry(
        entry: &SystemEntry,
        credentials: Credentials,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Jira, ConfigError> {
        let _ = env;
        let config: Config = deserialize_specific(entry)?;
        config.validate(entry)?;
        let name = entry.common.name.as_str();
        let base_url = entry
            .common
            .base_url
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let url = url::Url::parse(base_url).map_err(|e| ConfigError::Key {
            path: format!("{}.base_url", entry.path()),
            message: format!("{base_url:?} is not a URL: {e}"),
        })?;
        if credentials.password.is_some() {
            return Err(ConfigError::Key {
                path: format!("{}.password_env", entry.path()),
                message: "Jira Cloud does not take account passwords over its API: put an API \
                          token in token_env, with username_env = the account's email"
                    .into(),
            });
        }
        let token = credentials.token.ok_or_else(|| {
            ConfigError::invalid(
                name,
                "no token: set token_env or token_file to a Jira API token (with username_env = \
                 the account's email) or to an OAuth 2.0 access token",
            )
        })?;
        let auth = match credentials.username {
            Some(username) => Auth::Basic {
                username,
                password: token,
            },
            None => Auth::Bearer(token),
        };
        let mut http = HttpConfig::new(url);
        if let Some(secs) = entry.common.timeout_secs {
            http.timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(concurrency) = entry.common.concurrency {
            http.concurrency = concurrency;
        }
        http.rate_limit = entry.common.rate_limit.and_then(NonZeroU32::new);
        let client = HttpClient::new(name, http, auth)
            .map_err(|e| ConfigError::invalid(name, e.to_string()))?;
        Jira::build(entry, config, client)
    }

    /// Builds the connector of a `[[system]]` entry on a ready HTTP client (its own
    /// credentials, timeouts and retries).
    pub fn with_http(entry: &SystemEntry, http: HttpClient) -> Result<Jira, ConfigError> {
        let config: Config = deserialize_specific(entry)?;
        config.validate(entry)?;
        Jira::build(entry, config, http)
    }

    fn build(entry: &SystemEntry, config: Config, http: HttpClient) -> Result<Jira, ConfigError> {
        let common = &entry.common;
        let rated = config::RATING_FIELDS
            .iter()
            .any(|f| common.fields.contains_key(*f));
        let scale = if rated {
            let id = common.scale.as_deref().unwrap_or(config::DEFAULT_SCALE);
            Some(
                config::rating_scale(id).map_err(|message| ConfigError::Key {
                    path: format!("{}.scale", entry.path()),
                    message,
                })?,
            )
        } else {
            None
        };
        let kinds = [RecordKind::Risk, RecordKind::Incident]
            .into_iter()
            .filter(|k| config.issue_types.get(*k).is_some())
            .collect();
        Ok(Jira {
            name: common.name.clone(),
            path: entry.path(),
            site: http.base_url().as_str().trim_end_matches('/').to_string(),
            fields: common.fields.clone(),
            writing: !common.write.is_empty(),
            kinds,
            scale,
            client: Client::new(&common.name, http),
            config,
            mapping: tokio::sync::OnceCell::new(),
            project: tokio::sync::OnceCell::new(),
            walks: Mutex::new(HashMap::new()),
            created: Mutex::new(VecDeque::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn remote(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Remote {
            system: self.name.clone(),
            message: message.into(),
        }
    }

    fn key_error(&self, key: &str, message: String) -> ConnectorError {
        ConnectorError::Config(ConfigError::Key {
            path: format!("{}.{key}", self.path),
            message,
        })
    }

    /// The field list and the configured fields resolved in it (once per run).
    async fn mapping(&self) -> Result<Arc<Mapping>, ConnectorError> {
        self.mapping
            .get_or_try_init(|| async {
                let catalog = self.client.catalog().await?;
                let bindings =
                    Bindings::resolve(&self.fields, &catalog).map_err(|(model, message)| {
                        self.key_error(&format!("fields.{model}"), message)
                    })?;
                let correlation = match &self.config.correlation_field {
                    None => Correlation::Label,
                    Some(wanted) => {
                        let def = catalog
                            .resolve(wanted)
                            .map_err(|m| self.key_error("correlation_field", m))?;
                        if def.ty != FieldType::Text {
                            return Err(self.key_error(
                                "correlation_field",
                                format!(
                                    "{} is {}; the correlation id needs a single-line text field",
                                    def.describe(),
                                    def.ty.describe()
                                ),
                            ));
                        }
                        Correlation::Field(def.clone())
                    }
                };
                Ok(Arc::new(Mapping {
                    catalog,
                    bindings,
                    correlation,
                }))
            })
            .await
            .cloned()
    }

    /// The project written to, with its issue types (once per run).
    async fn project(&self) -> Result<Arc<Project>, ConnectorError> {
        self.project
            .get_or_try_init(|| async {
                let key = self.config.project.trim();
                let found = self
                    .client
                    .get_optional(&format!("/rest/api/3/project/{key}"))
                    .await?;
                let value = found.ok_or_else(|| {
                    self.remote(format!(
                        "the project {key} does not exist, or the account cannot browse it (Jira \
                         answers 404 for both): check `project` and the account's Browse \
                         projects permission"
                    ))
                })?;
                project_of(&value)
                    .map(Arc::new)
                    .ok_or_else(|| ConnectorError::Map {
                        system: self.name.clone(),
                        location: format!("GET /rest/api/3/project/{key}"),
                        message: "no project id in the answer".into(),
                    })
            })
            .await
            .cloned()
    }

    /// The id of the issue type `kind` is written as, in the project.
    fn issue_type_id(&self, project: &Project, kind: RecordKind) -> Result<String, ConnectorError> {
        let wanted = self.config.issue_types.get(kind).unwrap_or_default();
        project
            .types
            .iter()
            .find(|(_, name)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                self.key_error(
                    &format!("issue_types.{kind}"),
                    format!(
                        "the project {} has no issue type \"{wanted}\"; it has {}",
                        project.key,
                        names(&project.types)
                    ),
                )
            })
    }

    fn writable(&self, kind: RecordKind) -> Result<&str, ConnectorError> {
        match self.config.issue_types.get(kind) {
            Some(name) if self.kinds.contains(&kind) => Ok(name),
            _ => Err(ConnectorError::Unwritable {
                system: self.name.clone(),
                message: format!(
                    "this Jira system writes {} records, not {kind}",
                    if self.kinds.is_empty() {
                        "no".to_string()
                    } else {
                        self.kinds
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    }
                ),
            }),
        }
    }

    fn write_context<'a>(&'a self, mapping: &'a Mapping) -> map::WriteContext<'a> {
        map::WriteContext {
            bindings: &mapping.bindings,
            scale: self.scale.as_ref(),
            transitions: self.config.transitions,
        }
    }

    /// Ids for `reconcileIssues`.
    fn reconcile(&self) -> Vec<u64> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    fn remember(&self, id: &str) {
        if let Ok(id) = id.parse::<u64>() {
            let mut created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
            created.push_back(id);
            while created.len() > MAX_RECONCILE {
                created.pop_front();
            }
        }
    }

    /// A search request body.
    fn search_body(&self, jql: &str, fields: &[String], token: Option<&str>) -> Value {
        let mut body = Map::new();
        body.insert("jql".into(), json!(jql));
        body.insert("fields".into(), json!(fields));
        body.insert("maxResults".into(), json!(self.config.page_size));
        if let Some(token) = token {
            body.insert("nextPageToken".into(), json!(token));
        }
        let reconcile = self.reconcile();
        if !reconcile.is_empty() {
            body.insert("reconcileIssues".into(), json!(reconcile));
        }
        Value::Object(body)
    }

    /// Every issue a query finds, each once, following `nextPageToken` to the last page.
    async fn search_all(&self, jql: &str, fields: &[String]) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        let mut ids = HashSet::new();
        let mut tokens = HashSet::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = self.search_body(jql, fields, token.as_deref());
            let answer = self.client.search(&body).await?;
            for issue in issues_of(&answer).map_err(|m| self.search_error(jql, m))? {
                let id = issue_id(issue).unwrap_or_default();
                if ids.insert(id) {
                    out.push(issue.clone());
                }
            }
            match next_token(&answer).map_err(|m| self.search_error(jql, m))? {
                None => return Ok(out),
                Some(next) => {
                    if !tokens.insert(next.clone()) {
                        return Err(self.search_error(
                            jql,
                            "pagination loop: Jira handed out the same nextPageToken twice".into(),
                        ));
                    }
                    token = Some(next);
                }
            }
        }
        Err(self.search_error(jql, format!("stopped after {MAX_PAGES} pages")))
    }

    fn search_error(&self, jql: &str, message: String) -> ConnectorError {
        ConnectorError::Map {
            system: self.name.clone(),
            location: format!("POST /rest/api/3/search/jql (JQL: {jql})"),
            message,
        }
    }

    /// The fields asked for when issues are compared with local records.
    fn compare_fields(&self, kind: RecordKind, mapping: &Mapping) -> Vec<String> {
        let mut fields: Vec<String> = map::write_fields(kind, &self.write_context(mapping))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for extra in ["status", "labels", "updated"] {
            if !fields.iter().any(|f| f == extra) {
                fields.push(extra.to_string());
            }
        }
        if let Correlation::Field(def) = &mapping.correlation {
            fields.push(def.id.clone());
        }
        fields
    }

    fn remote_record(
        &self,
        location: &str,
        issue: &Value,
        kind: RecordKind,
        mapping: &Mapping,
    ) -> Result<RemoteRecord, ConnectorError> {
        map::remote_record(
            issue,
            kind,
            &self.write_context(mapping),
            &mapping.correlation,
        )
        .map_err(|e| ConnectorError::Map {
            system: self.name.clone(),
            location: format!("{location} {}", e.path),
            message: e.message,
        })
    }

    /// `GET /rest/api/3/issue/{id}` with the compared fields, as a remote record.
    async fn read_issue(
        &self,
        id: &str,
        kind: RecordKind,
        mapping: &Mapping,
    ) -> Result<RemoteRecord, ConnectorError> {
        let path = format!(
            "/rest/api/3/issue/{id}?fields={}",
            self.compare_fields(kind, mapping).join(",")
        );
        let issue = self.client.get(&path).await?;
        self.remote_record(&format!("GET {path}"), &issue, kind, mapping)
    }

    // -----------------------------------------------------------------------------------------
    // Reading
    // -----------------------------------------------------------------------------------------

    fn configured_streams(&self) -> Vec<Stream> {
        self.config
            .issue_types
            .configured()
            .into_iter()
            .filter_map(|(kind, _)| Stream::from_kind(kind))
            .collect()
    }

    async fn read(
        &self,
        name: &str,
        since: Option<DateTime<Utc>>,
        page: Option<&str>,
    ) -> Result<Page, ConnectorError> {
        let streams = self.configured_streams();
        let stream = streams
            .iter()
            .copied()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                self.remote(format!(
                    "no stream `{name}`; this Jira system offers {} (one per configured issue type)",
                    streams
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let issue_type = self
            .config
            .issue_types
            .get(stream.kind())
            .unwrap_or_default();
        // The period is fixed by the walk's first page and carried in the page token, so every
        // page repeats the same query (see `jql`).
        let (minutes, token) = match page {
            None => {
                self.walks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(stream, HashSet::new());
                (since.map(|s| jql::minutes_back(s, Utc::now())), None)
            }
            Some(p) => {
                let (minutes, token) = decode_token(p).ok_or_else(|| {
                    self.remote(format!("{p:?} is not a page token of the Jira connector"))
                })?;
                (minutes, Some(token))
            }
        };
        let mapping = self.mapping().await?;
        let query = jql::read(&self.config.read_projects(), issue_type, minutes);
        let body = self.search_body(&query, &["*all".to_string()], token.as_deref());
        let answer = self.client.search(&body).await?;
        let issues = issues_of(&answer).map_err(|m| self.search_error(&query, m))?;
        let next = next_token(&answer)
            .map_err(|m| self.search_error(&query, m))?
            .map(|t| encode_token(minutes, &t));

        let ctx = map::ReadContext {
            system: &self.name,
            site: &self.site,
            imported_at: Utc::now(),
            catalog: &mapping.catalog,
            bindings: &mapping.bindings,
            scale: self.scale.as_ref(),
            ai_label: self.config.ai_label.as_deref(),
        };
        let mut out = Page {
            next,
            cursor: issues.iter().filter_map(map::updated_of).max(),
            ..Page::default()
        };
        for (i, issue) in issues.iter().enumerate() {
            // An issue seen earlier in this walk (paging is not a snapshot): the store would
            // take it again as unchanged, but a record read twice in one pull is noise.
            if let Some(id) = issue_id(issue) {
                let fresh = self
                    .walks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(stream)
                    .or_default()
                    .insert(id.clone());
                if !fresh {
                    tracing::debug!(system = %self.name, stream = name, id, "issue already read in this walk");
                    continue;
                }
            }
            match map::map_issue(stream, issue, &ctx) {
                Ok(record) => out.records.push(record),
                Err(e) => out.rejects.push(Reject {
                    location: if e.path.is_empty() {
                        format!("POST /rest/api/3/search/jql ({name}) issues[{i}]")
                    } else {
                        format!(
                            "POST /rest/api/3/search/jql ({name}) issues[{i}].{}",
                            e.path
                        )
                    },
                    message: e.message,
                    raw: issue.to_string(),
                }),
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Writing
    // -----------------------------------------------------------------------------------------

    async fn do_prepare(&self) -> Result<Vec<String>, ConnectorError> {
        self.mapping().await?;
        if !self.kinds.is_empty() {
            let project = self.project().await?;
            for kind in &self.kinds {
                self.issue_type_id(&project, *kind)?;
            }
        }
        // Nothing is created: the project and issue types must exist.
        Ok(Vec::new())
    }

    async fn do_list(&self, kind: RecordKind) -> Result<Vec<RemoteRecord>, ConnectorError> {
        let issue_type = self.writable(kind)?;
        let mapping = self.mapping().await?;
        let field = match &mapping.correlation {
            Correlation::Field(def) => Some(def),
            Correlation::Label => None,
        };
        let query = jql::list(&self.config.project, issue_type, field);
        let issues = self
            .search_all(&query, &self.compare_fields(kind, &mapping))
            .await?;
        let mut out = Vec::new();
        for (i, issue) in issues.iter().enumerate() {
            let record = self.remote_record(
                &format!("POST /rest/api/3/search/jql (list {kind}) issues[{i}]"),
                issue,
                kind,
                &mapping,
            )?;
            // Only the bridge's own: a label that merely starts like one is someone else's.
            if record.correlation.is_some() {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn do_lookup(
        &self,
        kind: RecordKind,
        correlation: &str,
    ) -> Result<Option<RemoteRecord>, ConnectorError> {
        let issue_type = self.writable(kind)?;
        let mapping = self.mapping().await?;
        let (field, value) = match &mapping.correlation {
            Correlation::Label => (
                None,
                map::correlation_label(correlation).ok_or_else(|| self.not_ours(correlation))?,
            ),
            Correlation::Field(def) => (Some(def), correlation.to_string()),
        };
        let query = jql::lookup(&self.config.project, issue_type, field, &value);
        let issues = self
            .search_all(&query, &self.compare_fields(kind, &mapping))
            .await?;
        let mut found = Vec::new();
        for (i, issue) in issues.iter().enumerate() {
            let record = self.remote_record(
                &format!("POST /rest/api/3/search/jql (lookup) issues[{i}]"),
                issue,
                kind,
                &mapping,
            )?;
            // Search narrows, equality decides.
            if record.correlation.as_deref() == Some(correlation) {
                found.push(record);
            }
        }
        // Two issues with one correlation id: one was cloned (clones copy labels and fields).
        // The oldest is the one the bridge created.
        found.sort_by_key(|r| {
            (
                r.remote_id.parse::<u64>().unwrap_or(u64::MAX),
                r.remote_id.clone(),
            )
        });
        if found.len() > 1 {
            tracing::warn!(
                system = %self.name,
                correlation,
                issues = ?found.iter().map(|r| r.remote_id.as_str()).collect::<Vec<_>>(),
                "several issues carry one correlation id (a clone?); the oldest is used"
            );
        }
        Ok(found.into_iter().next())
    }

    fn not_ours(&self, correlation: &str) -> ConnectorError {
        ConnectorError::Unwritable {
            system: self.name.clone(),
            message: format!(
                "{correlation:?} is not a bridge correlation id (IMSB- and 16 hex digits)"
            ),
        }
    }

    async fn do_create(
        &self,
        kind: RecordKind,
        correlation: &str,
        fields: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.writable(kind)?;
        if !map::is_correlation(correlation) {
            return Err(self.not_ours(correlation));
        }
        let mapping = self.mapping().await?;
        let project = self.project().await?;
        let type_id = self.issue_type_id(&project, kind)?;
        let mut body = Map::new();
        for (key, value) in fields {
            // The status is reached by a transition, and an empty field is simply not set (a
            // field missing from the create screen is refused even when empty).
            if key != map::STATUS && !value.is_null() {
                body.insert(key.clone(), value.clone());
            }
        }
        body.insert("project".into(), json!({"id": project.id}));
        body.insert("issuetype".into(), json!({"id": type_id}));
        match &mapping.correlation {
            Correlation::Label => {
                let label = map::correlation_label(correlation)
                    .ok_or_else(|| self.not_ours(correlation))?;
                body.insert("labels".into(), json!([label]));
            }
            Correlation::Field(def) => {
                body.insert(def.id.clone(), json!(correlation));
            }
        }
        let answer = self.client.create(&json!({"fields": body})).await?;

        // From here on the issue exists: any failure must leave the engine looking it up
        // (Ambiguous), never believing the create failed, or the next run creates it again.
        let ambiguous = |message: String| ConnectorError::Ambiguous {
            system: self.name.clone(),
            message,
        };
        let id = issue_id(&answer).ok_or_else(|| {
            ambiguous(
                "the answer to POST /rest/api/3/issue has no issue id (the issue was probably \
                 created)"
                    .into(),
            )
        })?;
        let key = answer
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or(&id)
            .to_string();
        self.remember(&id);
        tracing::info!(system = %self.name, issue = %key, correlation, "created issue");

        let mut record = self
            .read_issue(&id, kind, &mapping)
            .await
            .map_err(|e| ambiguous(format!("created {key}, but reading it back failed: {e}")))?;
        let wanted = fields.get(map::STATUS).and_then(Value::as_str);
        if self.config.transitions
            && let Some(wanted) = wanted
            && record.fields.get(map::STATUS).and_then(Value::as_str) != Some(wanted)
        {
            // A refused transition is reported by the next plan (the status still differs),
            // not here: failing now would hide that the issue exists.
            match self.transition(&id, wanted).await {
                Ok(_) => {
                    record = self.read_issue(&id, kind, &mapping).await.map_err(|e| {
                        ambiguous(format!("created {key}, but reading it back failed: {e}"))
                    })?;
                }
                Err(e) => tracing::warn!(
                    system = %self.name,
                    issue = %key,
                    error = %e,
                    "created the issue, but could not move it to its status"
                ),
            }
        }
        Ok(record)
    }

    async fn do_update(
        &self,
        kind: RecordKind,
        remote_id: &str,
        changes: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.writable(kind)?;
        if remote_id.is_empty()
            || !remote_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(self.remote(format!("{remote_id:?} is not a Jira issue id")));
        }
        let mapping = self.mapping().await?;
        let mut body = Map::new();
        let mut status = None;
        for (key, value) in changes {
            if key == map::STATUS {
                status = value.as_str();
            } else {
                body.insert(key.clone(), value.clone());
            }
        }
        if !body.is_empty() {
            self.client
                .put(
                    &format!("/rest/api/3/issue/{remote_id}"),
                    &json!({"fields": body}),
                )
                .await?;
        }
        if let Some(wanted) = status
            && self.config.transitions
        {
            self.transition(remote_id, wanted).await?;
        }
        self.read_issue(remote_id, kind, &mapping).await
    }

    /// Moves an issue to a status of the category `wanted` (`new`, `indeterminate`, `done`)
    /// through the first transition Jira offers there. Returns the new status's name.
    async fn transition(&self, issue: &str, wanted: &str) -> Result<String, ConnectorError> {
        let path = format!("/rest/api/3/issue/{issue}/transitions");
        let answer = self.client.get(&path).await?;
        let transitions = answer
            .get("transitions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let category = |t: &Value| {
            t.get("to")
                .and_then(|to| to.get("statusCategory"))
                .and_then(|c| c.get("key"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let text = |t: &Value, pointer: &str| {
            t.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let chosen = transitions
            .iter()
            .find(|t| category(t).as_deref() == Some(wanted));
        let Some(chosen) = chosen else {
            let offered: Vec<String> = transitions
                .iter()
                .map(|t| {
                    format!(
                        "{} → {} ({})",
                        text(t, "/name"),
                        text(t, "/to/name"),
                        category(t).unwrap_or_else(|| "?".into())
                    )
                })
                .collect();
            return Err(self.remote(format!(
                "issue {issue}: no transition leads to a status of the category `{wanted}` from \
                 its current status; Jira offers {} — add one to the workflow, or set \
                 transitions = false",
                if offered.is_empty() {
                    "none".to_string()
                } else {
                    offered.join(", ")
                }
            )));
        };
        let id = chosen
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| self.remote(format!("issue {issue}: a transition has no id")))?;
        self.client
            .post(&path, &json!({"transition": {"id": id}}))
            .await?;
        let status = text(chosen, "/to/name");
        tracing::info!(system = %self.name, issue, status, "moved issue");
        Ok(status)
    }

    async fn do_check(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        match self.client.get("/rest/api/3/myself").await {
            Ok(me) => {
                let text = |k: &str| me.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
                checks.push(Check::ok(
                    "authentication",
                    format!(
                        "{} answers; authenticated as {} <{}> (time zone {})",
                        self.site,
                        text("displayName"),
                        me.get("emailAddress")
                            .and_then(Value::as_str)
                            .unwrap_or_else(|| me
                                .get("accountId")
                                .and_then(Value::as_str)
                                .unwrap_or("?")),
                        text("timeZone")
                    ),
                ));
            }
            Err(e) => {
                checks.push(Check::failed("authentication", e.to_string()));
                return checks;
            }
        }

        let mut keys = vec![self.config.project.trim().to_string()];
        for key in self.config.read_projects() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let mut main: Option<Project> = None;
        for (i, key) in keys.iter().enumerate() {
            let what = format!("project {key}");
            match self
                .client
                .get_optional(&format!("/rest/api/3/project/{key}"))
                .await
            {
                Ok(Some(value)) => {
                    let name = value.get("name").and_then(Value::as_str).unwrap_or("?");
                    let project = project_of(&value);
                    checks.push(Check::ok(
                        what,
                        format!(
                            "\"{name}\" (id {})",
                            project.as_ref().map(|p| p.id.as_str()).unwrap_or("?")
                        ),
                    ));
                    if i == 0 {
                        main = project;
                    }
                }
                Ok(None) => checks.push(Check::failed(
                    what,
                    "does not exist, or the account cannot browse it (Jira answers 404 for \
                     both): check `project`/`read_projects` and the account's Browse projects \
                     permission",
                )),
                Err(e) => checks.push(Check::failed(what, e.to_string())),
            }
        }
        if let Some(project) = &main {
            for (kind, name) in self.config.issue_types.configured() {
                let what = format!("issue type {kind}");
                match project
                    .types
                    .iter()
                    .find(|(_, n)| n.trim().eq_ignore_ascii_case(name))
                {
                    Some((id, n)) => checks.push(Check::ok(
                        what,
                        format!("\"{n}\" (id {id}) in {}", project.key),
                    )),
                    None => checks.push(Check::failed(
                        what,
                        format!(
                            "the project {} has no issue type \"{name}\"; it has {} — fix \
                             issue_types.{kind}",
                            project.key,
                            names(&project.types)
                        ),
                    )),
                }
            }
        }

        let named = !self.fields.is_empty() || self.config.correlation_field.is_some();
        match if named {
            Some(self.client.catalog().await)
        } else {
            None
        } {
            None => {}
            Some(Ok(catalog)) => {
                for (model, wanted) in &self.fields {
                    let what = format!("field {model}");
                    match catalog.resolve(wanted) {
                        Ok(def) => {
                            let written = self
                                .kinds
                                .iter()
                                .any(|k| self.writing && map::applies(model, *k));
                            let rating = config::RATING_FIELDS.contains(&model.as_str());
                            let writes = if rating {
                                matches!(def.ty, FieldType::Number | FieldType::Text)
                            } else {
                                def.ty.writable()
                            };
                            let detail = format!("{}, {}", def.describe(), def.ty.describe());
                            checks.push(if written && !writes {
                                Check::warning(
                                    what,
                                    format!("{detail}: read, but not written (the connector writes {} there only to number, text, date, select and priority fields)", if rating { "ratings" } else { "values" }),
                                )
                            } else {
                                Check::ok(what, detail)
                            });
                        }
                        Err(e) => checks.push(Check::failed(what, format!("fields.{model}: {e}"))),
                    }
                }
                if let Some(wanted) = &self.config.correlation_field {
                    let what = "correlation field";
                    checks.push(match catalog.resolve(wanted) {
                        Ok(def) if def.ty == FieldType::Text => Check::ok(
                            what,
                            format!("{}, a single-line text field", def.describe()),
                        ),
                        Ok(def) => Check::failed(
                            what,
                            format!(
                                "{} is {}; correlation_field needs a single-line text field",
                                def.describe(),
                                def.ty.describe()
                            ),
                        ),
                        Err(e) => Check::failed(what, e),
                    });
                }
            }
            Some(Err(e)) => checks.push(Check::failed("fields", e.to_string())),
        }

        let mut wanted = vec![("BROWSE_PROJECTS", "Browse projects")];
        if self.writing {
            wanted.push(("CREATE_ISSUES", "Create issues"));
            wanted.push(("EDIT_ISSUES", "Edit issues"));
            if self.config.transitions {
                wanted.push(("TRANSITION_ISSUES", "Transition issues"));
            }
        }
        let project = self.config.project.trim();
        let path = format!(
            "/rest/api/3/mypermissions?projectKey={project}&permissions={}",
            wanted.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(",")
        );
        match self.client.get(&path).await {
            Ok(answer) => {
                let missing: Vec<String> = wanted
                    .iter()
                    .filter(|(key, _)| {
                        answer
                            .pointer(&format!("/permissions/{key}/havePermission"))
                            .and_then(Value::as_bool)
                            != Some(true)
                    })
                    .map(|(key, name)| format!("{name} ({key})"))
                    .collect();
                checks.push(if missing.is_empty() {
                    Check::ok(
                        "permissions",
                        format!(
                            "{} in {project}",
                            wanted
                                .iter()
                                .map(|(_, n)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                } else {
                    Check::failed(
                        "permissions",
                        format!(
                            "missing in {project}: {} — a Jira administrator grants them in the \
                             project's permission scheme",
                            missing.join(", ")
                        ),
                    )
                });
            }
            Err(e) => checks.push(Check::failed("permissions", e.to_string())),
        }
        checks
    }
}

impl Source for Jira {
    fn streams(&self) -> Vec<StreamInfo> {
        self.configured_streams()
            .into_iter()
            .map(|s| StreamInfo {
                name: s.name(),
                kind: s.kind(),
                primary_key: "id",
                cursor_field: Some("updated"),
            })
            .collect()
    }

    fn read_page<'a>(
        &'a self,
        stream: &'a str,
        since: Option<DateTime<Utc>>,
        page: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        Box::pin(self.read(stream, since, page))
    }
}

impl Target for Jira {
    fn writable_kinds(&self) -> &[RecordKind] {
        &self.kinds
    }

    fn desired(&self, record: &Record) -> Result<Desired, ConnectorError> {
        self.writable(record.kind())?;
        let mapping = self
            .mapping
            .get()
            .ok_or_else(|| ConnectorError::Unwritable {
                system: self.name.clone(),
                message: "the target was not prepared: Jira's field list is not known yet".into(),
            })?;
        map::desired(record, &self.write_context(mapping)).map_err(|message| {
            ConnectorError::Unwritable {
                system: self.name.clone(),
                message,
            }
        })
    }

    fn prepare(&self, _create: bool) -> BoxFuture<'_, Result<Vec<String>, ConnectorError>> {
        Box::pin(self.do_prepare())
    }

    fn list(&self, kind: RecordKind) -> BoxFuture<'_, Result<Vec<RemoteRecord>, ConnectorError>> {
        Box::pin(self.do_list(kind))
    }

    fn lookup<'a>(
        &'a self,
        kind: RecordKind,
        correlation: &'a str,
    ) -> BoxFuture<'a, Result<Option<RemoteRecord>, ConnectorError>> {
        Box::pin(self.do_lookup(kind, correlation))
    }

    fn create<'a>(
        &'a self,
        kind: RecordKind,
        correlation: &'a str,
        fields: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>> {
        Box::pin(self.do_create(kind, correlation, fields))
    }

    fn update<'a>(
        &'a self,
        kind: RecordKind,
        remote_id: &'a str,
        changes: &'a FieldMap,
    ) -> BoxFuture<'a, Result<RemoteRecord, ConnectorError>> {
        Box::pin(self.do_update(kind, remote_id, changes))
    }

    fn check(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(self.do_check())
    }
}

/// An issue's id (a string in Jira's answers; a number accepted).
fn issue_id(issue: &Value) -> Option<String> {
    match issue.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `issues` of a search answer.
fn issues_of(answer: &Value) -> Result<&[Value], String> {
    answer
        .get("issues")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| "the answer has no `issues` list".to_string())
}

/// The token of the next page, `None` on the last. Jira leaves `nextPageToken` out on the last
/// page (and says `isLast: true`); `isLast: false` without a token cannot be followed.
fn next_token(answer: &Value) -> Result<Option<String>, String> {
    let token = answer
        .get("nextPageToken")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (answer.get("isLast").and_then(Value::as_bool), token) {
        (Some(true), _) | (None, None) => Ok(None),
        (_, Some(token)) => Ok(Some(token.to_string())),
        (Some(false), None) => Err("isLast is false but there is no nextPageToken".into()),
    }
}

/// The engine's page token: the walk's period (`all` for a full read) and Jira's token.
fn encode_token(minutes: Option<u64>, token: &str) -> String {
    match minutes {
        Some(m) => format!("{m}m|{token}"),
        None => format!("all|{token}"),
    }
}

fn decode_token(page: &str) -> Option<(Option<u64>, String)> {
    let (period, token) = page.split_once('|')?;
    let minutes = match period {
        "all" => None,
        m => Some(m.strip_suffix('m')?.parse::<u64>().ok()?),
    };
    (!token.is_empty()).then(|| (minutes, token.to_string()))
}

fn project_of(value: &Value) -> Option<Project> {
    let id = issue_id(value)?;
    let key = value
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let types = value
        .get("issueTypes")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| {
                    Some((
                        issue_id(t)?,
                        t.get("name").and_then(Value::as_str)?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Project { id, key, types })
}

fn names(types: &[(String, String)]) -> String {
    if types.is_empty() {
        "none".to_string()
    } else {
        types
            .iter()
            .map(|(_, n)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_carry_the_period_and_the_end_is_recognised() {
        assert_eq!(
            decode_token(&encode_token(Some(125), "abc|d")),
            Some((Some(125), "abc|d".into()))
        );
        assert_eq!(
            decode_token(&encode_token(None, "t")),
            Some((None, "t".into()))
        );
        assert_eq!(decode_token("t"), None);
        assert_eq!(decode_token("12x|t"), None);
        assert_eq!(
            next_token(&json!({"isLast": true, "nextPageToken": "t"})),
            Ok(None)
        );
        assert_eq!(next_token(&json!({"issues": []})), Ok(None));
        assert_eq!(
            next_token(&json!({"nextPageToken": "t"})),
            Ok(Some("t".into()))
        );
        assert!(next_token(&json!({"isLast": false})).is_err());
    }
}
