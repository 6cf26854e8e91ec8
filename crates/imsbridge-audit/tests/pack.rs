//! Every view of a pack built from the fixture registers, against answers worked out by hand
//! from the mapping data and the documented rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod fixture;

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use imsbridge_audit::{
    AuditError, AuditPack, EvidenceFlag, OpenReason, PackOptions, PreviousPack, Scope, Section,
    Trend, build, run, write_pack,
};
use imsbridge_mappings::Mappings;
use imsbridge_model::Conformity;
use imsbridge_model::StandardId::{self, Iso9001, Iso27001, Iso42001};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store};

fn mappings() -> Mappings {
    Mappings::embedded().unwrap()
}

fn pack_with(options: PackOptions) -> AuditPack {
    build(&fixture::records(), &mappings(), options).unwrap()
}

fn pack() -> AuditPack {
    pack_with(PackOptions::new(fixture::standards(), fixture::now()))
}

fn state(pack: &AuditPack, s: StandardId, clause: &str) -> Conformity {
    pack.coverage_of(s, clause)
        .unwrap_or_else(|| panic!("{s} {clause} has a coverage row"))
        .state
}

#[test]
fn programme_audits_shared_processes_once_and_lists_discipline_clauses_apart() {
    let pack = pack();
    assert_eq!(
        pack.records,
        fixture::IN_SCOPE,
        "the 14001-only record is out"
    );

    // Internal audit: one line for all three standards, sub-clauses folded in.
    let ia = pack.programme_line("9.2").unwrap();
    assert_eq!(ia.section, Section::Shared);
    assert_eq!(ia.standards, [Iso27001, Iso9001, Iso42001]);
    let labels: Vec<String> = ia.clauses.iter().map(|c| c.label()).collect();
    for expected in [
        "iso27001 9.2 (equal HS 9.2)",
        "iso27001 9.2.2 (equal HS 9.2.2)",
        "iso9001 9.2 (equal HS 9.2)",
        "iso42001 9.2 (equal HS 9.2)",
    ] {
        assert!(labels.contains(&expected.to_string()), "{labels:?}");
    }
    // DOC-IA, RA-92, NC-7 (minor, overdue: 9 + 5) and AUD-1 (observation: 4).
    assert_eq!((ia.records, ia.open_items), (4, 2));
    assert_eq!(ia.exposure, 18.0);
    assert_eq!(ia.weight, 2.2, "1 + 0.25 × 2 + 18/25");

    // Risks and opportunities: the shared line has no discipline-specific clause.
    let risks = pack.programme_line("6.1").unwrap();
    assert!(
        risks
            .clauses
            .iter()
            .all(|c| !["6.1.2", "6.1.3", "6.1.4"].contains(&c.clause.as_str()))
    );
    assert_eq!(risks.exposure, 26.0, "AIR-1 inherent 20 + AIR-2 residual 6");
    assert_eq!(risks.weight, 2.5);

    // Discipline-specific lines: topmost extension/annex clauses, sub-clauses folded.
    let tops = |s: StandardId| -> Vec<String> {
        pack.discipline
            .iter()
            .filter(|l| l.standards == [s])
            .filter_map(|l| l.clauses.first().map(|c| c.clause.clone()))
            .collect()
    };
    assert_eq!(
        tops(Iso27001),
        ["6.1.2", "6.1.3", "8.2", "8.3", "A.5", "A.6", "A.7", "A.8"]
    );
    assert!(tops(Iso42001).starts_with(&["6.1.2".into(), "6.1.3".into(), "6.1.4".into()]));
    assert!(tops(Iso42001).contains(&"A.6".to_string()));
    let q8: Vec<String> = tops(Iso9001)
        .into_iter()
        .filter(|c| c.starts_with("8."))
        .collect();
    assert_eq!(q8, ["8.2", "8.3", "8.4", "8.5", "8.6", "8.7"]);
    let line_612 = pack
        .discipline
        .iter()
        .find(|l| l.standards == [Iso42001] && l.clauses[0].clause == "6.1.2")
        .unwrap();
    assert_eq!(
        (line_612.hs.as_slice(), line_612.records),
        (&["6.1".to_string()][..], 2)
    );
    assert_eq!(line_612.weight, 2.0);
    let a6 = pack
        .discipline
        .iter()
        .find(|l| l.standards == [Iso42001] && l.clauses[0].clause == "A.6")
        .unwrap();
    assert!(a6.clauses.iter().any(|c| c.clause == "A.6.2.4"));
    assert_eq!(a6.records, 1);

    // Suggested order: heaviest first, across both lists.
    let order = |hs: &str| pack.programme_line(hs).unwrap().order;
    assert_eq!(
        (order("6.1"), order("9.2"), order("10.2"), line_612.order),
        (1, 2, 3, 4)
    );
    assert_eq!(order("4.1"), 5, "equal weights go in HS order");
}

