//! The CISO Assistant connector: reads its registers (risk scenarios, applied controls,
//! requirement assessments, evidences, incidents, findings) into the unified model, and
//! writes AI risks into one risk assessment as risk scenarios.
//!
//! ```
//! use imsbridge_connector::{Credentials, Source, SystemEntry, Target};
//! use imsbridge_connector_ciso_assistant::{CisoAssistant, Config};
//! use imsbridge_model::RecordKind;
//!
//! let table: toml::Table = toml::from_str(r#"
//!     name = "ca"
//!     type = "ciso-assistant"
//!     base_url = "https://ciso.example.org"
//!     token_env = "CA_TOKEN"
//!     write = ["risk"]
//!     folder = "AI Governance"
//!     perimeter = "AI Platform"
//!     risk_assessment = "AI risk register"
//!     create = true
//!     owner_actors = { "Head of Data Science" = "87ca52f5-5978-4a77-9e37-cc8b62851f81" }
//! "#).unwrap();
//! let entry = SystemEntry::split(0, table).unwrap();
//!
//! // The connector's own keys, checked when the configuration is read…
//! let config: Config = imsbridge_connector::deserialize_specific(&entry).unwrap();
//! config.validate(&entry).unwrap();
//! assert_eq!(config.risk_matrix, "urn:intuitem:risk:matrix:5x5-iso27005");
//!
//! // …and the connector, once the token is read (normally from CA_TOKEN).
//! let credentials = Credentials { token: Some("token-from-env".into()), ..Credentials::default() };
//! let ca = CisoAssistant::from_entry(&entry, credentials).unwrap();
//! assert_eq!(ca.streams().len(), 6);
//! assert_eq!(ca.writable_kinds(), &[RecordKind::Risk]);
//! ```
//!
//! - [`config`]: the `[[system]]` keys ([`Config`]).
//! - [`client`]: all requests, CISO Assistant's retry quirks and error messages.
//! - [`map`]: pure mapping to and from the model, read shape ↔ write shape.
//!
//! Ratings: CISO Assistant stores likelihood and impact as 0-based indexes into the risk
//! matrix's levels (`-1`: not rated). Reading, index `i` of `n` levels becomes
//! `value = i + 1` and `normalised = 1 + 4·i/(n−1)`; the risk level becomes the score,
//! `normalised = 1 + 24·i/(n−1)`. Writing, a normalised 1–5 value becomes
//! `round((n−1)·(normalised−1)/4)` on the target assessment's matrix.

pub mod client;
pub mod config;
pub mod map;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use imsbridge_connector::{
    BoxFuture, Check, ConfigError, ConnectorError, Credentials, Desired, FieldMap, Page, Reject,
    RemoteRecord, Source, StreamInfo, SystemEntry, Target, deserialize_specific,
};
use imsbridge_http::{Auth, HttpClient, HttpConfig};
use imsbridge_model::{Record, RecordKind};
use serde_json::{Value, json};

pub use client::Client;
pub use config::{Config, DEFAULT_RISK_MATRIX, is_uuid};
pub use map::{AiAssessment, Matrix, RequirementNode, Stream};

/// The version a created risk assessment gets.
const NEW_ASSESSMENT_VERSION: &str = "1.0";

/// A configured CISO Assistant system: a [`Source`] of six streams and a [`Target`] for risks.
pub struct CisoAssistant {
    name: String,
    config: Config,
    client: Client,
    /// The folder, perimeter, assessment and matrix writes go to, once resolved.
    state: RwLock<Option<Arc<Resolved>>>,
    /// Serialises resolving, so that concurrent first calls do not resolve (or create) twice.
    resolving: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for CisoAssistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CisoAssistant")
            .field("name", &self.name)
            .field("base_url", &self.client.http().base_url().as_str())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An object found by name or id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Obj {
    id: String,
    name: String,
    /// The risk matrix id (risk assessments only).
    matrix: Option<String>,
}

/// Where a configured container stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    NotConfigured,
    Exists(Obj),
    Created(Obj),
    /// Not there; `create` would make one with this name.
    Missing(String),
}

