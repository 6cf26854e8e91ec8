//! Malformed and hostile inputs, each with the outcome the CLI contract promises.
//!
//! Locations follow the CLI's format: a whole file is its name (`bad-truncated.xlsx`); a cell is
//! `file.xlsx!Sheet!C7` (sheet name as written, 1-based row as the spreadsheet shows it) or
//! `file.csv!C7` (the CSV record number, the header counted as 1); a whole row is
//! `file.xlsx!Sheet!7` or `file.csv!7`. See [`location_matches`] for how an expectation matches
//! what the CLI reports.
//!
//! The register rows used here have five risks, R-101 to R-105, in spreadsheet rows 2 to 6;
//! the "probe" row R-103 (row 4) is the one each case breaks.

mod ole;
mod zip;

use std::fmt;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, Formula, Workbook, Worksheet};

use crate::Error;
use crate::registers::{Rng, col_num, write_register_csv};

/// One bad input and what must happen when it is imported.
#[derive(Debug, Clone)]
pub struct BadInput {
    /// A short unique name, for failure messages.
    pub name: &'static str,
    /// The file to import.
    pub file: PathBuf,
    /// Extra arguments after `import FILE` (`--sheet`, `--kind`, `--profile` …).
    pub args: Vec<String>,
    pub expect: Expect,
}

/// The outcome the CLI contract promises for a bad input.
///
/// `message` is matched case-insensitively as a fragment of the error, warning or reject
/// reason; `a|b` accepts either fragment (see [`message_matches`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The whole import fails: exit code 1, stderr contains `location` and `message`, and the
    /// store is unchanged.
    FileError {
        location: String,
        message: &'static str,
    },
    /// The arguments are wrong: exit code 2, stderr contains `message`, the store is unchanged.
    UsageError { message: &'static str },
    /// One row is rejected and the others import: exit code 3, the JSON report has
    /// `rejected >= 1` and `imported == imported`, and the rejects CSV has a row at `location`
    /// whose reason contains `message`.
    Rejected {
        location: String,
        message: &'static str,
        imported: u64,
    },
    /// The import completes (exit code 0, nothing rejected, `imported` rows new) with a warning
    /// at `location` whose message contains `message`.
    Warning {
        location: String,
        message: &'static str,
        imported: u64,
    },
    /// Either [`Expect::Rejected`] with `rows - 1` imported or [`Expect::Warning`] with `rows`
    /// imported: the contract leaves the choice to the importer, but the problem must be
    /// reported at `location` with `message` either way.
    RejectedOrWarning {
        location: String,
        message: &'static str,
        rows: u64,
    },
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::FileError { location, message } => {
                write!(f, "file error (exit 1) at {location}: …{message}…")
            }
            Expect::UsageError { message } => write!(f, "usage error (exit 2): …{message}…"),
            Expect::Rejected {
                location,
                message,
                imported,
            } => write!(
                f,
                "row rejected (exit 3) at {location}: …{message}…, {imported} imported"
            ),
            Expect::Warning {
                location,
                message,
                imported,
            } => write!(
                f,
                "warning (exit 0) at {location}: …{message}…, {imported} imported"
            ),
            Expect::RejectedOrWarning {
                location,
                message,
                rows,
            } => write!(
                f,
                "rejected or warned at {location}: …{message}…, of {rows} rows"
            ),
        }
    }
}

/// Whether a location the CLI reported satisfies an expected one: the same place, a narrower
/// place inside it (`f.xlsx!Risks!ALM1` inside the sheet `f.xlsx!Risks`), or, when a whole row
/// is expected (`f.csv!4`), any cell of that row (`f.csv!B4`).
pub fn location_matches(expected: &str, actual: &str) -> bool {
    if expected == actual
        || actual
            .strip_prefix(expected)
            .is_some_and(|rest| rest.starts_with('!'))
    {
        return true;
    }
    let Some((prefix, row)) = expected.rsplit_once('!') else {
        return false;
    };
    if row.is_empty() || !row.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some((actual_prefix, cell)) = actual.rsplit_once('!') else {
        return false;
    };
    let letters = cell.trim_end_matches(|c: char| c.is_ascii_digit());
    actual_prefix == prefix
        && !letters.is_empty()
        && letters.bytes().all(|b| b.is_ascii_uppercase())
        && &cell[letters.len()..] == row
}

