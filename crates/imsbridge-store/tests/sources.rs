//! Source hashes: records remember the source row they were mapped from, so that an import
//! can take an unchanged row as unchanged without mapping it.
// The helpers below are test code too: a failure in them is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use imsbridge_model::StandardId;
use imsbridge_store::{
    EncodedRecord, ImportRunStart, SourceCollector, SourceHash, Store, UpsertOutcome,
};

fn encoded(r: &imsbridge_model::Record, source: Option<SourceHash>) -> EncodedRecord {
    EncodedRecord::new(Box::new(r.clone()), source).unwrap()
}

fn hash(n: u8) -> SourceHash {
    [n; 16]
}

#[test]
fn an_encoded_record_is_inserted_updated_and_confirmed_by_its_source() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let first = with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso42001, "6.1.2")],
        &["6.1"],
    );
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(
        tx.upsert_encoded(&encoded(&first, Some(hash(1)))).unwrap(),
        UpsertOutcome::Inserted
    );
    assert_eq!(
        tx.upsert_encoded(&encoded(&first, Some(hash(1)))).unwrap(),
        UpsertOutcome::Unchanged
    );
    tx.commit(&Default::default()).unwrap();
    assert_eq!(store.record(first.id).unwrap(), Some(first.clone()));

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert!(tx.confirm_unchanged(first.id, &hash(1)).unwrap());
    assert!(!tx.confirm_unchanged(first.id, &hash(2)).unwrap());
    assert!(
        !tx.confirm_unchanged(risk("R-9", "None").id, &hash(1))
            .unwrap()
    );
    // A confirmed row counts as unchanged and writes nothing.
    assert_eq!(tx.counts().unchanged, 1);
    // Its content changed: the new source hash goes with the new version, the old version
    // is kept in the history.
    let second = changed(&first, "Drift, retrained", 2);
    assert_eq!(
        tx.upsert_encoded(&encoded(&second, Some(hash(2)))).unwrap(),
        UpsertOutcome::Updated
    );
    assert!(!tx.confirm_unchanged(first.id, &hash(1)).unwrap());
    assert!(tx.confirm_unchanged(first.id, &hash(2)).unwrap());
    tx.commit(&Default::default()).unwrap();
    assert_eq!(store.record(first.id).unwrap(), Some(second.clone()));
    let history = store.record_versions(first.id).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].record, first);

    // Written without a source (another connector, or a row with warnings), a changed record
    // loses its source hash: that hash predicted the old content.
    let third = changed(&second, "Drift, retired", 3);
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(
        tx.upsert_encoded(&encoded(&third, None)).unwrap(),
        UpsertOutcome::Updated
    );
    assert!(!tx.confirm_unchanged(first.id, &hash(2)).unwrap());
    tx.commit(&Default::default()).unwrap();
}

#[test]
fn an_unchanged_record_takes_the_source_hash_of_the_row_it_now_comes_from() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let r = risk("R-1", "Outage");
    // As a store from before source hashes, or a record written by another connector.
    import(&mut store, std::slice::from_ref(&r));
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert!(!tx.confirm_unchanged(r.id, &hash(7)).unwrap());
    let before = rows(&path, "record_versions");
    assert_eq!(
        tx.upsert_encoded(&encoded(&r, Some(hash(7)))).unwrap(),
        UpsertOutcome::Unchanged
    );
    assert!(tx.confirm_unchanged(r.id, &hash(7)).unwrap());
    tx.commit(&Default::default()).unwrap();
    assert_eq!(rows(&path, "record_versions"), before);
    assert_eq!(store.import_runs(1).unwrap()[0].unchanged, 2);
    assert_eq!(store.record(r.id).unwrap(), Some(r));
}

