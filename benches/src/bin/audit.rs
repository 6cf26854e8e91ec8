//! Audit-pack benchmark: generates N records over ISO/IEC 27001, ISO 9001 and ISO/IEC 42001
//! from three source systems into a store, then times, in the same run and on the same store,
//! reading every record (the baseline) against a full `audit-pack` (read, build, write all
//! five files), printing rows/s, the ratio and each phase's peak RSS.
//!
//! ```text
//! cargo run --release -p imsbridge-bench --bin audit -- [--records 100000] [--runs 3] [--dir DIR]
//! ```
//!
//! With `RUST_LOG=imsbridge_audit=debug` the pack phase also prints how long each of its
//! steps took (reading and building, each file).
//!
//! Each phase runs in a child process of its own, so that its peak RSS (VmHWM) is its own and
//! not the generator's. Exits non-zero when the pack does not count every record.

use imsbridge_bench::{cpu_millis, peak_rss_kib};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use chrono::{NaiveDate, TimeZone, Utc};
use imsbridge_audit::{PackOptions, run};
use imsbridge_mappings::{ClauseKind, Mappings};
use imsbridge_model::{
    AiFlag, AuditFindingDetails, ClauseRef, Conformity, ControlDetails, Dates, Details,
    DocumentDetails, FindingType, ImplementationStatus, NonconformityDetails, Provenance, Record,
    RecordId, RecordKind, RequirementAssessmentDetails, RiskDetails, RiskRating, ScaleValue,
    StandardId, Status, Treatment,
};
use imsbridge_store::{ImportRunStart, ImportRunSummary, RecordFilter, Store};