/// Whether `text` contains one of the `|`-separated fragments of `expected`, ignoring case.
pub fn message_matches(expected: &str, text: &str) -> bool {
    let text = text.to_lowercase();
    expected
        .split('|')
        .any(|fragment| text.contains(&fragment.to_lowercase()))
}

/// The columns of the corpus's risk registers: A Risk ID … K Status.
pub const HEADER: [&str; 11] = [
    "Risk ID",
    "Risk Title",
    "Description",
    "Risk Owner",
    "Clause",
    "Likelihood",
    "Impact",
    "Score",
    "Treatment",
    "Due Date",
    "Status",
];

const ID: usize = 0;
const DESCRIPTION: usize = 2;
const CLAUSE: usize = 4;
const LIKELIHOOD: usize = 5;
const IMPACT: usize = 6;
const SCORE: usize = 7;
const TREATMENT: usize = 8;
const DUE: usize = 9;

/// The index of the probe row among the data rows; it is spreadsheet row 4.
const PROBE: usize = 2;
const PROBE_ROW: u32 = 4;
const ROWS: u64 = 5;

/// Five good risks. Likelihood and impact are written as words covering the whole 1–5 scale,
/// so the scale is evident from the good rows whatever the probe holds.
fn risk_rows() -> Vec<Vec<String>> {
    [
        [
            "R-101",
            "Phishing campaign against accounts payable",
            "Look-alike supplier invoices ask for changed bank details.",
            "Petra Lindqvist",
            "27001 6.1.2; A.6.3",
            "4 - Likely",
            "3 - Moderate",
            "12",
            "Mitigate",
            "2026-06-30",
            "Open",
        ],
        [
            "R-102",
            "Payroll export sent to the wrong recipient",
            "A payroll file is emailed outside the company by mistake.",
            "Jonas Berg",
            "27001 A.5.14",
            "2 - Unlikely",
            "4 - Major",
            "8",
            "Mitigate",
            "2026-05-31",
            "In progress",
        ],
        [
            "R-103",
            "Cloud region outage",
            "The primary cloud region is unavailable for a day.",
            "Daniel Ortiz",
            "27001 A.5.30",
            "3 - Possible",
            "5 - Severe",
            "15",
            "Transfer",
            "2026-09-30",
            "Open",
        ],
        [
            "R-104",
            "Unsupported database version",
            "The reporting database runs a version without security fixes.",
            "Mira Hoffmann",
            "27001 A.8.8",
            "5 - Almost certain",
            "2 - Minor",
            "10",
            "Avoid",
            "2026-03-31",
            "In progress",
        ],
        [
            "R-105",
            "Visitor tailgating into the office",
            "Visitors follow staff through the access gate.",
            "Anna Weber",
            "27001 A.7.2",
            "1 - Rare",
            "1 - Negligible",
            "1",
            "Accept",
            "2026-12-31",
            "Monitoring",
        ],
    ]
    .iter()
    .map(|row| row.iter().map(|c| (*c).to_owned()).collect())
    .collect()
}

/// [`risk_rows`] with the probe row's `column` set to `value`.
fn probe(column: usize, value: &str) -> Vec<Vec<String>> {
    let mut rows = risk_rows();
    if let Some(cell) = rows.get_mut(PROBE).and_then(|r| r.get_mut(column)) {
        *cell = value.to_owned();
    }
    rows
}

/// `file.csv!F4`: the probe row's cell in `column`.
fn probe_cell(file: &str, sheet: Option<&str>, column: usize) -> String {
    let letter =
        rust_xlsxwriter::utility::column_number_to_name(u16::try_from(column).unwrap_or(0));
    match sheet {
        Some(sheet) => format!("{file}!{sheet}!{letter}{PROBE_ROW}"),
        None => format!("{file}!{letter}{PROBE_ROW}"),
    }
}

/// Writes rows into a sheet below a bold header (row 1); whole numbers become numbers.
fn fill_sheet(ws: &mut Worksheet, header: &[&str], rows: &[Vec<String>]) -> Result<(), Error> {
    let bold = Format::new().set_bold();
    for (col, name) in header.iter().enumerate() {
        ws.write_string_with_format(0, col_num(col)?, *name, &bold)?;
    }
    for (row, cells) in (1u32..).zip(rows) {
        for (col, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<u32>() {
                Ok(n) if !cell.starts_with('0') || cell == "0" => {
                    ws.write_number(row, col_num(col)?, f64::from(n))?
                }
                _ => ws.write_string(row, col_num(col)?, cell)?,
            };
        }
    }
    Ok(())
}

