//! The sample registers committed under `examples/` as quickstart data, and what importing
//! them must yield.
//!
//! Regenerate them with `cargo run -p imsbridge-e2e --bin make-examples`. The output is
//! byte-for-byte reproducible (fixed document dates, no randomness), so regenerating without a
//! change in this module leaves git clean, and a test can tell when the committed copies are
//! stale.

mod data;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{
    Color, DataValidation, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder,
    Formula, Workbook, Worksheet,
};

pub use data::*;

use crate::Error;
use crate::registers::{CsvStyle, write_register_csv_styled};

pub const ISMS_FILE: &str = "isms-risk-register.xlsx";
pub const CAPA_FILE: &str = "qms-capa-register.csv";
pub const ERM_FILE: &str = "erm-risk-register.xlsx";
pub const AI_FILE: &str = "ai-risk-register.xlsx";
pub const SOA_FILE: &str = "statement-of-applicability.xlsx";

/// Every file [`write_all`] writes, in the order it writes them.
pub const FILES: [&str; 5] = [ISMS_FILE, CAPA_FILE, ERM_FILE, AI_FILE, SOA_FILE];

pub const ISMS_SHEET: &str = "Risks";
/// The spreadsheet row (1-based, as Excel shows it) of the first risk: two title rows, a blank
/// row and the two-row header come first.
pub const ISMS_FIRST_ROW: u32 = 6;

pub const ERM_SHEET: &str = "Risk Register";
pub const AI_RISKS_SHEET: &str = "AI Risks";
pub const AI_SYSTEMS_SHEET: &str = "AI Systems";
pub const SOA_SHEET: &str = "SoA";
pub const ASSESSMENT_SHEET: &str = "Clause Assessment";

pub const CAPA_HEADER: [&str; 13] = [
    "NC ID",
    "Date Raised",
    "Source",
    "Description",
    "Clause",
    "Severity",
    "Root Cause",
    "Correction",
    "Corrective Action",
    "Action Owner",
    "Due Date",
    "Status",
    "Effectiveness Check",
];

pub const ERM_HEADER: [&str; 9] = [
    "Ref",
    "Risk",
    "Category",
    "Probability",
    "Consequence",
    "Risk Rating",
    "Risk Response",
    "Owner",
    "Next Review",
];

pub const AI_RISKS_HEADER: [&str; 12] = [
    "ID",
    "AI System",
    "Risk",
    "Description",
    "AI Risk Category",
    "ISO 42001 Ref",
    "Likelihood",
    "Impact",
    "Treatment",
    "Treatment Plan",
    "Owner",
    "Due Date",
];

pub const AI_SYSTEMS_HEADER: [&str; 8] = [
    "System ID",
    "AI System",
    "Purpose",
    "Role",
    "Lifecycle Stage",
    "Model Type",
    "Risk Tier",
    "Owner",
];

pub const SOA_HEADER: [&str; 6] = [
    "Control ID",
    "Control",
    "Applicable",
    "Justification",
    "Implementation Status",
    "Evidence",
];

pub const ASSESSMENT_HEADER: [&str; 5] = ["Standard", "Clause", "Result", "Evidence", "Assessor"];

/// Writes every sample register into `dir` (created if missing) and returns their paths.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir)?;
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    let [isms, capa, erm, ai, soa] = paths.as_slice() else {
        return Err(Error::Invalid("FILES and the writers disagree".into()));
    };
    write_isms(isms)?;
    write_capa(capa)?;
    write_erm(erm)?;
    write_ai(ai)?;
    write_soa(soa)?;
    Ok(paths)
}

/// How many records of each kind importing all examples yields (kind names as the CLI's JSON
/// writes them). Derived from the tables above, not from running the tool.
pub fn expected_counts() -> BTreeMap<&'static str, u64> {
    let n = |len: usize| len as u64;
    BTreeMap::from([
        (
            "risk",
            n(ISMS_RISKS.len() + ERM_RISKS.len() + AI_RISKS.len()),
        ),
        ("nonconformity", n(CAPAS.len())),
        ("control", n(SOA_CONTROLS.len())),
        ("requirement_assessment", n(ASSESSMENTS.len())),
        ("ai_system", n(AI_SYSTEMS.len())),
    ])
}

