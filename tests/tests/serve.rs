//! End-to-end tests of `imsbridge serve | runs | schedules`: the real binary pulling a CSV
//! register every second, its status endpoint, two servers on one store, and SIGTERM.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: failing loudly is their job"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imsbridge_e2e::cli::Imsbridge;
use imsbridge_e2e::{RISK_HEADER, imsbridge_bin, write_register_csv};
use serde_json::Value;
use tempfile::TempDir;

/// Rows in the register the schedule pulls.
const ROWS: usize = 4;

/// A store with an imported register, and a configuration that pulls it every second.
fn setup() -> (TempDir, Imsbridge) {
    let dir = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), dir.path());
    let rows: Vec<Vec<String>> = (1..=ROWS)
        .map(|i| {
            vec![
                format!("AI-{i}"),
                format!("Model drift in the scoring service, case {i}"),
                "Predictions degrade as input data shifts.".into(),
                "Dana Okafor".into(),
                "42001 6.1.2".into(),
                "3".into(),
                "4".into(),
                "Mitigate".into(),
                "Monitor drift weekly".into(),
                "2026-09-30".into(),
                "Open".into(),
            ]
        })
        .collect();
    write_register_csv(&dir.path().join("ai-risks.csv"), &RISK_HEADER, rows).unwrap();
    let out = ims.run(["import", "ai-risks.csv"]).unwrap();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let config = r#"[[system]]
name = "risk-csv"
type = "spreadsheet"
path = "ai-risks.csv"

[[schedule]]
name = "every-second"
cron = "* * * * * *"
action = "pull"
systems = ["risk-csv"]
"#;
    std::fs::write(dir.path().join("imsbridge.toml"), config).unwrap();
    (dir, ims)
}

/// A running `imsbridge serve` and what it has written to stderr so far.
struct Server {
    child: Child,
    stderr: Arc<Mutex<String>>,
    addr: String,
}

impl Server {
    fn start(ims: &Imsbridge) -> Server {
        let mut child = Command::new(&ims.bin)
            .arg("--store")
            .arg(&ims.store)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(&ims.cwd)
            .env_remove("IMSBRIDGE_STORE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let addr = wait_for(Duration::from_secs(10), "the listening address", || {
            let text = stderr.lock().unwrap();
            let at = text.find("listening on http://")?;
            let rest = &text[at + "listening on http://".len()..];
            rest.split_whitespace().next().map(str::to_string)
        })
        .unwrap_or_else(|| {
            panic!(
                "serve printed no address:\n{}",
                stderr.lock().unwrap().as_str()
            )
        });
        Server {
            child,
            stderr,
            addr,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// SIGTERM, then the exit code.
    fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "serve did not stop within 10 s of SIGTERM:\n{}",
                    self.stderr.lock().unwrap().as_str()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread take the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let stderr = self.stderr.lock().unwrap().clone();
        (code, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed assertion must not leave a server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() > deadline {
            eprintln!("gave up waiting for {what}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn runs(ims: &Imsbridge) -> Vec<Value> {
    match ims.json(["runs", "--limit", "1000"]).unwrap() {
        Value::Array(runs) => runs,
        other => panic!("runs --format json printed no array: {other}"),
    }
}

#[test]
fn serve_pulls_on_schedule_reports_it_and_stops_cleanly_on_sigterm() {
    let (_dir, ims) = setup();
    let server = Server::start(&ims);

    let (status, health) = server.get("/healthz");
    assert_eq!(status, 200, "{health}");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["state"], "running");
    assert_eq!(health["schedules"][0]["name"], "every-second");

    let succeeded = wait_for(Duration::from_secs(10), "a successful run", || {
        let (status, body) = server.get("/runs");
        assert_eq!(status, 200, "{body}");
        let runs: Vec<Value> = serde_json::from_str(&body).unwrap();
        runs.into_iter().find(|r| r["outcome"] == "succeeded")
    })
    .expect("a run succeeded within 10 s");
    assert_eq!(succeeded["schedule"], "every-second");
    assert_eq!(succeeded["action"], "pull");
    assert_eq!(succeeded["pulled"], ROWS as u64);
    assert_eq!(succeeded["failed"], 0);

    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            "imsbridge_schedule_last_success_timestamp_seconds{schedule=\"every-second\"}"
        ),
        "{metrics}"
    );
    assert_eq!(server.get("/nothing-here").0, 404);

    // The CLI reads the same history while the server runs.
    let listed = runs(&ims);
    assert!(
        listed.iter().any(|r| r["outcome"] == "succeeded"),
        "{listed:#?}"
    );

    let (code, stderr) = server.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("scheduler stopped"), "{stderr}");
    // Every run that started has its end recorded: none is left "running".
    let after = runs(&ims);
    assert!(!after.is_empty());
    for run in &after {
        assert!(run["finished_at"].is_string(), "unfinished run: {run}");
        assert_eq!(run["outcome"], "succeeded", "{run}");
    }
    // The pulled records are in the store under the configured system's name.
    let pulled = ims.records(&[]).unwrap();
    assert_eq!(
        pulled
            .iter()
            .filter(|r| r["provenance"]["system"] == "risk-csv")
            .count(),
        ROWS
    );

