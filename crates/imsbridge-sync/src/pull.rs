//! Pull: incremental reads from API sources into the store.
//!
//! One store transaction per pull of a system; cursors are saved after it commits. A crash
//! anywhere before the commit leaves the store and the cursors as they were, and a crash
//! between the commit and the cursor write means the next pull reads some records again —
//! which the store recognises as unchanged. Records are read at least once, never lost.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use imsbridge_connector::{CommonConfig, Source};
use imsbridge_import::RejectsFile;
use imsbridge_mappings::Mappings;
use imsbridge_model::{HsLink, Record};
use imsbridge_store::{ImportRunStart, ImportRunSummary, Store, UpsertOutcome};
use serde::Serialize;

use crate::SyncError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    pub stream: String,
    /// The lower bound of the read (saved cursor less the overlap); none: a full read.
    pub since: Option<DateTime<Utc>>,
    pub read: u64,
    pub rejected: u64,
    pub pages: u64,
    /// The cursor saved for the next pull.
    pub cursor: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    pub system: String,
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub warnings: Vec<String>,
    pub rejects_file: Option<PathBuf>,
    pub run_id: Option<i64>,
    pub streams: Vec<StreamReport>,
}

/// Reads `streams` (or the system's `read` list, or every stream) of `source` into the store.
/// `full` ignores the saved cursors.
#[allow(clippy::too_many_arguments)]
pub async fn pull_source(
    store: &mut Store,
    mappings: &Mappings,
    common: &CommonConfig,
    source: &dyn Source,
    streams: Option<&[String]>,
    full: bool,
    rejects_dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PullReport, SyncError> {
    let offered = source.streams();
    let wanted: Vec<String> = match streams.or(common.read.as_deref()) {
        Some(names) => names.to_vec(),
        None => offered.iter().map(|s| s.name.to_string()).collect(),
    };
    for name in &wanted {
        if !offered.iter().any(|s| s.name == name) {
            return Err(SyncError::UnknownStream {
                system: common.name.clone(),
                stream: name.clone(),
                offered: offered
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let mut report = PullReport {
        system: common.name.clone(),
        ..PullReport::default()
    };
    let since_of = |store: &Store, stream: &str| -> Result<Option<DateTime<Utc>>, SyncError> {
        if full {
            return Ok(None);
        }
        let saved = store.cursor(&common.name, stream)?;
        // An unreadable cursor (edited by hand) means a full read: slower, never lossy.
        Ok(saved
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc) - common.overlap()))
    };
    let mut plans = Vec::new();
    for name in &wanted {
        plans.push((name.clone(), since_of(store, name)?));
    }

    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut rejects = RejectsFile::new(rejects_dir.join(format!("imsbridge.rejects-{stamp}.csv")));
    let run = ImportRunStart::new(
        format!(
            "{} ({})",
            common.base_url.as_deref().unwrap_or(&common.name),
            wanted.join(", ")
        ),
        common.name.clone(),
        common.connector.clone(),
    );
    // The cursor never passes the moment this pull began (less nothing: the overlap is
    // subtracted when it is read). A record edited while a long walk is under way may be
    // read in its old state, before a later page shows a newer timestamp; capping the cursor
    // here makes the next pull read it again.
    let started = Utc::now();
    let mut tx = store.begin_import(&run)?;
    let mut warnings = Vec::new();
    let result: Result<(), SyncError> = async {
        for (stream, since) in &plans {
            let mut stream_report = StreamReport {
                stream: stream.clone(),
                since: *since,
                ..StreamReport::default()
            };
            let mut seen_tokens: HashSet<String> = HashSet::new();
            let mut token: Option<String> = None;
            loop {
                let page = source.read_page(stream, *since, token.as_deref()).await?;
                stream_report.pages += 1;
                let page_read = page.records.len() as u64;
                for mut record in page.records {
                    derive_hs(mappings, &mut record, &mut warnings);
                    record.seal();
                    match tx.upsert(&record)? {
                        UpsertOutcome::Inserted => report.imported += 1,
                        UpsertOutcome::Updated => report.updated += 1,
                        UpsertOutcome::Unchanged => report.unchanged += 1,
                    }
                    stream_report.read += 1;
                }
                for reject in page.rejects {
                    rejects
                        .write(
                            &["object".to_string()],
                            &reject.location,
                            &reject.message,
                            &[reject.raw],
                        )
                        .map_err(SyncError::from)?;
                    stream_report.rejected += 1;
                }
                // `progress` advances by its argument (as in the spreadsheet import and in
                // apply): the records of this page, not the stream's running total, which
                // counted every page again with each later one.
                progress(page_read);
                if page.cursor > stream_report.cursor {
                    stream_report.cursor = page.cursor.map(|c| c.min(started));
                }
                match page.next {
                    None => break,
                    Some(next) => {
                        if !seen_tokens.insert(next.clone()) {
                            return Err(SyncError::PageLoop {
                                system: common.name.clone(),
                                stream: stream.clone(),
                                token: next,
                            });
                        }
                        token = Some(next);
                    }
                }
            }
            report.rejected += stream_report.rejected;
            report.streams.push(stream_report);
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        rejects.discard();
        tx.rollback()?;
        return Err(e);
    }
    let rejects_file = rejects.finish().map_err(SyncError::from)?;
    let summary = ImportRunSummary {
        rejected: report.rejected,
        warnings: warnings.len() as u64,
        rejects_file: rejects_file.as_ref().map(|p| p.display().to_string()),
    };
    report.run_id = Some(tx.commit(&summary)?);
    report.rejects_file = rejects_file;
    report.warnings = warnings;
    // Only now, with the records committed, do the cursors move on.
    for stream in &report.streams {
        if let Some(cursor) = stream.cursor {
            // Never backwards: a read that only saw older records (a narrow window after a
            // restore, say) must not widen the next one.
            let saved = store
                .cursor(&common.name, &stream.stream)?
                .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
                .map(|c| c.with_timezone(&Utc));
            if saved.is_none_or(|s| cursor > s) {
                store.save_cursor(&common.name, &stream.stream, &cursor.to_rfc3339())?;
            }
        }
    }
    Ok(report)
}

/// Fills a record's HS links from its clause references, as the spreadsheet import does; a
/// clause the maps do not know is a warning, not a lost record.
fn derive_hs(mappings: &Mappings, record: &mut Record, warnings: &mut Vec<String>) {
    let mut hs: Vec<HsLink> = Vec::new();
    for clause in &record.clauses {
        match mappings.hs_links(clause) {
            Ok(links) => hs.extend(links),
            Err(e) => warnings.push(format!("{}: {e}", record.provenance.location)),
        }
    }
    hs.sort();
    hs.dedup();
    record.hs = hs;
}
