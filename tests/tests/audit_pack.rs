//! `audit-pack` through the binary on the bundled example registers: every file written, the
//! summary's counts add up to each standard's clauses, a second pack reads the first for its
//! trend, and a bad scope is a usage error. The audit crate's tests hold the known answers
//! for each view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use imsbridge_e2e::cli::Imsbridge;
use imsbridge_e2e::imsbridge_bin;

#[test]
fn a_joint_pack_for_three_standards_is_written_and_trended() {
    let dir = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), dir.path());
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    ims.json(["import", examples.to_str().unwrap()]).unwrap();
    let out = dir.path().join("pack");
    let args = [
        "audit-pack",
        "--standards",
        "iso27001,iso9001,iso42001",
        "--out",
        out.to_str().unwrap(),
    ];
    let summary = ims.json(args).unwrap();
    let files: Vec<String> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            Path::new(f.as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for name in [
        "audit-pack.xlsx",
        "index.html",
        "assessment-results.json",
        "programme.csv",
        "pack.json",
    ] {
        assert!(files.iter().any(|f| f == name), "{name} not in {files:?}");
        assert!(
            out.join(name).metadata().unwrap().len() > 0,
            "{name} is empty"
        );
    }
    // Every clause of each standard is in exactly one state.
    let clauses = |standard: &str| {
        let map = ims.json(["clauses", "--standard", standard]).unwrap();
        map.as_array().unwrap().len() as u64
    };
    for standard in ["iso27001", "iso9001", "iso42001"] {
        let counts = &summary["standards"][standard];
        let total: u64 = counts
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(
            total > 0 && total <= clauses(standard),
            "{standard}: {counts}"
        );
        assert!(counts["not_conforming"].as_u64().unwrap() > 0, "{counts}");
    }
    let csv = std::fs::read_to_string(out.join("programme.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("9.2") && l.contains("iso9001"))
    );

    // The second pack compares with the first: no HS row is "new" any more.
    ims.json(args).unwrap();
    let pack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pack.json")).unwrap()).unwrap();
    let text = pack.to_string();
    assert!(text.contains("\"same\""), "no trend in pack.json");

    let bad = ims
        .run([
            "audit-pack",
            "--standards",
            "iso27001",
            "--scope",
            "kind=widget",
            "--out",
            out.to_str().unwrap(),
        ])
        .unwrap();
    assert_eq!(bad.code, Some(2), "{}", bad.describe());
    assert!(bad.stderr.contains("widget"), "{}", bad.stderr);
}
