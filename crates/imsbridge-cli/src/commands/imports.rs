use super::CommandContext;
use crate::args::{Format, ImportsArgs};
use crate::exit;
use crate::output::{Table, print_json};

pub fn run(cx: &CommandContext<'_>, args: &ImportsArgs) -> anyhow::Result<u8> {
    let store = cx.open_store()?;
    let runs = store.import_runs(args.limit)?;
    match cx.cli.global.format {
        Format::Json => print_json(&runs)?,
        format => {
            let mut t = Table::new([
                "run",
                "started",
                "source",
                "new",
                "updated",
                "unchanged",
                "rejected",
                "warnings",
                "rejects file",
            ]);
            for r in &runs {
                let source = if r.dry_run {
                    format!("{} (dry run)", r.source)
                } else {
                    r.source.clone()
                };
                t.row([
                    r.id.to_string(),
                    r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    source,
                    r.inserted.to_string(),
                    r.updated.to_string(),
                    r.unchanged.to_string(),
                    r.rejected.to_string(),
                    r.warnings.to_string(),
                    r.rejects_file.clone().unwrap_or_default(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!("no imports yet");
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}