impl Found {
    fn obj(&self) -> Option<&Obj> {
        match self {
            Found::Exists(o) | Found::Created(o) => Some(o),
            _ => None,
        }
    }

    fn id(&self) -> Option<&str> {
        self.obj().map(|o| o.id.as_str())
    }

    fn is_missing(&self) -> bool {
        matches!(self, Found::Missing(_))
    }
}

/// The containers of the write side, resolved.
#[derive(Debug, Clone)]
struct Resolved {
    folder: Found,
    perimeter: Found,
    assessment: Found,
    /// The matrix ratings are written on: the assessment's, or for an assessment still to be
    /// created the configured `risk_matrix`.
    matrix: Option<Arc<Matrix>>,
    /// Why there is no matrix, when there is none.
    matrix_problem: Option<String>,
    /// What was created or would be.
    lines: Vec<String>,
}

impl CisoAssistant {
    /// Builds the connector of a `[[system]]` entry: its own keys checked, `base_url` and a
    /// token required. No request is sent.
    pub fn from_entry(
        entry: &SystemEntry,
        credentials: Credentials,
    ) -> Result<CisoAssistant, ConfigError> {
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
        let token = credentials.token.ok_or_else(|| {
            ConfigError::invalid(
                name,
                "no API token: set token_env or token_file to a CISO Assistant personal access \
                 token",
            )
        })?;
        let mut http = HttpConfig::new(url);
        if let Some(secs) = entry.common.timeout_secs {
            http.timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(concurrency) = entry.common.concurrency {
            http.concurrency = concurrency;
        }
        http.rate_limit = entry.common.rate_limit.and_then(NonZeroU32::new);
        let auth = Auth::Token {
            scheme: "Token".into(),
            token,
        };
        let client = HttpClient::new(name, http, auth)
            .map_err(|e| ConfigError::invalid(name, e.to_string()))?;
        Ok(CisoAssistant::new(name, config, client))
    }

    /// Builds the connector on a ready HTTP client (own timeouts, retries); `config` is taken
    /// as valid.
    pub fn new(name: &str, config: Config, http: HttpClient) -> CisoAssistant {
        CisoAssistant {
            name: name.to_string(),
            config,
            client: Client::new(name, http),
            state: RwLock::new(None),
            resolving: tokio::sync::Mutex::new(()),
        }
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

    fn cached_state(&self) -> Option<Arc<Resolved>> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store_state(&self, resolved: Resolved) -> Arc<Resolved> {
        let resolved = Arc::new(resolved);
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&resolved));
        resolved
    }

    /// The resolved containers, resolving them (without creating anything) on first use.
    async fn state(&self) -> Result<Arc<Resolved>, ConnectorError> {
        if let Some(s) = self.cached_state() {
            return Ok(s);
        }
        let _guard = self.resolving.lock().await;
        if let Some(s) = self.cached_state() {
            return Ok(s);
        }
        let resolved = self.resolve(false).await?;
        Ok(self.store_state(resolved))
    }