/// The number of records importing all examples yields.
pub fn expected_total() -> u64 {
    expected_counts().values().sum()
}

/// The spreadsheet row (1-based) of `ISMS_RISKS[index]`.
pub fn isms_row(index: usize) -> u32 {
    ISMS_FIRST_ROW + index as u32
}

/// Whether the ISMS row writes likelihood and impact as words ("3 - Possible") rather than
/// plain numbers: every third row, as in registers filled by several people.
pub fn isms_uses_words(index: usize) -> bool {
    index.is_multiple_of(3)
}

/// Document properties with a fixed creation date, so the files are reproducible.
fn properties(title: &str, company: &str) -> Result<DocProperties, Error> {
    let created = ExcelDateTime::from_ymd(2026, 10, 1)?;
    Ok(DocProperties::new()
        .set_title(title)
        .set_company(company)
        .set_author("imsbridge sample data")
        .set_creation_datetime(&created))
}

fn excel_date((y, m, d): Ymd) -> Result<ExcelDateTime, Error> {
    let bad = || Error::Invalid(format!("bad fixture date {y}-{m}-{d}"));
    let y = u16::try_from(y).map_err(|_| bad())?;
    let m = u8::try_from(m).map_err(|_| bad())?;
    let d = u8::try_from(d).map_err(|_| bad())?;
    Ok(ExcelDateTime::from_ymd(y, m, d)?)
}

/// 25.03.2026: the day-first dotted form German registers use.
fn dotted((y, m, d): Ymd) -> String {
    format!("{d:02}.{m:02}.{y}")
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00D9_E1F2))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap()
}