#[test]
fn coverage_carries_through_the_crosswalk_and_the_most_restrictive_result_wins() {
    let pack = pack();
    // Conforming (RA-92, direct) and partially (NC-7 from 9001, carried in full): partially.
    let ia = pack.coverage_of(Iso27001, "9.2").unwrap();
    assert_eq!(ia.state, Conformity::PartiallyConforming);
    assert_eq!(
        (
            ia.contributions.conforming,
            ia.contributions.partially_conforming
        ),
        (1, 1)
    );
    assert_eq!(
        ia.basis[0].path,
        "iso27001 9.2 ← HS 9.2 (equal) ← iso9001 9.2 ← record qms-capa.csv!R7"
    );
    assert!(ia.basis[0].carried);
    assert_eq!(
        pack.coverage_of(Iso9001, "9.2").unwrap().basis[0].path,
        "iso9001 9.2 ← record qms-capa.csv!R7"
    );
    // A 27001 result reaches 9001 10.2 (a superset of HS 10.2) as a subset: capped.
    let q102 = pack.coverage_of(Iso9001, "10.2").unwrap();
    assert_eq!(q102.state, Conformity::PartiallyConforming);
    assert_eq!(q102.basis[0].recorded, Conformity::NotConforming);
    assert_eq!(
        q102.basis[0].path,
        "iso9001 10.2 ← HS 10.2 (subset, at most partially_conforming) ← iso27001 10.2 ← record isms-soa.xlsx!Assessments!A9"
    );
    // …and 42001 10.2 (equal to HS) in full.
    assert_eq!(state(&pack, Iso42001, "10.2"), Conformity::NotConforming);
    // Two supersets of HS 9.3 only intersect: capped; superset into equal: in full.
    assert_eq!(
        state(&pack, Iso9001, "9.3"),
        Conformity::PartiallyConforming
    );
    assert_eq!(state(&pack, Iso42001, "9.3"), Conformity::Conforming);
    // Annex controls count for their listed theme, and do not carry.
    let a5 = pack.coverage_of(Iso27001, "A.5").unwrap();
    assert_eq!(a5.state, Conformity::Conforming);
    assert_eq!(
        a5.basis[0].path,
        "iso27001 A.5 ← iso27001 A.5.7 ← record isms-soa.xlsx!SoA!A7"
    );
    assert_eq!(
        state(&pack, Iso27001, "A.8"),
        Conformity::NotConforming,
        "planned"
    );
    // Headings get no row; nothing recorded: not assessed.
    assert!(pack.coverage_of(Iso27001, "9").is_none());
    assert_eq!(state(&pack, Iso27001, "9.2.2"), Conformity::NotAssessed);

    let counts = pack.state_counts();
    let s = &counts[&Iso27001];
    assert_eq!(
        (
            s.conforming,
            s.partially_conforming,
            s.not_conforming,
            s.total()
        ),
        (3, 1, 2, 38)
    );
    let q = &counts[&Iso9001];
    assert_eq!(
        (q.conforming, q.partially_conforming, q.not_conforming),
        (1, 4, 0)
    );
    let a = &counts[&Iso42001];
    assert_eq!(
        (a.conforming, a.partially_conforming, a.not_conforming),
        (2, 1, 1)
    );

    // Heat map: worst of 27001's shared clauses on 9.2 (9.2 partially, 9.2.1/9.2.2 not assessed).
    let row = pack.heatmap.iter().find(|r| r.hs == "9.2").unwrap();
    let cell = &row.cells[0];
    assert_eq!(
        (cell.state, cell.conforming, cell.clauses),
        (Some(Conformity::PartiallyConforming), 0, 3)
    );
}

