//! A stateful, in-process fake of the CISO Assistant REST API, for tests and benchmarks of the
//! CISO Assistant connector and of the sync engine.
//!
//! It speaks HTTP/1.1 (keep-alive, `Content-Length` bodies) on `127.0.0.1:<random port>` from
//! a thread and tokio runtime of its own: synchronous tests (which run the `imsbridge` binary as
//! a child process) and async tests (whose runtime may be single-threaded, or blocked in a
//! synchronous call) use it alike, and the server never competes with the code under test for
//! its runtime.
//!
//! What it answers follows the real captures under `shared/fixtures/ciso-assistant/`:
//!
//! - `Authorization: Token <t>`; no or another scheme → 401 "Authentication credentials were
//!   not provided.", a wrong token → 401 "Invalid token.", both with `WWW-Authenticate: Token`.
//! - Lists are `{count, next, previous, results}` with limit/offset paging (default page 5000),
//!   *relative* links whose query parameters are sorted by name, and the `previous` link of the
//!   second page without `offset`.
//! - Reads expand relations to `{id, str}` objects and ratings to level objects with `value`;
//!   writes (POST/PATCH bodies and their answers) use bare UUIDs and integers.
//! - A risk matrix's `json_definition` is a JSON-encoded *string*.
//! - Every object has `updated_at`; each write moves it forward (strictly: two writes in the
//!   same microsecond still get different versions, which the sync engine relies on).
//! - Risk levels are computed on save as `grid[proba][impact]`, `-1` when either is not rated.
//! - Validation errors are DRF's `{"field": ["message"]}` with DRF's wording.
//!
//! State: the root folder "Global", the 5x5 ISO 27005 matrix, and (unless
//! [`FakeOptions::seed_containers`] is off) the folder, perimeter and risk assessment of the
//! fixtures, under the fixtures' ids ([`FOLDER_ID`], [`PERIMETER_ID`], [`RISK_ASSESSMENT_ID`]).
//!
//! Tests steer it through [`FakeCiso`]: inspection ([`FakeCiso::scenarios`],
//! [`FakeCiso::request_counts`] …), remote edits ([`FakeCiso::edit_scenario`]), faults
//! ([`FakeCiso::fail_next`], [`FakeCiso::add_fault`]) and a gate that holds the answer to the
//! N-th create after it was stored ([`FakeCiso::pause_after_creates`]), so that a test can kill
//! a client exactly when the outcome of a create is unknown to it.

#![allow(
    clippy::panic,
    reason = "test support: FakeCiso::start panics with the reason when no server can be started, \
              so tests need no error plumbing; FakeCiso::try_start returns the error instead"
)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The token the server accepts unless [`FakeOptions::token`] says otherwise.
pub const DEFAULT_TOKEN: &str = "fake-ciso-token";
/// The page size without `limit` (the real server's `PAGINATE_BY`).
pub const DEFAULT_PAGE_SIZE: usize = 5000;

/// The root folder every installation has.
pub const GLOBAL_FOLDER_ID: &str = "3c9224c2-6ffb-4d3d-a812-38bc3d8f1c0d";
/// The seeded folder ("domain"), as in the fixtures.
pub const FOLDER_ID: &str = "cf10de1e-d9dd-4976-b57d-952563062565";
pub const FOLDER_NAME: &str = "AI Bridge Demo";
/// The seeded perimeter.
pub const PERIMETER_ID: &str = "57e39c8d-7170-457a-b22b-f2cef5871339";
pub const PERIMETER_NAME: &str = "AI Platform";
/// The seeded risk assessment (on the 5x5 matrix).
pub const RISK_ASSESSMENT_ID: &str = "229498b5-131d-4aca-80e8-adc3a7900f9f";
pub const RISK_ASSESSMENT_NAME: &str = "AI risk register";
/// The loaded 5x5 ISO 27005 risk matrix.
pub const MATRIX_ID: &str = "5a159c01-92d3-4084-add5-1d0dac0d027b";
pub const MATRIX_NAME: &str = "5x5 ISO-27005";
pub const MATRIX_URN: &str = "urn:intuitem:risk:matrix:5x5-iso27005";
/// The API user (`GET /api/iam/current-user/` → `id`).
pub const USER_ID: &str = "57cc5a80-2d15-49b5-8d73-627432a2a26e";
/// The API user's actor (`actor_id`): what a scenario's `owner` takes.
pub const ACTOR_ID: &str = "87ca52f5-5978-4a77-9e37-cc8b62851f81";
pub const USER_EMAIL: &str = "admin@example.com";

/// Every actor the server knows (id, email): the API user first, then colleagues that owners
/// can be mapped to. Owners outside this list are refused like unknown primary keys.
pub const ACTORS: [(&str, &str); 6] = [
    (ACTOR_ID, USER_EMAIL),
    (
        "0b4e8f2a-6c1d-4e7b-9a53-2f8c71d4e601",
        "dana.okafor@example.com",
    ),
    (
        "1c5f903b-7d2e-4f8c-8b64-3a9d82e5f702",
        "lars.berg@example.com",
    ),
    (
        "2d60a14c-8e3f-4a9d-9c75-4bae93f60803",
        "mei.tanaka@example.com",
    ),
    (
        "3e71b25d-9f40-4bae-8d86-5cbfa4071904",
        "rafael.ortiz@example.com",
    ),
    (
        "4f82c36e-a051-4cbf-9e97-6dc0b5182a05",
        "sofia.lindqvist@example.com",
    ),
];

/// How a [`FakeCiso`] behaves.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// The one token accepted.
    pub token: String,
    /// How long every answer waits (a `tokio::time::sleep`, so concurrent requests overlap
    /// like on a real server).
    pub latency: Duration,
    /// The largest `limit` honoured; larger ones are cut to it (DRF's `max_limit`). Small
    /// values make a client walk many pages.
    pub page_size_cap: usize,
    /// Start with the fixtures' folder, perimeter and risk assessment (default); without
    /// them only "Global" and the matrix exist, for tests of `create = true`.
    pub seed_containers: bool,
    /// Worker threads of the server's runtime.
    pub worker_threads: usize,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token: DEFAULT_TOKEN.to_string(),
            latency: Duration::ZERO,
            page_size_cap: DEFAULT_PAGE_SIZE,
            seed_containers: true,
            worker_threads: 2,
        }
    }
}

/// Requests received, by method (every request counts, refused and faulted ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get: u64,
    pub post: u64,
    pub patch: u64,
    /// DELETE, PUT, HEAD, OPTIONS …
    pub other: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.get + self.post + self.patch + self.other
    }

    /// Requests that could have changed something (everything but GET).
    pub fn writes(&self) -> u64 {
        self.post + self.patch + self.other
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The status answered; 0 when the connection was dropped instead.
    pub status: u16,
}

/// When a [`Fault`] strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultWhen {
    /// Instead of handling the request: nothing is stored.
    Before,
    /// After handling it: a write has landed, but the client is told otherwise (or nothing),
    /// which is what makes a create's outcome unknown to it.
    After,
}

/// What a [`Fault`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultEffect {
    /// Answer with this status, body and extra headers (`Retry-After` …).
    Respond {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Close the connection without answering.
    Close,
    /// Wait this long (then answer normally): with [`FaultWhen::After`], a client timeout
    /// whose write landed.
    Delay(Duration),
}

/// A programmed failure for the next `times` requests matching `method` and `path_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `GET`, `POST` … or `*` for any method.
    pub method: String,
    /// Matched against the path without the query (`/api/risk-scenarios/`).
    pub path_prefix: String,
    pub times: usize,
    pub when: FaultWhen,
    pub effect: FaultEffect,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

type CreateHook = Arc<dyn Fn(&Value) + Send + Sync>;

/// Where the create gate stands (see [`FakeCiso::pause_after_creates`]).
#[derive(Debug, Clone, PartialEq)]
enum GatePhase {
    Open,
    /// Holding the answer to this created scenario (write shape), and every later create.
    Holding(Value),
}

impl GatePhase {
    fn holding(&self) -> Option<&Value> {
        match self {
            GatePhase::Holding(v) => Some(v),
            GatePhase::Open => None,
        }
    }
}

/// A running fake CISO Assistant. Stops when dropped.
pub struct FakeCiso {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeCiso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeCiso")
            .field("addr", &self.addr)
            .field("running", &self.thread.is_some())
            .field("counts", &self.request_counts())
            .finish_non_exhaustive()
    }
}

impl FakeCiso {
    /// Starts a server; panics with the reason when it cannot (no loopback, no threads).
    pub fn start(options: FakeOptions) -> FakeCiso {
        match FakeCiso::try_start(options) {
            Ok(fake) => fake,
            Err(e) => panic!("cannot start the fake CISO Assistant: {e}"),
        }
    }

