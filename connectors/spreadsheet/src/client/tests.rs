//! End-to-end tests of the reading side: real files written into temp dirs.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Formula, Workbook as XlsxBook};

use super::header::Merge;
use super::workbook::tests_support::collect_rows;
use super::*;

const KNOWN: &[&str] = &[
    "id",
    "title",
    "owner",
    "status",
    "due date",
    "description",
    "inherent likelihood",
    "inherent impact",
    "residual likelihood",
    "residual impact",
    "maßnahme",
    "risiko",
];

/// Counts distinct recognised names, like a mapper would.
fn score(names: &[String]) -> usize {
    let mut found: Vec<String> = names
        .iter()
        .map(|name| name.to_lowercase())
        .filter(|name| KNOWN.contains(&name.as_str()))
        .collect();
    found.sort();
    found.dedup();
    found.len()
}

#[derive(Debug)]
struct Table {
    header: Header,
    rows: Vec<Row>,
    summary: TableSummary,
}

impl Table {
    fn names(&self) -> Vec<&str> {
        self.header
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }

    fn numbers(&self) -> Vec<u32> {
        self.rows.iter().map(|r| r.number).collect()
    }
}

fn read_with(path: &Path, sheet: &str, options: &ReadOptions) -> Result<Table, ReadError> {
    let mut file = SpreadsheetFile::open(path, options)?;
    let mut header = None;
    let mut rows = Vec::new();
    let summary = file.read_table(
        sheet,
        &score,
        &mut |h| {
            header = Some(h.clone());
            Ok::<(), ReadError>(())
        },
        &mut |row| {
            rows.push(row);
            ControlFlow::Continue(())
        },
    )?;
    Ok(Table {
        header: header.expect("on_header was called"),
        rows,
        summary,
    })
}

fn read(path: &Path, sheet: &str) -> Result<Table, ReadError> {
    read_with(path, sheet, &ReadOptions::default())
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

/// A one-sheet workbook with a simple header in row 1.
fn simple_xlsx(dir: &Path, name: &str) -> PathBuf {
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Risks").unwrap();
    for (col, name) in ["ID", "Title", "Owner"].iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "R-1").unwrap();
    sheet.write_string(1, 1, "Data loss").unwrap();
    let path = dir.join(name);
    book.save(&path).unwrap();
    path
}

#[test]
fn header_below_title_rows_and_cell_types() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    let bold = XFormat::new().set_bold();
    let date_format = XFormat::new().set_num_format("dd.mm.yyyy");
    let sheet = book.add_worksheet();
    sheet.set_name("Risks").unwrap();
    sheet
        .merge_range(0, 0, 0, 4, "Risk Register 2026", &bold)
        .unwrap();
    sheet
        .write_string(1, 0, "Prepared by QM, reviewed 2026-01-10")
        .unwrap();
    // Row 3 blank, header in row 4 with an empty cell in F.
    for (col, name) in ["ID", "Title", "Owner", "Due date", "Status", "", "Notes"]
        .iter()
        .enumerate()
    {
        if !name.is_empty() {
            sheet.write_string(3, col as u16, *name).unwrap();
        }
    }
    sheet.write_string(4, 0, "R-1").unwrap();
    sheet.write_string(4, 1, "Data loss").unwrap();
    sheet.write_string(4, 2, "Alice").unwrap();
    let due = ExcelDateTime::from_ymd(2026, 3, 1).unwrap();
    sheet
        .write_datetime_with_format(4, 3, &due, &date_format)
        .unwrap();
    sheet.write_number(4, 4, 12).unwrap();
    sheet
        .write_formula(5, 0, Formula::new("=\"R-\"&2").set_result("R-2"))
        .unwrap();
    sheet
        .write_formula(5, 4, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    sheet
        .write_formula(5, 3, Formula::new("=1+1").set_result("2"))
        .unwrap();
    sheet.write_boolean(5, 5, true).unwrap();
    // Row 7 blank, then one more data row.
    sheet.write_string(7, 0, "R-3").unwrap();
    let path = dir.path().join("risks.xlsx");
    book.save(&path).unwrap();

    let file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.format(), Format::Xlsx);
    let table = read(&path, "Risks").unwrap();
    assert_eq!((table.header.first_row, table.header.last_row), (4, 4));
    assert_eq!(
        table.names(),
        [
            "ID", "Title", "Owner", "Due date", "Status", "Column F", "Notes"
        ]
    );
    assert_eq!(table.header.columns[5].letter, "F");
    assert_eq!(table.numbers(), [5, 6, 8]);
    let first = &table.rows[0];
    assert_eq!(first.get(0), &text("R-1"));
    assert_eq!(first.get(3), &Cell::DateTime(date(2026, 3, 1)));
    assert_eq!(first.get(4), &Cell::Number(12.0));
    assert_eq!(first.get(40), &Cell::Empty);
    let second = &table.rows[1];
    assert_eq!(second.get(0), &text("R-2"));
    assert_eq!(second.get(3), &Cell::Number(2.0));
    assert_eq!(second.get(4), &Cell::Error("#DIV/0!".into()));
    assert_eq!(second.get(5), &Cell::Bool(true));
    assert_eq!(table.summary.rows, 3);
    assert!(table.summary.warnings.is_empty());
}

