//! Sync state: incremental-read cursors, links between local records and remote ones, and
//! the journal of remote writes.
//!
//! The journal is what makes a killed sync safe to re-run: an intent row is committed before
//! each remote write and its outcome after. An intent without an outcome means "this write may
//! or may not have happened", and the next run looks the record up by its correlation id
//! before it writes again.

use chrono::{DateTime, Utc};
use imsbridge_model::{RecordId, RecordKind};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::codec::{parse_timestamp, record_id, timestamp};
use crate::error::StoreError;
use crate::store::Store;

/// Cursors, links and the journal.
pub(crate) const V_SYNC: &str = "
CREATE TABLE sync_cursors (
    system     TEXT NOT NULL,
    stream     TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (system, stream)
) WITHOUT ROWID;

-- One row per local record and target: what the target held after the last sync, so that the
-- next plan can tell a local change from a remote edit (three-way comparison).
CREATE TABLE sync_links (
    target         TEXT NOT NULL,
    record_id      BLOB NOT NULL CHECK (length(record_id) = 16),
    kind           TEXT NOT NULL,
    remote_id      TEXT NOT NULL,
    correlation    TEXT NOT NULL,
    remote_version TEXT,
    synced_hash    TEXT NOT NULL,
    synced_fields  TEXT NOT NULL,
    synced_at      TEXT NOT NULL,
    PRIMARY KEY (target, record_id)
);
CREATE UNIQUE INDEX sync_links_by_remote ON sync_links (target, remote_id);

CREATE TABLE sync_journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    target         TEXT NOT NULL,
    record_id      BLOB NOT NULL CHECK (length(record_id) = 16),
    action         TEXT NOT NULL,
    correlation    TEXT NOT NULL,
    remote_id      TEXT,
    fields         TEXT NOT NULL,
    intent_at      TEXT NOT NULL,
    outcome        TEXT,
    outcome_at     TEXT,
    remote_version TEXT,
    message        TEXT
);
-- Open intents are what a new run must repair first.
CREATE INDEX sync_journal_open ON sync_journal (target) WHERE outcome IS NULL;
";

/// A local record's link to its remote counterpart in one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub target: String,
    pub record: RecordId,
    pub kind: RecordKind,
    pub remote_id: String,
    pub correlation: String,
    /// The remote version token seen at the last sync.
    pub remote_version: Option<String>,
    /// The local record's content hash at the last sync.
    pub synced_hash: String,
    /// The remote fields (JSON object) as written or seen at the last sync.
    pub synced_fields: String,
    pub synced_at: DateTime<Utc>,
}

/// How a journalled write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalOutcome {
    /// The write succeeded.
    Written,
    /// The write failed and the remote is known not to have it.
    Failed,
    /// An earlier run stopped between intent and outcome; the record was found remotely by
    /// its correlation id and linked.
    Repaired,
    /// An earlier run stopped between intent and outcome; the record was not found remotely,
    /// so the write never happened.
    NotWritten,
}

impl JournalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalOutcome::Written => "written",
            JournalOutcome::Failed => "failed",
            JournalOutcome::Repaired => "repaired",
            JournalOutcome::NotWritten => "not-written",
        }
    }

    fn parse(s: &str) -> Option<JournalOutcome> {
        Some(match s {
            "written" => JournalOutcome::Written,
            "failed" => JournalOutcome::Failed,
            "repaired" => JournalOutcome::Repaired,
            "not-written" => JournalOutcome::NotWritten,
            _ => return None,
        })
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub id: i64,
    pub target: String,
    pub record: RecordId,
    /// `create` or `update`.
    pub action: String,
    pub correlation: String,
    pub remote_id: Option<String>,
    /// The fields sent (JSON object).
    pub fields: String,
    pub intent_at: DateTime<Utc>,
    pub outcome: Option<JournalOutcome>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub remote_version: Option<String>,
    pub message: Option<String>,
}

/// What is about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent<'a> {
    pub target: &'a str,
    pub record: RecordId,
    pub action: &'a str,
    pub correlation: &'a str,
    pub remote_id: Option<&'a str>,
    pub fields: &'a str,
}