    /// Starts a server on `127.0.0.1:<free port>`; it answers as soon as this returns.
    pub fn try_start(options: FakeOptions) -> io::Result<FakeCiso> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.max(1))
            .thread_name("fake-ciso")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new(options, addr));
        let (shutdown, mut stop) = watch::channel(false);
        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-ciso-accept".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("fake CISO Assistant: cannot listen: {e}");
                            return;
                        }
                    };
                    loop {
                        tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => {
                                    tokio::spawn(serve_connection(Arc::clone(&server), stream));
                                }
                                // Out of file descriptors and the like: keep serving the
                                // connections there are.
                                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                            },
                            _ = stop.changed() => break,
                        }
                    }
                });
                // Drops the connection tasks, held answers included.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(FakeCiso {
            shared,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token accepted now.
    pub fn token(&self) -> String {
        self.shared.state().token.clone()
    }

    /// Accepts another token from now on (the old one gets 401 "Invalid token.").
    pub fn set_token(&self, token: &str) {
        self.shared.state().token = token.to_string();
    }

    /// Stops the server: the port is closed, open connections are dropped, held answers are
    /// never sent. Idempotent.
    pub fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    // --- inspection --------------------------------------------------------------------

    /// Every risk scenario in the write shape (bare ids and integers), oldest first.
    pub fn scenarios(&self) -> Vec<Value> {
        let state = self.shared.state();
        state
            .scenarios
            .items
            .iter()
            .map(|o| state.write_shape(Coll::RiskScenarios, o))
            .collect()
    }

    /// One risk scenario in the write shape.
    pub fn scenario(&self, id: &str) -> Option<Value> {
        let state = self.shared.state();
        state
            .scenarios
            .get(id)
            .map(|o| state.write_shape(Coll::RiskScenarios, o))
    }

    pub fn scenario_count(&self) -> usize {
        self.shared.state().scenarios.items.len()
    }

    /// How many scenarios carry exactly this `ref_id`.
    pub fn count_by_ref_id(&self, ref_id: &str) -> usize {
        self.shared
            .state()
            .scenarios
            .items
            .iter()
            .filter(|o| o.fields.get("ref_id").and_then(Value::as_str) == Some(ref_id))
            .count()
    }

    /// The non-empty `ref_id`s held by more than one scenario, with their counts.
    pub fn duplicate_ref_ids(&self) -> Vec<(String, usize)> {
        let state = self.shared.state();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for o in &state.scenarios.items {
            if let Some(r) = o.fields.get("ref_id").and_then(Value::as_str)
                && !r.is_empty()
            {
                *counts.entry(r).or_default() += 1;
            }
        }
        let mut dups: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(r, n)| (r.to_string(), n))
            .collect();
        dups.sort();
        dups
    }

    pub fn request_counts(&self) -> RequestCounts {
        let c = &self.shared.counts;
        RequestCounts {
            get: c.get.load(Ordering::Relaxed),
            post: c.post.load(Ordering::Relaxed),
            patch: c.patch.load(Ordering::Relaxed),
            other: c.other.load(Ordering::Relaxed),
        }
    }

    /// Zeroes the counts and empties the request log.
    pub fn reset_counts(&self) {
        let c = &self.shared.counts;
        for counter in [&c.get, &c.post, &c.patch, &c.other] {
            counter.store(0, Ordering::Relaxed);
        }
        lock(&self.shared.log).clear();
    }

    /// Every request since the start or the last [`FakeCiso::reset_counts`], in the order
    /// they were answered.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    // --- remote edits ------------------------------------------------------------------

    /// Sets one field of a scenario as a person would in the web UI: levels are recomputed
    /// and `updated_at` moves forward. Takes write-shape values. `None`: no such scenario,
    /// or a value the API would refuse.
    pub fn edit_scenario(&self, id: &str, field: &str, value: Value) -> Option<Value> {
        let mut body = Map::new();
        body.insert(field.to_string(), value);
        self.shared.state().update_scenario(id, &body).ok()
    }

    /// Stores a scenario as if POSTed (write-shape body, validated the same way), without a
    /// request being counted: a remote record that predates the test. `Err`: the 400 body.
    pub fn insert_scenario(&self, body: Value) -> Result<Value, Value> {
        let Value::Object(body) = body else {
            return Err(json!({"non_field_errors": ["Invalid data. Expected a dictionary."]}));
        };
        self.shared
            .state()
            .create_scenario(&body, false)
            .map(|(v, _)| v)
    }

    /// Deletes a scenario as a person would; `false` when there is none.
    pub fn delete_scenario(&self, id: &str) -> bool {
        self.shared.state().scenarios.remove(id)
    }

    // --- faults and hooks --------------------------------------------------------------

    /// The next `times` requests of `method` (`*`: any) whose path starts with `path_prefix`
    /// are answered `status` with `body`, without being handled.
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        body: &str,
        times: usize,
    ) {
        self.add_fault(Fault {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            times,
            when: FaultWhen::Before,
            effect: FaultEffect::Respond {
                status,
                body: body.to_string(),
                headers: Vec::new(),
            },
        });
    }

    /// Like [`FakeCiso::fail_next`], but the request is handled first: a create lands and the
    /// client is told it failed.
    pub fn fail_after_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        body: &str,
        times: usize,
    ) {
        self.add_fault(Fault {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            times,
            when: FaultWhen::After,
            effect: FaultEffect::Respond {
                status,
                body: body.to_string(),
                headers: Vec::new(),
            },
        });
    }

    /// The next `times` matching requests get their connection closed without an answer;
    /// with `after_handling`, only once the request took effect.
    pub fn drop_next(&self, method: &str, path_prefix: &str, after_handling: bool, times: usize) {
        self.add_fault(Fault {
            method: method.to_string(),
            path_prefix: path_prefix.to_string(),
            times,
            when: if after_handling {
                FaultWhen::After
            } else {
                FaultWhen::Before
            },
            effect: FaultEffect::Close,
        });
    }

    /// Programs a fault; faults are tried in the order added, the first match is used up.
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Calls `hook` with each created scenario (write shape) once it is stored, before it is
    /// answered. Replaces an earlier hook.
    pub fn on_create(&self, hook: impl Fn(&Value) + Send + Sync + 'static) {
        *lock(&self.shared.on_create) = Some(Arc::new(hook));
    }

    /// Arms the create gate: the `n`-th risk scenario created from now on is stored, then its
    /// answer is held until [`FakeCiso::release`]; creates arriving meanwhile wait *before*
    /// being stored, so exactly `n` exist while the gate holds. A test waits with
    /// [`FakeCiso::wait_paused`], kills the client, then looks at what the next run does.
    pub fn pause_after_creates(&self, n: usize) {
        self.shared.state().gate = Some(n.max(1));
        self.shared.gate.send_replace(GatePhase::Open);
    }

    /// Blocks until the gate holds a create (its write shape), or `timeout` passes. For
    /// synchronous tests; async tests use [`FakeCiso::paused`].
    pub fn wait_paused(&self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.shared.gate.borrow().holding() {
                return Some(v.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the gate holds a create, and returns it (write shape).
    pub async fn paused(&self) -> Value {
        let mut rx = self.shared.gate.subscribe();
        let held = rx
            .wait_for(|p| p.holding().is_some())
            .await
            .ok()
            .and_then(|p| p.holding().cloned());
        // The sender lives as long as `self`: the wait only ends with a held create.
        held.unwrap_or(Value::Null)
    }

    /// Opens the gate: the held answer and the waiting creates go on. Disarms it.
    pub fn release(&self) {
        self.shared.state().gate = None;
        self.shared.gate.send_replace(GatePhase::Open);
    }
}

impl Drop for FakeCiso {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test thread that panicked while holding a lock leaves consistent data behind (every
    // change is made under one lock); the server keeps answering.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Counts {
    get: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    other: AtomicU64,
}

/// What the connection tasks and the [`FakeCiso`] handle share.
struct Shared {
    latency: Duration,
    state: Mutex<State>,
    counts: Counts,
    log: Mutex<Vec<LoggedRequest>>,
    faults: Mutex<Vec<Fault>>,
    on_create: Mutex<Option<CreateHook>>,
    gate: watch::Sender<GatePhase>,
}

impl Shared {
    fn new(options: FakeOptions, addr: SocketAddr) -> Shared {
        Shared {
            latency: options.latency,
            state: Mutex::new(State::new(&options, addr)),
            counts: Counts::default(),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            on_create: Mutex::new(None),
            gate: watch::Sender::new(GatePhase::Open),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn count(&self, method: &str) {
        let counter = match method {
            "GET" => &self.counts.get,
            "POST" => &self.counts.post,
            "PATCH" => &self.counts.patch,
            _ => &self.counts.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| f.matches(method, path))?;
        let fault = faults.get_mut(index)?;
        fault.times -= 1;
        let taken = fault.clone();
        if fault.times == 0 {
            faults.remove(index);
        }
        Some(taken)
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// Longest request head accepted (DRF's own limit is larger; a client never gets near this).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug)]
struct Request {
    method: String,
    /// Path and query as sent.
    target: String,
    path: String,
    query: Vec<(String, String)>,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: &Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    fn json_bytes(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    fn detail(status: u16, detail: &str) -> Response {
        Response::json(status, &json!({ "detail": detail }))
    }

    fn with(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    // Small answers must not wait for Nagle's algorithm: the latency is the configured one.
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let request = match read_request(&mut reader).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(response) => {
                let _ = write_response(&mut write, &response, true).await;
                return;
            }
        };
        let Some(response) = respond(&shared, &request).await else {
            return;
        };
        if write_response(&mut write, &response, request.close)
            .await
            .is_err()
            || request.close
        {
            return;
        }
    }
}

/// Reads one request; `Ok(None)` when the client closed the connection between requests.
async fn read_request(reader: &mut BufReader<OwnedReadHalf>) -> Result<Option<Request>, Response> {
    let mut head: Vec<String> = Vec::new();
    let mut size = 0;
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| Response::detail(400, "Unreadable request."))?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(Response::detail(400, "The request ended inside its head."))
            };
        }
        size += n;
        if size > MAX_HEAD {
            return Err(Response::detail(431, "Request head too large."));
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if text.is_empty() {
            if head.is_empty() {
                // Stray line breaks between requests are tolerated (RFC 9112 §2.2).
                continue;
            }
            break;
        }
        head.push(text);
    }
    let mut parts = head.first().map(|l| l.split(' ')).into_iter().flatten();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::detail(400, "Malformed request line."));
    };
    let method = method.to_ascii_uppercase();
    let target = target.to_string();
    let http10 = version.eq_ignore_ascii_case("HTTP/1.0");
    let mut headers = Vec::new();
    for line in head.iter().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Response::detail(400, "Malformed header line."));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        path: target.split('?').next().unwrap_or_default().to_string(),
        query: target
            .split_once('?')
            .map(|(_, q)| parse_query(q))
            .unwrap_or_default(),
        target,
        headers,
        body: Vec::new(),
        close: false,
    };
    let connection = request.header("connection").map(str::to_ascii_lowercase);
    request.close = match connection.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => http10,
    };
    if request
        .header("transfer-encoding")
        .is_some_and(|t| !t.eq_ignore_ascii_case("identity"))
    {
        return Err(Response::detail(
            501,
            "Chunked request bodies are not supported here.",
        ));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| Response::detail(400, "Bad Content-Length."))?,
    };
    if length > MAX_BODY {
        return Err(Response::detail(413, "Request body too large."));
    }
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).await.map_err(|_| {
        Response::detail(400, "The request body is shorter than its Content-Length.")
    })?;
    Ok(Some(request))
}

async fn write_response(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    response: &Response,
    close: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if response.status != 204 {
        out.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    out.push_str("Vary: Accept, origin, Cookie\r\n");
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if response.status != 204 {
        bytes.extend_from_slice(&response.body);
    }
    write.write_all(&bytes).await?;
    write.flush().await
}

/// Counts, applies faults and latency, handles; `None`: drop the connection unanswered.
async fn respond(shared: &Shared, request: &Request) -> Option<Response> {
    shared.count(&request.method);
    let fault = shared.take_fault(&request.method, &request.path);
    let log = |status: u16| {
        lock(&shared.log).push(LoggedRequest {
            method: request.method.clone(),
            target: request.target.clone(),
            status,
        });
    };
    let mut response = None;
    if let Some(f) = fault.as_ref().filter(|f| f.when == FaultWhen::Before) {
        match &f.effect {
            FaultEffect::Respond { .. } => response = fault_response(&f.effect),
            FaultEffect::Close => {
                tokio::time::sleep(shared.latency).await;
                log(0);
                return None;
            }
            FaultEffect::Delay(d) => tokio::time::sleep(*d).await,
        }
    }
    let mut response = match response {
        Some(r) => r,
        None => handle(shared, request).await,
    };
    if let Some(f) = fault.as_ref().filter(|f| f.when == FaultWhen::After) {
        match &f.effect {
            FaultEffect::Respond { .. } => {
                if let Some(r) = fault_response(&f.effect) {
                    response = r;
                }
            }
            FaultEffect::Close => {
                tokio::time::sleep(shared.latency).await;
                log(0);
                return None;
            }
            FaultEffect::Delay(d) => tokio::time::sleep(*d).await,
        }
    }
    tokio::time::sleep(shared.latency).await;
    log(response.status);
    Some(response)
}

fn fault_response(effect: &FaultEffect) -> Option<Response> {
    let FaultEffect::Respond {
        status,
        body,
        headers,
    } = effect
    else {
        return None;
    };
    let content_type = if serde_json::from_str::<Value>(body).is_ok() {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    };
    let mut response = Response {
        status: *status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.as_bytes().to_vec(),
    };
    response.headers.extend(headers.iter().cloned());
    Some(response)
}

/// `a=1&b=x%20y` → pairs, decoded like Django (`+` is a space).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes like Python's `urlencode` (`quote_plus`), which DRF's links use.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

const ALLOW_LIST: &str = "GET, POST, HEAD, OPTIONS";
const ALLOW_DETAIL: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";

async fn handle(shared: &Shared, request: &Request) -> Response {
    let token = shared.state().token.clone();
    let given = request.header("authorization").and_then(|h| {
        let (scheme, value) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("token").then(|| value.trim())
    });
    match given {
        None => {
            return Response::detail(401, "Authentication credentials were not provided.")
                .with("WWW-Authenticate", "Token");
        }
        Some(t) if t != token => {
            return Response::detail(401, "Invalid token.").with("WWW-Authenticate", "Token");
        }
        Some(_) => {}
    }
    let Some(inner) = request
        .path
        .strip_prefix("/api/")
        .and_then(|p| p.strip_suffix('/'))
    else {
        return Response::detail(404, "Not found.");
    };
    let segments: Vec<&str> = inner.split('/').collect();
    let method = request.method.as_str();
    match segments.as_slice() {
        ["build"] => match method {
            "GET" => Response::json(
                200,
                &json!({
                    "version": "v3.20.8-fake",
                    "build": "fake",
                    "infrastructure": "S-FS",
                    "diskSpace": "270.6 GB",
                    "diskUsed": "15.3 GB (5 %)"
                }),
            )
            .with("Allow", "OPTIONS, GET"),
            _ => not_allowed(method, "OPTIONS, GET"),
        },
        ["iam", "current-user"] => match method {
            "GET" => Response::json(200, &current_user()).with("Allow", "GET, HEAD, OPTIONS"),
            _ => not_allowed(method, "GET, HEAD, OPTIONS"),
        },
        [collection] => {
            let Some(coll) = Coll::from_segment(collection) else {
                return Response::detail(404, "Not found.");
            };
            match method {
                "GET" => {
                    let listed = shared.state().list(coll, &request.path, &request.query);
                    match listed {
                        Ok(page) => Response::json_bytes(200, page).with("Allow", ALLOW_LIST),
                        Err(errors) => Response::json(400, &errors).with("Allow", ALLOW_LIST),
                    }
                }
                "POST" => {
                    let body = match json_object(&request.body) {
                        Ok(b) => b,
                        Err(r) => return r.with("Allow", ALLOW_LIST),
                    };
                    if coll == Coll::RiskScenarios {
                        return create_scenario(shared, body)
                            .await
                            .with("Allow", ALLOW_LIST);
                    }
                    let created = shared.state().create_container(coll, &body);
                    match created {
                        Ok(v) => Response::json(201, &v),
                        Err(errors) => Response::json(400, &errors),
                    }
                    .with("Allow", ALLOW_LIST)
                }
                _ => not_allowed(method, ALLOW_LIST),
            }
        }
        [collection, id] => {
            let Some(coll) = Coll::from_segment(collection) else {
                return Response::detail(404, "Not found.");
            };
            let missing = || {
                Response::detail(
                    404,
                    &format!("No {} matches the given query.", coll.model()),
                )
                .with("Allow", ALLOW_DETAIL)
            };
            match method {
                "GET" => {
                    let state = shared.state();
                    match state.table(coll).get(id) {
                        Some(o) => Response::json(200, &state.read_shape(coll, o))
                            .with("Allow", ALLOW_DETAIL),
                        None => missing(),
                    }
                }
                "PATCH" if coll == Coll::RiskScenarios => {
                    let body = match json_object(&request.body) {
                        Ok(b) => b,
                        Err(r) => return r.with("Allow", ALLOW_DETAIL),
                    };
                    let updated = shared.state().update_scenario(id, &body);
                    match updated {
                        Ok(v) => Response::json(200, &v).with("Allow", ALLOW_DETAIL),
                        Err(None) => missing(),
                        Err(Some(errors)) => {
                            Response::json(400, &errors).with("Allow", ALLOW_DETAIL)
                        }
                    }
                }
                "DELETE" if coll == Coll::RiskScenarios => {
                    if shared.state().scenarios.remove(id) {
                        Response {
                            status: 204,
                            headers: vec![("Allow".into(), ALLOW_DETAIL.into())],
                            body: Vec::new(),
                        }
                    } else {
                        missing()
                    }
                }
                _ => not_allowed(method, ALLOW_DETAIL),
            }
        }
        _ => Response::detail(404, "Not found."),
    }
}

fn not_allowed(method: &str, allow: &str) -> Response {
    Response::detail(405, &format!("Method \"{method}\" not allowed.")).with("Allow", allow)
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Response::json(
            400,
            &json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.", python_type(&other)
            )]}),
        )),
        Err(e) => Err(Response::detail(400, &format!("JSON parse error - {e}"))),
    }
}

