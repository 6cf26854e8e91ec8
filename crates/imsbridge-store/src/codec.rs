//! How values are written to and read from columns.

use chrono::{DateTime, SecondsFormat, Utc};
use imsbridge_model::{Record, RecordId};
use uuid::Uuid;

use crate::error::{Ctx, StoreError};

/// Timestamps are RFC 3339 in UTC with a fixed number of digits, so that text order is time
/// order and SQL can compare them.
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_timestamp(
    ctx: &Ctx,
    what: impl FnOnce() -> String,
    text: &str,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ctx.corrupt(format!("{} has an unreadable time '{text}': {e}", what())))
}

/// Reads an id column; anything but 16 bytes means the row was not written by this crate.
pub(crate) fn record_id(ctx: &Ctx, blob: &[u8]) -> Result<RecordId, StoreError> {
    Uuid::from_slice(blob)
        .map(RecordId)
        .map_err(|_| ctx.corrupt(format!("a record id is {} bytes, not 16", blob.len())))
}

/// Decodes a record's JSON. A row that does not decode, or decodes to another id, is reported
/// with the id so the user can find it; it never panics.
pub(crate) fn decode_record(ctx: &Ctx, id: RecordId, json: &str) -> Result<Record, StoreError> {
    decode_json(id, json).map_err(|reason| ctx.bad_record(id, reason))
}

/// [`decode_record`] without the store's context: the reason a row does not decode.
pub(crate) fn decode_json(id: RecordId, json: &str) -> Result<Record, String> {
    let record: Record = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    if record.id != id {
        return Err(format!("its JSON holds the id of record {}", record.id));
    }
    Ok(record)
}

/// Counts are u64 in the API and i64 in SQLite; no real count reaches i64::MAX.
pub(crate) fn count_to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn count_from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