    /// Finds the folder, perimeter and risk assessment the configuration names, and creates
    /// the missing ones when `create` is true.
    async fn resolve(&self, create: bool) -> Result<Resolved, ConnectorError> {
        let c = &self.config;
        let mut lines = Vec::new();

        let folder = match &c.folder {
            None => Found::NotConfigured,
            Some(wanted) => match self.find_folder(wanted).await? {
                Some(o) => Found::Exists(o),
                None if is_uuid(wanted) => {
                    return Err(self.remote(format!(
                        "the folder {wanted} does not exist, or the account cannot see it"
                    )));
                }
                None if create => {
                    let o = self.create_folder(wanted).await?;
                    lines.push(format!("created folder \"{}\" ({})", o.name, o.id));
                    Found::Created(o)
                }
                None => {
                    lines.push(format!("would create folder \"{wanted}\""));
                    Found::Missing(wanted.clone())
                }
            },
        };

        let perimeter = match &c.perimeter {
            None => Found::NotConfigured,
            Some(wanted) => {
                let existing = if folder.is_missing() {
                    None
                } else {
                    self.find_perimeter(wanted, folder.id()).await?
                };
                match existing {
                    Some(o) => Found::Exists(o),
                    None if is_uuid(wanted) => {
                        return Err(self.remote(format!(
                            "the perimeter {wanted} does not exist{}, or the account cannot see it",
                            in_folder(&folder)
                        )));
                    }
                    None if create => {
                        let folder_id = folder.id().ok_or_else(|| {
                            self.remote("a perimeter can only be created in a folder: set `folder`")
                        })?;
                        let o = self.create_perimeter(wanted, folder_id).await?;
                        lines.push(format!(
                            "created perimeter \"{}\" ({}){}",
                            o.name,
                            o.id,
                            in_folder(&folder)
                        ));
                        Found::Created(o)
                    }
                    None => {
                        lines.push(format!(
                            "would create perimeter \"{wanted}\"{}",
                            in_folder(&folder)
                        ));
                        Found::Missing(wanted.clone())
                    }
                }
            }
        };

        let mut matrix = None;
        let mut matrix_problem = None;
        let assessment = match &c.risk_assessment {
            None => {
                matrix_problem = Some(
                    "no risk_assessment is configured, so there is nowhere to write risks".into(),
                );
                Found::NotConfigured
            }
            Some(wanted) => {
                let existing = if folder.is_missing() || perimeter.is_missing() {
                    None
                } else {
                    self.find_assessment(wanted, perimeter.id(), folder.id())
                        .await?
                };
                match existing {
                    Some(o) => {
                        match &o.matrix {
                            Some(id) => matrix = Some(self.client.matrix(id).await?),
                            None => {
                                matrix_problem = Some(format!(
                                    "the risk assessment \"{}\" names no risk matrix",
                                    o.name
                                ));
                            }
                        }
                        Found::Exists(o)
                    }
                    None if is_uuid(wanted) => {
                        return Err(self.remote(format!(
                            "the risk assessment {wanted} does not exist, or the account cannot see it"
                        )));
                    }
                    None => {
                        // A new assessment gets the configured matrix, which must be loaded.
                        let found = self
                            .client
                            .matrix_by_urn(&c.risk_matrix, c.page_size)
                            .await?;
                        let Some(m) = found else {
                            let problem = format!(
                                "the risk matrix {} is not loaded in CISO Assistant: load its \
                                 library first (Catalog → Libraries, or POST \
                                 /api/stored-libraries/<library urn>/import/)",
                                c.risk_matrix
                            );
                            if create {
                                return Err(self.remote(problem));
                            }
                            lines.push(format!(
                                "would create risk assessment \"{wanted}\"{}, but {problem}",
                                in_perimeter(&perimeter)
                            ));
                            return Ok(Resolved {
                                folder,
                                perimeter,
                                assessment: Found::Missing(wanted.clone()),
                                matrix: None,
                                matrix_problem: Some(problem),
                                lines,
                            });
                        };
                        let found = if create {
                            let perimeter_id = perimeter.id().ok_or_else(|| {
                                self.remote(
                                    "a risk assessment can only be created in a perimeter: set `perimeter`",
                                )
                            })?;
                            let o = self
                                .create_assessment(wanted, perimeter_id, folder.id(), &m.id)
                                .await?;
                            lines.push(format!(
                                "created risk assessment \"{}\" ({}){} on the {}",
                                o.name,
                                o.id,
                                in_perimeter(&perimeter),
                                m.describe()
                            ));
                            Found::Created(o)
                        } else {
                            lines.push(format!(
                                "would create risk assessment \"{wanted}\" (version \
                                 {NEW_ASSESSMENT_VERSION}){} on the {}",
                                in_perimeter(&perimeter),
                                m.describe()
                            ));
                            Found::Missing(wanted.clone())
                        };
                        matrix = Some(m);
                        found
                    }
                }
            }
        };
        Ok(Resolved {
            folder,
            perimeter,
            assessment,
            matrix,
            matrix_problem,
            lines,
        })
    }

