//! Writers for plain registers (one header row, rows below) and a generator of realistic risk
//! rows, used for the corpus and for the benchmark's large files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Days, NaiveDate};
use rust_xlsxwriter::{Format, Workbook};

use crate::Error;

/// The columns [`generate_risk_rows`] fills, in order.
pub const RISK_HEADER: [&str; 11] = [
    "Risk ID",
    "Risk Title",
    "Description",
    "Risk Owner",
    "Clause",
    "Likelihood",
    "Impact",
    "Treatment",
    "Mitigation Plan",
    "Due Date",
    "Status",
];

/// How a CSV register is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvStyle {
    pub delimiter: u8,
    /// Starts the file with a UTF-8 byte order mark, as Excel's "CSV UTF-8" export does.
    pub bom: bool,
    /// Ends records with CRLF, as Excel on Windows does.
    pub crlf: bool,
}

impl Default for CsvStyle {
    fn default() -> Self {
        CsvStyle {
            delimiter: b',',
            bom: false,
            crlf: false,
        }
    }
}

/// Writes a comma-separated UTF-8 register, streaming: memory stays flat whatever the row count.
/// Returns the number of data rows written.
pub fn write_register_csv<I, R, C>(path: &Path, header: &[&str], rows: I) -> Result<u64, Error>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    write_register_csv_styled(path, header, rows, CsvStyle::default())
}

/// [`write_register_csv`] with a delimiter, BOM and line ending of the caller's choice.
pub fn write_register_csv_styled<I, R, C>(
    path: &Path,
    header: &[&str],
    rows: I,
    style: CsvStyle,
) -> Result<u64, Error>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    if style.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut writer = csv::WriterBuilder::new()
        .delimiter(style.delimiter)
        .terminator(if style.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        // Rows of hostile fixtures may deliberately differ in length from the header.
        .flexible(true)
        .from_writer(out);
    writer.write_record(header)?;
    let mut count = 0u64;
    for row in rows {
        writer.write_record(row.into_iter().map(|c| c.as_ref().to_owned()))?;
        count += 1;
    }
    writer.flush()?;
    Ok(count)
}

/// Writes a one-sheet workbook: a bold header in row 1, frozen, the rows below it. Cells that
/// are whole numbers ("3", "12") are written as numbers, as a person typing them would get;
/// empty strings leave the cell empty. Returns the number of data rows written.
///
/// rust_xlsxwriter's constant-memory mode needs a crate feature this workspace does not enable,
/// so the sheet is kept in memory until saved: about 350 MB and 4 s (release build) for the
/// benchmark's 200k rows.
pub fn write_register_xlsx<I, R, C>(
    path: &Path,
    sheet: &str,
    header: &[&str],
    rows: I,
) -> Result<u64, Error>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet)?;
    for (col, name) in header.iter().enumerate() {
        worksheet.write_string_with_format(0, col_num(col)?, *name, &bold)?;
    }
    worksheet.set_freeze_panes(1, 0)?;
    let mut count = 0u32;
    for row in rows {
        count = count
            .checked_add(1)
            .ok_or_else(|| Error::Invalid("too many rows for one sheet".into()))?;
        for (col, cell) in row.into_iter().enumerate() {
            let cell = cell.as_ref();
            let col = col_num(col)?;
            if cell.is_empty() {
                continue;
            }
            match whole_number(cell) {
                Some(n) => worksheet.write_number(count, col, n)?,
                None => worksheet.write_string(count, col, cell)?,
            };
        }
    }
    workbook.save(path)?;
    Ok(u64::from(count))
}

/// A sheet column index from a position in a row; Excel has 16,384 columns.
pub(crate) fn col_num(col: usize) -> Result<u16, Error> {
    u16::try_from(col)
        .ok()
        .filter(|c| *c < 16_384)
        .ok_or_else(|| Error::Invalid(format!("column {col} is beyond Excel's last column")))
}

/// "12" → 12.0; "007", "1.5", "R-1" stay text (a leading zero is an identifier, not a number).
fn whole_number(cell: &str) -> Option<f64> {
    let digits_only =
        !cell.is_empty() && cell.len() <= 15 && cell.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (cell.len() > 1 && cell.starts_with('0')) {
        return None;
    }
    cell.parse::<u64>().ok().map(|n| n as f64)
}

/// SplitMix64: tiny, fast, and good enough to vary fixture values reproducibly.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0); the modulo bias is irrelevant for fixture data.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len()))
            .copied()
            .unwrap_or_default()
    }
}

const THREATS: [&str; 16] = [
    "Ransomware",
    "Phishing",
    "Insider data theft",
    "Cloud misconfiguration",
    "Supplier outage",
    "DDoS attack",
    "Unpatched vulnerability",
    "Lost laptop",
    "Credential stuffing",
    "Model drift",
    "Prompt injection",
    "Backup failure",
    "Power outage",
    "Data entry error",
    "Regulatory change",
    "Key person loss",
];

const ASSETS: [&str; 14] = [
    "customer portal",
    "payroll system",
    "ERP",
    "data warehouse",
    "CRM",
    "HR records",
    "build pipeline",
    "email service",
    "file servers",
    "support chatbot",
    "payment gateway",
    "warehouse scanners",
    "billing database",
    "identity provider",
];