// The same allocator as the `imsbridge` binary, so that the figures are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STANDARDS: [StandardId; 3] = [
    StandardId::Iso27001,
    StandardId::Iso9001,
    StandardId::Iso42001,
];
const SYSTEMS: [&str; 3] = ["isms-soa.xlsx", "qms-capa.csv", "ai-risk-register.xlsx"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("phase") {
        return run_phase(&args[1..]);
    }
    let mut records = 100_000usize;
    let mut runs = 3usize;
    let mut dir: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => records = value()?.parse()?,
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--runs" => runs = value()?.parse()?,
            other => bail!("unknown argument {other}; expected --records N, --runs N or --dir DIR"),
        }
    }
    ensure!(records > 0, "--records must be at least 1");
    ensure!(runs > 0, "--runs must be at least 1");
    let temp = tempfile::tempdir()?;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => temp.path().to_path_buf(),
    };
    println!(
        "imsbridge audit-pack benchmark ({} cores): {records} records over iso27001, iso9001, iso42001 from 3 systems",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let store = dir.join("audit.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    let started = Instant::now();
    build_store(&store, records)?;
    println!(
        "  store: {records} records generated and imported in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let out = dir.join("pack");
    let _ = std::fs::remove_dir_all(&out);

    // Phases alternate, so that a change in the machine's load during the run touches both
    // alike; each figure is the median of the runs.
    let mut reads = Vec::new();
    let mut packs = Vec::new();
    for _ in 0..runs {
        reads.push(phase(&["read", &store.display().to_string()])?);
        // A fresh folder each time: every run writes a first pack (no trend base to read).
        let _ = std::fs::remove_dir_all(&out);
        packs.push(phase(&[
            "pack",
            &store.display().to_string(),
            &out.display().to_string(),
        ])?);
    }
    for m in reads.iter().chain(&packs) {
        ensure!(
            m.rows == records as u64,
            "a phase counted {} records, expected {records}",
            m.rows
        );
    }
    let read = median(&reads);
    let pack = median(&packs);

    println!(
        "\n  {:<40} {:>8} {:>8} {:>8} {:>10} {:>8} {:>10}",
        format!("phase (median of {runs} runs)"),
        "rows",
        "time s",
        "min s",
        "rows/s",
        "CPU s",
        "peak RSS"
    );
    for (name, m, all) in [
        ("baseline: read every record", &read, &reads),
        ("audit pack: read + build + write", &pack, &packs),
    ] {
        let fastest = all.iter().map(|m| m.total_s).fold(f64::INFINITY, f64::min);
        println!(
            "  {name:<40} {:>8} {:>8.2} {:>8.2} {:>10.0} {:>8.2} {:>6.1} MiB",
            m.rows,
            m.total_s,
            fastest,
            m.rows as f64 / m.total_s.max(1e-9),
            m.cpu_s,
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    let ratio = pack.total_s / read.total_s.max(1e-9);
    println!(
        "  ratio: the pack takes {ratio:.2}× reading the records (target ≤ 3×: {}); CPU time {:.2}×",
        if ratio <= 3.0 { "met" } else { "not met" },
        pack.cpu_s / read.cpu_s.max(1e-9)
    );
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(&out)? {
        let entry = entry?;
        sizes.push(format!(
            "{} {:.1} MiB",
            entry.file_name().to_string_lossy(),
            entry.metadata()?.len() as f64 / (1024.0 * 1024.0)
        ));
    }
    sizes.sort();
    println!("  files: {}", sizes.join(", "));
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    rows: u64,
    total_s: f64,
    /// CPU time of all the phase's threads: on a machine shared with other work, wall times
    /// move more than this.
    cpu_s: f64,
    peak_rss_kib: u64,
}

/// The run with the median wall time (the lower middle one for an even count); its CPU time
/// goes with it, and the peak RSS is the highest of all runs.
fn median(runs: &[Measured]) -> Measured {
    let mut sorted: Vec<&Measured> = runs.iter().collect();
    sorted.sort_by(|a, b| a.total_s.total_cmp(&b.total_s));
    let middle = sorted[(sorted.len() - 1) / 2];
    Measured {
        peak_rss_kib: runs.iter().map(|m| m.peak_rss_kib).max().unwrap_or(0),
        ..*middle
    }
}

fn phase(args: &[&str]) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe()?;
    // stderr passes through, so the phase's debug log (RUST_LOG) shows.
    let out = Command::new(exe)
        .arg("phase")
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!(
            "the {} phase failed (its error is above)",
            args.first().copied().unwrap_or_default()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let [rows, total_us, cpu_millis, peak_rss_kib] = fields.as_slice() else {
        bail!("the phase printed {text:?}");
    };
    Ok(Measured {
        rows: *rows,
        total_s: *total_us as f64 / 1e6,
        cpu_s: *cpu_millis as f64 / 1e3,
        peak_rss_kib: *peak_rss_kib,
    })
}

/// A child phase: prints `rows micros cpu_millis peak_rss_kib`.
fn run_phase(args: &[String]) -> anyhow::Result<()> {
    let (what, store) = match args {
        [what, store, ..] => (what.as_str(), PathBuf::from(store)),
        _ => bail!("phase needs a name and a store"),
    };
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let store = Store::open(&store)?;
    let cpu_before = cpu_millis();
    let started = Instant::now();
    let rows = match what {
        "read" => {
            let mut rows = 0u64;
            store.for_each_record(&RecordFilter::default(), |r| {
                rows += 1;
                std::hint::black_box(&r);
                Ok::<(), imsbridge_store::StoreError>(())
            })?;
            rows
        }
        "pack" => {
            let out = PathBuf::from(args.get(2).context("pack needs an output folder")?);
            let mappings = Mappings::embedded()?;
            // Exactly what `imsbridge audit-pack` runs.
            let options = PackOptions::new(STANDARDS.to_vec(), now());
            run(&store, &mappings, options, &out)?.records
        }
        other => bail!("unknown phase {other}"),
    };
    let us = started.elapsed().as_micros();
    println!(
        "{rows} {us} {} {}",
        cpu_millis().saturating_sub(cpu_before),
        peak_rss_kib()
    );
    Ok(())
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// A small deterministic generator (xorshift64*): the same registers every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn score(n: f64) -> RiskRating {
    RiskRating {
        likelihood: None,
        impact: None,
        score: Some(ScaleValue {
            raw: n.to_string(),
            scale: "score-1-25".into(),
            value: n,
            normalised: n,
        }),
    }
}

/// Every listed clause of each standard that records reference (no headings), plus annex
/// controls below the listed themes, as registers name them.
fn clause_pools(mappings: &Mappings) -> Vec<Vec<String>> {
    STANDARDS
        .iter()
        .map(|s| {
            let mut pool: Vec<String> = mappings
                .standard(*s)
                .map(|m| {
                    m.clauses()
                        .iter()
                        .filter(|c| c.kind != ClauseKind::Group)
                        .map(|c| c.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            if *s == StandardId::Iso27001 {
                for theme in 5..=8 {
                    for n in 1..=30 {
                        pool.push(format!("A.{theme}.{n}"));
                    }
                }
            }
            pool
        })
        .collect()
}

fn record(i: usize, rng: &mut Rng, mappings: &Mappings, pools: &[Vec<String>]) -> Record {
    let s = i % 3;
    let standard = STANDARDS[s];
    let system = SYSTEMS[s];
    let day = |rng: &mut Rng| {
        NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(rng.below(1000) as u64)))
    };
    let open = rng.below(3) > 0;
    let status = Status::from_label(if open { "Open" } else { "Closed" });
    let mut clauses = vec![ClauseRef::new(standard, rng.pick(&pools[s]).clone())];
    if rng.below(4) == 0 {
        let other = rng.below(3);
        clauses.push(ClauseRef::new(
            STANDARDS[other],
            rng.pick(&pools[other]).clone(),
        ));
    }
    let details = match (i / 3) % 20 {
        0..=5 => Details::Risk(Box::new(RiskDetails {
            category: None,
            inherent: score((rng.below(25) + 1) as f64),
            residual: score((rng.below(12) + 1) as f64),
            treatment: if rng.below(5) == 0 {
                None
            } else {
                Treatment::parse("Mitigate").ok()
            },
            treatment_plan: None,
        })),
        6..=9 => Details::Control(ControlDetails {
            applicable: Some(rng.below(10) > 0),
            justification: None,
            implementation: Some(*rng.pick(&[
                ImplementationStatus::Implemented,
                ImplementationStatus::Implemented,
                ImplementationStatus::InProgress,
                ImplementationStatus::Planned,
            ])),
            evidence: Some(format!("evidence/{i}.pdf")),
        }),
        10 | 11 => Details::RequirementAssessment(RequirementAssessmentDetails {
            result: *rng.pick(&[
                Conformity::Conforming,
                Conformity::Conforming,
                Conformity::Conforming,
                Conformity::PartiallyConforming,
                Conformity::NotConforming,
                Conformity::NotApplicable,
            ]),
            evidence: Some(format!("interview notes {i}")),
            assessor: Some("Lead auditor".into()),
        }),
        12 | 13 => Details::Nonconformity(NonconformityDetails {
            severity: Some((*rng.pick(&["Minor", "Minor", "Major"])).into()),
            ..NonconformityDetails::default()
        }),
        14 => Details::CorrectiveAction(NonconformityDetails::default()),
        15 => Details::AuditFinding(AuditFindingDetails {
            finding_type: Some(*rng.pick(&[
                FindingType::MinorNonconformity,
                FindingType::Observation,
                FindingType::OpportunityForImprovement,
            ])),
            ..AuditFindingDetails::default()
        }),
        _ => Details::Document(DocumentDetails {
            link: Some(format!("https://dms.example/doc/{i}")),
            version: Some("1.0".into()),
            ..DocumentDetails::default()
        }),
    };
    let kind = details.kind();
    let external_id = format!("{}-{i:06}", &kind.as_str()[..3].to_uppercase());
    let hs = clauses
        .iter()
        .flat_map(|c| mappings.hs_links(c).unwrap_or_default())
        .collect();
    let mut r = Record {
        id: RecordId::from_source(system, kind, &external_id),
        provenance: Provenance {
            system: system.into(),
            connector: "spreadsheet".into(),
            external_id: external_id.clone(),
            location: format!("{system}!Sheet1!A{}", i + 2),
            imported_at: now(),
            content_hash: String::new(),
        },
        title: format!("{} {i}", kind.as_str().replace('_', " ")),
        description: None,
        owner: (rng.below(6) > 0).then(|| "Process owner".to_string()),
        status: Some(status),
        dates: Dates {
            identified: day(rng),
            reviewed: if kind == RecordKind::Document || rng.below(2) == 0 {
                day(rng)
            } else {
                None
            },
            due: day(rng),
            closed: if open { None } else { day(rng) },
            next_review: None,
        },
        clauses,
        hs,
        ai: AiFlag {
            flagged: standard == StandardId::Iso42001,
            ..AiFlag::default()
        },
        details,
        extra: Default::default(),
    };
    r.seal();
    r
}

fn build_store(path: &Path, n: usize) -> anyhow::Result<()> {
    let mappings = Mappings::embedded()?;
    let pools = clause_pools(&mappings);
    let mut store = Store::open(path)?;
    let run = ImportRunStart::new("generated", "generated", "spreadsheet");
    let mut import = store.begin_import(&run)?;
    let mut rng = Rng(0x5EED_A0D1_7000_0001);
    for i in 0..n {
        import.upsert(&record(i, &mut rng, &mappings, &pools))?;
    }
    import.commit(&ImportRunSummary::default())?;
    Ok(())
}
