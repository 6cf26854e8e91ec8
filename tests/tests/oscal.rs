//! OSCAL through the binary: `import` tells OSCAL documents apart by content, JSON and XML
//! give the same records, `export oscal` writes every model and what it writes imports again.
//! The connector's own tests cover the mapping, the schemas and the bad-input corpus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use imsbridge_e2e::cli::Imsbridge;
use imsbridge_e2e::imsbridge_bin;
use serde_json::Value;

fn shared_examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/oscal/examples")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn fresh() -> (tempfile::TempDir, Imsbridge) {
    let dir = tempfile::tempdir().unwrap();
    let ims = Imsbridge::new(imsbridge_bin(), dir.path());
    (dir, ims)
}

/// (kind, title) of every record, the part of a record an export must carry.
fn contents(records: &[Value]) -> BTreeSet<(String, String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["details"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["title"].as_str().unwrap().to_string(),
                r["status"]["label"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn the_sp800_53_catalog_imports_the_same_from_json_and_xml() {
    let (_dir, ims) = fresh();
    let base = "NIST_SP-800-53_rev5.0.1_catalog_2021-06_oscal-1.0.0";
    let xml = shared_examples().join(format!("{base}.xml"));
    let json = shared_examples().join(format!("{base}.json"));
    let first = ims
        .json(["import", "--system", "sp800-53", xml.to_str().unwrap()])
        .unwrap();
    assert_eq!(first["imported"], 1189, "{first}");
    assert_eq!(first["records"]["control"], 1189);
    // Same system, the other format: every record is recognised as unchanged.
    let second = ims
        .json(["import", "--system", "sp800-53", json.to_str().unwrap()])
        .unwrap();
    assert_eq!(
        (
            &second["imported"],
            &second["updated"],
            &second["unchanged"]
        ),
        (&Value::from(0), &Value::from(0), &Value::from(1189)),
        "{second}"
    );
}

#[test]
fn a_malformed_document_names_its_place_and_writes_nothing() {
    let (dir, ims) = fresh();
    ims.json([
        "import",
        examples().join("qms-capa-register.csv").to_str().unwrap(),
    ])
    .unwrap();
    let before = ims.snapshot().unwrap();
    let bad = dir.path().join("poam.json");
    std::fs::write(
        &bad,
        r#"{"plan-of-action-and-milestones": {"uuid": "not-a-uuid", "metadata": {}}}"#,
    )
    .unwrap();
    let out = ims.run(["import", bad.to_str().unwrap()]).unwrap();
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("plan-of-action-and-milestones.uuid") && out.stderr.contains("UUID"),
        "{}",
        out.stderr
    );
    assert_eq!(ims.snapshot().unwrap(), before);
}

#[test]
fn every_export_model_is_written_and_poam_and_results_import_again() {
    let (dir, ims) = fresh();
    ims.json(["import", examples().to_str().unwrap()]).unwrap();
    let out = |name: &str| dir.path().join(name);

    for (args, file) in [
        (vec!["--model", "poam"], "poam.json"),
        (vec!["--model", "poam", "--xml"], "poam.xml"),
        (
            vec![
                "--model",
                "assessment-results",
                "--standards",
                "iso27001,iso42001",
            ],
            "results.json",
        ),
        (
            vec!["--model", "catalog", "--standard", "iso42001"],
            "catalog.json",
        ),
        (
            vec![
                "--model", "mapping", "--from", "iso9001", "--to", "iso27001",
            ],
            "mapping.xml",
        ),
    ] {
        let mut all = vec!["export", "oscal"];
        all.extend(args.iter().copied());
        if file.ends_with(".xml") && !args.contains(&"--xml") {
            all.push("--xml");
        }
        let path = out(file);
        all.extend(["--out", path.to_str().unwrap()]);
        let written = ims.json(all).unwrap();
        assert_eq!(written["path"], path.to_str().unwrap(), "{written}");
        let text = std::fs::read_to_string(&path).unwrap();
        if file.ends_with(".xml") {
            assert!(text.contains("xmlns=\"http://csrc.nist.gov/ns/oscal/1.0\""));
        } else {
            let doc: Value = serde_json::from_str(&text).unwrap();
            let root = doc.as_object().unwrap().values().next().unwrap();
            assert_eq!(root["metadata"]["oscal-version"], "1.2.1");
        }
    }

    // The AI risks of the store, exported and imported into another store, are the same
    // records (kind, title, status), from JSON and from XML alike.
    let ai_risks: Vec<Value> = ims
        .records(&["--ai", "--kind", "risk"])
        .unwrap()
        .into_iter()
        .collect();
    assert!(!ai_risks.is_empty());
    for file in ["poam.json", "poam.xml"] {
        let (_other_dir, other) = fresh();
        let report = other
            .json(["import", "--system", "poam", out(file).to_str().unwrap()])
            .unwrap();
        assert_eq!(report["rejected"], 0, "{report}");
        let risks = other.records(&["--kind", "risk"]).unwrap();
        assert_eq!(contents(&risks), contents(&ai_risks), "{file}");
    }

    // A requirement assessment exported for 42001 comes back as one.
    let (_other_dir, other) = fresh();
    other
        .json(["import", out("results.json").to_str().unwrap()])
        .unwrap();
    assert!(
        !other
            .records(&["--kind", "requirement_assessment"])
            .unwrap()
            .is_empty()
    );

    // A model's missing argument is a usage error.
    let usage = ims.run(["export", "oscal", "--model", "catalog"]).unwrap();
    assert_eq!(usage.code, Some(2), "{}", usage.describe());
    assert!(usage.stderr.contains("--standard"), "{}", usage.stderr);
}

#[test]
fn an_oscal_system_is_pulled_like_register_files() {
    let (dir, ims) = fresh();
    let docs = dir.path().join("oscal");
    std::fs::create_dir(&docs).unwrap();
    for name in [
        "basic-catalog.json",
        "ifa_plan-of-action-and-milestones.xml",
    ] {
        std::fs::copy(shared_examples().join(name), docs.join(name)).unwrap();
    }
    std::fs::write(
        dir.path().join("imsbridge.toml"),
        "[[system]]\nname = \"nist\"\ntype = \"oscal\"\npath = \"oscal/*\"\nkinds = [\"control\", \"risk\"]\n",
    )
    .unwrap();
    let checks = ims.json(["systems", "check"]).unwrap();
    assert_eq!(checks[0]["ok"], true, "{checks}");
    let first = ims.json(["pull"]).unwrap();
    let second = ims.json(["pull"]).unwrap();
    assert_eq!(first[0]["type"], "files", "{first}");
    let imported = first[0]["imported"].as_u64().unwrap();
    assert!(imported > 0);
    assert_eq!(second[0]["unchanged"].as_u64(), Some(imported), "{second}");
    let kinds: BTreeSet<String> = ims
        .records(&[])
        .unwrap()
        .iter()
        .map(|r| r["details"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["control".to_string(), "risk".to_string()])
    );
    assert!(
        ims.records(&[])
            .unwrap()
            .iter()
            .all(|r| r["provenance"]["system"] == "nist")
    );
}
