//! Reading records back: filters, order and counts.
// The helpers here are outside #[test] functions; a panic in them is a failed test too.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use imsbridge_model::{RecordKind, StandardId};
use imsbridge_store::{RecordFilter, Store};

fn ids(store: &Store, filter: RecordFilter) -> Vec<String> {
    store
        .records(&filter)
        .unwrap()
        .into_iter()
        .map(|r| format!("{}/{}", r.provenance.system, r.provenance.external_id))
        .collect()
}

fn fixture() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let records = [
        ai(with_clauses(
            record("erm", RecordKind::Risk, "R-2", "Biased model"),
            &[
                (StandardId::Iso42001, "6.1.2"),
                (StandardId::Iso27001, "6.1.2"),
            ],
            &["6.1"],
        )),
        with_clauses(
            record("erm", RecordKind::Risk, "R-1", "Supplier failure"),
            &[(StandardId::Iso9001, "6.1")],
            &["6.1", "8.1"],
        ),
        with_clauses(
            record("isms", RecordKind::Risk, "R-1", "Phishing"),
            &[(StandardId::Iso27001, "A.5.7")],
            &[],
        ),
        with_clauses(
            record("isms", RecordKind::Control, "A.5.7", "Threat intelligence"),
            &[(StandardId::Iso27001, "A.5.7")],
            &[],
        ),
        with_clauses(
            record("qms", RecordKind::Nonconformity, "NC-4", "Late calibration"),
            &[
                (StandardId::Iso9001, "6.10"),
                (StandardId::Iso9001, "7.1.5"),
            ],
            &["10.2"],
        ),
        ai(record(
            "ai-inventory",
            RecordKind::AiSystem,
            "AI-1",
            "Chatbot",
        )),
    ];
    // Imported out of order: the listing order must not depend on insertion order.
    let mut tx = store.begin_import(&start("mixed")).unwrap();
    for r in records.iter().rev() {
        tx.upsert(r).unwrap();
    }
    tx.commit(&Default::default()).unwrap();
    store
}

#[test]
fn lists_everything_in_kind_system_external_id_order() {
    let store = fixture();
    assert_eq!(
        ids(&store, RecordFilter::default()),
        // Kinds sort by their stored name.
        vec![
            "ai-inventory/AI-1",
            "isms/A.5.7",
            "qms/NC-4",
            "erm/R-1",
            "erm/R-2",
            "isms/R-1",
        ]
    );
}

#[test]
fn filters_by_kind_system_and_ai() {
    let store = fixture();
    assert_eq!(
        ids(
            &store,
            RecordFilter {
                kind: Some(RecordKind::Risk),
                ..Default::default()
            }
        ),
        vec!["erm/R-1", "erm/R-2", "isms/R-1"]
    );
    assert_eq!(
        ids(
            &store,
            RecordFilter {
                system: Some("isms".into()),
                ..Default::default()
            }
        ),
        vec!["isms/A.5.7", "isms/R-1"]
    );
    assert_eq!(
        ids(
            &store,
            RecordFilter {
                ai_only: true,
                ..Default::default()
            }
        ),
        vec!["ai-inventory/AI-1", "erm/R-2"]
    );
    assert_eq!(
        ids(
            &store,
            RecordFilter {
                ai_only: true,
                kind: Some(RecordKind::Risk),
                system: Some("erm".into()),
                ..Default::default()
            }
        ),
        vec!["erm/R-2"]
    );
    assert!(
        ids(
            &store,
            RecordFilter {
                system: Some("nowhere".into()),
                ..Default::default()
            }
        )
        .is_empty()
    );
}

#[test]
fn filters_by_standard_and_clause() {
    let store = fixture();
    let by = |standard: Option<StandardId>, clause: Option<&str>| RecordFilter {
        standard,
        clause: clause.map(String::from),
        ..Default::default()
    };
    assert_eq!(
        ids(&store, by(Some(StandardId::Iso27001), None)),
        vec!["isms/A.5.7", "erm/R-2", "isms/R-1"]
    );
    assert_eq!(
        ids(&store, by(Some(StandardId::Iso27001), Some("A.5.7"))),
        vec!["isms/A.5.7", "isms/R-1"]
    );
    // A clause matches its sub-clauses, but 6.1 is no prefix of 6.10.
    assert_eq!(
        ids(&store, by(Some(StandardId::Iso9001), Some("6.1"))),
        vec!["erm/R-1"]
    );
    assert_eq!(
        ids(&store, by(None, Some("6.1"))),
        vec!["erm/R-1", "erm/R-2"]
    );
    assert_eq!(
        ids(&store, by(None, Some("A.5"))),
        vec!["isms/A.5.7", "isms/R-1"]
    );
    assert_eq!(
        ids(&store, by(Some(StandardId::Iso42001), Some("6.1.2"))),
        vec!["erm/R-2"]
    );
    assert!(ids(&store, by(Some(StandardId::Iso14001), None)).is_empty());
    // A record naming two clauses of a standard is listed once.
    assert_eq!(
        ids(&store, by(Some(StandardId::Iso9001), None)),
        vec!["qms/NC-4", "erm/R-1"]
    );
}

#[test]
fn filters_by_hs_clause() {
    let store = fixture();
    let hs = |clause: &str| RecordFilter {
        hs_clause: Some(clause.into()),
        ..Default::default()
    };
    assert_eq!(ids(&store, hs("6.1")), vec!["erm/R-1", "erm/R-2"]);
    assert_eq!(ids(&store, hs("8")), vec!["erm/R-1"]);
    assert_eq!(ids(&store, hs("10.2")), vec!["qms/NC-4"]);
    assert!(ids(&store, hs("9.2")).is_empty());
    let combined = RecordFilter {
        hs_clause: Some("6.1".into()),
        standard: Some(StandardId::Iso9001),
        ..Default::default()
    };
    assert_eq!(ids(&store, combined), vec!["erm/R-1"]);
}

#[test]
fn counts_by_kind() {
    let store = fixture();
    let counts = store.count_by_kind().unwrap();
    assert_eq!(counts.get(&RecordKind::Risk), Some(&3));
    assert_eq!(counts.get(&RecordKind::Control), Some(&1));
    assert_eq!(counts.get(&RecordKind::Nonconformity), Some(&1));
    assert_eq!(counts.get(&RecordKind::AiSystem), Some(&1));
    assert_eq!(counts.get(&RecordKind::Incident), None);
    assert_eq!(counts.values().sum::<u64>(), store.record_count().unwrap());
    assert_eq!(store.record_count().unwrap(), 6);
}

#[test]
fn records_round_trip_whole() {
    let store = fixture();
    let expected = ai(with_clauses(
        record("erm", RecordKind::Risk, "R-2", "Biased model"),
        &[
            (StandardId::Iso42001, "6.1.2"),
            (StandardId::Iso27001, "6.1.2"),
        ],
        &["6.1"],
    ));
    assert_eq!(store.record(expected.id).unwrap(), Some(expected));
    let missing = record("erm", RecordKind::Risk, "R-404", "Missing");
    assert_eq!(store.record(missing.id).unwrap(), None);
    assert!(store.record_versions(missing.id).unwrap().is_empty());
}
