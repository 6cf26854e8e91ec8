//! Deriving HS links from clause references, and crosswalks between standards.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failed unwrap is the test failing"
)]

use std::collections::BTreeSet;

use Relationship::*;
use StandardId::*;
use imsbridge_mappings::{Confidence, CrosswalkPair, Mappings, MappingsError};
use imsbridge_model::{ClauseRef, HsLink, Relationship, StandardId};

fn mappings() -> Mappings {
    Mappings::embedded().unwrap()
}

fn links(m: &Mappings, standard: StandardId, clause: &str) -> Vec<(String, Relationship)> {
    let reference = ClauseRef::new(standard, clause);
    let links = m.hs_links(&reference).unwrap();
    assert!(
        links.iter().all(|l| l.via == reference),
        "via is the original reference"
    );
    links
        .into_iter()
        .map(|l| (l.clause, l.relationship))
        .collect()
}

fn hs(pairs: &[(&str, Relationship)]) -> Vec<(String, Relationship)> {
    pairs.iter().map(|(c, r)| (c.to_string(), *r)).collect()
}

#[test]
fn listed_clauses_use_their_own_map() {
    let m = mappings();
    assert_eq!(links(&m, Iso27001, "9.2.2"), hs(&[("9.2.2", Equal)]));
    assert_eq!(
        links(&m, Iso27001, "8.2"),
        hs(&[("8.1", Intersects), ("6.1", Intersects)])
    );
    assert_eq!(links(&m, Iso9001, "10.3"), hs(&[("10.1", Superset)]));
}

#[test]
fn annex_controls_go_through_their_theme_and_via_clause() {
    let m = mappings();
    // Only the theme A.5 is listed; it is reached via 6.1.3, which intersects HS 6.1.
    assert_eq!(links(&m, Iso27001, "A.5.7"), hs(&[("6.1", Intersects)]));
    assert_eq!(links(&m, Iso27001, "A.8"), hs(&[("6.1", Intersects)]));
    // 42001 lists its controls; they too are reached via 6.1.3.
    assert_eq!(links(&m, Iso42001, "A.6.2.2"), hs(&[("6.1", Intersects)]));
}

#[test]
fn unlisted_subclauses_take_their_nearest_ancestor_weakened() {
    let m = mappings();
    // 9001 7.5.3 is equal to HS 7.5.3; its subclause 7.5.3.1 covers part of it: subset.
    assert_eq!(links(&m, Iso9001, "7.5.3.1"), hs(&[("7.5.3", Subset)]));
    // 9001 10.2 is a superset of HS 10.2; which part 10.2.1 holds is unknown: intersects.
    assert_eq!(links(&m, Iso9001, "10.2.1"), hs(&[("10.2", Intersects)]));
    // 9001 7.1.5 intersects two HS clauses; its subclause keeps both, still intersecting.
    assert_eq!(
        links(&m, Iso9001, "7.1.5.2"),
        hs(&[("7.1", Intersects), ("9.1", Intersects)])
    );
    // Subset stays subset: 22301 5.2.1 is a subset of HS 5.2.
    assert_eq!(links(&m, Iso22301, "5.2.1.1"), hs(&[("5.2", Subset)]));
}

#[test]
fn hs_references_map_to_themselves() {
    let m = mappings();
    assert_eq!(links(&m, Hs, "10.2"), hs(&[("10.2", Equal)]));
    assert!(matches!(
        m.hs_links(&ClauseRef::new(Hs, "6.1.2")),
        Err(MappingsError::UnknownClause { .. })
    ));
}

#[test]
fn unknown_references_are_errors_that_name_the_map() {
    let m = mappings();
    for (standard, clause) in [(Iso27001, "11"), (Iso27001, "A.9.2"), (Iso9001, "3")] {
        let err = m.hs_links(&ClauseRef::new(standard, clause)).unwrap_err();
        assert!(matches!(err, MappingsError::UnknownClause { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(clause), "{message}");
        assert!(
            message.contains(&format!("{}.toml", standard.key())),
            "{message}"
        );
    }
}

#[test]
fn elements_without_counterpart_have_no_links() {
    let m = mappings();
    assert_eq!(links(&m, CosoErm, "P14"), hs(&[]));
    assert_eq!(links(&m, Iso31000, "6.4.2"), hs(&[("6.1", Intersects)]));
}

fn find<'a>(pairs: &'a [CrosswalkPair], from: &str, to: &str) -> Vec<&'a CrosswalkPair> {
    pairs
        .iter()
        .filter(|p| p.from == from && p.to == to)
        .collect()
}

