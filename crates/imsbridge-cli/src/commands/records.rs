use imsbridge_store::RecordFilter;

use super::{CommandContext, parse_kind, parse_standard};
use crate::args::{Format, RecordsArgs};
use crate::exit;
use crate::output::{Table, print_json};

pub fn run(cx: &CommandContext<'_>, args: &RecordsArgs) -> anyhow::Result<u8> {
    let standard = args.standard.as_deref().map(parse_standard).transpose()?;
    // A clause without a standard is an HS clause: "everything that sits on 9.2".
    let (clause, hs_clause) = match (&standard, &args.clause) {
        (Some(_), Some(c)) => (Some(c.clone()), None),
        (None, Some(c)) => (None, Some(c.clone())),
        _ => (None, None),
    };
    let filter = RecordFilter {
        kind: args.kind.as_deref().map(parse_kind).transpose()?,
        standard,
        clause,
        hs_clause,
        ai_only: args.ai,
        system: None,
    };
    let store = cx.open_store()?;
    let records = store.records(&filter)?;
    match cx.cli.global.format {
        Format::Json => print_json(&records)?,
        format => {
            let mut t = Table::new([
                "id",
                "kind",
                "external id",
                "title",
                "clauses",
                "hs",
                "ai",
                "source",
            ]);
            for r in &records {
                let clauses: Vec<String> = r
                    .clauses
                    .iter()
                    .map(|c| format!("{} {}", c.standard.key(), c.clause))
                    .collect();
                let mut hs: Vec<&str> = r.hs.iter().map(|h| h.clause.as_str()).collect();
                hs.dedup();
                t.row([
                    r.id.short(),
                    r.kind().to_string(),
                    r.provenance.external_id.clone(),
                    truncate(&r.title, 48),
                    clauses.join(", "),
                    hs.join(", "),
                    if r.ai.flagged {
                        "AI".to_string()
                    } else {
                        String::new()
                    },
                    r.provenance.location.clone(),
                ]);
            }
            if format == Format::Csv {
                t.print_csv()?;
            } else if t.is_empty() {
                println!("no records match");
            } else {
                t.print()?;
            }
        }
    }
    Ok(exit::OK)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
