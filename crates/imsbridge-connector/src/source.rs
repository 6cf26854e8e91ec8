//! The read side: streams read page by page into the unified model.

use chrono::{DateTime, Utc};
use imsbridge_model::{Record, RecordKind};

use crate::{BoxFuture, ConnectorError};

/// One stream a source offers (Singer/Airbyte style): its record kind, its primary key and
/// the field incremental reads filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream's name in configuration (`read = ["risks", "controls"]`).
    pub name: &'static str,
    pub kind: RecordKind,
    /// The source field that identifies an object (`id`, `sys_id`).
    pub primary_key: &'static str,
    /// The field incremental reads filter on (`updated_at`); `None`: always read in full.
    pub cursor_field: Option<&'static str>,
}

/// One page of a stream.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<Record>,
    /// Objects that could not be mapped: reported and kept, never dropped silently.
    pub rejects: Vec<Reject>,
    /// The highest cursor value on this page (the next incremental read starts there, less
    /// the overlap window).
    pub cursor: Option<DateTime<Utc>>,
    /// The token for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// An object a source returned but could not map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Where: the API path and JSON position (`/api/risk-scenarios/ results[3]`).
    pub location: String,
    pub message: String,
    /// The object as received (JSON), so nothing is lost.
    pub raw: String,
}

/// A system records are read from.
pub trait Source: Send + Sync {
    /// The streams this source offers.
    fn streams(&self) -> Vec<StreamInfo>;

    /// Reads one page of `stream`. `since` is the inclusive lower bound for incremental reads
    /// (already moved back by the overlap window); `page` is the previous page's `next`.
    /// Records may repeat across pages and runs: the store de-duplicates on the stable id.
    fn read_page<'a>(
        &'a self,
        stream: &'a str,
        since: Option<DateTime<Utc>>,
        page: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>>;
}
