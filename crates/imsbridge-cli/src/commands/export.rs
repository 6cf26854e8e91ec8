//! `export oscal`: the store's records, a clause list or a crosswalk as an OSCAL document.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use imsbridge_connector_oscal::{ExportOptions, Format as OscalFormat, export};
use imsbridge_model::{Record, RecordKind, StandardId};
use imsbridge_store::RecordFilter;
use serde::Serialize;

use super::{CommandContext, parse_standard};
use crate::args::{ExportCommand, Format, OscalExportArgs, OscalModel, UsageError};
use crate::exit;
use crate::output::print_json;

/// What `--format json` prints when the document went to a file.
#[derive(Debug, Serialize)]
struct Written<'a> {
    model: &'static str,
    format: &'static str,
    path: &'a Path,
    bytes: usize,
    records: usize,
}

pub fn run(cx: &CommandContext<'_>, command: &ExportCommand) -> anyhow::Result<u8> {
    match command {
        ExportCommand::Oscal(args) => oscal(cx, args),
    }
}

fn oscal(cx: &CommandContext<'_>, args: &OscalExportArgs) -> anyhow::Result<u8> {
    let mappings = cx.mappings()?;
    let options = ExportOptions::new(Utc::now());
    let refuse = |flag: &str, model: &str| -> anyhow::Result<()> {
        Err(UsageError(format!("{flag} does not apply to --model {model}")).into())
    };
    let (document, records, model) = match args.model {
        OscalModel::Poam => {
            for (set, flag) in [
                (!args.standards.is_empty(), "--standards"),
                (args.standard.is_some(), "--standard"),
                (args.from.is_some() || args.to.is_some(), "--from/--to"),
            ] {
                if set {
                    refuse(flag, "poam")?;
                }
            }
            let records = read(
                cx,
                &RecordFilter {
                    ai_only: !args.all_risks,
                    system: args.system.clone(),
                    ..RecordFilter::default()
                },
            )?;
            // Risks, and the corrective actions that treat them; the exporter leaves out
            // every other kind.
            let records: Vec<Record> = records
                .into_iter()
                .filter(|r| {
                    matches!(
                        r.kind(),
                        RecordKind::Risk | RecordKind::CorrectiveAction | RecordKind::Nonconformity
                    )
                })
                .collect();
            (export::poam(&records, &options)?, records.len(), "poam")
        }
        OscalModel::AssessmentResults => {
            if args.standards.is_empty() {
                return Err(UsageError(
                    "--model assessment-results needs --standards (e.g. iso27001,iso42001)".into(),
                )
                .into());
            }
            let standards = args
                .standards
                .iter()
                .map(|s| parse_standard(s.trim()))
                .collect::<anyhow::Result<Vec<StandardId>>>()?;
            let records: Vec<Record> = read(cx, &RecordFilter::default())?
                .into_iter()
                .filter(|r| {
                    matches!(
                        r.kind(),
                        RecordKind::RequirementAssessment
                            | RecordKind::AuditFinding
                            | RecordKind::Document
                    )
                })
                .collect();
            let document = export::assessment_results(&records, &standards, &mappings, &options)?;
            (document, records.len(), "assessment-results")
        }
        OscalModel::Catalog => {
            let standard = args.standard.as_deref().ok_or_else(|| {
                UsageError("--model catalog needs --standard (a standard, or hs)".into())
            })?;
            let standard = parse_standard(standard)?;
            (
                export::catalog(standard, &mappings, &options)?,
                0,
                "catalog",
            )
        }
        OscalModel::Mapping => {
            let (Some(from), Some(to)) = (args.from.as_deref(), args.to.as_deref()) else {
                return Err(UsageError(
                    "--model mapping needs --from and --to (a standard, or hs)".into(),
                )
                .into());
            };
            let (from, to) = (parse_standard(from)?, parse_standard(to)?);
            (
                export::mapping(from, to, &mappings, &options)?,
                0,
                "mapping",
            )
        }
    };
    let format = if args.xml {
        OscalFormat::Xml
    } else {
        OscalFormat::Json
    };
    let text = document.render(format);
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
        Some(path) => {
            write_whole(path, text.as_bytes())?;
            let written = Written {
                model,
                format: if args.xml { "xml" } else { "json" },
                path,
                bytes: text.len(),
                records,
            };
            match cx.cli.global.format {
                Format::Json => print_json(&written)?,
                _ if cx.cli.global.quiet => {}
                _ => println!(
                    "wrote {} ({} OSCAL {}, {} bytes, {} records)",
                    path.display(),
                    written.format,
                    model,
                    written.bytes,
                    records
                ),
            }
        }
    }
    Ok(exit::OK)
}

fn read(cx: &CommandContext<'_>, filter: &RecordFilter) -> anyhow::Result<Vec<Record>> {
    let store = cx.open_store()?;
    Ok(store.records(filter)?)
}

/// Writes beside the target and renames, so that a reader never sees half a document and a
/// failed export leaves an earlier one in place.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}