fn instructions(ws: &mut Worksheet) -> Result<(), Error> {
    ws.set_name("Instructions")?;
    for (row, line) in (0u32..).zip([
        "How to fill in the risk register",
        "One row per risk; keep the Risk ID stable.",
        "Likelihood and impact from 1 (rare, negligible) to 5 (almost certain, severe).",
    ]) {
        ws.write_string(row, 0, line)?;
    }
    Ok(())
}

/// A workbook with Instructions, Risks (the five good rows) and Lists sheets.
fn three_sheet_workbook() -> Result<Workbook, Error> {
    let mut wb = Workbook::new();
    instructions(wb.add_worksheet())?;
    let ws = wb.add_worksheet();
    ws.set_name("Risks")?;
    fill_sheet(ws, &HEADER, &risk_rows())?;
    let ws = wb.add_worksheet();
    ws.set_name("Lists")?;
    fill_sheet(
        ws,
        &["Treatment", "Status"],
        &[
            vec!["Mitigate".into(), "Open".into()],
            vec!["Accept".into(), "In progress".into()],
        ],
    )?;
    Ok(wb)
}

/// A CSV line with the probe row's fields joined by semicolons, as when one line of a comma
/// file was pasted from a German Excel.
fn mixed_delimiter_csv() -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
    for (i, row) in std::iter::once(&header)
        .chain(risk_rows().iter())
        .enumerate()
    {
        if i == PROBE + 1 {
            out.extend_from_slice(row.join(";").as_bytes());
            out.push(b'\n');
        } else {
            let mut writer = csv::WriterBuilder::new().from_writer(&mut out);
            writer.write_record(row)?;
            writer.flush()?;
        }
    }
    Ok(out)
}

fn sheet_xlsx(
    path: &Path,
    sheet: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), Error> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    fill_sheet(ws, header, rows)?;
    wb.save(path)?;
    Ok(())
}

