//! The status endpoint: what `/runs` and `/metrics` say for a given history, and the HTTP
//! rules (GET only, known paths only, bounded requests, loopback unless told otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use imsbridge_schedule::{
    EndpointState, LockOwner, MAX_REQUEST_BYTES, RunCounts, RunOutcome, ScheduleError,
    ScheduleStatus, ServerState, StatusBoard, StatusEndpoint, StatusSnapshot, StoreHandle,
    render_metrics, route,
};
use imsbridge_store::{NewRun, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn at(m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 2, m, s).unwrap()
}

/// A history: "pull" failed once then succeeded; "sy\"nc" (a name that needs escaping in a
/// label) failed for good.
fn history() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let owner = LockOwner {
        host: "ims-01".into(),
        pid: 42,
        started_at: at(0, 0),
    };
    let mut add = |schedule: &str, m: u32, attempt: u32, outcome, counts, error: Option<&str>| {
        let id = store
            .start_run(&NewRun {
                schedule,
                action: "pull",
                fire_at: at(m, 0),
                attempt,
                started_at: at(m, attempt),
                owner: &owner,
            })
            .unwrap();
        store
            .finish_run(id, at(m, attempt + 10), outcome, counts, error)
            .unwrap();
    };
    let pulled = RunCounts {
        pulled: 120,
        written: 7,
        conflicts: 1,
        failed: 2,
    };
    add(
        "pull",
        1,
        1,
        RunOutcome::Retried,
        RunCounts::default(),
        Some("store locked"),
    );
    add("pull", 1, 2, RunOutcome::Succeeded, pulled, None);
    add(
        "sy\"nc",
        2,
        1,
        RunOutcome::Failed,
        RunCounts::default(),
        Some("401 from ca"),
    );
    store
}

fn snapshot() -> StatusSnapshot {
    StatusSnapshot {
        state: ServerState::Running,
        schedules: vec![ScheduleStatus {
            name: "pull".into(),
            action: "pull".into(),
            cron: "0 * * * *".into(),
            timezone: "UTC".into(),
            enabled: true,
            next_fire: Some(at(3, 0)),
            running_since: Some(at(2, 30)),
        }],
        ..StatusSnapshot::default()
    }
}

#[test]
fn metrics_for_a_given_history() {
    let store = history();
    let text = render_metrics(&store.run_totals().unwrap(), &snapshot());
    let expected = format!(
        r#"# HELP imsbridge_schedule_runs_total Attempts of scheduled runs, by schedule and outcome.
# TYPE imsbridge_schedule_runs_total counter
imsbridge_schedule_runs_total{{schedule="pull",outcome="succeeded"}} 1
imsbridge_schedule_runs_total{{schedule="pull",outcome="failed"}} 0
imsbridge_schedule_runs_total{{schedule="pull",outcome="retried"}} 1
imsbridge_schedule_runs_total{{schedule="pull",outcome="cancelled"}} 0
imsbridge_schedule_runs_total{{schedule="pull",outcome="skipped-locked"}} 0
imsbridge_schedule_runs_total{{schedule="sy\"nc",outcome="succeeded"}} 0
imsbridge_schedule_runs_total{{schedule="sy\"nc",outcome="failed"}} 1
imsbridge_schedule_runs_total{{schedule="sy\"nc",outcome="retried"}} 0
imsbridge_schedule_runs_total{{schedule="sy\"nc",outcome="cancelled"}} 0
imsbridge_schedule_runs_total{{schedule="sy\"nc",outcome="skipped-locked"}} 0
# HELP imsbridge_schedule_failures_total Scheduled runs that failed with no attempt left.
# TYPE imsbridge_schedule_failures_total counter
imsbridge_schedule_failures_total{{schedule="pull"}} 0
imsbridge_schedule_failures_total{{schedule="sy\"nc"}} 1
# HELP imsbridge_schedule_records_pulled_total Records read from source systems by scheduled runs.
# TYPE imsbridge_schedule_records_pulled_total counter
imsbridge_schedule_records_pulled_total{{schedule="pull"}} 120
imsbridge_schedule_records_pulled_total{{schedule="sy\"nc"}} 0
# HELP imsbridge_schedule_records_written_total Records created or updated by scheduled runs.
# TYPE imsbridge_schedule_records_written_total counter
imsbridge_schedule_records_written_total{{schedule="pull"}} 7
imsbridge_schedule_records_written_total{{schedule="sy\"nc"}} 0
# HELP imsbridge_schedule_conflicts_total Sync conflicts and refused writes met by scheduled runs.
# TYPE imsbridge_schedule_conflicts_total counter
imsbridge_schedule_conflicts_total{{schedule="pull"}} 1
imsbridge_schedule_conflicts_total{{schedule="sy\"nc"}} 0
# HELP imsbridge_schedule_last_success_timestamp_seconds When the schedule's newest successful run finished (unix time).
# TYPE imsbridge_schedule_last_success_timestamp_seconds gauge
imsbridge_schedule_last_success_timestamp_seconds{{schedule="pull"}} {success}
# HELP imsbridge_schedule_running Whether the schedule is running on this server.
# TYPE imsbridge_schedule_running gauge
imsbridge_schedule_running{{schedule="pull"}} 1
# HELP imsbridge_schedule_next_fire_timestamp_seconds When the schedule fires next (unix time).
# TYPE imsbridge_schedule_next_fire_timestamp_seconds gauge
imsbridge_schedule_next_fire_timestamp_seconds{{schedule="pull"}} {next}
"#,
        success = at(1, 12).timestamp(),
        next = at(3, 0).timestamp(),
    );
    assert_eq!(text, expected);
}

