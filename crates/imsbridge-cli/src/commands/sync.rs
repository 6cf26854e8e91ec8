//! `imsbridge pull | plan | apply | sync | links | journal`: the sync engine on the command
//! line.

use anyhow::Context;
use imsbridge_connector::env_lookup;
use imsbridge_import::{ImportOptions, import_path};
use imsbridge_mappings::Profile;
use imsbridge_sync::{
    Action, ApplyOptions, ApplyReport, Outcome, Plan, PullReport, TargetRef, apply as apply_plan,
    make_plan, pull_source,
};
use imsbridge_systems::{Opened, System};
use serde::Serialize;

use super::target_lock::TargetLocks;
use super::{CommandContext, parse_standard};
use crate::args::{ApplyArgs, Format, JournalArgs, LinksArgs, PlanArgs, PullArgs, SyncArgs};
use crate::exit;
use crate::output::{Table, print_json};
use crate::progress::DelayedProgress;

/// What `pull` did with one system.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pulled {
    Api(PullReport),
    Files {
        system: String,
        imported: u64,
        updated: u64,
        unchanged: u64,
        rejected: u64,
        files: Vec<String>,
    },
}

impl Pulled {
    pub fn rejected(&self) -> u64 {
        match self {
            Pulled::Api(report) => report.rejected,
            Pulled::Files { rejected, .. } => *rejected,
        }
    }
}

pub fn pull(cx: &CommandContext<'_>, args: &PullArgs) -> anyhow::Result<u8> {
    let quiet = cx.cli.global.quiet || cx.cli.global.format == Format::Json;
    let only: Vec<String> = args.system.iter().cloned().collect();
    let results = pull_systems(cx, &only, &args.streams, args.full, quiet)?;
    let rejected: u64 = results.iter().map(Pulled::rejected).sum();
    print_pulled(cx, &results)?;
    Ok(if rejected > 0 {
        exit::REJECTED_ROWS
    } else {
        exit::OK
    })
}

/// Reads the systems named in `only` (every configured system when it is empty) into the
/// store: the work of `imsbridge pull`, shared with the scheduled pulls of `serve`.
pub fn pull_systems(
    cx: &CommandContext<'_>,
    only: &[String],
    streams: &[String],
    full: bool,
    quiet: bool,
) -> anyhow::Result<Vec<Pulled>> {
    let systems = cx.systems()?;
    for name in only {
        systems.require(name)?;
    }
    let mappings = cx.mappings()?;
    let mut store = cx.open_store()?;
    let runtime = cx.runtime()?;
    let rejects_dir = cx.rejects_dir();
    let mut results = Vec::new();
    for system in systems.iter() {
        if !only.is_empty() && !only.iter().any(|n| n == system.name()) {
            continue;
        }
        let opened = system.open(&env_lookup)?;
        let progress = DelayedProgress::new(quiet);
        progress.set_message(format!("pulling {}", system.name()));
        match &opened {
            Opened::Spreadsheet(sheet) => {
                let mut profile = mappings.default_profile().clone();
                if let Some(path) = &sheet.config.profile {
                    profile = profile.merged_with(&Profile::load(&sheet.base_dir.join(path))?);
                }
                mappings.check_profile(&profile)?;
                let mut options = ImportOptions::new(profile, &rejects_dir);
                options.kind = sheet.kind;
                options.system = Some(system.name().to_string());
                options.sheet = sheet.config.sheet.clone();
                options.standard = sheet
                    .config
                    .standard
                    .as_deref()
                    .map(parse_standard)
                    .transpose()?;
                let files = sheet.files()?;
                let pulled = pull_files(
                    &mut store,
                    &mappings,
                    system.name(),
                    &sheet.config.path,
                    &files,
                    &options,
                    &progress,
                )?;
                results.push(pulled);
            }
            Opened::Oscal(oscal) => {
                let mut options =
                    ImportOptions::new(mappings.default_profile().clone(), &rejects_dir);
                options.system = Some(system.name().to_string());
                options.oscal = Some(
                    oscal
                        .config
                        .read_options()
                        .with_context(|| format!("system {}", system.name()))?,
                );
                let files = oscal.files()?;
                let pulled = pull_files(
                    &mut store,
                    &mappings,
                    system.name(),
                    &oscal.config.path,
                    &files,
                    &options,
                    &progress,
                )?;
                results.push(pulled);
            }
            _ => {
                let Some(source) = opened.source() else {
                    continue;
                };
                let streams = (!streams.is_empty()).then_some(streams);
                let report = runtime.block_on(pull_source(
                    &mut store,
                    &mappings,
                    &system.entry.common,
                    source,
                    streams,
                    full,
                    &rejects_dir,
                    &|n| progress.advance(n),
                ))?;
                results.push(Pulled::Api(report));
            }
        }
        progress.finish();
    }
    Ok(results)
}