#[test]
fn evidence_is_indexed_per_process_with_provenance_and_age_flags() {
    let pack = pack();
    let find = |id: &str| pack.evidence.iter().find(|e| e.external_id == id).unwrap();
    let old = find("DOC-OLD");
    assert_eq!((old.age_days, old.flag), (Some(762), EvidenceFlag::Stale));
    assert_eq!(old.hs, ["7.5"]);
    assert_eq!(old.location, "isms-soa.xlsx!Documents!A3");
    assert_eq!(old.link.as_deref(), Some("https://dms.example/doc-control"));
    let ia = find("DOC-IA");
    assert_eq!(
        (ia.age_days, ia.flag, ia.date_basis),
        (Some(120), EvidenceFlag::Current, Some("reviewed"))
    );
    assert_eq!(find("DOC-REV").flag, EvidenceFlag::ReviewOverdue);
    assert_eq!(find("CTL-A812").flag, EvidenceFlag::Stale);
    assert_eq!(find("NC-9").flag, EvidenceFlag::Undated);
    assert_eq!(find("NC-8").date_basis, Some("closed"));
    assert_eq!(
        pack.evidence.iter().filter(|e| e.flag.is_flagged()).count(),
        3
    );

    let line = pack
        .programme
        .iter()
        .position(|l| l.hs[0] == "9.2")
        .unwrap();
    let mut ids: Vec<&str> = pack
        .evidence_of_line(line)
        .map(|e| e.external_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["AUD-1", "DOC-IA", "NC-7", "RA-92"]);
    let unmapped: Vec<&str> = pack
        .unmapped_evidence()
        .map(|e| e.external_id.as_str())
        .collect();
    assert_eq!(unmapped, ["NC-9"]);
}

#[test]
fn open_items_list_nonconformities_findings_overdue_actions_and_unowned_ai_risks() {
    let pack = pack();
    let got: Vec<(&str, Vec<OpenReason>, Option<i64>, Vec<String>)> = pack
        .open_items
        .iter()
        .map(|o| {
            (
                o.external_id.as_str(),
                o.reasons.clone(),
                o.days_overdue,
                o.hs.clone(),
            )
        })
        .collect();
    use OpenReason::*;
    assert_eq!(
        got,
        vec![
            (
                "AIR-1",
                vec![AiRiskWithoutOwner, AiRiskWithoutTreatment],
                None,
                vec!["6.1".into()]
            ),
            (
                "NC-7",
                vec![OpenNonconformity, Overdue],
                Some(31),
                vec!["9.2".into()]
            ),
            ("AUD-1", vec![OpenFinding], None, vec!["9.2".into()]),
            ("CA-3", vec![Overdue], Some(92), vec!["10.2".into()]),
            ("NC-9", vec![OpenNonconformity], None, vec![]),
        ]
    );
}