/// Creates a scenario through the gate (see [`FakeCiso::pause_after_creates`]).
async fn create_scenario(shared: &Shared, body: Map<String, Value>) -> Response {
    let mut gate = shared.gate.subscribe();
    loop {
        let created = {
            let mut state = shared.state();
            // A held gate keeps later creates from being stored, so that exactly N exist.
            let holding = shared.gate.borrow().holding().is_some() || state.gate == Some(0);
            if holding {
                None
            } else {
                Some(state.create_scenario(&body, true))
            }
        };
        match created {
            None => {
                if shared.gate.borrow().holding().is_none() {
                    // Tripped a moment ago; the tripping create announces it once its hook ran.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                } else {
                    let _ = gate.wait_for(|p| p.holding().is_none()).await;
                }
            }
            Some(Err(errors)) => return Response::json(400, &errors),
            Some(Ok((value, trips))) => {
                let hook = lock(&shared.on_create).clone();
                if let Some(hook) = hook {
                    hook(&value);
                }
                if trips {
                    shared.gate.send_replace(GatePhase::Holding(value.clone()));
                    let _ = gate.wait_for(|p| p.holding().is_none()).await;
                }
                return Response::json(201, &value);
            }
        }
    }
}

fn current_user() -> Value {
    json!({
        "id": USER_ID,
        "actor_id": ACTOR_ID,
        "all_actor_ids": [ACTOR_ID],
        "email": USER_EMAIL,
        "first_name": "",
        "last_name": "",
        "is_active": true,
        "date_joined": "2026-11-27T03:26:28.201949Z",
        "user_groups": [["BI-UG-ADM", true]],
        "roles": ["BI-RL-ADM"],
        "is_third_party": false,
        "is_auditee": false,
        "is_admin": true,
        "is_local": true,
        "is_sso": false,
        "accessible_domains": [FOLDER_ID],
        "domain_permissions": {
            GLOBAL_FOLDER_ID: ["view_riskscenario", "add_riskscenario", "change_riskscenario",
                               "view_riskassessment", "add_riskassessment", "view_folder",
                               "add_folder", "view_perimeter", "add_perimeter", "view_riskmatrix"],
        },
        "root_folder_id": GLOBAL_FOLDER_ID,
        "preferences": {"lang": "en"},
        "has_mfa_enabled": false,
        "is_superuser": true
    })
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coll {
    Folders,
    Perimeters,
    RiskAssessments,
    RiskMatrices,
    RiskScenarios,
}

impl Coll {
    fn from_segment(segment: &str) -> Option<Coll> {
        Some(match segment {
            "folders" => Coll::Folders,
            "perimeters" => Coll::Perimeters,
            "risk-assessments" => Coll::RiskAssessments,
            "risk-matrices" => Coll::RiskMatrices,
            "risk-scenarios" => Coll::RiskScenarios,
            _ => return None,
        })
    }

    /// The Django model, for 404 messages.
    fn model(self) -> &'static str {
        match self {
            Coll::Folders => "Folder",
            Coll::Perimeters => "Perimeter",
            Coll::RiskAssessments => "RiskAssessment",
            Coll::RiskMatrices => "RiskMatrix",
            Coll::RiskScenarios => "RiskScenario",
        }
    }

    /// Query parameters filtered on by exact value (django-filter's `filterset_fields`);
    /// others are ignored, as django-filter does.
    fn filter_fields(self) -> &'static [&'static str] {
        match self {
            Coll::Folders => &["id", "name", "content_type", "parent_folder"],
            Coll::Perimeters => &["id", "name", "folder", "ref_id", "lc_status"],
            Coll::RiskAssessments => &[
                "id",
                "name",
                "folder",
                "perimeter",
                "risk_matrix",
                "version",
                "status",
                "ref_id",
            ],
            Coll::RiskMatrices => &["id", "name", "folder", "urn", "ref_id", "is_enabled"],
            Coll::RiskScenarios => &[
                "id",
                "name",
                "ref_id",
                "risk_assessment",
                "folder",
                "treatment",
                "owner",
                "inherent_level",
                "current_level",
                "residual_level",
            ],
        }
    }

    /// The fields `search` looks in (case-insensitive substring).
    fn search_fields(self) -> &'static [&'static str] {
        match self {
            Coll::RiskMatrices => &["name", "urn", "ref_id"],
            Coll::Folders => &["name"],
            _ => &["name", "ref_id"],
        }
    }
}

/// The collection a relation filter names: an unknown id there is a 400, as django-filter's
/// `ModelChoiceFilter` answers.
fn relation_of_filter(key: &str) -> Option<Coll> {
    match key {
        "folder" | "parent_folder" => Some(Coll::Folders),
        "perimeter" => Some(Coll::Perimeters),
        "risk_assessment" => Some(Coll::RiskAssessments),
        "risk_matrix" => Some(Coll::RiskMatrices),
        _ => None,
    }
}

/// One stored object: its write-shape fields besides id and timestamps.
#[derive(Debug, Clone)]
struct Obj {
    id: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    fields: Map<String, Value>,
    /// A scenario's read shape, serialized once per version: list pages are most of a sync's
    /// requests, and the fake must cost little next to the client it measures. What else the
    /// read shape shows (assessment, folder, matrix names) never changes in the fake.
    rendered: OnceLock<Vec<u8>>,
}

impl Obj {
    fn new(id: &str, at: DateTime<Utc>, fields: Value) -> Obj {
        Obj {
            id: id.to_string(),
            created_at: at,
            updated_at: at,
            fields: into_map(fields),
            rendered: OnceLock::new(),
        }
    }

    fn text(&self, key: &str) -> &str {
        self.fields.get(key).and_then(Value::as_str).unwrap_or("")
    }

    fn int(&self, key: &str) -> i64 {
        self.fields.get(key).and_then(Value::as_i64).unwrap_or(-1)
    }

    /// A field without copying it (the id and timestamps are made on the fly).
    fn field(&self, key: &str) -> Cow<'_, Value> {
        static NULL: Value = Value::Null;
        match key {
            "id" | "created_at" | "updated_at" => Cow::Owned(self.value(key)),
            _ => Cow::Borrowed(self.fields.get(key).unwrap_or(&NULL)),
        }
    }

    fn value(&self, key: &str) -> Value {
        match key {
            "id" => json!(self.id),
            "created_at" => json!(stamp(self.created_at)),
            "updated_at" => json!(stamp(self.updated_at)),
            _ => self.fields.get(key).cloned().unwrap_or(Value::Null),
        }
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Objects in creation order (the order lists use without `ordering`), indexed by id.
#[derive(Debug, Default)]
struct Table {
    items: Vec<Obj>,
    index: HashMap<String, usize>,
}

impl Table {
    fn get(&self, id: &str) -> Option<&Obj> {
        let id = id.to_ascii_lowercase();
        self.index.get(&id).and_then(|&i| self.items.get(i))
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Obj> {
        let id = id.to_ascii_lowercase();
        let i = *self.index.get(&id)?;
        self.items.get_mut(i)
    }

    fn insert(&mut self, obj: Obj) {
        self.index.insert(obj.id.clone(), self.items.len());
        self.items.push(obj);
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(i) = self.index.remove(&id.to_ascii_lowercase()) else {
            return false;
        };
        self.items.remove(i);
        self.index = self
            .items
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.clone(), i))
            .collect();
        true
    }
}

/// A risk matrix's definition, decoded once: the level objects reads show, and the grid.
#[derive(Debug)]
struct MatrixView {
    /// `json_definition` as the API sends it: JSON text inside a JSON string.
    definition: String,
    proba: Vec<Value>,
    impact: Vec<Value>,
    risk: Vec<Value>,
    grid: Vec<Vec<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    Proba,
    Impact,
    Level,
}

impl MatrixView {
    fn parse(text: &str) -> MatrixView {
        let definition: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let levels = |key: &str| -> Vec<Value> {
            definition
                .get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let mut level = item.clone();
                            if let Some(map) = level.as_object_mut() {
                                map.insert("value".into(), json!(i));
                            }
                            level
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let grid = definition
            .get("grid")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .map(|r| r.iter().filter_map(Value::as_i64).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        MatrixView {
            definition: serde_json::to_string(&definition).unwrap_or_default(),
            proba: levels("probability"),
            impact: levels("impact"),
            risk: levels("risk"),
            grid,
        }
    }

    fn levels(&self, axis: Axis) -> &[Value] {
        match axis {
            Axis::Proba => &self.proba,
            Axis::Impact => &self.impact,
            Axis::Level => &self.risk,
        }
    }

    /// `grid[proba][impact]`, or -1 when either is not rated (as the server computes on save).
    fn level(&self, proba: i64, impact: i64) -> i64 {
        let (Ok(p), Ok(i)) = (usize::try_from(proba), usize::try_from(impact)) else {
            return -1;
        };
        self.grid
            .get(p)
            .and_then(|row| row.get(i))
            .copied()
            .unwrap_or(-1)
    }

    /// The read shape of a rating: the level object with `value`, or "not rated".
    fn rating(&self, axis: Axis, value: i64) -> Value {
        usize::try_from(value)
            .ok()
            .and_then(|i| self.levels(axis).get(i))
            .cloned()
            .unwrap_or_else(|| not_rated(axis))
    }
}

fn not_rated(axis: Axis) -> Value {
    let mut v =
        json!({"abbreviation": "--", "name": "--", "description": "not rated", "value": -1});
    if axis == Axis::Level
        && let Some(map) = v.as_object_mut()
    {
        map.insert("hexcolor".into(), json!("#A9A9A9"));
    }
    v
}

const RATINGS: [(&str, Axis); 9] = [
    ("inherent_proba", Axis::Proba),
    ("inherent_impact", Axis::Impact),
    ("inherent_level", Axis::Level),
    ("current_proba", Axis::Proba),
    ("current_impact", Axis::Impact),
    ("current_level", Axis::Level),
    ("residual_proba", Axis::Proba),
    ("residual_impact", Axis::Impact),
    ("residual_level", Axis::Level),
];

const TREATMENTS: [&str; 6] = [
    "open",
    "mitigate",
    "accept",
    "avoid",
    "transfer",
    "cancelled",
];

/// Many-to-many fields of a scenario that take any ids (the objects behind them are not
/// modelled here); `owner` is checked against [`ACTORS`].
const SCENARIO_LISTS: [&str; 10] = [
    "applied_controls",
    "existing_applied_controls",
    "assets",
    "threats",
    "vulnerabilities",
    "incidents",
    "filtering_labels",
    "qualifications",
    "security_exceptions",
    "antecedent_scenarios",
];

/// `2026-11-27T03:51:36.399311Z`: microseconds, like Django.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What django-filter's `IsoDateTimeFilter` accepts; naive times are UTC.
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

fn field_error(key: &str, message: &str) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), json!([message]));
    Value::Object(map)
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (a, b) {
        (Value::Null, Value::Null) => Equal,
        (Value::Null, _) => Less,
        (_, Value::Null) => Greater,
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Equal,
    }
}

