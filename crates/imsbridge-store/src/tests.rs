//! Tests that need the store's insides: migrations step by step, and what SQLite itself
//! counts as written.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use imsbridge_model::{ClauseRef, StandardId};
use rusqlite::{Connection, params};

use crate::error::Ctx;
use crate::schema::{MIGRATIONS, SCHEMA_VERSION, migrate};
use crate::{RecordFilter, Store, StoreError, UpsertOutcome};

fn ctx(path: &std::path::Path) -> Ctx {
    Ctx {
        path: path.to_path_buf(),
        busy_timeout: Duration::from_secs(1),
    }
}

fn user_version(conn: &Connection) -> u32 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn there_is_more_than_one_migration_to_test() {
    assert!(MIGRATIONS.len() >= 2);
    assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
}

#[test]
fn a_version_1_store_with_data_is_upgraded_and_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let tagged = ai(with_clauses(
        risk("R-1", "Biased model"),
        &[
            (StandardId::Iso42001, "6.1.2"),
            (StandardId::Iso27001, "A.5.7"),
        ],
        &["6.1", "8.2"],
    ));
    let plain = risk("R-2", "Power cut");
    let older = risk("R-1", "Model bias");

    // A store as the first schema wrote it, with a run, two records and one old version.
    {
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &ctx(&path), 1).unwrap(), 1);
        assert_eq!(user_version(&conn), 1);
        conn.execute(
            "INSERT INTO import_runs (source, system, connector, started_at, finished_at,
                 inserted, updated)
             VALUES ('risks.xlsx', 'risks.xlsx', 'spreadsheet', ?1, ?1, 2, 1)",
            [crate::codec::timestamp(&at(1))],
        )
        .unwrap();
        for r in [&tagged, &plain] {
            conn.execute(
                "INSERT INTO records (id, kind, system, external_id, content_hash, version, ai,
                     title, json, first_imported_at, updated_at, last_run_id)
                 VALUES (?1, 'risk', 'risks.xlsx', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 1)",
                params![
                    r.id.0.as_bytes().as_slice(),
                    r.provenance.external_id,
                    r.provenance.content_hash,
                    if r.id == tagged.id { 2 } else { 1 },
                    r.ai.flagged,
                    r.title,
                    serde_json::to_string(r).unwrap(),
                    crate::codec::timestamp(&at(1)),
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO record_versions (record_id, version, content_hash, json, written_at,
                 superseded_at, run_id, superseded_by_run_id)
             VALUES (?1, 1, ?2, ?3, ?4, ?4, 1, 1)",
            params![
                tagged.id.0.as_bytes().as_slice(),
                older.provenance.content_hash,
                serde_json::to_string(&older).unwrap(),
                crate::codec::timestamp(&at(1)),
            ],
        )
        .unwrap();
    }

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // The filter tables of the new schema were filled from the records already there.
    let clause = RecordFilter {
        standard: Some(StandardId::Iso27001),
        clause: Some("A.5.7".into()),
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&clause).unwrap(), vec![tagged.clone()]);
    let hs = RecordFilter {
        hs_clause: Some("8.2".into()),
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&hs).unwrap(), vec![tagged.clone()]);
    let ai_only = RecordFilter {
        ai_only: true,
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&ai_only).unwrap(), vec![tagged.clone()]);
    assert_eq!(store.record_count().unwrap(), 2);
    assert_eq!(store.record_versions(tagged.id).unwrap()[0].record, older);
    assert_eq!(store.import_runs(5).unwrap()[0].inserted, 2);

    // Imports carry on from the old data: unchanged stays unchanged, history grows.
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(tx.upsert(&plain).unwrap(), UpsertOutcome::Unchanged);
    let newest = changed(&tagged, "Biased model, retrained", 2);
    assert_eq!(tx.upsert(&newest).unwrap(), UpsertOutcome::Updated);
    let run = tx.commit(&Default::default()).unwrap();
    assert_eq!(run, 2);
    let history = store.record_versions(tagged.id).unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(history[1].record, tagged);
    assert_eq!(store.record(tagged.id).unwrap(), Some(newest));
}

#[test]
fn migrating_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let mut store = Store::open(&path).unwrap();
    import(
        &mut store,
        &[with_clauses(
            risk("R-1", "Drift"),
            &[(StandardId::Iso42001, "6.1.2")],
            &["6.1"],
        )],
    );
    drop(store);
    let before = dump(&path);

    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(
        migrate(&mut conn, &ctx(&path), SCHEMA_VERSION).unwrap(),
        SCHEMA_VERSION
    );
    // Not even a write transaction was needed.
    assert_eq!(conn.total_changes(), 0);
    drop(conn);
    assert_eq!(dump(&path), before);
}

