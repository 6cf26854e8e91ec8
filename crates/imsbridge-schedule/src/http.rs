//! The status endpoint: a deliberately small HTTP/1.1 responder on tokio's listener, for
//! `GET /healthz`, `/runs` (JSON) and `/metrics` (Prometheus text format). One request per
//! connection; the request head is bounded in size and in the time it may take to arrive, so
//! a slow or hostile client costs a connection slot for seconds, not the server.
//!
//! It listens on loopback unless told otherwise: it has no authentication, and run history
//! names systems and error messages an outsider has no business reading.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imsbridge_store::{RunOutcome, RunTotals};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::error::ScheduleError;
use crate::handle::StoreHandle;
use crate::server::{ServerState, StatusBoard, StatusSnapshot};

/// The largest request head accepted; a GET needs a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a client has to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 16;
/// `/runs` returns this many runs unless `?limit=` says otherwise, and never more than
/// `MAX_RUNS`.
const DEFAULT_RUNS: usize = 50;
const MAX_RUNS: usize = 1000;

/// What the endpoint reads from.
#[derive(Debug, Clone)]
pub struct EndpointState {
    pub store: StoreHandle,
    pub status: Arc<StatusBoard>,
}

/// A bound, not yet serving, status endpoint.
#[derive(Debug)]
pub struct StatusEndpoint {
    listener: TcpListener,
    addr: SocketAddr,
}

impl StatusEndpoint {
    /// Binds `addr`; a non-loopback address needs `allow_public`. Port 0 picks a free port
    /// ([`StatusEndpoint::local_addr`] tells which).
    pub async fn bind(
        addr: SocketAddr,
        allow_public: bool,
    ) -> Result<StatusEndpoint, ScheduleError> {
        if !addr.ip().is_loopback() && !allow_public {
            return Err(ScheduleError::NotLoopback { addr });
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ScheduleError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ScheduleError::Bind { addr, source })?;
        Ok(StatusEndpoint { listener, addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the task is dropped or aborted.
    pub async fn serve(self, state: EndpointState) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "status endpoint: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = handle(stream, &state).await {
                    tracing::debug!(error = %e, "status endpoint: connection ended early");
                }
                drop(permit);
            });
        }
    }
}

/// A response ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn json(status: u16, value: &impl serde::Serialize) -> Response {
        match serde_json::to_string_pretty(value) {
            Ok(mut body) => {
                body.push('\n');
                Response {
                    status,
                    content_type: "application/json",
                    body,
                }
            }
            Err(e) => Response::text(500, format!("cannot encode the answer: {e}\n")),
        }
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// The bytes on the wire, head and body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            self.reason(),
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            head.push_str("Allow: GET\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

async fn handle(mut stream: TcpStream, state: &EndpointState) -> std::io::Result<()> {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => Response::text(408, "the request did not arrive in time\n"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            Response::text(431, "the request head is too large\n")
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(head)) => route(&head, state).await,
    };
    stream.write_all(&response.to_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the blank line that ends the request head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Answers one request head.
pub async fn route(head: &str, state: &EndpointState) -> Response {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Response::text(400, "malformed request line\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Response::text(400, "only HTTP/1.x is spoken here\n");
    }
    if method != "GET" {
        return Response::text(405, format!("{method} is not allowed; use GET\n"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/healthz" => {
            let snapshot = state.status.snapshot();
            let status = match snapshot.state {
                ServerState::Starting | ServerState::Running => 200,
                ServerState::Stopping | ServerState::Stopped => 503,
            };
            Response::json(status, &snapshot)
        }
        "/runs" => {
            let (schedule, limit) = match runs_query(query) {
                Ok(q) => q,
                Err(message) => return Response::text(400, format!("{message}\n")),
            };
            match state
                .store
                .call(move |s| s.schedule_runs(schedule.as_deref(), limit))
                .await
            {
                Ok(runs) => Response::json(200, &runs),
                Err(e) => Response::text(503, format!("cannot read the run history: {e}\n")),
            }
        }
        "/metrics" => match state.store.call(|s| s.run_totals()).await {
            Ok(totals) => Response {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body: render_metrics(&totals, &state.status.snapshot()),
            },
            Err(e) => Response::text(503, format!("cannot read the run totals: {e}\n")),
        },
        _ => Response::text(404, "not found; try /healthz, /runs or /metrics\n"),
    }
}

fn runs_query(query: &str) -> Result<(Option<String>, usize), String> {
    let (mut schedule, mut limit) = (None, DEFAULT_RUNS);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "schedule" => schedule = Some(value.to_string()),
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_RUNS).contains(n))
                    .ok_or_else(|| format!("limit must be a number from 1 to {MAX_RUNS}"))?;
            }
            other => {
                return Err(format!(
                    "unknown parameter `{other}`; use schedule and limit"
                ));
            }
        }
    }
    Ok((schedule, limit))
}

