use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imsbridge_model::{Record, RecordId, RecordKind, StandardId};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Row, params_from_iter};

use crate::codec::{count_from_sql, decode_json, decode_record, parse_timestamp, record_id};
use crate::error::{Ctx, StoreError};
use crate::import::ImportRun;
use crate::schema::{self, SCHEMA_VERSION};

/// How long a write waits for another process's transaction before giving up with
/// [`StoreError::Locked`]. An import holds the write lock until it commits, so a second
/// import waits this long and then says the store is locked, rather than hang.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite's page cache per connection, in KiB. The default (2 MiB) is far smaller than the id
/// index of a large store, and every upsert looks an id up at a random place in it.
const CACHE_KIB: i64 = 16 * 1024;

/// The page size of new stores; see `Store::init` for why.
const PAGE_SIZE: u32 = 8192;

/// Reads go through the page cache above, not a memory map: mapped pages count towards the
/// process's resident memory, and a large import must stay within a fixed memory budget
/// however large the store grows. (Mapping measured no faster on imports.)
const MMAP_BYTES: i64 = 0;

/// After a large import has been checkpointed, the WAL file is cut back to this size rather
/// than left at the size of the import.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The imsbridge store: one SQLite file holding the unified records, their history and the
/// import runs. All SQL of imsbridge lives in this crate.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) ctx: Ctx,
}

/// Which records to read. Every field that is set must match; the default reads all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    pub kind: Option<RecordKind>,
    /// Records that reference any clause of this standard (with `clause`: that clause).
    pub standard: Option<StandardId>,
    /// Records that reference this clause number or a sub-clause of it: `6.1` matches `6.1`
    /// and `6.1.2` but not `6.10`; `A.5` matches `A.5.7`. Of `standard` when it is set,
    /// otherwise of any standard.
    pub clause: Option<String>,
    /// Records linked to this Harmonized Structure clause or a sub-clause of it.
    pub hs_clause: Option<String>,
    /// Only records flagged as concerning AI.
    pub ai_only: bool,
    /// Only records of this source system.
    pub system: Option<String>,
}

/// A previous version of a record, kept when an import changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVersion {
    pub version: u64,
    pub content_hash: String,
    /// When this version was written (the `imported_at` of the import that wrote it).
    pub written_at: chrono::DateTime<chrono::Utc>,
    /// When the next version replaced it (that version's `imported_at`).
    pub superseded_at: chrono::DateTime<chrono::Utc>,
    /// The import run that wrote this version.
    pub run_id: Option<i64>,
    /// The import run that replaced it.
    pub superseded_by_run_id: Option<i64>,
    pub record: Record,
}

