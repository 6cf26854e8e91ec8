//! The ServiceNow IRM/GRC connector: reads risks, controls, control objectives, issues, audit
//! engagements and security incidents through the Table API into the unified model, and
//! writes AI risks into a risk table (directly, or through an Import Set staging table).
//!
//! ```
//! use imsbridge_connector::{Credentials, Source, SystemEntry, Target};
//! use imsbridge_connector_servicenow::{Config, ServiceNow};
//! use imsbridge_model::RecordKind;
//!
//! let table: toml::Table = toml::from_str(r#"
//!     name = "snow"
//!     type = "servicenow"
//!     base_url = "https://acme.service-now.com"
//!     oauth_client_id_env = "SN_CLIENT_ID"
//!     oauth_client_secret_env = "SN_CLIENT_SECRET"
//!     write = ["risk"]
//!     write_fields = ["name", "description", "category"]
//! "#).unwrap();
//! let entry = SystemEntry::split(0, table).unwrap();
//!
//! // The connector's own keys, checked when the configuration is read…
//! let config: Config = imsbridge_connector::deserialize_specific(&entry).unwrap();
//! config.validate(&entry).unwrap();
//! assert_eq!(config.write_table(), "sn_risk_risk");
//! assert_eq!(config.correlation_field, "u_imsbridge_id");
//!
//! // …and the connector, its OAuth client read through `env` (normally the process
//! // environment). No request is sent until a stream is read or a record written.
//! let env = |name: &str| match name {
//!     "SN_CLIENT_ID" => Some("3f2a…client-id".to_string()),
//!     "SN_CLIENT_SECRET" => Some("client-secret".to_string()),
//!     _ => None,
//! };
//! let sn = ServiceNow::from_entry(&entry, Credentials::default(), &env).unwrap();
//! assert_eq!(sn.streams().len(), 6);
//! assert_eq!(sn.writable_kinds(), &[RecordKind::Risk]);
//! assert!(!format!("{sn:?}").contains("client-secret"));
//! ```
//!
//! - [`config`]: the `[[system]]` keys ([`Config`]).
//! - [`client`]: all requests: authentication, rate-limit pauses, error messages.
//! - [`map`]: pure mapping to and from the model, read shape ↔ write shape.
//!
//! Reading: `GET /api/now/table/<table>` with raw values (`sysparm_display_value=false`,
//! `sysparm_exclude_reference_link=true`), pages of `page_size` rows followed through the
//! `Link` header, incremental on `sys_updated_on>=` the cursor (UTC, whole seconds). Writing:
//! AI risks, correlated through `correlation_field` holding `IMSB-` + 16 hex digits; only
//! descriptive fields, since the instance computes ratings and guards `state`.

pub mod client;
pub mod config;
pub mod map;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use imsbridge_connector::{
    BoxFuture, Check, ConfigError, ConnectorError, Credentials, Desired, FieldMap, Page, Reject,
    RemoteRecord, Source, StreamInfo, SystemEntry, Target, deserialize_specific,
};
use imsbridge_http::{Auth, HttpConfig, HttpError, HttpResponse, Method, Retry};
use imsbridge_model::{Record, RecordKind};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

pub use client::Client;
pub use config::{AuthMethod, Config};
pub use map::Stream;

use client::{Failure, OAuthClient, TableRef, is_sys_id, next_link, query_value};
use map::CORRELATION_PREFIX;

/// The order of every listing. Offset paging is only safe in an order that edits do not
/// change: ordered by `sys_updated_on`, a row edited during the walk jumps to the end and
/// pushes an unedited one back across a page boundary, where it is never read (and, older
/// than the saved cursor, never read again). Ordered by creation, an edit moves nothing; with
/// a `sys_updated_on>=` filter the set only grows during a walk (an edited row still
/// matches), and a row that starts to match only repeats one already read, which the sys_id
/// de-duplication drops. A row deleted during the walk still shifts the rest back by one;
/// deletions are rare in GRC registers, and a full pull (`--full`) reads everything again.
pub const ORDER: &str = "ORDERBYsys_created_on^ORDERBYsys_id";

/// A configured ServiceNow instance: a [`Source`] of six streams and a [`Target`] for risks.
pub struct ServiceNow {
    name: String,
    config: Config,
    client: Client,
    /// The streams `read` names (all when absent), for `check`.
    read: Vec<Stream>,
    /// Whether `write` is set, for `check`.
    writes: bool,
    /// The sys_ids of the walk under way, per stream: a row the offset paging hands out twice
    /// (see [`ORDER`]) is returned once.
    seen: Mutex<HashMap<Stream, HashSet<String>>>,
}