/// A page link as DRF builds it: the request's parameters with `limit`/`offset` replaced,
/// sorted by name, relative to the host; without `offset` when it is 0.
fn page_link(
    path: &str,
    query: &[(String, String)],
    limit: usize,
    offset: Option<usize>,
) -> String {
    let mut params: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "limit" && k != "offset")
        .cloned()
        .collect();
    params.push(("limit".into(), limit.to_string()));
    if let Some(offset) = offset {
        params.push(("offset".into(), offset.to_string()));
    }
    // Stable: repeated parameters keep their order, like Python's sorted().
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Reads an integer as DRF's `IntegerField` does (`3`, `3.0`, `"3"`; not `true`).
fn as_int(value: &Value) -> Option<i64> {
    let whole = |f: f64| (f.is_finite() && f.fract() == 0.0).then_some(f as i64);
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

/// DRF-style validation of a write body: normalised values in `out`, messages in `errors`.
struct Validate<'a> {
    body: &'a Map<String, Value>,
    /// PATCH: absent required fields are fine.
    partial: bool,
    out: Map<String, Value>,
    errors: Map<String, Value>,
}

/// How a text field may be empty.
#[derive(Clone, Copy)]
struct TextRule {
    required: bool,
    blank: bool,
    null: bool,
    max: usize,
}

const NAME: TextRule = TextRule {
    required: true,
    blank: false,
    null: false,
    max: 200,
};
const OPTIONAL_TEXT: TextRule = TextRule {
    required: false,
    blank: true,
    null: true,
    max: usize::MAX,
};
const REF_ID: TextRule = TextRule {
    required: false,
    blank: true,
    null: true,
    max: 100,
};

impl<'a> Validate<'a> {
    fn new(body: &'a Map<String, Value>, partial: bool) -> Validate<'a> {
        Validate {
            body,
            partial,
            out: Map::new(),
            errors: Map::new(),
        }
    }

    fn fail(&mut self, key: &str, message: String) {
        self.errors.insert(key.to_string(), json!([message]));
    }

    /// `true` when the field is absent (a required one is then an error on create).
    fn absent(&mut self, key: &str, required: bool) -> bool {
        if self.body.contains_key(key) {
            return false;
        }
        if required && !self.partial {
            self.fail(key, "This field is required.".into());
        }
        true
    }

    fn text(&mut self, key: &str, rule: TextRule) {
        if self.absent(key, rule.required) {
            return;
        }
        let text = match self.body.get(key) {
            Some(Value::Null) if rule.null => {
                self.out.insert(key.to_string(), Value::Null);
                return;
            }
            Some(Value::Null) => return self.fail(key, "This field may not be null.".into()),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return self.fail(key, "Not a valid string.".into()),
        };
        if text.is_empty() && !rule.blank {
            self.fail(key, "This field may not be blank.".into());
        } else if text.chars().count() > rule.max {
            self.fail(
                key,
                format!(
                    "Ensure this field has no more than {} characters.",
                    rule.max
                ),
            );
        } else {
            self.out.insert(key.to_string(), json!(text));
        }
    }

    fn integer(&mut self, key: &str, min: i64, max: i64) {
        let Some(value) = self.body.get(key) else {
            return;
        };
        match as_int(value) {
            None => self.fail(key, "A valid integer is required.".into()),
            Some(n) if n < min => {
                self.fail(
                    key,
                    format!("Ensure this value is greater than or equal to {min}."),
                );
            }
            Some(n) if n > max => {
                self.fail(
                    key,
                    format!("Ensure this value is less than or equal to {max}."),
                );
            }
            Some(n) => {
                self.out.insert(key.to_string(), json!(n));
            }
        }
    }

    fn choice(&mut self, key: &str, choices: &[&str], nullable: bool) {
        let Some(value) = self.body.get(key) else {
            return;
        };
        match value {
            Value::Null if nullable => {
                self.out.insert(key.to_string(), Value::Null);
            }
            Value::String(s) if choices.contains(&s.as_str()) => {
                self.out.insert(key.to_string(), json!(s));
            }
            Value::String(s) => self.fail(key, format!("\"{s}\" is not a valid choice.")),
            other => self.fail(key, format!("\"{other}\" is not a valid choice.")),
        }
    }

    fn boolean(&mut self, key: &str) {
        match self.body.get(key) {
            None => {}
            Some(Value::Bool(b)) => {
                self.out.insert(key.to_string(), json!(b));
            }
            Some(_) => self.fail(key, "Must be a valid boolean.".into()),
        }
    }

    /// A foreign key: a UUID of an existing object.
    fn pk(&mut self, key: &str, required: bool, exists: &dyn Fn(&str) -> bool) {
        if self.absent(key, required) {
            return;
        }
        match self.body.get(key) {
            None => {}
            Some(Value::String(id)) if exists(id) => {
                self.out
                    .insert(key.to_string(), json!(id.to_ascii_lowercase()));
            }
            Some(Value::String(id)) => {
                self.fail(key, format!("Invalid pk \"{id}\" - object does not exist."));
            }
            Some(Value::Null) if !required => {
                self.out.insert(key.to_string(), Value::Null);
            }
            Some(Value::Null) => self.fail(key, "This field may not be null.".into()),
            Some(other) => self.fail(
                key,
                format!(
                    "Incorrect type. Expected pk value, received {}.",
                    python_type(other)
                ),
            ),
        }
    }

    /// A many-to-many field: a list of ids (checked with `exists` when given).
    fn pks(&mut self, key: &str, exists: Option<&dyn Fn(&str) -> bool>) {
        let Some(value) = self.body.get(key) else {
            return;
        };
        let Value::Array(items) = value else {
            return self.fail(
                key,
                format!(
                    "Expected a list of items but got type \"{}\".",
                    python_type(value)
                ),
            );
        };
        let mut ids = Vec::new();
        for item in items {
            match item {
                Value::String(id) if exists.is_none_or(|f| f(id)) => {
                    ids.push(json!(id.to_ascii_lowercase()));
                }
                Value::String(id) => {
                    return self.fail(key, format!("Invalid pk \"{id}\" - object does not exist."));
                }
                other => {
                    return self.fail(
                        key,
                        format!(
                            "Incorrect type. Expected pk value, received {}.",
                            python_type(other)
                        ),
                    );
                }
            }
        }
        self.out.insert(key.to_string(), Value::Array(ids));
    }

    fn finish(self) -> Result<Map<String, Value>, Value> {
        if self.errors.is_empty() {
            Ok(self.out)
        } else {
            Err(Value::Object(self.errors))
        }
    }
}

fn scenario_defaults() -> Map<String, Value> {
    into_map(json!({
        "is_published": false,
        "name": "",
        "description": null,
        "existing_controls": "",
        "inherent_proba": -1, "inherent_impact": -1, "inherent_level": -1,
        "current_proba": -1, "current_impact": -1, "current_level": -1,
        "residual_proba": -1, "residual_impact": -1, "residual_level": -1,
        "treatment": "open",
        "ref_id": "",
        "strength_of_knowledge": -1,
        "justification": null,
        "risk_assessment": null,
        "risk_matrix": null,
        "operational_scenario": null,
        "risk_origin": null,
        "filtering_labels": [],
        "assets": [],
        "vulnerabilities": [],
        "incidents": [],
        "applied_controls": [],
        "threats": [],
        "antecedent_scenarios": [],
        "existing_applied_controls": [],
        "owner": [],
        "qualifications": [],
        "security_exceptions": []
    }))
}

fn lc_status_label(raw: &str) -> &str {
    match raw {
        "undefined" => "--",
        "in_design" => "Design",
        "in_dev" => "Development",
        "in_prod" => "Production",
        "eol" => "End Of Life",
        "dropped" => "Dropped",
        other => other,
    }
}

/// SplitMix64: ids that differ between servers and runs without a random-number crate.
fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug)]
struct State {
    token: String,
    page_size_cap: usize,
    folders: Table,
    perimeters: Table,
    assessments: Table,
    matrices: Table,
    scenarios: Table,
    views: HashMap<String, MatrixView>,
    last_stamp: DateTime<Utc>,
    id_seed: u64,
    id_counter: u64,
    /// Creates left until the gate trips; `Some(0)`: tripped, holding.
    gate: Option<usize>,
}

impl State {
    fn new(options: &FakeOptions, addr: SocketAddr) -> State {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let mut state = State {
            token: options.token.clone(),
            page_size_cap: options.page_size_cap.max(1),
            folders: Table::default(),
            perimeters: Table::default(),
            assessments: Table::default(),
            matrices: Table::default(),
            scenarios: Table::default(),
            views: HashMap::new(),
            last_stamp: DateTime::<Utc>::MIN_UTC,
            id_seed: nanos ^ (u64::from(addr.port()) << 48),
            id_counter: 0,
            gate: None,
        };
        let view = MatrixView::parse(MATRIX_DEFINITION);
        let now = state.now();
        state.folders.insert(Obj::new(
            GLOBAL_FOLDER_ID,
            now,
            json!({
                "name": "Global", "description": null, "parent_folder": null,
                "content_type": "GLOBAL", "builtin": true, "create_iam_groups": true,
                "is_published": true, "filtering_labels": []
            }),
        ));
        state.matrices.insert(Obj::new(
            MATRIX_ID,
            now,
            json!({
                "name": MATRIX_NAME,
                "description": "5x5 matrix from ISO 27005 Annex A",
                "annotation": null,
                "folder": GLOBAL_FOLDER_ID,
                "json_definition": view.definition,
                "library": {
                    "str": "risk-matrix-5x5-iso27005 - 5x5 ISO-27005",
                    "name": MATRIX_NAME,
                    "id": "9d5bb805-3f49-473e-bcf2-e4c38613b6c8"
                },
                "editing_languages": ["de", "en", "es", "fr", "it"],
                "is_published": true,
                "urn": MATRIX_URN,
                "ref_id": "risk-matrix-5x5-iso27005",
                "provider": "intuitem",
                "locale": "en",
                "default_locale": true,
                "is_enabled": true
            }),
        ));
        state.views.insert(MATRIX_ID.to_string(), view);
        if options.seed_containers {
            state.folders.insert(Obj::new(
                FOLDER_ID,
                now,
                json!({
                    "name": FOLDER_NAME,
                    "description": "Demo domain for the AI risk bridge connector fixtures",
                    "parent_folder": GLOBAL_FOLDER_ID, "content_type": "DOMAIN",
                    "builtin": false, "create_iam_groups": false, "is_published": true,
                    "filtering_labels": []
                }),
            ));
            state.perimeters.insert(Obj::new(
                PERIMETER_ID,
                now,
                json!({
                    "name": PERIMETER_NAME,
                    "description": "LLM-based customer assistant and ML scoring services",
                    "ref_id": "PER-AI", "lc_status": "in_prod", "folder": FOLDER_ID,
                    "default_assignee": [], "is_published": false
                }),
            ));
            state.assessments.insert(Obj::new(
                RISK_ASSESSMENT_ID,
                now,
                json!({
                    "name": RISK_ASSESSMENT_NAME,
                    "description": "Risk register for AI systems (ISO 42001 clause 6.1)",
                    "ref_id": "RA-AI-2026", "version": "1.0", "status": "in_progress",
                    "folder": FOLDER_ID, "perimeter": PERIMETER_ID, "risk_matrix": MATRIX_ID,
                    "eta": null, "due_date": null, "observation": null, "is_locked": false,
                    "risk_tolerance": -1, "auto_sync": false, "ebios_rm_study": null,
                    "reviewers": [], "authors": [], "genericcollection": [], "is_published": false
                }),
            ));
        }
        state
    }

