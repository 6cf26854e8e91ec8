//! Format detection by content, and the zip-bomb guard.
//!
//! File names lie: exports are renamed, mail gateways rewrite extensions, web
//! tools send HTML tables called `.xls`. The format is decided by magic bytes
//! and, for zip files, by the entries inside; the extension only sharpens
//! the error message.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use zip::ZipArchive;
use zip::result::ZipError;

use super::{Format, Location, ReadError, ole};
use crate::config::ReadOptions;

const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";
/// An empty zip archive starts directly with its end-of-directory record.
const ZIP_EMPTY_MAGIC: &[u8; 4] = b"PK\x05\x06";
const OLE_MAGIC: &[u8; 8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Entries smaller than this are not ratio-checked: small XML parts
/// (styles, empty sheets) legitimately compress several hundred times.
pub(super) const RATIO_CHECK_MIN_BYTES: u64 = 4 * 1024 * 1024;

/// How much of a small control entry ([Content_Types].xml, mimetype) is read.
const CONTROL_ENTRY_LIMIT: u64 = 1024 * 1024;

/// How many leading bytes decide "text or binary" for unknown extensions.
const TEXT_SNIFF_BYTES: usize = 8 * 1024;

/// The outcome of [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Detected {
    pub format: Format,
}

/// Decides the format of `path` from its content.
pub(super) fn detect(
    path: &Path,
    file_name: &str,
    options: &ReadOptions,
) -> Result<Detected, ReadError> {
    let mut file = File::open(path).map_err(|e| ReadError::io(file_name, e))?;
    let head = read_head(&mut file, TEXT_SNIFF_BYTES).map_err(|e| ReadError::io(file_name, e))?;
    let extension = path
        .extension()
        .map(|ext| ext.to_string_lossy().to_lowercase())
        .unwrap_or_default();

    if head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC) {
        let format = inspect_zip(file, file_name, options)?;
        return Ok(Detected { format });
    }
    if head.starts_with(OLE_MAGIC) {
        inspect_ole(&mut file, file_name)?;
        return Ok(Detected {
            format: Format::Xls,
        });
    }

    let claimed = match extension.as_str() {
        "xlsx" | "xlsm" | "xltx" | "xltm" => Some(Format::Xlsx),
        "xlsb" => Some(Format::Xlsb),
        "ods" => Some(Format::Ods),
        _ => None,
    };
    if let Some(claimed) = claimed {
        let reason = if head.is_empty() {
            "the file is empty (0 bytes); the copy or download did not finish".to_owned()
        } else {
            format!(
                "it does not start with a zip signature (maybe a CSV or HTML file renamed .{extension}?){}",
                describe_text_kind(&head)
            )
        };
        return Err(ReadError::not_a(file_name, claimed, reason));
    }

    if let Some(kind) = markup_kind(&head) {
        return Err(ReadError::UnsupportedFormat {
            file: file_name.to_owned(),
            reason: format!("it is {kind}, not a spreadsheet file"),
        });
    }
    match extension.as_str() {
        "csv" | "txt" | "tsv" | "tab" if head.is_empty() => Err(ReadError::not_a(
            file_name,
            Format::Csv,
            "the file is empty (0 bytes); the export or download did not finish",
        )),
        "csv" | "txt" | "tsv" | "tab" if !looks_like_text(&head) => Err(ReadError::not_a(
            file_name,
            Format::Csv,
            "it holds binary data, not text (NUL or control bytes in the first 8 KiB); export the register as CSV again",
        )),
        "csv" | "txt" | "tsv" | "tab" => Ok(Detected {
            format: Format::Csv,
        }),
        // Legacy exporters write tab-separated text under .xls and Excel
        // opens it; reading such a file as CSV is what the user expects.
        _ if looks_like_text(&head) => Ok(Detected {
            format: Format::Csv,
        }),
        "xls" => Err(ReadError::not_a(
            file_name,
            Format::Xls,
            "it does not start with the Excel 97-2003 (OLE2) signature and is not text either",
        )),
        _ => Err(ReadError::UnsupportedFormat {
            file: file_name.to_owned(),
            reason: "it is neither a zip-based workbook (XLSX, XLSM, XLSB, ODS), an Excel 97-2003 file nor text".to_owned(),
        }),
    }
}

/// Reads up to `limit` bytes from the start of the file.
fn read_head(file: &mut File, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(limit);
    file.by_ref().take(limit as u64).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(head)
}

