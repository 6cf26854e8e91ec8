use serde::Serialize;

use super::{CommandContext, parse_standard};
use crate::args::{CrosswalkArgs, Format};
use crate::exit;
use crate::output::{Table, print_json};

#[derive(Serialize)]
struct Pair<'a> {
    from: &'a str,
    to: &'a str,
    relationship: &'static str,
    via: &'a str,
}

pub fn run(cx: &CommandContext<'_>, args: &CrosswalkArgs) -> anyhow::Result<u8> {
    let from = parse_standard(&args.from)?;
    let to = parse_standard(&args.to)?;
    let mappings = cx.mappings()?;
    let pairs = mappings.crosswalk(from, to);
    let lines: Vec<Pair<'_>> = pairs
        .iter()
        .map(|p| Pair {
            from: &p.from,
            to: &p.to,
            relationship: p.relationship.as_str(),
            via: &p.via,
        })
        .collect();
    match cx.cli.global.format {
        Format::Json => print_json(&lines)?,
        format => {
            let mut t = Table::new([
                from.designation(),
                to.designation(),
                "relationship",
                "via HS",
            ]);
            for l in &lines {
                t.row([l.from, l.to, l.relationship, l.via]);
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