    /// A timestamp after every earlier one, to the microsecond the API shows: an object
    /// written twice always gets a new `updated_at`.
    fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let next = if now > self.last_stamp {
            now
        } else {
            self.last_stamp + chrono::Duration::microseconds(1)
        };
        self.last_stamp = next;
        next
    }

    /// A new UUID (version 4 layout).
    fn new_id(&mut self) -> String {
        self.id_counter += 1;
        let a = splitmix64(self.id_seed ^ self.id_counter.wrapping_mul(0xA24B_AED4_963E_E407));
        let b = splitmix64(a ^ self.id_counter);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            (a & 0x0fff) | 0x4000,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    fn table(&self, coll: Coll) -> &Table {
        match coll {
            Coll::Folders => &self.folders,
            Coll::Perimeters => &self.perimeters,
            Coll::RiskAssessments => &self.assessments,
            Coll::RiskMatrices => &self.matrices,
            Coll::RiskScenarios => &self.scenarios,
        }
    }

    fn table_mut(&mut self, coll: Coll) -> &mut Table {
        match coll {
            Coll::Folders => &mut self.folders,
            Coll::Perimeters => &mut self.perimeters,
            Coll::RiskAssessments => &mut self.assessments,
            Coll::RiskMatrices => &mut self.matrices,
            Coll::RiskScenarios => &mut self.scenarios,
        }
    }

    // --- shapes ------------------------------------------------------------------------

    fn write_shape(&self, _coll: Coll, o: &Obj) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(o.id));
        map.insert("created_at".into(), json!(stamp(o.created_at)));
        map.insert("updated_at".into(), json!(stamp(o.updated_at)));
        for (k, v) in &o.fields {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }

    fn name_in(&self, coll: Coll, id: &str) -> String {
        self.table(coll)
            .get(id)
            .map(|o| o.text("name").to_string())
            .unwrap_or_else(|| id.to_string())
    }

    fn folder_ref(&self, id: &str) -> Value {
        json!({"str": self.name_in(Coll::Folders, id), "id": id})
    }

    fn assessment_str(o: &Obj) -> String {
        format!("{} - {}", o.text("name"), o.text("version"))
    }

    fn read_shape(&self, coll: Coll, o: &Obj) -> Value {
        match coll {
            Coll::Folders => json!({
                "id": o.id,
                "path": [],
                "parent_folder": match o.text("parent_folder") {
                    "" => Value::Null,
                    parent => self.folder_ref(parent),
                },
                "filtering_labels": [],
                "content_type": o.text("content_type"),
                "created_at": stamp(o.created_at),
                "updated_at": stamp(o.updated_at),
                "is_published": o.value("is_published"),
                "name": o.text("name"),
                "description": o.value("description"),
                "builtin": o.value("builtin"),
                "create_iam_groups": o.value("create_iam_groups"),
            }),
            Coll::Perimeters => {
                let folder = o.text("folder");
                json!({
                    "id": o.id,
                    "path": [{"id": folder, "str": self.name_in(Coll::Folders, folder)}],
                    "folder": self.folder_ref(folder),
                    "lc_status": lc_status_label(o.text("lc_status")),
                    "default_assignee": [],
                    "created_at": stamp(o.created_at),
                    "updated_at": stamp(o.updated_at),
                    "is_published": o.value("is_published"),
                    "name": o.text("name"),
                    "description": o.value("description"),
                    "ref_id": o.value("ref_id"),
                })
            }
            Coll::RiskAssessments => self.assessment_read(o),
            Coll::RiskMatrices => {
                let mut v = self.write_shape(coll, o);
                if let Some(map) = v.as_object_mut() {
                    map.insert("folder".into(), self.folder_ref(o.text("folder")));
                }
                v
            }
            Coll::RiskScenarios => self.scenario_read(o),
        }
    }

    fn assessment_read(&self, o: &Obj) -> Value {
        let folder = o.text("folder");
        let folder_name = self.name_in(Coll::Folders, folder);
        let perimeter = o.text("perimeter");
        let ra_str = State::assessment_str(o);
        let scenarios: Vec<Value> = self
            .scenarios
            .items
            .iter()
            .filter(|s| s.text("risk_assessment") == o.id)
            .map(|s| {
                json!({
                    "str": format!("{folder_name}/{ra_str}/{}", s.text("name")),
                    "id": s.id,
                    "name": s.text("name"),
                    "ref_id": s.value("ref_id"),
                })
            })
            .collect();
        let matrix = o.text("risk_matrix");
        json!({
            "id": o.id,
            "path": [{"id": folder, "str": folder_name}],
            "perimeter": {
                "str": format!("{folder_name}/{}", self.name_in(Coll::Perimeters, perimeter)),
                "id": perimeter,
                "folder": self.folder_ref(folder),
            },
            "authors": [],
            "reviewers": [],
            "folder": self.folder_ref(folder),
            "str": ra_str,
            "risk_scenarios_count": scenarios.len(),
            "risk_scenarios": scenarios,
            "risk_matrix": {"str": self.name_in(Coll::RiskMatrices, matrix), "id": matrix},
            "ebios_rm_study": null,
            "validation_flows": [],
            "created_at": stamp(o.created_at),
            "updated_at": stamp(o.updated_at),
            "is_published": o.value("is_published"),
            "name": o.text("name"),
            "description": o.value("description"),
            "eta": o.value("eta"),
            "due_date": o.value("due_date"),
            "version": o.text("version"),
            "status": o.value("status"),
            "observation": o.value("observation"),
            "is_locked": o.value("is_locked"),
            "risk_tolerance": o.value("risk_tolerance"),
            "ref_id": o.value("ref_id"),
            "auto_sync": o.value("auto_sync"),
        })
    }

    fn scenario_read(&self, o: &Obj) -> Value {
        let ra = self.assessments.get(o.text("risk_assessment"));
        let folder = ra.map(|ra| ra.text("folder")).unwrap_or_default();
        let folder_name = self.name_in(Coll::Folders, folder);
        let ra_str = ra.map(State::assessment_str).unwrap_or_default();
        let matrix = o.text("risk_matrix");
        let view = self.views.get(matrix);
        let refs = |key: &str| -> Value {
            let ids = o.fields.get(key).and_then(Value::as_array);
            Value::Array(
                ids.into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| json!({"str": id, "id": id}))
                    .collect(),
            )
        };
        let owners: Vec<Value> = o
            .fields
            .get("owner")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|id| {
                let email = ACTORS
                    .iter()
                    .find(|(a, _)| *a == id)
                    .map_or(id, |(_, e)| *e);
                json!({"str": email, "id": id})
            })
            .collect();
        let mut map = into_map(json!({
            "id": o.id,
            "risk_matrix": {"str": self.name_in(Coll::RiskMatrices, matrix), "id": matrix},
            "str": format!("{folder_name}/{ra_str}/{}", o.text("name")),
            "risk_assessment": {
                "str": ra_str,
                "id": o.text("risk_assessment"),
                "name": ra.map(|r| r.text("name")).unwrap_or_default(),
                "is_locked": ra.map(|r| r.value("is_locked")).unwrap_or(json!(false)),
            },
            "folder": self.folder_ref(folder),
            "version": ra.map(|r| r.text("version")).unwrap_or_default(),
            "operational_scenario": o.value("operational_scenario"),
            "threats": refs("threats"),
            "assets": refs("assets"),
            "qualifications": refs("qualifications"),
            "risk_origin": o.value("risk_origin"),
            "antecedent_scenarios": refs("antecedent_scenarios"),
            "treatment": o.text("treatment"),
            "strength_of_knowledge": match o.int("strength_of_knowledge") {
                -1 => json!({
                    "name": "--",
                    "description": "The strength of the knowledge supporting the assessment is undefined"
                }),
                n => json!({"value": n, "name": n.to_string()}),
            },
            "applied_controls": refs("applied_controls"),
            "existing_applied_controls": refs("existing_applied_controls"),
            "incidents": refs("incidents"),
            "owner": owners,
            "security_exceptions": refs("security_exceptions"),
            "filtering_labels": refs("filtering_labels"),
            "within_tolerance": "--",
            "created_at": stamp(o.created_at),
            "updated_at": stamp(o.updated_at),
            "is_published": o.value("is_published"),
            "name": o.text("name"),
            "description": o.value("description"),
            "existing_controls": o.value("existing_controls"),
            "ref_id": o.value("ref_id"),
            "justification": o.value("justification"),
            "vulnerabilities": refs("vulnerabilities"),
        }));
        for (key, axis) in RATINGS {
            let value = o.int(key);
            let rating = view.map_or_else(|| not_rated(axis), |v| v.rating(axis, value));
            map.insert(key.to_string(), rating);
        }
        Value::Object(map)
    }

    // --- lists -------------------------------------------------------------------------

    fn field_matches(&self, coll: Coll, o: &Obj, key: &str, wanted: &str) -> bool {
        let value = if coll == Coll::RiskScenarios && key == "folder" {
            Cow::Owned(
                self.assessments
                    .get(o.text("risk_assessment"))
                    .map_or(Value::Null, |ra| ra.value("folder")),
            )
        } else {
            o.field(key)
        };
        let relation = key == "id" || key == "owner" || relation_of_filter(key).is_some();
        let same = |s: &str| {
            if relation {
                s.eq_ignore_ascii_case(wanted)
            } else {
                s == wanted
            }
        };
        match value.as_ref() {
            Value::String(s) => same(s),
            Value::Number(n) => n.to_string() == wanted,
            Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            Value::Array(items) => items.iter().filter_map(Value::as_str).any(same),
            _ => false,
        }
    }

    /// A list page, serialized: filters, ordering, limit/offset; `Err`: a 400 body.
    fn list(&self, coll: Coll, path: &str, query: &[(String, String)]) -> Result<Vec<u8>, Value> {
        let mut items: Vec<&Obj> = self.table(coll).items.iter().collect();
        for (key, value) in query {
            match key.as_str() {
                "limit" | "offset" | "ordering" | "format" => {}
                "search" => {
                    let needle = value.trim().to_lowercase();
                    if !needle.is_empty() {
                        items.retain(|o| {
                            coll.search_fields()
                                .iter()
                                .any(|f| o.text(f).to_lowercase().contains(&needle))
                        });
                    }
                }
                // Only some endpoints filter on time; the others ignore the parameters.
                "updated_at__gte" | "updated_at__lt" | "created_at__gte" | "created_at__lt"
                    if coll == Coll::RiskScenarios =>
                {
                    let Some(bound) = parse_datetime(value) else {
                        return Err(field_error(key, "Enter a valid date/time."));
                    };
                    let created = key.starts_with("created");
                    let gte = key.ends_with("gte");
                    items.retain(|o| {
                        let at = if created { o.created_at } else { o.updated_at };
                        if gte { at >= bound } else { at < bound }
                    });
                }
                k if coll.filter_fields().contains(&k) => {
                    if let Some(target) = relation_of_filter(k)
                        && !value.is_empty()
                        && self.table(target).get(value).is_none()
                    {
                        return Err(field_error(
                            k,
                            "Select a valid choice. That choice is not one of the available choices.",
                        ));
                    }
                    items.retain(|o| self.field_matches(coll, o, k, value));
                }
                _ => {}
            }
        }
        if let Some((_, ordering)) = query.iter().rev().find(|(k, _)| k == "ordering") {
            let keys: Vec<(&str, bool)> = ordering
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| k.strip_prefix('-').map_or((k, false), |k| (k, true)))
                .collect();
            items.sort_by(|a, b| {
                for (key, descending) in &keys {
                    let order = cmp_values(&a.field(key), &b.field(key));
                    let order = if *descending { order.reverse() } else { order };
                    if order.is_ne() {
                        return order;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let param = |name: &str| {
            query
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        };
        // DRF falls back to the default for a missing, zero or unreadable limit.
        let limit = param("limit")
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(self.page_size_cap);
        let offset = param("offset").unwrap_or(0);
        let count = items.len();
        let next =
            (offset + limit < count).then(|| page_link(path, query, limit, Some(offset + limit)));
        let previous = (offset > 0)
            .then(|| page_link(path, query, limit, (offset > limit).then(|| offset - limit)));
        let mut out = format!(
            "{{\"count\":{count},\"next\":{},\"previous\":{},\"results\":[",
            json!(next),
            json!(previous)
        )
        .into_bytes();
        for (i, o) in items.iter().skip(offset).take(limit).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if coll == Coll::RiskScenarios {
                let rendered = o
                    .rendered
                    .get_or_init(|| serde_json::to_vec(&self.scenario_read(o)).unwrap_or_default());
                out.extend_from_slice(rendered);
            } else {
                out.extend_from_slice(
                    &serde_json::to_vec(&self.read_shape(coll, o)).unwrap_or_default(),
                );
            }
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    // --- writes ------------------------------------------------------------------------

    /// Validates a scenario body (create, or PATCH of `existing`); `Err`: the 400 body.
    fn check_scenario(
        &self,
        body: &Map<String, Value>,
        existing: Option<&Obj>,
    ) -> Result<Map<String, Value>, Value> {
        let mut v = Validate::new(body, existing.is_some());
        v.text("name", NAME);
        v.text("description", OPTIONAL_TEXT);
        v.text("ref_id", REF_ID);
        v.text("justification", OPTIONAL_TEXT);
        v.text(
            "existing_controls",
            TextRule {
                null: false,
                ..OPTIONAL_TEXT
            },
        );
        v.pk("risk_assessment", true, &|id| {
            self.assessments.get(id).is_some()
        });
        v.choice("treatment", &TREATMENTS, false);
        let assessment = v
            .out
            .get("risk_assessment")
            .and_then(Value::as_str)
            .or_else(|| existing.map(|o| o.text("risk_assessment")))
            .and_then(|id| self.assessments.get(id));
        let view = assessment.and_then(|ra| self.views.get(ra.text("risk_matrix")));
        for (key, axis) in RATINGS {
            if axis == Axis::Level {
                continue; // computed on save; a value sent is ignored like a read-only field
            }
            let n = view.map_or(0, |m| m.levels(axis).len());
            v.integer(key, -1, i64::try_from(n).unwrap_or(0) - 1);
        }
        v.integer("strength_of_knowledge", -1, 3);
        v.pks(
            "owner",
            Some(&|id| ACTORS.iter().any(|(a, _)| a.eq_ignore_ascii_case(id))),
        );
        for key in SCENARIO_LISTS {
            v.pks(key, None);
        }
        v.boolean("is_published");
        v.finish()
    }

    /// Levels from the grid, and the matrix from the assessment, as the server sets them on
    /// every save.
    fn settle_scenario(&self, fields: &mut Map<String, Value>) {
        let matrix = fields
            .get("risk_assessment")
            .and_then(Value::as_str)
            .and_then(|id| self.assessments.get(id))
            .map(|ra| ra.text("risk_matrix").to_string());
        if let Some(matrix) = &matrix {
            fields.insert("risk_matrix".into(), json!(matrix));
        }
        let view = matrix.as_deref().and_then(|m| self.views.get(m));
        for prefix in ["inherent", "current", "residual"] {
            let get = |k: &str| {
                fields
                    .get(&format!("{prefix}_{k}"))
                    .and_then(Value::as_i64)
                    .unwrap_or(-1)
            };
            let level = view.map_or(-1, |v| v.level(get("proba"), get("impact")));
            fields.insert(format!("{prefix}_level"), json!(level));
        }
    }

    /// Touches the assessment a scenario belongs to, as the real server does on each save.
    fn touch_assessment(&mut self, id: &str, at: DateTime<Utc>) {
        if let Some(ra) = self.assessments.get_mut(id) {
            ra.updated_at = at;
        }
    }

    /// Stores a new scenario; `.1`: this create trips the gate.
    fn create_scenario(
        &mut self,
        body: &Map<String, Value>,
        count_gate: bool,
    ) -> Result<(Value, bool), Value> {
        let checked = self.check_scenario(body, None)?;
        let mut fields = scenario_defaults();
        fields.extend(checked);
        self.settle_scenario(&mut fields);
        let at = self.now();
        let id = self.new_id();
        let obj = Obj {
            id,
            created_at: at,
            updated_at: at,
            fields,
            rendered: OnceLock::new(),
        };
        let value = self.write_shape(Coll::RiskScenarios, &obj);
        let assessment = obj.text("risk_assessment").to_string();
        self.scenarios.insert(obj);
        self.touch_assessment(&assessment, at);
        let trips = match self.gate {
            Some(n) if count_gate && n > 0 => {
                self.gate = Some(n - 1);
                n == 1
            }
            _ => false,
        };
        Ok((value, trips))
    }

    /// PATCH: `Err(None)` when there is no such scenario, `Err(Some(body))` for a 400.
    fn update_scenario(
        &mut self,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<Value, Option<Value>> {
        let existing = self.scenarios.get(id).ok_or(None)?;
        let checked = self.check_scenario(body, Some(existing)).map_err(Some)?;
        let mut fields = existing.fields.clone();
        fields.extend(checked);
        self.settle_scenario(&mut fields);
        let at = self.now();
        let obj = self.scenarios.get_mut(id).ok_or(None)?;
        obj.fields = fields;
        obj.updated_at = at;
        obj.rendered = OnceLock::new();
        let obj = obj.clone();
        self.touch_assessment(obj.text("risk_assessment"), at);
        Ok(self.write_shape(Coll::RiskScenarios, &obj))
    }

    /// POST of a folder, perimeter or risk assessment; `Err`: the 400 body.
    fn create_container(&mut self, coll: Coll, body: &Map<String, Value>) -> Result<Value, Value> {
        let mut v = Validate::new(body, false);
        v.text("name", NAME);
        v.text("description", OPTIONAL_TEXT);
        let mut fields = match coll {
            Coll::Folders => {
                v.pk("parent_folder", false, &|id| self.folders.get(id).is_some());
                v.boolean("create_iam_groups");
                into_map(json!({
                    "description": null, "parent_folder": GLOBAL_FOLDER_ID,
                    "content_type": "DOMAIN", "builtin": false, "create_iam_groups": false,
                    "is_published": true, "filtering_labels": []
                }))
            }
            Coll::Perimeters => {
                v.text("ref_id", REF_ID);
                v.pk("folder", true, &|id| self.folders.get(id).is_some());
                v.choice(
                    "lc_status",
                    &[
                        "undefined",
                        "in_design",
                        "in_dev",
                        "in_prod",
                        "eol",
                        "dropped",
                    ],
                    false,
                );
                into_map(json!({
                    "description": null, "ref_id": null, "lc_status": "in_design",
                    "default_assignee": [], "is_published": false
                }))
            }
            Coll::RiskAssessments => {
                v.text("ref_id", REF_ID);
                v.text(
                    "version",
                    TextRule {
                        blank: false,
                        null: false,
                        max: 100,
                        ..OPTIONAL_TEXT
                    },
                );
                v.pk("perimeter", true, &|id| self.perimeters.get(id).is_some());
                v.pk("risk_matrix", true, &|id| self.matrices.get(id).is_some());
                v.choice(
                    "status",
                    &["planned", "in_progress", "in_review", "done", "deprecated"],
                    true,
                );
                v.text("eta", OPTIONAL_TEXT);
                v.text("due_date", OPTIONAL_TEXT);
                into_map(json!({
                    "description": null, "ref_id": "", "version": "1.0", "status": "planned",
                    "eta": null, "due_date": null, "observation": null, "is_locked": false,
                    "risk_tolerance": -1, "auto_sync": false, "ebios_rm_study": null,
                    "reviewers": [], "authors": [], "genericcollection": [], "is_published": false
                }))
            }
            Coll::RiskMatrices | Coll::RiskScenarios => {
                return Err(json!({"detail": "Not supported by the fake."}));
            }
        };
        fields.extend(v.finish()?);
        if coll == Coll::RiskAssessments {
            // The folder is always the perimeter's, whatever the body says.
            let folder = fields
                .get("perimeter")
                .and_then(Value::as_str)
                .and_then(|p| self.perimeters.get(p))
                .map(|p| p.value("folder"))
                .unwrap_or(Value::Null);
            fields.insert("folder".into(), folder);
        }
        let at = self.now();
        let id = self.new_id();
        let obj = Obj {
            id,
            created_at: at,
            updated_at: at,
            fields,
            rendered: OnceLock::new(),
        };
        let value = self.write_shape(coll, &obj);
        self.table_mut(coll).insert(obj);
        Ok(value)
    }
}

/// The 5x5 ISO 27005 matrix's `json_definition`, decoded, as in `risk-matrices-list.json`.
const MATRIX_DEFINITION: &str = r##"
{
  "probability": [
    {"id": 0, "abbreviation": "1", "name": "1 - unlikely", "description": "The likelihood of the risk scenario is very low", "translations": {"fr": {"name": "1 - improbable", "description": "La vraisemblance du scénario de risque est très faible"}, "it": {"name": "1 - improbabile", "description": "La verosimiglianza dello scenario di rischio è molto bassa"}, "de": {"name": "1 - unwahrscheinlich", "description": "Die Eintrittswahrscheinlichkeit des Risikoszenarios ist sehr gering."}, "es": {"name": "1 - Improbable", "description": "La probabilidad del escenario de riesgo es muy baja"}}, "annotation": null},
    {"id": 1, "abbreviation": "2", "name": "2 - rather unlikely", "description": "The likelihood of the risk scenario is low", "translations": {"fr": {"name": "2 - plutôt improbable", "description": "La vraisemblance du scénario de risque est faible"}, "it": {"name": "2 - piuttosto improbabile", "description": "La verosimiglianza dello scenario di rischio è bassa"}, "de": {"name": "2 - eher unwahrscheinlich", "description": "Die Eintrittswahrscheinlichkeit des Risikoszenarios ist gering."}, "es": {"name": "2 - Poco Probable", "description": "La probabilidad del escenario de riesgo es baja"}}, "annotation": null},
    {"id": 2, "abbreviation": "3", "name": "3 - likely", "description": "The likelihood of the risk scenario is significant", "translations": {"fr": {"name": "3 - probable", "description": "La vraisemblance du scénario de risque est significative"}, "it": {"name": "3 - probabile", "description": "La verosimiglianza dello scenario di rischio è significativa"}, "de": {"name": "3 - wahrscheinlich", "description": "Die Eintrittswahrscheinlichkeit des Risikoszenarios ist signifikant."}, "es": {"name": "3 - Probable", "description": "La probabilidad del escenario de riesgo es significativa"}}, "annotation": null},
    {"id": 3, "abbreviation": "4", "name": "4 - very likely", "description": "The likelihood of the risk scenario is high", "translations": {"fr": {"name": "4 - très probable", "description": "La vraisemblance du scénario de risque est élevée"}, "it": {"name": "4 - molto probabile", "description": "La verosimiglianza dello scenario di rischio è alta"}, "de": {"name": "4 - sehr wahrscheinlich", "description": "Die Eintrittswahrscheinlichkeit des Risikoszenarios ist hoch."}, "es": {"name": "4 - Muy Probable", "description": "La probabilidad del escenario de riesgo es alta"}}, "annotation": null},
    {"id": 4, "abbreviation": "5", "name": "5 - almost certain", "description": "The likelihood of the risk scenario is very high", "translations": {"fr": {"name": "5 - presque certain", "description": "La vraisemblance du scénario de risque est très élevée"}, "it": {"name": "5 - quasi certo", "description": "La verosimiglianza dello scenario di rischio è molto alta"}, "de": {"name": "5 - nahezu sicher", "description": "Die Eintrittswahrscheinlichkeit des Risikoszenarios ist sehr hoch."}, "es": {"name": "5 - Casi Seguro", "description": "La probabilidad del escenario de riesgo es muy alta"}}, "annotation": null}
  ],
  "impact": [
    {"id": 0, "abbreviation": "1", "name": "1 - minor", "description": "Negligible consequences for the organization", "translations": {"fr": {"name": "1 - mineur", "description": "Conséquences négligeables pour l'organisation"}, "it": {"name": "1 - minore", "description": "Conseguenze trascurabili per l'organizzazione"}, "de": {"name": "1 - geringfügig", "description": "Vernachlässigbare Auswirkungen auf die Organisation."}, "es": {"name": "1 - Leve", "description": "Consecuencias insignificantes para la organización"}}, "annotation": null},
    {"id": 1, "abbreviation": "2", "name": "2 - significant", "description": "Significant but limited consequences for the organization", "translations": {"fr": {"name": "2 - significatif", "description": "Conséquences significatives mais limitées pour l'organisation"}, "it": {"name": "2 - significativo", "description": "Conseguenze significative ma limitate per l'organizzazione"}, "de": {"name": "2 - bedeutend", "description": "Signifikante, jedoch begrenzte Auswirkungen auf die Organisation."}, "es": {"name": "2 - Significativo", "description": "Consecuencias significativas pero limitadas para la organización"}}, "annotation": null},
    {"id": 2, "abbreviation": "3", "name": "3 - serious", "description": "Substantial consequences for the organization", "translations": {"fr": {"name": "3 - serieux", "description": "Conséquences substantielles pour l'organisation"}, "it": {"name": "3 - serio", "description": "Conseguenze sostanziali per l'organizzazione"}, "de": {"name": "3 - erheblich", "description": "Erhebliche Auswirkungen auf die Organisation."}, "es": {"name": "3 - Grave", "description": "Consecuencias sustanciales para la organización"}}, "annotation": null},
    {"id": 3, "abbreviation": "4", "name": "4 - critical", "description": "Disastrous consequences for the organization", "translations": {"fr": {"name": "4 - critique", "description": "Conséquences désastreuses pour l'organisation"}, "it": {"name": "4 - critico", "description": "Conseguenze disastrose per l'organizzazione"}, "de": {"name": "4 - kritisch", "description": "Desaströse Auswirkungen auf die Organisation."}, "es": {"name": "4 - Crítico", "description": "Consecuencias desastrosas para la organización"}}, "annotation": null},
    {"id": 4, "abbreviation": "5", "name": "5 - catastrophic", "description": "Sector or regulatory consequences beyond the organization", "translations": {"fr": {"name": "5 - catastrophique", "description": "Conséquences sectorielles ou réglementaires au-delà de l’organisation"}, "it": {"name": "5 - catastrofico", "description": "Conseguenze settoriali o regolamentari oltre l'organizzazione"}, "de": {"name": "5 - katastrophal", "description": "Sektorale oder regulatorische Auswirkungen über die Organisation hinaus."}, "es": {"name": "5 - Catastrófico", "description": "Consecuencias sectoriales o regulatorias más allá de la organización"}}, "annotation": null}
  ],
  "risk": [
    {"id": 0, "abbreviation": "1", "name": "1 - very low", "description": "very low - acceptable risk", "translations": {"fr": {"name": "1 - très faible", "description": "très faible - risque acceptable"}, "it": {"name": "1 - molto basso", "description": "molto basso - rischio accettabile"}, "de": {"name": "1 - sehr gering", "description": "Sehr geringes, akzeptables Risiko."}, "es": {"name": "1 - Muy Bajo", "description": "Muy bajo - Riesgo aceptable"}}, "hexcolor": "#D3FF4E", "annotation": null},
    {"id": 1, "abbreviation": "2", "name": "2 - low", "description": "low - acceptable risk", "translations": {"fr": {"name": "2 - faible", "description": "faible - risque acceptable"}, "it": {"name": "2 - basso", "description": "basso - rischio accettabile"}, "de": {"name": "2 - gering", "description": "Geringes, akzeptables Risiko."}, "es": {"name": "2 - Bajo", "description": "Bajo - Riesgo aceptable"}}, "hexcolor": "#02A45A", "annotation": null},
    {"id": 2, "abbreviation": "3", "name": "3 - medium", "description": "medium - tolerable risk", "translations": {"fr": {"name": "3 - moyen", "description": "moyen - risque tolerable"}, "it": {"name": "3 - medio", "description": "medio - rischio tollerabile"}, "de": {"name": "3 - mittel", "description": "Tolerierbares Risiko."}, "es": {"name": "3 - Medio", "description": "Medio - Riesgo tolerable"}}, "hexcolor": "#FFA600", "annotation": null},
    {"id": 3, "abbreviation": "4", "name": "4 - high", "description": "high - unacceptable risk", "translations": {"fr": {"name": "4 - élevé", "description": "élevé - risque inacceptable"}, "it": {"name": "4 - alto", "description": "alto - rischio inaccettabile"}, "de": {"name": "4 - hoch", "description": "Hohes, inakzeptables Risiko."}, "es": {"name": "4 - Alto", "description": "Alto - Riesgo inaceptable"}}, "hexcolor": "#FF1A00", "annotation": null},
    {"id": 4, "abbreviation": "5", "name": "5 - very high", "description": "very high - unacceptable risk", "translations": {"fr": {"name": "5 - très élevé", "description": "très élevé - risque inacceptable"}, "it": {"name": "5 - molto alto", "description": "molto alto - rischio inaccettabile"}, "de": {"name": "5 - sehr hoch", "description": "Sehr hohes, inakzeptables Risiko."}, "es": {"name": "5 - Muy Alto", "description": "Muy Alto - Riesgo inaceptable"}}, "hexcolor": "#C00000", "annotation": null}
  ],
  "grid": [[0, 0, 1, 1, 1], [0, 1, 1, 2, 2], [1, 1, 2, 3, 3], [1, 2, 3, 3, 4], [2, 3, 3, 4, 4]]
}
"##;

#[cfg(test)]
mod tests {
    use tokio::net::tcp::OwnedWriteHalf;

    use super::*;

    /// A minimal HTTP/1.1 client on one keep-alive connection, so that the tests check the
    /// server's own framing rather than a client library's tolerance.
    struct Conn {
        reader: BufReader<OwnedReadHalf>,
        write: OwnedWriteHalf,
        token: Option<String>,
    }

    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    impl Conn {
        async fn open(fake: &FakeCiso) -> Conn {
            let stream = TcpStream::connect(fake.addr()).await.unwrap();
            let (read, write) = stream.into_split();
            Conn {
                reader: BufReader::new(read),
                write,
                token: Some(fake.token()),
            }
        }

        async fn get(&mut self, target: &str) -> Answer {
            self.send("GET", target, None).await
        }

        async fn send(&mut self, method: &str, target: &str, body: Option<&Value>) -> Answer {
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            let mut head = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
            if let Some(token) = &self.token {
                head.push_str(&format!("Authorization: Token {token}\r\n"));
            }
            if !body.is_empty() {
                head.push_str("Content-Type: application/json\r\n");
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            head.push_str("\r\n");
            self.write
                .write_all(format!("{head}{body}").as_bytes())
                .await
                .unwrap();
            let mut status_line = String::new();
            self.reader.read_line(&mut status_line).await.unwrap();
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).await.unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(':').unwrap();
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut bytes = vec![0; length];
            self.reader.read_exact(&mut bytes).await.unwrap();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
            };
            Answer {
                status,
                headers,
                body,
            }
        }
    }

    fn scenario_body(name: &str, ref_id: &str) -> Value {
        json!({
            "name": name,
            "ref_id": ref_id,
            "description": "Repeated queries reconstruct training records.",
            "risk_assessment": RISK_ASSESSMENT_ID,
            "inherent_proba": 1, "inherent_impact": 3,
            "current_proba": 1, "current_impact": 3,
            "residual_proba": -1, "residual_impact": -1,
            "treatment": "open",
            "owner": [ACTOR_ID],
        })
    }

    #[tokio::test]
    async fn refuses_missing_and_wrong_tokens_like_drf() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut conn = Conn::open(&fake).await;
        conn.token = None;
        let a = conn.get("/api/risk-scenarios/").await;
        assert_eq!(a.status, 401);
        assert_eq!(
            a.body,
            json!({"detail": "Authentication credentials were not provided."})
        );
        assert_eq!(a.header("WWW-Authenticate"), Some("Token"));
        conn.token = Some("0".repeat(64));
        let a = conn.get("/api/risk-scenarios/").await;
        assert_eq!(a.status, 401);
        assert_eq!(a.body, json!({"detail": "Invalid token."}));
        assert_eq!(a.header("WWW-Authenticate"), Some("Token"));
        // Same connection, right token: keep-alive survives a 401.
        conn.token = Some(DEFAULT_TOKEN.into());
        assert_eq!(conn.get("/api/risk-scenarios/").await.status, 200);
        assert_eq!(
            fake.request_counts(),
            RequestCounts {
                get: 3,
                ..RequestCounts::default()
            }
        );
    }

    #[tokio::test]
    async fn serves_the_containers_and_the_matrix() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut conn = Conn::open(&fake).await;
        let build = conn.get("/api/build/").await;
        assert_eq!(build.status, 200);
        assert!(build.body["version"].is_string());
        let user = conn.get("/api/iam/current-user/").await.body;
        assert_eq!(user["actor_id"], ACTOR_ID);
        assert_eq!(user["id"], USER_ID);

        let folders = conn.get("/api/folders/").await.body;
        assert_eq!(folders["count"], 2);
        assert_eq!(folders["results"][1]["name"], FOLDER_NAME);
        assert_eq!(
            folders["results"][1]["parent_folder"]["id"],
            GLOBAL_FOLDER_ID
        );

        let perimeters = conn.get("/api/perimeters/?limit=100").await.body;
        assert_eq!(perimeters["results"][0]["folder"]["id"], FOLDER_ID);
        assert_eq!(perimeters["results"][0]["lc_status"], "Production");

        let assessments = conn.get("/api/risk-assessments/").await.body;
        let ra = &assessments["results"][0];
        assert_eq!(ra["id"], RISK_ASSESSMENT_ID);
        assert_eq!(
            ra["risk_matrix"],
            json!({"str": MATRIX_NAME, "id": MATRIX_ID})
        );
        assert_eq!(ra["perimeter"]["folder"]["id"], FOLDER_ID);
        assert_eq!(ra["str"], "AI risk register - 1.0");
        let detail = conn
            .get(&format!("/api/risk-assessments/{RISK_ASSESSMENT_ID}/"))
            .await;
        assert_eq!(detail.status, 200);
        assert_eq!(detail.body["risk_scenarios_count"], 0);

        let matrix = conn
            .get(&format!("/api/risk-matrices/{MATRIX_ID}/"))
            .await
            .body;
        assert_eq!(matrix["urn"], MATRIX_URN);
        assert_eq!(matrix["folder"]["id"], GLOBAL_FOLDER_ID);
        // A JSON-encoded string, to be decoded a second time.
        let text = matrix["json_definition"].as_str().unwrap();
        let definition: Value = serde_json::from_str(text).unwrap();
        assert_eq!(definition["probability"].as_array().unwrap().len(), 5);
        assert_eq!(definition["impact"][4]["name"], "5 - catastrophic");
        assert_eq!(definition["risk"][3]["name"], "4 - high");
        assert_eq!(definition["grid"][0][4], 1);
        assert_eq!(definition["grid"][4][0], 2);
        let list = conn.get("/api/risk-matrices/?limit=100").await.body;
        assert_eq!(
            list["results"][0]["json_definition"],
            matrix["json_definition"]
        );

        let gone = conn
            .get("/api/risk-scenarios/00000000-0000-4000-8000-000000000000/")
            .await;
        assert_eq!(gone.status, 404);
        assert_eq!(
            gone.body["detail"],
            "No RiskScenario matches the given query."
        );
        assert_eq!(conn.get("/api/nothing-here/").await.status, 404);
    }

    #[tokio::test]
    async fn creates_in_the_write_shape_and_reads_in_the_read_shape() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut conn = Conn::open(&fake).await;
        let body = scenario_body("Model inversion reveals training records", "R-AI-006");
        let created = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(created.status, 201);
        let c = &created.body;
        assert_eq!(c["risk_assessment"], RISK_ASSESSMENT_ID);
        assert_eq!(c["risk_matrix"], MATRIX_ID);
        assert_eq!(c["owner"], json!([ACTOR_ID]));
        // grid[1][3] = 2, and not rated stays -1.
        assert_eq!(c["inherent_level"], 2);
        assert_eq!(c["residual_level"], -1);
        assert!(c["updated_at"].as_str().unwrap().ends_with('Z'));
        let id = c["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);

        let read = conn.get(&format!("/api/risk-scenarios/{id}/")).await.body;
        assert_eq!(read["inherent_proba"]["value"], 1);
        assert_eq!(read["inherent_proba"]["name"], "2 - rather unlikely");
        assert_eq!(read["inherent_level"]["name"], "3 - medium");
        assert_eq!(read["inherent_level"]["hexcolor"], "#FFA600");
        assert_eq!(read["residual_level"]["value"], -1);
        assert_eq!(read["residual_level"]["hexcolor"], "#A9A9A9");
        assert_eq!(read["risk_assessment"]["name"], RISK_ASSESSMENT_NAME);
        assert_eq!(read["risk_assessment"]["is_locked"], false);
        assert_eq!(read["folder"], json!({"str": FOLDER_NAME, "id": FOLDER_ID}));
        assert_eq!(read["owner"], json!([{"str": USER_EMAIL, "id": ACTOR_ID}]));
        assert_eq!(
            read["str"],
            "AI Bridge Demo/AI risk register - 1.0/Model inversion reveals training records"
        );
        assert_eq!(fake.scenarios(), vec![created.body.clone()]);
        assert_eq!(fake.count_by_ref_id("R-AI-006"), 1);
    }

    #[tokio::test]
    async fn validates_like_drf() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut conn = Conn::open(&fake).await;
        // The body of risk-scenario-create-invalid.json.
        let bad = json!({
            "ref_id": "R-AI-BAD",
            "risk_assessment": RISK_ASSESSMENT_ID,
            "treatment": "ignore",
            "current_proba": "high"
        });
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&bad)).await;
        assert_eq!(a.status, 400);
        assert_eq!(
            a.body,
            json!({
                "name": ["This field is required."],
                "current_proba": ["A valid integer is required."],
                "treatment": ["\"ignore\" is not a valid choice."]
            })
        );
        let mut body = scenario_body("X", "R-1");
        body["risk_assessment"] = json!("00000000-0000-4000-8000-000000000000");
        body["owner"] = json!(["dana@example.org"]);
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(a.status, 400);
        assert!(
            a.body["risk_assessment"][0]
                .as_str()
                .unwrap()
                .starts_with("Invalid pk")
        );
        assert!(
            a.body["owner"][0]
                .as_str()
                .unwrap()
                .contains("dana@example.org")
        );
        let mut body = scenario_body("X", "R-1");
        body["inherent_impact"] = json!(5);
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(
            a.body,
            json!({"inherent_impact": ["Ensure this value is less than or equal to 4."]})
        );
        assert_eq!(fake.scenario_count(), 0);
        let a = conn
            .send("POST", "/api/risk-scenarios/", Some(&json!([1])))
            .await;
        assert_eq!(a.status, 400);
    }

    #[tokio::test]
    async fn pages_with_relative_sorted_links() {
        let fake = FakeCiso::start(FakeOptions::default());
        for i in 1..=7 {
            fake.insert_scenario(scenario_body(&format!("Risk {i}"), &format!("R-{i}")))
                .unwrap();
        }
        let mut conn = Conn::open(&fake).await;
        let first = format!("/api/risk-scenarios/?risk_assessment={RISK_ASSESSMENT_ID}&limit=3");
        let page1 = conn.get(&first).await.body;
        assert_eq!(page1["count"], 7);
        assert_eq!(page1["previous"], Value::Null);
        assert_eq!(
            page1["next"],
            format!("/api/risk-scenarios/?limit=3&offset=3&risk_assessment={RISK_ASSESSMENT_ID}")
        );
        let page2 = conn.get(page1["next"].as_str().unwrap()).await.body;
        // The second page's `previous` has no offset, as DRF builds it.
        assert_eq!(
            page2["previous"],
            format!("/api/risk-scenarios/?limit=3&risk_assessment={RISK_ASSESSMENT_ID}")
        );
        let page3 = conn.get(page2["next"].as_str().unwrap()).await.body;
        assert_eq!(page3["next"], Value::Null);
        let refs: Vec<&str> = [&page1, &page2, &page3]
            .iter()
            .flat_map(|p| p["results"].as_array().unwrap())
            .map(|r| r["ref_id"].as_str().unwrap())
            .collect();
        assert_eq!(refs, ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "R-7"]);

        // Without limit: one page of up to 5000; the cap cuts larger limits.
        let all = conn.get("/api/risk-scenarios/").await.body;
        assert_eq!(all["results"].as_array().unwrap().len(), 7);
        assert_eq!(all["next"], Value::Null);
        let capped = FakeCiso::start(FakeOptions {
            page_size_cap: 2,
            ..FakeOptions::default()
        });
        for i in 1..=3 {
            capped
                .insert_scenario(scenario_body(&format!("Risk {i}"), &format!("R-{i}")))
                .unwrap();
        }
        let mut conn = Conn::open(&capped).await;
        let page = conn.get("/api/risk-scenarios/?limit=1000").await.body;
        assert_eq!(page["results"].as_array().unwrap().len(), 2);
        assert_eq!(page["next"], "/api/risk-scenarios/?limit=2&offset=2");
    }

    #[tokio::test]
    async fn filters_orders_and_sees_remote_edits() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut ids = Vec::new();
        for (name, r) in [
            ("Prompt injection in the assistant", "IMSB-0000000a"),
            ("Model drift", "IMSB-0000000b"),
            ("Supplier outage", "OTHER-1"),
        ] {
            let v = fake.insert_scenario(scenario_body(name, r)).unwrap();
            ids.push(v["id"].as_str().unwrap().to_string());
        }
        let mut conn = Conn::open(&fake).await;
        let refs = |page: &Value| -> Vec<String> {
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["ref_id"].as_str().unwrap().to_string())
                .collect()
        };
        let search = conn.get("/api/risk-scenarios/?search=imsb-").await.body;
        assert_eq!(refs(&search), ["IMSB-0000000a", "IMSB-0000000b"]);
        let search = conn.get("/api/risk-scenarios/?search=DRIFT").await.body;
        assert_eq!(refs(&search), ["IMSB-0000000b"]);
        let exact = conn.get("/api/risk-scenarios/?ref_id=OTHER-1").await.body;
        assert_eq!(exact["count"], 1);
        let ordered = conn.get("/api/risk-scenarios/?ordering=-ref_id").await.body;
        assert_eq!(
            refs(&ordered),
            ["OTHER-1", "IMSB-0000000b", "IMSB-0000000a"]
        );
        let unknown = conn
            .get("/api/risk-scenarios/?risk_assessment=00000000-0000-4000-8000-000000000000")
            .await;
        assert_eq!(unknown.status, 400);

        let before = fake.scenario(&ids[0]).unwrap()["updated_at"].clone();
        let since = before.as_str().unwrap().to_string();
        let edited = fake
            .edit_scenario(&ids[1], "residual_proba", json!(0))
            .unwrap();
        assert_ne!(edited["updated_at"], before);
        let after = edited["updated_at"].as_str().unwrap();
        let since_edit = conn
            .get(&format!("/api/risk-scenarios/?updated_at__gte={after}"))
            .await
            .body;
        assert_eq!(refs(&since_edit), ["IMSB-0000000b"]);
        let since_first = conn
            .get(&format!(
                "/api/risk-scenarios/?updated_at__gte={since}&ordering=updated_at"
            ))
            .await
            .body;
        assert_eq!(
            refs(&since_first),
            ["IMSB-0000000a", "OTHER-1", "IMSB-0000000b"]
        );
        // An unencoded `+00:00` arrives as a space and is refused, as Django does.
        let bad = conn
            .get("/api/risk-scenarios/?updated_at__gte=2026-11-27T03:51:35+00:00")
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.body,
            json!({"updated_at__gte": ["Enter a valid date/time."]})
        );
    }

    #[tokio::test]
    async fn patches_recompute_levels_and_move_updated_at() {
        let fake = FakeCiso::start(FakeOptions::default());
        let v = fake
            .insert_scenario(scenario_body("Prompt injection", "R-AI-003"))
            .unwrap();
        let id = v["id"].as_str().unwrap();
        let mut conn = Conn::open(&fake).await;
        let patch = json!({"treatment": "mitigate", "residual_proba": 1, "residual_impact": 2});
        let a = conn
            .send("PATCH", &format!("/api/risk-scenarios/{id}/"), Some(&patch))
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["treatment"], "mitigate");
        assert_eq!(a.body["residual_level"], 1);
        assert_eq!(a.body["name"], "Prompt injection");
        assert!(a.body["updated_at"].as_str() > v["updated_at"].as_str());
        // An unchanged PATCH is still a save: a new version, as Django's auto_now gives.
        let again = conn
            .send("PATCH", &format!("/api/risk-scenarios/{id}/"), Some(&patch))
            .await;
        assert!(again.body["updated_at"].as_str() > a.body["updated_at"].as_str());
        let blank = conn
            .send(
                "PATCH",
                &format!("/api/risk-scenarios/{id}/"),
                Some(&json!({"name": " "})),
            )
            .await;
        assert_eq!(
            blank.body,
            json!({"name": ["This field may not be blank."]})
        );
        let missing = conn
            .send(
                "PATCH",
                "/api/risk-scenarios/00000000-0000-4000-8000-000000000000/",
                Some(&patch),
            )
            .await;
        assert_eq!(missing.status, 404);
        assert_eq!(
            fake.request_counts(),
            RequestCounts {
                patch: 4,
                ..RequestCounts::default()
            }
        );
        let deleted = conn
            .send("DELETE", &format!("/api/risk-scenarios/{id}/"), None)
            .await;
        assert_eq!(deleted.status, 204);
        assert_eq!(fake.scenario_count(), 0);
        assert_eq!(fake.request_counts().other, 1);
    }

    #[tokio::test]
    async fn creates_containers_for_create_true() {
        let fake = FakeCiso::start(FakeOptions {
            seed_containers: false,
            ..FakeOptions::default()
        });
        let mut conn = Conn::open(&fake).await;
        assert_eq!(conn.get("/api/risk-assessments/").await.body["count"], 0);
        let folder = conn
            .send(
                "POST",
                "/api/folders/",
                Some(&json!({"name": "AI Governance"})),
            )
            .await;
        assert_eq!(folder.status, 201);
        assert_eq!(folder.body["parent_folder"], GLOBAL_FOLDER_ID);
        let folder_id = folder.body["id"].as_str().unwrap();
        let perimeter = conn
            .send(
                "POST",
                "/api/perimeters/",
                Some(&json!({"name": "AI Platform", "folder": folder_id})),
            )
            .await;
        assert_eq!(perimeter.status, 201);
        let ra = conn
            .send(
                "POST",
                "/api/risk-assessments/",
                Some(&json!({
                    "name": "AI risks", "version": "1.0",
                    "perimeter": perimeter.body["id"], "risk_matrix": MATRIX_ID
                })),
            )
            .await;
        assert_eq!(ra.status, 201);
        assert_eq!(ra.body["folder"], folder_id);
        let no_matrix = conn
            .send(
                "POST",
                "/api/risk-assessments/",
                Some(&json!({"name": "AI risks", "perimeter": perimeter.body["id"]})),
            )
            .await;
        assert_eq!(
            no_matrix.body,
            json!({"risk_matrix": ["This field is required."]})
        );
        let mut body = scenario_body("Bias", "R-1");
        body["risk_assessment"] = ra.body["id"].clone();
        let s = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(s.status, 201);
        let read = conn
            .get(&format!(
                "/api/risk-scenarios/{}/",
                s.body["id"].as_str().unwrap()
            ))
            .await
            .body;
        assert_eq!(read["folder"]["str"], "AI Governance");
    }

    #[tokio::test]
    async fn faults_strike_before_or_after_handling() {
        let fake = FakeCiso::start(FakeOptions::default());
        let mut conn = Conn::open(&fake).await;
        let body = scenario_body("Bias", "R-1");
        fake.fail_next("POST", "/api/risk-scenarios/", 503, "<h1>busy</h1>", 1);
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(a.status, 503);
        assert_eq!(fake.scenario_count(), 0);
        fake.fail_after_next("POST", "/api/risk-scenarios/", 502, "{}", 1);
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(a.status, 502);
        assert_eq!(fake.count_by_ref_id("R-1"), 1, "the write landed");
        let a = conn.send("POST", "/api/risk-scenarios/", Some(&body)).await;
        assert_eq!(a.status, 201);
        assert_eq!(fake.duplicate_ref_ids(), vec![("R-1".to_string(), 2)]);

        fake.drop_next("GET", "/api/build/", false, 1);
        let _ = conn
            .write
            .write_all(
                format!("GET /api/build/ HTTP/1.1\r\nAuthorization: Token {DEFAULT_TOKEN}\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        let mut rest = Vec::new();
        let n = conn.reader.read_to_end(&mut rest).await.unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
        let log = fake.request_log();
        assert_eq!(log.last().map(|l| l.status), Some(0));
        assert_eq!(fake.request_counts().post, 3);
        fake.reset_counts();
        assert_eq!(fake.request_counts().total(), 0);
        assert!(fake.request_log().is_empty());
    }

    #[tokio::test]
    async fn latency_overlaps_between_connections() {
        let fake = FakeCiso::start(FakeOptions {
            latency: Duration::from_millis(250),
            ..FakeOptions::default()
        });
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let addr = fake.addr();
            tasks.push(tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(b"GET /api/build/ HTTP/1.1\r\nAuthorization: Token fake-ciso-token\r\nConnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut out = Vec::new();
                s.read_to_end(&mut out).await.unwrap();
                String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        // One after the other they would take a second.
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_holds_the_nth_create_after_storing_it() {
        let fake = Arc::new(FakeCiso::start(FakeOptions::default()));
        let seen = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        fake.on_create(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        fake.pause_after_creates(2);
        let post = |i: u32| {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move {
                let mut conn = Conn::open(&fake).await;
                let body = scenario_body(&format!("Risk {i}"), &format!("R-{i}"));
                conn.send("POST", "/api/risk-scenarios/", Some(&body))
                    .await
                    .status
            })
        };
        // One after the other, so that the order of arrival is known.
        assert_eq!(post(1).await.unwrap(), 201);
        let mut clients = vec![post(2)];
        let held = tokio::time::timeout(Duration::from_secs(10), fake.paused())
            .await
            .unwrap();
        assert_eq!(held["ref_id"], "R-2");
        clients.extend([post(3), post(4)]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while fake.request_counts().post < 4 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Later creates arrived and wait before being stored: exactly two exist meanwhile.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fake.request_counts().post, 4);
        assert_eq!(fake.scenario_count(), 2);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let blocking = Arc::clone(&fake);
        let again =
            tokio::task::spawn_blocking(move || blocking.wait_paused(Duration::from_secs(1)))
                .await
                .unwrap();
        assert_eq!(again.map(|v| v["ref_id"].clone()), Some(json!("R-2")));
        fake.release();
        for c in clients {
            assert_eq!(c.await.unwrap(), 201);
        }
        assert_eq!(fake.scenario_count(), 4);
        assert_eq!(fake.wait_paused(Duration::from_millis(10)), None);
    }

    #[test]
    fn works_from_synchronous_code_and_stops() {
        let mut fake = FakeCiso::start(FakeOptions::default());
        let addr = fake.addr();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        s.write_all(b"GET /api/build/ HTTP/1.1\r\nAuthorization: Token fake-ciso-token\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("Content-Type: application/json"));
        fake.stop();
        fake.stop();
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn ids_are_uuids_and_stamps_increase() {
        let mut state = State::new(&FakeOptions::default(), "127.0.0.1:1".parse().unwrap());
        let a = state.new_id();
        let b = state.new_id();
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), 36);
            assert_eq!(id.as_bytes()[14], b'4');
            assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        }
        let t1 = state.now();
        let t2 = state.now();
        assert!(stamp(t2) > stamp(t1));
        assert_eq!(percent_decode("a%20b+c%2B"), "a b c+");
        assert_eq!(
            percent_encode("2026-11-27T03:51:35+00:00"),
            "2026-11-27T03%3A51%3A35%2B00%3A00"
        );
    }
}
