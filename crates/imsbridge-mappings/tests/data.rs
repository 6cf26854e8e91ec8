//! The shipped clause data: the known traps of the standards' numbering and titles, and
//! invariants every clause map must keep.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failed unwrap is the test failing"
)]

use imsbridge_mappings::{ClauseKind, Mappings};
use imsbridge_model::{ClauseRef, Relationship, StandardId};

fn mappings() -> Mappings {
    Mappings::embedded().unwrap()
}

/// The map of one clause as (HS clause, relationship) pairs.
fn map_of(m: &Mappings, standard: StandardId, id: &str) -> Vec<(String, Relationship)> {
    m.clause(&ClauseRef::new(standard, id))
        .unwrap_or_else(|| panic!("{standard} {id} is listed"))
        .map
        .iter()
        .map(|e| (e.hs.clone(), e.relationship))
        .collect()
}

fn title(m: &Mappings, standard: StandardId, id: &str) -> String {
    m.clause_title(&ClauseRef::new(standard, id))
        .unwrap_or_else(|| panic!("{standard} {id} is listed"))
        .to_string()
}

#[test]
fn every_file_loads_with_the_expected_clause_counts() {
    let m = mappings();
    assert_eq!(m.hs_clauses().len(), 36);
    let counts: Vec<(StandardId, usize)> = m
        .standards()
        .map(|s| (s.standard(), s.clauses().len()))
        .collect();
    assert_eq!(
        counts,
        [
            (StandardId::Iso27001, 45),
            (StandardId::Iso9001, 73),
            (StandardId::Iso42001, 92),
            (StandardId::Iso14001, 45),
            (StandardId::Iso45001, 56),
            (StandardId::Iso22301, 64),
            (StandardId::Iso31000, 35),
            (StandardId::CosoErm, 25),
        ]
    );
    for s in m.standards() {
        assert_eq!(s.designation(), s.standard().designation());
        assert!(!s.title().is_empty());
    }
}

#[test]
fn hs_keeps_2012_numbers_where_they_changed() {
    let m = mappings();
    let hs = |id| m.hs_clause(id).unwrap();
    assert_eq!(hs("10.1").title, "Continual improvement");
    assert_eq!(hs("10.1").hls2012_id.as_deref(), Some("10.2"));
    assert_eq!(hs("10.2").hls2012_id.as_deref(), Some("10.1"));
    assert_eq!(hs("6.3").hls2012_id, None, "6.3 is new in 2021");
    assert_eq!(hs("9.2.2").parent.as_deref(), Some("9.2"));
    assert_eq!(hs("5.3").title, "Roles, responsibilities and authorities");
    assert_eq!(
        hs("5.3").hls2012_title.as_deref(),
        Some("Organizational roles, responsibilities and authorities")
    );
}

#[test]
fn iso9001_continual_improvement_is_10_3_and_10_1_is_not_equal_to_hs_10_1() {
    let m = mappings();
    assert_eq!(
        title(&m, StandardId::Iso9001, "10.3"),
        "Continual improvement"
    );
    assert_eq!(
        map_of(&m, StandardId::Iso9001, "10.3"),
        [("10.1".to_string(), Relationship::Superset)]
    );
    assert_eq!(title(&m, StandardId::Iso9001, "10.1"), "General");
    assert_eq!(
        map_of(&m, StandardId::Iso9001, "10.1"),
        [("10.1".to_string(), Relationship::Intersects)]
    );
    assert_eq!(
        map_of(&m, StandardId::Iso9001, "10.2"),
        [("10.2".to_string(), Relationship::Superset)]
    );
}

#[test]
fn iso27001_keeps_the_2012_titles() {
    let m = mappings();
    assert_eq!(title(&m, StandardId::Iso27001, "5.2"), "Policy");
    assert_eq!(
        title(&m, StandardId::Iso27001, "5.3"),
        "Organizational roles, responsibilities and authorities"
    );
    assert_eq!(
        title(&m, StandardId::Iso27001, "7.5.2"),
        "Creating and updating"
    );
    // The HS (and 42001, which applies it as published in 2021) use the new titles.
    assert_eq!(
        m.hs_clause("7.5.2").unwrap().title,
        "Creating and updating documented information"
    );
    assert_eq!(
        title(&m, StandardId::Iso42001, "7.5.2"),
        "Creating and updating documented information"
    );
    // Same clause all the same.
    assert_eq!(
        map_of(&m, StandardId::Iso27001, "5.3"),
        [("5.3".to_string(), Relationship::Equal)]
    );
}