#[test]
fn two_row_header_with_merges_and_vertical_fill_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    let plain = XFormat::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Register").unwrap();
    sheet
        .merge_range(0, 0, 0, 6, "Risk Register 2026", &plain)
        .unwrap();
    sheet.merge_range(1, 0, 2, 0, "ID", &plain).unwrap();
    sheet.merge_range(1, 1, 2, 1, "Title", &plain).unwrap();
    sheet.merge_range(1, 2, 1, 3, "Inherent", &plain).unwrap();
    sheet.merge_range(1, 4, 1, 5, "Residual", &plain).unwrap();
    sheet.merge_range(1, 6, 2, 6, "Owner", &plain).unwrap();
    for (col, name) in [
        (2, "Likelihood"),
        (3, "Impact"),
        (4, "Likelihood"),
        (5, "Impact"),
    ] {
        sheet.write_string(2, col, name).unwrap();
    }
    // One risk merged over three rows (one row per control owner).
    sheet.merge_range(3, 0, 5, 0, "R-1", &plain).unwrap();
    sheet.merge_range(3, 1, 5, 1, "Data loss", &plain).unwrap();
    for row in 3..6u32 {
        for col in 2..6u16 {
            sheet
                .write_number(row, col, f64::from(row) + f64::from(col))
                .unwrap();
        }
    }
    sheet.write_string(3, 6, "Alice").unwrap();
    sheet.write_string(4, 6, "Bob").unwrap();
    sheet.write_string(5, 6, "Carol").unwrap();
    sheet.write_string(6, 0, "R-2").unwrap();
    sheet.write_string(6, 1, "Fire").unwrap();
    let path = dir.path().join("register.xlsx");
    book.save(&path).unwrap();

    let table = read(&path, "Register").unwrap();
    assert_eq!((table.header.first_row, table.header.last_row), (2, 3));
    assert_eq!(
        table.names(),
        [
            "ID",
            "Title",
            "Inherent Likelihood",
            "Inherent Impact",
            "Residual Likelihood",
            "Residual Impact",
            "Owner"
        ]
    );
    assert_eq!(table.numbers(), [4, 5, 6, 7]);
    for (row, owner) in table.rows[..3].iter().zip(["Alice", "Bob", "Carol"]) {
        assert_eq!(row.get(0), &text("R-1"), "row {}", row.number);
        assert_eq!(row.get(1), &text("Data loss"), "row {}", row.number);
        assert_eq!(row.get(6), &text(owner));
    }
    assert_eq!(table.rows[3].get(0), &text("R-2"));
    assert_eq!(table.rows[3].get(1), &text("Fire"));
}

#[test]
fn merged_title_directly_above_the_header_is_not_a_group_label() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    sheet
        .merge_range(0, 0, 0, 2, "Risk Register 2026", &XFormat::new())
        .unwrap();
    for (col, name) in ["ID", "Title", "Owner"].iter().enumerate() {
        sheet.write_string(1, col as u16, *name).unwrap();
    }
    sheet.write_string(2, 0, "R-1").unwrap();
    let path = dir.path().join("titled.xlsx");
    book.save(&path).unwrap();

    let table = read(&path, "Sheet1").unwrap();
    assert_eq!((table.header.first_row, table.header.last_row), (2, 2));
    assert_eq!(table.names(), ["ID", "Title", "Owner"]);
    assert_eq!(table.numbers(), [3]);
}