#[test]
fn maturity_follows_the_criteria_and_trends_against_the_previous_pack() {
    let mut options = PackOptions::new(fixture::standards(), fixture::now());
    options.previous = Some(PreviousPack {
        generated_at: fixture::now() - chrono::Duration::days(90),
        levels: BTreeMap::from([
            ("9.2".to_string(), 4),
            ("7.2".to_string(), 5),
            ("9.3".to_string(), 2),
        ]),
    });
    let pack = pack_with(options);
    let m = |hs: &str| pack.maturity_of(hs).unwrap();
    // Everything but improvement_closed and all_conforming; NC-7 is overdue.
    assert_eq!((m("9.2").level, m("9.2").level_name), (3, "defined"));
    assert!(m("9.2").unmet.contains(&"nothing_overdue"));
    // Current matrix, assessed and carried to all three, NC-5 closed in February.
    assert_eq!((m("7.2").level, m("7.2").level_name), (5, "optimising"));
    // 9001 9.3 only partially (two supersets intersect); no improvement action.
    assert_eq!(m("9.3").level, 4);
    assert_eq!(m("10.2").level, 2, "no current document");
    assert_eq!(m("7.5").level, 2, "its only document is stale");
    assert_eq!(m("7.3").level, 2, "its document is past its review date");
    assert_eq!((m("4.1").level, m("4.1").level_name), (1, "ad hoc"));
    assert_eq!(m("9.2").trend, Some(Trend::Down));
    assert_eq!(m("7.2").trend, Some(Trend::Same));
    assert_eq!(m("9.3").trend, Some(Trend::Up));
    assert_eq!(
        (m("10.2").trend, m("10.2").previous),
        (Some(Trend::New), None)
    );
    // Without a previous pack there is no trend.
    assert_eq!(
        pack_with(PackOptions::new(fixture::standards(), fixture::now())).maturity[0].trend,
        None
    );
}

#[test]
fn scope_filters_records_and_processes_and_bad_options_name_the_fix() {
    let mut options = PackOptions::new(fixture::standards(), fixture::now());
    options.scope = Scope::parse("system=QMS-CAPA.csv; kind=capa").unwrap();
    let pack = pack_with(options);
    assert_eq!(pack.records, 4, "NC-5, NC-7, NC-8, NC-9");
    assert_eq!(pack.scope, "system=QMS-CAPA.csv; kind=capa");

    let mut options = PackOptions::new(fixture::standards(), fixture::now());
    options.scope = Scope::parse("hs=9.2;ai").unwrap();
    let pack = pack_with(options);
    assert_eq!(pack.programme.len(), 1);
    assert_eq!(pack.records, 0, "no AI-flagged record on internal audit");
    assert!(pack.coverage.iter().all(|c| c.hs == ["9.2"]));

    let mut options = PackOptions::new(fixture::standards(), fixture::now());
    options.scope = Scope::parse("hs=11.3").unwrap();
    let err = build(&fixture::records(), &mappings(), options).unwrap_err();
    assert!(matches!(err, AuditError::UnknownHsClause { .. }), "{err}");

    let err = build(&[], &mappings(), PackOptions::new(vec![], fixture::now())).unwrap_err();
    assert!(err.to_string().contains("no standard chosen"), "{err}");
    let err = build(
        &[],
        &mappings(),
        PackOptions::new(vec![StandardId::Iso31000], fixture::now()),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("iso31000 cannot be part of an audit pack"),
        "{err}"
    );
}

