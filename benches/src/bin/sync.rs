//! Sync benchmark: pushes N AI-flagged risks from a store to a fake CISO Assistant with the real
//! connector and sync engine, and times the first sync one item at a time, the first sync 8
//! at a time, and an unchanged re-sync, printing items/s, requests by method and peak RSS.
//!
//! ```text
//! cargo run --release -p imsbridge-bench --bin sync -- [--risks 10000] [--latency-ms 2] [--page-size N] [--dir DIR]
//! ```
//!
//! The fake server (`imsbridge_e2e::fake_ciso`) runs in this process, on loopback, with the
//! given latency on every answer. Each phase runs in a child process of its own, so that its
//! peak RSS (VmHWM) is the sync's own, not the server's or the store generator's. Exits
//! non-zero when a phase does not leave exactly N scenarios with distinct `ref_id`s, or when
//! the unchanged re-sync writes anything.

use imsbridge_bench::peak_rss_kib;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{NaiveDate, Utc};
use imsbridge_connector::{Credentials, SystemEntry, correlation_id, env_lookup};
use imsbridge_connector_ciso_assistant::CisoAssistant;
use imsbridge_e2e::fake_ciso::{
    ACTORS, FOLDER_NAME, FakeCiso, FakeOptions, PERIMETER_NAME, RISK_ASSESSMENT_NAME, RequestCounts,
};
use imsbridge_model::{
    AiFlag, AiRiskCategory, ClauseRef, Dates, Details, Provenance, Record, RecordId, RecordKind,
    RiskDetails, RiskRating, ScaleValue, StandardId, Treatment,
};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store};
use imsbridge_sync::{ApplyOptions, TargetRef, apply, make_plan};