#[test]
fn unchanged_upserts_make_no_change_in_sqlite() {
    let mut store = Store::open_in_memory().unwrap();
    let records: Vec<_> = (0..100)
        .map(|i| {
            with_clauses(
                risk(&format!("R-{i}"), "Risk"),
                &[(StandardId::Iso27001, "A.5.7")],
                &["6.1"],
            )
        })
        .collect();
    import(&mut store, &records);

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let before = tx.conn.total_changes();
    for r in &records {
        assert_eq!(tx.upsert(r).unwrap(), UpsertOutcome::Unchanged);
    }
    assert_eq!(tx.conn.total_changes(), before);

    // A new title: the record row and one version row; its clauses are the same, so their
    // filter rows are left as they are.
    tx.upsert(&changed(&records[7], "Risk, edited", 2)).unwrap();
    assert_eq!(tx.conn.total_changes() - before, 2);
    // New clauses: the clause rows are replaced, the HS row is not. The old row goes at
    // once; the new ones are queued and written, in key order, at commit.
    let mut moved = changed(&records[8], "Risk", 2);
    moved.clauses = vec![
        ClauseRef::new(StandardId::Iso27001, "A.5.8"),
        ClauseRef::new(StandardId::Iso9001, "8.4"),
    ];
    moved.seal();
    let before = tx.conn.total_changes();
    tx.upsert(&moved).unwrap();
    assert_eq!(tx.conn.total_changes() - before, 2 + 1);
    tx.commit(&Default::default()).unwrap();
    let by = |standard, clause: &str| RecordFilter {
        standard: Some(standard),
        clause: Some(clause.into()),
        ..RecordFilter::default()
    };
    assert_eq!(
        store.records(&by(StandardId::Iso9001, "8.4")).unwrap(),
        vec![moved.clone()]
    );
    assert_eq!(
        store
            .records(&by(StandardId::Iso27001, "A.5.7"))
            .unwrap()
            .len(),
        99
    );
    let hs = RecordFilter {
        hs_clause: Some("6.1".into()),
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&hs).unwrap().len(), 100);
}

#[test]
fn an_import_that_failed_halfway_cannot_be_committed() {
    let mut store = Store::open_in_memory().unwrap();
    let first = with_clauses(risk("R-1", "Fine"), &[(StandardId::Iso27001, "A.5.7")], &[]);
    import(&mut store, std::slice::from_ref(&first));
    // Break the store behind its back so that an update fails after its first statement
    // (the copy into the history) has run.
    store
        .conn
        .execute_batch("DROP TABLE record_clauses")
        .unwrap();

    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let mut moved = changed(&first, "Fine", 2);
    moved.clauses.clear();
    moved.seal();
    assert!(matches!(
        tx.upsert(&moved).unwrap_err(),
        StoreError::Sqlite { .. }
    ));
    let err = tx.upsert(&risk("R-3", "After")).unwrap_err();
    assert!(matches!(err, StoreError::ImportAborted { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing of it was saved"));
    let err = tx.commit(&Default::default()).unwrap_err();
    assert!(matches!(err, StoreError::ImportAborted { .. }), "{err:?}");

    // The history row the failed update had already written is gone with the run.
    assert!(store.record_versions(first.id).unwrap().is_empty());
    assert_eq!(store.record(first.id).unwrap(), Some(first));
    assert_eq!(store.import_runs(10).unwrap().len(), 1);
}

#[test]
fn a_commit_that_fails_writing_queued_rows_saves_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    store.conn.execute_batch("DROP TABLE record_hs").unwrap();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let r = with_clauses(risk("R-1", "Queued"), &[], &["6.1"]);
    assert_eq!(tx.upsert(&r).unwrap(), UpsertOutcome::Inserted);
    let err = tx.commit(&Default::default()).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    assert_eq!(store.record_count().unwrap(), 0);
    assert!(store.import_runs(10).unwrap().is_empty());
}

#[test]
fn a_record_written_twice_in_one_run_keeps_only_its_last_filter_rows() {
    let mut store = Store::open_in_memory().unwrap();
    let first = with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso27001, "A.5.7")],
        &["6.1"],
    );
    let mut second = changed(&first, "Drift", 2);
    second.clauses = vec![ClauseRef::new(StandardId::Iso42001, "6.1.2")];
    second.hs[0].clause = "8.2".into();
    second.seal();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert_eq!(tx.upsert(&first).unwrap(), UpsertOutcome::Inserted);
    assert_eq!(tx.upsert(&second).unwrap(), UpsertOutcome::Updated);
    tx.commit(&Default::default()).unwrap();

    let rows: Vec<(String, String)> = store
        .conn
        .prepare("SELECT standard, clause FROM record_clauses")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, vec![("iso42001".to_string(), "6.1.2".to_string())]);
    let hs: Vec<String> = store
        .conn
        .prepare("SELECT clause FROM record_hs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hs, vec!["8.2".to_string()]);
}