fn state(store: Store) -> EndpointState {
    EndpointState {
        store: StoreHandle::new(store),
        status: Arc::new(StatusBoard::default()),
    }
}

#[tokio::test]
async fn runs_are_json_newest_first_and_filterable() {
    let state = state(history());
    let all = route("GET /runs HTTP/1.1\r\nHost: x\r\n\r\n", &state).await;
    assert_eq!((all.status, all.content_type), (200, "application/json"));
    let runs: serde_json::Value = serde_json::from_str(&all.body).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["schedule"], "sy\"nc");
    assert_eq!(runs[0]["outcome"], "failed");
    assert_eq!(runs[0]["error"], "401 from ca");
    assert_eq!(runs[1]["outcome"], "succeeded");
    assert_eq!(runs[1]["pulled"], 120);
    assert_eq!(runs[1]["attempt"], 2);
    assert_eq!(runs[1]["started_at"], "2026-05-01T02:01:02Z");

    let one = route("GET /runs?schedule=pull&limit=1 HTTP/1.1\r\n\r\n", &state).await;
    let one: serde_json::Value = serde_json::from_str(&one.body).unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["schedule"], "pull");
    assert_eq!(one[0]["attempt"], 2);

    let bad = route("GET /runs?limit=0 HTTP/1.1\r\n\r\n", &state).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("limit"), "{}", bad.body);
}

async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

#[tokio::test]
async fn serves_get_on_loopback_and_refuses_everything_else() {
    let endpoint = StatusEndpoint::bind("127.0.0.1:0".parse().unwrap(), false)
        .await
        .unwrap();
    let addr = endpoint.local_addr();
    assert_ne!(addr.port(), 0);
    let serving = tokio::spawn(endpoint.serve(state(history())));

    let health = exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.contains("Content-Type: application/json\r\n"));
    let body = health.split("\r\n\r\n").nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["state"], "starting");

    let metrics = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("text/plain; version=0.0.4"));
    assert!(metrics.contains("imsbridge_schedule_records_pulled_total{schedule=\"pull\"} 120"));

    let post = exchange(addr, b"POST /runs HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{post}"
    );
    assert!(post.contains("Allow: GET\r\n"));

    let missing = exchange(addr, b"GET /admin HTTP/1.1\r\n\r\n").await;
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );

    // A head that never ends within the limit. (Not much past it: bytes the server leaves
    // unread would make it reset the connection instead of answering.)
    let mut huge = b"GET /healthz HTTP/1.1\r\nX-Padding: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_REQUEST_BYTES + 200));
    let refused = exchange(addr, &huge).await;
    assert!(refused.starts_with("HTTP/1.1 431 "), "{refused}");

    let garbage = exchange(addr, b"hello\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");

    serving.abort();
}

#[tokio::test]
async fn a_public_address_needs_an_explicit_yes() {
    let err = StatusEndpoint::bind("0.0.0.0:0".parse().unwrap(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, ScheduleError::NotLoopback { .. }), "{err:?}");
    assert!(err.to_string().contains("--listen-public"), "{err}");
    // With the flag it binds (on all interfaces, port chosen by the system).
    let endpoint = StatusEndpoint::bind("0.0.0.0:0".parse().unwrap(), true)
        .await
        .unwrap();
    assert!(endpoint.local_addr().ip().is_unspecified());
}
