//! `imsbridge serve | runs | schedules`: the `[[schedule]]` entries run by a long-lived
//! server, and their history.
//!
//! The scheduler (`imsbridge-schedule`) runs on its own thread and tokio runtime. The actions
//! are the very functions behind `imsbridge pull` and `sync`, which are blocking and start
//! runtimes of their own, so each run is handed to a thread of this one's scope: it borrows
//! the parsed command line and gets the configuration as it was when the run started.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use chrono::{DateTime, Utc};
use imsbridge_schedule::{
    ActionError, ActionKind, Actions, BoxFuture, CancelToken, ConfigError, EndpointState,
    KnownSystems, RunCounts, RunOutcome, RunRecord, RunRequest, Schedule, Schedules, Server,
    ServerOptions, StatusEndpoint, StoreHandle, SystemClock, Tz, this_process,
};
use serde::Serialize;

use super::sync::{Pulled, pull_systems, sync_targets};
use super::{CommandContext, parse_standard};
use crate::args::{Format, RunsArgs, SchedulesArgs, ServeArgs, UsageError};
use crate::config::Config;
use crate::exit;
use crate::output::{Table, print_json};

/// Remote writes in flight at once per target in a scheduled sync (as `sync`'s default).
const SYNC_CONCURRENCY: usize = 4;
/// The exit code after a second stop signal (128 + SIGINT, as shells report Ctrl-C).
const FORCED_EXIT: i32 = 130;

/// The `[[schedule]]` entries of `config`, checked against its `[[system]]` entries.
fn check_schedules(config: &Config) -> anyhow::Result<Vec<Schedule>> {
    let systems = imsbridge_systems::Systems::from_tables(config.system.clone(), &config.base_dir)?;
    let known = KnownSystems {
        systems: systems.names().iter().map(|n| n.to_string()).collect(),
        targets: systems
            .iter()
            .filter(|s| s.is_target())
            .map(|s| s.name().to_string())
            .collect(),
    };
    let values = config
        .schedule
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .context("reading the [[schedule]] entries")?;
    let schedules = Schedules::from_values(values, &known, &config.base_dir)?;
    for s in schedules.iter() {
        for standard in &s.config.standards {
            parse_standard(standard)
                .map_err(|e| ConfigError::new(format!("{}.standards", s.path()), e.to_string()))?;
        }
    }
    Ok(schedules.into_vec())
}

fn config_name(cx: &CommandContext<'_>) -> PathBuf {
    cx.cli
        .global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("imsbridge.toml"))
}

fn load_schedules(cx: &CommandContext<'_>) -> anyhow::Result<Vec<Schedule>> {
    check_schedules(&cx.config).with_context(|| format!("in {}", config_name(cx).display()))
}

pub fn serve(cx: &CommandContext<'_>, args: &ServeArgs) -> anyhow::Result<u8> {
    let schedules = load_schedules(cx)?;
    if schedules.is_empty() {
        anyhow::bail!(
            "no schedules to run: add [[schedule]] entries to {} (name, cron, action; see the \
             README's \"Scheduled runs\")",
            config_name(cx).display()
        );
    }
    if !args.no_listen && !args.listen.ip().is_loopback() && !args.listen_public {
        return Err(UsageError(format!(
            "--listen {}: not a loopback address; the status endpoint has no authentication, so \
             pass --listen-public as well to expose it anyway",
            args.listen
        ))
        .into());
    }
    let store_path = cx.store_path();
    let store = StoreHandle::new(cx.open_store()?);
    let shared = Arc::new(Mutex::new(Arc::new(cx.config.clone())));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("imsbridge-serve")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reloader = {
        let shared = Arc::clone(&shared);
        let explicit = cx.cli.global.config.clone();
        let global_store = cx.cli.global.store.clone();
        let name = config_name(cx);
        move || {
            reload(
                explicit.as_deref(),
                &name,
                global_store.as_deref(),
                &store_path,
                &shared,
            )
        }
    };
    let quiet = cx.cli.global.quiet;
    let options = ServerOptions {
        keep_runs: args.keep_runs,
        ..ServerOptions::default()
    };

    std::thread::scope(|scope| -> anyhow::Result<u8> {
        let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Message>();
        let done_tx = jobs_tx.clone();
        let scheduler = scope.spawn(move || -> anyhow::Result<()> {
            let result = runtime.block_on(async move {
                let actions = Arc::new(CliActions {
                    jobs: jobs_tx,
                    config: shared,
                });
                let server = Server::new(
                    store.clone(),
                    actions,
                    Arc::new(SystemClock),
                    schedules,
                    this_process(Utc::now()),
                    options,
                )
                .with_reload(reloader);
                let control = server.control();
                // Before anything is announced: a stop signal sent as soon as the address is
                // printed must find the handler in place.
                let _signals = imsbridge_schedule::signals::listen(control, || {
                    std::process::exit(FORCED_EXIT)
                })
                .context("listening for signals")?;
                let endpoint = if args.no_listen {
                    None
                } else {
                    let endpoint = StatusEndpoint::bind(args.listen, args.listen_public).await?;
                    if !quiet {
                        eprintln!(
                            "imsbridge serve: listening on http://{} (/healthz, /runs, /metrics)",
                            endpoint.local_addr()
                        );
                    }
                    let state = EndpointState {
                        store: store.clone(),
                        status: server.status(),
                    };
                    Some(tokio::spawn(endpoint.serve(state)))
                };
                let outcome = server.run().await;
                if let Some(endpoint) = endpoint {
                    endpoint.abort();
                }
                outcome.map_err(anyhow::Error::from)
            });
            // Tasks still holding a job sender are dropped with the runtime; the message
            // below ends the job loop even if one were not.
            drop(runtime);
            let _ = done_tx.send(Message::Done);
            result
        });
        for message in jobs_rx {
            let Message::Job(job) = message else {
                break;
            };
            let cli = cx.cli;
            scope.spawn(move || {
                let cx = CommandContext {
                    cli,
                    config: (*job.config).clone(),
                };
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    execute(&cx, &job.request, &job.cancel)
                }))
                .unwrap_or_else(|_| Err(ActionError::failed("the action panicked")));
                // The server may be gone (a forced exit); nobody is left to tell then.
                let _ = job.reply.send(result);
            });
        }
        match scheduler.join() {
            Ok(result) => result.map(|()| exit::OK),
            Err(_) => anyhow::bail!("the scheduler thread panicked"),
        }
    })
}

