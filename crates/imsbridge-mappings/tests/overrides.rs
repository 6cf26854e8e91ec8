//! Loading an override folder over the built-in files, and the checks run on load.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failed unwrap is the test failing"
)]

use std::fs;
use std::path::Path;

use imsbridge_mappings::{Field, Mappings, MappingsError};
use imsbridge_model::{ClauseRef, Relationship, StandardId};

const BUILT_IN_27001: &str = include_str!("../../../mappings/standards/iso27001.toml");

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Loads with one file overridden and returns the error.
fn error_with(rel: &str, text: &str) -> MappingsError {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), rel, text);
    Mappings::load(Some(dir.path())).unwrap_err()
}

fn minimal_27001(clauses: &str) -> String {
    format!("id = \"iso27001\"\ndesignation = \"ISO/IEC 27001:2022\"\ntitle = \"ISMS\"\n{clauses}")
}

#[test]
fn an_empty_folder_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = Mappings::load(Some(dir.path())).unwrap();
    let embedded = Mappings::embedded().unwrap();
    assert_eq!(loaded.hs_clauses(), embedded.hs_clauses());
    assert_eq!(
        loaded.crosswalk(StandardId::Iso9001, StandardId::Iso42001),
        embedded.crosswalk(StandardId::Iso9001, StandardId::Iso42001)
    );
}

#[test]
fn files_override_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    // 27001 with 6.1.2 judged a subset instead of intersecting.
    let changed = BUILT_IN_27001.replacen(
        "id = \"6.1.2\"\ntitle = \"Information security risk assessment\"\nparent = \"6.1\"\nkind = \"extension\"\nmap = [{ hs = \"6.1\", rel = \"intersects\", conf = \"high\" }]",
        "id = \"6.1.2\"\ntitle = \"Information security risk assessment\"\nparent = \"6.1\"\nkind = \"extension\"\nmap = [{ hs = \"6.1\", rel = \"subset\", conf = \"low\" }]",
        1,
    );
    assert_ne!(changed, BUILT_IN_27001, "the test edits a real entry");
    write(dir.path(), "standards/iso27001.toml", &changed);
    // An added scale and a replaced profile.
    write(
        dir.path(),
        "scales/acme-1-4.toml",
        "id = \"acme-1-4\"\ntitle = \"ACME 1-4\"\ndimensions = [\"likelihood\"]\n[range]\nmin = 1\nmax = 4\n",
    );
    write(
        dir.path(),
        "profiles/default.toml",
        "[aliases]\ntitle = [\"Headline\"]\n[signals]\nrisk = [\"likelihood\"]\n",
    );
    write(dir.path(), "README.md", "not a mapping file");

    let m = Mappings::load(Some(dir.path())).unwrap();
    let links = m
        .hs_links(&ClauseRef::new(StandardId::Iso27001, "6.1.2"))
        .unwrap();
    assert_eq!(links[0].relationship, Relationship::Subset);
    // Untouched files are the built-in ones.
    assert_eq!(m.standard(StandardId::Iso9001).unwrap().clauses().len(), 73);
    assert!(
        m.standard(StandardId::Iso27001)
            .unwrap()
            .file()
            .ends_with("iso27001.toml")
    );
    assert!(
        !m.standard(StandardId::Iso27001)
            .unwrap()
            .file()
            .contains("built in")
    );
    assert!(
        m.standard(StandardId::Iso9001)
            .unwrap()
            .file()
            .contains("built in")
    );

    let acme = m.scale("acme-1-4").unwrap();
    assert_eq!(acme.read("4").map(|r| r.normalised), Some(5.0));
    assert!(m.scale("1-5").is_some(), "built-in scales stay");

    let p = m.default_profile();
    assert_eq!(p.match_header("Headline", None), Some(Field::Title));
    assert_eq!(
        p.match_header("Risk ID", None),
        None,
        "the override replaced the profile"
    );
}

#[test]
fn a_missing_folder_or_unknown_file_is_an_error() {
    let err = Mappings::load(Some(Path::new("/nonexistent/mappings"))).unwrap_err();
    assert!(matches!(err, MappingsError::NotADirectory(_)), "{err}");

    let err = error_with("standards/iso27k.toml", &minimal_27001(""));
    assert!(matches!(err, MappingsError::UnknownFile { .. }), "{err}");
    assert!(err.to_string().contains("standards/iso27001.toml"), "{err}");
}