fn print_pulled(cx: &CommandContext<'_>, results: &[Pulled]) -> anyhow::Result<()> {
    match cx.cli.global.format {
        Format::Json => print_json(&results)?,
        _ => {
            for r in results {
                match r {
                    Pulled::Api(r) => {
                        println!(
                            "pulled {}: {} new, {} updated, {} unchanged, {} rejected",
                            r.system, r.imported, r.updated, r.unchanged, r.rejected
                        );
                        for s in &r.streams {
                            let since = s
                                .since
                                .map(|t| format!("since {}", t.to_rfc3339()))
                                .unwrap_or_else(|| "full read".into());
                            println!(
                                "  {}: {} read, {} rejected ({since})",
                                s.stream, s.read, s.rejected
                            );
                        }
                        if let Some(f) = &r.rejects_file {
                            println!("  rejects: {}", f.display());
                        }
                        for w in &r.warnings {
                            eprintln!("warning: {w}");
                        }
                    }
                    Pulled::Files {
                        system,
                        imported,
                        updated,
                        unchanged,
                        rejected,
                        files,
                    } => println!(
                        "pulled {system}: {imported} new, {updated} updated, {unchanged} unchanged, {rejected} rejected ({} file(s))",
                        files.len()
                    ),
                }
            }
            if results.is_empty() {
                println!("no systems to pull from; add [[system]] entries to imsbridge.toml");
            }
        }
    }
    Ok(())
}

/// The configured targets (or the one named), opened.
fn open_targets<'s>(
    systems: &'s imsbridge_systems::Systems,
    only: Option<&str>,
) -> anyhow::Result<Vec<(&'s System, Opened)>> {
    if let Some(name) = only {
        let system = systems.require(name)?;
        if !system.is_target() {
            anyhow::bail!(
                "system `{name}` is not a sync target: give it `write = [\"risk\"]` (and/or \"incident\") in imsbridge.toml"
            );
        }
    }
    let mut out = Vec::new();
    for system in systems.iter().filter(|s| s.is_target()) {
        if only.is_some_and(|n| n != system.name()) {
            continue;
        }
        out.push((system, system.open(&env_lookup)?));
    }
    if out.is_empty() {
        anyhow::bail!(
            "no sync targets configured: give a system `write = [\"risk\"]` in imsbridge.toml"
        );
    }
    Ok(out)
}

/// Locks the run's targets against other runs (see [`TargetLocks`]).
fn lock_targets(cx: &CommandContext<'_>, targets: &[TargetRef<'_>]) -> anyhow::Result<TargetLocks> {
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let mut store = cx.open_store()?;
    TargetLocks::acquire(&mut store, cx.store_path(), &names)
}

