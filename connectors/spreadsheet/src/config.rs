//! Options that bound what the reader will do with an untrusted file.
//!
//! Registers arrive from many hands (exports from GRC tools, hand-kept workbooks,
//! mail attachments). Every limit here exists so that a damaged or hostile file
//! ends in a clear error or warning instead of exhausting memory.

/// Limits and scan depth for [`SpreadsheetFile`](crate::SpreadsheetFile).
///
/// `ReadOptions::default()` suits real registers; tests and callers with
/// special needs lower or raise individual fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Columns beyond this many (counted from column A) are not read; a
    /// warning names the sheet and how many columns it uses.
    /// Default 1024 — far more than any register, far fewer than Excel's 16,384.
    pub max_columns: usize,
    /// A cell holding more characters than this is replaced by
    /// [`Cell::Error`](crate::Cell::Error) so the mapper rejects its row.
    /// Default 32,767, Excel's own limit per cell.
    pub max_cell_chars: usize,
    /// How many non-blank rows at the top of a sheet are searched for the
    /// header row. Default 30 (title blocks, instructions and logos rarely
    /// take more).
    pub header_scan_rows: usize,
    /// Zip-bomb guard: the sum of the declared uncompressed sizes of all
    /// entries of an XLSX/XLSM/XLSB/ODS file may not exceed this. Default 2 GiB.
    pub max_uncompressed_bytes: u64,
    /// Zip-bomb guard: an entry larger than a few MiB may not expand more
    /// than this many times its compressed size. Default 200 — real sheet
    /// XML compresses 5–50×; only padding built to explode goes far beyond.
    pub max_compression_ratio: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_columns: 1024,
            max_cell_chars: 32_767,
            header_scan_rows: 30,
            max_uncompressed_bytes: 2 * 1024 * 1024 * 1024,
            max_compression_ratio: 200,
        }
    }
}

/// The keys of a `[[system]]` entry of type `spreadsheet` (besides `name` and the keys every
/// system takes): which register files `imsbridge pull` reads for it.
///
/// ```toml
/// [[system]]
/// name = "risk-xlsx"
/// type = "spreadsheet"
/// path = "registers/*.xlsx"   # a file, a folder, or a glob; relative to the config file
/// kind = "risk"               # optional: otherwise inferred from each sheet's headers
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// A register file, a folder of them, or a glob pattern (`registers/*.xlsx`).
    pub path: String,
    /// The record kind every sheet holds (`risk`, `control`, `nonconformity` …).
    #[serde(default)]
    pub kind: Option<String>,
    /// A column profile (TOML) for headers the built-in aliases do not know.
    #[serde(default)]
    pub profile: Option<std::path::PathBuf>,
    /// Read only this sheet.
    #[serde(default)]
    pub sheet: Option<String>,
    /// The standard bare clause numbers belong to (`iso27001`).
    #[serde(default)]
    pub standard: Option<String>,
}
