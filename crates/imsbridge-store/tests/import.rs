//! Import transactions: outcomes, history, atomicity and dry runs.
// The helpers here are outside #[test] functions; a panic in them is a failed test too.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use imsbridge_model::{RecordKind, StandardId};
use imsbridge_store::{
    ImportCounts, ImportRunStart, ImportRunSummary, RecordFilter, Store, StoreError, UpsertOutcome,
};

fn temp_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

#[test]
fn insert_update_and_unchanged_outcomes() {
    let mut store = Store::open_in_memory().unwrap();
    let a = risk("R-1", "Model drift");
    let b = risk("R-2", "Data leak");

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(tx.upsert(&a).unwrap(), UpsertOutcome::Inserted);
    assert_eq!(tx.upsert(&b).unwrap(), UpsertOutcome::Inserted);
    tx.commit(&ImportRunSummary::default()).unwrap();

    // Read again the next day: b moved down the sheet (same content), a was edited.
    let mut moved = b.clone();
    moved.provenance.location = "risks.xlsx:99".into();
    moved.provenance.imported_at = at(2);
    let a2 = changed(&a, "Model drift in production", 2);
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(tx.upsert(&a2).unwrap(), UpsertOutcome::Updated);
    assert_eq!(tx.upsert(&moved).unwrap(), UpsertOutcome::Unchanged);
    assert_eq!(
        tx.counts(),
        ImportCounts {
            inserted: 0,
            updated: 1,
            unchanged: 1
        }
    );
    tx.commit(&ImportRunSummary::default()).unwrap();

    assert_eq!(store.record(a.id).unwrap(), Some(a2));
    // Unchanged means untouched: the stored copy still says where it was first read.
    assert_eq!(store.record(b.id).unwrap(), Some(b));
    assert_eq!(store.record_count().unwrap(), 2);
}

#[test]
fn unchanged_records_write_no_row() {
    let (_dir, path, mut store) = temp_store();
    let records: Vec<_> = (0..50)
        .map(|i| {
            with_clauses(
                risk(&format!("R-{i}"), "Risk"),
                &[(StandardId::Iso27001, "6.1.2")],
                &["6.1"],
            )
        })
        .collect();
    import(&mut store, &records);
    let before = dump(&path);

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    for r in &records {
        assert_eq!(tx.upsert(r).unwrap(), UpsertOutcome::Unchanged);
    }
    let run = tx.commit(&ImportRunSummary::default()).unwrap();

    // The only difference is the new run row; no record, version or filter row was touched.
    let after: Vec<_> = dump(&path)
        .into_iter()
        .filter(|l| !l.starts_with("import_runs:") && !l.starts_with("sqlite_"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|l| !l.starts_with("import_runs:") && !l.starts_with("sqlite_"))
        .collect();
    assert_eq!(before, after);
    let run = store.import_run(run).unwrap().unwrap();
    assert_eq!((run.inserted, run.updated, run.unchanged), (0, 0, 50));
}

#[test]
fn updates_keep_every_previous_version() {
    let mut store = Store::open_in_memory().unwrap();
    let v1 = with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso42001, "6.1.2")],
        &["6.1"],
    );
    let run1 = import(&mut store, std::slice::from_ref(&v1));
    let v2 = changed(&v1, "Drift, monitored", 2);
    let run2 = import(&mut store, std::slice::from_ref(&v2));
    let mut v3 = changed(&v2, "Drift, monitored monthly", 3);
    v3.clauses = vec![imsbridge_model::ClauseRef::new(StandardId::Iso27001, "8.2")];
    v3.hs.clear();
    v3.seal();
    let run3 = import(&mut store, std::slice::from_ref(&v3));

    let history = store.record_versions(v1.id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].record, v1);
    assert_eq!(history[0].content_hash, v1.provenance.content_hash);
    assert_eq!(history[0].written_at, at(1));
    assert_eq!(history[0].superseded_at, at(2));
    assert_eq!(history[0].run_id, Some(run1));
    assert_eq!(history[0].superseded_by_run_id, Some(run2));
    assert_eq!(history[1].version, 2);
    assert_eq!(history[1].record, v2);
    assert_eq!(history[1].superseded_by_run_id, Some(run3));
    assert_eq!(store.record(v1.id).unwrap(), Some(v3.clone()));

    // The filter rows follow the current version only.
    let by = |standard| RecordFilter {
        standard: Some(standard),
        ..RecordFilter::default()
    };
    assert!(store.records(&by(StandardId::Iso42001)).unwrap().is_empty());
    assert_eq!(store.records(&by(StandardId::Iso27001)).unwrap(), vec![v3]);
    let hs = RecordFilter {
        hs_clause: Some("6.1".into()),
        ..RecordFilter::default()
    };
    assert!(store.records(&hs).unwrap().is_empty());
}

