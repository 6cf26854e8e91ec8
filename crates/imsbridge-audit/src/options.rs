use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use imsbridge_model::StandardId;
use serde::Deserialize;

use crate::pack::PACK_FORMAT;
use crate::{AuditError, Scope};

/// The default review period: evidence older than this is flagged.
pub const DEFAULT_REVIEW_PERIOD_DAYS: u32 = 365;

/// The default number of rows per table in `index.html` (the workbook has them all).
pub const DEFAULT_HTML_ROW_LIMIT: usize = 2000;

/// The file name of the machine-readable pack in the output folder.
pub const PACK_JSON: &str = "pack.json";

/// What to build a pack for.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// The standards audited together (management-system standards only), in report order.
    pub standards: Vec<StandardId>,
    pub scope: Scope,
    /// "Now": ages, overdue items and the pack's date are counted from it.
    pub now: DateTime<Utc>,
    /// Evidence dated longer ago than this is flagged stale.
    pub review_period_days: u32,
    /// The pack's title; default `Joint audit pack: <designations of the standards>`.
    pub title: Option<String>,
    /// Maturity levels of an earlier pack, for the trend. [`crate::run`] reads them from the
    /// output folder's `pack.json` when this is `None`.
    pub previous: Option<PreviousPack>,
    /// Rows per table in `index.html`.
    pub html_row_limit: usize,
}

impl PackOptions {
    pub fn new(standards: Vec<StandardId>, now: DateTime<Utc>) -> PackOptions {
        PackOptions {
            standards,
            scope: Scope::all(),
            now,
            review_period_days: DEFAULT_REVIEW_PERIOD_DAYS,
            title: None,
            previous: None,
            html_row_limit: DEFAULT_HTML_ROW_LIMIT,
        }
    }
}

/// What a trend needs from an earlier pack: its date and its level per HS process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPack {
    pub generated_at: DateTime<Utc>,
    pub levels: BTreeMap<String, u8>,
}

#[derive(Deserialize)]
struct PackFile {
    format: String,
    generated_at: DateTime<Utc>,
    maturity: Vec<PackFileMaturity>,
}

#[derive(Deserialize)]
struct PackFileMaturity {
    hs: String,
    level: u8,
}

impl PreviousPack {
    /// Reads `pack.json` from `out_dir`; `Ok(None)` when there is none.
    pub fn read(out_dir: &Path) -> Result<Option<PreviousPack>, AuditError> {
        let path = out_dir.join(PACK_JSON);
        let bad = |reason: String| AuditError::PreviousPack {
            path: path.clone(),
            reason,
        };
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        let parsed: PackFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| bad(format!("not an audit pack file ({e})")))?;
        if parsed.format != PACK_FORMAT {
            return Err(bad(format!(
                "format `{}`, this version reads `{PACK_FORMAT}`",
                parsed.format
            )));
        }
        Ok(Some(PreviousPack {
            generated_at: parsed.generated_at,
            levels: parsed
                .maturity
                .into_iter()
                .map(|m| (m.hs, m.level.clamp(1, 5)))
                .collect(),
        }))
    }

    /// The path [`PreviousPack::read`] reads.
    pub fn path(out_dir: &Path) -> PathBuf {
        out_dir.join(PACK_JSON)
    }
}
