//! Import transactions: one per imported file, so a file is either imported whole or not at
//! all, and one commit (one fsync) pays for all its rows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use imsbridge_model::{Record, RecordId, RecordKind};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{
    CachedStatement, Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use crate::codec::{count_from_sql, count_to_sql, parse_timestamp, timestamp};
use crate::error::{Ctx, StoreError};
use crate::store::Store;

/// What an import run is, recorded when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRunStart {
    /// The file path or API address read.
    pub source: String,
    pub system: String,
    pub connector: String,
    /// The kind the source holds, when it holds one kind.
    pub kind: Option<RecordKind>,
    pub started_at: DateTime<Utc>,
    /// Compute the outcomes without writing any record; see [`Store::begin_import`].
    pub dry_run: bool,
}

impl ImportRunStart {
    /// A run of `source` starting now, of no particular kind, not a dry run.
    pub fn new(
        source: impl Into<String>,
        system: impl Into<String>,
        connector: impl Into<String>,
    ) -> ImportRunStart {
        ImportRunStart {
            source: source.into(),
            system: system.into(),
            connector: connector.into(),
            kind: None,
            started_at: Utc::now(),
            dry_run: false,
        }
    }
}

/// What the importer knows at the end of a run and the store does not: the store counts the
/// inserted, updated and unchanged records itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRunSummary {
    /// Rows that could not be mapped to a record.
    pub rejected: u64,
    pub warnings: u64,
    /// Where the rejected rows were written, if anywhere.
    pub rejects_file: Option<String>,
}

/// What [`ImportTx::upsert`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpsertOutcome {
    Inserted,
    /// Its content changed: the previous version was kept and the version number bumped.
    Updated,
    /// Same content hash as stored: nothing was written.
    Unchanged,
}

/// The hash of a source row and of the mapping context of its sheet: whenever it is the same,
/// so is the record mapped from the row (see the spreadsheet connector's source keys).
pub type SourceHash = [u8; 16];

/// A record ready to be stored, its JSON serialised by the caller: an importer encodes on
/// its mapping thread, so that the single thread writing to SQLite does not also serialise.
#[derive(Debug, Clone)]
pub struct EncodedRecord {
    record: Box<Record>,
    json: String,
    source_hash: Option<SourceHash>,
}

impl EncodedRecord {
    /// Seals the record when it has no content hash yet and serialises it. `source_hash` is
    /// the hash of the source row the record was mapped from, when the same row must always
    /// map to the same record (a row with warnings must not have one: it is mapped, and its
    /// warnings reported, on every import).
    pub fn new(
        mut record: Box<Record>,
        source_hash: Option<SourceHash>,
    ) -> Result<EncodedRecord, StoreError> {
        if record.provenance.content_hash.is_empty() {
            record.seal();
        }
        // Sized for a typical record at once: grown from serde_json's default, the buffer
        // would be reallocated and copied four times per record.
        let mut json = Vec::with_capacity(JSON_CAPACITY);
        serde_json::to_writer(&mut json, &*record).map_err(|source| StoreError::Encode {
            id: record.id.to_string(),
            source,
        })?;
        // serde_json writes UTF-8 only, so this never fails; were it to, say so.
        let json = String::from_utf8(json).map_err(|e| StoreError::Encode {
            id: record.id.to_string(),
            source: serde::ser::Error::custom(e),
        })?;
        Ok(EncodedRecord {
            record,
            json,
            source_hash,
        })
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    pub fn source_hash(&self) -> Option<&SourceHash> {
        self.source_hash.as_ref()
    }
}

/// What a record's JSON usually fits in (most are around 1 KiB).
const JSON_CAPACITY: usize = 1536;

/// The first 8 bytes of a source hash: enough to tell rows apart in a sheet (a collision
/// costs a mapping, since a match is always confirmed against the full hash).
fn fingerprint(hash: &SourceHash) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

/// The source rows a sheet's last import stored, as fingerprints: which rows of the sheet
/// are probably unchanged, before they are mapped. See [`ImportTx::known_sources`].
#[derive(Debug, Clone, Default)]
pub struct KnownSources {
    sorted: Vec<u64>,
    /// Where the fingerprints with each value of the top [`DIRECTORY_BITS`] bits start in
    /// `sorted` (one more entry for the end). Fingerprints are uniform, so a look-up searches
    /// a handful of neighbours instead of the whole array: a plain binary search of a
    /// million fingerprints misses the cache at most of its twenty steps.
    directory: Vec<u32>,
}

const DIRECTORY_BITS: u32 = 16;

impl KnownSources {
    fn new(mut sorted: Vec<u64>) -> KnownSources {
        sorted.sort_unstable();
        sorted.dedup();
        let buckets = 1usize << DIRECTORY_BITS;
        let mut directory = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for bucket in 0..buckets as u64 {
            while sorted
                .get(at)
                .is_some_and(|f| f >> (64 - DIRECTORY_BITS) < bucket)
            {
                at += 1;
            }
            directory.push(u32::try_from(at).unwrap_or(u32::MAX));
        }
        directory.push(u32::try_from(sorted.len()).unwrap_or(u32::MAX));
        KnownSources { sorted, directory }
    }