#[test]
fn dropping_an_import_leaves_the_store_as_it_was() {
    let (_dir, path, mut store) = temp_store();
    let a = with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso27001, "A.5.7")],
        &["6.1"],
    );
    let b = risk("R-2", "Leak");
    import(&mut store, &[a.clone(), b.clone()]);
    let before = dump(&path);

    {
        let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
        assert_eq!(
            tx.upsert(&changed(&a, "Drift!", 2)).unwrap(),
            UpsertOutcome::Updated
        );
        assert_eq!(
            tx.upsert(&risk("R-3", "New")).unwrap(),
            UpsertOutcome::Inserted
        );
        // Dropped here, without commit.
    }
    assert_eq!(dump(&path), before);

    let tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let mut tx = tx;
    tx.upsert(&risk("R-4", "Newer")).unwrap();
    let counts = tx.rollback().unwrap();
    assert_eq!(counts.inserted, 1);
    assert_eq!(dump(&path), before);

    // The store is usable afterwards, and run ids are not taken by the rolled-back runs.
    let run = import(&mut store, &[risk("R-5", "Later")]);
    assert_eq!(run, 2);
}

#[test]
fn dry_run_counts_like_a_real_run_and_writes_only_its_run() {
    let (_dir, path, mut store) = temp_store();
    let a = risk("R-1", "Drift");
    let b = risk("R-2", "Leak");
    import(&mut store, &[a.clone(), b.clone()]);
    let before = dump(&path);

    let dry = ImportRunStart {
        dry_run: true,
        kind: Some(RecordKind::Risk),
        ..start("risks.xlsx")
    };
    let mut tx = store.begin_import(&dry).unwrap();
    assert!(tx.is_dry_run());
    assert_eq!(tx.run_id(), None);
    let c = risk("R-3", "New");
    let c2 = changed(&c, "New, edited", 2);
    assert_eq!(tx.upsert(&a).unwrap(), UpsertOutcome::Unchanged);
    assert_eq!(
        tx.upsert(&changed(&b, "Leak!", 2)).unwrap(),
        UpsertOutcome::Updated
    );
    assert_eq!(tx.upsert(&c).unwrap(), UpsertOutcome::Inserted);
    // The same record again in the same file: as a real run would see it.
    assert_eq!(tx.upsert(&c).unwrap(), UpsertOutcome::Unchanged);
    assert_eq!(tx.upsert(&c2).unwrap(), UpsertOutcome::Updated);
    let summary = ImportRunSummary {
        rejected: 2,
        warnings: 1,
        rejects_file: Some("risks.rejects.csv".into()),
    };
    let run_id = tx.commit(&summary).unwrap();

    let after = dump(&path);
    let new_rows: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    // The run row, and the AUTOINCREMENT counter it advanced.
    assert_eq!(new_rows.len(), 2, "{new_rows:#?}");
    assert!(new_rows[0].starts_with("import_runs:"));
    assert_eq!(store.record(c.id).unwrap(), None);

    let run = store.import_run(run_id).unwrap().unwrap();
    assert!(run.dry_run);
    assert_eq!(run.kind, Some(RecordKind::Risk));
    assert_eq!(
        (run.inserted, run.updated, run.unchanged),
        (1, 2, 2),
        "{run:?}"
    );
    assert_eq!((run.rejected, run.warnings), (2, 1));
    assert_eq!(run.rejects_file.as_deref(), Some("risks.rejects.csv"));
    assert!(run.finished_at.is_some());

    // A dry run rolled back leaves no trace at all.
    let mut tx = store.begin_import(&dry).unwrap();
    tx.upsert(&c).unwrap();
    tx.rollback().unwrap();
    assert_eq!(dump(&path), after);
}