#[test]
fn fast_merge_scan_agrees_with_calamine() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    let plain = XFormat::new();
    book.add_worksheet().set_name("Intro").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("R&D <Risks>").unwrap();
    sheet.merge_range(0, 0, 0, 5, "Title", &plain).unwrap();
    sheet.merge_range(1, 2, 3, 3, "Block", &plain).unwrap();
    sheet.merge_range(10, 27, 12, 27, "AB", &plain).unwrap();
    let path = dir.path().join("merges.xlsx");
    book.save(&path).unwrap();

    let fast = super::xlsx_merges::merges(&path, "R&D <Risks>").expect("fast path applies");
    let mut xlsx: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let slow: Vec<Merge> = xlsx
        .merge_cells_by_sheet_name("R&D <Risks>")
        .unwrap()
        .into_iter()
        .map(|d| Merge {
            first_row: d.start.0 + 1,
            last_row: d.end.0 + 1,
            first_col: d.start.1 as usize,
            last_col: d.end.1 as usize,
        })
        .collect();
    assert_eq!(fast.len(), 3);
    assert_eq!(fast, slow);
    assert_eq!(super::xlsx_merges::merges(&path, "Intro"), Some(Vec::new()));
    assert_eq!(super::xlsx_merges::merges(&path, "Missing"), None);
}

#[test]
fn fill_down_reaches_rows_missing_from_the_file() {
    // Rows 2 and 3 do not exist in the file at all, but lie inside a merge.
    let merges = [Merge {
        first_row: 1,
        last_row: 3,
        first_col: 0,
        last_col: 0,
    }];
    let rows = collect_rows(
        &merges,
        &[(0, 0, text("R-1")), (0, 1, text("a")), (4, 1, text("b"))],
    );
    let summary: Vec<(u32, Vec<Cell>)> = rows.into_iter().map(|r| (r.number, r.cells)).collect();
    assert_eq!(
        summary,
        [
            (1, vec![text("R-1"), text("a")]),
            (2, vec![text("R-1")]),
            (3, vec![text("R-1")]),
            (5, vec![Cell::Empty, text("b")]),
        ]
    );
}

#[test]
fn sheets_are_found_tolerant_of_case_and_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    book.add_worksheet().set_name("Risks ").unwrap();
    let controls = book.add_worksheet();
    controls.set_name("Controls").unwrap();
    controls.write_string(0, 0, "ID").unwrap();
    controls.write_string(0, 1, "Title").unwrap();
    controls.write_string(1, 0, "C-1").unwrap();
    let path = dir.path().join("book.xlsx");
    book.save(&path).unwrap();

    let file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.sheet_names(), ["Risks ", "Controls"]);
    assert_eq!(file.find_sheet("risks").unwrap(), "Risks ");
    assert_eq!(file.find_sheet("  CONTROLS ").unwrap(), "Controls");
    let err = file.find_sheet("Audit").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ReadError::SheetNotFound { .. }));
    assert!(message.contains("book.xlsx"), "{message}");
    assert!(message.contains("\"Audit\""), "{message}");
    assert!(message.contains("\"Risks \", \"Controls\""), "{message}");

    let table = read(&path, "controls").unwrap();
    assert_eq!(table.rows[0].get(0), &text("C-1"));
}

#[test]
fn csv_with_semicolons_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let content = "\u{feff}ID;Title;Owner\r\nR-1;Datenverlust;Anna\r\nR-2;\"Feuer; Brand\";Ben\r\nR-3;Kurz\r\n";
    let path = write_file(dir.path(), "risks.csv", content.as_bytes());

    let file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.format(), Format::Csv);
    assert_eq!(file.sheet_names(), ["risks"]);
    // A CSV has one table, whatever sheet name a profile gives.
    assert_eq!(file.find_sheet("Risk Register").unwrap(), "risks");

    let table = read(&path, "risks").unwrap();
    assert_eq!(table.names(), ["ID", "Title", "Owner"]);
    assert_eq!(table.numbers(), [2, 3, 4]);
    assert_eq!(
        table.rows[1].cells,
        [text("R-2"), text("Feuer; Brand"), text("Ben")]
    );
    // Short records are passed on as they are.
    assert_eq!(table.rows[2].cells, [text("R-3"), text("Kurz")]);
}

