//! A small stateful stand-in for a ServiceNow instance's Table API, following its documented
//! behaviour: encoded queries (`^`-joined `field=value`, `field>=value`, `fieldSTARTSWITH
//! value`, `ORDERBY`), `sysparm_limit`/`sysparm_offset` paging with a `Link` header (first,
//! prev, next, last) and `X-Total-Count`, `sysparm_fields`, raw values, `sys_updated_on` /
//! `sys_mod_count` kept on every write, error bodies `{"error": {"message", "detail"},
//! "status": "failure"}`, and the Import Set API with a transform map coalescing on the
//! correlation field. Faults (a status once, a 500 after the write was stored, extra
//! headers) and a hook between list pages are injected per test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use imsbridge_connector::{Credentials, SystemEntry};
use imsbridge_connector_servicenow::ServiceNow;
use mockito::{Matcher, Mock, Request, Server, ServerGuard};
use serde_json::{Map, Value, json};

pub const USER: &str = "svc.imsbridge";
pub const PASSWORD: &str = "pw-canary-91c2";
pub const CORR_FIELD: &str = "u_imsbridge_id";
pub const RISKS: &str = "sn_risk_risk";

/// One table row: field → raw value (always a string, as the Table API answers).
pub type Row = Map<String, Value>;

/// A reply computed once per request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: usize,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A request as the instance saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, percent-decoded.
    pub target: String,
    pub body: String,
    pub authorization: String,
}

/// A fault: requests with this method whose decoded path and query contain `contains` get
/// it, `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub contains: String,
    /// `None`: the normal answer, with `headers` added.
    pub status: Option<usize>,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Carry the request out first (a write stored, then its answer lost).
    pub apply_first: bool,
    pub times: usize,
}

impl Fault {
    pub fn status(method: &'static str, contains: &str, status: usize, body: Value) -> Fault {
        Fault {
            method,
            contains: contains.into(),
            status: Some(status),
            body: body.to_string(),
            headers: Vec::new(),
            apply_first: false,
            times: 1,
        }
    }
}

type Hook = Box<dyn FnMut(&mut BTreeMap<String, Vec<Row>>, usize) + Send>;

#[derive(Default)]
pub struct State {
    pub tables: BTreeMap<String, Vec<Row>>,
    /// (table, field, max_length) of sys_dictionary.
    pub dictionary: Vec<(String, String, u32)>,
    /// staging table → target table of a coalescing transform map.
    pub import_maps: HashMap<String, String>,
    pub requests: Vec<Seen>,
    pub faults: Vec<Fault>,
    /// Called after each list page is answered, with the number of list pages so far.
    pub after_list: Option<Hook>,
    lists: usize,
    clock: u64,
    ids: u64,
    stash: HashMap<String, Vec<Reply>>,
}

