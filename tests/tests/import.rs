//! End-to-end tests of `imsbridge import`: the sample registers, re-imports, dry runs, the
//! hostile corpus and encodings, against the real binary and a store in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: failing loudly is their job"
)]

use std::path::{Path, PathBuf};

use imsbridge_e2e::cli::{Imsbridge, RunOutput, find_record};
use imsbridge_e2e::corpus::{
    BadInput, Expect, location_matches, message_matches, write_bad_inputs,
};
use imsbridge_e2e::examples::{self, CAPA_FILE, CAPAS, ISMS_FILE, ISMS_RISKS, isms_row};
use imsbridge_e2e::imsbridge_bin;
use serde_json::Value;
use tempfile::TempDir;

/// A temporary directory with the sample registers in `examples/` and a fresh store.
fn setup() -> (TempDir, Imsbridge, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let examples_dir = tmp.path().join("examples");
    examples::write_all(&examples_dir).unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), tmp.path());
    (tmp, ims, examples_dir)
}

fn import(ims: &Imsbridge, path: &Path, extra: &[&str]) -> RunOutput {
    let mut args = vec![
        "--format".to_string(),
        "json".to_string(),
        "import".to_string(),
        path.to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_string()));
    ims.run(args).unwrap()
}

/// Imports and requires exit code 0; returns the JSON report.
fn import_ok(ims: &Imsbridge, path: &Path, extra: &[&str]) -> Value {
    let out = import(ims, path, extra);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    out.json().unwrap()
}

fn count(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no count {field:?}: {report}"))
}