#[test]
fn csv_in_windows_1252() {
    let dir = tempfile::tempdir().unwrap();
    let content = "Maßnahme;Risiko;Owner\nAlte Server ersetzen;Risiko hoch – prüfen;Jörg\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(content);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "test data must not be UTF-8"
    );
    let path = write_file(dir.path(), "massnahmen.csv", &bytes);

    let table = read(&path, "massnahmen").unwrap();
    assert_eq!(table.names(), ["Maßnahme", "Risiko", "Owner"]);
    assert_eq!(
        table.rows[0].cells,
        [
            text("Alte Server ersetzen"),
            text("Risiko hoch – prüfen"),
            text("Jörg")
        ]
    );
    assert!(table.summary.warnings.is_empty());
}

#[test]
fn csv_in_utf8_with_a_stray_windows_1252_field_later() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = "ID,Title,Owner\n".as_bytes().to_vec();
    // Well past the 64 KiB sample, so the file is taken as UTF-8.
    for i in 0..3000 {
        bytes.extend(format!("R-{i},Überschwemmung im Keller,Anna\n").as_bytes());
    }
    bytes.extend(b"R-X,Gro\xDFbrand,J\xF6rg\n");
    let path = write_file(dir.path(), "mixed.csv", &bytes);

    let table = read(&path, "mixed").unwrap();
    assert_eq!(table.rows[0].get(1), &text("Überschwemmung im Keller"));
    let last = table.rows.last().unwrap();
    assert_eq!(last.number, 3002);
    assert_eq!(last.cells, [text("R-X"), text("Großbrand"), text("Jörg")]);
    let warnings: Vec<String> = table
        .summary
        .warnings
        .iter()
        .map(|(location, message)| format!("{location}: {message}"))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("mixed.csv!B3002: "), "{warnings:?}");
    assert!(warnings[0].contains("Windows-1252"), "{warnings:?}");
}

#[test]
fn csv_utf16_unicode_text() {
    // Excel's "Unicode Text" export: UTF-16LE with BOM, tab-separated.
    let dir = tempfile::tempdir().unwrap();
    let content = "ID\tTitle\tOwner\r\nR-1\tÜberflutung\tZoë\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(content.encode_utf16().flat_map(|unit| unit.to_le_bytes()));
    let path = write_file(dir.path(), "export.txt", &bytes);

    let table = read(&path, "export").unwrap();
    assert_eq!(table.names(), ["ID", "Title", "Owner"]);
    assert_eq!(
        table.rows[0].cells,
        [text("R-1"), text("Überflutung"), text("Zoë")]
    );
}

#[test]
fn tab_separated_with_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let content = "ID\tTitle\tDescription\nR-1\tFlood\t\"line one\nline two, with \"\"quotes\"\"\"\nR-2\tFire\tplain\n";
    let path = write_file(dir.path(), "risks.txt", content.as_bytes());

    let table = read(&path, "risks").unwrap();
    assert_eq!(table.names(), ["ID", "Title", "Description"]);
    assert_eq!(table.numbers(), [2, 3]);
    assert_eq!(
        table.rows[0].get(2),
        &text("line one\nline two, with \"quotes\"")
    );
    assert_eq!(
        table.rows[1].cells,
        [text("R-2"), text("Fire"), text("plain")]
    );
}

#[test]
fn csv_sep_line_and_unclosed_quote() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "sep.csv", b"sep=|\nID|Title\nR-1|x\n");
    let table = read(&path, "sep").unwrap();
    assert_eq!(table.names(), ["ID", "Title"]);
    assert_eq!(table.numbers(), [3]);

    // An unclosed quote swallows the rest of the file into one field; that
    // is passed on (the mapper sees an odd value), never a hang or a crash.
    let path = write_file(
        dir.path(),
        "quote.csv",
        b"ID,Title\nR-1,\"never closed\nR-2,x\n",
    );
    let table = read(&path, "quote").unwrap();
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].get(1), &text("never closed\nR-2,x\n"));
}