#[test]
fn map_entries_must_name_existing_hs_clauses() {
    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"6.1.2\"\ntitle = \"Risk assessment\"\nkind = \"extension\"\nmap = [{ hs = \"6.1.2\", rel = \"intersects\", conf = \"high\" }]\n",
        ),
    );
    assert!(
        matches!(err, MappingsError::UnknownHsClause { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("iso27001.toml"), "{message}");
    assert!(message.contains("\"6.1.2\" map[0].hs"), "{message}");
}

#[test]
fn parents_and_vias_must_exist_and_not_loop() {
    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"6.1.2\"\ntitle = \"T\"\nparent = \"6.1\"\nkind = \"extension\"\n",
        ),
    );
    assert!(matches!(err, MappingsError::UnknownParent { .. }), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"A.5\"\ntitle = \"T\"\nkind = \"annex\"\nvia = \"6.1.3\"\n",
        ),
    );
    assert!(matches!(err, MappingsError::UnknownVia { .. }), "{err}");
    assert!(err.to_string().contains("\"A.5\""), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"A.5\"\ntitle = \"T\"\nkind = \"annex\"\nvia = \"A.6\"\n[[clause]]\nid = \"A.6\"\ntitle = \"T\"\nkind = \"annex\"\nvia = \"A.5\"\n",
        ),
    );
    assert!(
        matches!(err, MappingsError::Cycle { key: "via", .. }),
        "{err}"
    );

    let err = error_with(
        "hs.toml",
        "[[clause]]\nid = \"4\"\ntitle = \"Context\"\nparent = \"4\"\n",
    );
    assert!(
        matches!(err, MappingsError::Cycle { key: "parent", .. }),
        "{err}"
    );
}

#[test]
fn vocabulary_ids_and_editions_are_checked() {
    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"4\"\ntitle = \"Context\"\nkind = \"group\"\nmap = [{ hs = \"4\", rel = \"equals\", conf = \"high\" }]\n",
        ),
    );
    assert!(matches!(err, MappingsError::BadValue { .. }), "{err}");
    assert!(err.to_string().contains("map[0].rel"), "{err}");
    assert!(err.to_string().contains("not_related"), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001("[[clause]]\nid = \"4\"\ntitle = \"Context\"\nkind = \"chapter\"\n"),
    );
    assert!(err.to_string().contains("\"4\" kind"), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"4\"\ntitle = \"Context\"\nkind = \"group\"\nmap = [{ hs = \"4\", rel = \"equal\", conf = \"sure\" }]\n",
        ),
    );
    assert!(err.to_string().contains("map[0].conf"), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"4\"\ntitle = \"A\"\nkind = \"group\"\n[[clause]]\nid = \"4\"\ntitle = \"B\"\nkind = \"group\"\n",
        ),
    );
    assert!(matches!(err, MappingsError::DuplicateId { .. }), "{err}");

    let err = error_with(
        "standards/iso27001.toml",
        "id = \"iso9001\"\ndesignation = \"ISO 9001:2015\"\ntitle = \"QMS\"\n",
    );
    assert!(err.to_string().contains(": id:"), "{err}");
    let err = error_with(
        "standards/iso27001.toml",
        "id = \"iso27001\"\ndesignation = \"ISO/IEC 27001:2013\"\ntitle = \"ISMS\"\n",
    );
    assert!(err.to_string().contains("designation"), "{err}");

    // Unknown keys are rejected by name, not ignored.
    let err = error_with(
        "standards/iso27001.toml",
        &minimal_27001(
            "[[clause]]\nid = \"4\"\ntitle = \"A\"\nkind = \"group\"\nnote = \"prose\"\n",
        ),
    );
    assert!(matches!(err, MappingsError::Toml { .. }), "{err}");
    assert!(err.to_string().contains("note"), "{err}");
}

#[test]
fn scales_are_checked_on_load() {
    let err = error_with(
        "scales/extra.toml",
        "id = \"1-5\"\ntitle = \"Again\"\ndimensions = [\"impact\"]\n[range]\nmin = 1\nmax = 5\n",
    );
    assert!(matches!(err, MappingsError::DuplicateScale { .. }), "{err}");

    let err = error_with(
        "scales/bad.toml",
        "id = \"bad\"\ntitle = \"Bad\"\ndimensions = [\"colour\"]\n[range]\nmin = 1\nmax = 5\n",
    );
    assert!(err.to_string().contains("dimensions[0]"), "{err}");

    let err = error_with(
        "profiles/default.toml",
        "scales = { likelihood = \"nope\" }\n",
    );
    assert!(matches!(err, MappingsError::UnknownScale { .. }), "{err}");
}