/// Reads the configuration again for SIGHUP. On success the runs started from then on use
/// it; on failure nothing changes.
fn reload(
    explicit: Option<&Path>,
    name: &Path,
    global_store: Option<&Path>,
    store_in_use: &Path,
    shared: &Mutex<Arc<Config>>,
) -> Result<Vec<Schedule>, ConfigError> {
    let file = name.display().to_string();
    let config = Config::load(explicit).map_err(|e| ConfigError::new(&file, format!("{e:#}")))?;
    let store = global_store
        .map(Path::to_path_buf)
        .or_else(|| config.store.clone())
        .unwrap_or_else(|| PathBuf::from("imsbridge.db"));
    if store != store_in_use {
        return Err(ConfigError::new(
            format!("{file}: store"),
            format!(
                "the store cannot change while serving ({} → {}); restart imsbridge serve",
                store_in_use.display(),
                store.display()
            ),
        ));
    }
    let schedules =
        check_schedules(&config).map_err(|e| ConfigError::new(&file, format!("{e:#}")))?;
    *shared.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    Ok(schedules)
}

enum Message {
    Job(Box<Job>),
    /// The scheduler has finished: no more jobs.
    Done,
}

struct Job {
    request: RunRequest,
    cancel: CancelToken,
    config: Arc<Config>,
    reply: tokio::sync::oneshot::Sender<Result<RunCounts, ActionError>>,
}

/// The real actions: each run goes to a thread of `serve`'s scope.
struct CliActions {
    jobs: std::sync::mpsc::Sender<Message>,
    config: Arc<Mutex<Arc<Config>>>,
}

impl std::fmt::Debug for CliActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CliActions")
    }
}

impl Actions for CliActions {
    fn run(
        &self,
        request: RunRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'_, Result<RunCounts, ActionError>> {
        let config = Arc::clone(&self.config.lock().unwrap_or_else(PoisonError::into_inner));
        Box::pin(async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let job = Job {
                request,
                cancel,
                config,
                reply,
            };
            if self.jobs.send(Message::Job(Box::new(job))).is_err() {
                return Err(ActionError::permanent("the action runner has stopped"));
            }
            answer.await.unwrap_or_else(|_| {
                Err(ActionError::failed(
                    "the action ended without an answer (its thread stopped)",
                ))
            })
        })
    }
}