#[test]
fn csv_record_limit_names_the_unclosed_quote() {
    // The limit is at least 64 MiB; exercise the guard directly with a tiny one.
    let input = b"ID,Title\nR-1,\"never closed and very long".to_vec();
    let record_start = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let guard = super::csv::tests_support::guard(&input[..], &record_start, 16);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .buffer_capacity(8)
        .from_reader(guard);
    let mut record = ::csv::ByteRecord::new();
    assert!(reader.read_byte_record(&mut record).unwrap());
    record_start.set(reader.position().byte());
    let error = reader.read_byte_record(&mut record).unwrap_err();
    let error =
        super::csv::tests_support::map_error(error, &Location::file("big.csv").at_row(2), 16);
    assert!(
        matches!(error, ReadError::RecordTooLarge { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("big.csv!2: "), "{message}");
    assert!(message.contains("never closed"), "{message}");
}

#[test]
fn truncated_xlsx_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let full = simple_xlsx(dir.path(), "full.xlsx");
    let bytes = std::fs::read(&full).unwrap();
    let path = write_file(dir.path(), "half.xlsx", &bytes[..bytes.len() / 2]);

    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("half.xlsx "), "{message}");
    assert!(message.contains("truncated"), "{message}");
    assert!(message.contains("save it again"), "{message}");

    // Cut at many points: always an error, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        let path = write_file(dir.path(), "cut.xlsx", &bytes[..cut]);
        if let Ok(mut file) = SpreadsheetFile::open(&path, &ReadOptions::default()) {
            let _ = file.read_table(
                "Risks",
                &score,
                &mut |_| Ok::<(), ReadError>(()),
                &mut |_| ControlFlow::Continue(()),
            );
        }
    }
}

#[test]
fn format_is_decided_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "risks.xlsx", b"ID,Title\nR-1,x\n");
    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::WrongFormat { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("risks.xlsx is not an Excel workbook: it does not start with a zip signature (maybe a CSV or HTML file renamed .xlsx?)"),
        "{message}"
    );

    let path = write_file(dir.path(), "empty.xlsx", b"");
    let message = SpreadsheetFile::open(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("empty"), "{message}");

    // An HTML table saved as .xls by a web tool.
    let path = write_file(
        dir.path(),
        "export.xls",
        b"<!DOCTYPE html><html><table></table></html>",
    );
    let message = SpreadsheetFile::open(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("HTML"), "{message}");

    // Tab-separated text saved as .xls by a legacy exporter is read as CSV.
    let path = write_file(dir.path(), "legacy.xls", b"ID\tTitle\nR-1\tx\n");
    let table = read(&path, "legacy").unwrap();
    assert_eq!(table.rows[0].cells, [text("R-1"), text("x")]);

    // A workbook with the wrong extension is still a workbook.
    let real = simple_xlsx(dir.path(), "real.xlsx");
    let renamed = dir.path().join("risks.csv");
    std::fs::copy(&real, &renamed).unwrap();
    let file = SpreadsheetFile::open(&renamed, &ReadOptions::default()).unwrap();
    assert_eq!(file.format(), Format::Xlsx);
    assert_eq!(file.sheet_names(), ["Risks"]);

    // Binary junk without a known signature.
    let path = write_file(
        dir.path(),
        "junk.bin",
        &[0u8, 1, 2, 3, 255, 0, 7].repeat(100),
    );
    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedFormat { .. }),
        "{err:?}"
    );
}

#[test]
fn encrypted_workbook_is_recognised() {
    // A real (minimal) compound file with the streams Excel writes for a
    // password-protected .xlsx; see `ole::tests::build_compound_file`.
    let dir = tempfile::tempdir().unwrap();
    let bytes = super::ole::tests::build_compound_file(&["EncryptionInfo", "EncryptedPackage"]);
    let path = write_file(dir.path(), "secret.xlsx", &bytes);
    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Encrypted { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "secret.xlsx: workbook is password-protected; save a copy without a password and import that"
    );

    let bytes = super::ole::tests::build_compound_file(&["WordDocument"]);
    let path = write_file(dir.path(), "letter.xls", &bytes);
    let message = SpreadsheetFile::open(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("Word"), "{message}");

    // Claims to be a workbook but the stream is empty: an error, no panic.
    let bytes = super::ole::tests::build_compound_file(&["Workbook"]);
    let path = write_file(dir.path(), "broken.xls", &bytes);
    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::Corrupt { .. } | ReadError::NoWorksheets { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("broken.xls "), "{err}");
}

