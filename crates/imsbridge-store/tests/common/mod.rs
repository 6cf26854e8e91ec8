//! Records and store inspection shared by the integration tests.
// Test helpers: a failure here is a failed test, so unwrapping is the point.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use imsbridge_model::{
    AiFlag, ClauseRef, Dates, Details, HsLink, Provenance, Record, RecordId, RecordKind,
    Relationship, StandardId,
};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store};

pub fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, 9, 30, 0).unwrap()
}

/// A sealed record of `kind` from `system`.
pub fn record(system: &str, kind: RecordKind, external_id: &str, title: &str) -> Record {
    let mut r = Record {
        id: RecordId::from_source(system, kind, external_id),
        provenance: Provenance {
            system: system.into(),
            connector: "spreadsheet".into(),
            external_id: external_id.into(),
            location: format!("{system}:{external_id}"),
            imported_at: at(1),
            content_hash: String::new(),
        },
        title: title.into(),
        description: None,
        owner: None,
        status: None,
        dates: Dates::default(),
        clauses: vec![],
        hs: vec![],
        ai: AiFlag::default(),
        details: Details::empty(kind),
        extra: BTreeMap::new(),
    };
    r.seal();
    r
}

pub fn risk(external_id: &str, title: &str) -> Record {
    record("risks.xlsx", RecordKind::Risk, external_id, title)
}

/// Adds clause references (and their HS links, as `hs` says) and reseals.
pub fn with_clauses(mut r: Record, clauses: &[(StandardId, &str)], hs: &[&str]) -> Record {
    for (standard, clause) in clauses {
        r.clauses.push(ClauseRef::new(*standard, *clause));
    }
    let via = r.clauses.first().cloned();
    for clause in hs {
        r.hs.push(HsLink {
            clause: (*clause).into(),
            relationship: Relationship::Equal,
            via: via
                .clone()
                .unwrap_or(ClauseRef::new(StandardId::Hs, *clause)),
        });
    }
    r.seal();
    r
}

pub fn ai(mut r: Record) -> Record {
    r.ai.flagged = true;
    r.seal();
    r
}

/// A changed copy: new title, read at a later time.
pub fn changed(r: &Record, title: &str, day: u32) -> Record {
    let mut r = r.clone();
    r.title = title.into();
    r.provenance.imported_at = at(day);
    r.seal();
    r
}

pub fn start(source: &str) -> ImportRunStart {
    ImportRunStart {
        started_at: at(1),
        ..ImportRunStart::new(source, source, "spreadsheet")
    }
}

/// Imports `records` in one committed run and returns the run id.
pub fn import(store: &mut Store, records: &[Record]) -> i64 {
    let mut tx = store.begin_import(&start("risks.xlsx")).unwrap();
    for r in records {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap()
}

/// Every row of every table of the store file, as text, table by table: two dumps are equal
/// when the stores hold the same content.
pub fn dump(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1, 2"))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let mut line = format!("{table}:");
            for i in 0..columns {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                line.push_str(&format!(" {v:?}"));
            }
            out.push(line);
        }
    }
    out
}

/// The number of rows in `table` of the store file.
pub fn rows(path: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