#[test]
fn known_sources_are_kept_per_sheet_and_replaced_by_each_import() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert!(
        tx.known_sources("risks.xlsx", "risks.xlsx!A")
            .unwrap()
            .is_empty()
    );
    // (The unit tests check that rows past a chunk's size are written in several.)
    let mut rows_a = SourceCollector::new("risks.xlsx", "risks.xlsx!A");
    for n in 1..=10 {
        tx.keep_source(&mut rows_a, &hash(n)).unwrap();
    }
    tx.save_known_sources(&mut rows_a).unwrap();
    let mut rows_b = SourceCollector::new("risks.xlsx", "risks.xlsx!B");
    tx.keep_source(&mut rows_b, &hash(99)).unwrap();
    tx.save_known_sources(&mut rows_b).unwrap();
    assert_eq!((rows_a.len(), rows_b.len()), (10, 1));
    tx.commit(&Default::default()).unwrap();

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let a = tx.known_sources("risks.xlsx", "risks.xlsx!A").unwrap();
    assert_eq!(a.len(), 10);
    assert!((1..=10).all(|n| a.contains(&hash(n))));
    assert!(!a.contains(&hash(99)) && !a.contains(&hash(11)));
    let b = tx.known_sources("risks.xlsx", "risks.xlsx!B").unwrap();
    assert!(b.contains(&hash(99)) && !b.contains(&hash(1)));
    // Another system's sheet of the same name is another sheet.
    assert!(
        tx.known_sources("other", "risks.xlsx!A")
            .unwrap()
            .is_empty()
    );
    // The next import replaces them: fewer rows, fewer chunks.
    let mut again = SourceCollector::new("risks.xlsx", "risks.xlsx!A");
    tx.keep_source(&mut again, &hash(3)).unwrap();
    tx.save_known_sources(&mut again).unwrap();
    let a = tx.known_sources("risks.xlsx", "risks.xlsx!A").unwrap();
    assert!(a.len() == 1 && a.contains(&hash(3)));
    // A sheet that stored nothing forgets what it had.
    let mut none = SourceCollector::new("risks.xlsx", "risks.xlsx!B");
    tx.save_known_sources(&mut none).unwrap();
    assert!(
        tx.known_sources("risks.xlsx", "risks.xlsx!B")
            .unwrap()
            .is_empty()
    );
    tx.commit(&Default::default()).unwrap();

    // A dry run leaves them as they were.
    let dry = ImportRunStart {
        dry_run: true,
        ..start("risks.xlsx")
    };
    let mut tx = store.begin_import(&dry).unwrap();
    let mut other = SourceCollector::new("risks.xlsx", "risks.xlsx!A");
    for n in 20..=30 {
        tx.keep_source(&mut other, &hash(n)).unwrap();
    }
    tx.save_known_sources(&mut other).unwrap();
    tx.commit(&Default::default()).unwrap();
    let tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let a = tx.known_sources("risks.xlsx", "risks.xlsx!A").unwrap();
    assert!(a.len() == 1 && a.contains(&hash(3)));
}

#[test]
fn many_known_sources_are_all_found() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let hashes: Vec<SourceHash> = (0..5000u32)
        .map(|i| {
            let mut h = [0u8; 16];
            // Spread over the whole range, as real hashes are.
            let x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            h[..8].copy_from_slice(&x.to_le_bytes());
            h
        })
        .collect();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let mut collected = SourceCollector::new("s", "s");
    for h in &hashes {
        tx.keep_source(&mut collected, h).unwrap();
    }
    tx.save_known_sources(&mut collected).unwrap();
    let known = tx.known_sources("s", "s").unwrap();
    assert_eq!(known.len(), hashes.len());
    assert!(hashes.iter().all(|h| known.contains(h)));
    let mut absent = hashes[17];
    absent[0] ^= 1;
    assert!(!known.contains(&absent));
}

#[test]
fn a_dry_run_confirms_without_writing() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let r = risk("R-1", "Outage");
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    tx.upsert_encoded(&encoded(&r, Some(hash(3)))).unwrap();
    tx.commit(&Default::default()).unwrap();
    let before = dump(&path);

    let dry = ImportRunStart {
        dry_run: true,
        ..start("risks.xlsx")
    };
    let mut tx = store.begin_import(&dry).unwrap();
    assert!(tx.confirm_unchanged(r.id, &hash(3)).unwrap());
    let edited = changed(&r, "Outage, edited", 2);
    assert_eq!(
        tx.upsert_encoded(&encoded(&edited, Some(hash(4)))).unwrap(),
        UpsertOutcome::Updated
    );
    assert_eq!(tx.rollback().unwrap().unchanged, 1);
    assert_eq!(dump(&path), before);
}

fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    (dir, path)
}