impl Store {
    /// The saved cursor of a source stream.
    pub fn cursor(&self, system: &str, stream: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT cursor FROM sync_cursors WHERE system = ?1 AND stream = ?2",
                params![system, stream],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.ctx.sql(e))
    }

    /// Saves a stream's cursor. Call it only after the records read up to it are committed:
    /// a crash in between then means reading some records twice, never missing one.
    pub fn save_cursor(
        &mut self,
        system: &str,
        stream: &str,
        cursor: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_cursors (system, stream, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (system, stream) DO UPDATE SET cursor = excluded.cursor,
                     updated_at = excluded.updated_at",
                params![system, stream, cursor, timestamp(&Utc::now())],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(())
    }

    /// Forgets a system's cursors, so that the next pull reads everything again.
    pub fn reset_cursors(&mut self, system: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM sync_cursors WHERE system = ?1",
                params![system],
            )
            .map_err(|e| self.ctx.sql(e))
    }

    /// Every link, or those of one target, in target and record order.
    pub fn links(&self, target: Option<&str>) -> Result<Vec<Link>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT target, record_id, kind, remote_id, correlation, remote_version,
                        synced_hash, synced_fields, synced_at
                 FROM sync_links WHERE ?1 IS NULL OR target = ?1 ORDER BY target, record_id",
            )
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt.query(params![target]).map_err(|e| self.ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.ctx.sql(e))? {
            out.push(self.link_from_row(row)?);
        }
        Ok(out)
    }

    /// The link of one record in one target.
    pub fn link(&self, target: &str, record: RecordId) -> Result<Option<Link>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT target, record_id, kind, remote_id, correlation, remote_version,
                        synced_hash, synced_fields, synced_at
                 FROM sync_links WHERE target = ?1 AND record_id = ?2",
            )
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt
            .query(params![target, record.0.as_bytes().as_slice()])
            .map_err(|e| self.ctx.sql(e))?;
        match rows.next().map_err(|e| self.ctx.sql(e))? {
            Some(row) => Ok(Some(self.link_from_row(row)?)),
            None => Ok(None),
        }
    }

    /// Saves a link (replacing the record's previous one in that target).
    pub fn save_link(&mut self, link: &Link) -> Result<(), StoreError> {
        save_link(&self.conn, link).map_err(|e| self.ctx.sql(e))
    }

    /// Records the intent to write, committed before the write is sent; returns its id.
    pub fn journal_intent(&mut self, intent: &Intent<'_>) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_journal (target, record_id, action, correlation, remote_id,
                     fields, intent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    intent.target,
                    intent.record.0.as_bytes().as_slice(),
                    intent.action,
                    intent.correlation,
                    intent.remote_id,
                    intent.fields,
                    timestamp(&Utc::now())
                ],
            )
            .map_err(|e| self.ctx.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records how a journalled write ended and, when it left a remote record, its link, in
    /// one transaction: the journal never says "written" without the link to show for it.
    pub fn journal_outcome(
        &mut self,
        id: i64,
        outcome: JournalOutcome,
        remote_version: Option<&str>,
        message: Option<&str>,
        link: Option<&Link>,
    ) -> Result<(), StoreError> {
        let ctx = self.ctx.clone();
        let tx = self.conn.transaction().map_err(|e| ctx.sql(e))?;
        tx.execute(
            "UPDATE sync_journal SET outcome = ?2, outcome_at = ?3, remote_version = ?4,
                 message = ?5, remote_id = COALESCE(?6, remote_id) WHERE id = ?1",
            params![
                id,
                outcome.as_str(),
                timestamp(&Utc::now()),
                remote_version,
                message,
                link.map(|l| l.remote_id.as_str())
            ],
        )
        .map_err(|e| ctx.sql(e))?;
        if let Some(link) = link {
            save_link(&tx, link).map_err(|e| ctx.sql(e))?;
        }
        tx.commit().map_err(|e| ctx.sql(e))
    }

    /// Intents without an outcome: writes a previous run may or may not have made.
    pub fn open_intents(&self, target: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.journal_query(
            "WHERE target = ?1 AND outcome IS NULL ORDER BY id",
            params![target],
        )
    }

    /// The newest `limit` journal rows (of one target), newest first.
    pub fn journal(
        &self,
        target: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.journal_query(
            "WHERE ?1 IS NULL OR target = ?1 ORDER BY id DESC LIMIT ?2",
            params![target, limit],
        )
    }

    fn journal_query(
        &self,
        tail: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let sql = format!(
            "SELECT id, target, record_id, action, correlation, remote_id, fields, intent_at,
                    outcome, outcome_at, remote_version, message FROM sync_journal {tail}"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.ctx.sql(e))?;
        let mut rows = stmt.query(params).map_err(|e| self.ctx.sql(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.ctx.sql(e))? {
            out.push(self.journal_from_row(row)?);
        }
        Ok(out)
    }

    fn link_from_row(&self, row: &Row<'_>) -> Result<Link, StoreError> {
        let ctx = &self.ctx;
        let get = |e: rusqlite::Error| ctx.sql(e);
        let id: Vec<u8> = row.get(1).map_err(get)?;
        let kind: String = row.get(2).map_err(get)?;
        let synced_at: String = row.get(8).map_err(get)?;
        Ok(Link {
            target: row.get(0).map_err(get)?,
            record: record_id(ctx, &id)?,
            kind: kind
                .parse()
                .map_err(|_| ctx.corrupt(format!("a sync link has the unknown kind '{kind}'")))?,
            remote_id: row.get(3).map_err(get)?,
            correlation: row.get(4).map_err(get)?,
            remote_version: row.get(5).map_err(get)?,
            synced_hash: row.get(6).map_err(get)?,
            synced_fields: row.get(7).map_err(get)?,
            synced_at: parse_timestamp(ctx, || "a sync link".into(), &synced_at)?,
        })
    }

    fn journal_from_row(&self, row: &Row<'_>) -> Result<JournalEntry, StoreError> {
        let ctx = &self.ctx;
        let get = |e: rusqlite::Error| ctx.sql(e);
        let id: Vec<u8> = row.get(2).map_err(get)?;
        let intent_at: String = row.get(7).map_err(get)?;
        let outcome: Option<String> = row.get(8).map_err(get)?;
        let outcome_at: Option<String> = row.get(9).map_err(get)?;
        Ok(JournalEntry {
            id: row.get(0).map_err(get)?,
            target: row.get(1).map_err(get)?,
            record: record_id(ctx, &id)?,
            action: row.get(3).map_err(get)?,
            correlation: row.get(4).map_err(get)?,
            remote_id: row.get(5).map_err(get)?,
            fields: row.get(6).map_err(get)?,
            intent_at: parse_timestamp(ctx, || "a journal entry".into(), &intent_at)?,
            outcome: match outcome {
                Some(o) => Some(JournalOutcome::parse(&o).ok_or_else(|| {
                    ctx.corrupt(format!("a journal entry has the unknown outcome '{o}'"))
                })?),
                None => None,
            },
            outcome_at: match outcome_at {
                Some(t) => Some(parse_timestamp(ctx, || "a journal entry".into(), &t)?),
                None => None,
            },
            remote_version: row.get(10).map_err(get)?,
            message: row.get(11).map_err(get)?,
        })
    }
}

fn save_link(conn: &rusqlite::Connection, link: &Link) -> Result<(), rusqlite::Error> {
    // A remote id belongs to one local record: if another record claimed it before (a
    // re-imported register with new ids), the new claim replaces the old one.
    conn.execute(
        "DELETE FROM sync_links WHERE target = ?1 AND remote_id = ?2 AND record_id <> ?3",
        params![
            link.target,
            link.remote_id,
            link.record.0.as_bytes().as_slice()
        ],
    )?;
    conn.execute(
        "INSERT INTO sync_links (target, record_id, kind, remote_id, correlation, remote_version,
             synced_hash, synced_fields, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (target, record_id) DO UPDATE SET kind = excluded.kind,
             remote_id = excluded.remote_id, correlation = excluded.correlation,
             remote_version = excluded.remote_version, synced_hash = excluded.synced_hash,
             synced_fields = excluded.synced_fields, synced_at = excluded.synced_at",
        params![
            link.target,
            link.record.0.as_bytes().as_slice(),
            link.kind.as_str(),
            link.remote_id,
            link.correlation,
            link.remote_version,
            link.synced_hash,
            link.synced_fields,
            timestamp(&link.synced_at)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(record: RecordId, remote: &str) -> Link {
        Link {
            target: "ca".into(),
            record,
            kind: RecordKind::Risk,
            remote_id: remote.into(),
            correlation: format!("IMSB-{}", record.short()),
            remote_version: Some("v1".into()),
            synced_hash: "h".into(),
            synced_fields: "{}".into(),
            synced_at: Utc::now(),
        }
    }

    #[test]
    fn cursors_round_trip_and_reset() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.cursor("ca", "risks").unwrap(), None);
        store
            .save_cursor("ca", "risks", "2026-01-01T00:00:00Z")
            .unwrap();
        store
            .save_cursor("ca", "risks", "2026-02-01T00:00:00Z")
            .unwrap();
        assert_eq!(
            store.cursor("ca", "risks").unwrap().as_deref(),
            Some("2026-02-01T00:00:00Z")
        );
        assert_eq!(store.reset_cursors("ca").unwrap(), 1);
        assert_eq!(store.cursor("ca", "risks").unwrap(), None);
    }

    #[test]
    fn outcome_and_link_land_together() {
        let mut store = Store::open_in_memory().unwrap();
        let record = RecordId::from_source("x", RecordKind::Risk, "R-1");
        let id = store
            .journal_intent(&Intent {
                target: "ca",
                record,
                action: "create",
                correlation: "IMSB-1",
                remote_id: None,
                fields: "{\"name\":\"a\"}",
            })
            .unwrap();
        assert_eq!(store.open_intents("ca").unwrap().len(), 1);
        store
            .journal_outcome(
                id,
                JournalOutcome::Written,
                Some("v1"),
                None,
                Some(&link(record, "r-9")),
            )
            .unwrap();
        assert!(store.open_intents("ca").unwrap().is_empty());
        let entry = &store.journal(Some("ca"), 10).unwrap()[0];
        assert_eq!(entry.outcome, Some(JournalOutcome::Written));
        assert_eq!(entry.remote_id.as_deref(), Some("r-9"));
        assert_eq!(store.link("ca", record).unwrap().unwrap().remote_id, "r-9");
    }

    #[test]
    fn a_remote_id_belongs_to_one_record() {
        let mut store = Store::open_in_memory().unwrap();
        let a = RecordId::from_source("x", RecordKind::Risk, "R-1");
        let b = RecordId::from_source("x", RecordKind::Risk, "R-2");
        store.save_link(&link(a, "r-1")).unwrap();
        store.save_link(&link(b, "r-1")).unwrap();
        let links = store.links(Some("ca")).unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].record, b);
    }
}
