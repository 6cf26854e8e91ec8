//! Import transactions: one per imported file, so a file is either imported whole or not at
//! all, and one commit (one fsync) pays for all its rows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use imsbridge_model::{Record, RecordId, RecordKind, StandardId};
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
/// [`FLUSH_ROWS`] (a few MiB), and always before commit and before an update deletes rows.
#[derive(Debug, Default)]
struct PendingRows {
    clauses: Vec<(StandardId, String, RecordId)>,
    hs: Vec<(String, RecordId)>,
}

/// The lookup every upsert makes.
pub(crate) const LOOKUP_SQL: &str = "SELECT rowid, content_hash = ?2 FROM records WHERE id = ?1";

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

/// Small in unit tests, so that batching is exercised without building 100k records.
pub(crate) const FLUSH_ROWS: usize = if cfg!(test) { 1 << 10 } else { 1 << 16 };

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
        Ok(ImportTx {
            conn,
            ctx,
            lookup,
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
            Mode::Write { run_id } => self.write(&record, run_id),
            Mode::DryRun { .. } => self.dry(&record),
        };
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

    fn write(&mut self, record: &Record, run_id: i64) -> Result<UpsertOutcome, StoreError> {
        let ctx = self.ctx;
        let conn = self.conn;
        let sql = |e| ctx.sql(e);
        let id = record.id.0.as_bytes().as_slice();
        let hash = record.provenance.content_hash.as_str();
        let found = self.look_up(record)?;
        let rowid = match found {
            Some((_, true)) => return Ok(UpsertOutcome::Unchanged),
            Some((rowid, false)) => Some(rowid),
            None => None,
        };

        // Serialised once, and only for records that are written.
        let json = self.json(record, record)?;
        let stamp = self.stamp(&record.provenance.imported_at);
        let p = &record.provenance;
        let Some(rowid) = rowid else {
            conn.prepare_cached(
                "INSERT INTO records (id, kind, system, external_id, content_hash, version, ai,
                     title, json, first_imported_at, updated_at, last_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?9, ?10)",
            )
            .map_err(sql)?
            .execute(params![
                id,
                record.kind().as_str(),
                p.system,
                p.external_id,
                hash,
                record.ai.flagged,
                record.title,
                json,
                stamp,
                run_id,
            ])
            .map_err(sql)?;
            self.queue_filter_rows(record, true, true)?;
            return Ok(UpsertOutcome::Inserted);
        };

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
                 json = ?5, updated_at = ?6, last_run_id = ?7
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
        ])
        .map_err(sql)?;
        self.queue_filter_rows(record, !same_clauses, !same_hs)?;
        Ok(UpsertOutcome::Updated)
    }

    fn queue_filter_rows(
        &mut self,
        record: &Record,
        clauses: bool,
        hs: bool,
    ) -> Result<(), StoreError> {
        let pending = &mut self.pending;
        if clauses {
            pending.clauses.extend(
                record
                    .clauses
                    .iter()
                    .map(|c| (c.standard, c.clause.clone(), record.id)),
            );
        }
        if hs {
            pending
                .hs
                .extend(record.hs.iter().map(|h| (h.clause.clone(), record.id)));
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
            pending.clauses.sort_unstable_by(|a, b| {
                (a.0.key(), a.1.as_str(), a.2.0.as_bytes()).cmp(&(
                    b.0.key(),
                    b.1.as_str(),
                    b.2.0.as_bytes(),
                ))
            });
            // OR IGNORE: a source may name the same clause twice; the filter row is a set.
            let mut stmt = self
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO record_clauses (standard, clause, record_id)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(sql)?;
            for (standard, clause, id) in pending.clauses.drain(..) {
                stmt.execute(params![standard.key(), clause, id.0.as_bytes().as_slice()])
                    .map_err(sql)?;
            }
        }
        if !pending.hs.is_empty() {
            pending.hs.sort_unstable_by(|a, b| {
                (a.0.as_str(), a.1.0.as_bytes()).cmp(&(b.0.as_str(), b.1.0.as_bytes()))
            });
            // Several references can lead to one HS clause; the filter needs it once.
            let mut stmt = self
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO record_hs (clause, record_id) VALUES (?1, ?2)",
                )
                .map_err(sql)?;
            for (clause, id) in pending.hs.drain(..) {
                stmt.execute(params![clause, id.0.as_bytes().as_slice()])
                    .map_err(sql)?;
            }
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
            None => self.look_up(record)?.map(|(_, same)| same),
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

    /// The stored record's rowid and whether its content hash is the record's.
    fn look_up(&mut self, record: &Record) -> Result<Option<(i64, bool)>, StoreError> {
        let id = record.id.0.as_bytes().as_slice();
        let hash = record.provenance.content_hash.as_str();
        self.lookup
            .query_row(params![id, hash], |r| Ok((r.get(0)?, r.get(1)?)))
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