/// Writes the content of one zip entry.
type EntryWriter<'a> = &'a dyn Fn(&mut dyn Write);

/// Writes a zip with the given (name, content) entries, deflated.
fn write_zip(path: &Path, entries: &[(&str, EntryWriter<'_>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, write) in entries {
        zip.start_file(*name, options).unwrap();
        write(&mut zip);
    }
    zip.finish().unwrap();
}

#[test]
fn zip_bombs_are_refused_before_inflating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    // 16 MiB of zeros deflate to a few KiB: a ratio near 1000.
    write_zip(
        &path,
        &[
            ("[Content_Types].xml", &|w: &mut dyn Write| {
                w.write_all(b"<Types><Override ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/></Types>").unwrap();
            }),
            ("xl/worksheets/sheet1.xml", &|w: &mut dyn Write| {
                let chunk = vec![0u8; 1024 * 1024];
                for _ in 0..16 {
                    w.write_all(&chunk).unwrap();
                }
            }),
        ],
    );
    assert!(std::fs::metadata(&path).unwrap().len() < 200 * 1024);
    let err = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap_err();
    match &err {
        ReadError::TooLarge {
            entry,
            uncompressed,
            compressed,
            ..
        } => {
            assert_eq!(entry, "xl/worksheets/sheet1.xml");
            assert_eq!(*uncompressed, 16 * 1024 * 1024);
            assert!(*compressed < *uncompressed / 200);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with("bomb.xlsx: refusing to unpack xl/worksheets/sheet1.xml"),
        "{message}"
    );
    assert!(message.contains("16.0 MiB"), "{message}");

    // A generous ratio lets it through to the format check.
    let relaxed = ReadOptions {
        max_compression_ratio: 10_000,
        ..ReadOptions::default()
    };
    let err = SpreadsheetFile::open(&path, &relaxed).unwrap_err();
    assert!(!matches!(err, ReadError::TooLarge { .. }), "{err:?}");

    // The total limit applies to ordinary workbooks too.
    let normal = simple_xlsx(dir.path(), "normal.xlsx");
    let tight = ReadOptions {
        max_uncompressed_bytes: 1000,
        ..ReadOptions::default()
    };
    let err = SpreadsheetFile::open(&normal, &tight).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("max_uncompressed_bytes"), "{err}");
}

#[test]
fn minimal_ods_is_read_with_carried_group_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.ods");
    let cell = |value: &str| {
        if value.is_empty() {
            "<table:table-cell/>".to_owned()
        } else {
            format!(
                "<table:table-cell office:value-type=\"string\"><text:p>{value}</text:p></table:table-cell>"
            )
        }
    };
    let row = |cells: &[&str]| {
        format!(
            "<table:table-row>{}</table:table-row>",
            cells.iter().map(|c| cell(c)).collect::<String>()
        )
    };
    let data_row = format!(
        "<table:table-row>{}{}{}<table:table-cell office:value-type=\"date\" office:date-value=\"2026-03-01\"><text:p>01.03.2026</text:p></table:table-cell></table:table-row>",
        cell("R-1"),
        "<table:table-cell office:value-type=\"float\" office:value=\"3\"><text:p>3</text:p></table:table-cell>",
        "<table:table-cell office:value-type=\"float\" office:value=\"4\"><text:p>4</text:p></table:table-cell>",
    );
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
         <office:body><office:spreadsheet><table:table table:name=\"Risks\">{}{}{}\
         </table:table></office:spreadsheet></office:body></office:document-content>",
        row(&["ID", "Inherent", "", "Due date"]),
        row(&["", "Likelihood", "Impact", ""]),
        data_row,
    );
    let manifest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\"><manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/></manifest:manifest>";
    write_zip(
        &path,
        &[
            ("mimetype", &|w: &mut dyn Write| {
                w.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
                    .unwrap();
            }),
            ("META-INF/manifest.xml", &|w: &mut dyn Write| {
                w.write_all(manifest.as_bytes()).unwrap()
            }),
            ("content.xml", &|w: &mut dyn Write| {
                w.write_all(content.as_bytes()).unwrap()
            }),
        ],
    );

    let file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.format(), Format::Ods);
    let table = read(&path, "risks").unwrap();
    assert_eq!((table.header.first_row, table.header.last_row), (1, 2));
    assert_eq!(
        table.names(),
        ["ID", "Inherent Likelihood", "Inherent Impact", "Due date"]
    );
    assert_eq!(
        table.rows[0].cells,
        [
            text("R-1"),
            Cell::Number(3.0),
            Cell::Number(4.0),
            Cell::DateTime(date(2026, 3, 1))
        ]
    );
}