fn write_header(ws: &mut Worksheet, header: &[&str], format: &Format) -> Result<(), Error> {
    for (col, name) in header.iter().enumerate() {
        ws.write_string_with_format(0, crate::registers::col_num(col)?, *name, format)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn set_widths(ws: &mut Worksheet, widths: &[f64]) -> Result<(), Error> {
    for (col, width) in widths.iter().enumerate() {
        ws.set_column_width(crate::registers::col_num(col)?, *width)?;
    }
    Ok(())
}

fn scale_word(words: &[&'static str; 5], value: u8) -> Result<&'static str, Error> {
    usize::from(value)
        .checked_sub(1)
        .and_then(|i| words.get(i))
        .copied()
        .ok_or_else(|| Error::Invalid(format!("{value} is not on the 1-5 scale")))
}

/// Writes likelihood, impact and score into three adjacent columns starting at `col`: words and
/// a typed-in score, or numbers and a `=F6*G6` formula with its cached result.
fn write_rating(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    (likelihood, impact): (u8, u8),
    words: bool,
) -> Result<(), Error> {
    let score = f64::from(likelihood) * f64::from(impact);
    if words {
        ws.write_string(row, col, scale_word(&LIKELIHOOD_WORDS, likelihood)?)?;
        ws.write_string(row, col + 1, scale_word(&IMPACT_WORDS, impact)?)?;
        ws.write_number(row, col + 2, score)?;
    } else {
        ws.write_number(row, col, f64::from(likelihood))?;
        ws.write_number(row, col + 1, f64::from(impact))?;
        let l = rust_xlsxwriter::utility::row_col_to_cell(row, col);
        let i = rust_xlsxwriter::utility::row_col_to_cell(row, col + 1);
        let formula = Formula::new(format!("={l}*{i}")).set_result(format!("{score}"));
        ws.write_formula(row, col + 2, formula)?;
    }
    Ok(())
}

fn write_isms(path: &Path) -> Result<(), Error> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties(
        "Information Security Risk Register",
        "Acme Data Services GmbH",
    )?);
    let title = Format::new().set_bold().set_font_size(14);
    let header = header_format();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let top = Format::new().set_align(FormatAlign::Top).set_text_wrap();

    let ws = wb.add_worksheet();
    ws.set_name("Instructions")?;
    ws.set_column_width(0, 100)?;
    let lines = [
        "How to maintain this register",
        "",
        "1. One row per risk. Never reuse a Risk ID, even after a risk is closed.",
        "2. Rate likelihood and impact from 1 to 5 (see the Lists sheet for the words).",
        "3. Score = Likelihood x Impact. Residual ratings assume the mitigation plan is done.",
        "4. Treatment is one of Mitigate, Accept, Transfer or Avoid.",
        "5. Clause: the ISO/IEC 27001:2022 or ISO/IEC 42001:2023 clause or Annex A control.",
        "6. The ISMS coordinator reviews the register every quarter.",
    ];
    for (row, line) in (0u32..).zip(lines) {
        if row == 0 {
            ws.write_string_with_format(row, 0, line, &title)?;
        } else if !line.is_empty() {
            ws.write_string(row, 0, line)?;
        }
    }

    let ws = wb.add_worksheet();
    ws.set_name(ISMS_SHEET)?;
    ws.write_string_with_format(0, 0, "Information Security Risk Register", &title)?;
    ws.write_string(1, 0, "Acme Data Services GmbH — last review 2026-10-01")?;
    // Row 3 stays blank; the header takes rows 4 and 5 (0-based 3 and 4).
    let (group_row, name_row) = (ISMS_FIRST_ROW - 3, ISMS_FIRST_ROW - 2);
    for (col, name) in [
        (0, "Risk ID"),
        (1, "Risk Title"),
        (2, "Description"),
        (3, "Risk Owner"),
        (4, "Clause"),
        (8, "Treatment"),
        (9, "Mitigation Plan"),
        (13, "Due Date"),
        (14, "Status"),
    ] {
        ws.merge_range(group_row, col, name_row, col, name, &header)?;
    }
    ws.merge_range(group_row, 5, group_row, 7, "Inherent", &header)?;
    ws.merge_range(group_row, 10, group_row, 12, "Residual", &header)?;
    for (col, name) in [
        (5, "Likelihood"),
        (6, "Impact"),
        (7, "Score"),
        (10, "Likelihood"),
        (11, "Impact"),
        (12, "Score"),
    ] {
        ws.write_string_with_format(name_row, col, name, &header)?;
    }
    let (merged_first, merged_second) = ISMS_MERGED_OWNER;
    for (index, risk) in ISMS_RISKS.iter().enumerate() {
        let row = isms_row(index) - 1;
        let words = isms_uses_words(index);
        ws.write_string(row, 0, risk.id)?;
        ws.write_string_with_format(row, 1, risk.title, &top)?;
        ws.write_string_with_format(row, 2, risk.description, &top)?;
        if index == merged_first {
            ws.merge_range(row, 3, row + 1, 3, risk.owner, &top)?;
        } else if index != merged_second {
            ws.write_string_with_format(row, 3, risk.owner, &top)?;
        }
        ws.write_string(row, 4, risk.clause)?;
        write_rating(ws, row, 5, risk.inherent, words)?;
        ws.write_string(row, 8, risk.treatment)?;
        ws.write_string_with_format(row, 9, risk.plan, &top)?;
        write_rating(ws, row, 10, risk.residual, words)?;
        ws.write_datetime_with_format(row, 13, excel_date(risk.due)?, &date)?;
        ws.write_string(row, 14, risk.status)?;
    }
    let first = ISMS_FIRST_ROW - 1;
    let last = isms_row(ISMS_RISKS.len() - 1) - 1;
    let treatments = DataValidation::new().allow_list_formula(Formula::new("=Lists!$C$2:$C$5"));
    ws.add_data_validation(first, 8, last, 8, &treatments)?;
    let statuses = DataValidation::new().allow_list_formula(Formula::new("=Lists!$D$2:$D$5"));
    ws.add_data_validation(first, 14, last, 14, &statuses)?;
    set_widths(
        ws,
        &[
            9.0, 36.0, 50.0, 30.0, 26.0, 14.0, 14.0, 7.0, 11.0, 40.0, 14.0, 14.0, 7.0, 12.0, 12.0,
        ],
    )?;
    ws.set_freeze_panes(ISMS_FIRST_ROW - 1, 2)?;

    // The lookup sheet the dropdowns read from; it is not a register.
    let ws = wb.add_worksheet();
    ws.set_name("Lists")?;
    write_header(
        ws,
        &["Likelihood", "Impact", "Treatment", "Status"],
        &header,
    )?;
    for (row, (l, i)) in (1u32..).zip(LIKELIHOOD_WORDS.iter().zip(IMPACT_WORDS)) {
        ws.write_string(row, 0, *l)?;
        ws.write_string(row, 1, i)?;
    }
    for (row, t) in (1u32..).zip(["Mitigate", "Accept", "Transfer", "Avoid"]) {
        ws.write_string(row, 2, t)?;
    }
    for (row, s) in (1u32..).zip(["Open", "In progress", "Monitoring", "Closed"]) {
        ws.write_string(row, 3, s)?;
    }
    set_widths(ws, &[20.0, 16.0, 12.0, 12.0])?;
    wb.save(path)?;
    Ok(())
}

fn write_capa(path: &Path) -> Result<(), Error> {
    let rows = CAPAS.iter().map(|c| {
        vec![
            c.id.to_owned(),
            dotted(c.raised),
            c.source.to_owned(),
            c.description.to_owned(),
            c.clause.to_owned(),
            c.severity.to_owned(),
            c.root_cause.to_owned(),
            c.correction.to_owned(),
            c.corrective_action.to_owned(),
            c.owner.to_owned(),
            dotted(c.due),
            c.status.to_owned(),
            c.effectiveness.to_owned(),
        ]
    });
    // Excel's "CSV UTF-8" export in a German locale: BOM, semicolons, CRLF.
    let style = CsvStyle {
        delimiter: b';',
        bom: true,
        crlf: true,
    };
    write_register_csv_styled(path, &CAPA_HEADER, rows, style)?;
    Ok(())
}

fn write_erm(path: &Path) -> Result<(), Error> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties(
        "Enterprise Risk Register",
        "Harbourline Logistics plc",
    )?);
    let header = header_format();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = wb.add_worksheet();
    ws.set_name(ERM_SHEET)?;
    write_header(ws, &ERM_HEADER, &header)?;
    for (row, r) in (1u32..).zip(ERM_RISKS.iter()) {
        for (col, text) in (0u16..).zip([
            r.reference,
            r.risk,
            r.category,
            r.probability,
            r.consequence,
            r.rating,
            r.response,
            r.owner,
        ]) {
            ws.write_string(row, col, text)?;
        }
        ws.write_datetime_with_format(row, 8, excel_date(r.next_review)?, &date)?;
    }
    set_widths(ws, &[8.0, 44.0, 12.0, 12.0, 13.0, 12.0, 14.0, 26.0, 12.0])?;
    wb.save(path)?;
    Ok(())
}