    /// Whether a row with this source hash was probably stored by the last import;
    /// [`ImportTx::confirm_unchanged`] says for certain.
    pub fn contains(&self, hash: &SourceHash) -> bool {
        let fingerprint = fingerprint(hash);
        let bucket = (fingerprint >> (64 - DIRECTORY_BITS)) as usize;
        let (Some(&start), Some(&end)) =
            (self.directory.get(bucket), self.directory.get(bucket + 1))
        else {
            return false;
        };
        self.sorted
            .get(start as usize..end as usize)
            .is_some_and(|near| near.binary_search(&fingerprint).is_ok())
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
}

/// The source hashes of the rows an import of one sheet stores, on their way to the store
/// (see [`ImportTx::keep_source`]). Written in chunks of [`CHUNK_ROWS`] as they fill, so
/// that a sheet of a million rows does not hold 8 MB more for its whole import.
#[derive(Debug, Clone)]
pub struct SourceCollector {
    system: String,
    source: String,
    /// The chunk being filled, packed as stored (8 bytes a row).
    packed: Vec<u8>,
    /// Chunks written so far; the sheet's old ones are deleted before the first.
    chunks: i64,
    rows: u64,
}

/// Fingerprints per stored chunk (512 KiB).
const CHUNK_ROWS: usize = if cfg!(test) { 4 } else { 1 << 16 };

impl SourceCollector {
    /// Collects for `source` (a sheet: "file!sheet") of `system`.
    pub fn new(system: impl Into<String>, source: impl Into<String>) -> SourceCollector {
        SourceCollector {
            system: system.into(),
            source: source.into(),
            packed: Vec::new(),
            chunks: 0,
            rows: 0,
        }
    }

