//! Opening stores: creation, refusals with clear messages, and two handles on one file.
// The helpers here are outside #[test] functions; a panic in them is a failed test too.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use imsbridge_store::{RecordFilter, SCHEMA_VERSION, Store, StoreError, UpsertOutcome};

#[test]
fn creates_a_store_in_wal_mode_and_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let r = risk("R-1", "Drift");
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.path(), path.as_path());
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        import(&mut store, std::slice::from_ref(&r));
    }
    assert!(path.is_file());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let page_size: i64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 8192);
    drop(conn);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.records(&RecordFilter::default()).unwrap(), vec![r]);
    assert_eq!(store.import_runs(10).unwrap().len(), 1);
}

#[test]
fn refuses_a_store_from_a_newer_imsbridge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    drop(conn);

    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, known, .. }
            if found == SCHEMA_VERSION + 5 && known == SCHEMA_VERSION),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("imsbridge.db"), "{msg}");
    assert!(
        msg.contains(&format!(
            "newer imsbridge (schema {}, this build knows {SCHEMA_VERSION})",
            SCHEMA_VERSION + 5
        )),
        "{msg}"
    );
}

#[test]
fn refuses_a_text_file_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("risks.csv");
    let text = "id,title\nR-1,Model drift\nR-2,Data leak\n".repeat(20);
    std::fs::write(&path, &text).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not a SQLite database"), "{msg}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(!dir.path().join("risks.csv-wal").exists());
}

#[test]
fn refuses_another_applications_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    drop(conn);

    let err = Store::open(&path).unwrap_err();
    assert!(
        err.to_string()
            .contains("SQLite database of another application"),
        "{err}"
    );
    // Not converted to WAL, no tables of ours added.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn refuses_a_directory_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("it is a directory"), "{err}");

    let missing = dir.path().join("no-such-dir").join("imsbridge.db");
    let err = Store::open(&missing).unwrap_err();
    assert!(matches!(err, StoreError::CannotOpen { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!(
            "directory {} does not exist",
            dir.path().join("no-such-dir").display()
        )),
        "{err}"
    );
}

#[test]
fn a_second_handle_reads_during_an_import_and_gives_up_writing_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let mut first = Store::open(&path).unwrap();
    let before = risk("R-1", "Before");
    import(&mut first, std::slice::from_ref(&before));

    let mut tx = first.begin_import(&start("risks.xlsx")).unwrap();
    tx.upsert(&risk("R-2", "During")).unwrap();

    // Opening and reading do not wait for the writer; the reader sees the last commit.
    let mut second = Store::open(&path).unwrap();
    assert_eq!(
        second.records(&RecordFilter::default()).unwrap(),
        vec![before.clone()]
    );

    second.set_busy_timeout(Duration::from_millis(200)).unwrap();
    let started = Instant::now();
    let err = second.begin_import(&start("other.xlsx")).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("is locked by another process"), "{msg}");
    assert!(msg.contains("waited 200 ms"), "{msg}");

    tx.commit(&Default::default()).unwrap();
    // Once the first import has committed, the second handle writes and sees it.
    let mut tx2 = second.begin_import(&start("other.xlsx")).unwrap();
    assert_eq!(
        tx2.upsert(&risk("R-2", "During")).unwrap(),
        UpsertOutcome::Unchanged
    );
    tx2.commit(&Default::default()).unwrap();
}

#[test]
fn a_second_writer_waits_for_the_first_to_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let mut first = Store::open(&path).unwrap();
    let mut second = Store::open(&path).unwrap();
    second.set_busy_timeout(Duration::from_secs(10)).unwrap();

    let (locked, wait_for_lock) = mpsc::channel();
    let writer = thread::spawn(move || {
        let mut tx = first.begin_import(&start("risks.xlsx")).unwrap();
        tx.upsert(&risk("R-1", "First")).unwrap();
        locked.send(()).unwrap();
        thread::sleep(Duration::from_millis(300));
        tx.commit(&Default::default()).unwrap();
    });
    wait_for_lock.recv().unwrap();
    let started = Instant::now();
    let mut tx = second.begin_import(&start("risks.xlsx")).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    // It sees the first writer's record: it started after that commit.
    assert_eq!(
        tx.upsert(&risk("R-1", "First")).unwrap(),
        UpsertOutcome::Unchanged
    );
    tx.commit(&Default::default()).unwrap();
    writer.join().unwrap();
    assert_eq!(second.import_runs(10).unwrap().len(), 2);
}

#[test]
fn two_handles_creating_one_store_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imsbridge.db");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || Store::open(&path).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), SCHEMA_VERSION);
    }
}