#[test]
fn large_imports_write_queued_rows_in_batches() {
    let mut store = Store::open_in_memory().unwrap();
    let n = crate::import::FLUSH_ROWS / 2 + 10;
    let records: Vec<_> = (0..n)
        .map(|i| {
            with_clauses(
                risk(&format!("R-{i}"), "Risk"),
                &[(StandardId::Iso27001, "A.5.7")],
                &["6.1"],
            )
        })
        .collect();
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    for r in &records {
        tx.upsert(r).unwrap();
    }
    // Two rows per record: the queue has been written once already, before commit.
    let written: i64 = tx
        .conn
        .query_row("SELECT count(*) FROM record_clauses", [], |r| r.get(0))
        .unwrap();
    assert!(written > 0 && (written as usize) < n, "{written}");
    tx.commit(&Default::default()).unwrap();
    let filter = RecordFilter {
        clause: Some("A.5".into()),
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&filter).unwrap().len(), n);
}

/// The query plans of the statements an import runs per record and of the filters: each
/// must seek in an index, never scan a table.
#[test]
fn hot_statements_and_filters_seek_in_their_indexes() {
    let store = Store::open_in_memory().unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join("; ")
    };
    let lookup = plan(crate::import::LOOKUP_SQL);
    assert!(
        lookup.contains("SEARCH records USING INDEX sqlite_autoindex_records_1 (id=?)"),
        "{lookup}"
    );
    let delete = plan(crate::import::DELETE_CLAUSES_SQL);
    assert!(
        delete.contains(
            "SEARCH record_clauses USING PRIMARY KEY (standard=? AND clause=? AND record_id=?)"
        ),
        "{delete}"
    );
    let delete = plan(crate::import::DELETE_HS_SQL);
    assert!(
        delete.contains("SEARCH record_hs USING PRIMARY KEY (clause=? AND record_id=?)"),
        "{delete}"
    );

    let filter = |f: RecordFilter| plan(&crate::store::filter_sql(&f).0);
    let by_clause = filter(RecordFilter {
        clause: Some("6.1".into()),
        ..RecordFilter::default()
    });
    assert!(
        by_clause.contains("SEARCH c USING PRIMARY KEY (standard=? AND clause>? AND clause<?)"),
        "{by_clause}"
    );
    let by_hs = filter(RecordFilter {
        hs_clause: Some("9.2".into()),
        ..RecordFilter::default()
    });
    assert!(
        by_hs.contains("SEARCH h USING PRIMARY KEY (clause>? AND clause<?)"),
        "{by_hs}"
    );
    let ai = filter(RecordFilter {
        ai_only: true,
        ..RecordFilter::default()
    });
    assert!(ai.contains("records_ai"), "{ai}");
    let kind = filter(RecordFilter {
        kind: Some(imsbridge_model::RecordKind::Risk),
        ..RecordFilter::default()
    });
    // Already in listing order: no sort.
    assert_eq!(kind, "SEARCH r USING INDEX records_by_kind (kind=?)");
}

/// The source-hash step on a store that has records already: they keep their content, start
/// without a source hash (so an import maps their rows in full once) and take one then.
#[test]
fn a_store_from_before_source_hashes_is_upgraded_and_learns_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let r = with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso27001, "A.5.7")],
        &["6.1"],
    );
    let step = crate::schema::MIGRATIONS
        .iter()
        .position(|sql| sql.contains("source_hash"))
        .unwrap() as u32;
    {
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &ctx(&path), step).unwrap(), step);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('records')")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!columns.contains(&"source_hash".to_string()));
        conn.execute(
            "INSERT INTO records (id, kind, system, external_id, content_hash, version, ai,
                 title, json, first_imported_at, updated_at)
             VALUES (?1, 'risk', 'risks.xlsx', 'R-1', ?2, 1, 0, ?3, ?4, ?5, ?5)",
            params![
                r.id.0.as_bytes().as_slice(),
                r.provenance.content_hash,
                r.title,
                serde_json::to_string(&r).unwrap(),
                crate::codec::timestamp(&at(1)),
            ],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.record(r.id).unwrap(), Some(r.clone()));

    let source = [5u8; 16];
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    assert!(
        tx.known_sources("risks.xlsx", "risks.xlsx!Risks")
            .unwrap()
            .is_empty()
    );
    assert!(!tx.confirm_unchanged(r.id, &source).unwrap());
    let encoded = crate::EncodedRecord::new(Box::new(r.clone()), Some(source)).unwrap();
    assert_eq!(
        tx.upsert_encoded(&encoded).unwrap(),
        UpsertOutcome::Unchanged
    );
    assert!(tx.confirm_unchanged(r.id, &source).unwrap());
    tx.commit(&Default::default()).unwrap();
    assert!(store.record_versions(r.id).unwrap().is_empty());
}

