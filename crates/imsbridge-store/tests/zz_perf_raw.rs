use rusqlite::{Connection, params};
use std::time::Instant;

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9
}

fn run(label: &str, schema: &str, sql: &str, multi: bool, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("x.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;").unwrap();
    conn.execute_batch(schema).unwrap();
    let mut ids: Vec<[u8; 16]> = (0..n)
        .map(|i| {
            *uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{i}").as_bytes()).as_bytes()
        })
        .collect();
    if label.contains("sorted") {
        ids.sort();
    }
    let split = label.contains("split");
    let t = Instant::now();
    let c0 = cpu();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for id in &ids {
        let id = id.as_slice();
        let mut s = conn.prepare_cached(sql).unwrap();
        if split {
            // emulate sorted per-key flush: handled below
        } else if multi {
            s.execute(params![
                "iso27001", "A.5.19", id, "iso9001", "8.4", id, "hs", "8.1", id
            ])
            .unwrap();
        } else {
            s.execute(params!["iso27001", "A.5.19", id]).unwrap();
            s.execute(params!["iso9001", "8.4", id]).unwrap();
            s.execute(params!["hs", "8.1", id]).unwrap();
        }
    }
    if split {
        let mut s = conn.prepare_cached(sql).unwrap();
        for (st, cl) in [("hs", "8.1"), ("iso27001", "A.5.19"), ("iso9001", "8.4")] {
            for id in &ids {
                s.execute(params![st, cl, id.as_slice()]).unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    eprintln!(
        "{label}: {:.2} us/row cpu, wall {:?}",
        (cpu() - c0) * 1e6 / (3 * n) as f64,
        t.elapsed()
    );
}

#[test]
#[ignore]
fn raw() {
    let n = 100_000;
    for _ in 0..2 {
        run(
            "wr sorted split",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (standard, clause, record_id)) WITHOUT ROWID;",
            "INSERT OR IGNORE INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
        run(
            "wr ignore",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (standard, clause, record_id)) WITHOUT ROWID;",
            "INSERT OR IGNORE INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
        run(
            "wr plain",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (standard, clause, record_id)) WITHOUT ROWID;",
            "INSERT INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
        run(
            "wr multi",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (standard, clause, record_id)) WITHOUT ROWID;",
            "INSERT OR IGNORE INTO c VALUES (?1, ?2, ?3), (?4, ?5, ?6), (?7, ?8, ?9)",
            true,
            n,
        );
        run(
            "rowid+idx",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL); CREATE INDEX ci ON c(standard, clause, record_id);",
            "INSERT INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
        run(
            "rowid noidx",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL);",
            "INSERT INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
        run(
            "wr recfirst",
            "CREATE TABLE c (standard TEXT NOT NULL, clause TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (record_id, standard, clause)) WITHOUT ROWID;",
            "INSERT OR IGNORE INTO c VALUES (?1, ?2, ?3)",
            false,
            n,
        );
    }
}
