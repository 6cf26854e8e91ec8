//! `audit-pack.xlsx`: one sheet per view, each with a frozen, filterable header row, set
//! column widths and colours for states. Sheets are written in constant-memory mode (row by
//! row to temporary files), so a pack of any size writes in bounded memory.

use std::path::Path;

use imsbridge_model::Conformity;
use rust_xlsxwriter::{
    Color, ConditionalFormat3ColorScale, ConditionalFormatCell, ConditionalFormatCellRule,
    ConditionalFormatType, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::neutralise;
use crate::maturity::MATURITY_CRITERIA;
use crate::pack::{EvidenceItem, ProgrammeLine, StateCounts};
use crate::{AuditError, AuditPack};

/// Excel's limit on the characters in one cell.
const CELL_MAX: usize = 32_767;

/// Writes the workbook to `path` on two threads: a spawned one fills the Evidence sheet (one
/// row per record, most of the workbook's cells), then compresses the workbook; this one
/// writes the other sheets, hands them over, and runs `meanwhile` (the pack's other files)
/// while the evidence is still being written. Returns the workbook's result and `meanwhile`'s.
pub(super) fn write<T>(
    pack: &AuditPack,
    path: &Path,
    meanwhile: impl FnOnce() -> T,
) -> (Result<(), AuditError>, T) {
    let err = |source| AuditError::Xlsx {
        path: path.to_path_buf(),
        source,
    };
    let mut wb = Workbook::new();
    // Level 1 deflate: a workbook about a tenth larger than at the default level 6, written
    // several times faster (compression is most of the time a large workbook takes).
    wb.set_zip_compression_level(1);
    let styles = Styles::new();
    // Standalone sheets, filled on either thread; they join the workbook in reading order.
    let blanks = (|| {
        let mut blank = || wb.new_worksheet_with_constant_memory();
        Ok::<_, XlsxError>([blank()?, blank()?, blank()?, blank()?, blank()?, blank()?])
    })();
    let [
        summary_ws,
        programme_ws,
        coverage_ws,
        evidence_ws,
        open_items_ws,
        maturity_ws,
    ] = match blanks {
        Ok(sheets) => sheets,
        Err(e) => return (Err(err(e)), meanwhile()),
    };
    std::thread::scope(|scope| {
        let (sheets_tx, sheets_rx) = std::sync::mpsc::channel::<Result<[Worksheet; 5], _>>();
        let styles = &styles;
        let workbook = scope.spawn(move || {
            let evidence_ws = evidence(evidence_ws, pack, styles).map_err(err)?;
            let others = sheets_rx.recv().map_err(|_| AuditError::Panicked {
                what: "workbook writer",
            })?;
            let [s, p, c, o, m] = others.map_err(err)?;
            for ws in [s, p, c, evidence_ws, o, m] {
                wb.push_worksheet(ws);
            }
            wb.save(path).map_err(err)
        });
        let others = (|| {
            Ok::<_, XlsxError>([
                summary(summary_ws, pack, styles)?,
                programme(programme_ws, pack, styles)?,
                coverage(coverage_ws, pack, styles)?,
                open_items(open_items_ws, pack, styles)?,
                maturity(maturity_ws, pack, styles)?,
            ])
        })();
        // A send fails only when the workbook thread has stopped already; its error says why.
        let _ = sheets_tx.send(others);
        let meanwhile = meanwhile();
        let workbook = workbook.join().unwrap_or(Err(AuditError::Panicked {
            what: "workbook writer (Evidence sheet)",
        }));
        (workbook, meanwhile)
    })
}

struct Styles {
    header: Format,
    wrap: Format,
    states: Vec<(&'static str, Format)>,
    bad: Format,
    warn: Format,
    good: Format,
}

impl Styles {
    fn new() -> Styles {
        let fill = |bg: u32, fg: u32| {
            Format::new()
                .set_background_color(Color::RGB(bg))
                .set_font_color(Color::RGB(fg))
        };
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0x1F_3864))
                .set_font_color(Color::White)
                .set_border_bottom(FormatBorder::Thin)
                .set_align(FormatAlign::Top),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            states: vec![
                (Conformity::Conforming.as_str(), fill(0xC6_EFCE, 0x00_6100)),
                (
                    Conformity::PartiallyConforming.as_str(),
                    fill(0xFF_EB9C, 0x9C_5700),
                ),
                (
                    Conformity::NotConforming.as_str(),
                    fill(0xFF_C7CE, 0x9C_0006),
                ),
                (
                    Conformity::NotApplicable.as_str(),
                    fill(0xED_EDED, 0x59_5959),
                ),
                (Conformity::NotAssessed.as_str(), fill(0xDD_EBF7, 0x1F_3864)),
            ],
            bad: fill(0xFF_C7CE, 0x9C_0006),
            warn: fill(0xFF_EB9C, 0x9C_5700),
            good: fill(0xC6_EFCE, 0x00_6100),
        }
    }
}