#[test]
fn discipline_specific_clauses_are_never_equal_to_an_hs_clause() {
    let m = mappings();
    let named = [
        (
            StandardId::Iso27001,
            ["6.1.2", "6.1.3", "8.2", "8.3"].as_slice(),
        ),
        (
            StandardId::Iso42001,
            ["6.1.2", "6.1.3", "6.1.4", "8.2", "8.3", "8.4"].as_slice(),
        ),
    ];
    for (standard, ids) in named {
        for id in ids {
            let map = map_of(&m, standard, id);
            assert!(
                !map.is_empty(),
                "{standard} {id} is anchored to an HS clause"
            );
            assert!(
                map.iter().all(|(_, r)| *r != Relationship::Equal),
                "{standard} {id}: {map:?}"
            );
        }
    }
    // And in general: no extension clause of any standard is equal to an HS clause.
    for s in m.standards() {
        for c in s
            .clauses()
            .iter()
            .filter(|c| c.kind == ClauseKind::Extension)
        {
            assert!(
                c.map.iter().all(|e| e.relationship != Relationship::Equal),
                "{} {} is an extension mapped equal",
                s.designation(),
                c.id
            );
        }
    }
}

#[test]
fn iso22301_improvement_clauses_are_in_2012_order() {
    let m = mappings();
    assert_eq!(
        title(&m, StandardId::Iso22301, "10.1"),
        "Nonconformity and corrective action"
    );
    assert_eq!(
        map_of(&m, StandardId::Iso22301, "10.1"),
        [("10.2".to_string(), Relationship::Equal)]
    );
    assert_eq!(
        title(&m, StandardId::Iso22301, "10.2"),
        "Continual improvement"
    );
    assert_eq!(map_of(&m, StandardId::Iso22301, "10.2")[0].0, "10.1");
}

#[test]
fn annex_entries_are_reached_via_a_clause_not_mapped() {
    let m = mappings();
    for standard in [StandardId::Iso27001, StandardId::Iso42001] {
        let annex: Vec<_> = m
            .standard(standard)
            .unwrap()
            .clauses()
            .iter()
            .filter(|c| c.kind == ClauseKind::Annex)
            .collect();
        assert!(!annex.is_empty());
        for c in annex {
            assert!(c.map.is_empty(), "{standard} {}", c.id);
            assert_eq!(c.via.as_deref(), Some("6.1.3"), "{standard} {}", c.id);
        }
    }
}

#[test]
fn erm_frameworks_only_intersect_the_hs() {
    let m = mappings();
    for standard in [StandardId::Iso31000, StandardId::CosoErm] {
        for c in m.standard(standard).unwrap().clauses() {
            assert!(
                c.map
                    .iter()
                    .all(|e| e.relationship == Relationship::Intersects),
                "{standard} {}",
                c.id
            );
        }
    }
    assert_eq!(
        map_of(&m, StandardId::CosoErm, "P10"),
        [("6.1".to_string(), Relationship::Intersects)]
    );
    assert!(
        map_of(&m, StandardId::CosoErm, "P8").is_empty(),
        "no HS counterpart"
    );
}

#[test]
fn titles_are_looked_up_for_hs_and_standards_but_not_unlisted_clauses() {
    let m = mappings();
    assert_eq!(
        m.clause_title(&ClauseRef::new(StandardId::Hs, "9.2.2")),
        Some("Internal audit programme")
    );
    assert_eq!(
        m.clause_title(&ClauseRef::new(StandardId::Iso42001, "A.6.2.2")),
        Some("AI system requirements and specification")
    );
    assert_eq!(
        m.clause_title(&ClauseRef::new(StandardId::Iso27001, "A.5.7")),
        None
    );
    assert!(m.clause(&ClauseRef::new(StandardId::Hs, "9.2")).is_none());
}

#[test]
fn hs_titles_name_the_shared_process_without_the_discipline_placeholder() {
    let m = mappings();
    let hs = |id: &str| m.hs_clause(id).unwrap_or_else(|| panic!("HS {id}"));
    assert_eq!(
        hs("4.3").title,
        "Determining the scope of the management system"
    );
    assert_eq!(
        hs("4.3").title_template,
        "Determining the scope of the XXX management system"
    );
    assert_eq!(hs("5.2").title, "Policy");
    assert_eq!(hs("6.2").title, "Objectives and planning to achieve them");
    assert!(
        m.hs_clauses().iter().all(|c| !c.title.contains("XXX")),
        "a title still holds the placeholder"
    );
    // What reports show: the listed title of an HS clause.
    assert_eq!(title(&m, StandardId::Hs, "4.4"), "Management system");
}
