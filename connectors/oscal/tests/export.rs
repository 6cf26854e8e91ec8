//! Every export kind: valid against NIST's JSON schemas, the XML reading back to the same
//! document, stable UUIDs, OSCAL's vocabularies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use imsbridge_connector_oscal::document::{MapRelationship, MappingMethod, MappingStatus};
use imsbridge_connector_oscal::export::{self, control_id, oscal_relationship};
use imsbridge_connector_oscal::{Document, ExportOptions, from_json_str, from_xml_str};
use imsbridge_model::{Relationship, StandardId};

use common::{assert_valid, assessment_records, mappings, now, risk_records};

fn options() -> ExportOptions {
    ExportOptions::new(now())
}

/// JSON valid against the schema; the XML in the OSCAL namespace with the right root, reading
/// back to the same document as the JSON does.
fn check(doc: &Document, schema: &str, root: &str) -> (String, String) {
    let json = doc.to_json();
    assert_valid(schema, &json);
    let xml = doc.to_xml();
    assert!(
        xml.starts_with(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"http://csrc.nist.gov/ns/oscal/1.0\" uuid=\""
        )),
        "{}",
        &xml[..200.min(xml.len())]
    );
    let from_json = from_json_str(&json).unwrap();
    let from_xml = from_xml_str(&xml).unwrap();
    assert_eq!(from_json, *doc, "{root}: JSON reads back as written");
    assert_eq!(
        from_xml, from_json,
        "{root}: XML and JSON read back the same"
    );
    (json, xml)
}

#[test]
fn the_validator_enforces_the_unicode_patterns() {
    // A token must start with a letter (\p{L}): were the patterns ignored, this would pass.
    let m = mappings();
    let doc = export::catalog(StandardId::Hs, &m, &options()).unwrap();
    let json = doc
        .to_json()
        .replacen("\"id\": \"hs-4.1\"", "\"id\": \"4.1\"", 1);
    let schema = common::schema("oscal_catalog_schema.json");
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!validator.is_valid(&instance));
    // …and a letter outside ASCII is a letter.
    let json = doc
        .to_json()
        .replacen("\"id\": \"hs-4.1\"", "\"id\": \"ä-4.1\"", 1);
    let instance: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(validator.is_valid(&instance));
    // Formats are checked too: a date that is no date fails.
    let json = doc
        .to_json()
        .replacen("2026-03-14T09:26:53Z", "2026-13-14T09:26:53Z", 1);
    let instance: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!validator.is_valid(&instance));
}