impl Store {
    /// Opens the store at `path`, creating it when the file does not exist, and upgrades its
    /// schema when it was written by an older imsbridge.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if path.is_dir() {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "it is a directory",
            });
        }
        let ctx = Ctx {
            path: path.to_path_buf(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        // No URI flag: a store path is a path, even when it starts with "file:".
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| ctx.sql(e))?;
        Store::init(conn, ctx, true)
    }

    /// A store that lives in memory and is gone when dropped: for tests and dry runs that
    /// need no file.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let ctx = Ctx {
            path: PathBuf::from(":memory:"),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        let conn = Connection::open_in_memory().map_err(|e| ctx.sql(e))?;
        Store::init(conn, ctx, false)
    }

    fn init(mut conn: Connection, ctx: Ctx, file: bool) -> Result<Store, StoreError> {
        conn.busy_timeout(ctx.busy_timeout)
            .map_err(|e| ctx.sql(e))?;
        // Identify the file before any pragma writes to it: switching a text file or another
        // application's database to WAL would change a file that is not ours.
        let version = schema::check_identity(&conn, &ctx)?;
        if version == 0 {
            // Only a new file takes a page size (under WAL it is fixed from then on).
            // Records are around 1 KiB: a 4 KiB page holds three and wastes a fifth of
            // itself; 8 KiB pages make the store smaller and imports faster (about 20% at a
            // million records), while 16 KiB pages slow the lookups down again.
            conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};"))
                .map_err(|e| ctx.sql(e))?;
        }
        if file {
            let mode = enable_wal(&conn, &ctx)?;
            if !mode.eq_ignore_ascii_case("wal") {
                // Some network file systems cannot share WAL memory; the store still works,
                // only readers then wait for writers.
                tracing::warn!(store = %ctx.path.display(), mode, "store is not in WAL mode");
            }
        }
        // NORMAL is durable under WAL except for the last transactions on power loss, and
        // saves an fsync per commit. MEMORY keeps sorts for ORDER BY off the disk. Mapping
        // the file spares a system call and a copy per page read, which is most of the cost
        // of the lookup every upsert makes.
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -{CACHE_KIB};
             PRAGMA mmap_size = {MMAP_BYTES};
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))
        .map_err(|e| ctx.sql(e))?;
        // Room for the upsert statements, the filter variants and whatever later modules
        // prepare, so the hot statements are never evicted.
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn, &ctx, SCHEMA_VERSION)?;
        Ok(Store { conn, ctx })
    }

    /// The store's file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }

    /// The schema version of the store; after a successful open, [`SCHEMA_VERSION`].
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.ctx.sql(e))
    }

    /// How long writes wait for another process's transaction (default
    /// [`DEFAULT_BUSY_TIMEOUT`]).
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| self.ctx.sql(e))?;
        self.ctx.busy_timeout = timeout;
        Ok(())
    }

    /// One record by id.
    pub fn record(&self, id: RecordId) -> Result<Option<Record>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT json FROM records WHERE id = ?1")
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt.query([id.0.as_bytes()]).map_err(|e| self.ctx.sql(e))?;
        match rows.next().map_err(|e| self.ctx.sql(e))? {
            Some(row) => {
                let json = json_text(&self.ctx, id, row.get_ref(0))?;
                decode_record(&self.ctx, id, json).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The records matching `filter`, ordered by kind (by its name: `ai_system` first),
    /// system and external id.
    pub fn records(&self, filter: &RecordFilter) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.for_each_record(filter, |r| {
            out.push(r);
            Ok::<(), StoreError>(())
        })?;
        Ok(out)
    }

    /// Streams the records matching `filter`, in the order of [`Store::records`], to `f`
    /// without holding them all in memory. An error from `f` stops the walk and is returned.
    pub fn for_each_record<E, F>(&self, filter: &RecordFilter, mut f: F) -> Result<(), E>
    where
        F: FnMut(Record) -> Result<(), E>,
        E: From<StoreError>,
    {
        let ctx = &self.ctx;
        self.for_each_row(filter, |id, json| f(decode_record(ctx, id, json)?))
    }

    /// Each row's id and JSON text, as the filter selects them.
    fn for_each_row<E, F>(&self, filter: &RecordFilter, mut f: F) -> Result<(), E>
    where
        F: FnMut(RecordId, &str) -> Result<(), E>,
        E: From<StoreError>,
    {
        let ctx = &self.ctx;
        let (sql, params) = filter_sql(filter);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| ctx.sql(e))?;
        let mut rows = stmt
            .query(params_from_iter(params.iter()))
            .map_err(|e| ctx.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| ctx.sql(e))? {
            let id = id_column(ctx, row)?;
            f(id, json_text(ctx, id, row.get_ref(1))?)?;
        }
        Ok(())
    }

    /// As [`Store::for_each_record`], handing over each record undecoded, so that the caller
    /// can decode it on another thread ([`StoredRecord::decode`]) while this one reads on:
    /// decoding is most of the cost of a full read.
    pub fn for_each_stored_record<E, F>(&self, filter: &RecordFilter, mut f: F) -> Result<(), E>
    where
        F: FnMut(StoredRecord) -> Result<(), E>,
        E: From<StoreError>,
    {
        let path: Arc<Path> = Arc::from(self.ctx.path.as_path());
        self.for_each_row(filter, |id, json| {
            f(StoredRecord {
                id,
                json: json.to_owned(),
                store: Arc::clone(&path),
            })
        })
    }

    /// The previous versions of a record, oldest first (the current one is
    /// [`Store::record`]).
    pub fn record_versions(&self, id: RecordId) -> Result<Vec<RecordVersion>, StoreError> {
        let ctx = &self.ctx;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT version, content_hash, written_at, superseded_at, run_id,
                        superseded_by_run_id, json
                 FROM record_versions WHERE record_id = ?1 ORDER BY version",
            )
            .map_err(|e| ctx.sql(e))?;
        let mut rows = stmt.query([id.0.as_bytes()]).map_err(|e| ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| ctx.sql(e))? {
            let version = count_from_sql(row.get(0).map_err(|e| ctx.sql(e))?);
            let what = || format!("version {version} of record {id}");
            let written_at: String = row.get(2).map_err(|e| ctx.sql(e))?;
            let superseded_at: String = row.get(3).map_err(|e| ctx.sql(e))?;
            let json = json_text(ctx, id, row.get_ref(6))?;
            let record = decode_record(ctx, id, json)
                .map_err(|e| ctx.bad_record(id, format!("version {version}: {e}")))?;
            out.push(RecordVersion {
                version,
                content_hash: row.get(1).map_err(|e| ctx.sql(e))?,
                written_at: parse_timestamp(ctx, what, &written_at)?,
                superseded_at: parse_timestamp(ctx, what, &superseded_at)?,
                run_id: row.get(4).map_err(|e| ctx.sql(e))?,
                superseded_by_run_id: row.get(5).map_err(|e| ctx.sql(e))?,
                record,
            });
        }
        Ok(out)
    }

    /// How many records there are of each kind; kinds without records are left out.
    pub fn count_by_kind(&self) -> Result<BTreeMap<RecordKind, u64>, StoreError> {
        let ctx = &self.ctx;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, count(*) FROM records GROUP BY kind")
            .map_err(|e| ctx.sql(e))?;
        let mut rows = stmt.query([]).map_err(|e| ctx.sql(e))?;
        let mut out = BTreeMap::new();
        while let Some(row) = rows.next().map_err(|e| ctx.sql(e))? {
            let name: String = row.get(0).map_err(|e| ctx.sql(e))?;
            let kind = RecordKind::from_str(&name)
                .map_err(|_| ctx.corrupt(format!("records of unknown kind '{name}'")))?;
            out.insert(kind, count_from_sql(row.get(1).map_err(|e| ctx.sql(e))?));
        }
        Ok(out)
    }

    /// The number of records.
    pub fn record_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .map(count_from_sql)
            .map_err(|e| self.ctx.sql(e))
    }

    /// The latest `limit` import runs, newest first, dry runs included.
    pub fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>, StoreError> {
        let ctx = &self.ctx;
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM import_runs ORDER BY id DESC LIMIT ?1",
                ImportRun::COLUMNS
            ))
            .map_err(|e| ctx.sql(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit]).map_err(|e| ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| ctx.sql(e))? {
            out.push(ImportRun::from_row(ctx, row)?);
        }
        Ok(out)
    }

    /// One import run by id.
    pub fn import_run(&self, id: i64) -> Result<Option<ImportRun>, StoreError> {
        let ctx = &self.ctx;
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM import_runs WHERE id = ?1",
                ImportRun::COLUMNS
            ))
            .map_err(|e| ctx.sql(e))?;
        let mut rows = stmt.query([id]).map_err(|e| ctx.sql(e))?;
        match rows.next().map_err(|e| ctx.sql(e))? {
            Some(row) => ImportRun::from_row(ctx, row).map(Some),
            None => Ok(None),
        }
    }
}