    // `schedules` shows the last run and success and the next fires in zone and UTC.
    let schedules = ims.json(["schedules", "--next", "2"]).unwrap();
    let every = &schedules[0];
    assert_eq!(every["name"], "every-second");
    assert_eq!(every["last_run"]["outcome"], "succeeded");
    assert!(every["last_success_at"].is_string());
    assert_eq!(every["next"].as_array().unwrap().len(), 2);
    assert!(every["next"][0]["local"].as_str().unwrap().ends_with("UTC"));
}

#[test]
fn a_second_server_on_the_same_store_does_not_run_a_fire_twice() {
    let (_dir, ims) = setup();
    let first = Server::start(&ims);
    let second = Server::start(&ims);
    // Both run for a few fires.
    wait_for(Duration::from_secs(10), "three runs", || {
        let ran = runs(&ims)
            .into_iter()
            .filter(|r| r["outcome"] == "succeeded")
            .count();
        (ran >= 3).then_some(())
    })
    .expect("three runs within 10 s");
    let (a, a_err) = first.terminate();
    let (b, b_err) = second.terminate();
    assert_eq!(a, Some(0), "{a_err}");
    assert_eq!(b, Some(0), "{b_err}");

    let all = runs(&ims);
    let mut by_fire: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for run in all.iter().filter(|r| r["outcome"] != "skipped-locked") {
        by_fire
            .entry(run["fire_at"].as_str().unwrap().to_string())
            .or_default()
            .push(run);
    }
    assert!(by_fire.len() >= 3, "{all:#?}");
    for (fire, ran) in &by_fire {
        assert_eq!(ran.len(), 1, "fire {fire} ran more than once: {ran:#?}");
        assert_eq!(ran[0]["outcome"], "succeeded");
    }
}

#[test]
fn configuration_mistakes_stop_serve_before_it_starts() {
    let (dir, ims) = setup();
    write_config(
        dir.path(),
        "[[schedule]]\nname = \"bad\"\ncron = \"61 * * * *\"\naction = \"pull\"\n",
    );
    let out = ims.run(["serve", "--listen", "127.0.0.1:0"]).unwrap();
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("schedule[0] (bad).cron: `61 * * * *` is not a valid cron pattern"),
        "{}",
        out.describe()
    );

    write_config(
        dir.path(),
        "[[schedule]]\nname = \"pull\"\ncron = \"@hourly\"\naction = \"sync\"\ntargets = [\"ca\"]\n",
    );
    let out = ims.run(["serve", "--listen", "127.0.0.1:0"]).unwrap();
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("schedule[0] (pull).targets: unknown target `ca`; no targets are configured"),
        "{}",
        out.describe()
    );

    setup_ok(dir.path());
    let out = ims.run(["serve", "--listen", "0.0.0.0:0"]).unwrap();
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("--listen-public"), "{}", out.describe());
}

fn write_config(dir: &Path, schedule: &str) {
    std::fs::write(dir.join("imsbridge.toml"), schedule).unwrap();
}

fn setup_ok(dir: &Path) {
    write_config(
        dir,
        "[[schedule]]\nname = \"hourly\"\ncron = \"0 * * * *\"\naction = \"pull\"\n",
    );
}