fn cell(range: &calamine::Range<Data>, row: usize, col: usize) -> String {
    range
        .get((row, col))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

#[test]
fn workbook_reads_back_with_sheets_headers_and_neutralised_cells() {
    let out = tempfile::tempdir().unwrap();
    write_pack(&pack(), out.path()).unwrap();
    let mut wb: Xlsx<_> = open_workbook(out.path().join("audit-pack.xlsx")).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Programme",
            "Coverage",
            "Evidence",
            "Open items",
            "Maturity"
        ]
    );
    let coverage = wb.worksheet_range("Coverage").unwrap();
    let header: Vec<String> = (0..9).map(|c| cell(&coverage, 0, c)).collect();
    assert_eq!(
        header,
        [
            "Standard",
            "Clause",
            "Title",
            "Kind",
            "Discipline-specific",
            "HS",
            "State",
            "Contributions",
            "Basis"
        ]
    );
    let row = (1..coverage.height())
        .find(|r| cell(&coverage, *r, 0) == "iso27001" && cell(&coverage, *r, 1) == "9.2")
        .unwrap();
    assert_eq!(cell(&coverage, row, 6), "partially_conforming");
    assert!(cell(&coverage, row, 8).contains("← iso9001 9.2 ← record qms-capa.csv!R7"));

    // The SoA's evidence text starts with `=`: stored as text behind an apostrophe.
    let evidence = wb.worksheet_range("Evidence").unwrap();
    assert_eq!(cell(&evidence, 0, 8), "Link / evidence");
    assert_eq!(
        evidence.height() as u64,
        1 + fixture::IN_SCOPE,
        "one row per record"
    );
    let hits: Vec<&Data> = evidence
        .rows()
        .filter_map(|r| r.get(8))
        .filter(|d| d.to_string().contains("HYPERLINK"))
        .collect();
    assert_eq!(
        hits,
        [&Data::String(
            "'=HYPERLINK(\"http://evil.example\",\"x\")".into()
        )]
    );
    let formulas = wb.worksheet_formula("Evidence").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula in the sheet"
    );

    let maturity = wb.worksheet_range("Maturity").unwrap();
    assert_eq!(cell(&maturity, 0, 2), "Level");
    let summary = wb.worksheet_range("Summary").unwrap();
    assert_eq!(cell(&summary, 0, 0), "Section");
}

/// The ids that `href="#…"` links point at, and the ids the page defines.
fn links_and_ids(html: &str) -> (Vec<String>, Vec<String>) {
    let grab = |marker: &str| -> Vec<String> {
        html.match_indices(marker)
            .filter_map(|(i, _)| {
                let rest = &html[i + marker.len()..];
                rest.find('"').map(|end| rest[..end].to_string())
            })
            .collect()
    };
    (grab("href=\"#"), grab(" id=\""))
}

#[test]
fn html_is_self_contained_navigable_and_escaped() {
    let out = tempfile::tempdir().unwrap();
    write_pack(&pack(), out.path()).unwrap();
    let path = out.path().join("index.html");
    let html = std::fs::read_to_string(&path).unwrap();
    let (links, ids) = links_and_ids(&html);
    assert!(links.len() > 20);
    for l in &links {
        assert!(ids.contains(l), "link #{l} has no target");
    }
    for section in [
        "summary",
        "heatmap",
        "programme",
        "discipline",
        "gaps",
        "open-items",
        "maturity",
        "evidence",
        "criteria",
    ] {
        assert!(ids.contains(&section.to_string()), "{section}");
    }
    // No resource from the network: no external stylesheet, script, image or font.
    for needle in [
        "src=",
        "<link",
        "<script",
        "<img",
        "url(",
        "@import",
        "href=\"http",
    ] {
        assert!(!html.contains(needle), "{needle}");
    }
    assert!(html.contains("<svg role=\"img\""));
    assert!(html.contains("@media print"));
    assert!(html.contains("Model drift &lt;script&gt;alert(1)&lt;/script&gt; &amp; bias"));
    assert!(html.contains("iso27001 9.2 ← HS 9.2 (equal) ← iso9001 9.2 ← record qms-capa.csv!R7"));

    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        println!("Chromium not found at /usr/bin/chromium: checked the DOM as text only");
        return;
    }
    let profile = tempfile::tempdir().unwrap();
    // Headless, and without the background connections a closed network refuses.
    let render = |args: &[&str]| {
        let output = std::process::Command::new("timeout")
            .arg("120")
            .arg(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", path.display()))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    let output = render(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&output.stdout);
    for section in [
        "summary",
        "heatmap",
        "programme",
        "gaps",
        "open-items",
        "maturity",
        "evidence",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "{section} rendered"
        );
    }
    assert!(dom.contains("<svg role=\"img\""));
    assert!(!dom.contains("<script>alert(1)"), "escaped text stays text");

    // A screenshot of the rendered page, kept beside the build for a look at CI's result.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-pack.png");
    let _ = std::fs::remove_file(&shot);
    let screenshot = format!("--screenshot={}", shot.display());
    render(&["--hide-scrollbars", "--window-size=1280,1500", &screenshot]);
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    // IHDR: width and height, big-endian, after the signature and the chunk header.
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dimension(16), dimension(20)), (1280, 1500));
    // A blank page of that size compresses to a few kilobytes; the rendered tables, the
    // heat map and the text take far more.
    assert!(
        png.len() > 40_000,
        "{} bytes: is the page blank?",
        png.len()
    );
    println!("screenshot: {}", shot.display());
}