#[test]
fn poam_of_ai_risks_is_valid_and_uses_oscal_words_where_it_can() {
    let m = mappings();
    let records = risk_records(&m);
    let ai: Vec<_> = records.iter().filter(|r| r.ai.flagged).cloned().collect();
    assert_eq!(ai.len(), 2);
    let doc = export::poam(&ai, &options()).unwrap();
    let (json, xml) = check(
        &doc,
        "oscal_poam_schema.json",
        "plan-of-action-and-milestones",
    );
    let Document::PlanOfActionAndMilestones(p) = &doc else {
        panic!()
    };
    assert_eq!(p.risks.len(), 2);
    assert_eq!(p.poam_items.len(), 2, "one item per risk");
    assert_eq!(p.poam_items[0].related_risks[0].risk_uuid, p.risks[0].uuid);
    assert_eq!(p.metadata.oscal_version.0, "1.2.1");
    assert_eq!(p.metadata.last_modified.to_string(), "2026-03-14T09:26:53Z");

    let drift = &p.risks[0];
    assert_eq!(
        drift.status, "remediating",
        "\"In treatment\" is in progress"
    );
    assert_eq!(drift.deadline.unwrap().to_string(), "2026-06-30T00:00:00Z");
    let inherent = &drift.characterizations[0];
    let systems: Vec<(&str, &str, &str)> = inherent
        .facets
        .iter()
        .map(|f| (f.name.as_str(), f.system.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        systems,
        [
            (
                "likelihood",
                "https://imsbridge.dev/ns/scales/1-5",
                "4 - Likely"
            ),
            ("impact", "http://csrc.nist.gov/ns/oscal", "high"),
            ("risk", "https://imsbridge.dev/ns/scales/score-1-25", "16"),
        ]
    );
    assert_eq!(drift.remediations.len(), 1);
    assert_eq!(drift.remediations[0].lifecycle, "planned");
    assert!(
        json.contains("\"value\": \"moderate\""),
        "R-3's Moderate is OSCAL's moderate"
    );
    assert!(xml.contains(
        "<facet name=\"likelihood\" value=\"moderate\" system=\"http://csrc.nist.gov/ns/oscal\">"
    ));
}

#[test]
fn exports_are_stable_across_runs() {
    let m = mappings();
    let records = risk_records(&m);
    let a = export::poam(&records, &options()).unwrap().to_json();
    let b = export::poam(&records, &options()).unwrap().to_json();
    assert_eq!(a, b, "same content, same document");
    let mut later = options();
    later.last_modified = now() + chrono::Duration::days(1);
    let c = export::poam(&records, &later).unwrap().to_json();
    let differing: Vec<(&str, &str)> = a.lines().zip(c.lines()).filter(|(x, y)| x != y).collect();
    assert_eq!(
        differing.len(),
        1,
        "only last-modified changes: {differing:?}"
    );
    assert!(differing[0].0.contains("last-modified"));
    // UUIDs are version 5.
    let Document::PlanOfActionAndMilestones(p) = from_json_str(&a).unwrap() else {
        panic!()
    };
    assert_eq!(p.uuid.0.get_version_num(), 5);
    assert!(p.risks.iter().all(|r| r.uuid.0.get_version_num() == 5));
}

#[test]
fn a_poam_needs_something_to_plan() {
    let m = mappings();
    let e = export::poam(&assessment_records(&m), &options()).unwrap_err();
    assert!(e.to_string().contains("at least one risk"), "{e}");
}

#[test]
fn assessment_results_cover_every_clause_of_the_chosen_standards() {
    let m = mappings();
    let records = assessment_records(&m);
    let doc = export::assessment_results(
        &records,
        &[StandardId::Iso27001, StandardId::Iso42001],
        &m,
        &options(),
    )
    .unwrap();
    check(
        &doc,
        "oscal_assessment-results_schema.json",
        "assessment-results",
    );
    let Document::AssessmentResults(ar) = &doc else {
        panic!()
    };
    assert_eq!(ar.results.len(), 2, "one result per standard");

    let iso27001 = &ar.results[0];
    let controls = &iso27001.reviewed_controls.control_selections[0].include_controls;
    // Every clause under 4–10 and the four Annex A themes.
    let clause_count = m.standard(StandardId::Iso27001).unwrap().clauses().len();
    let clauses = m.standard(StandardId::Iso27001).unwrap().clauses();
    let top_with_children = clauses
        .iter()
        .filter(|c| {
            c.parent.is_none()
                && clauses
                    .iter()
                    .any(|x| x.parent.as_deref() == Some(c.id.as_str()))
        })
        .count();
    assert_eq!(controls.len(), clause_count - top_with_children);
    let target = |f: &imsbridge_connector_oscal::document::Finding| f.target.target_id.0.clone();
    let find = |id: &str| {
        iso27001
            .findings
            .iter()
            .filter(|f| target(f) == format!("{id}_obj"))
            .collect::<Vec<_>>()
    };
    let conforming = find("iso27001-6.1.2");
    assert_eq!(conforming.len(), 1);
    assert_eq!(conforming[0].target.status.state, "satisfied");
    assert_eq!(conforming[0].target.status.reason.as_deref(), Some("pass"));
    assert_eq!(
        conforming[0].related_observations.len(),
        1,
        "evidence as an observation"
    );

    // A.5.7 is not listed: its assessment sits on the A.5 theme, partially conforming.
    let theme = find("iso27001-A.5");
    assert_eq!(theme[0].target.status.state, "not-satisfied");
    assert_eq!(
        theme[0]
            .target
            .implementation_status
            .as_ref()
            .unwrap()
            .state,
        "partial"
    );

    let untouched = find("iso27001-8.1");
    assert_eq!(untouched.len(), 1);
    assert_eq!(untouched[0].target.status.state, "not-satisfied");
    assert_eq!(untouched[0].target.status.reason.as_deref(), Some("other"));
    assert!(
        untouched[0]
            .target
            .props
            .iter()
            .any(|p| p.name.0 == "conformity" && p.value == "not_assessed")
    );

    // The audit finding on 9.2 does not count as an assessment: 9.2 also says not assessed.
    assert_eq!(find("iso27001-9.2").len(), 2);

    let iso42001 = &ar.results[1];
    let na = iso42001
        .findings
        .iter()
        .find(|f| target(f) == "iso42001-6.1.4_obj")
        .unwrap();
    assert_eq!(na.target.status.state, "satisfied");
    assert_eq!(
        na.target.implementation_status.as_ref().unwrap().state,
        "not-applicable"
    );
}

#[test]
fn catalogs_list_clause_numbers_and_titles_grouped_by_top_level_clause() {
    let m = mappings();
    for standard in [
        StandardId::Iso27001,
        StandardId::Iso9001,
        StandardId::Hs,
        StandardId::CosoErm,
    ] {
        let doc = export::catalog(standard, &m, &options()).unwrap();
        check(&doc, "oscal_catalog_schema.json", "catalog");
        let Document::Catalog(c) = &doc else { panic!() };
        assert!(c.controls.is_empty());
        let top = if standard == StandardId::Hs {
            m.hs_clauses().iter().filter(|c| c.parent.is_none()).count()
        } else {
            m.standard(standard)
                .unwrap()
                .clauses()
                .iter()
                .filter(|c| c.parent.is_none())
                .count()
        };
        assert_eq!(c.groups.len(), top, "{standard}");
    }
    let Document::Catalog(c) = export::catalog(StandardId::Iso27001, &m, &options()).unwrap()
    else {
        panic!()
    };
    let planning = c
        .groups
        .iter()
        .find(|g| g.title.plain_text() == "Planning")
        .unwrap();
    let risks = planning
        .controls
        .iter()
        .find(|c| c.id.0 == "iso27001-6.1")
        .unwrap();
    assert_eq!(
        risks.title.plain_text(),
        "Actions to address risks and opportunities"
    );
    assert!(
        risks.controls.iter().any(|c| c.id.0 == "iso27001-6.1.2"),
        "sub-clauses nest"
    );
    let annex = c.groups.iter().find(|g| g.props[0].value == "A.5").unwrap();
    assert_eq!(
        annex.controls[0].id.0, "iso27001-A.5",
        "a theme is its own control"
    );
}

#[test]
fn mappings_use_only_oscal_relationships_and_say_how_they_were_made() {
    let m = mappings();
    for r in Relationship::ALL {
        assert!(MapRelationship::ALL.contains(&oscal_relationship(r)));
    }
    assert_eq!(
        oscal_relationship(Relationship::Equal),
        MapRelationship::EquivalentTo
    );

    let direct = export::mapping(StandardId::Iso42001, StandardId::Hs, &m, &options()).unwrap();
    check(&direct, "oscal_mapping_schema.json", "mapping-collection");
    let Document::MappingCollection(d) = &direct else {
        panic!()
    };
    assert_eq!(d.provenance.method, MappingMethod::Human);
    assert_eq!(d.provenance.status, MappingStatus::Complete);
    let pairs = m.crosswalk(StandardId::Iso42001, StandardId::Hs);
    assert_eq!(d.mappings[0].maps.len(), pairs.len());
    let first = &d.mappings[0].maps[0];
    assert_eq!(
        first.sources[0].id_ref,
        control_id(StandardId::Iso42001, &pairs[0].from)
    );
    assert_eq!(
        first.targets[0].id_ref,
        control_id(StandardId::Hs, &pairs[0].to)
    );
    assert_eq!(
        first.relationship,
        oscal_relationship(pairs[0].relationship)
    );

    let derived =
        export::mapping(StandardId::Iso27001, StandardId::Iso9001, &m, &options()).unwrap();
    let (json, xml) = check(&derived, "oscal_mapping_schema.json", "mapping-collection");
    let Document::MappingCollection(x) = &derived else {
        panic!()
    };
    assert_eq!(x.provenance.method, MappingMethod::Hybrid);
    assert!(
        x.mappings[0]
            .maps
            .iter()
            .all(|m| m.props.iter().any(|p| p.name.0 == "via-hs"))
    );
    assert!(json.contains("\"relationship\": \"equivalent-to\""));
    assert!(
        xml.contains("<relationship>subset-of</relationship>")
            || xml.contains("<relationship>superset-of</relationship>")
    );
    for word in ["equal", "subset", "superset", "intersects", "not_related"] {
        assert!(
            !json.contains(&format!("\"relationship\": \"{word}\"")),
            "model word {word} leaked"
        );
    }
}

#[test]
fn a_relationship_outside_the_vocabulary_is_refused_when_read() {
    let m = mappings();
    let doc = export::mapping(StandardId::Iso42001, StandardId::Hs, &m, &options()).unwrap();
    let json = doc
        .to_json()
        .replacen("\"relationship\": \"", "\"relationship\": \"similar-to", 1);
    let e = from_json_str(&json).unwrap_err();
    assert_eq!(
        e.location.path.as_deref(),
        Some("mapping-collection.mappings[0].maps[0].relationship")
    );
    assert!(e.message.contains("unknown variant"), "{e}");
}
