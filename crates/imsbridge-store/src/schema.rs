//! The schema as an ordered list of migrations. `PRAGMA user_version` holds the number of
//! migrations applied; a store is upgraded at open, in one transaction, so it is either at
//! its old version or fully at the new one.
//!
//! Migrations are append-only: a released step is never edited, because stores in the field
//! have already run it. A change is a new step.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Ctx, StoreError};

/// Marks a SQLite file as an imsbridge store ("IMSB"), so another application's database is
/// refused instead of having our tables added to it.
pub(crate) const APPLICATION_ID: i32 = 0x494D_5342;

/// Step `i` upgrades a store from schema `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1_CORE,
    V2_FILTERS,
    crate::sync::V_SYNC,
    V4_SOURCE_HASHES,
    crate::schedule::V5_SCHEDULES,
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Records, their history and the import runs that wrote them.
const V1_CORE: &str = "
-- AUTOINCREMENT: run ids are never reused, even after runs are pruned, so anything that
-- refers to a run (records, versions, later the sync journal) cannot point at the wrong one.
CREATE TABLE import_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    system       TEXT NOT NULL,
    connector    TEXT NOT NULL,
    kind         TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    inserted     INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    warnings     INTEGER NOT NULL DEFAULT 0,
    rejects_file TEXT,
    dry_run      INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1))
);

-- A rowid table, not WITHOUT ROWID: rows carry the whole record as JSON (often > 1 KiB), and
-- appending by rowid keeps inserts sequential while only the 16-byte id index is random.
-- The JSON is the truth; the other columns are copies for filtering, ordering and the
-- unchanged check.
CREATE TABLE records (
    id                BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    kind              TEXT NOT NULL,
    system            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    content_hash      TEXT NOT NULL,
    version           INTEGER NOT NULL CHECK (version >= 1),
    ai                INTEGER NOT NULL CHECK (ai IN (0, 1)),
    title             TEXT NOT NULL,
    json              TEXT NOT NULL,
    first_imported_at TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_run_id       INTEGER REFERENCES import_runs (id)
);
-- The listing order, and kind filters and counts.
CREATE INDEX records_by_kind ON records (kind, system, external_id);

-- Previous versions only; the current one is in records.
CREATE TABLE record_versions (
    record_id            BLOB NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    version              INTEGER NOT NULL,
    content_hash         TEXT NOT NULL,
    json                 TEXT NOT NULL,
    written_at           TEXT NOT NULL,
    superseded_at        TEXT NOT NULL,
    run_id               INTEGER REFERENCES import_runs (id),
    superseded_by_run_id INTEGER REFERENCES import_runs (id),
    PRIMARY KEY (record_id, version)
);
";

/// Clause and HS filter tables, backfilled from the records' JSON.
///
/// They are derived from each record's JSON and written, and replaced, in the same
/// transaction as the record, so they are keyed by what the filters ask for and nothing else:
/// one B-tree each. A foreign key would cost a lookup per row on import and, for its cascade,
/// a second index on `record_id`; the import instead deletes a record's rows by the keys its
/// stored JSON names.
const V2_FILTERS: &str = "
CREATE TABLE record_clauses (
    standard  TEXT NOT NULL,
    clause    TEXT NOT NULL,
    record_id BLOB NOT NULL,
    PRIMARY KEY (standard, clause, record_id)
) WITHOUT ROWID;

CREATE TABLE record_hs (
    clause    TEXT NOT NULL,
    record_id BLOB NOT NULL,
    PRIMARY KEY (clause, record_id)
) WITHOUT ROWID;

-- AI records are few and sync reads them often; a partial index costs nothing for the rest.
CREATE INDEX records_ai ON records (kind, system, external_id) WHERE ai = 1;

INSERT OR IGNORE INTO record_clauses (standard, clause, record_id)
    SELECT json_extract(c.value, '$.standard'), json_extract(c.value, '$.clause'), r.id
    FROM records r, json_each(r.json, '$.clauses') c;
INSERT OR IGNORE INTO record_hs (clause, record_id)
    SELECT json_extract(h.value, '$.clause'), r.id
    FROM records r, json_each(r.json, '$.hs') h;
";

/// Source hashes: what lets an import recognise an unchanged source row before mapping it.
///
/// `records.source_hash` is the hash of the source row (its cells and the mapping context of
/// its sheet) that the record's current content was mapped from. It is NULL for records
/// written without one (other connectors, rows that had warnings, which must be mapped, and
/// so warned about, on every import): those are always mapped in full. Old records start
/// NULL and get theirs on their next import.
///
/// `source_fingerprints` keeps, per system and sheet, the first 8 bytes of the source hash
/// of every row the last import stored with one, packed in chunks (written as they fill, so
/// that an import need not hold them all). Loaded when the sheet is imported
/// again, it tells the mapping stage which rows are probably unchanged; each is confirmed
/// against `records.source_hash` before it counts as unchanged, so a stale or colliding
/// fingerprint costs a mapping, never a wrong result. One blob per sheet, not a column index:
/// an index on a random hash would cost every first import a random B-tree insert per row.
const V4_SOURCE_HASHES: &str = "
ALTER TABLE records ADD COLUMN source_hash BLOB;

CREATE TABLE source_fingerprints (
    system       TEXT NOT NULL,
    source       TEXT NOT NULL,
    chunk        INTEGER NOT NULL,
    fingerprints BLOB NOT NULL,
    written_at   TEXT NOT NULL,
    PRIMARY KEY (system, source, chunk)
);
";

/// Brings the store up to `target` (normally [`SCHEMA_VERSION`]); does nothing when it is
/// there already. Returns the version the store is at afterwards.
pub(crate) fn migrate(conn: &mut Connection, ctx: &Ctx, target: u32) -> Result<u32, StoreError> {
    let current = check_identity(conn, ctx)?;
    if current >= target {
        // Also the common case: no write transaction, so opening a store that another
        // process is importing into does not wait for it.
        return Ok(current);
    }
    // IMMEDIATE takes the write lock up front; two processes opening a new store at once
    // then migrate one after the other instead of failing.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| ctx.sql(e))?;
    // Read again under the lock: the other process may have migrated meanwhile.
    let current = check_identity(&tx, ctx)?;
    if current >= target {
        return Ok(current);
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let version = index as u32 + 1;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration {
                path: ctx.path.clone(),
                version,
                source,
            })?;
        tracing::debug!(store = %ctx.path.display(), version, "migrated store schema");
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(|e| ctx.sql(e))?;
    tx.pragma_update(None, "user_version", target)
        .map_err(|e| ctx.sql(e))?;
    tx.commit().map_err(|e| ctx.sql(e))?;
    Ok(target)
}

/// Reads the schema version, refusing files that are not imsbridge stores or are newer than
/// this build. This is also the first read of the file, so a text file fails here, before
/// anything is written to it.
pub(crate) fn check_identity(conn: &Connection, ctx: &Ctx) -> Result<u32, StoreError> {
    // One statement, so one snapshot: read separately, the three could straddle another
    // process's migration and make a store it is creating look like a foreign database.
    let (app_id, version, objects): (i32, u32, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_schema)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| ctx.sql(e))?;
    // A new, empty file is ours to set up; one with tables of its own, or marked by another
    // application, is not.
    if app_id != APPLICATION_ID && (app_id != 0 || version != 0 || objects > 0) {
        return Err(StoreError::NotAStore {
            path: ctx.path.clone(),
            reason: "it is a SQLite database of another application",
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: ctx.path.clone(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}