    /// Rows collected so far.
    pub fn len(&self) -> u64 {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

/// The outcomes of a run so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ImportCounts {
    fn add(&mut self, outcome: UpsertOutcome) {
        match outcome {
            UpsertOutcome::Inserted => self.inserted += 1,
            UpsertOutcome::Updated => self.updated += 1,
            UpsertOutcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// A recorded import run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportRun {
    pub id: i64,
    pub source: String,
    pub system: String,
    pub connector: String,
    pub kind: Option<RecordKind>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub warnings: u64,
    pub rejects_file: Option<String>,
    /// A dry run: the counts are what the run would have done; no record was written.
    pub dry_run: bool,
}

impl ImportRun {
    pub(crate) const COLUMNS: &str = "id, source, system, connector, kind, started_at, \
        finished_at, inserted, updated, unchanged, rejected, warnings, rejects_file, dry_run";

    pub(crate) fn from_row(ctx: &Ctx, row: &Row<'_>) -> Result<ImportRun, StoreError> {
        let get_err = |e| ctx.sql(e);
        let id: i64 = row.get(0).map_err(get_err)?;
        let what = || format!("import run {id}");
        let kind: Option<String> = row.get(4).map_err(get_err)?;
        let kind = kind
            .map(|k| {
                RecordKind::from_str(&k)
                    .map_err(|_| ctx.corrupt(format!("import run {id} has unknown kind '{k}'")))
            })
            .transpose()?;
        let started_at: String = row.get(5).map_err(get_err)?;
        let finished_at: Option<String> = row.get(6).map_err(get_err)?;
        let count = |i: usize| row.get::<_, i64>(i).map(count_from_sql).map_err(get_err);
        Ok(ImportRun {
            id,
            source: row.get(1).map_err(get_err)?,
            system: row.get(2).map_err(get_err)?,
            connector: row.get(3).map_err(get_err)?,
            kind,
            started_at: parse_timestamp(ctx, what, &started_at)?,
            finished_at: finished_at
                .map(|t| parse_timestamp(ctx, what, &t))
                .transpose()?,
            inserted: count(7)?,
            updated: count(8)?,
            unchanged: count(9)?,
            rejected: count(10)?,
            warnings: count(11)?,
            rejects_file: row.get(12).map_err(get_err)?,
            dry_run: row.get(13).map_err(get_err)?,
        })
    }
}

/// An import in progress: a write transaction (or, for a dry run, a read snapshot) that
/// [`ImportTx::commit`] ends. Dropped without commit, it rolls back and the store is exactly
/// as before.
pub struct ImportTx<'a> {
    pub(crate) conn: &'a Connection,
    ctx: &'a Ctx,
    lookup: CachedStatement<'a>,
    insert: CachedStatement<'a>,
    confirm: CachedStatement<'a>,
    /// `None` once committed or rolled back.
    tx: Option<Transaction<'a>>,
    mode: Mode,
    counts: ImportCounts,
    /// Set by the first error: SQLite may have rolled the transaction back already, and a
    /// half-applied upsert must not be committed, so the run can only be dropped.
    poisoned: bool,
    /// The last `imported_at` and its text: connectors stamp a whole run with one time, so
    /// this saves formatting it per row.
    stamp: Option<(DateTime<Utc>, String)>,
    pending: PendingRows,
}

/// The filter rows of records written in this run, not yet in their tables.
///
/// Filter rows are keyed by clause first, so rows of consecutive records land at random
/// places in their B-trees; inserted one by one that costs several times what inserting the
/// same rows in key order does. They are collected and written sorted, in batches of
/// [`FLUSH_ROWS`], and always before commit and before an update deletes rows. The fewer the
/// batches, the fewer times each page of the tables is rewritten, so rows are kept small
/// (20 bytes): a register names few distinct clauses, and rows refer to them by number.
#[derive(Debug, Default)]
struct PendingRows {
    /// "standard\0clause": the `\0` sorts before any other character, so these texts sort
    /// as the (standard, clause) keys of the table do.
    clause_keys: Interner,
    clauses: Vec<(u32, RecordId)>,
    hs_keys: Interner,
    hs: Vec<(u32, RecordId)>,
    /// Reused to build a clause key without allocating.
    scratch: String,
}

/// Texts kept once, numbered in the order they were first seen.
#[derive(Debug, Default)]
struct Interner {
    texts: Vec<String>,
    numbers: HashMap<String, u32>,
}

impl Interner {
    fn number(&mut self, text: &str) -> u32 {
        if let Some(&n) = self.numbers.get(text) {
            return n;
        }
        // More distinct clauses than u32 holds cannot occur; were they to, rows would only
        // share a key and be written under the last text.
        let n = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.push(text.to_owned());
        self.numbers.insert(text.to_owned(), n);
        n
    }

    fn text(&self, n: u32) -> &str {
        self.texts.get(n as usize).map_or("", String::as_str)
    }

    /// Each number's place in the sort order of the texts.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.texts.len())
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .collect();
        order.sort_unstable_by(|a, b| self.text(*a).cmp(self.text(*b)));
        let mut ranks = vec![0; order.len()];
        for (rank, n) in order.into_iter().enumerate() {
            if let Some(slot) = ranks.get_mut(n as usize) {
                *slot = u32::try_from(rank).unwrap_or(u32::MAX);
            }
        }
        ranks
    }
}

/// The lookup every upsert of an existing record makes. The source hash is compared too, so
/// that an unchanged record whose source row now hashes differently (a store from before
/// source hashes, or new mapping files that map the row the same) has it refreshed.
pub(crate) const LOOKUP_SQL: &str =
    "SELECT rowid, content_hash = ?2, source_hash IS ?3 FROM records WHERE id = ?1";

/// Inserts a record unless its id is stored already (then the upsert looks it up).
pub(crate) const INSERT_SQL: &str = "
    INSERT INTO records (id, kind, system, external_id, content_hash, version, ai, title, json,
        first_imported_at, updated_at, last_run_id, source_hash)
    VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?9, ?10, ?11)
    ON CONFLICT (id) DO NOTHING";

/// Whether a record's current content was mapped from the source row with this hash.
pub(crate) const CONFIRM_SQL: &str = "SELECT 1 FROM records WHERE id = ?1 AND source_hash = ?2";

/// Delete a changed record's filter rows by the keys its stored JSON names (the tables are
/// keyed by clause, not by record).
pub(crate) const DELETE_CLAUSES_SQL: &str = "
    DELETE FROM record_clauses WHERE (standard, clause, record_id) IN (
        SELECT json_extract(c.value, '$.standard'), json_extract(c.value, '$.clause'), r.id
        FROM records r, json_each(r.json, '$.clauses') c WHERE r.rowid = ?1)";
pub(crate) const DELETE_HS_SQL: &str = "
    DELETE FROM record_hs WHERE (clause, record_id) IN (
        SELECT json_extract(h.value, '$.clause'), r.id
        FROM records r, json_each(r.json, '$.hs') h WHERE r.rowid = ?1)";

/// Small in unit tests, so that batching is exercised without building 100k records. 5 MiB of
/// queued rows otherwise.
pub(crate) const FLUSH_ROWS: usize = if cfg!(test) { 1 << 10 } else { 1 << 18 };

enum Mode {
    Write {
        run_id: i64,
    },
    /// The run row is written only at commit; `seen` holds the hash each record would have
    /// after this run, so a record that occurs twice counts as it would in a real run.
    DryRun {
        start: ImportRunStart,
        seen: HashMap<RecordId, String>,
    },
}

impl fmt::Debug for ImportTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportTx")
            .field("store", &self.ctx.path)
            .field("run_id", &self.run_id())
            .field("dry_run", &matches!(self.mode, Mode::DryRun { .. }))
            .field("counts", &self.counts)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl Store {
    /// Starts an import run.
    ///
    /// A real run takes the store's write lock now (waiting up to the busy timeout for
    /// another process's import) and records the run, so records can name it.
    ///
    /// A dry run (`run.dry_run`) only reads: upserts report what they would do and write
    /// nothing, and [`ImportTx::commit`] records just the run, flagged as a dry run, with
    /// those counts. [`ImportTx::rollback`] ends either kind without a trace.
    pub fn begin_import(&mut self, run: &ImportRunStart) -> Result<ImportTx<'_>, StoreError> {
        let Store { conn, ctx } = self;
        let conn: &Connection = conn;
        let ctx: &Ctx = ctx;
        let (tx, mode) = if run.dry_run {
            // DEFERRED: a read snapshot, no write lock, so a dry run never waits for or
            // blocks an import.
            let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)
                .map_err(|e| ctx.sql(e))?;
            let mode = Mode::DryRun {
                start: run.clone(),
                seen: HashMap::new(),
            };
            (tx, mode)
        } else {
            // IMMEDIATE: take the write lock now, where the busy timeout applies, rather
            // than at the first insert, where a WAL snapshot that went stale would fail at
            // once.
            let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
                .map_err(|e| ctx.sql(e))?;
            let run_id = insert_run(&tx, run, None, &ImportCounts::default(), None)
                .map_err(|e| ctx.sql(e))?;
            (tx, Mode::Write { run_id })
        };
        // Taken from the cache once for the whole run rather than per record: every upsert
        // runs it, and a cache lookup (hashing and copying the SQL) is a tenth of its cost.
        // Comparing the hash in SQL returns one integer instead of copying the stored hash.
        let lookup = conn.prepare_cached(LOOKUP_SQL).map_err(|e| ctx.sql(e))?;
        let insert = conn.prepare_cached(INSERT_SQL).map_err(|e| ctx.sql(e))?;
        let confirm = conn.prepare_cached(CONFIRM_SQL).map_err(|e| ctx.sql(e))?;
        Ok(ImportTx {
            conn,
            ctx,
            lookup,
            insert,
            confirm,
            tx: Some(tx),
            mode,
            counts: ImportCounts::default(),
            poisoned: false,
            stamp: None,
            pending: PendingRows::default(),
        })
    }
}