#[test]
fn columns_beyond_the_limit_are_dropped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "ID").unwrap();
    sheet.write_string(0, 1, "Title").unwrap();
    for col in 0..16_384u16 {
        sheet.write_number(1, col, f64::from(col)).unwrap();
    }
    let path = dir.path().join("wide.xlsx");
    book.save(&path).unwrap();

    let table = read(&path, "Sheet1").unwrap();
    assert_eq!(table.rows[0].cells.len(), 1024);
    assert_eq!(table.rows[0].get(1023), &Cell::Number(1023.0));
    assert_eq!(table.summary.warnings.len(), 1);
    let (location, message) = &table.summary.warnings[0];
    assert_eq!(location.to_string(), "wide.xlsx!Sheet1!AMK2");
    assert!(message.contains("uses 16384 columns"), "{message}");
    assert!(message.contains("first 1024 (A to AMJ)"), "{message}");

    // The same for CSV, with a lowered limit.
    let mut csv = String::from("ID,Title\n");
    csv.push_str(&(0..50).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    csv.push('\n');
    let path = write_file(dir.path(), "wide.csv", csv.as_bytes());
    let options = ReadOptions {
        max_columns: 10,
        ..ReadOptions::default()
    };
    let table = read_with(&path, "wide", &options).unwrap();
    assert_eq!(table.rows[0].cells.len(), 10);
    let (location, message) = &table.summary.warnings[0];
    assert_eq!(location.to_string(), "wide.csv!K2");
    assert!(message.contains("uses 50 columns"), "{message}");
}

#[test]
fn overlong_cells_become_error_cells() {
    let dir = tempfile::tempdir().unwrap();
    // CSV: a real 1 MiB field under the default limit.
    let mut csv = b"ID,Title,Owner\nR-1,".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    csv.extend(b",Anna\nR-2,short,Ben\n");
    let path = write_file(dir.path(), "long.csv", &csv);
    let table = read(&path, "long").unwrap();
    assert_eq!(
        table.rows[0].cells,
        [
            text("R-1"),
            Cell::Error("cell holds 1048576 characters; the limit is 32767".into()),
            text("Anna")
        ]
    );
    assert_eq!(
        table.rows[1].cells,
        [text("R-2"), text("short"), text("Ben")]
    );

    // XLSX: Excel's maximum of 32,767 characters against a lowered limit.
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "ID").unwrap();
    sheet.write_string(0, 1, "Description").unwrap();
    sheet.write_string(1, 0, "R-1").unwrap();
    sheet.write_string(1, 1, "é".repeat(32_767)).unwrap();
    let path = dir.path().join("long.xlsx");
    book.save(&path).unwrap();
    let options = ReadOptions {
        max_cell_chars: 1000,
        ..ReadOptions::default()
    };
    let table = read_with(&path, "Sheet1", &options).unwrap();
    assert_eq!(
        table.rows[0].get(1),
        &Cell::Error("cell holds 32767 characters; the limit is 1000".into())
    );
}