/// A worksheet being written row by row.
struct Sheet {
    ws: Worksheet,
    row: u32,
    cols: u16,
}

impl Sheet {
    fn new(
        mut ws: Worksheet,
        name: &str,
        columns: &[(&str, f64)],
        styles: &Styles,
    ) -> Result<Sheet, XlsxError> {
        ws.set_name(name)?;
        let mut col: u16 = 0;
        for (title, width) in columns {
            ws.set_column_width(col, *width)?;
            ws.write_string_with_format(0, col, *title, &styles.header)?;
            col += 1;
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(Sheet {
            ws,
            row: 1,
            cols: col,
        })
    }

    fn text(&mut self, col: u16, text: &str) -> Result<(), XlsxError> {
        if !text.is_empty() {
            self.ws
                .write_string(self.row, col, clip(&neutralise(text)))?;
        }
        Ok(())
    }

    fn wrapped(&mut self, col: u16, text: &str, styles: &Styles) -> Result<(), XlsxError> {
        if !text.is_empty() {
            self.ws.write_string_with_format(
                self.row,
                col,
                clip(&neutralise(text)),
                &styles.wrap,
            )?;
        }
        Ok(())
    }

    fn number(&mut self, col: u16, value: f64) -> Result<(), XlsxError> {
        self.ws.write_number(self.row, col, value)?;
        Ok(())
    }

    fn next(&mut self) {
        self.row += 1;
    }

    /// The last data row, when there is one.
    fn last(&self) -> Option<u32> {
        (self.row > 1).then(|| self.row - 1)
    }

    /// Autofilter over the header and the rows written.
    fn filter(&mut self) -> Result<(), XlsxError> {
        let last = self.last().unwrap_or(1);
        self.ws
            .autofilter(0, 0, last, self.cols.saturating_sub(1))?;
        Ok(())
    }

    /// Colours a column by the exact values it may hold.
    fn colour(&mut self, col: u16, rules: &[(&str, &Format)]) -> Result<(), XlsxError> {
        let Some(last) = self.last() else {
            return Ok(());
        };
        for (value, format) in rules {
            let cf = ConditionalFormatCell::new()
                .set_rule(ConditionalFormatCellRule::EqualTo(*value))
                .set_format(*format);
            self.ws.add_conditional_format(1, col, last, col, &cf)?;
        }
        Ok(())
    }

    fn colour_states(&mut self, col: u16, styles: &Styles) -> Result<(), XlsxError> {
        let rules: Vec<(&str, &Format)> = styles.states.iter().map(|(s, f)| (*s, f)).collect();
        self.colour(col, &rules)
    }
}

/// Cuts text to Excel's cell limit (on a character boundary) rather than fail the workbook.
fn clip(text: &str) -> &str {
    if text.len() <= CELL_MAX {
        return text;
    }
    let mut end = CELL_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

fn counts_text(c: &StateCounts) -> String {
    Conformity::ALL
        .iter()
        .filter(|s| c.get(**s) > 0)
        .map(|s| format!("{} {}", c.get(*s), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Summary",
        &[("Section", 26.0), ("Item", 36.0), ("Value", 70.0)],
        st,
    )?;
    let standards: Vec<&str> = pack.standards.iter().map(|s| s.designation()).collect();
    let text_rows = [
        ("Pack", "Title", pack.title.clone()),
        ("Pack", "Generated at", pack.generated_at.to_rfc3339()),
        ("Pack", "Standards", standards.join(", ")),
        ("Pack", "Scope", pack.scope.clone()),
        (
            "Pack",
            "Previous pack",
            pack.previous_generated_at
                .map_or_else(|| "none".to_string(), |t| t.to_rfc3339()),
        ),
    ];
    for (section, item, value) in &text_rows {
        s.text(0, section)?;
        s.text(1, item)?;
        s.text(2, value)?;
        s.next();
    }
    let mut numbers: Vec<(String, String, f64)> = vec![
        (
            "Pack".into(),
            "Review period (days)".into(),
            f64::from(pack.review_period_days),
        ),
        (
            "Pack".into(),
            "Records in scope".into(),
            pack.records as f64,
        ),
        (
            "Programme".into(),
            "Shared lines".into(),
            pack.programme.len() as f64,
        ),
        (
            "Programme".into(),
            "Discipline-specific lines".into(),
            pack.discipline.len() as f64,
        ),
        (
            "Open items".into(),
            "Total".into(),
            pack.open_items.len() as f64,
        ),
        (
            "Evidence".into(),
            "Items".into(),
            pack.evidence_counts.items as f64,
        ),
        (
            "Evidence".into(),
            "Flagged (stale or review overdue)".into(),
            pack.evidence_counts.flagged() as f64,
        ),
    ];
    for (standard, counts) in pack.state_counts() {
        for state in Conformity::ALL {
            numbers.push((
                format!("Coverage {}", standard.key()),
                state.as_str().to_string(),
                counts.get(state) as f64,
            ));
        }
    }
    for (system, n) in &pack.systems {
        numbers.push(("Source system".into(), system.clone(), *n as f64));
    }
    for (section, item, value) in &numbers {
        s.text(0, section)?;
        s.text(1, item)?;
        s.number(2, *value)?;
        s.next();
    }
    s.filter()?;
    Ok(s.ws)
}

fn programme(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Programme",
        &[
            ("Order", 7.0),
            ("Section", 18.0),
            ("HS clause", 10.0),
            ("Title", 44.0),
            ("Standards", 28.0),
            ("Clauses", 48.0),
            ("Records", 9.0),
            ("Open items", 10.0),
            ("Exposure", 10.0),
            ("Weight", 8.0),
        ],
        st,
    )?;
    let lines: Vec<&ProgrammeLine> = pack.programme.iter().chain(&pack.discipline).collect();
    for line in lines {
        s.number(0, line.order as f64)?;
        s.text(1, line.section.as_str())?;
        s.text(2, &line.hs.join(", "))?;
        s.text(3, &line.title)?;
        let standards: Vec<&str> = line.standards.iter().map(|x| x.key()).collect();
        s.text(4, &standards.join(", "))?;
        let clauses: Vec<String> = line.clauses.iter().map(|c| c.label()).collect();
        s.wrapped(5, &clauses.join("\n"), st)?;
        s.number(6, line.records as f64)?;
        s.number(7, line.open_items as f64)?;
        s.number(8, (line.exposure * 10.0).round() / 10.0)?;
        s.number(9, line.weight)?;
        s.next();
    }
    s.filter()?;
    Ok(s.ws)
}

fn coverage(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Coverage",
        &[
            ("Standard", 11.0),
            ("Clause", 9.0),
            ("Title", 44.0),
            ("Kind", 10.0),
            ("Discipline-specific", 10.0),
            ("HS", 10.0),
            ("State", 20.0),
            ("Contributions", 30.0),
            ("Basis", 90.0),
        ],
        st,
    )?;
    for row in &pack.coverage {
        s.text(0, row.standard.key())?;
        s.text(1, &row.clause)?;
        s.text(2, &row.title)?;
        s.text(3, &row.kind)?;
        s.text(4, if row.discipline_specific { "yes" } else { "no" })?;
        s.text(5, &row.hs.join(", "))?;
        s.text(6, row.state.as_str())?;
        s.text(7, &counts_text(&row.contributions))?;
        let basis: Vec<&str> = row.basis.iter().map(|b| b.path.as_str()).collect();
        s.wrapped(8, &basis.join("\n"), st)?;
        s.next();
    }
    s.colour_states(6, st)?;
    s.filter()?;
    Ok(s.ws)
}

/// One row per record, grouped by the first programme row it sits on (the HS column lists
/// them all, so a filter on it finds every record behind a process), then the records that
/// name no clause.
fn evidence(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Evidence",
        &[
            ("HS clauses", 12.0),
            ("Kind", 16.0),
            ("Title", 44.0),
            ("System", 18.0),
            ("Location", 30.0),
            ("External id", 14.0),
            ("Clauses", 30.0),
            ("Status", 14.0),
            ("Link / evidence", 40.0),
            ("Date", 11.0),
            ("Age (days)", 10.0),
            ("Flag", 15.0),
        ],
        st,
    )?;
    let put = |s: &mut Sheet, e: &EvidenceItem| {
        s.text(0, &e.hs.join(", "))?;
        s.text(1, e.kind.as_str())?;
        s.text(2, &e.title)?;
        s.text(3, &e.system)?;
        s.text(4, &e.location)?;
        s.text(5, &e.external_id)?;
        s.text(6, &e.clauses.join(", "))?;
        s.text(7, e.status.as_deref().unwrap_or_default())?;
        s.text(8, e.link.as_deref().unwrap_or_default())?;
        if let Some(d) = e.dated {
            s.text(9, &d.to_string())?;
        }
        if let Some(a) = e.age_days {
            s.number(10, a as f64)?;
        }
        s.text(11, e.flag.as_str())?;
        s.next();
        Ok::<(), XlsxError>(())
    };
    for (i, line) in pack.programme.iter().enumerate() {
        let hs = line.hs.first();
        for e in pack.evidence_of_line(i).filter(|e| e.hs.first() == hs) {
            put(&mut s, e)?;
        }
    }
    for e in pack.unmapped_evidence() {
        put(&mut s, e)?;
    }
    s.colour(
        11,
        &[
            ("stale", &st.warn),
            ("review_overdue", &st.bad),
            ("current", &st.good),
        ],
    )?;
    s.filter()?;
    Ok(s.ws)
}