impl ImportTx<'_> {
    /// Inserts a new record, updates a changed one (keeping its previous version in the
    /// history and bumping its version), or does nothing when its content hash is the stored
    /// one. Writes no row at all for an unchanged record.
    ///
    /// The record's `provenance.content_hash` is trusted; a record without one is sealed
    /// here first. After an error the run can only be dropped (see
    /// [`StoreError::ImportAborted`]).
    pub fn upsert(&mut self, record: &Record) -> Result<UpsertOutcome, StoreError> {
        if self.poisoned || self.tx.is_none() {
            return Err(StoreError::ImportAborted {
                path: self.ctx.path.clone(),
            });
        }
        let record = if record.provenance.content_hash.is_empty() {
            let mut sealed = record.clone();
            sealed.seal();
            Cow::Owned(sealed)
        } else {
            Cow::Borrowed(record)
        };
        let result = match self.mode {
            Mode::Write { run_id } => self.write(&record, None, run_id),
            Mode::DryRun { .. } => self.dry(&record),
        };
        self.count(result)
    }

    /// [`ImportTx::upsert`] for a record serialised beforehand, which also stores the hash of
    /// the source row it was mapped from (or clears it, for a record without one). Tries the
    /// insert first: most records an importer encodes are new, and this spares them the
    /// lookup.
    pub fn upsert_encoded(&mut self, encoded: &EncodedRecord) -> Result<UpsertOutcome, StoreError> {
        if self.poisoned || self.tx.is_none() {
            return Err(StoreError::ImportAborted {
                path: self.ctx.path.clone(),
            });
        }
        let record = &*encoded.record;
        let result = match self.mode {
            Mode::Write { run_id } => self.write(
                record,
                Some((encoded.json.as_str(), encoded.source_hash.as_ref())),
                run_id,
            ),
            Mode::DryRun { .. } => self.dry(record),
        };
        self.count(result)
    }

    /// Whether the stored record `id` was mapped from a source row with this hash, which
    /// makes it unchanged without mapping the row again; then it is counted as unchanged and
    /// nothing is written. `false` means the row must be mapped and upserted as usual.
    pub fn confirm_unchanged(
        &mut self,
        id: RecordId,
        source_hash: &SourceHash,
    ) -> Result<bool, StoreError> {
        if self.poisoned || self.tx.is_none() {
            return Err(StoreError::ImportAborted {
                path: self.ctx.path.clone(),
            });
        }
        // A dry run has not written what it saw earlier in the run: that record is mapped.
        if let Mode::DryRun { seen, .. } = &self.mode
            && seen.contains_key(&id)
        {
            return Ok(false);
        }
        let found = self
            .confirm
            .query_row(
                params![id.0.as_bytes().as_slice(), source_hash.as_slice()],
                |_| Ok(()),
            )
            .optional();
        match found {
            Ok(Some(())) => {
                self.counts.add(UpsertOutcome::Unchanged);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => {
                self.poisoned = true;
                Err(self.ctx.sql(e))
            }
        }
    }

    /// The fingerprints of the source rows the last import of `source` (a sheet: "file!sheet")
    /// of `system` stored; empty when there was none.
    pub fn known_sources(&self, system: &str, source: &str) -> Result<KnownSources, StoreError> {
        let ctx = self.ctx;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT fingerprints FROM source_fingerprints WHERE system = ?1 AND source = ?2
                 ORDER BY chunk",
            )
            .map_err(|e| ctx.sql(e))?;
        let mut rows = stmt
            .query(params![system, source])
            .map_err(|e| ctx.sql(e))?;
        let mut fingerprints: Vec<u64> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| ctx.sql(e))? {
            let packed = row.get_ref(0).map_err(|e| ctx.sql(e))?;
            let packed = packed
                .as_blob()
                .map_err(|_| ctx.corrupt("source fingerprints are not a blob"))?;
            fingerprints.extend(packed.chunks_exact(8).map(|c| {
                let mut first = [0u8; 8];
                first.copy_from_slice(c);
                u64::from_le_bytes(first)
            }));
        }
        Ok(KnownSources::new(fingerprints))
    }

    /// Adds a stored row's source hash to what [`ImportTx::save_known_sources`] keeps,
    /// writing a chunk when one is full. A dry run writes none.
    pub fn keep_source(
        &mut self,
        rows: &mut SourceCollector,
        hash: &SourceHash,
    ) -> Result<(), StoreError> {
        rows.rows += 1;
        if self.is_dry_run() {
            return Ok(());
        }
        rows.packed.extend_from_slice(&hash[..8]);
        if rows.packed.len() >= CHUNK_ROWS * 8 {
            self.write_sources_chunk(rows)?;
        }
        Ok(())
    }

    /// Replaces the fingerprints the store kept for the collector's sheet with those of the
    /// rows this import stored. A dry run keeps the old ones.
    pub fn save_known_sources(&mut self, rows: &mut SourceCollector) -> Result<(), StoreError> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.write_sources_chunk(rows)
    }

    /// Writes the collected chunk; before the first, deletes the sheet's old chunks.
    fn write_sources_chunk(&mut self, rows: &mut SourceCollector) -> Result<(), StoreError> {
        if self.poisoned || self.tx.is_none() {
            return Err(StoreError::ImportAborted {
                path: self.ctx.path.clone(),
            });
        }
        let conn = self.conn;
        let mut write = || -> rusqlite::Result<()> {
            if rows.chunks == 0 {
                conn.prepare_cached(
                    "DELETE FROM source_fingerprints WHERE system = ?1 AND source = ?2",
                )?
                .execute(params![rows.system, rows.source])?;
            }
            if !rows.packed.is_empty() {
                conn.prepare_cached(
                    "INSERT INTO source_fingerprints
                         (system, source, chunk, fingerprints, written_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    rows.system,
                    rows.source,
                    rows.chunks,
                    rows.packed.as_slice(),
                    timestamp(&Utc::now()),
                ])?;
                rows.packed.clear();
            }
            rows.chunks += 1;
            Ok(())
        };
        match write() {
            Ok(()) => Ok(()),
            Err(e) => {
                self.poisoned = true;
                Err(self.ctx.sql(e))
            }
        }
    }

    fn count(
        &mut self,
        result: Result<UpsertOutcome, StoreError>,
    ) -> Result<UpsertOutcome, StoreError> {
        match result {
            Ok(outcome) => self.counts.add(outcome),
            Err(_) => self.poisoned = true,
        }
        result
    }

    /// The outcomes so far.
    pub fn counts(&self) -> ImportCounts {
        self.counts
    }

    /// The id of this run; `None` for a dry run, which gets one only at commit.
    pub fn run_id(&self) -> Option<i64> {
        match self.mode {
            Mode::Write { run_id } => Some(run_id),
            Mode::DryRun { .. } => None,
        }
    }

    pub fn is_dry_run(&self) -> bool {
        matches!(self.mode, Mode::DryRun { .. })
    }

    /// Records the run's counts and commits everything atomically; returns the run id. A dry
    /// run writes only its run row, flagged as a dry run.
    pub fn commit(mut self, summary: &ImportRunSummary) -> Result<i64, StoreError> {
        let ctx = self.ctx;
        let aborted = || StoreError::ImportAborted {
            path: ctx.path.clone(),
        };
        if self.poisoned || self.tx.is_none() {
            return Err(aborted());
        }
        // The queued filter rows belong to the transaction like everything else.
        if let Err(e) = self.flush_filter_rows() {
            self.poisoned = true;
            return Err(e);
        }
        let tx = self.tx.take().ok_or_else(aborted)?;
        let finished_at = Utc::now();
        let run_id = match &self.mode {
            Mode::Write { run_id } => {
                tx.execute(
                    "UPDATE import_runs SET finished_at = ?2, inserted = ?3, updated = ?4,
                        unchanged = ?5, rejected = ?6, warnings = ?7, rejects_file = ?8
                     WHERE id = ?1",
                    params![
                        run_id,
                        timestamp(&finished_at),
                        count_to_sql(self.counts.inserted),
                        count_to_sql(self.counts.updated),
                        count_to_sql(self.counts.unchanged),
                        count_to_sql(summary.rejected),
                        count_to_sql(summary.warnings),
                        summary.rejects_file,
                    ],
                )
                .map_err(|e| ctx.sql(e))?;
                tx.commit().map_err(|e| ctx.sql(e))?;
                *run_id
            }
            Mode::DryRun { start, .. } => {
                // End the read snapshot first: upgrading it to a write would fail at once
                // if another process wrote since it began.
                tx.rollback().map_err(|e| ctx.sql(e))?;
                let tx = Transaction::new_unchecked(self.conn, TransactionBehavior::Immediate)
                    .map_err(|e| ctx.sql(e))?;
                let id = insert_run(&tx, start, Some(&finished_at), &self.counts, Some(summary))
                    .map_err(|e| ctx.sql(e))?;
                tx.commit().map_err(|e| ctx.sql(e))?;
                id
            }
        };
        // The import may have changed the tables' shape a lot; let SQLite refresh the
        // statistics its query planner uses if it thinks they are stale. Bounded by
        // analysis_limit, so it costs milliseconds even on large stores.
        if let Err(e) = self
            .conn
            .execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")
        {
            tracing::debug!(store = %ctx.path.display(), error = %e, "PRAGMA optimize failed");
        }
        Ok(run_id)
    }

    /// Ends the run without writing anything, not even the run; returns what it would have
    /// done. Dropping the transaction does the same, silently.
    pub fn rollback(mut self) -> Result<ImportCounts, StoreError> {
        if let Some(tx) = self.tx.take() {
            tx.rollback().map_err(|e| self.ctx.sql(e))?;
        }
        Ok(self.counts)
    }

    /// `encoded`: the record's JSON and source hash, when the caller serialised it.
    fn write(
        &mut self,
        record: &Record,
        encoded: Option<(&str, Option<&SourceHash>)>,
        run_id: i64,
    ) -> Result<UpsertOutcome, StoreError> {
        let ctx = self.ctx;
        let conn = self.conn;
        let sql = |e| ctx.sql(e);
        let source = encoded.and_then(|(_, source)| source);
        if let Some((json, _)) = encoded
            && self.insert(record, json, source, run_id)?
        {
            return Ok(UpsertOutcome::Inserted);
        }
        let found = self.look_up(record, source)?;
        let rowid = match found {
            Some((rowid, true, same_source)) => {
                // Same content from another source row (or from before source hashes): the
                // new hash predicts the content as well, and lets the next import skip it.
                if !same_source && source.is_some() {
                    conn.prepare_cached("UPDATE records SET source_hash = ?2 WHERE rowid = ?1")
                        .map_err(sql)?
                        .execute(params![rowid, source.map(|s| s.as_slice())])
                        .map_err(sql)?;
                }
                return Ok(UpsertOutcome::Unchanged);
            }
            Some((rowid, false, _)) => Some(rowid),
            None => None,
        };

        // Serialised once, and only for records that are written.
        let owned;
        let json = match encoded {
            Some((json, _)) => json,
            None => {
                owned = self.json(record, record)?;
                owned.as_str()
            }
        };
        let Some(rowid) = rowid else {
            return if self.insert(record, json, source, run_id)? {
                Ok(UpsertOutcome::Inserted)
            } else {
                Err(ctx.corrupt(format!(
                    "record {} is neither stored nor insertable",
                    record.id
                )))
            };
        };
        let hash = record.provenance.content_hash.as_str();
        let stamp = self.stamp(&record.provenance.imported_at);

        conn.prepare_cached(
            "INSERT INTO record_versions (record_id, version, content_hash, json, written_at,
                 superseded_at, run_id, superseded_by_run_id)
             SELECT id, version, content_hash, json, updated_at, ?2, last_run_id, ?3
             FROM records WHERE rowid = ?1",
        )
        .map_err(sql)?
        .execute(params![rowid, stamp, run_id])
        .map_err(sql)?;

        // Most edits change a title or a status, not the clauses: compare the clause lists
        // as stored JSON and leave the filter rows alone when they are the same. (Texts that
        // differ only in formatting just cost a needless rewrite.)
        let clauses = self.json(record, &record.clauses)?;
        let hs = self.json(record, &record.hs)?;
        let (same_clauses, same_hs): (bool, bool) = conn
            .prepare_cached(
                "SELECT json_extract(json, '$.clauses') IS ?2, json_extract(json, '$.hs') IS ?3
                 FROM records WHERE rowid = ?1",
            )
            .map_err(sql)?
            .query_row(
                params![
                    rowid,
                    (!record.clauses.is_empty()).then_some(&clauses),
                    (!record.hs.is_empty()).then_some(&hs),
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql)?;
        // The old rows are found by the keys the old JSON names, before it is overwritten. If
        // the record was written earlier in this run, those rows may still be queued.
        if !same_clauses || !same_hs {
            self.flush_filter_rows()?;
        }
        if !same_clauses {
            conn.prepare_cached(DELETE_CLAUSES_SQL)
                .map_err(sql)?
                .execute([rowid])
                .map_err(sql)?;
        }
        if !same_hs {
            conn.prepare_cached(DELETE_HS_SQL)
                .map_err(sql)?
                .execute([rowid])
                .map_err(sql)?;
        }
        // kind, system and external id are what the id is made of, so they stay as they are.
        conn.prepare_cached(
            "UPDATE records SET content_hash = ?2, version = version + 1, ai = ?3, title = ?4,
                 json = ?5, updated_at = ?6, last_run_id = ?7, source_hash = ?8
             WHERE rowid = ?1",
        )
        .map_err(sql)?
        .execute(params![
            rowid,
            hash,
            record.ai.flagged,
            record.title,
            json,
            stamp,
            run_id,
            source.map(|s| s.as_slice()),
        ])
        .map_err(sql)?;
        self.queue_filter_rows(record, !same_clauses, !same_hs)?;
        Ok(UpsertOutcome::Updated)
    }

    /// Inserts a new record and queues its filter rows; `false` when its id is stored already.
    fn insert(
        &mut self,
        record: &Record,
        json: &str,
        source: Option<&SourceHash>,
        run_id: i64,
    ) -> Result<bool, StoreError> {
        let stamp = self.stamp(&record.provenance.imported_at);
        let p = &record.provenance;
        let inserted = self
            .insert
            .execute(params![
                record.id.0.as_bytes().as_slice(),
                record.kind().as_str(),
                p.system,
                p.external_id,
                p.content_hash,
                record.ai.flagged,
                record.title,
                json,
                stamp,
                run_id,
                source.map(|s| s.as_slice()),
            ])
            .map_err(|e| self.ctx.sql(e))?;
        if inserted == 0 {
            return Ok(false);
        }
        self.queue_filter_rows(record, true, true)?;
        Ok(true)
    }

    fn queue_filter_rows(
        &mut self,
        record: &Record,
        clauses: bool,
        hs: bool,
    ) -> Result<(), StoreError> {
        let pending = &mut self.pending;
        if clauses {
            for c in &record.clauses {
                pending.scratch.clear();
                pending.scratch.push_str(c.standard.key());
                pending.scratch.push('\0');
                pending.scratch.push_str(&c.clause);
                let key = pending.clause_keys.number(&pending.scratch);
                pending.clauses.push((key, record.id));
            }
        }
        if hs {
            for h in &record.hs {
                let key = pending.hs_keys.number(&h.clause);
                pending.hs.push((key, record.id));
            }
        }
        if pending.clauses.len() + pending.hs.len() >= FLUSH_ROWS {
            self.flush_filter_rows()?;
        }
        Ok(())
    }

    /// Writes the queued filter rows in key order (the order of the tables' primary keys).
    fn flush_filter_rows(&mut self) -> Result<(), StoreError> {
        let ctx = self.ctx;
        let sql = |e| ctx.sql(e);
        let pending = &mut self.pending;
        if !pending.clauses.is_empty() {
            let ranks = pending.clause_keys.ranks();
            let rank = |n: u32| ranks.get(n as usize).copied().unwrap_or(u32::MAX);
            pending
                .clauses
                .sort_unstable_by_key(|(key, id)| (rank(*key), *id.0.as_bytes()));
            // OR IGNORE: a source may name the same clause twice; the filter row is a set.
            // Many rows per statement: the B-tree work is the same, the statement overhead
            // (binding, stepping, resetting) is paid once per batch instead of once per row.
            let keys = &pending.clause_keys;
            let rows = pending.clauses.iter().map(|(key, id)| {
                let (standard, clause) = keys.text(*key).split_once('\0').unwrap_or_default();
                [
                    ToSqlOutput::Borrowed(ValueRef::Text(standard.as_bytes())),
                    ToSqlOutput::Borrowed(ValueRef::Text(clause.as_bytes())),
                    ToSqlOutput::Borrowed(ValueRef::Blob(id.0.as_bytes())),
                ]
            });
            let written = insert_rows(
                self.conn,
                "INSERT OR IGNORE INTO record_clauses (standard, clause, record_id) VALUES ",
                rows,
            );
            pending.clauses.clear();
            written.map_err(sql)?;
        }
        if !pending.hs.is_empty() {
            let ranks = pending.hs_keys.ranks();
            let rank = |n: u32| ranks.get(n as usize).copied().unwrap_or(u32::MAX);
            pending
                .hs
                .sort_unstable_by_key(|(key, id)| (rank(*key), *id.0.as_bytes()));
            // Several references can lead to one HS clause; the filter needs it once.
            let keys = &pending.hs_keys;
            let rows = pending.hs.iter().map(|(key, id)| {
                [
                    ToSqlOutput::Borrowed(ValueRef::Text(keys.text(*key).as_bytes())),
                    ToSqlOutput::Borrowed(ValueRef::Blob(id.0.as_bytes())),
                ]
            });
            let written = insert_rows(
                self.conn,
                "INSERT OR IGNORE INTO record_hs (clause, record_id) VALUES ",
                rows,
            );
            pending.hs.clear();
            written.map_err(sql)?;
        }
        Ok(())
    }

    fn json(&self, record: &Record, value: &impl serde::Serialize) -> Result<String, StoreError> {
        serde_json::to_string(value).map_err(|source| StoreError::Serialise {
            path: self.ctx.path.clone(),
            id: record.id.to_string(),
            source,
        })
    }

    fn dry(&mut self, record: &Record) -> Result<UpsertOutcome, StoreError> {
        let hash = &record.provenance.content_hash;
        let seen_hash = match &self.mode {
            Mode::DryRun { seen, .. } => seen.get(&record.id).map(|h| h == hash),
            Mode::Write { .. } => None,
        };
        let same = match seen_hash {
            Some(same) => Some(same),
            None => self.look_up(record, None)?.map(|(_, same, _)| same),
        };
        let outcome = match same {
            Some(true) => return Ok(UpsertOutcome::Unchanged),
            Some(false) => UpsertOutcome::Updated,
            None => UpsertOutcome::Inserted,
        };
        if let Mode::DryRun { seen, .. } = &mut self.mode {
            seen.insert(record.id, hash.clone());
        }
        Ok(outcome)
    }

    /// The stored record's rowid, whether its content hash is the record's and whether its
    /// source hash is `source`.
    fn look_up(
        &mut self,
        record: &Record,
        source: Option<&SourceHash>,
    ) -> Result<Option<(i64, bool, bool)>, StoreError> {
        let id = record.id.0.as_bytes().as_slice();
        let hash = record.provenance.content_hash.as_str();
        self.lookup
            .query_row(params![id, hash, source.map(|s| s.as_slice())], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(|e| self.ctx.sql(e))
    }

    fn stamp(&mut self, at: &DateTime<Utc>) -> String {
        match &self.stamp {
            Some((t, s)) if t == at => s.clone(),
            _ => {
                let s = timestamp(at);
                self.stamp = Some((*at, s.clone()));
                s
            }
        }
    }
}