/// True when the bytes look like text in UTF-8, UTF-16 (with BOM) or a
/// single-byte code page: no NUL bytes and few control characters.
pub(super) fn looks_like_text(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    if head.contains(&0) {
        return false;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    // A few stray control bytes occur in real exports; binary data has many.
    controls * 100 <= head.len()
}

/// Names markup documents that are sometimes mistaken for spreadsheets.
fn markup_kind(head: &[u8]) -> Option<&'static str> {
    let start: String = String::from_utf8_lossy(&head[..head.len().min(1024)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        Some(
            "an HTML page (some tools export web tables this way; open it in Excel and save it as .xlsx)",
        )
    } else if start.starts_with("<?xml")
        && start.contains("urn:schemas-microsoft-com:office:spreadsheet")
    {
        Some("an Excel 2003 XML spreadsheet (open it in Excel and save it as .xlsx)")
    } else {
        None
    }
}

fn describe_text_kind(head: &[u8]) -> &'static str {
    match markup_kind(head) {
        Some(_) => "; it looks like an HTML or XML document",
        None if looks_like_text(head) => {
            "; it looks like plain text — if it is a CSV export, rename it to .csv"
        }
        None => "",
    }
}

/// Turns a zip-level error into a message about the file.
pub(super) fn zip_problem(file_name: &str, error: ZipError) -> ReadError {
    let location = Location::file(file_name);
    match error {
        ZipError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => ReadError::corrupt(
            &location,
            "the file ends too early — it is truncated, probably an incomplete download or copy",
        ),
        ZipError::Io(e) => ReadError::io(file_name, e),
        ZipError::InvalidArchive(detail) => ReadError::corrupt(
            &location,
            format!("its zip structure is broken: {detail}; the file is probably truncated"),
        ),
        other => ReadError::corrupt(&location, format!("zip error: {other}")),
    }
}

/// Reads the zip central directory: applies the zip-bomb limits, then tells
/// the workbook format from the entries.
fn inspect_zip(file: File, file_name: &str, options: &ReadOptions) -> Result<Format, ReadError> {
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| zip_problem(file_name, e))?;
    check_zip_sizes(&zip, file_name, options)?;

    let names: Vec<String> = zip
        .file_names()
        .filter_map(|name| name.ok().map(|name| name.into_owned()))
        .collect();
    let find = |wanted: &str| {
        names
            .iter()
            .find(|name| name.trim_start_matches('/').eq_ignore_ascii_case(wanted))
            .cloned()
    };

    // OOXML: the content types say what the package is, independent of part names.
    if let Some(entry) = find("[Content_Types].xml") {
        let types = read_control_entry(&mut zip, &entry, file_name)?.to_ascii_lowercase();
        if types.contains("application/vnd.ms-excel.sheet.binary.macroenabled.main") {
            return Ok(Format::Xlsb);
        }
        if types.contains("application/vnd.ms-excel.sheet.macroenabled.main")
            || types.contains("application/vnd.ms-excel.template.macroenabled.main")
        {
            return Ok(Format::Xlsm);
        }
        if types.contains("spreadsheetml.sheet.main+xml")
            || types.contains("spreadsheetml.template.main+xml")
        {
            return Ok(Format::Xlsx);
        }
        if types.contains("wordprocessingml") {
            return Err(ReadError::UnsupportedFormat {
                file: file_name.to_owned(),
                reason: "it is a Word document".to_owned(),
            });
        }
        if types.contains("presentationml") {
            return Err(ReadError::UnsupportedFormat {
                file: file_name.to_owned(),
                reason: "it is a PowerPoint presentation".to_owned(),
            });
        }
    }
    // Fall back to well-known part names for packages with sloppy content types.
    if find("xl/workbook.bin").is_some() {
        return Ok(Format::Xlsb);
    }
    if find("xl/workbook.xml").is_some() {
        return Ok(if find("xl/vbaProject.bin").is_some() {
            Format::Xlsm
        } else {
            Format::Xlsx
        });
    }
    if let Some(entry) = find("mimetype") {
        let mimetype = read_control_entry(&mut zip, &entry, file_name)?;
        let mimetype = mimetype.trim();
        if mimetype.starts_with("application/vnd.oasis.opendocument.spreadsheet") {
            return Ok(Format::Ods);
        }
        return Err(ReadError::UnsupportedFormat {
            file: file_name.to_owned(),
            reason: format!("it is an OpenDocument file of type {mimetype}, not a spreadsheet"),
        });
    }
    Err(ReadError::UnsupportedFormat {
        file: file_name.to_owned(),
        reason: "it is a zip archive without a workbook inside (no xl/workbook.xml, xl/workbook.bin or OpenDocument mimetype); unpack it and import the spreadsheet it contains".to_owned(),
    })
}

