//! The NIST examples: record counts and exact fields, and JSON ↔ XML equivalence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use imsbridge_connector_oscal::map::map_document;
use imsbridge_connector_oscal::{
    ErrorKind, Format, Imported, MapOptions, ModelKind, ReadOptions, parse_path, read_path_with,
};
use imsbridge_model::{Conformity, Details, Record, RecordKind, StatusCategory, TreatmentOption};

use common::{example, mappings};

fn import(name: &str) -> Imported {
    let mut options = ReadOptions::default();
    options.map.imported_at = common::now();
    read_path_with(&example(name), "nist", &options, &mappings())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn by_external<'a>(i: &'a Imported, kind: RecordKind, id: &str) -> &'a Record {
    i.records
        .iter()
        .find(|r| r.kind() == kind && r.provenance.external_id == id)
        .unwrap_or_else(|| panic!("no {kind} {id}"))
}

fn counts(i: &Imported) -> BTreeMap<RecordKind, usize> {
    let mut c = BTreeMap::new();
    for r in &i.records {
        *c.entry(r.kind()).or_default() += 1;
    }
    c
}

const CATALOG_800_53: &str = "NIST_SP-800-53_rev5.0.1_catalog_2021-06_oscal-1.0.0";
/// The examples in both formats (the SP 800-53 catalog, also in both, has its own test).
const PAIRS: [&str; 3] = [
    "basic-catalog",
    "ifa_plan-of-action-and-milestones",
    "ifa_assessment-results-example",
];