fn target_refs<'a>(opened: &'a [(&'a System, Opened)]) -> anyhow::Result<Vec<TargetRef<'a>>> {
    let mut refs = Vec::new();
    for (system, o) in opened {
        let Some(target) = o.target() else {
            anyhow::bail!(
                "system `{}` ({}) cannot be written to",
                system.name(),
                system.connector()
            );
        };
        let kinds = system.write_kinds()?;
        for kind in &kinds {
            if !target.writable_kinds().contains(kind) {
                anyhow::bail!(
                    "system `{}` ({}) cannot take {kind} records; it takes {}",
                    system.name(),
                    system.connector(),
                    target
                        .writable_kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        refs.push(TargetRef {
            name: system.name(),
            connector: system.connector(),
            policy: system.entry.common.conflict,
            kinds,
            target,
        });
    }
    Ok(refs)
}

/// Imports the files of a file system (spreadsheets, OSCAL documents) under its name.
fn pull_files(
    store: &mut imsbridge_store::Store,
    mappings: &imsbridge_mappings::Mappings,
    name: &str,
    path: &str,
    files: &[std::path::PathBuf],
    options: &ImportOptions,
    progress: &DelayedProgress,
) -> anyhow::Result<Pulled> {
    if files.is_empty() {
        anyhow::bail!("{name}: nothing matches path `{path}`");
    }
    let (mut imported, mut updated, mut unchanged, mut rejected) = (0, 0, 0, 0);
    for file in files {
        let report = import_path(store, mappings, file, options, &mut |n| progress.advance(n))
            .with_context(|| format!("pulling {name}"))?;
        imported += report.imported;
        updated += report.updated;
        unchanged += report.unchanged;
        rejected += report.rejected;
    }
    Ok(Pulled::Files {
        system: name.to_string(),
        imported,
        updated,
        unchanged,
        rejected,
        files: files.iter().map(|f| f.display().to_string()).collect(),
    })
}

pub fn plan(cx: &CommandContext<'_>, args: &PlanArgs) -> anyhow::Result<u8> {
    let systems = cx.systems()?;
    let opened = open_targets(&systems, args.target.as_deref())?;
    let targets = target_refs(&opened)?;
    let store = cx.open_store()?;
    let runtime = cx.runtime()?;
    let plan = runtime.block_on(make_plan(&store, &targets))?;
    if let Some(out) = &args.out {
        plan.write(out)?;
    }
    match cx.cli.global.format {
        Format::Json => print_json(&plan)?,
        _ => {
            print_plan(&plan);
            if let Some(out) = &args.out {
                println!(
                    "\nSaved the plan to {}; apply it with: imsbridge apply {}",
                    out.display(),
                    out.display()
                );
            }
        }
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        2
    } else {
        exit::OK
    })
}

/// A terraform-like summary: one line per item that does something, counts at the end.
fn print_plan(plan: &Plan) {
    for target in &plan.targets {
        println!(
            "{} ({}, conflict = {})",
            target.name,
            target.connector,
            target.conflict.as_str()
        );
        for s in &target.setup {
            println!("  + {s}");
        }
        for item in plan.items.iter().filter(|i| i.target == target.name) {
            let (mark, word) = match item.action {
                Action::Create => ("+", "create"),
                Action::Update => ("~", "update"),
                Action::Conflict => ("!", "conflict"),
                Action::Noop => continue,
            };
            println!(
                "  {mark} {word} {} {} \"{}\"",
                item.correlation, item.external_id, item.title
            );
            for (field, change) in &item.changes {
                if item.action == Action::Create {
                    println!("      {field} = {}", change.to);
                } else {
                    println!("      {field}: {} → {}", change.from, change.to);
                }
            }
            for c in &item.conversions {
                println!("      ({}: {} → {})", c.field, c.from, c.to);
            }
            if let Some(reason) = &item.reason {
                println!("      {reason}");
            }
        }
        for s in plan.skipped.iter().filter(|s| s.target == target.name) {
            println!("  - skip {}: {}", s.external_id, s.message);
        }
    }
    let s = &plan.summary;
    println!(
        "\nPlan: {} to create, {} to update, {} unchanged, {} conflicts, {} skipped.",
        s.create, s.update, s.noop, s.conflict, s.skipped
    );
}

fn run_apply(
    cx: &CommandContext<'_>,
    plan: &Plan,
    targets: &[TargetRef<'_>],
    concurrency: usize,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<ApplyReport> {
    let mut store = cx.open_store()?;
    let quiet = cx.cli.global.quiet || cx.cli.global.format == Format::Json;
    let progress = DelayedProgress::new(quiet);
    progress.set_message("applying".into());
    let options = ApplyOptions {
        concurrency,
        ..ApplyOptions::default()
    };
    let report = runtime.block_on(apply_plan(&mut store, plan, targets, &options, &|n| {
        progress.advance(n)
    }));
    progress.finish();
    Ok(report?)
}

fn print_apply(cx: &CommandContext<'_>, report: &ApplyReport) -> anyhow::Result<()> {
    match cx.cli.global.format {
        Format::Json => print_json(report)?,
        _ => {
            for s in &report.setup {
                println!("set up: {s}");
            }
            for item in &report.items {
                let word = match item.outcome {
                    Outcome::Created => "created",
                    Outcome::Updated => "updated",
                    Outcome::Unchanged => continue,
                    Outcome::Conflict => "conflict",
                    Outcome::Refused => "refused",
                    Outcome::Failed => "FAILED",
                };
                print!("{word} {} {}", item.target, item.external_id);
                if let Some(id) = &item.remote_id {
                    print!(" → {id}");
                }
                match &item.message {
                    Some(m) => println!(": {m}"),
                    None => println!(),
                }
            }
            println!(
                "\nApply: {} created, {} updated, {} unchanged, {} conflicts, {} refused, {} failed{}.",
                report.created,
                report.updated,
                report.unchanged,
                report.conflicts,
                report.refused,
                report.failed,
                if report.repaired > 0 {
                    format!(", {} interrupted writes settled first", report.repaired)
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(())
}

fn apply_exit(report: &ApplyReport, detailed: bool) -> u8 {
    if report.failed > 0 {
        exit::ERROR
    } else if report.conflicts + report.refused > 0 {
        exit::REJECTED_ROWS
    } else if detailed && report.wrote() {
        2
    } else {
        exit::OK
    }
}

pub fn apply(cx: &CommandContext<'_>, args: &ApplyArgs) -> anyhow::Result<u8> {
    let plan = Plan::read(&args.plan)?;
    let systems = cx.systems()?;
    let mut opened = Vec::new();
    for target in &plan.targets {
        opened.extend(open_targets(&systems, Some(&target.name))?);
    }
    let targets = target_refs(&opened)?;
    let _locks = lock_targets(cx, &targets)?;
    let runtime = cx.runtime()?;
    let report = run_apply(cx, &plan, &targets, args.concurrency, &runtime)?;
    print_apply(cx, &report)?;
    Ok(apply_exit(&report, args.detailed_exitcode))
}

pub fn sync(cx: &CommandContext<'_>, args: &SyncArgs) -> anyhow::Result<u8> {
    let show_plan = |plan: &Plan| {
        if cx.cli.global.format != Format::Json && !cx.cli.global.quiet {
            print_plan(plan);
            println!();
        }
    };
    let report = sync_targets(
        cx,
        args.target.as_deref(),
        args.concurrency,
        args.out.as_deref(),
        &show_plan,
    )?;
    print_apply(cx, &report)?;
    Ok(apply_exit(&report, args.detailed_exitcode))
}

/// Plans and applies for the target named in `only` (every target when `None`): the work of
/// `imsbridge sync`, shared with the scheduled syncs of `serve`. The plan is saved to `out`
/// and shown to `on_plan` before it is applied.
pub fn sync_targets(
    cx: &CommandContext<'_>,
    only: Option<&str>,
    concurrency: usize,
    out: Option<&std::path::Path>,
    on_plan: &dyn Fn(&Plan),
) -> anyhow::Result<ApplyReport> {
    let systems = cx.systems()?;
    let opened = open_targets(&systems, only)?;
    let targets = target_refs(&opened)?;
    // Held from before the plan until the last write is journalled.
    let _locks = lock_targets(cx, &targets)?;
    let runtime = cx.runtime()?;
    let plan = {
        let store = cx.open_store()?;
        runtime.block_on(make_plan(&store, &targets))?
    };
    if let Some(out) = out {
        plan.write(out)?;
    }
    on_plan(&plan);
    run_apply(cx, &plan, &targets, concurrency, &runtime)
}

pub fn links(cx: &CommandContext<'_>, args: &LinksArgs) -> anyhow::Result<u8> {
    let store = cx.open_store()?;
    let links = store.links(args.target.as_deref())?;
    match cx.cli.global.format {
        Format::Json => print_json(&links)?,
        format => {
            let mut t = Table::new([
                "target",
                "record",
                "kind",
                "correlation",
                "remote id",
                "remote version",
                "synced at",
            ]);
            for l in &links {
                t.row([
                    l.target.clone(),
                    l.record.to_string(),
                    l.kind.to_string(),
                    l.correlation.clone(),
                    l.remote_id.clone(),
                    l.remote_version.clone().unwrap_or_default(),
                    l.synced_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!("no links yet; `imsbridge sync` creates them");
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}

pub fn journal(cx: &CommandContext<'_>, args: &JournalArgs) -> anyhow::Result<u8> {
    let store = cx.open_store()?;
    let entries = store.journal(args.target.as_deref(), args.limit)?;
    match cx.cli.global.format {
        Format::Json => print_json(&entries)?,
        format => {
            let mut t = Table::new([
                "id",
                "at",
                "target",
                "action",
                "correlation",
                "remote id",
                "outcome",
                "message",
            ]);
            for e in &entries {
                t.row([
                    e.id.to_string(),
                    e.intent_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    e.target.clone(),
                    e.action.clone(),
                    e.correlation.clone(),
                    e.remote_id.clone().unwrap_or_default(),
                    e.outcome.map(|o| o.as_str()).unwrap_or("open").to_string(),
                    e.message.clone().unwrap_or_default(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!("the journal is empty");
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}