/// Switches the file to WAL (a no-op once it is). The switch needs the file to itself, and
/// SQLite reports "busy" at once instead of calling the busy handler, which happens when
/// several processes open a new store together; so wait here, within the busy timeout.
fn enable_wal(conn: &Connection, ctx: &Ctx) -> Result<String, StoreError> {
    let deadline = Instant::now() + ctx.busy_timeout;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(ctx.sql(e)),
        }
    }
}

/// A record read from the store and not decoded yet ([`Store::for_each_stored_record`]).
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: RecordId,
    json: String,
    store: Arc<Path>,
}

impl StoredRecord {
    /// Decodes the record; a row that does not decode is reported with the store and the id.
    pub fn decode(&self) -> Result<Record, StoreError> {
        decode_json(self.id, &self.json).map_err(|reason| StoreError::BadRecord {
            path: self.store.to_path_buf(),
            id: self.id.to_string(),
            reason,
        })
    }
}

fn id_column(ctx: &Ctx, row: &Row<'_>) -> Result<RecordId, StoreError> {
    match row.get_ref(0).map_err(|e| ctx.sql(e))? {
        ValueRef::Blob(b) => record_id(ctx, b),
        other => Err(ctx.corrupt(format!(
            "a record id is stored as {:?}, not as 16 bytes",
            other.data_type()
        ))),
    }
}