/// Rows per statement of [`insert_rows`]: 3 × 100 parameters stay far below SQLite's limit.
const ROWS_PER_INSERT: usize = 100;

/// Runs `insert` ("INSERT … VALUES ") for `rows` of N values each, [`ROWS_PER_INSERT`] rows
/// per statement (and one statement per row for the rest).
fn insert_rows<'v, const N: usize>(
    conn: &Connection,
    insert: &str,
    rows: impl Iterator<Item = [ToSqlOutput<'v>; N]>,
) -> rusqlite::Result<()> {
    let values = |count: usize| {
        let row = format!("({})", vec!["?"; N].join(", "));
        format!("{insert}{}", vec![row; count].join(", "))
    };
    let mut many = conn.prepare_cached(&values(ROWS_PER_INSERT))?;
    let mut one = conn.prepare_cached(&values(1))?;
    let mut batch: Vec<[ToSqlOutput<'v>; N]> = Vec::with_capacity(ROWS_PER_INSERT);
    for row in rows {
        batch.push(row);
        if batch.len() == ROWS_PER_INSERT {
            many.execute(rusqlite::params_from_iter(batch.drain(..).flatten()))?;
        }
    }
    for row in batch {
        one.execute(rusqlite::params_from_iter(row))?;
    }
    Ok(())
}

/// Writes a run row. Real runs write it at their start with zero counts and fill it in at
/// commit; dry runs write it whole at commit.
fn insert_run(
    conn: &Connection,
    run: &ImportRunStart,
    finished_at: Option<&DateTime<Utc>>,
    counts: &ImportCounts,
    summary: Option<&ImportRunSummary>,
) -> rusqlite::Result<i64> {
    let empty = ImportRunSummary::default();
    let summary = summary.unwrap_or(&empty);
    conn.prepare_cached(
        "INSERT INTO import_runs (source, system, connector, kind, started_at, finished_at,
             inserted, updated, unchanged, rejected, warnings, rejects_file, dry_run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        run.source,
        run.system,
        run.connector,
        run.kind.map(RecordKind::as_str),
        timestamp(&run.started_at),
        finished_at.map(timestamp),
        count_to_sql(counts.inserted),
        count_to_sql(counts.updated),
        count_to_sql(counts.unchanged),
        count_to_sql(summary.rejected),
        count_to_sql(summary.warnings),
        summary.rejects_file,
        run.dry_run,
    ])?;
    Ok(conn.last_insert_rowid())
}
