use std::collections::{BTreeMap, BTreeSet};

use imsbridge_model::{RecordKind, StandardId};
use imsbridge_store::RecordFilter;
use serde::Serialize;

use super::CommandContext;
use crate::args::Format;
use crate::exit;
use crate::output::{Table, print_json};

/// One HS clause and what the records say about it, standard by standard.
#[derive(Debug, Default, Serialize)]
struct HsCoverage {
    hs: String,
    title: String,
    standards: BTreeMap<StandardId, StandardCoverage>,
}

#[derive(Debug, Default, Serialize)]
struct StandardCoverage {
    /// The standard's clauses the records reference (that sit on this HS clause).
    clauses: BTreeSet<String>,
    records: BTreeMap<RecordKind, u64>,
}

pub fn run(cx: &CommandContext<'_>) -> anyhow::Result<u8> {
    let mappings = cx.mappings()?;
    let store = cx.open_store()?;
    let mut by_hs: BTreeMap<String, HsCoverage> = BTreeMap::new();
    store.for_each_record(
        &RecordFilter::default(),
        |record: imsbridge_model::Record| -> anyhow::Result<()> {
            // A record counts once per (HS clause, standard) even when several of its clauses
            // lead to the same HS clause.
            let mut counted: BTreeSet<(String, StandardId)> = BTreeSet::new();
            for link in &record.hs {
                let entry = by_hs.entry(link.clause.clone()).or_default();
                let cov = entry.standards.entry(link.via.standard).or_default();
                cov.clauses.insert(link.via.clause.clone());
                if counted.insert((link.clause.clone(), link.via.standard)) {
                    *cov.records.entry(record.kind()).or_default() += 1;
                }
            }
            Ok(())
        },
    )?;
    // Every HS clause is listed, in HS order, so that gaps show.
    let lines: Vec<HsCoverage> = mappings
        .hs_clauses()
        .iter()
        .map(|c| {
            let mut line = by_hs.remove(&c.id).unwrap_or_default();
            line.hs = c.id.clone();
            line.title = c.title.clone();
            line
        })
        .collect();
    match cx.cli.global.format {
        Format::Json => print_json(&lines)?,
        format => {
            let standards: Vec<StandardId> = StandardId::MANAGEMENT_SYSTEMS
                .into_iter()
                .chain([StandardId::Iso31000, StandardId::CosoErm])
                .filter(|s| lines.iter().any(|l| l.standards.contains_key(s)))
                .collect();
            let mut header = vec!["hs".to_string(), "title".to_string()];
            header.extend(standards.iter().map(|s| s.key().to_string()));
            let mut t = Table::new(header);
            for l in &lines {
                let mut row = vec![l.hs.clone(), l.title.clone()];
                for s in &standards {
                    row.push(match l.standards.get(s) {
                        Some(cov) => cov
                            .records
                            .iter()
                            .map(|(k, n)| format!("{n} {k}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        None => "—".to_string(),
                    });
                }
                t.row(row);
            }
            if format == Format::Csv {
                t.print_csv()?
            } else {
                t.print()?
            }
        }
    }
    Ok(exit::OK)
}