#[test]
fn runs_are_recorded_newest_first() {
    let mut store = Store::open_in_memory().unwrap();
    let first = import(&mut store, &[risk("R-1", "A")]);
    let mut tx = store
        .begin_import(&ImportRunStart {
            kind: Some(RecordKind::Control),
            ..ImportRunStart::new("soa.xlsx", "isms", "spreadsheet")
        })
        .unwrap();
    assert!(tx.run_id().is_some());
    tx.upsert(&record("isms", RecordKind::Control, "A.5.1", "Policies"))
        .unwrap();
    let second = tx
        .commit(&ImportRunSummary {
            rejected: 3,
            warnings: 4,
            rejects_file: None,
        })
        .unwrap();

    let runs = store.import_runs(10).unwrap();
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    let run = &runs[0];
    assert_eq!(
        (
            run.source.as_str(),
            run.system.as_str(),
            run.connector.as_str()
        ),
        ("soa.xlsx", "isms", "spreadsheet")
    );
    assert_eq!(run.kind, Some(RecordKind::Control));
    assert_eq!(
        (run.inserted, run.rejected, run.warnings, run.dry_run),
        (1, 3, 4, false)
    );
    assert!(run.finished_at.unwrap() >= run.started_at);
    assert_eq!(store.import_runs(1).unwrap().len(), 1);
    assert_eq!(runs[1].started_at, at(1));
}

#[test]
fn an_unsealed_record_is_sealed_on_the_way_in() {
    let mut store = Store::open_in_memory().unwrap();
    let mut r = risk("R-1", "Drift");
    r.provenance.content_hash.clear();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(tx.upsert(&r).unwrap(), UpsertOutcome::Inserted);
    // Sealed the same way, the second copy is recognised as unchanged.
    assert_eq!(tx.upsert(&r).unwrap(), UpsertOutcome::Unchanged);
    tx.commit(&ImportRunSummary::default()).unwrap();
    let stored = store.record(r.id).unwrap().unwrap();
    assert_eq!(stored.provenance.content_hash, r.compute_content_hash());
}

#[test]
fn a_record_that_cannot_be_read_is_named_not_panicked_on() {
    let (_dir, path, mut store) = temp_store();
    let good = risk("R-1", "Fine");
    let bad = risk("R-2", "Broken");
    import(&mut store, &[good.clone(), bad.clone()]);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE records SET json = '{\"id\": truncated' WHERE id = ?1",
        [bad.id.0.as_bytes().as_slice()],
    )
    .unwrap();

    assert_eq!(store.record(good.id).unwrap(), Some(good));
    // Read undecoded, the rows arrive; decoding names the bad one the same way.
    let mut stored = Vec::new();
    store
        .for_each_stored_record(&RecordFilter::default(), |r| {
            stored.push(r);
            Ok::<(), StoreError>(())
        })
        .unwrap();
    assert_eq!(stored.len(), 2);
    let decoded: Vec<Result<_, _>> = stored.iter().map(|r| r.decode()).collect();
    assert_eq!(decoded.iter().filter(|r| r.is_ok()).count(), 1);
    let undecodable = stored.iter().find(|r| r.id == bad.id).unwrap();
    for err in [
        store.record(bad.id).unwrap_err(),
        store.records(&RecordFilter::default()).unwrap_err(),
        undecodable.decode().unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::BadRecord { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&bad.id.to_string()), "{msg}");
        assert!(msg.contains("imsbridge.db"), "{msg}");
    }

    // JSON that is valid but belongs to another record is caught too.
    let other = serde_json::to_string(&risk("R-9", "Elsewhere")).unwrap();
    conn.execute(
        "UPDATE records SET json = ?2 WHERE id = ?1",
        rusqlite::params![bad.id.0.as_bytes().as_slice(), other],
    )
    .unwrap();
    let err = store.record(bad.id).unwrap_err();
    assert!(err.to_string().contains("holds the id of record"), "{err}");
}

#[test]
fn streaming_stops_at_the_callers_error() {
    let mut store = Store::open_in_memory().unwrap();
    import(
        &mut store,
        &[risk("R-1", "A"), risk("R-2", "B"), risk("R-3", "C")],
    );
    let mut seen = Vec::new();
    let result: Result<(), StoreError> = store.for_each_record(&RecordFilter::default(), |r| {
        seen.push(r.provenance.external_id.clone());
        if seen.len() == 2 {
            Err(StoreError::ImportAborted {
                path: "stop".into(),
            })
        } else {
            Ok(())
        }
    });
    assert!(result.is_err());
    assert_eq!(seen, vec!["R-1", "R-2"]);
}