/// What a per-schedule counter adds up from each line of totals.
type Measure = dyn Fn(&RunTotals) -> u64;

/// The Prometheus text exposition of the totals and the live status.
pub fn render_metrics(totals: &[RunTotals], status: &StatusSnapshot) -> String {
    let names: BTreeSet<&str> = totals
        .iter()
        .map(|t| t.schedule.as_str())
        .chain(status.schedules.iter().map(|s| s.name.as_str()))
        .collect();
    let sum = |name: &str, f: &Measure| -> u64 {
        totals.iter().filter(|t| t.schedule == name).map(f).sum()
    };
    let mut out = String::new();
    header(
        &mut out,
        "imsbridge_schedule_runs_total",
        "counter",
        "Attempts of scheduled runs, by schedule and outcome.",
    );
    for name in &names {
        for outcome in RunOutcome::ALL {
            let runs = totals
                .iter()
                .find(|t| t.schedule == *name && t.outcome == outcome)
                .map_or(0, |t| t.runs);
            let _ = writeln!(
                out,
                "imsbridge_schedule_runs_total{{schedule=\"{}\",outcome=\"{}\"}} {runs}",
                label(name),
                outcome.as_str()
            );
        }
    }

    let per_schedule: [(&str, &str, &str, &Measure); 4] = [
        (
            "imsbridge_schedule_failures_total",
            "counter",
            "Scheduled runs that failed with no attempt left.",
            &|t| {
                if t.outcome == RunOutcome::Failed {
                    t.runs
                } else {
                    0
                }
            },
        ),
        (
            "imsbridge_schedule_records_pulled_total",
            "counter",
            "Records read from source systems by scheduled runs.",
            &|t| t.counts.pulled,
        ),
        (
            "imsbridge_schedule_records_written_total",
            "counter",
            "Records created or updated by scheduled runs.",
            &|t| t.counts.written,
        ),
        (
            "imsbridge_schedule_conflicts_total",
            "counter",
            "Sync conflicts and refused writes met by scheduled runs.",
            &|t| t.counts.conflicts,
        ),
    ];
    for (metric, kind, help, value) in per_schedule {
        header(&mut out, metric, kind, help);
        for name in &names {
            let _ = writeln!(
                out,
                "{metric}{{schedule=\"{}\"}} {}",
                label(name),
                sum(name, value)
            );
        }
    }

    header(
        &mut out,
        "imsbridge_schedule_last_success_timestamp_seconds",
        "gauge",
        "When the schedule's newest successful run finished (unix time).",
    );
    for t in totals.iter().filter(|t| t.outcome == RunOutcome::Succeeded) {
        let _ = writeln!(
            out,
            "imsbridge_schedule_last_success_timestamp_seconds{{schedule=\"{}\"}} {}",
            label(&t.schedule),
            t.last_at.timestamp()
        );
    }

    header(
        &mut out,
        "imsbridge_schedule_running",
        "gauge",
        "Whether the schedule is running on this server.",
    );
    for s in &status.schedules {
        let _ = writeln!(
            out,
            "imsbridge_schedule_running{{schedule=\"{}\"}} {}",
            label(&s.name),
            u8::from(s.running_since.is_some())
        );
    }
    header(
        &mut out,
        "imsbridge_schedule_next_fire_timestamp_seconds",
        "gauge",
        "When the schedule fires next (unix time).",
    );
    for s in &status.schedules {
        if let Some(next) = s.next_fire {
            let _ = writeln!(
                out,
                "imsbridge_schedule_next_fire_timestamp_seconds{{schedule=\"{}\"}} {}",
                label(&s.name),
                next.timestamp()
            );
        }
    }
    out
}

fn header(out: &mut String, metric: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {metric} {help}");
    let _ = writeln!(out, "# TYPE {metric} {kind}");
}

/// A label value with the three characters the format escapes escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