#[test]
fn known_sources_are_written_in_chunks_as_they_fill() {
    let mut store = Store::open_in_memory().unwrap();
    let chunks = |store: &Store| -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM source_fingerprints", [], |r| r.get(0))
            .unwrap()
    };
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let mut rows = crate::SourceCollector::new("risks.xlsx", "risks.xlsx!Risks");
    for n in 0..10u8 {
        tx.keep_source(&mut rows, &[n; 16]).unwrap();
    }
    // Chunks of 4 in tests: two written while collecting, the rest at the end.
    tx.save_known_sources(&mut rows).unwrap();
    tx.commit(&Default::default()).unwrap();
    assert_eq!(chunks(&store), 3);
    let tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let known = tx.known_sources("risks.xlsx", "risks.xlsx!Risks").unwrap();
    assert_eq!(known.len(), 10);
    assert!((0..10u8).all(|n| known.contains(&[n; 16])));
    drop(tx);

    // The next import of the sheet replaces every old chunk, whatever it writes.
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    let mut rows = crate::SourceCollector::new("risks.xlsx", "risks.xlsx!Risks");
    for n in 0..5u8 {
        tx.keep_source(&mut rows, &[n; 16]).unwrap();
    }
    tx.save_known_sources(&mut rows).unwrap();
    tx.commit(&Default::default()).unwrap();
    assert_eq!(chunks(&store), 2);
}

/// The schedules step on a store holding records, sync state and import runs: all of it
/// survives, and the new tables work from the first open.
#[test]
fn a_store_from_before_schedules_is_upgraded_with_its_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let step = MIGRATIONS
        .iter()
        .position(|sql| sql.contains("CREATE TABLE schedule_runs"))
        .unwrap() as u32;
    assert_eq!(step + 1, SCHEMA_VERSION, "schedules are the newest step");
    let r = ai(with_clauses(
        risk("R-1", "Drift"),
        &[(StandardId::Iso42001, "6.1.2")],
        &["6.1"],
    ));
    {
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &ctx(&path), step).unwrap(), step);
    }
    // Written through the API of the previous version: a store opened at `step` would be
    // migrated, so the data goes in with SQL against that schema's tables.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO import_runs (source, system, connector, started_at, finished_at,
                 inserted) VALUES ('risks.xlsx', 'risks.xlsx', 'spreadsheet', ?1, ?1, 1)",
            [crate::codec::timestamp(&at(1))],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO records (id, kind, system, external_id, content_hash, version, ai,
                 title, json, first_imported_at, updated_at, last_run_id)
             VALUES (?1, 'risk', 'risks.xlsx', 'R-1', ?2, 1, 1, ?3, ?4, ?5, ?5, 1)",
            params![
                r.id.0.as_bytes().as_slice(),
                r.provenance.content_hash,
                r.title,
                serde_json::to_string(&r).unwrap(),
                crate::codec::timestamp(&at(1)),
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO record_clauses (standard, clause, record_id) VALUES ('iso42001', '6.1.2', ?1)",
            [r.id.0.as_bytes().as_slice()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sync_cursors (system, stream, cursor, updated_at)
             VALUES ('ca', 'risks', 'c-7', ?1)",
            [crate::codec::timestamp(&at(2))],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sync_journal (target, record_id, action, correlation, fields, intent_at,
                 outcome, outcome_at) VALUES ('ca', ?1, 'create', 'IMSB-1', '{}', ?2, 'written', ?2)",
            params![
                r.id.0.as_bytes().as_slice(),
                crate::codec::timestamp(&at(2))
            ],
        )
        .unwrap();
    }
    let before = dump(&path);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // Every row of the old tables is as it was.
    let after = dump(&path);
    for line in &before {
        assert!(after.contains(line), "lost in the migration: {line}");
    }
    assert_eq!(store.record(r.id).unwrap(), Some(r.clone()));
    let on_42001 = RecordFilter {
        standard: Some(StandardId::Iso42001),
        ..RecordFilter::default()
    };
    assert_eq!(store.records(&on_42001).unwrap(), vec![r]);
    assert_eq!(store.cursor("ca", "risks").unwrap().as_deref(), Some("c-7"));
    assert_eq!(store.journal(Some("ca"), 5).unwrap().len(), 1);
    assert_eq!(store.import_runs(5).unwrap().len(), 1);

    // The new tables are empty and usable at once.
    assert!(store.schedule_runs(None, 10).unwrap().is_empty());
    assert!(store.run_totals().unwrap().is_empty());
    assert_eq!(store.schedule_last_fire("nightly").unwrap(), None);
    assert_eq!(store.init_schedule("nightly", at(3)).unwrap(), at(3));
}