#[test]
fn crosswalk_composes_through_the_hs() {
    let m = mappings();
    let a = m.crosswalk(Iso27001, Iso42001);
    let audit = find(&a, "9.2.2", "9.2.2");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].relationship, audit[0].via.as_str()),
        (Equal, "9.2.2")
    );
    assert_eq!(audit[0].confidence, Confidence::High);

    // Both intersect HS 6.1: all that is known is that they overlap.
    let risk = find(&a, "6.1.2", "6.1.2");
    assert_eq!(risk.len(), 1);
    assert_eq!(
        (risk[0].relationship, risk[0].via.as_str()),
        (Intersects, "6.1")
    );

    // 9001 10.3 (superset of HS 10.1) against 27001 10.1 (equal to it): superset.
    let b = m.crosswalk(Iso9001, Iso27001);
    let improvement = find(&b, "10.3", "10.1");
    assert_eq!(improvement.len(), 1);
    assert_eq!(
        (improvement[0].relationship, improvement[0].via.as_str()),
        (Superset, "10.1")
    );
    // 9001 10.1 General only intersects HS 10.1: so does the pair.
    assert_eq!(find(&b, "10.1", "10.1")[0].relationship, Intersects);

    // A superset of HS 5.2 against a subset of it: superset. Confidence is the weaker leg.
    let c = m.crosswalk(Iso9001, Iso22301);
    let policy = find(&c, "5.2", "5.2.1");
    assert_eq!(policy.len(), 1);
    assert_eq!(policy[0].relationship, Superset);
    assert_eq!(policy[0].confidence, Confidence::Medium);
    // Two supersets of the same HS clause only overlap.
    assert_eq!(find(&c, "9.3", "9.3")[0].relationship, Intersects);
    // 22301 keeps 2012 numbering: its 10.1 meets 9001 10.2 at HS 10.2.
    let nc = find(&c, "10.2", "10.1");
    assert_eq!((nc[0].relationship, nc[0].via.as_str()), (Superset, "10.2"));
}

#[test]
fn crosswalk_reversed_is_the_inverse() {
    let m = mappings();
    let key = |p: &CrosswalkPair| (p.from.clone(), p.to.clone(), p.via.clone(), p.relationship);
    for (a, b) in [
        (Iso27001, Iso42001),
        (Iso9001, Iso22301),
        (Iso45001, Iso31000),
    ] {
        let forward: BTreeSet<_> = m.crosswalk(a, b).iter().map(key).collect();
        let backward: BTreeSet<_> = m
            .crosswalk(b, a)
            .iter()
            .map(|p| {
                (
                    p.to.clone(),
                    p.from.clone(),
                    p.via.clone(),
                    p.relationship.inverse(),
                )
            })
            .collect();
        assert!(!forward.is_empty());
        assert_eq!(forward, backward, "{a} / {b}");
    }
}

#[test]
fn crosswalk_with_the_hs_is_the_map_itself() {
    let m = mappings();
    let own = m.crosswalk(Iso9001, Hs);
    let expected: Vec<(String, String, Relationship)> = m
        .standard(Iso9001)
        .unwrap()
        .clauses()
        .iter()
        .flat_map(|c| {
            c.map
                .iter()
                .map(move |e| (c.id.clone(), e.hs.clone(), e.relationship))
        })
        .collect();
    let mut got: Vec<(String, String, Relationship)> = own
        .iter()
        .map(|p| (p.from.clone(), p.to.clone(), p.relationship))
        .collect();
    assert!(own.iter().all(|p| p.to == p.via));
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    got.sort();
    assert_eq!(got, expected_sorted);

    let inverse = m.crosswalk(Hs, Iso9001);
    let improvement = find(&inverse, "10.1", "10.3");
    assert_eq!(
        improvement[0].relationship, Subset,
        "HS 10.1 is a subset of 9001 10.3"
    );
}

#[test]
fn crosswalk_order_follows_hs_then_file_order() {
    let m = mappings();
    let pairs = m.crosswalk(Iso27001, Hs);
    let hs_order: Vec<&str> = m.hs_clauses().iter().map(|c| c.id.as_str()).collect();
    let positions: Vec<usize> = pairs
        .iter()
        .map(|p| hs_order.iter().position(|h| *h == p.via).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] <= w[1]),
        "grouped by HS clause in order"
    );
    // At HS 6.1: 6.1, 6.1.1, 6.1.2, 6.1.3, 8.2, 8.3 as listed in the file.
    let at_6_1: Vec<&str> = pairs
        .iter()
        .filter(|p| p.via == "6.1")
        .map(|p| p.from.as_str())
        .collect();
    assert_eq!(at_6_1, ["6.1", "6.1.1", "6.1.2", "6.1.3", "8.2", "8.3"]);
    assert_eq!(pairs, m.crosswalk(Iso27001, Hs), "deterministic");
}

#[test]
fn clause_summaries_list_file_order_with_derived_links() {
    let m = mappings();
    let rows = m.clause_summaries(Iso27001);
    assert_eq!(rows.len(), 45);
    assert_eq!(rows[0].id, "4");
    let annex = rows.iter().find(|r| r.id == "A.6").unwrap();
    assert_eq!(annex.hs.len(), 1);
    assert_eq!(
        (annex.hs[0].clause.as_str(), annex.hs[0].relationship),
        ("6.1", Intersects)
    );
    let hs_rows = m.clause_summaries(Hs);
    assert_eq!(hs_rows.len(), m.hs_clauses().len());
    assert!(
        hs_rows
            .iter()
            .all(|r| r.hs.len() == 1 && r.hs[0].clause == r.id)
    );
}

#[test]
fn links_compare_equal_to_model_links() {
    let m = mappings();
    let reference = ClauseRef::new(Iso42001, "6.1.4");
    assert_eq!(
        m.hs_links(&reference).unwrap(),
        vec![HsLink {
            clause: "6.1".into(),
            relationship: Intersects,
            via: reference.clone()
        }]
    );
}
