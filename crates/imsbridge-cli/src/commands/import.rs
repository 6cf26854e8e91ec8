use imsbridge_import::{ImportOptions, import_path};
use imsbridge_mappings::Profile;

use super::{CommandContext, parse_kind, parse_standard};
use crate::args::{Format, ImportArgs};
use crate::exit;
use crate::output::{Table, print_json};
use crate::progress::DelayedProgress;

pub fn run(cx: &CommandContext<'_>, args: &ImportArgs) -> anyhow::Result<u8> {
    let kind = args.kind.as_deref().map(parse_kind).transpose()?;
    let standard = args.standard.as_deref().map(parse_standard).transpose()?;
    let mappings = cx.mappings()?;
    let mut profile = mappings.default_profile().clone();
    if let Some(path) = args.profile.as_deref().or(cx.config.profile.as_deref()) {
        profile = profile.merged_with(&Profile::load(path)?);
    }
    // A profile naming a scale that does not exist is an error now, not a surprise per row.
    mappings.check_profile(&profile)?;
    let sheet = args
        .sheet
        .clone()
        .or_else(|| profile.sheet().map(str::to_string));
    let store_path = cx.store_path();
    let mut store = cx.open_store()?;
    let rejects_dir = store_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut options = ImportOptions::new(profile, rejects_dir);
    options.kind = kind;
    options.system = args.system.clone();
    options.sheet = sheet;
    options.standard = standard;
    options.dry_run = args.dry_run;

    let progress =
        DelayedProgress::new(cx.cli.global.quiet || cx.cli.global.format == Format::Json);
    progress.set_message(format!("importing {}", args.path.display()));
    let result = import_path(&mut store, &mappings, &args.path, &options, &mut |rows| {
        progress.advance(rows)
    });
    progress.finish();
    let report = result?;

    match cx.cli.global.format {
        Format::Json => print_json(&report)?,
        Format::Table | Format::Csv => {
            let verb = if report.dry_run {
                "would import"
            } else {
                "imported"
            };
            println!(
                "{verb} {}: {} new, {} updated, {} unchanged, {} rejected, {} warnings",
                args.path.display(),
                report.imported,
                report.updated,
                report.unchanged,
                report.rejected,
                report.warnings.len()
            );
            if !report.sheets.is_empty() {
                let mut t = Table::new(["sheet", "kind"]);
                for (sheet, kind) in &report.sheets {
                    t.row([sheet.clone(), kind.to_string()]);
                }
                t.print()?;
            }
            if !cx.cli.global.quiet {
                for w in &report.warnings {
                    eprintln!("warning: {}: {}", w.location, w.message);
                }
                for r in report.rejects.iter().take(20) {
                    eprintln!("rejected: {}: {}", r.location, r.message);
                }
                if report.rejects.len() > 20 {
                    eprintln!("… and {} more rejected rows", report.rejected - 20);
                }
            }
            if let Some(path) = &report.rejects_file {
                println!("rejected rows written to {}", path.display());
            }
        }
    }
    Ok(if report.rejected > 0 {
        exit::REJECTED_ROWS
    } else {
        exit::OK
    })
}