/// One attempt of one schedule, with the CLI's own code. Checkpoints (where a shutdown
/// stops the run) are between systems and between targets: each pull of a system and each
/// sync of a target is left to finish, and the sync journals every write.
fn execute(
    cx: &CommandContext<'_>,
    request: &RunRequest,
    cancel: &CancelToken,
) -> Result<RunCounts, ActionError> {
    let config = &request.config;
    let mut counts = RunCounts::default();
    match config.action {
        ActionKind::Pull => {
            let names = if config.systems.is_empty() {
                let systems = cx.systems().map_err(action_error)?;
                systems.names().iter().map(|n| n.to_string()).collect()
            } else {
                config.systems.clone()
            };
            if names.is_empty() {
                return Err(ActionError::permanent(
                    "no systems to pull from; add [[system]] entries to the configuration",
                ));
            }
            for (done, name) in names.iter().enumerate() {
                if cancel.is_cancelled() {
                    return Err(stopped(done, names.len(), "systems").with_counts(counts));
                }
                let pulled = pull_systems(cx, std::slice::from_ref(name), &[], false, true)
                    .map_err(|e| action_error(e).with_counts(counts))?;
                for p in &pulled {
                    counts += pulled_counts(p);
                    if let Pulled::Api(report) = p {
                        for w in &report.warnings {
                            tracing::warn!(schedule = %config.name, system = %name, "{w}");
                        }
                    }
                }
            }
            Ok(counts)
        }
        ActionKind::Sync => {
            let names = if config.targets.is_empty() {
                let systems = cx.systems().map_err(action_error)?;
                systems
                    .iter()
                    .filter(|s| s.is_target())
                    .map(|s| s.name().to_string())
                    .collect()
            } else {
                config.targets.clone()
            };
            if names.is_empty() {
                return Err(ActionError::permanent(
                    "no sync targets configured: give a system `write = [\"risk\"]`",
                ));
            }
            let mut failed_targets = Vec::new();
            for (done, name) in names.iter().enumerate() {
                if cancel.is_cancelled() {
                    return Err(stopped(done, names.len(), "targets").with_counts(counts));
                }
                let report = sync_targets(cx, Some(name), SYNC_CONCURRENCY, None, &|_| {})
                    .map_err(|e| action_error(e).with_counts(counts))?;
                counts += RunCounts {
                    pulled: 0,
                    written: report.created + report.updated,
                    conflicts: report.conflicts + report.refused,
                    failed: report.failed,
                };
                if report.failed > 0 {
                    failed_targets.push(format!("{} to {name}", report.failed));
                }
            }
            if failed_targets.is_empty() {
                Ok(counts)
            } else {
                // Retrying is safe: the journal lets the next attempt settle what this one
                // left open before it writes again.
                Err(ActionError::failed(format!(
                    "writes failed ({}); see `imsbridge journal`",
                    failed_targets.join(", ")
                ))
                .with_counts(counts))
            }
        }
        ActionKind::AuditPack => {
            let Some(out) = &config.out else {
                return Err(ActionError::permanent(
                    "an audit-pack schedule needs `out`, the folder the pack is written to",
                ));
            };
            // Relative to the configuration file, like every path in it.
            let out = cx.config.base_dir.join(out);
            let summary = super::audit_pack::write(cx, &config.standards, None, None, None, &out)
                .map_err(action_error)?;
            counts.written = u64::try_from(summary.files.len()).unwrap_or(u64::MAX);
            Ok(counts)
        }
    }
}

fn stopped(done: usize, of: usize, what: &str) -> ActionError {
    ActionError::cancelled(format!(
        "stopped by the shutdown after {done} of {of} {what}"
    ))
}

fn pulled_counts(pulled: &Pulled) -> RunCounts {
    let (imported, updated, unchanged, rejected) = match pulled {
        Pulled::Api(r) => (r.imported, r.updated, r.unchanged, r.rejected),
        Pulled::Files {
            imported,
            updated,
            unchanged,
            rejected,
            ..
        } => (*imported, *updated, *unchanged, *rejected),
    };
    RunCounts {
        pulled: imported + updated + unchanged + rejected,
        written: imported + updated,
        conflicts: 0,
        failed: rejected,
    }
}

/// The error chain on one line, as the CLI prints it; configuration mistakes are not
/// retried, since a retry would meet them again.
fn action_error(e: anyhow::Error) -> ActionError {
    let message = format!("{e:#}");
    let permanent = e.chain().any(|cause| {
        cause.downcast_ref::<UsageError>().is_some()
            || matches!(
                cause.downcast_ref::<imsbridge_connector::ConfigError>(),
                Some(c) if !matches!(c, imsbridge_connector::ConfigError::SecretFile { .. })
            )
    });
    if permanent {
        ActionError::permanent(message)
    } else {
        ActionError::failed(message)
    }
}