    /// A listing path with the configured page size.
    fn listing(&self, endpoint: &str) -> String {
        format!("{endpoint}?limit={}", self.config.page_size)
    }

    /// One object by UUID, or every object of `endpoint` with exactly this name that `keep`
    /// accepts. Several matches are an error: names repeat across folders and versions.
    async fn find(
        &self,
        what: &str,
        endpoint: &str,
        wanted: &str,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, ConnectorError> {
        let wanted = wanted.trim();
        if is_uuid(wanted) {
            let path = format!("{endpoint}{}/", wanted.to_ascii_lowercase());
            return Ok(self.client.get_optional(&path).await?.filter(|v| keep(v)));
        }
        let mut matches: Vec<Value> = self
            .client
            .all(&self.listing(endpoint))
            .await?
            .into_iter()
            .filter(|v| v.get("name").and_then(Value::as_str).map(str::trim) == Some(wanted))
            .filter(|v| keep(v))
            .collect();
        if matches.len() > 1 {
            let ids: Vec<String> = matches
                .iter()
                .map(|v| {
                    format!(
                        "{} ({})",
                        v.get("id").and_then(Value::as_str).unwrap_or("?"),
                        v.get("str").and_then(Value::as_str).unwrap_or(wanted)
                    )
                })
                .collect();
            return Err(self.remote(format!(
                "{} {what}s are named \"{wanted}\": {}; give the UUID of the one to use, or set \
                 folder/perimeter to tell them apart",
                matches.len(),
                ids.join(", ")
            )));
        }
        Ok(matches.pop())
    }

    async fn find_folder(&self, wanted: &str) -> Result<Option<Obj>, ConnectorError> {
        let found = self
            .find("folder", "/api/folders/", wanted, |_| true)
            .await?;
        Ok(found.and_then(|v| obj(&v)))
    }

    async fn find_perimeter(
        &self,
        wanted: &str,
        folder: Option<&str>,
    ) -> Result<Option<Obj>, ConnectorError> {
        let found = self
            .find("perimeter", "/api/perimeters/", wanted, |v| {
                folder.is_none_or(|f| relation_of(v, "folder") == Some(f))
            })
            .await?;
        Ok(found.and_then(|v| obj(&v)))
    }

    async fn find_assessment(
        &self,
        wanted: &str,
        perimeter: Option<&str>,
        folder: Option<&str>,
    ) -> Result<Option<Obj>, ConnectorError> {
        let found = self
            .find("risk assessment", "/api/risk-assessments/", wanted, |v| {
                perimeter.is_none_or(|p| relation_of(v, "perimeter") == Some(p))
                    && folder.is_none_or(|f| relation_of(v, "folder") == Some(f))
            })
            .await?;
        Ok(found.and_then(|v| obj(&v)))
    }

    async fn create_folder(&self, name: &str) -> Result<Obj, ConnectorError> {
        let body = json!({
            "name": name,
            "description": format!("Created by imsbridge for system `{}`", self.name),
        });
        let created = self.client.post("/api/folders/", &body).await?;
        self.client.folder_created_now();
        self.created("/api/folders/", &created)
    }

    async fn create_perimeter(&self, name: &str, folder: &str) -> Result<Obj, ConnectorError> {
        let body = json!({ "name": name, "folder": folder });
        let created = self.client.post("/api/perimeters/", &body).await?;
        self.created("/api/perimeters/", &created)
    }

    async fn create_assessment(
        &self,
        name: &str,
        perimeter: &str,
        folder: Option<&str>,
        matrix: &str,
    ) -> Result<Obj, ConnectorError> {
        let mut body = json!({
            "name": name,
            "version": NEW_ASSESSMENT_VERSION,
            "perimeter": perimeter,
            "risk_matrix": matrix,
            "description": format!("AI risks written by imsbridge (system `{}`)", self.name),
        });
        if let (Some(folder), Some(map)) = (folder, body.as_object_mut()) {
            map.insert("folder".into(), json!(folder));
        }
        let created = self.client.post("/api/risk-assessments/", &body).await?;
        self.created("/api/risk-assessments/", &created)
    }

    fn created(&self, path: &str, answer: &Value) -> Result<Obj, ConnectorError> {
        obj(answer).ok_or_else(|| ConnectorError::Map {
            system: self.name.clone(),
            location: format!("the answer to POST {path}"),
            message: "no `id` in the created object".into(),
        })
    }

    /// The first page of a stream, in creation order. Offset paging is only safe in an order
    /// that edits do not change: ordered by `updated_at`, a record edited during the walk
    /// jumps to the end and pushes an unedited one back across a page boundary, where it is
    /// never read (and, older than the saved cursor, never read again). In creation order an
    /// edit moves nothing; a record newly matching the filter only repeats one, which the
    /// store recognises as unchanged.
    fn first_page(&self, stream: Stream, since: Option<DateTime<Utc>>) -> String {
        let mut target = format!(
            "{}?limit={}&ordering=created_at",
            stream.endpoint(),
            self.config.page_size
        );
        if let Some(since) = since {
            // Whole seconds, rounded down: the bound stays inclusive.
            target.push_str("&updated_at__gte=");
            target.push_str(&since.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        target
    }

    /// The configured risk assessment when its scenarios are to be flagged AI.
    async fn ai_assessment(&self) -> Result<Option<AiAssessment>, ConnectorError> {
        if !self.config.ai || self.config.risk_assessment.is_none() {
            return Ok(None);
        }
        let state = self.state().await?;
        Ok(state.assessment.obj().map(|o| AiAssessment {
            id: o.id.clone(),
            name: o.name.clone(),
        }))
    }

    async fn read(
        &self,
        name: &str,
        since: Option<DateTime<Utc>>,
        page: Option<&str>,
    ) -> Result<Page, ConnectorError> {
        let stream = Stream::from_name(name).ok_or_else(|| {
            self.remote(format!(
                "no stream `{name}`; CISO Assistant offers {}",
                Stream::ALL.map(Stream::name).join(", ")
            ))
        })?;
        let target = match page {
            Some(p) => p.to_string(),
            None => self.first_page(stream, since),
        };
        let body = self.client.page(&target).await?;
        if body.next.as_deref() == Some(target.as_str()) {
            return Err(self.remote(format!(
                "pagination loop: the next link of GET {target} is the page itself"
            )));
        }

        let matrices = match stream {
            Stream::RiskScenarios => {
                let ids: Vec<String> = body
                    .results
                    .iter()
                    .filter_map(|o| o.get("risk_matrix").and_then(map::relation_id))
                    .map(str::to_string)
                    .collect();
                self.client.matrices(&ids).await?
            }
            _ => HashMap::new(),
        };
        let nodes = match stream {
            Stream::RequirementAssessments | Stream::Findings => {
                let key = if stream == Stream::Findings {
                    "requirement_node"
                } else {
                    "requirement"
                };
                // Only nodes given by bare id (or without their URN) need a request.
                let ids: Vec<String> = body
                    .results
                    .iter()
                    .filter_map(|o| match o.get(key) {
                        Some(Value::String(id)) => Some(id.clone()),
                        Some(Value::Object(n)) if !n.contains_key("urn") => {
                            n.get("id").and_then(Value::as_str).map(str::to_string)
                        }
                        _ => None,
                    })
                    .collect();
                self.client.requirement_nodes(&ids).await?
            }
            _ => HashMap::new(),
        };
        let ai = match stream {
            Stream::RiskScenarios => self.ai_assessment().await?,
            _ => None,
        };
        let ctx = map::ReadContext {
            system: &self.name,
            imported_at: Utc::now(),
            ai_assessment: ai.as_ref(),
            matrices: &matrices,
            nodes: &nodes,
        };

        let mut out = Page {
            next: body.next.clone().filter(|n| !n.trim().is_empty()),
            cursor: body.results.iter().filter_map(map::updated_at).max(),
            ..Page::default()
        };
        for (i, object) in body.results.iter().enumerate() {
            match map::map_object(stream, object, &ctx) {
                Ok(record) => out.records.push(record),
                Err(e) => out.rejects.push(Reject {
                    location: if e.path.is_empty() {
                        format!("GET {target} results[{i}]")
                    } else {
                        format!("GET {target} results[{i}].{}", e.path)
                    },
                    message: e.message,
                    raw: object.to_string(),
                }),
            }
        }
        Ok(out)
    }

    fn risk_only(&self, kind: RecordKind) -> Result<(), ConnectorError> {
        if kind == RecordKind::Risk {
            Ok(())
        } else {
            Err(ConnectorError::Unwritable {
                system: self.name.clone(),
                message: format!("CISO Assistant takes risk records only, not {kind}"),
            })
        }
    }

    /// The assessment id writes go to; an error when it does not exist (yet).
    async fn assessment_id(&self) -> Result<String, ConnectorError> {
        let state = self.state().await?;
        state.assessment.id().map(str::to_string).ok_or_else(|| {
            self.remote(match &state.assessment {
                Found::NotConfigured => "no risk_assessment is configured".to_string(),
                _ => format!(
                    "the risk assessment \"{}\" does not exist yet: run sync (prepare with create) \
                     or create it in CISO Assistant",
                    self.config.risk_assessment.as_deref().unwrap_or_default()
                ),
            })
        })
    }

    fn remote_record(&self, location: &str, value: &Value) -> Result<RemoteRecord, ConnectorError> {
        map::remote_record(value).map_err(|e| ConnectorError::Map {
            system: self.name.clone(),
            location: if e.path.is_empty() {
                location.to_string()
            } else {
                format!("{location}.{}", e.path)
            },
            message: e.message,
        })
    }

    /// The scenarios of the assessment, every page.
    async fn scenarios(
        &self,
        assessment: &str,
        search: Option<&str>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut first = format!(
            "/api/risk-scenarios/?risk_assessment={assessment}&limit={}",
            self.config.page_size
        );
        if let Some(search) = search {
            first.push_str("&search=");
            first.push_str(&client::query_value(search));
        }
        self.client.all(&first).await
    }

    async fn do_list(&self, kind: RecordKind) -> Result<Vec<RemoteRecord>, ConnectorError> {
        self.risk_only(kind)?;
        let state = self.state().await?;
        let Some(assessment) = state.assessment.id() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, item) in self.scenarios(assessment, None).await?.iter().enumerate() {
            let ours = item
                .get("ref_id")
                .and_then(Value::as_str)
                .is_some_and(|r| r.trim().starts_with(map::CORRELATION_PREFIX));
            if ours {
                out.push(self.remote_record(
                    &format!("GET /api/risk-scenarios/?risk_assessment={assessment} item {i}"),
                    item,
                )?);
            }
        }
        Ok(out)
    }

    async fn do_lookup(
        &self,
        kind: RecordKind,
        correlation: &str,
    ) -> Result<Option<RemoteRecord>, ConnectorError> {
        self.risk_only(kind)?;
        let state = self.state().await?;
        let Some(assessment) = state.assessment.id() else {
            return Ok(None);
        };
        let exact = |v: &&Value| {
            v.get("ref_id").and_then(Value::as_str).map(str::trim) == Some(correlation)
        };
        let mut found = self
            .scenarios(assessment, Some(correlation))
            .await?
            .into_iter()
            .find(|v| exact(&v));
        if found.is_none() {
            // The answer decides whether the engine creates the record again: a search that
            // does not cover ref_id (it is a server-side choice) must not cause a duplicate,
            // so a miss is confirmed on the full list.
            found = self
                .scenarios(assessment, None)
                .await?
                .into_iter()
                .find(|v| exact(&v));
        }
        found
            .map(|v| self.remote_record("GET /api/risk-scenarios/ (lookup)", &v))
            .transpose()
    }

    async fn do_create(
        &self,
        kind: RecordKind,
        correlation: &str,
        fields: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.risk_only(kind)?;
        let assessment = self.assessment_id().await?;
        let mut body: serde_json::Map<String, Value> =
            fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        body.insert("ref_id".into(), json!(correlation));
        body.insert("risk_assessment".into(), json!(assessment));
        let answer = self
            .client
            .post("/api/risk-scenarios/", &Value::Object(body))
            .await?;
        // The server said yes; an answer we cannot read does not undo the create, so it is
        // reported as ambiguous (looked up by correlation), never as "not created".
        self.remote_record("the answer to POST /api/risk-scenarios/", &answer)
            .map_err(|e| match e {
                ConnectorError::Map {
                    system,
                    location,
                    message,
                } => ConnectorError::Ambiguous {
                    system,
                    message: format!("{location}: {message} (the scenario was probably created)"),
                },
                other => other,
            })
    }

    async fn do_update(
        &self,
        kind: RecordKind,
        remote_id: &str,
        changes: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.risk_only(kind)?;
        let path = format!("/api/risk-scenarios/{}/", self.client.segment(remote_id)?);
        let body: serde_json::Map<String, Value> = changes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let answer = self.client.patch(&path, &Value::Object(body)).await?;
        self.remote_record(&format!("the answer to PATCH {path}"), &answer)
    }

    async fn do_prepare(&self, create: bool) -> Result<Vec<String>, ConnectorError> {
        let _guard = self.resolving.lock().await;
        let create_now = create && self.config.create;
        let resolved = self.resolve(create_now).await?;
        let missing: Vec<String> = [
            ("folder", &resolved.folder),
            ("perimeter", &resolved.perimeter),
            ("risk assessment", &resolved.assessment),
        ]
        .into_iter()
        .filter_map(|(what, found)| match found {
            Found::Missing(name) => Some(format!("{what} \"{name}\"")),
            _ => None,
        })
        .collect();
        if !missing.is_empty() && !self.config.create {
            return Err(self.remote(format!(
                "{} not found; create {} in CISO Assistant, or set create = true for this system",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            )));
        }
        let lines = resolved.lines.clone();
        self.store_state(resolved);
        Ok(lines)
    }

    async fn do_check(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        match self.client.get("/api/build/").await {
            Ok(build) => {
                let version = build
                    .get("version")
                    .and_then(Value::as_str)
                    .filter(|v| *v != "unset")
                    .unwrap_or("not reported");
                checks.push(Check::ok(
                    "reachable",
                    format!(
                        "{} answers (CISO Assistant version {version})",
                        self.client.http().base_url()
                    ),
                ));
            }
            Err(e) => {
                checks.push(Check::failed("reachable", e.to_string()));
                return checks;
            }
        }
        match self.client.get("/api/iam/current-user/").await {
            Ok(user) => {
                let text = |k: &str| {
                    user.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                };
                checks.push(Check::ok(
                    "token",
                    format!(
                        "authenticated as {} (actor id {}: use it in owner_actors)",
                        text("email"),
                        text("actor_id")
                    ),
                ));
            }
            Err(e) => {
                checks.push(Check::failed("token", e.to_string()));
                return checks;
            }
        }
        match self.client.page("/api/risk-assessments/?limit=1").await {
            Ok(page) => checks.push(Check::ok(
                "read risk assessments",
                format!(
                    "{} visible",
                    page.count.unwrap_or(page.results.len() as u64)
                ),
            )),
            Err(e) => checks.push(Check::failed("read risk assessments", e.to_string())),
        }
        match self.resolve(false).await {
            Ok(resolved) => {
                for (what, found) in [
                    ("folder", &resolved.folder),
                    ("perimeter", &resolved.perimeter),
                    ("risk assessment", &resolved.assessment),
                ] {
                    checks.push(match found {
                        Found::NotConfigured => Check::ok(what, "not configured"),
                        Found::Exists(o) | Found::Created(o) => {
                            Check::ok(what, format!("\"{}\" exists ({})", o.name, o.id))
                        }
                        Found::Missing(name) if self.config.create => Check::warning(
                            what,
                            format!("\"{name}\" does not exist; sync will create it"),
                        ),
                        Found::Missing(name) => Check::failed(
                            what,
                            format!(
                                "\"{name}\" does not exist; create it in CISO Assistant or set \
                                 create = true"
                            ),
                        ),
                    });
                }
                if self.config.risk_assessment.is_some() {
                    checks.push(match (&resolved.matrix, &resolved.matrix_problem) {
                        (Some(m), _) => Check::ok(
                            "risk matrix",
                            format!("ratings are written on the {}", m.describe()),
                        ),
                        (None, Some(problem)) => Check::failed("risk matrix", problem.clone()),
                        (None, None) => Check::failed("risk matrix", "unknown"),
                    });
                }
            }
            Err(e) => checks.push(Check::failed(
                "folder, perimeter and risk assessment",
                e.to_string(),
            )),
        }
        checks
    }
}

impl Source for CisoAssistant {
    fn streams(&self) -> Vec<StreamInfo> {
        Stream::ALL
            .into_iter()
            .map(|s| StreamInfo {
                name: s.name(),
                kind: s.kind(),
                primary_key: "id",
                cursor_field: Some("updated_at"),
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

impl Target for CisoAssistant {
    fn writable_kinds(&self) -> &[RecordKind] {
        &[RecordKind::Risk]
    }

    fn desired(&self, record: &Record) -> Result<Desired, ConnectorError> {
        let unwritable = |message: String| ConnectorError::Unwritable {
            system: self.name.clone(),
            message,
        };
        let state = self.cached_state().ok_or_else(|| {
            unwritable("the target was not prepared: the risk matrix is not known yet".into())
        })?;
        let matrix = state.matrix.as_ref().ok_or_else(|| {
            unwritable(
                state
                    .matrix_problem
                    .clone()
                    .unwrap_or_else(|| "the risk matrix is not known".into()),
            )
        })?;
        map::desired(record, matrix, &self.config.owner_actors).map_err(unwritable)
    }

    fn prepare(&self, create: bool) -> BoxFuture<'_, Result<Vec<String>, ConnectorError>> {
        Box::pin(self.do_prepare(create))
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

/// An object's id and name.
fn obj(value: &Value) -> Option<Obj> {
    let id = value.get("id")?.as_str()?.to_string();
    Some(Obj {
        name: value
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&id)
            .to_string(),
        matrix: value
            .get("risk_matrix")
            .and_then(map::relation_id)
            .map(str::to_string),
        id,
    })
}

/// The id of a relation field (`{"id", "str"}` or a bare UUID).
fn relation_of<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(map::relation_id)
}

fn in_folder(folder: &Found) -> String {
    match folder {
        Found::Exists(o) | Found::Created(o) => format!(" in folder \"{}\"", o.name),
        Found::Missing(name) => format!(" in folder \"{name}\""),
        Found::NotConfigured => String::new(),
    }
}

fn in_perimeter(perimeter: &Found) -> String {
    match perimeter {
        Found::Exists(o) | Found::Created(o) => format!(" in perimeter \"{}\"", o.name),
        Found::Missing(name) => format!(" in perimeter \"{name}\""),
        Found::NotConfigured => String::new(),
    }
}
