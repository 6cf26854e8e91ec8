//! Export → import gives the same records (ids, titles, statuses, dates, facets, treatment,
//! clauses, AI flag, assessment results), through JSON and through XML.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use imsbridge_connector_oscal::{
    Document, ExportOptions, Imported, ReadOptions, export, read_bytes,
};
use imsbridge_model::{Record, RecordKind, StandardId};

use common::{SYSTEM, assessment_records, content, example, mappings, now, risk_records};

fn reimport(doc: &Document, xml: bool) -> Imported {
    let m = mappings();
    let (bytes, name) = if xml {
        (doc.to_xml().into_bytes(), "export.xml")
    } else {
        (doc.to_json().into_bytes(), "export.json")
    };
    let imported = read_bytes(&bytes, name, SYSTEM, &ReadOptions::default(), &m).unwrap();
    assert!(imported.rejects.is_empty(), "{:?}", imported.rejects);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    imported
}

fn assert_same(original: &[Record], back: &[Record]) {
    assert_eq!(original.len(), back.len(), "record count");
    for (a, b) in original.iter().zip(back) {
        assert_eq!(content(a), content(b), "{}", a.provenance.external_id);
        assert_eq!(b.provenance.connector, "oscal");
        assert_eq!(b.compute_content_hash(), b.provenance.content_hash);
    }
}

#[test]
fn poam_round_trips_risks_and_corrective_actions() {
    let m = mappings();
    let records = risk_records(&m);
    let doc = export::poam(&records, &ExportOptions::new(now())).unwrap();
    for xml in [false, true] {
        let back = reimport(&doc, xml);
        // The risks' own POA&M items are derived, not records: the same four come back.
        assert_same(&records, &back.records);
    }
}

#[test]
fn assessment_results_round_trip_assessments_and_findings() {
    let m = mappings();
    let records = assessment_records(&m);
    let doc = export::assessment_results(
        &records,
        &[StandardId::Iso27001, StandardId::Iso42001],
        &m,
        &ExportOptions::new(now()),
    )
    .unwrap();
    for xml in [false, true] {
        let back = reimport(&doc, xml);
        // "Not assessed" findings and evidence observations are derived: only the records.
        let mut sorted = back.records.clone();
        sorted.sort_by_key(|r| r.provenance.external_id.clone());
        let mut original = records.clone();
        original.sort_by_key(|r| r.provenance.external_id.clone());
        assert_same(&original, &sorted);
    }
}

#[test]
fn records_read_from_oscal_survive_export_and_reimport() {
    let m = mappings();
    for name in [
        "ifa_plan-of-action-and-milestones.json",
        "ifa_assessment-results-example.xml",
    ] {
        let bytes = std::fs::read(example(name)).unwrap();
        let first = read_bytes(&bytes, name, SYSTEM, &ReadOptions::default(), &m).unwrap();
        let risks: Vec<Record> = first
            .records
            .iter()
            .filter(|r| matches!(r.kind(), RecordKind::Risk | RecordKind::CorrectiveAction))
            .cloned()
            .collect();
        let doc = export::poam(&risks, &ExportOptions::new(now())).unwrap();
        for xml in [false, true] {
            let back = reimport(&doc, xml);
            assert_same(&risks, &back.records);
        }
    }
}

#[test]
fn an_exported_catalog_reads_back_as_controls_on_their_clauses() {
    let m = mappings();
    let doc = export::catalog(StandardId::Iso42001, &m, &ExportOptions::new(now())).unwrap();
    let json = doc.to_json();
    let imported = read_bytes(
        json.as_bytes(),
        "42001.json",
        "catalogs",
        &ReadOptions::default(),
        &m,
    )
    .unwrap();
    let listed = m.standard(StandardId::Iso42001).unwrap().clauses().len();
    let clauses = m.standard(StandardId::Iso42001).unwrap().clauses();
    let top_with_children = clauses
        .iter()
        .filter(|c| {
            c.parent.is_none()
                && clauses
                    .iter()
                    .any(|x| x.parent.as_deref() == Some(c.id.as_str()))
        })
        .count();
    assert_eq!(imported.records.len(), listed - top_with_children);
    let c = imported
        .records
        .iter()
        .find(|r| r.provenance.external_id == "iso42001-6.1.4")
        .unwrap();
    assert_eq!(c.kind(), RecordKind::Control);
    assert!(c.title.starts_with("6.1.4 "));
    assert_eq!(
        c.clauses,
        vec![imsbridge_model::ClauseRef::new(
            StandardId::Iso42001,
            "6.1.4"
        )]
    );
    assert!(!c.hs.is_empty(), "linked to the Harmonized Structure");
    assert!(c.ai.flagged, "a 42001 clause makes it an AI record");
    assert_eq!(c.extra["oscal:group"], "Planning");
}

#[test]
fn the_kind_and_standard_hints_shape_catalog_records() {
    let m = mappings();
    let config = imsbridge_connector_oscal::SystemConfig {
        path: "basic-catalog.xml".into(),
        kind: Some("requirement_assessment".into()),
        kinds: vec!["requirement_assessment".into()],
        ..Default::default()
    };
    let options = config.read_options().unwrap();
    let bytes = std::fs::read(example("basic-catalog.xml")).unwrap();
    let imported = read_bytes(&bytes, "basic-catalog.xml", "nist", &options, &m).unwrap();
    assert_eq!(imported.records.len(), 4);
    for r in &imported.records {
        let imsbridge_model::Details::RequirementAssessment(d) = &r.details else {
            panic!("{:?}", r.kind())
        };
        assert_eq!(d.result, imsbridge_model::Conformity::NotAssessed);
    }

    // A profile of ISO/IEC 27001 Annex A controls named by number.
    let profile = r#"{"profile": {"uuid": "7eca4589-7ed9-4552-9da6-738126660be3",
        "metadata": {"title": "SoA", "last-modified": "2026-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
        "imports": [{"href": "iso27001.json",
            "include-controls": [{"with-ids": ["A.5.7"]}],
            "exclude-controls": [{"with-ids": ["A.7.4"]}]}]}}"#;
    let config = imsbridge_connector_oscal::SystemConfig {
        path: "soa.json".into(),
        standard: Some("iso27001".into()),
        ..Default::default()
    };
    let imported = read_bytes(
        profile.as_bytes(),
        "soa.json",
        "soa",
        &config.read_options().unwrap(),
        &m,
    )
    .unwrap();
    let applicable: Vec<(String, Option<bool>, usize)> = imported
        .records
        .iter()
        .map(|r| {
            let imsbridge_model::Details::Control(d) = &r.details else {
                panic!()
            };
            (
                r.provenance.external_id.clone(),
                d.applicable,
                r.clauses.len(),
            )
        })
        .collect();
    assert_eq!(
        applicable,
        [
            ("A.5.7".to_string(), Some(true), 1),
            ("A.7.4".to_string(), Some(false), 1)
        ]
    );
}