pub fn runs(cx: &CommandContext<'_>, args: &RunsArgs) -> anyhow::Result<u8> {
    let store = cx.open_store()?;
    let runs = store.schedule_runs(args.schedule.as_deref(), args.limit)?;
    match cx.cli.global.format {
        Format::Json => print_json(&runs)?,
        format => {
            let mut t = Table::new([
                "id",
                "schedule",
                "action",
                "fire (UTC)",
                "try",
                "started (UTC)",
                "took",
                "outcome",
                "pulled",
                "written",
                "conflicts",
                "failed",
                "error",
            ]);
            for r in &runs {
                t.row([
                    r.id.to_string(),
                    r.schedule.clone(),
                    r.action.clone(),
                    utc(r.fire_at),
                    r.attempt.to_string(),
                    utc(r.started_at),
                    took(r),
                    r.outcome.map_or("running", RunOutcome::as_str).to_string(),
                    r.counts.pulled.to_string(),
                    r.counts.written.to_string(),
                    r.counts.conflicts.to_string(),
                    r.counts.failed.to_string(),
                    r.error.clone().unwrap_or_default(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!("no scheduled runs yet; `imsbridge serve` runs the [[schedule]] entries");
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn in_zone(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn took(r: &RunRecord) -> String {
    match r.finished_at {
        Some(end) => {
            let ms = (end - r.started_at).num_milliseconds().max(0);
            match ms {
                0..1000 => format!("{ms}ms"),
                1000..10_000 => format!("{:.1}s", ms as f64 / 1000.0),
                _ => format!("{}s", ms / 1000),
            }
        }
        None => String::new(),
    }
}

/// One schedule as `schedules` shows it.
#[derive(Debug, Serialize)]
struct ScheduleView {
    name: String,
    action: &'static str,
    cron: String,
    timezone: String,
    enabled: bool,
    missed: &'static str,
    retries: u32,
    retry_backoff_secs: u64,
    systems: Vec<String>,
    targets: Vec<String>,
    next: Vec<NextFire>,
    last_run: Option<RunRecord>,
    last_success_at: Option<DateTime<Utc>>,
    /// Held by a server running the schedule now.
    lock: Option<imsbridge_store::ScheduleLock>,
}

#[derive(Debug, Serialize)]
struct NextFire {
    local: String,
    utc: DateTime<Utc>,
}

pub fn schedules(cx: &CommandContext<'_>, args: &SchedulesArgs) -> anyhow::Result<u8> {
    let schedules = load_schedules(cx)?;
    let store = cx.open_store()?;
    let totals = store.run_totals()?;
    let now = Utc::now();
    let mut views = Vec::new();
    for s in &schedules {
        let c = &s.config;
        let last_success_at = totals
            .iter()
            .find(|t| t.schedule == c.name && t.outcome == RunOutcome::Succeeded)
            .map(|t| t.last_at);
        views.push(ScheduleView {
            name: c.name.clone(),
            action: c.action.as_str(),
            cron: c.cron.clone(),
            timezone: c.timezone.clone(),
            enabled: c.enabled,
            missed: c.missed.as_str(),
            retries: c.retries,
            retry_backoff_secs: c.retry_backoff_secs,
            systems: c.systems.clone(),
            targets: c.targets.clone(),
            next: if c.enabled {
                s.upcoming(now, args.next)
                    .into_iter()
                    .map(|t| NextFire {
                        local: in_zone(t, s.zone()),
                        utc: t,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            last_run: store.last_schedule_run(&c.name, &[])?,
            last_success_at,
            lock: store
                .schedule_lock(&c.name)?
                .filter(|lock| lock.expires_at > now),
        });
    }
    match cx.cli.global.format {
        Format::Json => print_json(&views)?,
        format => {
            let mut t = Table::new([
                "schedule",
                "action",
                "cron",
                "next (local)",
                "next (UTC)",
                "last run (UTC)",
                "outcome",
                "last success (UTC)",
            ]);
            for v in &views {
                let (when, outcome) = match &v.last_run {
                    Some(r) => (
                        utc(r.started_at),
                        r.outcome.map_or("running", RunOutcome::as_str).to_string(),
                    ),
                    None => ("never".to_string(), String::new()),
                };
                let outcome = match &v.lock {
                    Some(lock) => format!(
                        "{outcome} (running on pid {} on {})",
                        lock.owner.pid, lock.owner.host
                    ),
                    None => outcome,
                };
                let mut next = v.next.iter();
                let first = next.next();
                t.row([
                    v.name.clone(),
                    v.action.to_string(),
                    format!("{} {}", v.cron, v.timezone),
                    first.map_or_else(
                        || if v.enabled { "never" } else { "disabled" }.to_string(),
                        |n| n.local.clone(),
                    ),
                    first.map(|n| utc(n.utc)).unwrap_or_default(),
                    when,
                    outcome,
                    v.last_success_at.map(utc).unwrap_or_else(|| "never".into()),
                ]);
                for n in next {
                    t.row([
                        String::new(),
                        String::new(),
                        String::new(),
                        n.local.clone(),
                        utc(n.utc),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]);
                }
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!(
                    "no schedules; add [[schedule]] entries to {}",
                    config_name(cx).display()
                );
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}

/// `--listen` values: an address with a port.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>().map_err(|_| {
        format!("`{text}` is not an address with a port, such as 127.0.0.1:9481 or [::1]:9481")
    })
}