#[test]
fn sp_800_53_imports_1189_controls_identically_from_json_and_xml() {
    // Each file parsed once: the typed documents compared, then mapped.
    let (json_doc, _) = parse_path(
        &example(&format!("{CATALOG_800_53}.json")),
        &Default::default(),
    )
    .unwrap();
    let (xml_doc, _) = parse_path(
        &example(&format!("{CATALOG_800_53}.xml")),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(json_doc, xml_doc, "the typed documents differ");
    let map = |doc, format, ext: &str| {
        let options = MapOptions {
            imported_at: common::now(),
            ..MapOptions::default()
        };
        map_document(
            doc,
            format,
            &format!("{CATALOG_800_53}.{ext}"),
            "nist",
            &options,
            &mappings(),
        )
    };
    let json = map(&json_doc, Format::Json, "json");
    let xml = map(&xml_doc, Format::Xml, "xml");
    // 1,007 base controls and enhancements in force plus 182 withdrawn ones: every <control>.
    assert_eq!(json.records.len(), 1189);
    assert_eq!(xml.records.len(), 1189);
    assert!(json.rejects.is_empty() && xml.rejects.is_empty());
    assert_eq!((json.format, xml.format), (Format::Json, Format::Xml));
    assert_eq!(json.oscal_version, "1.0.0");

    let withdrawn = json
        .records
        .iter()
        .filter(|r| {
            r.status
                .as_ref()
                .is_some_and(|s| s.category == StatusCategory::Cancelled)
        })
        .count();
    assert_eq!(withdrawn, 182);
    let enhancements = json
        .records
        .iter()
        .filter(|r| r.extra.contains_key("oscal:parent"))
        .count();
    assert_eq!(enhancements, 1189 - 322);

    // Same ids and content hashes; only where they were read differs.
    for (a, b) in json.records.iter().zip(&xml.records) {
        assert_eq!(a.id, b.id);
        assert_eq!(
            a.provenance.content_hash, b.provenance.content_hash,
            "{}",
            a.provenance.external_id
        );
        assert_eq!(a.compute_content_hash(), a.provenance.content_hash);
        let mut b = b.clone();
        b.provenance.location = a.provenance.location.clone();
        assert_eq!(*a, b);
    }

    let ac2 = by_external(&json, RecordKind::Control, "ac-2");
    assert_eq!(ac2.title, "AC-2 Account Management");
    let text = ac2.description.as_deref().unwrap();
    assert!(
        text.starts_with("a. Define and document the types of accounts"),
        "{text}"
    );
    assert!(text.contains(
        "c. Require [Assignment: organization-defined prerequisites and criteria] for group and role membership;"
    ));
    assert!(
        text.contains("\n  1. Authorized users of the system;"),
        "nested items are indented"
    );
    assert_eq!(ac2.extra["oscal:group"], "Access Control");
    assert_eq!(ac2.extra["prop:label"], "AC-2");
    assert!(ac2.extra["link:related"].starts_with("ac-3, ac-5, ac-6"));
    assert_eq!(
        ac2.provenance.location,
        format!("{CATALOG_800_53}.json#catalog.groups[0].controls[1]")
    );
    let xml_ac2 = by_external(&xml, RecordKind::Control, "ac-2");
    assert_eq!(
        xml_ac2.provenance.location,
        format!("{CATALOG_800_53}.xml#/catalog/group[1]/control[2]")
    );

    let ac1 = by_external(&json, RecordKind::Control, "ac-1");
    assert!(ac1.description.as_deref().unwrap().contains(
        "1. [Selection (one or more): Organization-level; Mission/business process-level; System-level] access control policy that:"
    ));
    let enh = by_external(&json, RecordKind::Control, "ac-2.1");
    assert_eq!(enh.title, "AC-2(1) Automated System Account Management");
    assert_eq!(enh.extra["oscal:parent"], "ac-2");
}

#[test]
fn basic_catalog_keeps_groups_params_and_props() {
    let i = import("basic-catalog.json");
    assert_eq!(i.model, ModelKind::Catalog);
    assert_eq!(
        i.title,
        "Sample Security Catalog for Demonstration and Testing"
    );
    assert_eq!(i.records.len(), 4);
    let c = by_external(&i, RecordKind::Control, "s1.1.1");
    assert_eq!(
        c.title,
        "1.1.1 Information security roles and responsibilities"
    );
    assert_eq!(
        c.description.as_deref(),
        Some(
            "All information security responsibilities should be defined and allocated.\n\
             A value has been assigned to [Selection (one or more): initiating a device lock after \
             [Assignment: a duration] of inactivity; requiring the user to initiate a device lock \
             before leaving the system unattended].\n\
             A cross link has been established with a choppy syntax: (choppy)."
        )
    );
    assert_eq!(
        c.extra["oscal:group"],
        "Organization of Information Security / Internal Organization"
    );
    assert_eq!(c.extra["oscal:group-id"], "s1/s1.1");
    assert_eq!(c.extra["param:s1.1.1-prm_2"], "[Assignment: a duration]");
    assert!(
        c.extra["part:guidance"].contains("\n1. the assets and information security processes")
    );
    assert_eq!(c.details, Details::Control(Default::default()));
}

#[test]
fn low_baseline_profile_selects_149_applicable_controls() {
    let i = import("NIST_SP-800-53_rev5_LOW-baseline_profile.json");
    assert_eq!(i.model, ModelKind::Profile);
    assert_eq!(counts(&i), BTreeMap::from([(RecordKind::Control, 149)]));
    let ac2 = by_external(&i, RecordKind::Control, "ac-2");
    let Details::Control(d) = &ac2.details else {
        panic!()
    };
    assert_eq!(d.applicable, Some(true));
    assert_eq!(
        ac2.extra["oscal:import"],
        "#84cbf061-eb87-4ec1-8112-1f529232e907"
    );
    assert_eq!(
        ac2.provenance.location,
        "NIST_SP-800-53_rev5_LOW-baseline_profile.json#profile.imports[0].include-controls[0].with-ids[1]"
    );
    // The same control id from the same system is the same record as the catalog's.
    let catalog = import(&format!("{CATALOG_800_53}.xml"));
    assert_eq!(
        ac2.id,
        by_external(&catalog, RecordKind::Control, "ac-2").id
    );
}

#[test]
fn poam_risks_become_risks_with_facets_and_items_corrective_actions() {
    for name in [
        "ifa_plan-of-action-and-milestones.json",
        "ifa_plan-of-action-and-milestones.xml",
    ] {
        let i = import(name);
        assert_eq!(
            counts(&i),
            BTreeMap::from([
                (RecordKind::Risk, 2),
                (RecordKind::CorrectiveAction, 2),
                (RecordKind::Document, 2),
            ]),
            "{name}"
        );
        let r1 = by_external(&i, RecordKind::Risk, "8b8bae66-b28c-4fa5-9a20-b79e7322fc00");
        assert_eq!(
            r1.title,
            "IFA-GOODREAD-RISK-1: PAO Staff Have Over-Privileged Access to GoodRead System"
        );
        let status = r1.status.as_ref().unwrap();
        assert_eq!(
            (status.label.as_str(), status.category),
            ("deviation-approved", StatusCategory::Closed)
        );
        assert_eq!(r1.dates.due, Some(common::date(2024, 1, 1)));
        let Details::Risk(d) = &r1.details else {
            panic!()
        };
        let l = d.inherent.likelihood.as_ref().unwrap();
        assert_eq!(
            (l.raw.as_str(), l.scale.as_str(), l.value, l.normalised),
            ("low", "https://ifa.gov/division/ociso/sca", 1.0, 1.0)
        );
        let im = d.inherent.impact.as_ref().unwrap();
        assert_eq!(
            (im.raw.as_str(), im.value, im.normalised),
            ("high", 3.0, 5.0)
        );
        let t = d.treatment.as_ref().unwrap();
        assert_eq!(
            (t.option, t.label.as_str()),
            (TreatmentOption::Retain, "accept")
        );
        assert!(
            d.treatment_plan
                .as_deref()
                .unwrap()
                .starts_with("The GoodRead Product Team does not have sufficient personnel")
        );
        assert!(
            r1.extra["oscal:statement"].starts_with("An account without proper least privilege")
        );
        assert!(r1.extra["oscal:observations"].starts_with("Django Framework Examination: "));

        let r2 = by_external(&i, RecordKind::Risk, "1c65d2d3-7735-47fa-8f68-a236744beab7");
        assert_eq!(r2.status.as_ref().unwrap().category, StatusCategory::Open);
        let Details::Risk(d2) = &r2.details else {
            panic!()
        };
        assert_eq!(
            d2.treatment.as_ref().map(|t| t.option),
            Some(TreatmentOption::Modify)
        );

        let item = by_external(
            &i,
            RecordKind::CorrectiveAction,
            "48c8368d-43ff-4736-9b28-64b1b1284c03",
        );
        assert_eq!(
            item.dates.due,
            Some(common::date(2023, 6, 23)),
            "due with the risk it treats"
        );
        assert_eq!(item.extra["oscal:related-risks"], r2.title);
        // NIST's first item points at a mitigating factor, not a risk: kept, and said.
        assert_eq!(i.warnings.len(), 1, "{:?}", i.warnings);
        assert!(
            i.warnings[0]
                .message
                .contains("401c15c9-ad6b-4d4a-a591-7d53a3abb3b6 is not in the document")
        );

        let obs = by_external(
            &i,
            RecordKind::Document,
            "8807eb6e-0c05-43bc-8438-799739615e34",
        );
        assert_eq!(obs.dates.next_review, Some(common::date(2023, 7, 1)));
        assert_eq!(obs.extra["oscal:methods"], "TEST");
    }
}

#[test]
fn assessment_results_give_assessments_findings_risks_and_evidence() {
    let i = import("ifa_assessment-results-example.xml");
    assert_eq!(
        counts(&i),
        BTreeMap::from([
            (RecordKind::Risk, 1),
            (RecordKind::RequirementAssessment, 1),
            (RecordKind::AuditFinding, 1),
            (RecordKind::Document, 2),
        ])
    );
    let id = "45d8a6c2-1368-4bad-9ba0-7141f0a32889";
    let ra = by_external(&i, RecordKind::RequirementAssessment, id);
    let Details::RequirementAssessment(d) = &ra.details else {
        panic!()
    };
    assert_eq!(d.result, Conformity::NotConforming, "target not-satisfied");
    assert_eq!(d.assessor.as_deref(), Some("Amy Assessor"));
    let evidence = d.evidence.as_deref().unwrap();
    assert!(evidence.starts_with("AwesomeCloud IAM Roles Test - GoodRead System Engineer Role: "));
    assert!(evidence.contains("\n- awesomecloud:auditlog:DeleteAccountAuditLog\n"));
    assert_eq!(ra.extra["oscal:target"], "objective-id ac-6.1_obj");
    assert_eq!(ra.dates.reviewed, Some(common::date(2023, 6, 2)));

    let af = by_external(&i, RecordKind::AuditFinding, id);
    let Details::AuditFinding(f) = &af.details else {
        panic!()
    };
    assert_eq!(
        f.audit.as_deref(),
        Some("IFA GoodRead Continous Monitoring Results June 2023")
    );
    assert_eq!(f.evidence.as_deref(), Some(evidence));

    let risk = by_external(&i, RecordKind::Risk, "0cfa750e-3553-47ba-a7ba-cf84a884d261");
    let s = risk.status.as_ref().unwrap();
    assert_eq!(
        (s.label.as_str(), s.category),
        ("investigating", StatusCategory::InProgress)
    );
    assert_eq!(risk.dates.identified, Some(common::date(2023, 6, 2)));
}

#[test]
fn every_example_in_both_formats_reads_the_same() {
    for name in PAIRS {
        let (json, _) = parse_path(&example(&format!("{name}.json")), &Default::default()).unwrap();
        let (xml, _) = parse_path(&example(&format!("{name}.xml")), &Default::default()).unwrap();
        assert_eq!(json, xml, "{name}: the typed documents differ");
        let a = import(&format!("{name}.json"));
        let b = import(&format!("{name}.xml"));
        assert_eq!(a.records.len(), b.records.len(), "{name}");
        for (x, y) in a.records.iter().zip(&b.records) {
            assert_eq!(x.id, y.id, "{name}");
            assert_eq!(
                x.provenance.content_hash, y.provenance.content_hash,
                "{name} {}",
                x.title
            );
        }
        assert_eq!(a.warnings.len(), b.warnings.len());
    }
}

#[test]
fn the_assessment_plan_is_refused_as_a_model_imsbridge_does_not_read() {
    let e = read_path_with(
        &example("ifa_assessment-plan-example.json"),
        "nist",
        &ReadOptions::default(),
        &mappings(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedModel);
    assert_eq!(e.location.path.as_deref(), Some("assessment-plan"));
    assert!(
        e.to_string()
            .contains("an OSCAL assessment-plan is not read by imsbridge"),
        "{e}"
    );
}

#[test]
fn detect_recognises_the_examples_by_content() {
    for name in [
        "basic-catalog.json",
        "basic-catalog.xml",
        "ifa_assessment-plan-example.json",
        "NIST_SP-800-53_rev5_LOW-baseline_profile.json",
    ] {
        let bytes = std::fs::read(example(name)).unwrap();
        let prefix = &bytes[..bytes.len().min(4096)];
        let expected = if name.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        };
        assert_eq!(
            imsbridge_connector_oscal::detect(prefix),
            Some(expected),
            "{name}"
        );
    }
    assert_eq!(
        imsbridge_connector_oscal::detect(b"Risk ID,Title\nR-1,x"),
        None
    );
    assert_eq!(imsbridge_connector_oscal::detect(b"<html><body>"), None);
    assert_eq!(
        imsbridge_connector_oscal::detect(b"\xEF\xBB\xBF  {\"$schema\": \"x\", \"catalog\": {"),
        Some(Format::Json)
    );
}