fn write_ai(path: &Path) -> Result<(), Error> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties("AI Risk Register", "Acme Data Services GmbH")?);
    let header = header_format();
    let date = Format::new().set_num_format("yyyy-mm-dd");

    let ws = wb.add_worksheet();
    ws.set_name(AI_RISKS_SHEET)?;
    write_header(ws, &AI_RISKS_HEADER, &header)?;
    for (row, r) in (1u32..).zip(AI_RISKS.iter()) {
        for (col, text) in (0u16..).zip([
            r.id,
            r.system,
            r.risk,
            r.description,
            r.category,
            r.reference,
        ]) {
            ws.write_string(row, col, text)?;
        }
        ws.write_number(row, 6, f64::from(r.likelihood))?;
        ws.write_number(row, 7, f64::from(r.impact))?;
        ws.write_string(row, 8, r.treatment)?;
        ws.write_string(row, 9, r.plan)?;
        ws.write_string(row, 10, r.owner)?;
        ws.write_datetime_with_format(row, 11, excel_date(r.due)?, &date)?;
    }
    set_widths(
        ws,
        &[
            8.0, 13.0, 36.0, 50.0, 20.0, 14.0, 10.0, 8.0, 10.0, 44.0, 34.0, 12.0,
        ],
    )?;

    let ws = wb.add_worksheet();
    ws.set_name(AI_SYSTEMS_SHEET)?;
    write_header(ws, &AI_SYSTEMS_HEADER, &header)?;
    for (row, s) in (1u32..).zip(AI_SYSTEMS.iter()) {
        for (col, text) in (0u16..).zip([
            s.id,
            s.name,
            s.purpose,
            s.role,
            s.stage,
            s.model_type,
            s.tier,
            s.owner,
        ]) {
            ws.write_string(row, col, text)?;
        }
    }
    set_widths(ws, &[10.0, 13.0, 60.0, 10.0, 26.0, 30.0, 10.0, 34.0])?;
    wb.save(path)?;
    Ok(())
}

