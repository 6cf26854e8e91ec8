//! `index.html`: one self-contained page (no network: styles inline, the heat map an inline
//! SVG, no scripts, fonts or images), with in-page navigation and a print stylesheet. Every
//! text from records or mappings is HTML-escaped.

use std::fmt::Write as _;
use std::io::Write;

use imsbridge_model::Conformity;

use crate::AuditPack;
use crate::build::RULES;
use crate::maturity::MATURITY_CRITERIA;
use crate::pack::{EvidenceItem, ProgrammeLine, Trend};

const STYLE: &str = "
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d6dbe1; --head: #1f3864; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); margin: 0; }
header { background: var(--head); color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .85; }
nav { position: sticky; top: 0; background: #f4f6f9; border-bottom: 1px solid var(--line); padding: 8px 24px; z-index: 1; }
nav a { margin-right: 14px; color: var(--head); text-decoration: none; font-weight: 600; }
main { padding: 8px 24px 40px; }
section { margin-top: 28px; }
h2 { border-bottom: 2px solid var(--head); padding-bottom: 4px; font-size: 18px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 12px; }
.path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: pre-wrap; }
.state { border-radius: 3px; padding: 1px 6px; white-space: nowrap; }
.conforming { background: #c6efce; color: #006100; }
.partially_conforming { background: #ffeb9c; color: #9c5700; }
.not_conforming { background: #ffc7ce; color: #9c0006; }
.not_applicable { background: #ededed; color: #595959; }
.not_assessed { background: #ddebf7; color: #1f3864; }
.stale, .review_overdue, .down { background: #ffc7ce; color: #9c0006; }
.up { background: #c6efce; color: #006100; }
svg text { font: 12px system-ui, sans-serif; }
@media print {
  nav { display: none; }
  header { background: none; color: #000; padding: 0; }
  section { break-before: page; }
  section#summary { break-before: auto; }
  a { color: inherit; text-decoration: none; }
  table { font-size: 9pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
";

/// Heat-map colours by state (and for a standard with no shared clause on the row).
fn heat_colour(state: Option<Conformity>) -> &'static str {
    match state {
        Some(Conformity::Conforming) => "#63be7b",
        Some(Conformity::PartiallyConforming) => "#ffd966",
        Some(Conformity::NotConforming) => "#f8696b",
        Some(Conformity::NotApplicable) => "#d9d9d9",
        Some(Conformity::NotAssessed) => "#bdd7ee",
        None => "#ffffff",
    }
}

/// Escapes text for element content and attribute values alike.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The id of a programme row (`hs-9-2`) or its evidence group (`ev-9-2`).
fn anchor(prefix: &str, hs: &str) -> String {
    let cleaned: String = hs
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{cleaned}")
}

fn state_span(state: Conformity) -> String {
    format!("<span class=\"state {0}\">{0}</span>", state.as_str())
}

pub(super) fn write(pack: &AuditPack, w: &mut dyn Write) -> std::io::Result<()> {
    let mut h = String::with_capacity(1 << 20);
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = page(pack, &mut h);
    w.write_all(h.as_bytes())
}

fn page(pack: &AuditPack, h: &mut String) -> std::fmt::Result {
    let limit = pack.html_row_limit.max(1);
    let designations: Vec<&str> = pack.standards.iter().map(|s| s.designation()).collect();
    writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&pack.title)
    )?;
    writeln!(
        h,
        "<header><h1>{}</h1><p>Generated {} · {} · scope: {} · review period {} days</p></header>",
        esc(&pack.title),
        esc(&pack.generated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        esc(&designations.join(", ")),
        esc(&pack.scope),
        pack.review_period_days
    )?;
    h.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#heatmap\">Heat map</a><a href=\"#programme\">Programme</a><a href=\"#discipline\">Discipline-specific</a><a href=\"#gaps\">Gaps</a><a href=\"#open-items\">Open items</a><a href=\"#maturity\">Maturity</a><a href=\"#evidence\">Evidence</a><a href=\"#rules\">Rules</a></nav>\n<main>\n",
    );
    summary(pack, h)?;
    heatmap(pack, h)?;
    programme(pack, h)?;
    discipline(pack, h, limit)?;
    gaps(pack, h, limit)?;
    open_items(pack, h, limit)?;
    maturity(pack, h)?;
    evidence(pack, h, limit)?;
    h.push_str("<section id=\"rules\"><h2>Rules</h2><dl>\n");
    for (id, text) in RULES {
        writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(id), esc(text))?;
    }
    h.push_str("</dl></section>\n</main>\n</body>\n</html>\n");
    Ok(())
}

fn more(h: &mut String, shown: usize, total: usize) -> std::fmt::Result {
    if total > shown {
        writeln!(
            h,
            "<p class=\"note\">Showing {shown} of {total}; audit-pack.xlsx has them all.</p>"
        )?;
    }
    Ok(())
}

fn summary(pack: &AuditPack, h: &mut String) -> std::fmt::Result {
    h.push_str("<section id=\"summary\"><h2>Summary</h2>\n");
    writeln!(
        h,
        "<p>{} records in scope from {} source systems; {} shared processes and {} discipline-specific lines in the programme; {} open items; {} evidence items flagged.</p>",
        pack.records,
        pack.systems.len(),
        pack.programme.len(),
        pack.discipline.len(),
        pack.open_items.len(),
        pack.evidence_counts.flagged()
    )?;
    h.push_str("<table><thead><tr><th>Standard</th>");
    for s in Conformity::ALL {
        write!(h, "<th>{}</th>", state_span(s))?;
    }
    h.push_str("</tr></thead><tbody>\n");
    for (standard, counts) in pack.state_counts() {
        write!(h, "<tr><td>{}</td>", esc(standard.designation()))?;
        for s in Conformity::ALL {
            write!(h, "<td class=\"num\">{}</td>", counts.get(s))?;
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n<table><thead><tr><th>Source system</th><th>Records</th></tr></thead><tbody>\n");
    for (system, n) in &pack.systems {
        writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            esc(system)
        )?;
    }
    h.push_str("</tbody></table>\n");
    if let Some(previous) = pack.previous_generated_at {
        writeln!(
            h,
            "<p class=\"note\">Maturity trend against the pack of {}.</p>",
            esc(&previous.format("%Y-%m-%d %H:%M UTC").to_string())
        )?;
    }
    h.push_str("</section>\n");
    Ok(())
}

fn heatmap(pack: &AuditPack, h: &mut String) -> std::fmt::Result {
    const LABEL_W: usize = 360;
    const CELL_W: usize = 120;
    const CELL_H: usize = 24;
    const TOP: usize = 28;
    let cols = pack.standards.len();
    let width = LABEL_W + CELL_W * cols + 2;
    let height = TOP + CELL_H * pack.heatmap.len() + 2;
    h.push_str("<section id=\"heatmap\"><h2>Coverage heat map</h2>\n<p class=\"note\">HS process × standard: the worst state of the standard's shared clauses on the process (not conforming, partially, not assessed, conforming, not applicable); the figure is conforming / clauses. A cell links to the programme line.</p>\n");
    writeln!(
        h,
        "<svg role=\"img\" aria-label=\"Coverage heat map\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    )?;
    for (c, s) in pack.standards.iter().enumerate() {
        writeln!(
            h,
            "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            LABEL_W + CELL_W * c + CELL_W / 2,
            esc(s.key())
        )?;
    }
    let linked: Vec<&str> = pack
        .programme
        .iter()
        .filter_map(|l| l.hs.first().map(String::as_str))
        .collect();
    for (r, row) in pack.heatmap.iter().enumerate() {
        let y = TOP + CELL_H * r;
        writeln!(
            h,
            "<text x=\"4\" y=\"{}\">{} {}</text>",
            y + 16,
            esc(&row.hs),
            esc(&clip(&row.title, 48))
        )?;
        for (c, cell) in row.cells.iter().enumerate() {
            let x = LABEL_W + CELL_W * c;
            let state = cell.state.map_or("no shared clause", |s| s.as_str());
            let label = if cell.clauses == 0 {
                "—".to_string()
            } else {
                format!("{}/{}", cell.conforming, cell.clauses)
            };
            let open = linked.contains(&row.hs.as_str());
            if open {
                write!(h, "<a href=\"#{}\">", anchor("hs", &row.hs))?;
            }
            writeln!(
                h,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ffffff\"><title>{} on HS {}: {}</title></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                CELL_W,
                CELL_H,
                heat_colour(cell.state),
                esc(cell.standard.key()),
                esc(&row.hs),
                esc(state),
                x + CELL_W / 2,
                y + 16,
                esc(&label)
            )?;
            if open {
                h.push_str("</a>");
            }
        }
    }
    h.push_str("</svg>\n<p class=\"note\">");
    for s in Conformity::ALL {
        write!(h, "{} ", state_span(s))?;
    }
    h.push_str("</p></section>\n");
    Ok(())
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn clauses_cell(line: &ProgrammeLine) -> String {
    line.clauses
        .iter()
        .map(|c| esc(&c.label()))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn programme(pack: &AuditPack, h: &mut String) -> std::fmt::Result {
    h.push_str("<section id=\"programme\"><h2>Integrated audit programme</h2>\n<p class=\"note\">One line per shared HS process, audited once for every standard listed; the order suggests the sequence by effort weight (heaviest first). Weight = 1 + 0.25 × (standards − 1) + exposure ÷ 25.</p>\n<table><thead><tr><th>Order</th><th>HS</th><th>Process</th><th>Clauses covered</th><th>Records</th><th>Open items</th><th>Weight</th><th>Evidence</th></tr></thead><tbody>\n");
    for line in &pack.programme {
        let hs = line.hs.first().map(String::as_str).unwrap_or_default();
        writeln!(
            h,
            "<tr id=\"{}\"><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td><a href=\"#{}\">evidence</a></td></tr>",
            anchor("hs", hs),
            line.order,
            esc(hs),
            esc(&line.title),
            clauses_cell(line),
            line.records,
            line.open_items,
            line.weight,
            anchor("ev", hs)
        )?;
    }
    h.push_str("</tbody></table></section>\n");
    Ok(())
}

fn discipline(pack: &AuditPack, h: &mut String, limit: usize) -> std::fmt::Result {
    h.push_str("<section id=\"discipline\"><h2>Discipline-specific clauses</h2>\n<p class=\"note\">Audited per standard, not shared: extension and annex clauses.</p>\n<table><thead><tr><th>Order</th><th>Standard</th><th>Clause</th><th>Anchored to HS</th><th>Clauses covered</th><th>Records</th><th>Open items</th><th>Weight</th></tr></thead><tbody>\n");
    for line in pack.discipline.iter().take(limit) {
        let (standard, first) = line
            .clauses
            .first()
            .map(|c| (c.standard.key(), c.clause.as_str()))
            .unwrap_or_default();
        writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td></tr>",
            line.order,
            esc(standard),
            esc(first),
            esc(&line.title),
            esc(&line.hs.join(", ")),
            clauses_cell(line),
            line.records,
            line.open_items,
            line.weight
        )?;
    }
    h.push_str("</tbody></table>\n");
    more(h, pack.discipline.len().min(limit), pack.discipline.len())?;
    h.push_str("</section>\n");
    Ok(())
}

fn gaps(pack: &AuditPack, h: &mut String, limit: usize) -> std::fmt::Result {
    let gaps: Vec<_> = pack
        .coverage
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                Conformity::NotConforming
                    | Conformity::PartiallyConforming
                    | Conformity::NotAssessed
            )
        })
        .collect();
    h.push_str("<section id=\"gaps\"><h2>Gaps</h2>\n<p class=\"note\">Clauses not (fully) conforming or not assessed, with the records and crosswalk paths their state came from.</p>\n<table><thead><tr><th>Standard</th><th>Clause</th><th>Title</th><th>HS</th><th>State</th><th>Derived from</th></tr></thead><tbody>\n");
    for c in gaps.iter().take(limit) {
        let basis: Vec<String> = c.basis.iter().map(|b| esc(&b.path)).collect();
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"path\">{}</td></tr>",
            esc(c.standard.key()),
            esc(&c.clause),
            esc(&c.title),
            esc(&c.hs.join(", ")),
            state_span(c.state),
            basis.join("\n")
        )?;
    }
    h.push_str("</tbody></table>\n");
    more(h, gaps.len().min(limit), gaps.len())?;
    h.push_str("</section>\n");
    Ok(())
}

fn open_items(pack: &AuditPack, h: &mut String, limit: usize) -> std::fmt::Result {
    h.push_str("<section id=\"open-items\"><h2>Open items</h2>\n<table><thead><tr><th>HS</th><th>Kind</th><th>Title</th><th>Reasons</th><th>Owner</th><th>Due</th><th>Days overdue</th><th>Source</th></tr></thead><tbody>\n");
    for o in pack.open_items.iter().take(limit) {
        let reasons: Vec<&str> = o.reasons.iter().map(|r| r.as_str()).collect();
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{} <span class=\"note\">{}</span></td></tr>",
            esc(&o.hs.join(", ")),
            esc(o.kind.as_str()),
            esc(&o.title),
            esc(&reasons.join(", ")),
            esc(o.owner.as_deref().unwrap_or("—")),
            o.due.map(|d| d.to_string()).unwrap_or_default(),
            o.days_overdue.map(|d| d.to_string()).unwrap_or_default(),
            esc(&o.system),
            esc(&o.location)
        )?;
    }
    h.push_str("</tbody></table>\n");
    more(h, pack.open_items.len().min(limit), pack.open_items.len())?;
    h.push_str("</section>\n");
    Ok(())
}

fn maturity(pack: &AuditPack, h: &mut String) -> std::fmt::Result {
    h.push_str("<section id=\"maturity\"><h2>Maturity</h2>\n<p class=\"note\">Levels from the <a href=\"#criteria\">criteria</a> below; the trend compares with the previous pack in the same folder.</p>\n<table><thead><tr><th>HS</th><th>Process</th><th>Level</th><th>Previous</th><th>Trend</th><th>Not met</th></tr></thead><tbody>\n");
    for m in &pack.maturity {
        let trend = m.trend.map_or("—", Trend::as_str);
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td><span class=\"state {}\">{}</span></td><td>{}</td></tr>",
            esc(&m.hs),
            esc(&m.title),
            m.level,
            esc(m.level_name),
            m.previous.map(|p| p.to_string()).unwrap_or_default(),
            esc(trend),
            esc(trend),
            esc(&m.unmet.join(", "))
        )?;
    }
    h.push_str("</tbody></table>\n<h3 id=\"criteria\">Criteria</h3>\n<table><thead><tr><th>Level</th><th>Criterion</th><th>Description</th></tr></thead><tbody>\n<tr><td>1 ad hoc</td><td>—</td><td>Every process starts here.</td></tr>\n");
    for c in MATURITY_CRITERIA {
        writeln!(
            h,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            c.level,
            esc(crate::maturity::level_name(c.level)),
            esc(c.id),
            esc(c.description)
        )?;
    }
    h.push_str("</tbody></table></section>\n");
    Ok(())
}

fn evidence(pack: &AuditPack, h: &mut String, limit: usize) -> std::fmt::Result {
    h.push_str("<section id=\"evidence\"><h2>Evidence index</h2>\n");
    let groups = pack.programme.len() + 1;
    // The page stays readable: each process shows its share of the row limit, flagged
    // evidence first; the workbook lists everything.
    let per_group = (limit / groups).max(10);
    for (i, line) in pack.programme.iter().enumerate() {
        let hs = line.hs.first().map(String::as_str).unwrap_or_default();
        writeln!(
            h,
            "<h3 id=\"{}\">HS {} {}</h3>",
            anchor("ev", hs),
            esc(hs),
            esc(&line.title)
        )?;
        let items: Vec<&EvidenceItem> = pack.evidence_of_line(i).collect();
        evidence_table(h, &items, per_group)?;
    }
    let unmapped: Vec<&EvidenceItem> = pack.unmapped_evidence().collect();
    if !unmapped.is_empty() {
        h.push_str("<h3 id=\"ev-unmapped\">Records naming no clause</h3>\n");
        evidence_table(h, &unmapped, per_group)?;
    }
    h.push_str("</section>\n");
    Ok(())
}

fn evidence_table(h: &mut String, items: &[&EvidenceItem], limit: usize) -> std::fmt::Result {
    if items.is_empty() {
        h.push_str("<p class=\"note\">No evidence in scope.</p>\n");
        return Ok(());
    }
    let mut sorted: Vec<&EvidenceItem> = items.to_vec();
    sorted.sort_by_key(|e| !e.flag.is_flagged());
    h.push_str("<table><thead><tr><th>Kind</th><th>Title</th><th>Source</th><th>Clauses</th><th>Link / evidence</th><th>Date</th><th>Age (days)</th><th>Flag</th></tr></thead><tbody>\n");
    for e in sorted.iter().take(limit) {
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} <span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td><span class=\"state {}\">{}</span></td></tr>",
            esc(e.kind.as_str()),
            esc(&e.title),
            esc(&e.system),
            esc(&e.location),
            esc(&e.clauses.join(", ")),
            esc(e.link.as_deref().unwrap_or_default()),
            e.dated.map(|d| d.to_string()).unwrap_or_default(),
            e.age_days.map(|d| d.to_string()).unwrap_or_default(),
            e.flag.as_str(),
            e.flag.as_str()
        )?;
    }
    h.push_str("</tbody></table>\n");
    more(h, items.len().min(limit), items.len())
}