fn to_strings(rows: &[[&str; 5]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

/// Writes every bad input into `dir` (created if missing). Every file is small except the
/// zip bomb (about 2 MB, inflating to over 2 GiB) and the 1 MiB cell.
pub fn write_bad_inputs(dir: &Path) -> Result<Vec<BadInput>, Error> {
    std::fs::create_dir_all(dir)?;
    let mut cases = Vec::new();
    let path = |name: &str| dir.join(name);
    let file_error = |name: &str, message: &'static str| Expect::FileError {
        location: name.to_owned(),
        message,
    };
    let rejected = |location: String, message: &'static str| Expect::Rejected {
        location,
        message,
        imported: ROWS - 1,
    };
    let mut add = |name: &'static str, file: PathBuf, args: &[&str], expect: Expect| {
        cases.push(BadInput {
            name,
            file,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            expect,
        });
    };

    // --- Files that are not what their name says ---------------------------------------
    let f = "bad-not-a-zip.xlsx";
    std::fs::write(
        path(f),
        "Risk register export failed: the report server returned an error page instead of a workbook.\n",
    )?;
    add(
        "not a zip, named .xlsx",
        path(f),
        &[],
        file_error(f, "not an Excel workbook"),
    );

    let f = "bad-truncated.xlsx";
    let whole = three_sheet_workbook()?.save_to_buffer()?;
    std::fs::write(path(f), &whole[..whole.len() / 2])?;
    add(
        "truncated workbook",
        path(f),
        &[],
        file_error(f, "damaged|truncated"),
    );

    let f = "bad-empty.csv";
    std::fs::write(path(f), b"")?;
    add("empty CSV (0 bytes)", path(f), &[], file_error(f, "empty"));

    let f = "bad-empty.xlsx";
    std::fs::write(path(f), b"")?;
    add("empty XLSX (0 bytes)", path(f), &[], file_error(f, "empty"));

    let f = "bad-encrypted.xlsx";
    std::fs::write(path(f), ole::encrypted_workbook())?;
    add(
        "password-protected workbook (OLE2 with EncryptionInfo)",
        path(f),
        &[],
        file_error(f, "password|encrypted"),
    );

    let f = "bad-zip-bomb.xlsx";
    // 8.4 M copies of 258 zero bytes: 2,167,200,001 bytes from a 2.1 MB stream.
    let (stream, inflated) = zip::deflate_zeros(8_400_000);
    let sheet = zip::Entry {
        name: "xl/worksheets/sheet1.xml",
        method: 8,
        data: &stream,
        crc: zip::crc32_of_zeros(inflated),
        uncompressed: u32::try_from(inflated)
            .map_err(|_| Error::Invalid("zip bomb too large for a 32-bit zip".into()))?,
    };
    let bomb = zip::archive(&[
        zip::Entry::stored("[Content_Types].xml", zip::CONTENT_TYPES.as_bytes()),
        zip::Entry::stored("_rels/.rels", zip::ROOT_RELS.as_bytes()),
        zip::Entry::stored("xl/workbook.xml", zip::WORKBOOK.as_bytes()),
        zip::Entry::stored("xl/_rels/workbook.xml.rels", zip::WORKBOOK_RELS.as_bytes()),
        sheet,
    ]);
    std::fs::write(path(f), bomb)?;
    add(
        "zip bomb (one entry inflates to over 2 GiB)",
        path(f),
        &[],
        file_error(f, "zip bomb|ratio|expand"),
    );

    let f = "bad-binary-garbage.csv";
    let mut rng = Rng::new(0xBAD);
    let garbage: Vec<u8> = (0..4096).map(|_| (rng.next_u64() >> 56) as u8).collect();
    std::fs::write(path(f), garbage)?;
    add(
        "binary garbage named .csv",
        path(f),
        &[],
        file_error(f, "binary|not a text"),
    );

    // --- Files with no register in them --------------------------------------------------
    let f = "bad-no-header.csv";
    let numbers: Vec<Vec<String>> = (0..10)
        .map(|r| (0..4).map(|c| (r * 4 + c + 2).to_string()).collect())
        .collect();
    write_register_csv(&path(f), &["1", "2", "3", "4"], numbers)?;
    add(
        "no header row (only numbers)",
        path(f),
        &[],
        file_error(f, "header"),
    );

    let f = "bad-one-column.csv";
    write_register_csv(&path(f), &["Risk ID"], [["R-1"], ["R-2"], ["R-3"]])?;
    add(
        "CSV header with a single column",
        path(f),
        &[],
        file_error(f, "header|column"),
    );

    let f = "bad-instructions-only.xlsx";
    let mut wb = Workbook::new();
    instructions(wb.add_worksheet())?;
    wb.save(path(f))?;
    add(
        "workbook whose only sheet is Instructions",
        path(f),
        &[],
        file_error(f, "register"),
    );

    let f = "bad-unknown-sheet.xlsx";
    three_sheet_workbook()?.save(path(f))?;
    // The error must list the sheets that do exist; "Lists" is one of them.
    add(
        "--sheet names a sheet that does not exist",
        path(f),
        &["--sheet", "Riskz"],
        file_error(f, "Lists"),
    );

    // --- Bad arguments and profiles ------------------------------------------------------
    let f = "bad-unknown-kind.csv";
    write_register_csv(&path(f), &HEADER, risk_rows())?;
    add(
        "--kind with an unknown kind",
        path(f),
        &["--kind", "gadget"],
        Expect::UsageError { message: "gadget" },
    );

    let target = path("profile-target.csv");
    write_register_csv(&target, &HEADER, risk_rows())?;
    let f = "bad-profile-unknown-key.toml";
    std::fs::write(
        path(f),
        "# Profile for the risk export of the old GRC tool\nkind = \"risk\"\ncolour_scheme = \"blue\"\n",
    )?;
    let profile = path(f).to_string_lossy().into_owned();
    add(
        "profile with an unknown key",
        target.clone(),
        &["--profile", &profile],
        file_error(f, "colour_scheme"),
    );

    let f = "bad-profile-syntax.toml";
    std::fs::write(
        path(f),
        "# Profile for the risk export of the old GRC tool\nkind = \"risk\"\nstandard = \"iso27001\n",
    )?;
    let profile = path(f).to_string_lossy().into_owned();
    add(
        "profile with a TOML syntax error on line 3",
        target,
        &["--profile", &profile],
        file_error(f, "line 3"),
    );

    // --- Bad cells: the row is rejected, the others import --------------------------------
    let f = "bad-likelihood-7.csv";
    write_register_csv(&path(f), &HEADER, probe(LIKELIHOOD, "7"))?;
    add(
        "likelihood 7 on a 1-5 scale",
        path(f),
        &[],
        rejected(probe_cell(f, None, LIKELIHOOD), "scale"),
    );

    let f = "bad-impact-0.csv";
    write_register_csv(&path(f), &HEADER, probe(IMPACT, "0"))?;
    add(
        "impact 0 on a 1-5 scale",
        path(f),
        &[],
        rejected(probe_cell(f, None, IMPACT), "scale"),
    );

    let f = "bad-likelihood-banana.xlsx";
    let sheet = "Risk Register (2026)";
    sheet_xlsx(&path(f), sheet, &HEADER, &probe(LIKELIHOOD, "banana"))?;
    add(
        "likelihood \"banana\" (sheet name with spaces and brackets)",
        path(f),
        &[],
        rejected(probe_cell(f, Some(sheet), LIKELIHOOD), "banana"),
    );

    let f = "bad-date-32-13.csv";
    write_register_csv(&path(f), &HEADER, probe(DUE, "32.13.2026"))?;
    add(
        "impossible date 32.13.2026",
        path(f),
        &[],
        rejected(probe_cell(f, None, DUE), "32.13.2026"),
    );

    let f = "bad-ambiguous-date.csv";
    let mut rows = probe(DUE, "01/02/2026");
    for (i, row) in rows.iter_mut().enumerate() {
        if i != PROBE {
            // No other date in the column: nothing tells day-first from month-first.
            row[DUE].clear();
        }
    }
    write_register_csv(&path(f), &HEADER, rows)?;
    add(
        "ambiguous date 01/02/2026 with no other evidence",
        path(f),
        &[],
        rejected(probe_cell(f, None, DUE), "ambiguous"),
    );

    let f = "bad-empty-id.xlsx";
    sheet_xlsx(&path(f), "Risks", &HEADER, &probe(ID, ""))?;
    add(
        "empty ID cell",
        path(f),
        &[],
        rejected(probe_cell(f, Some("Risks"), ID), "empty"),
    );

    let f = "bad-duplicate-id.csv";
    write_register_csv(&path(f), &HEADER, probe(ID, "R-101"))?;
    add(
        "duplicate ID in one file (second occurrence)",
        path(f),
        &[],
        rejected(probe_cell(f, None, ID), "duplicate"),
    );

    let f = "bad-treatment-ignore.csv";
    write_register_csv(&path(f), &HEADER, probe(TREATMENT, "ignore"))?;
    add(
        "treatment \"ignore\"",
        path(f),
        &[],
        rejected(probe_cell(f, None, TREATMENT), "treatment"),
    );

    let f = "bad-huge-cell.csv";
    let line = "ERROR timeout contacting the payment gateway, retrying; ";
    let mut huge = String::with_capacity(1 << 20);
    while huge.len() + line.len() <= 1 << 20 {
        huge.push_str(line);
    }
    huge.push_str(&"x".repeat((1 << 20) - huge.len()));
    write_register_csv(&path(f), &HEADER, probe(DESCRIPTION, &huge))?;
    add(
        "1 MiB description cell",
        path(f),
        &[],
        rejected(probe_cell(f, None, DESCRIPTION), "limit|too long|too large"),
    );

    let f = "bad-mixed-delimiters.csv";
    std::fs::write(path(f), mixed_delimiter_csv()?)?;
    add(
        "one CSV line with semicolons in a comma file (wrong field count)",
        path(f),
        &[],
        rejected(format!("{f}!{PROBE_ROW}"), "column|field"),
    );

    let f = "bad-clause-2013.csv";
    write_register_csv(&path(f), &HEADER, probe(CLAUSE, "ISO/IEC 27001:2013 A.9.2"))?;
    add(
        "clause of the 2013 edition",
        path(f),
        &[],
        Expect::RejectedOrWarning {
            location: probe_cell(f, None, CLAUSE),
            message: "2013",
            rows: ROWS,
        },
    );

    let f = "bad-conformity-maybe.xlsx";
    let sheet = "Clause Assessment";
    let rows = to_strings(&[
        [
            "ISO/IEC 27001:2022",
            "5.1",
            "Conforming",
            "Leadership interviews",
            "Karin Albers",
        ],
        [
            "ISO/IEC 27001:2022",
            "6.2",
            "Partially conforming",
            "Objectives lack targets",
            "Karin Albers",
        ],
        [
            "ISO/IEC 27001:2022",
            "7.4",
            "maybe",
            "Communication plan in draft",
            "Karin Albers",
        ],
        [
            "ISO 9001:2015",
            "8.2.1",
            "Conforming",
            "Customer portal FAQ",
            "Omar Haddad",
        ],
        [
            "ISO/IEC 42001:2023",
            "8.4",
            "Nonconforming",
            "No impact assessment records",
            "Omar Haddad",
        ],
    ]);
    sheet_xlsx(&path(f), sheet, &crate::examples::ASSESSMENT_HEADER, &rows)?;
    add(
        "conformity result \"maybe\"",
        path(f),
        &[],
        rejected(probe_cell(f, Some(sheet), 2), "conformity"),
    );

    let f = "bad-implementation-eventually.xlsx";
    let rows: Vec<Vec<String>> = [
        [
            "A.5.10",
            "Acceptable use of information",
            "Yes",
            "Staff handle customer data",
            "Implemented",
            "Acceptable use policy",
        ],
        [
            "A.5.12",
            "Classification of information",
            "Yes",
            "Customer data needs labels",
            "In progress",
            "Classification scheme draft",
        ],
        [
            "A.5.16",
            "Identity management",
            "Yes",
            "Many SaaS accounts",
            "eventually",
            "Joiner-mover-leaver process",
        ],
        [
            "A.8.9",
            "Configuration management",
            "Yes",
            "Cloud infrastructure",
            "Planned",
            "Baseline templates",
        ],
        [
            "A.8.15",
            "Logging",
            "Yes",
            "Investigations need logs",
            "Not started",
            "None yet",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
    .collect();
    sheet_xlsx(&path(f), "SoA", &crate::examples::SOA_HEADER, &rows)?;
    add(
        "implementation status \"eventually\"",
        path(f),
        &[],
        rejected(probe_cell(f, Some("SoA"), 4), "implementation"),
    );

    let f = "bad-ai-tier.xlsx";
    let sheet = "AI Systems";
    let rows: Vec<Vec<String>> = [
        [
            "AIS-11",
            "RouteOptimiser",
            "Plans delivery routes",
            "provider",
            "Operation and monitoring",
            "Mixed-integer solver with ML travel times",
            "minimal",
            "Omar Haddad",
        ],
        [
            "AIS-12",
            "ChurnRadar",
            "Predicts customer churn",
            "provider",
            "Development",
            "Gradient-boosted trees",
            "limited",
            "Priya Raman",
        ],
        [
            "AIS-13",
            "VoiceDesk",
            "Transcribes support calls",
            "deployer",
            "Operation and monitoring",
            "Speech-to-text SaaS",
            "spicy",
            "Sara Nowak",
        ],
        [
            "AIS-14",
            "ShiftPlanner",
            "Proposes warehouse shifts",
            "deployer",
            "Design",
            "Vendor scheduling model",
            "high",
            "Anna Weber",
        ],
        [
            "AIS-15",
            "MailSorter",
            "Routes inbound email",
            "provider",
            "Retirement",
            "Text classifier",
            "minimal",
            "Sara Nowak",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
    .collect();
    sheet_xlsx(&path(f), sheet, &crate::examples::AI_SYSTEMS_HEADER, &rows)?;
    add(
        "AI risk tier \"spicy\"",
        path(f),
        &[],
        rejected(probe_cell(f, Some(sheet), 6), "tier"),
    );

    // --- Problems that are warned about; every row still imports ---------------------------
    let f = "bad-ref-error.xlsx";
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Risks")?;
    fill_sheet(ws, &HEADER, &probe(SCORE, ""))?;
    // The score formula points at a deleted column; Excel shows #REF!.
    ws.write_formula(
        PROBE_ROW - 1,
        col_num(SCORE)?,
        Formula::new("=#REF!*G4").set_result("#REF!"),
    )?;
    wb.save(path(f))?;
    add(
        "formula error #REF! in the Score cell",
        path(f),
        &[],
        Expect::Warning {
            location: probe_cell(f, Some("Risks"), SCORE),
            message: "#REF!",
            imported: ROWS,
        },
    );

    let f = "bad-blank-row.xlsx";
    let mut rows = risk_rows();
    rows.insert(PROBE, vec![String::new(); HEADER.len()]);
    sheet_xlsx(&path(f), "Risks", &HEADER, &rows)?;
    add(
        "blank row in the middle",
        path(f),
        &[],
        Expect::Warning {
            location: format!("{f}!Risks!{PROBE_ROW}"),
            message: "blank",
            imported: ROWS,
        },
    );

    let f = "bad-wide-16384-columns.xlsx";
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Risks")?;
    fill_sheet(ws, &HEADER, &risk_rows())?;
    let bold = Format::new().set_bold();
    for col in HEADER.len()..16_384 {
        ws.write_string_with_format(0, col_num(col)?, format!("Note {}", col + 1), &bold)?;
    }
    for row in 1..=5u32 {
        for col in [200usize, 5_000, 16_383] {
            ws.write_string(row, col_num(col)?, format!("n{row}-{col}"))?;
        }
    }
    wb.save(path(f))?;
    add(
        "sheet with 16,384 columns",
        path(f),
        &[],
        Expect::Warning {
            location: format!("{f}!Risks"),
            message: "16384 columns",
            imported: ROWS,
        },
    );

    Ok(cases)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn messages_match_any_fragment_ignoring_case() {
        assert!(message_matches(
            "damaged|truncated",
            "The file is TRUNCATED"
        ));
        assert!(message_matches("scale", "not on the 1-5 Scale"));
        assert!(!message_matches(
            "column|field",
            "no title and no description"
        ));
    }

    #[test]
    fn locations_match_as_documented() {
        assert!(location_matches("a.csv!F4", "a.csv!F4"));
        assert!(!location_matches("a.csv!F4", "a.csv!F5"));
        assert!(!location_matches("a.csv!F4", "a.csv!F44"));
        assert!(location_matches("a.xlsx!Risks", "a.xlsx!Risks!ALM1"));
        assert!(!location_matches("a.xlsx!Risks", "a.xlsx!Risks2"));
        assert!(location_matches("a.csv!4", "a.csv!B4"));
        assert!(location_matches("a.xlsx!My Sheet!4", "a.xlsx!My Sheet!A4"));
        assert!(!location_matches("a.csv!4", "a.csv!B14"));
        assert!(!location_matches("a.csv!4", "b.csv!B4"));
        assert!(!location_matches("a.csv", "b.csv"));
    }

    #[test]
    fn corpus_is_complete_small_and_fast() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let cases = write_bad_inputs(dir.path()).unwrap();
        // Generous bound for a debug build on a slow CI machine; a release build takes ~0.3 s.
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        assert!(cases.len() >= 28, "{}", cases.len());
        let names: BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), cases.len(), "case names must be unique");
        for case in &cases {
            let size = std::fs::metadata(&case.file).unwrap().len();
            let big_on_purpose = ["bad-zip-bomb.xlsx", "bad-huge-cell.csv"]
                .iter()
                .any(|f| case.file.ends_with(f));
            assert!(
                big_on_purpose || size < 600_000,
                "{}: {size} bytes",
                case.name
            );
            assert!(size < 3_000_000, "{}: {size} bytes", case.name);
        }
        let huge = std::fs::metadata(dir.path().join("bad-huge-cell.csv"))
            .unwrap()
            .len();
        assert!(huge > 1 << 20);
    }

    #[test]
    fn probe_cells_name_the_right_column() {
        assert_eq!(probe_cell("a.csv", None, LIKELIHOOD), "a.csv!F4");
        assert_eq!(probe_cell("a.xlsx", Some("Risks"), DUE), "a.xlsx!Risks!J4");
        assert_eq!(probe_cell("a.csv", None, TREATMENT), "a.csv!I4");
    }

    #[test]
    fn mixed_delimiter_line_is_one_field_for_a_comma_reader() {
        let bytes = mixed_delimiter_csv().unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(bytes.as_slice());
        let lens: Vec<usize> = reader.records().map(|r| r.unwrap().len()).collect();
        assert_eq!(lens, vec![11, 11, 1, 11, 11]);
    }
}
