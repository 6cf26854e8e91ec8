//! `audit-pack`: one integrated audit for several standards, written as XLSX, HTML, CSV and
//! OSCAL into a folder.

use anyhow::Context;
use chrono::Utc;
use std::path::Path;

use imsbridge_audit::{PackOptions, PackSummary, Scope};
use imsbridge_model::StandardId;

use super::{CommandContext, parse_standard};
use crate::args::{AuditPackArgs, Format, UsageError};
use crate::exit;
use crate::output::{Table, print_json};
use crate::progress::DelayedProgress;

pub fn run(cx: &CommandContext<'_>, args: &AuditPackArgs) -> anyhow::Result<u8> {
    let progress =
        DelayedProgress::new(cx.cli.global.quiet || cx.cli.global.format == Format::Json);
    progress.set_message(format!("writing the audit pack to {}", args.out.display()));
    let summary = write(
        cx,
        &args.standards,
        args.scope.as_deref(),
        args.review_period_days,
        args.title.clone(),
        &args.out,
    );
    progress.finish();
    let summary = summary?;
    match cx.cli.global.format {
        Format::Json => print_json(&summary)?,
        format => {
            let mut t = Table::new([
                "standard",
                "conforming",
                "partially",
                "not conforming",
                "not applicable",
                "not assessed",
            ]);
            for (standard, c) in &summary.standards {
                t.row([
                    standard.designation().to_string(),
                    c.conforming.to_string(),
                    c.partially_conforming.to_string(),
                    c.not_conforming.to_string(),
                    c.not_applicable.to_string(),
                    c.not_assessed.to_string(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else {
                t.print()?;
                if !cx.cli.global.quiet {
                    println!(
                        "\n{} records; {} programme lines ({} discipline-specific), {} open items, {} evidence items past their review",
                        summary.records,
                        summary.programme_lines,
                        summary.discipline_lines,
                        summary.open_items,
                        summary.flagged_evidence
                    );
                    for file in &summary.files {
                        println!("wrote {}", file.display());
                    }
                }
            }
        }
    }
    Ok(exit::OK)
}

/// Builds the pack from the store and writes it into `out`: the command and the `audit-pack`
/// schedule action both come here.
pub fn write(
    cx: &CommandContext<'_>,
    standards: &[String],
    scope: Option<&str>,
    review_period_days: Option<u32>,
    title: Option<String>,
    out: &Path,
) -> anyhow::Result<PackSummary> {
    let standards = standards
        .iter()
        .map(|s| parse_standard(s.trim()))
        .collect::<anyhow::Result<Vec<StandardId>>>()?;
    if standards.is_empty() {
        return Err(UsageError("--standards names no standard".into()).into());
    }
    let mut options = PackOptions::new(standards, Utc::now());
    if let Some(scope) = scope {
        options.scope = scope
            .parse::<Scope>()
            .map_err(|e| UsageError(format!("--scope: {e}")))?;
    }
    if let Some(days) = review_period_days {
        options.review_period_days = days;
    }
    options.title = title;
    let mappings = cx.mappings()?;
    let store = cx.open_store()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    Ok(imsbridge_audit::run(&store, &mappings, options, out)?)
}