const CONSEQUENCES: [&str; 8] = [
    "service unavailable for customers",
    "personal data disclosed",
    "financial loss and contractual penalties",
    "regulatory notification required",
    "loss of data integrity",
    "delayed deliveries",
    "reputational damage",
    "manual workarounds for several days",
];

const OWNERS: [&str; 10] = [
    "Jonas Becker",
    "Mira Hoffmann",
    "Lena Vogel",
    "Tobias Krüger",
    "Sara Nowak",
    "Felix Schmid",
    "Anna Weber",
    "Daniel Ortiz",
    "Priya Raman",
    "Omar Haddad",
];

const CLAUSES: [&str; 12] = [
    "27001 6.1.2; A.5.7",
    "27001 A.8.8",
    "27001 A.5.19",
    "42001 6.1.2",
    "27001 A.8.13",
    "ISO 9001 6.1",
    "27001 A.5.24; A.5.26",
    "42001 6.1.4; A.6.2.4",
    "27001 8.2; A.8.16",
    "ISO/IEC 27001:2022 A.8.12",
    "27001 A.5.30",
    "42001 A.7.4",
];

const TREATMENTS: [&str; 8] = [
    "Mitigate", "Mitigate", "Mitigate", "Mitigate", "Accept", "Accept", "Transfer", "Avoid",
];

const PLANS: [&str; 8] = [
    "Harden configuration and monitor",
    "Add second approver",
    "Quarterly restore test",
    "Awareness campaign",
    "Contractual safeguards with supplier",
    "Replace legacy component",
    "Automate the check in CI",
    "Insurance cover reviewed yearly",
];

const STATUSES: [&str; 5] = ["Open", "Open", "In progress", "Monitoring", "Closed"];

/// `n` risk rows for [`RISK_HEADER`], reproducible from `seed`: ids `R-000001`…, varied titles,
/// owners, clauses, likelihood and impact 1–5, treatments, due dates as ISO text.
pub fn generate_risk_rows(n: usize, seed: u64) -> impl Iterator<Item = Vec<String>> {
    let mut rng = Rng::new(seed);
    let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    (1..=n).map(move |i| {
        let threat = rng.pick(&THREATS);
        let asset = rng.pick(&ASSETS);
        let consequence = rng.pick(&CONSEQUENCES);
        let treatment = rng.pick(&TREATMENTS);
        let plan = if treatment == "Accept" {
            "Accepted by the risk owner; review yearly"
        } else {
            rng.pick(&PLANS)
        };
        let due = base
            .checked_add_days(Days::new(rng.below(730) as u64))
            .unwrap_or(base);
        vec![
            format!("R-{i:06}"),
            format!("{threat} affecting the {asset}"),
            format!("{threat} could compromise the {asset}: {consequence}."),
            rng.pick(&OWNERS).to_owned(),
            rng.pick(&CLAUSES).to_owned(),
            (rng.below(5) + 1).to_string(),
            (rng.below(5) + 1).to_string(),
            treatment.to_owned(),
            plan.to_owned(),
            due.to_string(),
            rng.pick(&STATUSES).to_owned(),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rows_are_reproducible_and_well_formed() {
        let a: Vec<Vec<String>> = generate_risk_rows(500, 7).collect();
        let b: Vec<Vec<String>> = generate_risk_rows(500, 7).collect();
        assert_eq!(a, b);
        assert_ne!(a, generate_risk_rows(500, 8).collect::<Vec<_>>());
        assert_eq!(a[0][0], "R-000001");
        assert_eq!(a[499][0], "R-000500");
        for row in &a {
            assert_eq!(row.len(), RISK_HEADER.len());
            for value in [&row[5], &row[6]] {
                let n: u8 = value.parse().unwrap();
                assert!((1..=5).contains(&n), "{value}");
            }
            assert!(NaiveDate::parse_from_str(&row[9], "%Y-%m-%d").is_ok());
        }
        // Varied enough to exercise the mapper, not one value repeated.
        let titles: std::collections::BTreeSet<&String> = a.iter().map(|r| &r[1]).collect();
        assert!(titles.len() > 100, "{}", titles.len());
    }

    #[test]
    fn whole_numbers_only_become_numbers() {
        assert_eq!(whole_number("12"), Some(12.0));
        assert_eq!(whole_number("0"), Some(0.0));
        assert_eq!(whole_number("007"), None);
        assert_eq!(whole_number("1.5"), None);
        assert_eq!(whole_number("R-1"), None);
        assert_eq!(whole_number(""), None);
    }

    #[test]
    fn csv_writer_streams_styled_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let style = CsvStyle {
            delimiter: b';',
            bom: true,
            crlf: true,
        };
        let n = write_register_csv_styled(
            &path,
            &["A", "B"],
            [vec!["1", "x;y"], vec!["2", "z"]],
            style,
        )
        .unwrap();
        assert_eq!(n, 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "\u{feff}A;B\r\n1;\"x;y\"\r\n2;z\r\n");
    }
}