fn json_text<'r>(
    ctx: &Ctx,
    id: RecordId,
    value: rusqlite::Result<ValueRef<'r>>,
) -> Result<&'r str, StoreError> {
    value
        .map_err(|e| ctx.sql(e))?
        .as_str()
        .map_err(|e| ctx.bad_record(id, format!("its JSON is not text: {e}")))
}

/// Builds the listing query.
///
/// A clause and its sub-clauses are one range of the clause text, `x <= c < x/`: '/' follows
/// '.' in ASCII and precedes the digits, so `6.1` takes in `6.1` and `6.1.2` but not `6.10`
/// (as a LIKE prefix would), and the range is a seek in the clause key.
///
/// The order ends in rowid, not id: every index ends in the rowid, so an index on the leading
/// columns delivers the rows already sorted.
pub(crate) fn filter_sql(filter: &RecordFilter) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT r.id, r.json FROM records r WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    if let Some(kind) = filter.kind {
        let n = bind(&mut params, Value::Text(kind.as_str().to_string()));
        sql.push_str(&format!(" AND r.kind = ?{n}"));
    }
    if let Some(system) = &filter.system {
        let n = bind(&mut params, Value::Text(system.clone()));
        sql.push_str(&format!(" AND r.system = ?{n}"));
    }
    if filter.ai_only {
        sql.push_str(" AND r.ai = 1");
    }
    if filter.standard.is_some() || filter.clause.is_some() {
        sql.push_str(" AND r.id IN (SELECT c.record_id FROM record_clauses c WHERE 1 = 1");
        match filter.standard {
            Some(standard) => {
                let n = bind(&mut params, Value::Text(standard.key().to_string()));
                sql.push_str(&format!(" AND c.standard = ?{n}"));
            }
            // The rows are keyed by standard first; naming every standard lets a clause
            // filter seek in each instead of scanning them all.
            None => {
                let keys: Vec<String> = StandardId::ALL
                    .iter()
                    .map(|s| format!("'{}'", s.key()))
                    .collect();
                sql.push_str(&format!(" AND c.standard IN ({})", keys.join(", ")));
            }
        }
        if let Some(clause) = &filter.clause {
            sql.push_str(&clause_match("c.clause", clause, &mut params));
        }
        sql.push(')');
    }
    if let Some(clause) = &filter.hs_clause {
        sql.push_str(" AND r.id IN (SELECT h.record_id FROM record_hs h WHERE 1 = 1");
        sql.push_str(&clause_match("h.clause", clause, &mut params));
        sql.push(')');
    }
    sql.push_str(" ORDER BY r.kind, r.system, r.external_id, r.rowid");
    (sql, params)
}

fn clause_match(column: &str, clause: &str, params: &mut Vec<Value>) -> String {
    let clause = clause.trim();
    let low = bind(params, Value::Text(clause.to_string()));
    let high = bind(params, Value::Text(format!("{clause}/")));
    format!(" AND {column} >= ?{low} AND {column} < ?{high}")
}

/// Adds a parameter and returns its number for `?N`.
fn bind(params: &mut Vec<Value>, value: Value) -> usize {
    params.push(value);
    params.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_query_binds_every_filter() {
        let filter = RecordFilter {
            kind: Some(RecordKind::Risk),
            standard: Some(StandardId::Iso27001),
            clause: Some("A.5".into()),
            hs_clause: Some("6.1".into()),
            ai_only: true,
            system: Some("erm".into()),
        };
        let (sql, params) = filter_sql(&filter);
        assert_eq!(params.len(), 7);
        assert!(sql.contains("r.ai = 1"));
        assert!(sql.contains("?7"));
        let store = Store::open_in_memory().unwrap();
        // The statement must prepare against the real schema.
        store.conn.prepare(&sql).unwrap();
    }
}