fn open_items(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Open items",
        &[
            ("HS clauses", 12.0),
            ("Kind", 16.0),
            ("Title", 44.0),
            ("Reasons", 34.0),
            ("Severity", 18.0),
            ("Owner", 18.0),
            ("Status", 14.0),
            ("Due", 11.0),
            ("Days overdue", 12.0),
            ("System", 18.0),
            ("Location", 30.0),
            ("External id", 14.0),
            ("Clauses", 30.0),
        ],
        st,
    )?;
    for o in &pack.open_items {
        s.text(0, &o.hs.join(", "))?;
        s.text(1, o.kind.as_str())?;
        s.text(2, &o.title)?;
        let reasons: Vec<&str> = o.reasons.iter().map(|r| r.as_str()).collect();
        s.text(3, &reasons.join(", "))?;
        s.text(4, o.severity.as_deref().unwrap_or_default())?;
        s.text(5, o.owner.as_deref().unwrap_or_default())?;
        s.text(6, o.status.as_deref().unwrap_or_default())?;
        if let Some(d) = o.due {
            s.text(7, &d.to_string())?;
        }
        if let Some(d) = o.days_overdue {
            s.number(8, d as f64)?;
        }
        s.text(9, &o.system)?;
        s.text(10, &o.location)?;
        s.text(11, &o.external_id)?;
        s.text(12, &o.clauses.join(", "))?;
        s.next();
    }
    if let Some(last) = s.last() {
        let cf = ConditionalFormatCell::new()
            .set_rule(ConditionalFormatCellRule::GreaterThan(0))
            .set_format(&st.bad);
        s.ws.add_conditional_format(1, 8, last, 8, &cf)?;
    }
    s.filter()?;
    Ok(s.ws)
}