/// The report's `records` by kind, without zero entries.
fn counts_by_kind(report: &Value) -> std::collections::BTreeMap<String, u64> {
    report["records"]
        .as_object()
        .unwrap_or_else(|| panic!("report has no records object: {report}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn expected_by_kind() -> std::collections::BTreeMap<String, u64> {
    examples::expected_counts()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[test]
fn imports_every_example_with_the_expected_counts() {
    let (_tmp, ims, dir) = setup();
    let report = import_ok(&ims, &dir, &[]);
    let total = examples::expected_total();
    assert_eq!(count(&report, "imported"), total, "{report}");
    assert_eq!(count(&report, "updated"), 0, "{report}");
    assert_eq!(count(&report, "unchanged"), 0, "{report}");
    assert_eq!(count(&report, "rejected"), 0, "{report}");
    assert!(report["rejects_file"].is_null(), "{report}");
    assert_eq!(counts_by_kind(&report), expected_by_kind(), "{report}");

    let records = ims.records(&[]).unwrap();
    assert_eq!(records.len() as u64, total);
    let mut by_kind = std::collections::BTreeMap::new();
    for r in &records {
        let kind = r["details"]["kind"].as_str().unwrap().to_string();
        *by_kind.entry(kind).or_insert(0u64) += 1;
    }
    assert_eq!(by_kind, expected_by_kind());
}

#[test]
fn isms_register_is_read_as_people_wrote_it() {
    let (_tmp, ims, dir) = setup();
    import_ok(&ims, &dir, &[]);
    let records = ims.records(&["--kind", "risk"]).unwrap();
    let risk = |id: &str| {
        find_record(&records, ISMS_FILE, id).unwrap_or_else(|| panic!("no ISMS risk {id}"))
    };

    // Row 6: the first risk below the two title rows, the blank row and the two-row header.
    let r001 = risk("R-001");
    assert_eq!(
        r001["provenance"]["location"],
        "isms-risk-register.xlsx!Risks!A6"
    );
    assert_eq!(r001["title"], ISMS_RISKS[0].title);
    // Words on the 5-point scale; "Inherent" and "Residual" come from the merged group row.
    let inherent = &r001["details"]["inherent"];
    let residual = &r001["details"]["residual"];
    assert_eq!(inherent["likelihood"]["raw"], "4 - Likely", "{r001}");
    assert_eq!(inherent["likelihood"]["value"], 4.0, "{r001}");
    assert_eq!(inherent["impact"]["value"], 5.0, "{r001}");
    assert_eq!(residual["likelihood"]["value"], 2.0, "{r001}");
    assert_eq!(residual["impact"]["value"], 4.0, "{r001}");
    assert_eq!(r001["details"]["treatment"]["option"], "modify", "{r001}");
    // A real Excel date cell.
    assert_eq!(r001["dates"]["due"], "2026-03-31", "{r001}");

    // Plain numbers with a score formula.
    let r003 = risk("R-003");
    assert_eq!(
        r003["details"]["inherent"]["likelihood"]["value"], 3.0,
        "{r003}"
    );
    assert_eq!(
        r003["details"]["residual"]["likelihood"]["value"], 1.0,
        "{r003}"
    );
    assert_eq!(
        r003["details"]["residual"]["impact"]["value"], 5.0,
        "{r003}"
    );

    // The Risk Owner cell merged over rows 10 and 11 belongs to both risks.
    let (first, second) = examples::ISMS_MERGED_OWNER;
    for index in [first, second] {
        let r = risk(ISMS_RISKS[index].id);
        assert_eq!(r["owner"], ISMS_RISKS[index].owner, "{r}");
        assert_eq!(
            r["provenance"]["location"],
            format!("isms-risk-register.xlsx!Risks!A{}", isms_row(index))
        );
    }

    // An AI risk in the ISMS register: flagged through its ISO/IEC 42001 clause, and mapped
    // to HS 6.1 (42001 6.1.2 intersects HS 6.1).
    let chatbot = risk("R-011");
    assert_eq!(chatbot["title"], "LLM chatbot leaks customer data");
    assert_eq!(chatbot["ai"]["flagged"], true, "{chatbot}");
    let clauses = chatbot["clauses"].as_array().unwrap();
    for (standard, clause) in [("iso42001", "6.1.2"), ("iso27001", "A.5.34")] {
        assert!(
            clauses
                .iter()
                .any(|c| c["standard"] == standard && c["clause"] == clause),
            "{chatbot}"
        );
    }
    assert!(
        chatbot["hs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["clause"] == "6.1"
                && h["via"]["standard"] == "iso42001"
                && h["via"]["clause"] == "6.1.2"),
        "{chatbot}"
    );
    // A plain information security risk is not about AI.
    assert_eq!(risk("R-001")["ai"]["flagged"], false);
}

#[test]
fn capa_csv_keeps_day_first_dates_and_multiline_cells() {
    let (_tmp, ims, dir) = setup();
    import_ok(&ims, &dir, &[]);
    let records = ims.records(&["--kind", "nonconformity"]).unwrap();
    assert_eq!(records.len(), CAPAS.len());
    let nc = |id: &str| find_record(&records, CAPA_FILE, id).unwrap_or_else(|| panic!("no {id}"));

    let nc12 = nc("NC-2026-012");
    assert_eq!(nc12["dates"]["due"], "2026-05-31", "{nc12}");
    let nc7 = nc("NC-2026-007");
    let description = nc7["description"].as_str().unwrap_or_default();
    assert_eq!(description, CAPAS[6].description, "{nc7}");
    assert!(description.contains('\n'));
    // "ISO 9001 10.2; 9.1.3": the standard carries over to the second reference, and 10.2 sits
    // on HS 10.2 as a superset.
    let nc19 = nc("NC-2026-019");
    let clauses = nc19["clauses"].as_array().unwrap();
    assert!(
        clauses
            .iter()
            .any(|c| c["standard"] == "iso9001" && c["clause"] == "9.1.3"),
        "{nc19}"
    );
    assert!(
        nc19["hs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["clause"] == "10.2"
                && h["relationship"] == "superset"
                && h["via"]["clause"] == "10.2"),
        "{nc19}"
    );
}

#[test]
fn reimport_is_idempotent_and_one_edited_cell_updates_one_record() {
    let (_tmp, ims, dir) = setup();
    let first = import_ok(&ims, &dir, &[]);
    let total = examples::expected_total();
    assert_eq!(count(&first, "imported"), total);

    let again = import_ok(&ims, &dir, &[]);
    assert_eq!(
        count(&again, "unchanged"),
        count(&first, "imported"),
        "{again}"
    );
    assert_eq!(count(&again, "imported"), 0, "{again}");
    assert_eq!(count(&again, "updated"), 0, "{again}");
    assert_eq!(ims.records(&[]).unwrap().len() as u64, total);

    edit_capa_status(&dir, "NC-2026-004", "In progress", "Closed");
    let edited = import_ok(&ims, &dir, &[]);
    assert_eq!(count(&edited, "updated"), 1, "{edited}");
    assert_eq!(count(&edited, "imported"), 0, "{edited}");
    assert_eq!(count(&edited, "unchanged"), total - 1, "{edited}");
    let records = ims.records(&["--kind", "nonconformity"]).unwrap();
    let nc = find_record(&records, CAPA_FILE, "NC-2026-004").unwrap();
    assert_eq!(nc["status"]["label"], "Closed", "{nc}");
    assert_eq!(nc["status"]["category"], "closed", "{nc}");
}

/// Changes one row's Status cell in the CAPA CSV.
fn edit_capa_status(dir: &Path, id: &str, from: &str, to: &str) {
    let path = dir.join(CAPA_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut hits = 0;
    let edited: Vec<String> = text
        .split("\r\n")
        .map(|line| {
            if line.starts_with(&format!("{id};")) {
                hits += 1;
                let cells: Vec<&str> = line.split(';').collect();
                assert_eq!(cells[11], from, "{line}");
                let mut cells: Vec<String> = cells.iter().map(|c| (*c).to_string()).collect();
                cells[11] = to.to_string();
                cells.join(";")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_eq!(hits, 1, "{id} must be on exactly one line");
    std::fs::write(&path, edited.join("\r\n")).unwrap();
}

#[test]
fn dry_run_writes_nothing() {
    let (tmp, ims, dir) = setup();

    // On a fresh store: the report says what would be read, and no record exists afterwards.
    let report = import_ok(&ims, &dir, &["--dry-run"]);
    assert_eq!(counts_by_kind(&report), expected_by_kind(), "{report}");
    if ims.store.exists() {
        assert_eq!(ims.records(&[]).unwrap(), Vec::<Value>::new());
    }

    // On a filled store: an edited row would be updated, but nothing is written.
    import_ok(&ims, &dir, &[]);
    let before = ims.snapshot().unwrap();
    edit_capa_status(&dir, "NC-2026-005", "Awaiting verification", "Closed");
    let report = import_ok(&ims, &dir, &["--dry-run"]);
    assert_eq!(count(&report, "updated"), 1, "{report}");
    assert_eq!(ims.snapshot().unwrap(), before);

    // A rejected row in a dry run leaves no rejects file behind.
    let corpus = tmp.path().join("corpus");
    let cases = write_bad_inputs(&corpus).unwrap();
    let case = cases
        .iter()
        .find(|c| c.file.ends_with("bad-treatment-ignore.csv"))
        .unwrap();
    let out = import(&ims, &case.file, &["--dry-run"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let report = out.json().unwrap();
    assert!(count(&report, "rejected") >= 1, "{report}");
    assert!(report["rejects_file"].is_null(), "{report}");
    assert_eq!(ims.snapshot().unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("reject"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn corpus_inputs_fail_as_the_contract_says() {
    let tmp = tempfile::tempdir().unwrap();
    let examples_dir = tmp.path().join("examples");
    examples::write_all(&examples_dir).unwrap();
    let template = Imsbridge::new(imsbridge_bin(), &tmp.path().join("template"));
    std::fs::create_dir_all(&template.cwd).unwrap();
    import_ok(&template, &examples_dir, &[]);
    let before = template.snapshot().unwrap();
    let cases = write_bad_inputs(&tmp.path().join("corpus")).unwrap();
    assert!(cases.len() >= 28);

    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // Each case gets its own copy of the filled store, so one case cannot mask another.
        let ims = template
            .copy_to(&tmp.path().join(format!("case-{i:02}")))
            .unwrap();
        if let Err(problem) = check_case(&ims, case, &before) {
            failures.push(format!(
                "[{}] {} {}\n  expected: {}\n  {}",
                case.name,
                case.file.file_name().unwrap().to_string_lossy(),
                case.args.join(" "),
                case.expect,
                problem.replace('\n', "\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

fn check_case(ims: &Imsbridge, case: &BadInput, before: &[Value]) -> Result<(), String> {
    let mut args = vec![
        "--format".to_string(),
        "json".to_string(),
        "import".to_string(),
        case.file.to_string_lossy().into_owned(),
    ];
    args.extend(case.args.iter().cloned());
    let out = ims.run(args)?;
    if out.timed_out {
        return Err(format!("timed out: {}", out.describe()));
    }
    if out.stderr.contains("panicked at") {
        return Err(format!("the binary panicked: {}", out.describe()));
    }
    // Error texts quote the file's path and name ("bad-encrypted.xlsx"); a message fragment must
    // be found in what the text says, not in the names it quotes.
    // Plain argument values ("gadget") stay: quoting them back is what a usage error should do.
    let mut names = Vec::new();
    let paths = case.args.iter().map(Path::new).filter(|p| p.exists());
    for path in std::iter::once(case.file.as_path()).chain(paths) {
        names.push(path.to_string_lossy().into_owned());
        if let Some(name) = path.file_name() {
            names.push(name.to_string_lossy().into_owned());
        }
    }
    // Longest first, so a path is removed whole before its file name is looked for.
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let said = |text: &str| -> String {
        names
            .iter()
            .filter(|n| n.len() > 2)
            .fold(text.to_string(), |acc, n| acc.replace(n.as_str(), "<name>"))
    };
    let unchanged = || -> Result<(), String> {
        if ims.snapshot()? == before {
            Ok(())
        } else {
            Err("the store changed although the import failed".to_string())
        }
    };
    match &case.expect {
        Expect::FileError { location, message } => {
            expect_code(&out, 1)?;
            if !out.stderr.contains(location.as_str()) {
                return Err(format!(
                    "stderr does not name {location:?}: {}",
                    out.describe()
                ));
            }
            if !message_matches(message, &said(&out.stderr)) {
                return Err(format!(
                    "stderr does not say {message:?} (file names aside): {}",
                    out.describe()
                ));
            }
            unchanged()
        }
        Expect::UsageError { message } => {
            expect_code(&out, 2)?;
            if !message_matches(message, &said(&out.stderr)) {
                return Err(format!(
                    "stderr does not say {message:?} (file names aside): {}",
                    out.describe()
                ));
            }
            unchanged()
        }
        Expect::Rejected {
            location,
            message,
            imported,
        } => check_rejected(ims, &out, location, message, *imported, &said),
        Expect::Warning {
            location,
            message,
            imported,
        } => check_warning(&out, location, message, *imported, &said),
        Expect::RejectedOrWarning {
            location,
            message,
            rows,
        } => match out.code {
            Some(3) => check_rejected(ims, &out, location, message, rows - 1, &said),
            Some(0) => check_warning(&out, location, message, *rows, &said),
            _ => Err(format!("expected exit code 3 or 0: {}", out.describe())),
        },
    }
}

fn expect_code(out: &RunOutput, code: i32) -> Result<(), String> {
    if out.code == Some(code) {
        Ok(())
    } else {
        Err(format!("expected exit code {code}: {}", out.describe()))
    }
}

fn check_rejected(
    ims: &Imsbridge,
    out: &RunOutput,
    location: &str,
    message: &str,
    imported: u64,
    said: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    expect_code(out, 3)?;
    let report = out.json()?;
    let rejected = report["rejected"].as_u64().unwrap_or(0);
    if rejected < 1 {
        return Err(format!("report has no rejected row: {report}"));
    }
    if report["imported"].as_u64() != Some(imported) {
        return Err(format!("expected {imported} rows imported: {report}"));
    }
    let Some(path) = report["rejects_file"].as_str() else {
        return Err(format!("report names no rejects file: {report}"));
    };
    let path = ims.cwd.join(path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&path)
        .map_err(|e| format!("cannot read the rejects file {}: {e}", path.display()))?;
    let mut seen = Vec::new();
    let mut header_ok = false;
    for record in reader.records() {
        let record = record.map_err(|e| format!("rejects file {}: {e}", path.display()))?;
        let (Some(at), Some(reason)) = (record.get(0), record.get(1)) else {
            continue;
        };
        if at == "location" && reason == "reason" {
            header_ok = true;
            continue;
        }
        if location_matches(location, at) && message_matches(message, &said(reason)) {
            return if header_ok {
                Ok(())
            } else {
                Err("the rejects file has no `location,reason,…` header line".to_string())
            };
        }
        seen.push(format!("{at}: {}", shorten(reason)));
    }
    Err(format!(
        "no reject at {location} mentioning {message:?} in {}; it has:\n{}",
        path.display(),
        seen.join("\n")
    ))
}

fn check_warning(
    out: &RunOutput,
    location: &str,
    message: &str,
    imported: u64,
    said: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    expect_code(out, 0)?;
    let report = out.json()?;
    if report["rejected"].as_u64() != Some(0) {
        return Err(format!("nothing should be rejected: {report}"));
    }
    if report["imported"].as_u64() != Some(imported) {
        return Err(format!("expected {imported} rows imported: {report}"));
    }
    let warnings = report["warnings"].as_array().cloned().unwrap_or_default();
    let found = warnings.iter().any(|w| {
        w["location"]
            .as_str()
            .is_some_and(|at| location_matches(location, at))
            && w["message"]
                .as_str()
                .is_some_and(|m| message_matches(message, &said(m)))
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "no warning at {location} mentioning {message:?}; warnings: {}",
            shorten(&Value::Array(warnings).to_string())
        ))
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 300 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(300).collect::<String>())
    }
}

#[test]
fn windows_1252_csv_imports_with_umlauts_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), tmp.path());
    let text = "Risk ID;Risk Title;Description;Risk Owner;Clause;Likelihood;Impact;Treatment;Due Date;Status\r\n\
        W-01;Überschwemmung im Serverraum Nürnberg;Starkregen flutet den Keller – Schaden bis 50.000 €;Jürgen Weiß;27001 A.7.5;2;4;Mitigate;30.06.2026;Open\r\n\
        W-02;Schlüsselverlust der Geschäftsführung;Generalschlüssel verloren, Schließanlage älter als zehn Jahre;Björn Schäfer;27001 A.7.2;3;3;Mitigate;31.07.2026;In progress\r\n\
        W-03;Datenschutzverstoß durch Fehlversand;Personalakte an den falschen Empfänger geschickt;Zoë Fröhlich;27001 A.5.34;2;3;Accept;15.09.2026;Open\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must not be valid UTF-8"
    );
    let path = tmp.path().join("risiken-export.csv");
    std::fs::write(&path, &bytes).unwrap();

    let report = import_ok(&ims, &path, &[]);
    assert_eq!(count(&report, "imported"), 3, "{report}");
    assert_eq!(count(&report, "rejected"), 0, "{report}");
    let records = ims.records(&[]).unwrap();
    let w01 = find_record(&records, "risiken-export.csv", "W-01").unwrap();
    assert_eq!(w01["title"], "Überschwemmung im Serverraum Nürnberg");
    assert_eq!(w01["owner"], "Jürgen Weiß");
    assert_eq!(
        w01["description"],
        "Starkregen flutet den Keller – Schaden bis 50.000 €"
    );
    assert_eq!(w01["dates"]["due"], "2026-06-30", "{w01}");
    let w03 = find_record(&records, "risiken-export.csv", "W-03").unwrap();
    assert_eq!(w03["owner"], "Zoë Fröhlich");
    assert_eq!(w03["title"], "Datenschutzverstoß durch Fehlversand");
}

#[test]
fn committed_examples_are_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let fresh = tempfile::tempdir().unwrap();
    examples::write_all(fresh.path()).unwrap();
    for file in examples::FILES {
        let want = std::fs::read(fresh.path().join(file)).unwrap();
        let have = std::fs::read(committed.join(file))
            .unwrap_or_else(|e| panic!("examples/{file} is missing ({e})"));
        assert!(
            want == have,
            "examples/{file} is stale: run `cargo run -p imsbridge-e2e --bin make-examples`"
        );
    }
    let readme = std::fs::read_to_string(committed.join("README.md")).unwrap();
    for file in examples::FILES {
        assert!(
            readme.contains(file),
            "examples/README.md does not describe {file}"
        );
    }
    assert!(readme.contains("synthetic"));
    assert!(readme.contains("cargo run -p imsbridge-e2e --bin make-examples"));
}

/// XLS (Excel 97-2003) and ODS have no Rust writer: `tests/fixtures/make-legacy-formats.py`
/// made these two once. Both hold the same register below a title row and an instructions
/// sheet; the XLS also has an owner cell merged over two rows.
#[test]
fn xls_and_ods_registers_import_like_xlsx() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for file in ["legacy-risks.xls", "legacy-risks.ods"] {
        let tmp = tempfile::tempdir().unwrap();
        let ims = Imsbridge::new(imsbridge_bin(), tmp.path());
        let report = import_ok(&ims, &fixtures.join(file), &[]);
        assert_eq!(count(&report, "imported"), 4, "{file}: {report}");
        assert_eq!(count(&report, "rejected"), 0, "{file}: {report}");
        assert_eq!(
            report["sheets"][format!("{file}!Risks")],
            "risk",
            "{report}"
        );
        let records = ims.records(&[]).unwrap();
        let r1 = find_record(&records, file, "R-1").unwrap();
        assert_eq!(r1["provenance"]["location"], format!("{file}!Risks!A4"));
        assert_eq!(r1["dates"]["due"], "2026-03-31", "{file}: a real date cell");
        assert_eq!(r1["details"]["inherent"]["likelihood"]["value"], 4.0);
        assert_eq!(r1["clauses"][0]["clause"], "A.8.7");
        let r3 = find_record(&records, file, "R-3").unwrap();
        assert_eq!(r3["owner"], "Mia Keller", "{file}: {r3}");
        assert_eq!(r3["ai"]["flagged"], true, "{file}: a 42001 reference");
    }
}

/// A damaged XLS (found by mutating `legacy-risks.xls`) on which the XLS parser panics: the
/// panic is contained, reported as a damaged file, and nothing else reaches the terminal.
#[test]
fn a_parser_panic_is_a_clear_error_not_a_crash() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/damaged-parser-panic.xls");
    let tmp = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), tmp.path());
    let out = import(&ims, &file, &[]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("damaged-parser-panic.xls is damaged"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert_eq!(ims.records(&[]).unwrap().len(), 0);
}