#[test]
fn no_header_says_what_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "notes.csv",
        b"Meeting notes\nNr,Risk,Person\n1,a,b\n",
    );
    let mut file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    let err = file
        .read_table(
            "notes",
            &score,
            &mut |_| Ok::<(), ReadError>(()),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::NoHeader {
                scanned_rows: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("notes.csv: no header row found in the first 3 non-blank rows"),
        "{message}"
    );
    assert!(message.contains("at least 2"), "{message}");
    let message = err
        .with_expected("expected columns such as ID, Title, Owner")
        .to_string();
    assert!(
        message.contains("expected columns such as ID, Title, Owner"),
        "{message}"
    );

    // Only the first header_scan_rows rows are searched.
    let mut csv = "filler\n".repeat(5);
    csv.push_str("ID,Title\nR-1,x\n");
    let path = write_file(dir.path(), "deep.csv", csv.as_bytes());
    let shallow = ReadOptions {
        header_scan_rows: 3,
        ..ReadOptions::default()
    };
    assert!(matches!(
        read_with(&path, "deep", &shallow),
        Err(ReadError::NoHeader { .. })
    ));
    let table = read(&path, "deep").unwrap();
    assert_eq!(table.numbers(), [7]);

    let path = write_file(dir.path(), "blank.csv", b"\n;;;\n");
    let message = read(&path, "blank").unwrap_err().to_string();
    assert!(
        message.starts_with("blank.csv: the sheet has no non-blank rows"),
        "{message}"
    );
}

#[test]
fn callbacks_control_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "r.csv", b"ID,Title\nR-1,a\nR-2,b\nR-3,c\n");

    // Break stops after the first row.
    let mut file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    let mut seen = Vec::new();
    let summary = file
        .read_table("r", &score, &mut |_| Ok::<(), ReadError>(()), &mut |row| {
            seen.push(row.number);
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!((summary.rows, seen), (1, vec![2]));

    // The header callback can reject with the caller's own error type.
    #[derive(Debug)]
    enum MapError {
        Read(ReadError),
        MissingColumn(&'static str),
    }
    impl From<ReadError> for MapError {
        fn from(error: ReadError) -> Self {
            MapError::Read(error)
        }
    }
    let mut rows = 0;
    let result = file.read_table(
        "r",
        &score,
        &mut |_| Err(MapError::MissingColumn("Owner")),
        &mut |_| {
            rows += 1;
            ControlFlow::Continue(())
        },
    );
    assert!(matches!(result, Err(MapError::MissingColumn("Owner"))));
    assert_eq!(rows, 0);
    let result = file.read_table("r", &|_| 0, &mut |_| Ok(()), &mut |_| {
        ControlFlow::Continue(())
    });
    assert!(matches!(
        result,
        Err(MapError::Read(ReadError::NoHeader { .. }))
    ));
}

#[test]
fn locations_and_column_letters() {
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(25), "Z");
    assert_eq!(column_letter(26), "AA");
    assert_eq!(column_letter(701), "ZZ");
    assert_eq!(column_letter(702), "AAA");
    assert_eq!(column_letter(16_383), "XFD");

    let sheet = Location {
        file: "risks.xlsx".into(),
        sheet: Some("Risks".into()),
        row: 0,
        column: None,
    };
    assert_eq!(sheet.at_cell(7, 2).to_string(), "risks.xlsx!Risks!C7");
    assert_eq!(sheet.at_row(7).to_string(), "risks.xlsx!Risks!7");
    assert_eq!(sheet.to_string(), "risks.xlsx!Risks");
    let csv = Location::file("capa.csv");
    assert_eq!(csv.at_cell(7, 2).to_string(), "capa.csv!C7");
    assert_eq!(csv.at_row(7).to_string(), "capa.csv!7");
    assert_eq!(csv.to_string(), "capa.csv");
}

#[test]
fn spreadsheet_file_is_send_and_errors_are_shareable() {
    fn assert_send<T: Send>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_send::<SpreadsheetFile>();
    assert_error::<ReadError>();
    assert_error::<crate::DateError>();
}

#[test]
fn xlsm_is_told_from_its_content_types() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let xlsx = simple_xlsx(dir.path(), "plain.xlsx");
    // Re-pack the workbook with the macro-enabled content type Excel writes.
    let mut source = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let path = dir.path().join("macros.xlsm");
    let mut target = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for index in 0..source.len() {
        let mut entry = source.by_index(index).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "[Content_Types].xml" {
            let text = String::from_utf8(bytes).unwrap().replace(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            );
            bytes = text.into_bytes();
        }
        target
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        target.write_all(&bytes).unwrap();
    }
    target.finish().unwrap();

    let file = SpreadsheetFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(file.format(), Format::Xlsm);
    let table = read(&path, "Risks").unwrap();
    assert_eq!(table.rows[0].get(1), &text("Data loss"));
}