#[test]
fn run_reads_the_store_writes_every_file_and_trends_against_the_last_pack() {
    let mut store = Store::open_in_memory().unwrap();
    let start = ImportRunStart::new("fixture", "fixture", "spreadsheet");
    let mut import = store.begin_import(&start).unwrap();
    for r in fixture::records() {
        import.upsert(&r).unwrap();
    }
    import.commit(&ImportRunSummary::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mappings = mappings();
    let options = || PackOptions::new(fixture::standards(), fixture::now());

    let first = run(&store, &mappings, options(), out.path()).unwrap();
    let names: Vec<String> = first
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "audit-pack.xlsx",
            "index.html",
            "assessment-results.json",
            "programme.csv",
            "pack.json"
        ]
    );
    assert_eq!(first.records, fixture::IN_SCOPE);
    assert_eq!(first.standards[&Iso27001].not_conforming, 2);
    assert_eq!((first.open_items, first.flagged_evidence), (5, 3));
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["standards"]["iso9001"]["partially_conforming"], 4);
    // Nothing but the five files: the temporary ones were renamed.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 5);

    let oscal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("assessment-results.json")).unwrap())
            .unwrap();
    assert_eq!(
        oscal["assessment-results"]["results"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let mut csv = csv::Reader::from_path(out.path().join("programme.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), first.programme_lines + first.discipline_lines);
    let ia = rows.iter().find(|r| &r[2] == "9.2").unwrap();
    assert_eq!(
        (&ia[0], &ia[1], &ia[4]),
        ("2", "shared", "iso27001; iso9001; iso42001")
    );
    assert!(ia[5].contains("iso9001 9.2 (equal HS 9.2)"));

    // The second run reads the first's pack.json: same data, same levels.
    let previous = PreviousPack::read(out.path()).unwrap().unwrap();
    assert_eq!(previous.levels["7.2"], 5);
    run(&store, &mappings, options(), out.path()).unwrap();
    let text = std::fs::read_to_string(out.path().join("pack.json")).unwrap();
    let pack: serde_json::Value = serde_json::from_str(&text).unwrap();
    let trends: Vec<&str> = pack["maturity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["trend"].as_str().unwrap())
        .collect();
    assert!(trends.iter().all(|t| *t == "same"), "{trends:?}");
    // The evidence index is counted in pack.json, its rows are in the workbook.
    assert!(pack.get("evidence").is_none());
    assert_eq!(pack["evidence_counts"]["items"], fixture::IN_SCOPE);
    assert_eq!(
        pack["evidence_counts"]["stale"].as_u64().unwrap()
            + pack["evidence_counts"]["review_overdue"].as_u64().unwrap(),
        3
    );

    // A damaged pack.json is reported with its path, not overwritten.
    std::fs::write(out.path().join("pack.json"), "{not json").unwrap();
    let err = run(&store, &mappings, options(), out.path()).unwrap_err();
    assert!(matches!(err, AuditError::PreviousPack { .. }));
    assert!(err.to_string().contains("pack.json"), "{err}");
}