/// `2026-01-01 00:00:00` plus `seconds`.
pub fn ts(seconds: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (base + chrono::Duration::seconds(seconds as i64))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub fn sys_id(n: u64) -> String {
    format!("{n:032x}")
}

/// A row with the system fields set: created at `created`, updated at `updated` (seconds
/// after 2026-01-01).
pub fn row(n: u64, created: u64, updated: u64, fields: Value) -> Row {
    let mut row = Row::new();
    row.insert("sys_id".into(), json!(sys_id(n)));
    row.insert("sys_created_on".into(), json!(ts(created)));
    row.insert("sys_updated_on".into(), json!(ts(updated)));
    row.insert("sys_mod_count".into(), json!("0"));
    if let Value::Object(extra) = fields {
        row.extend(extra);
    }
    row
}

fn sn_error(message: &str, detail: Option<&str>) -> String {
    json!({"error": {"message": message, "detail": detail}, "status": "failure"}).to_string()
}

/// A query string with its values percent-decoded, for readable assertions.
fn decode(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn text(row: &Row, field: &str) -> String {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Whether a row matches an encoded query's conditions (case-insensitive, like the instance
/// on its default database collation).
fn matches(row: &Row, query: &str) -> bool {
    query.split('^').all(|term| {
        if term.is_empty() || term.starts_with("ORDERBY") {
            return true;
        }
        if let Some((f, v)) = term.split_once("STARTSWITH") {
            return text(row, f).to_lowercase().starts_with(&v.to_lowercase());
        }
        if let Some((f, v)) = term.split_once(">=") {
            return text(row, f).as_str() >= v;
        }
        if let Some((f, v)) = term.split_once('=') {
            return text(row, f).eq_ignore_ascii_case(v);
        }
        panic!("the emulator does not understand the query term {term:?}")
    })
}

fn order(rows: &mut [Row], query: &str) {
    let keys: Vec<(String, bool)> = query
        .split('^')
        .filter_map(|t| {
            t.strip_prefix("ORDERBYDESC")
                .map(|f| (f.to_string(), true))
                .or_else(|| t.strip_prefix("ORDERBY").map(|f| (f.to_string(), false)))
        })
        .collect();
    rows.sort_by(|a, b| {
        for (field, desc) in &keys {
            let o = text(a, field).cmp(&text(b, field));
            if o != std::cmp::Ordering::Equal {
                return if *desc { o.reverse() } else { o };
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn project(row: &Row, fields: Option<&String>) -> Value {
    match fields {
        None => Value::Object(row.clone()),
        Some(list) => Value::Object(
            list.split(',')
                .filter_map(|f| row.get(f).map(|v| (f.to_string(), v.clone())))
                .collect(),
        ),
    }
}

impl State {
    fn now(&mut self) -> String {
        self.clock += 1;
        ts(100_000 + self.clock)
    }

    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Edits a row behind the bridge's back, as a user in the instance would.
    pub fn edit(&mut self, table: &str, sys_id: &str, field: &str, value: &str) {
        let now = self.now();
        let row = self
            .tables
            .get_mut(table)
            .and_then(|rows| rows.iter_mut().find(|r| text(r, "sys_id") == sys_id))
            .unwrap_or_else(|| panic!("no row {sys_id} in {table}"));
        row.insert(field.into(), json!(value));
        touch(row, now);
    }

    fn handle(&mut self, url: &str, request: &Request) -> Reply {
        let (path, query) = request
            .path_and_query()
            .split_once('?')
            .unwrap_or((request.path(), ""));
        let body = request
            .utf8_lossy_body()
            .map(|b| b.into_owned())
            .unwrap_or_default();
        let method = request.method().to_string();
        self.requests.push(Seen {
            method: method.clone(),
            target: format!("{path}?{}", decode(query)),
            body: body.clone(),
            authorization: request
                .header("authorization")
                .first()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
        });
        let target = format!("{path}?{}", decode(query));
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && target.contains(&f.contains))
            .map(|f| {
                f.times -= 1;
                f.clone()
            });
        if let Some(f) = &fault
            && !f.apply_first
            && let Some(status) = f.status
        {
            return Reply {
                status,
                headers: f.headers.clone(),
                body: f.body.clone(),
            };
        }
        let mut reply = self.route(url, &method, path, query, &body);
        if let Some(f) = fault {
            reply.headers.extend(f.headers);
            if let Some(status) = f.status {
                reply.status = status;
                reply.body = f.body;
            }
        }
        reply
    }

    fn route(&mut self, url: &str, method: &str, path: &str, query: &str, body: &str) -> Reply {
        let p = params(query);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ok = |status: usize, body: Value| Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        };
        let fields = p.get("sysparm_fields");
        match (method, segments.as_slice()) {
            ("GET", ["api", "now", "table", "sys_dictionary"]) => {
                let q = p.get("sysparm_query").cloned().unwrap_or_default();
                let found: Vec<Value> = self
                    .dictionary
                    .iter()
                    .filter(|(t, f, _)| q == format!("name={t}^element={f}"))
                    .map(|(_, f, len)| {
                        json!({"element": f, "internal_type": "string", "max_length": len.to_string()})
                    })
                    .collect();
                ok(200, json!({ "result": found }))
            }
            ("GET", ["api", "now", "table", table]) => {
                let Some(all) = self.tables.get(*table) else {
                    return ok(
                        400,
                        serde_json::from_str::<Value>(&sn_error(
                            &format!("Invalid table {table}"),
                            None,
                        ))
                        .unwrap(),
                    );
                };
                let q = p.get("sysparm_query").cloned().unwrap_or_default();
                let mut rows: Vec<Row> = all.iter().filter(|r| matches(r, &q)).cloned().collect();
                order(&mut rows, &q);
                let limit: usize = p
                    .get("sysparm_limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(10_000);
                let offset: usize = p
                    .get("sysparm_offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0);
                let total = rows.len();
                let page: Vec<Value> = rows
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|r| project(r, fields))
                    .collect();
                let link_to = |offset: usize, rel: &str| {
                    let mut q: Vec<(String, String)> = p
                        .iter()
                        .filter(|(k, _)| *k != "sysparm_offset")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    q.sort();
                    q.push(("sysparm_offset".into(), offset.to_string()));
                    let encoded = url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(q)
                        .finish();
                    format!("<{url}{path}?{encoded}>;rel=\"{rel}\"")
                };
                let mut links = vec![link_to(0, "first")];
                if offset > 0 {
                    links.push(link_to(offset.saturating_sub(limit), "prev"));
                }
                if offset + limit < total {
                    links.push(link_to(offset + limit, "next"));
                }
                links.push(link_to(
                    total.saturating_sub(1) / limit.max(1) * limit,
                    "last",
                ));
                self.lists += 1;
                let lists = self.lists;
                if let Some(mut hook) = self.after_list.take() {
                    hook(&mut self.tables, lists);
                    self.after_list = Some(hook);
                }
                Reply {
                    status: 200,
                    headers: vec![
                        ("link".into(), links.join(",")),
                        ("x-total-count".into(), total.to_string()),
                    ],
                    body: json!({ "result": page }).to_string(),
                }
            }
            ("GET", ["api", "now", "table", table, id]) => {
                match self
                    .tables
                    .get(*table)
                    .and_then(|rows| rows.iter().find(|r| text(r, "sys_id") == *id))
                {
                    Some(row) => ok(200, json!({ "result": project(row, fields) })),
                    None => ok(
                        404,
                        serde_json::from_str::<Value>(&sn_error(
                            "No Record found",
                            Some("Record doesn't exist or ACL restricts the record retrieval"),
                        ))
                        .unwrap(),
                    ),
                }
            }
            ("POST", ["api", "now", "table", table]) => {
                let Ok(Value::Object(values)) = serde_json::from_str::<Value>(body) else {
                    return ok(
                        400,
                        json!({"error": {"message": "Exception while reading request", "detail": "The payload is not valid JSON."}, "status": "failure"}),
                    );
                };
                if !self.tables.contains_key(*table) {
                    return ok(
                        400,
                        json!({"error": {"message": format!("Invalid table {table}"), "detail": null}, "status": "failure"}),
                    );
                }
                let row = self.insert(table, values);
                ok(201, json!({ "result": project(&row, fields) }))
            }
            ("PATCH", ["api", "now", "table", table, id]) => {
                let Ok(Value::Object(values)) = serde_json::from_str::<Value>(body) else {
                    return ok(400, json!({"error": {"message": "bad body"}}));
                };
                let now = self.now();
                match self
                    .tables
                    .get_mut(*table)
                    .and_then(|rows| rows.iter_mut().find(|r| text(r, "sys_id") == *id))
                {
                    Some(row) => {
                        row.extend(values);
                        touch(row, now);
                        ok(200, json!({ "result": project(row, fields) }))
                    }
                    None => ok(
                        404,
                        json!({"error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"}, "status": "failure"}),
                    ),
                }
            }
            ("POST", ["api", "now", "import", staging]) => {
                let Some(target) = self.import_maps.get(*staging).cloned() else {
                    return ok(
                        400,
                        json!({"error": {"message": format!("Invalid table {staging}")}, "status": "failure"}),
                    );
                };
                let Ok(Value::Object(values)) = serde_json::from_str::<Value>(body) else {
                    return ok(400, json!({"error": {"message": "bad body"}}));
                };
                let corr = values
                    .get(CORR_FIELD)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let now = self.now();
                let existing = self.tables.get_mut(&target).and_then(|rows| {
                    rows.iter_mut()
                        .find(|r| !corr.is_empty() && text(r, CORR_FIELD) == corr)
                });
                let (status, id) = match existing {
                    Some(row) => {
                        row.extend(values);
                        touch(row, now);
                        ("updated", text(row, "sys_id"))
                    }
                    None => ("inserted", text(&self.insert(&target, values), "sys_id")),
                };
                ok(
                    201,
                    json!({
                        "import_set": "ISET0010001",
                        "staging_table": staging,
                        "result": [{
                            "transform_map": "imsbridge AI risks",
                            "table": target,
                            "display_name": "name",
                            "status": status,
                            "sys_id": id,
                            "record_link": format!("{url}/api/now/table/{target}/{id}"),
                        }],
                    }),
                )
            }
            _ => ok(
                400,
                json!({"error": {"message": "Requested URI does not represent any resource", "detail": null}, "status": "failure"}),
            ),
        }
    }

    fn insert(&mut self, table: &str, values: Row) -> Row {
        self.ids += 1;
        let now = self.now();
        let mut row = row(0, 0, 0, Value::Object(values));
        row.insert(
            "sys_id".into(),
            json!(format!("{:032x}", 0xabc0_0000_u64 + self.ids)),
        );
        row.insert("sys_created_on".into(), json!(now.clone()));
        row.insert("sys_updated_on".into(), json!(now));
        self.tables
            .entry(table.to_string())
            .or_default()
            .push(row.clone());
        row
    }
}

fn touch(row: &mut Row, now: String) {
    let count: u64 = text(row, "sys_mod_count").parse().unwrap_or(0);
    row.insert("sys_mod_count".into(), json!((count + 1).to_string()));
    row.insert("sys_updated_on".into(), json!(now));
}

/// The emulated instance: a mockito server answering `/api/now/...` from `state`.
pub struct Instance {
    pub server: ServerGuard,
    pub state: Arc<Mutex<State>>,
    _mocks: Vec<Mock>,
}

const HEADERS: [&str; 5] = [
    "link",
    "x-total-count",
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

fn key(request: &Request) -> String {
    format!(
        "{} {} {}",
        request.method(),
        request.path_and_query(),
        request
            .utf8_lossy_body()
            .map(|b| b.into_owned())
            .unwrap_or_default()
    )
}

impl Instance {
    /// An instance with the six default GRC tables (empty) and the correlation field defined
    /// on the risk table.
    pub async fn start() -> Instance {
        let mut server = Server::new_async().await;
        let url = server.url();
        let mut state = State::default();
        for table in [
            RISKS,
            "sn_compliance_control",
            "sn_compliance_policy_statement",
            "sn_grc_issue",
            "sn_audit_engagement",
            "sn_si_incident",
        ] {
            state.tables.insert(table.into(), Vec::new());
        }
        state.dictionary.push((RISKS.into(), CORR_FIELD.into(), 40));
        let state = Arc::new(Mutex::new(state));
        let mut mocks = Vec::new();
        for method in ["GET", "POST", "PATCH"] {
            // Status, headers and body are asked for in that order, one request at a time
            // per connection: the reply is computed once, at the status, and kept for the
            // other two under the request's own key.
            let s = Arc::clone(&state);
            let u = url.clone();
            let mut mock = server
                .mock(method, Matcher::Regex("^/api/now/".into()))
                .with_status_code_from_request(move |req| {
                    let mut st = s.lock().unwrap();
                    let reply = st.handle(&u, req);
                    let status = reply.status;
                    st.stash.entry(key(req)).or_default().push(reply);
                    status
                })
                .with_header("content-type", "application/json");
            for name in HEADERS {
                let s = Arc::clone(&state);
                mock = mock.with_header_from_request(name, move |req| {
                    let st = s.lock().unwrap();
                    st.stash
                        .get(&key(req))
                        .and_then(|r| r.last())
                        .and_then(|r| r.headers.iter().find(|(n, _)| n == name))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                });
            }
            let s = Arc::clone(&state);
            mock = mock.with_body_from_request(move |req| {
                let mut st = s.lock().unwrap();
                st.stash
                    .get_mut(&key(req))
                    .and_then(Vec::pop)
                    .map(|r| r.body.into_bytes())
                    .unwrap_or_default()
            });
            mocks.push(mock.create_async().await);
        }
        Instance {
            server,
            state,
            _mocks: mocks,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn put(&self, table: &str, rows: Vec<Row>) {
        self.with(|s| s.tables.entry(table.into()).or_default().extend(rows));
    }

    pub fn fault(&self, fault: Fault) {
        self.with(|s| s.faults.push(fault));
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.with(|s| s.requests.clone())
    }
}

/// A connector for `url` with Basic auth and these extra `[[system]]` keys.
pub fn connector(url: &str, extra: &str) -> ServiceNow {
    connector_with(
        url,
        &format!("username_env = 'SN_USER'\npassword_env = 'SN_PASSWORD'\n{extra}"),
        Credentials {
            username: Some(USER.into()),
            password: Some(PASSWORD.into()),
            ..Credentials::default()
        },
        &|_| None,
    )
}

pub fn connector_with(
    url: &str,
    keys: &str,
    credentials: Credentials,
    env: &dyn Fn(&str) -> Option<String>,
) -> ServiceNow {
    let text = format!("name = 'snow'\ntype = 'servicenow'\nbase_url = '{url}'\n{keys}");
    let entry = SystemEntry::split(0, toml::from_str(&text).unwrap()).unwrap();
    ServiceNow::from_entry(&entry, credentials, env).unwrap()
}

/// The `Authorization` header of the Basic credentials above.
pub fn basic_header() -> String {
    use std::fmt::Write;
    // Test-only base64 (RFC 4648), to check the header independently of the client's own.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{USER}:{PASSWORD}");
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(
                    out,
                    "{}",
                    ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char
                );
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}