// The same allocator as the `imsbridge` binary, so that the figures are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The variable the child phases read the fake's token from (never on a command line).
const TOKEN_ENV: &str = "IMSBRIDGE_BENCH_CA_TOKEN";
/// The register the generated risks say they were imported from.
const SOURCE: &str = "ai-risk-register.xlsx";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("phase") {
        return run_phase(&args[1..]);
    }
    let mut risks = 10_000usize;
    let mut latency_ms = 2u64;
    let mut page_size: Option<u32> = None;
    let mut dir: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--risks" => risks = value()?.parse()?,
            "--latency-ms" => latency_ms = value()?.parse()?,
            "--page-size" => page_size = Some(value()?.parse()?),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            other => bail!(
                "unknown argument {other}; expected --risks N, --latency-ms MS, --page-size N, --dir DIR"
            ),
        }
    }
    ensure!(risks > 0, "--risks must be at least 1");
    // A temporary directory unless one is given (to keep the stores for a look afterwards).
    let temp = tempfile::tempdir()?;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => temp.path().to_path_buf(),
    };
    let latency = Duration::from_millis(latency_ms);

    println!(
        "imsbridge sync benchmark ({} cores): {risks} AI risks → fake CISO Assistant, {latency_ms} ms per answer, page size {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        page_size.map_or_else(|| "default".to_string(), |p| p.to_string())
    );
    let base = dir.join("base.db");
    remove_store(&base);
    let started = Instant::now();
    build_store(&base, risks)?;
    println!(
        "  store: {risks} records generated and imported in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let options = FakeOptions {
        latency,
        ..FakeOptions::default()
    };
    // Phase A: a fresh server and a fresh copy of the store, one item at a time.
    let fake_a = FakeCiso::start(options.clone());
    let store_a = copy_store(&base, &dir.join("a.db"))?;
    let a = phase(&fake_a, &store_a, 1, page_size)?;
    check_first_sync("A", &a, &fake_a, risks)?;
    drop(fake_a);

    // Phase B: the same from scratch, 8 at a time.
    let fake_b = FakeCiso::start(options);
    let store_b = copy_store(&base, &dir.join("b.db"))?;
    let b = phase(&fake_b, &store_b, 8, page_size)?;
    check_first_sync("B", &b, &fake_b, risks)?;

    // Phase C: plan and apply again on B's state; nothing changed on either side.
    let c = phase(&fake_b, &store_b, 8, page_size)?;

    println!(
        "\n  {:<28} {:>6} {:>8} {:>8} {:>8} {:>9} {:>6} {:>6} {:>6} {:>6} {:>10}",
        "phase",
        "items",
        "plan s",
        "apply s",
        "total s",
        "items/s",
        "GET",
        "POST",
        "PATCH",
        "other",
        "peak RSS"
    );
    for (name, m) in [
        ("A  first sync, concurrency 1", &a),
        ("B  first sync, concurrency 8", &b),
        ("C  unchanged re-sync", &c),
    ] {
        println!(
            "  {name:<28} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>9.0} {:>6} {:>6} {:>6} {:>6} {:>6.1} MiB",
            m.items,
            m.plan_s,
            m.apply_s,
            m.total_s(),
            m.items as f64 / m.total_s().max(1e-9),
            m.requests.get,
            m.requests.post,
            m.requests.patch,
            m.requests.other,
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    println!(
        "  A/B: concurrency 8 is {:.2}× faster than concurrency 1 ({:.2} s → {:.2} s)",
        a.total_s() / b.total_s().max(1e-9),
        a.total_s(),
        b.total_s()
    );
    println!(
        "  C/B: the unchanged re-sync takes {:.2}× the first sync",
        c.total_s() / b.total_s().max(1e-9)
    );
    println!(
        "  fake server and harness (this process): peak RSS {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );

    check_resync(&c, &fake_b, risks)?;
    println!(
        "  check: C planned {} noop / 0 create / 0 update, sent {} GET list reads and no write; {} scenarios remote, no ref_id twice → ok",
        c.plan_noop,
        c.requests.get,
        fake_b.scenario_count()
    );
    Ok(())
}

/// What one phase measured: the child's figures and the server's request counts.
#[derive(Debug)]
struct Measured {
    items: u64,
    plan_s: f64,
    apply_s: f64,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    conflicts: u64,
    refused: u64,
    plan_create: u64,
    plan_update: u64,
    plan_noop: u64,
    plan_conflict: u64,
    plan_skipped: u64,
    peak_rss_kib: u64,
    requests: RequestCounts,
    /// Requests that were not a GET of a listing.
    non_list_requests: Vec<String>,
}

impl Measured {
    fn total_s(&self) -> f64 {
        self.plan_s + self.apply_s
    }
}

/// Runs one plan + apply in a child process against `fake`, counting the server's requests.
fn phase(
    fake: &FakeCiso,
    store: &Path,
    concurrency: usize,
    page_size: Option<u32>,
) -> anyhow::Result<Measured> {
    fake.reset_counts();
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("phase")
        .arg(store)
        .arg(fake.base_url())
        .arg(concurrency.to_string())
        .arg(page_size.map_or_else(|| "default".to_string(), |p| p.to_string()))
        .env(TOKEN_ENV, fake.token())
        .output()?;
    if !out.status.success() {
        bail!(
            "the sync phase (concurrency {concurrency}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let [
        items,
        plan_us,
        apply_us,
        created,
        updated,
        unchanged,
        failed,
        conflicts,
        refused,
        plan_create,
        plan_update,
        plan_noop,
        plan_conflict,
        plan_skipped,
        peak_rss_kib,
    ] = fields.as_slice()
    else {
        bail!("the sync phase printed {text:?}");
    };
    let non_list_requests = fake
        .request_log()
        .into_iter()
        .filter(|r| {
            let scenario_detail = r
                .target
                .strip_prefix("/api/risk-scenarios/")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('?'));
            r.method != "GET" || scenario_detail
        })
        .map(|r| format!("{} {} → {}", r.method, r.target, r.status))
        .collect();
    Ok(Measured {
        items: *items,
        plan_s: *plan_us as f64 / 1e6,
        apply_s: *apply_us as f64 / 1e6,
        created: *created,
        updated: *updated,
        unchanged: *unchanged,
        failed: *failed,
        conflicts: *conflicts,
        refused: *refused,
        plan_create: *plan_create,
        plan_update: *plan_update,
        plan_noop: *plan_noop,
        plan_conflict: *plan_conflict,
        plan_skipped: *plan_skipped,
        peak_rss_kib: *peak_rss_kib,
        requests: fake.request_counts(),
        non_list_requests,
    })
}

/// The remote state every phase must leave: exactly `risks` scenarios, no `ref_id` twice.
fn check_remote(label: &str, fake: &FakeCiso, risks: usize) -> anyhow::Result<()> {
    let remote = fake.scenario_count();
    ensure!(
        remote == risks,
        "phase {label}: {remote} scenarios in the fake CISO Assistant, expected {risks}"
    );
    let dups = fake.duplicate_ref_ids();
    ensure!(
        dups.is_empty(),
        "phase {label}: {} ref_ids are held by more than one scenario, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    Ok(())
}

fn check_first_sync(
    label: &str,
    m: &Measured,
    fake: &FakeCiso,
    risks: usize,
) -> anyhow::Result<()> {
    let n = risks as u64;
    ensure!(
        m.plan_create == n && m.plan_skipped == 0,
        "phase {label}: planned {} creates and skipped {} of {n} risks",
        m.plan_create,
        m.plan_skipped
    );
    ensure!(
        m.created == n && m.failed + m.refused + m.conflicts == 0,
        "phase {label}: created {}, failed {}, refused {}, conflicts {} (of {n})",
        m.created,
        m.failed,
        m.refused,
        m.conflicts
    );
    ensure!(
        m.requests.post == n,
        "phase {label}: {} POSTs for {n} creates",
        m.requests.post
    );
    check_remote(label, fake, risks)
}

fn check_resync(m: &Measured, fake: &FakeCiso, risks: usize) -> anyhow::Result<()> {
    let n = risks as u64;
    ensure!(
        m.plan_noop == n && m.plan_create + m.plan_update + m.plan_conflict == 0,
        "phase C: the unchanged re-sync planned {} create, {} update, {} conflict, {} noop",
        m.plan_create,
        m.plan_update,
        m.plan_conflict,
        m.plan_noop
    );
    ensure!(
        m.created + m.updated + m.failed == 0 && m.unchanged == n,
        "phase C: apply created {}, updated {}, failed {}, left {} unchanged",
        m.created,
        m.updated,
        m.failed,
        m.unchanged
    );
    ensure!(
        m.requests.writes() == 0 && m.non_list_requests.is_empty(),
        "phase C: the unchanged re-sync sent {} POST, {} PATCH, {} other; requests besides list reads: {:?}",
        m.requests.post,
        m.requests.patch,
        m.requests.other,
        m.non_list_requests.iter().take(5).collect::<Vec<_>>()
    );
    check_remote("C", fake, risks)
}

/// Runs one phase in this (child) process and prints its figures on one line.
fn run_phase(args: &[String]) -> anyhow::Result<()> {
    let [store, url, concurrency, page_size] = args else {
        bail!("phase STORE URL CONCURRENCY PAGE_SIZE")
    };
    let concurrency: usize = concurrency.parse()?;
    let page_size: Option<u32> = page_size.parse().ok();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(sync_once(Path::new(store), url, concurrency, page_size))?;
    let line: Vec<String> = figures
        .iter()
        .chain(std::iter::once(&peak_rss_kib()))
        .map(u64::to_string)
        .collect();
    println!("{}", line.join(" "));
    Ok(())
}

/// The `[[system]]` entry of the fake server, as a user would write it.
fn system_entry(
    url: &str,
    concurrency: usize,
    page_size: Option<u32>,
) -> anyhow::Result<SystemEntry> {
    let owners: Vec<String> = OWNERS
        .iter()
        .zip(ACTORS.iter())
        .map(|(name, (actor, _))| format!("{name:?} = {actor:?}"))
        .collect();
    let mut text = format!(
        "name = \"ca\"\n\
         type = \"ciso-assistant\"\n\
         base_url = {url:?}\n\
         token_env = {TOKEN_ENV:?}\n\
         write = [\"risk\"]\n\
         concurrency = {concurrency}\n\
         timeout_secs = 120\n\
         folder = {FOLDER_NAME:?}\n\
         perimeter = {PERIMETER_NAME:?}\n\
         risk_assessment = {RISK_ASSESSMENT_NAME:?}\n\
         owner_actors = {{ {} }}\n",
        owners.join(", ")
    );
    if let Some(p) = page_size {
        text.push_str(&format!("page_size = {p}\n"));
    }
    let table: toml::Table = toml::from_str(&text)?;
    Ok(SystemEntry::split(0, table)?)
}

/// Plans and applies once; returns the items, the two durations (µs) and the outcomes.
async fn sync_once(
    store: &Path,
    url: &str,
    concurrency: usize,
    page_size: Option<u32>,
) -> anyhow::Result<Vec<u64>> {
    let mut store = Store::open(store)?;
    let entry = system_entry(url, concurrency, page_size)?;
    let credentials = Credentials::resolve(&entry.common, &env_lookup)?;
    let connector = CisoAssistant::from_entry(&entry, credentials)?;
    let targets = [TargetRef {
        name: &entry.common.name,
        connector: &entry.common.connector,
        policy: entry.common.conflict,
        kinds: vec![RecordKind::Risk],
        target: &connector,
    }];
    let started = Instant::now();
    let plan = make_plan(&store, &targets).await?;
    let plan_us = started.elapsed().as_micros() as u64;
    let options = ApplyOptions {
        concurrency,
        ..ApplyOptions::default()
    };
    let started = Instant::now();
    let report = apply(&mut store, &plan, &targets, &options, &|_| {}).await?;
    let apply_us = started.elapsed().as_micros() as u64;
    if let Some(failed) = report
        .items
        .iter()
        .find(|i| i.message.is_some() && i.remote_id.is_none())
    {
        eprintln!("first item without a remote record: {failed:?}");
    }
    Ok(vec![
        plan.items.len() as u64,
        plan_us,
        apply_us,
        report.created,
        report.updated,
        report.unchanged,
        report.failed,
        report.conflicts,
        report.refused,
        plan.summary.create,
        plan.summary.update,
        plan.summary.noop,
        plan.summary.conflict,
        plan.summary.skipped,
    ])
}

// ---------------------------------------------------------------------------------------------
// The generated register
// ---------------------------------------------------------------------------------------------

const THREATS: [(&str, AiRiskCategory); 12] = [
    (
        "Training-data bias leads to discriminatory decisions",
        AiRiskCategory::Fairness,
    ),
    (
        "Model drift degrades prediction quality",
        AiRiskCategory::Robustness,
    ),
    (
        "Prompt injection overrides system instructions",
        AiRiskCategory::Security,
    ),
    (
        "Personal data leaks through model outputs",
        AiRiskCategory::Privacy,
    ),
    (
        "Third-party model supplier fails",
        AiRiskCategory::Accountability,
    ),
    (
        "Model inversion reveals training records",
        AiRiskCategory::Privacy,
    ),
    (
        "Poisoned fine-tuning data plants a backdoor",
        AiRiskCategory::DataQuality,
    ),
    (
        "Hallucinated answers mislead customers",
        AiRiskCategory::Safety,
    ),
    (
        "Unexplainable decisions cannot be contested",
        AiRiskCategory::Transparency,
    ),
    (
        "Adversarial inputs evade detection",
        AiRiskCategory::Robustness,
    ),
    (
        "Mislabelled training data skews results",
        AiRiskCategory::DataQuality,
    ),
    (
        "Staff rely on outputs without review",
        AiRiskCategory::Accountability,
    ),
];

const SYSTEMS: [&str; 10] = [
    "customer assistant",
    "credit scoring model",
    "fraud detection model",
    "CV screening model",
    "demand forecast",
    "claims triage model",
    "document summariser",
    "recommendation engine",
    "voice authentication",
    "churn prediction model",
];

const CONSEQUENCES: [&str; 6] = [
    "regulatory fines and complaints",
    "wrong decisions about customers",
    "loss of customer trust",
    "disclosure of confidential data",
    "service outage during peak hours",
    "rework of a release",
];

/// Owner names, each mapped to one of the fake's actors in the system entry.
const OWNERS: [&str; 6] = [
    "Head of Data Science",
    "Dana Okafor",
    "Lars Berg",
    "Mei Tanaka",
    "Rafael Ortiz",
    "Sofia Lindqvist",
];

const TREATMENTS: [&str; 5] = ["Mitigate", "Mitigate", "Accept", "Transfer", "Avoid"];

const PLANS: [&str; 5] = [
    "Quarterly fairness testing with signed-off thresholds",
    "Drift monitoring with automatic rollback",
    "Input/output guardrails and a tool-call allow-list",
    "Human review of every declined application",
    "Contractual SLA and a fallback model",
];

/// A small deterministic generator (xorshift64*): the same register every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A rating on the 1–5 scale (the `1-5` mapping: value k → normalised k).
fn rated(value: usize) -> ScaleValue {
    ScaleValue {
        raw: value.to_string(),
        scale: "1-5".into(),
        value: value as f64,
        normalised: value as f64,
    }
}

fn rating(likelihood: usize, impact: usize) -> RiskRating {
    let score = likelihood * impact;
    RiskRating {
        likelihood: Some(rated(likelihood)),
        impact: Some(rated(impact)),
        score: Some(ScaleValue {
            raw: score.to_string(),
            scale: "score-1-25".into(),
            value: score as f64,
            normalised: score as f64,
        }),
    }
}

fn risk_record(i: usize, rng: &mut Rng) -> Record {
    let (threat, category) = rng.pick(&THREATS);
    let system = rng.pick(&SYSTEMS);
    let external_id = format!("AI-R-{i:05}");
    let likelihood = rng.below(5) + 1;
    let impact = rng.below(5) + 1;
    // Treatment lowers the likelihood or the impact, never raises them.
    let residual_l = likelihood - rng.below(likelihood);
    let residual_i = impact - rng.below(impact.min(2));
    let treatment = Treatment::parse(rng.pick(&TREATMENTS)).ok();
    let identified = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.below(300) as u64)));
    let mut record = Record {
        id: RecordId::from_source(SOURCE, RecordKind::Risk, &external_id),
        provenance: Provenance {
            system: SOURCE.into(),
            connector: "spreadsheet".into(),
            external_id: external_id.clone(),
            location: format!("{SOURCE}!Risks!A{}", i + 1),
            imported_at: Utc::now(),
            content_hash: String::new(),
        },
        title: format!("{threat} ({system})"),
        description: Some(format!(
            "{threat} in the {system}, which could cause {}.",
            rng.pick(&CONSEQUENCES)
        )),
        owner: Some(rng.pick(&OWNERS).to_string()),
        status: None,
        dates: Dates {
            identified,
            ..Dates::default()
        },
        clauses: vec![
            ClauseRef::new(StandardId::Iso42001, "6.1.2"),
            ClauseRef::new(StandardId::Iso42001, "8.2"),
        ],
        hs: vec![],
        ai: AiFlag {
            flagged: true,
            categories: vec![category],
            reason: Some("ISO/IEC 42001 clause reference".into()),
        },
        details: Details::Risk(Box::new(RiskDetails {
            category: Some(category.as_str().to_string()),
            inherent: rating(likelihood, impact),
            residual: rating(residual_l, residual_i),
            treatment,
            treatment_plan: Some(rng.pick(&PLANS).to_string()),
        })),
        extra: Default::default(),
    };
    record.seal();
    record
}

/// Writes `n` AI-flagged risks into a new store at `path`, each with its own correlation id
/// (`IMSB-` + 8 hex digits of the record id: rows whose ids would share one are skipped, so
/// that the count of remote records is exactly `n`).
fn build_store(path: &Path, n: usize) -> anyhow::Result<()> {
    let mut store = Store::open(path)?;
    let run = ImportRunStart::new(SOURCE, SOURCE, "spreadsheet");
    let mut import = store.begin_import(&run)?;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while seen.len() < n {
        i += 1;
        let record = risk_record(i, &mut rng);
        if seen.insert(correlation_id(&record)) {
            import.upsert(&record)?;
        }
    }
    import.commit(&ImportRunSummary::default())?;
    Ok(())
}

fn copy_store(from: &Path, to: &Path) -> anyhow::Result<PathBuf> {
    remove_store(to);
    for suffix in ["", "-wal", "-shm"] {
        let source = PathBuf::from(format!("{}{suffix}", from.display()));
        if source.exists() {
            std::fs::copy(&source, format!("{}{suffix}", to.display()))
                .with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(to.to_path_buf())
}

fn remove_store(store: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
}