/// The zip-bomb guard, on the sizes declared in the central directory.
///
/// The declared sizes are binding: the zip reader refuses to inflate an
/// entry past its declared size, so checking them here bounds what calamine
/// can ever inflate.
pub(super) fn check_zip_sizes<R: Read + Seek>(
    zip: &ZipArchive<R>,
    file_name: &str,
    options: &ReadOptions,
) -> Result<(), ReadError> {
    let mut total_uncompressed: u64 = 0;
    let mut total_compressed: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_data(index)
            .map_err(|e| zip_problem(file_name, e))?;
        let name = entry
            .name()
            .map(|name| name.into_owned())
            .unwrap_or_else(|_| format!("entry #{index}"));
        let size = entry.size();
        let compressed = entry.compressed_size();
        total_uncompressed = total_uncompressed.saturating_add(size);
        total_compressed = total_compressed.saturating_add(compressed);
        if size > RATIO_CHECK_MIN_BYTES {
            let ratio = size / compressed.max(1);
            if ratio > options.max_compression_ratio {
                return Err(ReadError::TooLarge {
                    file: file_name.to_owned(),
                    entry: name,
                    uncompressed: size,
                    compressed,
                    reason: format!(
                        "it would expand from {} to {} ({ratio}×, the limit is {}×); the file looks built to exhaust memory (a \"zip bomb\"). If it is genuine, re-save it or raise max_compression_ratio",
                        human_bytes(compressed),
                        human_bytes(size),
                        options.max_compression_ratio
                    ),
                });
            }
        }
        if total_uncompressed > options.max_uncompressed_bytes {
            return Err(ReadError::TooLarge {
                file: file_name.to_owned(),
                entry: name,
                uncompressed: total_uncompressed,
                compressed: total_compressed,
                reason: format!(
                    "with it the archive would expand to more than {} (limit {}); split the workbook or raise max_uncompressed_bytes",
                    human_bytes(total_uncompressed),
                    human_bytes(options.max_uncompressed_bytes)
                ),
            });
        }
    }
    Ok(())
}

/// Reads a small control entry as text, at most [`CONTROL_ENTRY_LIMIT`] bytes.
fn read_control_entry<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    name: &str,
    file_name: &str,
) -> Result<String, ReadError> {
    let entry = zip.by_name(name).map_err(|e| zip_problem(file_name, e))?;
    let mut bytes = Vec::new();
    entry
        .take(CONTROL_ENTRY_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            ReadError::corrupt(
                &Location::file(file_name),
                format!("cannot unpack {name}: {e}"),
            )
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An OLE2 compound file is an `.xls` workbook — unless it wraps an
/// encrypted OOXML package (that is how Excel stores password-protected
/// `.xlsx`), or is some other Office document.
fn inspect_ole(file: &mut File, file_name: &str) -> Result<(), ReadError> {
    let names = match ole::stream_names(file) {
        Ok(names) => names,
        Err(detail) => {
            return Err(ReadError::corrupt(
                &Location::file(file_name),
                format!("its Office (OLE2) structure is broken: {detail}"),
            ));
        }
    };
    let has = |wanted: &str| names.iter().any(|name| name.eq_ignore_ascii_case(wanted));
    if has("EncryptionInfo") || has("EncryptedPackage") {
        return Err(ReadError::Encrypted {
            file: file_name.to_owned(),
        });
    }
    if !(has("Workbook") || has("Book")) {
        let kind = if has("WordDocument") {
            "it is a Word 97-2003 document"
        } else if has("PowerPoint Document") {
            "it is a PowerPoint 97-2003 presentation"
        } else {
            "it is an Office (OLE2) file without a workbook stream"
        };
        return Err(ReadError::UnsupportedFormat {
            file: file_name.to_owned(),
            reason: kind.to_owned(),
        });
    }
    Ok(())
}

/// `1536` → `"1.5 KiB"`, for messages.
pub(super) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
