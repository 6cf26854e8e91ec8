//! `imsbridge systems list|check`.

use imsbridge_connector::{Check, CheckStatus, env_lookup};
use serde::Serialize;

use super::CommandContext;
use crate::args::{Format, SystemsCommand};
use crate::exit;
use crate::output::{Table, print_json};

#[derive(Debug, Serialize)]
struct SystemLine<'a> {
    name: &'a str,
    connector: &'a str,
    base_url: Option<&'a str>,
    writes: &'a [String],
    conflict: &'static str,
}

#[derive(Debug, Serialize)]
struct Verdict {
    system: String,
    connector: String,
    ok: bool,
    checks: Vec<Check>,
}

pub fn run(cx: &CommandContext<'_>, command: &SystemsCommand) -> anyhow::Result<u8> {
    let systems = cx.systems()?;
    match command {
        SystemsCommand::List => {
            let lines: Vec<SystemLine<'_>> = systems
                .iter()
                .map(|s| SystemLine {
                    name: s.name(),
                    connector: s.connector(),
                    base_url: s.entry.common.base_url.as_deref(),
                    writes: &s.entry.common.write,
                    conflict: s.entry.common.conflict.as_str(),
                })
                .collect();
            match cx.cli.global.format {
                Format::Json => print_json(&lines)?,
                format => {
                    let mut t = Table::new(["system", "type", "base url", "writes", "conflict"]);
                    for l in &lines {
                        t.row([
                            l.name.to_string(),
                            l.connector.to_string(),
                            l.base_url.unwrap_or_default().to_string(),
                            l.writes.join(", "),
                            l.conflict.to_string(),
                        ]);
                    }
                    if format == Format::Csv {
                        t.print_csv()?;
                    } else if t.is_empty() {
                        println!("no systems configured; add [[system]] entries to imsbridge.toml");
                    } else {
                        t.print()?;
                    }
                }
            }
            Ok(exit::OK)
        }
        SystemsCommand::Check(filter) => {
            if let Some(name) = &filter.system {
                systems.require(name)?;
            }
            let runtime = cx.runtime()?;
            let mut verdicts = Vec::new();
            for system in systems.iter() {
                if filter.system.as_deref().is_some_and(|n| n != system.name()) {
                    continue;
                }
                let mut checks = vec![Check::ok("configuration", "keys and values are valid")];
                match system.open(&env_lookup) {
                    Err(e) => checks.push(Check::failed("credentials", e.to_string())),
                    Ok(opened) => match (opened.target(), opened.source(), &opened) {
                        (Some(t), _, _) => checks.extend(runtime.block_on(t.check())),
                        (None, Some(_), _) => {}
                        (None, None, imsbridge_systems::Opened::Spreadsheet(s)) => {
                            checks.push(files_check(s.files(), &s.config.path))
                        }
                        (None, None, imsbridge_systems::Opened::Oscal(s)) => {
                            checks.push(files_check(s.files(), &s.config.path))
                        }
                        (None, None, _) => {}
                    },
                }
                let ok = checks.iter().all(|c| c.status != CheckStatus::Failed);
                verdicts.push(Verdict {
                    system: system.name().to_string(),
                    connector: system.connector().to_string(),
                    ok,
                    checks,
                });
            }
            let all_ok = verdicts.iter().all(|v| v.ok);
            match cx.cli.global.format {
                Format::Json => print_json(&verdicts)?,
                _ => {
                    for v in &verdicts {
                        println!(
                            "{} ({}): {}",
                            v.system,
                            v.connector,
                            if v.ok { "ok" } else { "FAILED" }
                        );
                        for c in &v.checks {
                            let mark = match c.status {
                                CheckStatus::Ok => "ok  ",
                                CheckStatus::Warning => "warn",
                                CheckStatus::Failed => "FAIL",
                            };
                            println!("  {mark} {}: {}", c.what, c.detail);
                        }
                    }
                    if verdicts.is_empty() {
                        println!("no systems configured; add [[system]] entries to imsbridge.toml");
                    }
                }
            }
            Ok(if all_ok { exit::OK } else { exit::ERROR })
        }
    }
}

/// Whether a file system's `path` names anything now.
fn files_check(
    files: Result<Vec<std::path::PathBuf>, imsbridge_connector::ConfigError>,
    path: &str,
) -> Check {
    match files {
        Ok(files) if files.iter().any(|f| f.exists()) => {
            Check::ok("files", format!("{} file(s) found", files.len()))
        }
        Ok(_) => Check::failed("files", format!("nothing matches path `{path}`")),
        Err(e) => Check::failed("files", e.to_string()),
    }
}