fn write_soa(path: &Path) -> Result<(), Error> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties(
        "Statement of Applicability",
        "Acme Data Services GmbH",
    )?);
    let header = header_format();

    let ws = wb.add_worksheet();
    ws.set_name(SOA_SHEET)?;
    write_header(ws, &SOA_HEADER, &header)?;
    for (row, c) in (1u32..).zip(SOA_CONTROLS.iter()) {
        for (col, text) in (0u16..).zip([
            c.id,
            c.control,
            c.applicable,
            c.justification,
            c.status,
            c.evidence,
        ]) {
            if !text.is_empty() {
                ws.write_string(row, col, text)?;
            }
        }
    }
    set_widths(ws, &[14.0, 40.0, 11.0, 60.0, 20.0, 44.0])?;

    let ws = wb.add_worksheet();
    ws.set_name(ASSESSMENT_SHEET)?;
    write_header(ws, &ASSESSMENT_HEADER, &header)?;
    for (row, a) in (1u32..).zip(ASSESSMENTS.iter()) {
        for (col, text) in (0u16..).zip([a.standard, a.clause, a.result, a.evidence, a.assessor]) {
            ws.write_string(row, col, text)?;
        }
    }
    set_widths(ws, &[20.0, 8.0, 20.0, 56.0, 30.0])?;
    wb.save(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use imsbridge_model::{
        AiRiskCategory, AiRiskTier, ClauseRef, Conformity, ImplementationStatus, StandardId,
        Treatment,
    };

    use super::*;

    fn assert_unique<'a>(what: &str, ids: impl IntoIterator<Item = &'a str>) {
        let mut seen = BTreeSet::new();
        for id in ids {
            assert!(seen.insert(id), "{what}: duplicate id {id}");
        }
    }

    #[test]
    fn ids_are_unique_per_register() {
        assert_unique("isms", ISMS_RISKS.iter().map(|r| r.id));
        assert_unique("capa", CAPAS.iter().map(|r| r.id));
        assert_unique("erm", ERM_RISKS.iter().map(|r| r.reference));
        assert_unique("ai risks", AI_RISKS.iter().map(|r| r.id));
        assert_unique("ai systems", AI_SYSTEMS.iter().map(|r| r.id));
        assert_unique("soa", SOA_CONTROLS.iter().map(|r| r.id));
        let keys: Vec<String> = ASSESSMENTS
            .iter()
            .map(|a| format!("{} {}", a.standard, a.clause))
            .collect();
        assert_unique("assessments", keys.iter().map(String::as_str));
    }

    #[test]
    fn merged_owner_rows_share_their_owner() {
        let (a, b) = ISMS_MERGED_OWNER;
        assert_eq!(b, a + 1);
        assert_eq!(ISMS_RISKS[a].owner, ISMS_RISKS[b].owner);
    }

    /// The examples are meant to import cleanly: every value must be one the model reads.
    #[test]
    fn every_value_reads_with_the_model() {
        for r in &ISMS_RISKS {
            // Each clause cell names its standard up front, so no default is needed.
            let (refs, unparsed) = ClauseRef::parse_list(r.clause, None);
            assert!(
                unparsed.is_empty() && !refs.is_empty(),
                "{}: {}",
                r.id,
                r.clause
            );
            assert!(Treatment::parse(r.treatment).is_ok(), "{}", r.id);
            for v in [r.inherent.0, r.inherent.1, r.residual.0, r.residual.1] {
                assert!((1..=5).contains(&v), "{}", r.id);
            }
        }
        for c in &CAPAS {
            let (refs, unparsed) = ClauseRef::parse_list(c.clause, None);
            assert!(
                unparsed.is_empty() && !refs.is_empty(),
                "{}: {}",
                c.id,
                c.clause
            );
            assert!(refs.iter().all(|r| r.standard == StandardId::Iso9001));
        }
        for r in &ERM_RISKS {
            assert!(Treatment::parse(r.response).is_ok(), "{}", r.reference);
        }
        for r in &AI_RISKS {
            let (refs, unparsed) = ClauseRef::parse_list(r.reference, Some(StandardId::Iso42001));
            assert!(unparsed.is_empty() && !refs.is_empty(), "{}", r.id);
            assert!(AiRiskCategory::parse(r.category).is_ok(), "{}", r.id);
            assert!(Treatment::parse(r.treatment).is_ok(), "{}", r.id);
            assert!((1..=3).contains(&r.likelihood) && (1..=3).contains(&r.impact));
            assert!(AI_SYSTEMS.iter().any(|s| s.name == r.system), "{}", r.id);
        }
        for s in &AI_SYSTEMS {
            assert!(AiRiskTier::parse(s.tier).is_ok(), "{}", s.id);
        }
        for c in &SOA_CONTROLS {
            let parsed = ClauseRef::parse(c.id, Some(StandardId::Iso27001)).unwrap();
            assert!(parsed.is_annex(), "{}", c.id);
            if !c.status.is_empty() {
                assert!(ImplementationStatus::parse(c.status).is_ok(), "{}", c.id);
            }
            assert_eq!(c.status.is_empty(), c.applicable == "No", "{}", c.id);
        }
        for a in &ASSESSMENTS {
            let standard: StandardId = a.standard.parse().unwrap();
            assert!(ClauseRef::parse(a.clause, Some(standard)).is_ok());
            assert!(Conformity::parse(a.result).is_ok(), "{}", a.result);
        }
    }

    #[test]
    fn a_few_risks_are_about_ai() {
        let chatbot = ISMS_RISKS
            .iter()
            .find(|r| r.title == "LLM chatbot leaks customer data")
            .unwrap();
        assert!(chatbot.clause.starts_with("42001 6.1.2"));
        let ai = ISMS_RISKS
            .iter()
            .filter(|r| r.clause.contains("42001"))
            .count();
        assert!((3..10).contains(&ai), "{ai}");
    }

    #[test]
    fn output_is_reproducible_and_counts_add_up() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let written = write_all(a.path()).unwrap();
        write_all(b.path()).unwrap();
        assert_eq!(written.len(), FILES.len());
        for file in FILES {
            let x = std::fs::read(a.path().join(file)).unwrap();
            let y = std::fs::read(b.path().join(file)).unwrap();
            assert!(x == y, "{file} differs between two runs");
        }
        assert_eq!(expected_total(), 40 + 20 + 15 + 25 + 30 + 24 + 6);
    }

    #[test]
    fn capa_csv_is_a_german_excel_export() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path()).unwrap();
        let bytes = std::fs::read(dir.path().join(CAPA_FILE)).unwrap();
        assert!(bytes.starts_with("\u{feff}NC ID;Date Raised;".as_bytes()));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(";25.03.2026;"));
        // The multi-line description is quoted with its line break inside.
        assert!(text.contains("\"Incoming inspection found cracked castings in lot 2208.\nThe"));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(reader.records().count(), CAPAS.len());
    }
}