impl std::fmt::Debug for ServiceNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNow")
            .field("name", &self.name)
            .field("base_url", &self.client.base_url().as_str())
            .field("auth", &self.client.auth_kind())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ServiceNow {
    /// Builds the connector of a `[[system]]` entry: its own keys checked, the credentials
    /// the entry names taken from `credentials` (Basic, bearer token) or read through `env`
    /// (the OAuth client's variables). No request is sent.
    pub fn from_entry(
        entry: &SystemEntry,
        credentials: Credentials,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServiceNow, ConfigError> {
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
        let auth = match config.auth_method(entry)? {
            AuthMethod::Basic => match (credentials.username, credentials.password) {
                (Some(username), Some(password)) => {
                    client::Credentials::Fixed(Auth::Basic { username, password })
                }
                _ => {
                    return Err(ConfigError::invalid(
                        name,
                        "no user name and password: set username_env and password_env (or the \
                         _file keys) to the ServiceNow integration account",
                    ));
                }
            },
            AuthMethod::Bearer => match credentials.token {
                Some(token) => client::Credentials::Fixed(Auth::Bearer(token)),
                None => {
                    return Err(ConfigError::invalid(
                        name,
                        "no bearer token: set token_env or token_file to an OAuth access token",
                    ));
                }
            },
            AuthMethod::OAuth => {
                let read = |key: &'static str, variable: Option<&String>| {
                    variable
                        .map(|v| {
                            env(v)
                                .map(|value| value.trim().to_string())
                                .filter(|value| !value.is_empty())
                                .map(SecretString::from)
                                .ok_or_else(|| ConfigError::MissingEnv {
                                    system: name.to_string(),
                                    key,
                                    variable: v.clone(),
                                })
                        })
                        .transpose()
                };
                let missing =
                    |key: &str| ConfigError::invalid(name, format!("{key} is required for OAuth"));
                client::Credentials::OAuth(OAuthClient {
                    client_id: read("oauth_client_id_env", config.oauth_client_id_env.as_ref())?
                        .ok_or_else(|| missing("oauth_client_id_env"))?,
                    client_secret: read(
                        "oauth_client_secret_env",
                        config.oauth_client_secret_env.as_ref(),
                    )?
                    .ok_or_else(|| missing("oauth_client_secret_env"))?,
                    refresh_token: read(
                        "oauth_refresh_token_env",
                        config.oauth_refresh_token_env.as_ref(),
                    )?,
                })
            }
        };
        let mut http = HttpConfig::new(url);
        if let Some(secs) = entry.common.timeout_secs {
            http.timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(concurrency) = entry.common.concurrency {
            http.concurrency = concurrency;
        }
        http.rate_limit = entry.common.rate_limit.and_then(NonZeroU32::new);
        let max_pause = Duration::from_secs(config.max_rate_limit_wait_secs);
        let client =
            Client::new(name, http, auth, max_pause).map_err(|e| ConfigError::invalid(name, e))?;
        let read = match &entry.common.read {
            Some(names) => names.iter().filter_map(|n| Stream::from_name(n)).collect(),
            None => Stream::ALL.to_vec(),
        };
        Ok(ServiceNow {
            name: name.to_string(),
            config,
            client,
            read,
            writes: !entry.common.write.is_empty(),
            seen: Mutex::new(HashMap::new()),
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

    /// GET, with the error naming `table` and its key.
    async fn get(&self, target: &str, table: TableRef<'_>) -> Result<HttpResponse, ConnectorError> {
        self.client
            .send(Method::GET, target, None, Retry::Idempotent)
            .await
            .map_err(|e| self.client.error(&Method::GET, Some(table), e))
    }

    /// The `result` of a Table API answer.
    fn result<'v>(
        &self,
        response: &HttpResponse,
        body: &'v Value,
    ) -> Result<&'v Value, ConnectorError> {
        body.get("result").ok_or_else(|| {
            self.remote(format!(
                "the answer to {} has no `result`: is base_url the instance's address?",
                response.request
            ))
        })
    }

    fn json(&self, method: &Method, response: &HttpResponse) -> Result<Value, ConnectorError> {
        response
            .json::<Value>()
            .map_err(|e| self.client.error(method, None, Failure::Http(e)))
    }

    fn write_table(&self) -> TableRef<'_> {
        TableRef {
            table: self.config.write_table(),
            key: if self.config.write_table.is_some() {
                "write_table"
            } else {
                "risk_table"
            },
        }
    }

    /// `sysparm_fields` of the write side: what a [`RemoteRecord`] needs.
    fn row_fields(&self) -> String {
        let mut fields = vec![
            "sys_id".to_string(),
            "sys_updated_on".to_string(),
            "sys_mod_count".to_string(),
            self.config.correlation_field.clone(),
        ];
        fields.extend(self.config.write_fields());
        fields.join(",")
    }

    /// The query parameters every listing of the write table carries.
    fn row_params(&self) -> String {
        format!(
            "sysparm_display_value=false&sysparm_exclude_reference_link=true&sysparm_fields={}",
            query_value(&self.row_fields())
        )
    }

    // -----------------------------------------------------------------------------------------
    // Reading
    // -----------------------------------------------------------------------------------------

    /// The first page of a stream (see [`ORDER`] for why creation order).
    fn first_page(&self, stream: Stream, since: Option<DateTime<Utc>>) -> String {
        let (_, table) = stream.table(&self.config);
        let mut query = String::new();
        if let Some(since) = since {
            query.push_str("sys_updated_on>=");
            query.push_str(&map::format_timestamp(since));
            query.push('^');
        }
        query.push_str(ORDER);
        let mut target = format!(
            "/api/now/table/{table}?sysparm_query={}&sysparm_limit={}&sysparm_offset=0\
             &sysparm_display_value=false&sysparm_exclude_reference_link=true",
            query_value(&query),
            self.config.page_size
        );
        if let Some(extra) = &self.config.read_fields {
            let mut fields: Vec<&str> = vec!["sys_id", "sys_created_on", "sys_updated_on"];
            fields.extend(stream.mapped_fields());
            if stream == Stream::Risks {
                fields.push(&self.config.correlation_field);
            }
            fields.extend(extra.iter().map(String::as_str));
            let mut unique: Vec<&str> = Vec::new();
            for f in fields {
                if !unique.contains(&f) {
                    unique.push(f);
                }
            }
            target.push_str("&sysparm_fields=");
            target.push_str(&query_value(&unique.join(",")));
        }
        target
    }

    /// The next page's target: the `Link` header's `rel="next"`; without one (a proxy that
    /// drops it), the next offset while `X-Total-Count` says rows remain.
    fn next_page(&self, response: &HttpResponse, target: &str, rows: usize) -> Option<String> {
        if rows == 0 {
            return None;
        }
        if let Some(link) = response.header("link") {
            return next_link(link);
        }
        let total: usize = response.header("x-total-count")?.trim().parse().ok()?;
        let offset: usize = target
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("sysparm_offset="))
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        let next = offset + rows;
        (next < total).then(|| {
            let without: Vec<&str> = target
                .split('&')
                .filter(|p| !p.starts_with("sysparm_offset="))
                .collect();
            format!("{}&sysparm_offset={next}", without.join("&"))
        })
    }

    async fn read(
        &self,
        name: &str,
        since: Option<DateTime<Utc>>,
        page: Option<&str>,
    ) -> Result<Page, ConnectorError> {
        let stream = Stream::from_name(name).ok_or_else(|| {
            self.remote(format!(
                "no stream `{name}`; ServiceNow offers {}",
                Stream::ALL.map(Stream::name).join(", ")
            ))
        })?;
        let (key, table) = stream.table(&self.config);
        let target = match page {
            Some(p) => p.to_string(),
            None => {
                self.seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(stream, HashSet::new());
                self.first_page(stream, since)
            }
        };
        let response = self.get(&target, TableRef { table, key }).await?;
        let body = self.json(&Method::GET, &response)?;
        let rows = self
            .result(&response, &body)?
            .as_array()
            .ok_or_else(|| self.remote(format!("the `result` of GET {target} is not a list")))?;
        let next = self.next_page(&response, &target, rows.len());
        if next.as_deref() == Some(target.as_str()) {
            return Err(self.remote(format!(
                "pagination loop: the next link of GET {target} is the page itself"
            )));
        }
        let base_url = self
            .client
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let ctx = map::ReadContext {
            system: &self.name,
            imported_at: Utc::now(),
            table,
            correlation_field: &self.config.correlation_field,
            base_url: &base_url,
        };
        let mut out = Page {
            next,
            cursor: rows.iter().filter_map(map::updated_on).max(),
            ..Page::default()
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = seen.entry(stream).or_default();
        for (i, row) in rows.iter().enumerate() {
            if let Some(id) = map::sys_id(row)
                && !seen.insert(id.to_string())
            {
                tracing::debug!(system = %self.name, table, sys_id = id, "row repeated by offset paging: skipped");
                continue;
            }
            match map::map_row(stream, row, &ctx) {
                Ok(record) => out.records.push(record),
                Err(e) => {
                    let at = match map::sys_id(row) {
                        Some(id) => format!("GET {target} result[{i}] (sys_id {id})"),
                        None => format!("GET {target} result[{i}]"),
                    };
                    out.rejects.push(Reject {
                        location: if e.path.is_empty() {
                            at
                        } else {
                            format!("{at}.{}", e.path)
                        },
                        message: e.message,
                        raw: row.to_string(),
                    });
                }
            }
        }
        if let Some(total) = response.header("x-total-count") {
            tracing::debug!(system = %self.name, table, total, rows = rows.len(), "page read");
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Writing
    // -----------------------------------------------------------------------------------------

    fn risk_only(&self, kind: RecordKind) -> Result<(), ConnectorError> {
        if kind == RecordKind::Risk {
            Ok(())
        } else {
            Err(ConnectorError::Unwritable {
                system: self.name.clone(),
                message: format!("ServiceNow takes risk records only, not {kind}"),
            })
        }
    }

    fn remote_record(&self, location: &str, row: &Value) -> Result<RemoteRecord, ConnectorError> {
        map::remote_record(
            row,
            &self.config.correlation_field,
            &self.config.write_fields(),
        )
        .map_err(|e| ConnectorError::Map {
            system: self.name.clone(),
            location: location.to_string(),
            message: e.to_string(),
        })
    }

    /// Every row of the write table matching `query` (an encoded query), every page.
    async fn rows(&self, query: &str) -> Result<Vec<Value>, ConnectorError> {
        let table = self.write_table();
        let mut target = Some(format!(
            "/api/now/table/{}?sysparm_query={}&sysparm_limit={}&sysparm_offset=0&{}",
            table.table,
            query_value(query),
            self.config.page_size,
            self.row_params()
        ));
        let mut out = Vec::new();
        let mut pages = 0u64;
        while let Some(t) = target {
            let response = self.get(&t, table).await?;
            let body = self.json(&Method::GET, &response)?;
            let rows = self
                .result(&response, &body)?
                .as_array()
                .cloned()
                .unwrap_or_default();
            target = self.next_page(&response, &t, rows.len());
            if target.as_deref() == Some(t.as_str()) {
                return Err(self.remote(format!(
                    "pagination loop: the next link of GET {t} is the page itself"
                )));
            }
            out.extend(rows);
            pages += 1;
            if pages > imsbridge_http::DEFAULT_MAX_PAGES {
                return Err(self.remote(format!("GET {t}: more pages than any register has")));
            }
        }
        Ok(out)
    }

    async fn do_list(&self, kind: RecordKind) -> Result<Vec<RemoteRecord>, ConnectorError> {
        self.risk_only(kind)?;
        let field = &self.config.correlation_field;
        let query = format!("{field}STARTSWITH{CORRELATION_PREFIX}^{ORDER}");
        let mut out = Vec::new();
        let mut ids = HashSet::new();
        for (i, row) in self.rows(&query).await?.iter().enumerate() {
            let record = self.remote_record(
                &format!(
                    "GET /api/now/table/{} (list) result[{i}]",
                    self.config.write_table()
                ),
                row,
            )?;
            // STARTSWITH is case-insensitive on most databases: keep only the bridge's ids,
            // once each.
            if record.correlation.is_some() && ids.insert(record.remote_id.clone()) {
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
        self.risk_only(kind)?;
        let field = &self.config.correlation_field;
        let query = format!("{field}={correlation}^{ORDER}");
        // The instance may compare case-insensitively or trim: the answer decides whether
        // the engine creates the row again, so equality is confirmed here.
        let found = self.rows(&query).await?.into_iter().find(|row| {
            row.get(field.as_str())
                .and_then(Value::as_str)
                .map(str::trim)
                == Some(correlation)
        });
        found
            .map(|row| self.remote_record("GET (lookup)", &row))
            .transpose()
    }

    fn body(&self, fields: &FieldMap, correlation: Option<&str>) -> Value {
        let mut body: Map<String, Value> =
            fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(c) = correlation {
            body.insert(self.config.correlation_field.clone(), json!(c));
        }
        Value::Object(body)
    }

    /// An answer that does not read as the created row: the create happened, so it is
    /// ambiguous (the engine looks the row up), never "not created".
    fn created_but_unreadable(&self, e: ConnectorError) -> ConnectorError {
        match e {
            ConnectorError::Map {
                system,
                location,
                message,
            } => ConnectorError::Ambiguous {
                system,
                message: format!("{location}: {message} (the row was probably created)"),
            },
            ConnectorError::Remote { system, message } => ConnectorError::Ambiguous {
                system,
                message: format!("{message} (the row was probably created)"),
            },
            other => other,
        }
    }

    async fn do_create(
        &self,
        kind: RecordKind,
        correlation: &str,
        fields: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.risk_only(kind)?;
        let body = self.body(fields, Some(correlation));
        if let Some(staging) = &self.config.import_set_table {
            let sys_id = self.import(staging, &body).await?;
            return self
                .fetch(&sys_id)
                .await
                .map_err(|e| self.created_but_unreadable(e));
        }
        let table = self.write_table();
        let path = format!("/api/now/table/{}?{}", table.table, self.row_params());
        let response = self
            .client
            .send(Method::POST, &path, Some(&body), Retry::NotIdempotent)
            .await
            .map_err(|e| self.client.error(&Method::POST, Some(table), e))?;
        let answer = self.json(&Method::POST, &response)?;
        let row = self
            .result(&response, &answer)
            .map_err(|e| self.created_but_unreadable(e))?;
        self.remote_record(
            &format!("the answer to POST /api/now/table/{}", table.table),
            row,
        )
        .map_err(|e| self.created_but_unreadable(e))
    }

    /// Posts one row to the Import Set staging table; the transform map writes it into the
    /// write table, coalescing on the correlation field. Returns the target row's sys_id.
    async fn import(&self, staging: &str, body: &Value) -> Result<String, ConnectorError> {
        let path = format!("/api/now/import/{staging}");
        let table = TableRef {
            table: staging,
            key: "import_set_table",
        };
        // Even with a coalescing transform map, a repeated post is not guaranteed harmless (a
        // map without coalesce inserts twice): not repeated after a lost answer.
        let response = self
            .client
            .send(Method::POST, &path, Some(body), Retry::NotIdempotent)
            .await
            .map_err(|e| self.client.error(&Method::POST, Some(table), e))?;
        let answer = self.json(&Method::POST, &response)?;
        let results = answer.get("result").and_then(Value::as_array);
        let first = results.and_then(|r| r.first()).ok_or_else(|| {
            self.created_but_unreadable(
                self.remote(format!("the answer to POST {path} has no transform result")),
            )
        })?;
        let text = |key: &str| first.get(key).and_then(Value::as_str).map(str::trim);
        match text("status") {
            Some("inserted" | "updated") => {}
            status => {
                return Err(self.remote(format!(
                    "POST {path}: the transform map did not write the row (status {}){} — check \
                     the transform map of {staging} (target table {}, coalesce on {})",
                    status.unwrap_or("missing"),
                    text("status_message")
                        .or(text("error_message"))
                        .filter(|m| !m.is_empty())
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default(),
                    self.config.write_table(),
                    self.config.correlation_field
                )));
            }
        }
        let target_table = text("table").unwrap_or(self.config.write_table());
        if target_table != self.config.write_table() {
            return Err(self.remote(format!(
                "POST {path}: the transform map wrote into {target_table}, not the write table {}",
                self.config.write_table()
            )));
        }
        text("target_sys_id")
            .or(text("sys_id"))
            .filter(|id| is_sys_id(id))
            .map(str::to_string)
            .ok_or_else(|| {
                self.created_but_unreadable(
                    self.remote(format!("the answer to POST {path} names no target sys_id")),
                )
            })
    }

    /// One row of the write table.
    async fn fetch(&self, sys_id: &str) -> Result<RemoteRecord, ConnectorError> {
        let table = self.write_table();
        let path = format!(
            "/api/now/table/{}/{}?{}",
            table.table,
            self.segment(sys_id)?,
            self.row_params()
        );
        let response = self.get(&path, table).await?;
        let answer = self.json(&Method::GET, &response)?;
        let row = self.result(&response, &answer)?;
        self.remote_record(&format!("the answer to GET {path}"), row)
    }

    fn segment<'a>(&self, id: &'a str) -> Result<&'a str, ConnectorError> {
        if is_sys_id(id) {
            Ok(id)
        } else {
            Err(self.remote(format!("{id:?} is not a ServiceNow sys_id")))
        }
    }

    async fn do_update(
        &self,
        kind: RecordKind,
        remote_id: &str,
        changes: &FieldMap,
    ) -> Result<RemoteRecord, ConnectorError> {
        self.risk_only(kind)?;
        let id = self.segment(remote_id)?;
        if let Some(staging) = &self.config.import_set_table {
            // The transform map finds the row by its correlation id, which the plan does not
            // carry: read it first.
            let current = self.fetch(id).await?;
            let correlation = current.correlation.ok_or_else(|| {
                self.remote(format!(
                    "the row {id} of {} has no correlation id in {}: it cannot be updated \
                     through the import set",
                    self.config.write_table(),
                    self.config.correlation_field
                ))
            })?;
            let written = self
                .import(staging, &self.body(changes, Some(&correlation)))
                .await?;
            if written != id {
                return Err(self.remote(format!(
                    "the import set wrote the row {written}, not {id}: the transform map does \
                     not coalesce on {}",
                    self.config.correlation_field
                )));
            }
            return self.fetch(id).await;
        }
        let table = self.write_table();
        let path = format!("/api/now/table/{}/{id}?{}", table.table, self.row_params());
        // A PATCH of absolute values may be repeated: it is idempotent.
        let response = self
            .client
            .send(
                Method::PATCH,
                &path,
                Some(&self.body(changes, None)),
                Retry::Idempotent,
            )
            .await
            .map_err(|e| self.client.error(&Method::PATCH, Some(table), e))?;
        let answer = self.json(&Method::PATCH, &response)?;
        let row = self.result(&response, &answer)?;
        self.remote_record(&format!("the answer to PATCH {path}"), row)
    }

    // -----------------------------------------------------------------------------------------
    // Checks
    // -----------------------------------------------------------------------------------------

    async fn probe(&self, table: &str) -> Result<HttpResponse, Failure> {
        let target = format!(
            "/api/now/table/{table}?sysparm_limit=1&sysparm_fields=sys_id&sysparm_display_value=false"
        );
        self.client
            .send(Method::GET, &target, None, Retry::Idempotent)
            .await
    }

    fn probe_check(
        &self,
        what: String,
        table: TableRef<'_>,
        result: Result<HttpResponse, Failure>,
        ok: &str,
    ) -> Check {
        match result {
            Ok(response) => {
                let visible = response
                    .header("x-total-count")
                    .map(|n| format!("; {n} rows visible"))
                    .unwrap_or_default();
                Check::ok(what, format!("{}: {ok}{visible}", table.table))
            }
            Err(e) => Check::failed(
                what,
                self.client.error(&Method::GET, Some(table), e).to_string(),
            ),
        }
    }

    /// The first request of `check` decides whether the rest is worth sending: a token that
    /// cannot be had, a 401 or an unreachable instance ends the checks with the reason.
    /// `None`: stop.
    fn gate(
        &self,
        result: Result<HttpResponse, Failure>,
        checks: &mut Vec<Check>,
        authenticated: &mut bool,
    ) -> Option<Result<HttpResponse, Failure>> {
        if *authenticated {
            return Some(result);
        }
        match result {
            Err(Failure::Token(e)) => {
                checks.push(Check::failed("authentication", e.to_string()));
                None
            }
            Err(Failure::Http(e @ HttpError::Unauthorized { .. })) => {
                let e = self.client.error(&Method::GET, None, Failure::Http(e));
                checks.push(Check::failed("authentication", e.to_string()));
                None
            }
            Err(Failure::Http(e)) if e.status().is_none() => {
                let e = self.client.error(&Method::GET, None, Failure::Http(e));
                checks.push(Check::failed("reachable", e.to_string()));
                None
            }
            other => {
                *authenticated = true;
                let method = match self.client.auth_kind() {
                    "basic" => "Basic authentication (username_env/password_env)",
                    "bearer" => "bearer token (token_env)",
                    _ => "OAuth tokens from /oauth_token.do",
                };
                checks.push(Check::ok(
                    "authentication",
                    format!("{} accepts the {method}", self.client.base_url()),
                ));
                Some(other)
            }
        }
    }

    async fn do_check(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut authenticated = false;
        for stream in &self.read {
            let (key, table) = stream.table(&self.config);
            let result = self.probe(table).await;
            let Some(result) = self.gate(result, &mut checks, &mut authenticated) else {
                return checks;
            };
            checks.push(self.probe_check(
                format!("read {}", stream.name()),
                TableRef { table, key },
                result,
                "readable",
            ));
        }
        if self.writes {
            self.write_checks(&mut checks, authenticated).await;
        }
        checks
    }

    async fn write_checks(&self, checks: &mut Vec<Check>, mut authenticated: bool) {
        let table = self.write_table();
        let result = self.probe(table.table).await;
        let Some(result) = self.gate(result, checks, &mut authenticated) else {
            return;
        };
        let readable = result.is_ok();
        checks.push(self.probe_check(
            "write table".into(),
            table,
            result,
            "readable; write access is proven by the first sync (the account needs the create \
             and write ACLs of this table)",
        ));
        if !readable {
            return;
        }
        let field = &self.config.correlation_field;
        let target = format!(
            "/api/now/table/sys_dictionary?sysparm_query={}&sysparm_limit=1\
             &sysparm_fields=element,internal_type,max_length&sysparm_display_value=false",
            query_value(&format!("name={}^element={field}", table.table))
        );
        let what = "correlation field";
        let needed = CORRELATION_PREFIX.len() + 16;
        match self
            .client
            .send(Method::GET, &target, None, Retry::Idempotent)
            .await
        {
            Ok(response) => {
                let row = response
                    .json::<Value>()
                    .ok()
                    .and_then(|b| b.get("result")?.as_array()?.first().cloned());
                let check = match row {
                    Some(row) => {
                        let text =
                            |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        let length: usize = text("max_length").parse().unwrap_or(0);
                        if length != 0 && length < needed {
                            Check::failed(
                                what,
                                format!(
                                    "{}.{field} holds {length} characters; correlation ids need \
                                     {needed}: raise its max length",
                                    table.table
                                ),
                            )
                        } else {
                            Check::ok(
                                what,
                                format!(
                                    "{}.{field} exists ({})",
                                    table.table,
                                    text("internal_type")
                                ),
                            )
                        }
                    }
                    None => Check::failed(
                        what,
                        format!(
                            "{t}.{field} does not exist: create a string field named {field} (max \
                             length at least {needed}) on {t} (System Definition → Tables), or set \
                             correlation_field to an existing one",
                            t = table.table
                        ),
                    ),
                };
                checks.push(check);
            }
            // Reading the dictionary takes admin rights an integration account rarely has.
            Err(Failure::Http(HttpError::Forbidden { .. })) => checks.push(Check::warning(
                what,
                format!(
                    "cannot read sys_dictionary to verify {}.{field} (that needs the admin or \
                     personalize_dictionary role); make sure the field exists",
                    table.table
                ),
            )),
            Err(e) => checks.push(Check::failed(
                what,
                self.client.error(&Method::GET, None, e).to_string(),
            )),
        }
        if let Some(staging) = &self.config.import_set_table {
            let result = self.probe(staging).await;
            checks.push(self.probe_check(
                "import set table".into(),
                TableRef {
                    table: staging,
                    key: "import_set_table",
                },
                result,
                "readable; its transform map must coalesce on the correlation field",
            ));
        }
    }
}

impl Source for ServiceNow {
    fn streams(&self) -> Vec<StreamInfo> {
        Stream::ALL
            .into_iter()
            .map(|s| StreamInfo {
                name: s.name(),
                kind: s.kind(),
                primary_key: "sys_id",
                cursor_field: Some("sys_updated_on"),
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

impl Target for ServiceNow {
    fn writable_kinds(&self) -> &[RecordKind] {
        &[RecordKind::Risk]
    }

    fn desired(&self, record: &Record) -> Result<Desired, ConnectorError> {
        map::desired(record, &self.config.write_fields()).map_err(|message| {
            ConnectorError::Unwritable {
                system: self.name.clone(),
                message,
            }
        })
    }

    /// Nothing to set up: the write table and its correlation field exist or not (`check`
    /// says which).
    fn prepare(&self, _create: bool) -> BoxFuture<'_, Result<Vec<String>, ConnectorError>> {
        Box::pin(async { Ok(Vec::new()) })
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