fn maturity(ws: Worksheet, pack: &AuditPack, st: &Styles) -> Result<Worksheet, XlsxError> {
    let mut s = Sheet::new(
        ws,
        "Maturity",
        &[
            ("HS clause", 10.0),
            ("Process", 44.0),
            ("Level", 7.0),
            ("Level name", 12.0),
            ("Previous", 9.0),
            ("Trend", 8.0),
            ("Criteria met", 60.0),
            ("Criteria not met", 60.0),
        ],
        st,
    )?;
    for m in &pack.maturity {
        s.text(0, &m.hs)?;
        s.text(1, &m.title)?;
        s.number(2, f64::from(m.level))?;
        s.text(3, m.level_name)?;
        if let Some(p) = m.previous {
            s.number(4, f64::from(p))?;
        }
        s.text(5, m.trend.map(|t| t.as_str()).unwrap_or_default())?;
        s.text(6, &m.met.join(", "))?;
        s.text(7, &m.unmet.join(", "))?;
        s.next();
    }
    if let Some(last) = s.last() {
        let scale = ConditionalFormat3ColorScale::new()
            .set_minimum(ConditionalFormatType::Number, 1)
            .set_midpoint(ConditionalFormatType::Number, 3)
            .set_maximum(ConditionalFormatType::Number, 5)
            .set_minimum_color(Color::RGB(0xF8_696B))
            .set_midpoint_color(Color::RGB(0xFF_EB84))
            .set_maximum_color(Color::RGB(0x63_BE7B));
        s.ws.add_conditional_format(1, 2, last, 2, &scale)?;
    }
    s.colour(5, &[("up", &st.good), ("down", &st.bad)])?;
    s.filter()?;
    // The criteria the levels were computed with, below the table (outside its filter).
    s.next();
    for (col, title) in ["Criterion", "Description", "Level"]
        .into_iter()
        .enumerate()
    {
        s.ws.write_string_with_format(s.row, col as u16, title, &st.header)?;
    }
    s.next();
    for c in MATURITY_CRITERIA {
        s.text(0, c.id)?;
        s.wrapped(1, c.description, st)?;
        s.number(2, f64::from(c.level))?;
        s.next();
    }
    Ok(s.ws)
}
