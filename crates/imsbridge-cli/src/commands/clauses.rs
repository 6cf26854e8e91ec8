use imsbridge_model::StandardId;

use super::{CommandContext, parse_standard};
use crate::args::{ClausesArgs, Format};
use crate::exit;
use crate::output::{Table, print_json};

pub fn run(cx: &CommandContext<'_>, args: &ClausesArgs) -> anyhow::Result<u8> {
    let mappings = cx.mappings()?;
    let standard = args
        .standard
        .as_deref()
        .map(parse_standard)
        .transpose()?
        .unwrap_or(StandardId::Hs);
    let lines = mappings.clause_summaries(standard);
    if lines.is_empty() {
        anyhow::bail!("no clause map for {} is loaded", standard.designation());
    }
    match cx.cli.global.format {
        Format::Json => print_json(&lines)?,
        format => {
            let mut t = Table::new(["clause", "title", "kind", "hs"]);
            for l in &lines {
                let hs: Vec<String> =
                    l.hs.iter()
                        .map(|h| format!("{} ({})", h.clause, h.relationship))
                        .collect();
                let kind = l.kind.map(|k| k.as_str().to_string()).unwrap_or_default();
                t.row([l.id.clone(), l.title.clone(), kind, hs.join(", ")]);
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
