//! CSV and other delimited text.
//!
//! What arrives as "CSV" varies: Excel in a German locale writes semicolons
//! and Windows-1252; "Unicode text" is tab-separated UTF-16; tools add a BOM
//! or a `sep=;` line. The plan (encoding, delimiter) is sniffed from the
//! first 64 KiB; records are then streamed, so file size does not matter.

use std::borrow::Cow;
use std::cell::Cell as StdCell;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use encoding_rs::{CoderResult, Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

use super::{Cell, ColumnOverflow, Location, ReadError, Row, RowSink, limit_text};
use crate::config::ReadOptions;

/// How much of the file is looked at to choose encoding and delimiter.
const SAMPLE_BYTES: usize = 64 * 1024;
/// How many lines of the sample vote on the delimiter.
const SNIFF_LINES: usize = 50;
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
/// Individual "not valid UTF-8" warnings before they are only counted.
const MAX_ENCODING_WARNINGS: usize = 20;
/// A record may not grow beyond this many bytes, whatever the cell limit:
/// it bounds memory when a quote is never closed and the parser would
/// otherwise swallow the rest of the file as one field.
const MIN_RECORD_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

/// How to read one CSV file, decided once at open.
#[derive(Debug, Clone)]
pub(super) struct CsvPlan {
    encoding: TextEncoding,
    /// Bytes of byte-order mark to skip.
    bom_len: u64,
    delimiter: u8,
    /// The first record is Excel's `sep=;` hint, not data.
    sep_line: bool,
}

impl CsvPlan {
    /// Chooses encoding and delimiter from the start of the file.
    pub(super) fn sniff(path: &Path, file_name: &str) -> Result<CsvPlan, ReadError> {
        let file = File::open(path).map_err(|e| ReadError::io(file_name, e))?;
        let mut sample = Vec::with_capacity(SAMPLE_BYTES);
        file.take(SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)
            .map_err(|e| ReadError::io(file_name, e))?;
        let truncated = sample.len() == SAMPLE_BYTES;

        let (encoding, bom_len) = if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
            (TextEncoding::Utf8, 3)
        } else if sample.starts_with(&[0xFF, 0xFE]) {
            (TextEncoding::Utf16Le, 2)
        } else if sample.starts_with(&[0xFE, 0xFF]) {
            (TextEncoding::Utf16Be, 2)
        } else {
            match std::str::from_utf8(&sample) {
                Ok(_) => (TextEncoding::Utf8, 0),
                // The sample may end inside a multi-byte character; only
                // an error before the end proves the text is not UTF-8.
                Err(e) if e.error_len().is_none() => (TextEncoding::Utf8, 0),
                Err(_) => (TextEncoding::Windows1252, 0),
            }
        };
        let body = sample.get(bom_len..).unwrap_or_default();
        let text: Cow<'_, str> = match encoding {
            TextEncoding::Utf8 => String::from_utf8_lossy(body),
            other => encoding_of(other).decode_without_bom_handling(body).0,
        };
        let tab_hint = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("tsv") || ext.eq_ignore_ascii_case("tab"));
        let (delimiter, sep_line) = sniff_delimiter(&text, truncated, tab_hint);
        tracing::debug!(file = file_name, ?encoding, delimiter = %char::from(delimiter).escape_default(), "CSV plan");
        Ok(CsvPlan {
            encoding,
            bom_len: bom_len as u64,
            delimiter,
            sep_line,
        })
    }

    /// Streams all records into `sink`.
    ///
    /// Every record is a row, numbered from 1 (the `sep=` line and the
    /// header counted). Fields are [`Cell::Text`], empty fields
    /// [`Cell::Empty`]; numbers and dates are left to the mapper, which
    /// knows the locale.
    pub(super) fn stream<S>(
        &self,
        path: &Path,
        location: &Location,
        options: &ReadOptions,
        sink: &mut S,
        warnings: &mut Vec<(Location, String)>,
    ) -> Result<(), S::Error>
    where
        S: RowSink,
        S::Error: From<ReadError>,
    {
        let file_name = &location.file;
        let mut file = File::open(path).map_err(|e| ReadError::io(file_name, e))?;
        file.seek(SeekFrom::Start(self.bom_len))
            .map_err(|e| ReadError::io(file_name, e))?;
        let buffered = BufReader::with_capacity(SAMPLE_BYTES, file);
        let decoded: Box<dyn Read> = match self.encoding {
            TextEncoding::Utf8 => Box::new(buffered),
            other => Box::new(Transcoder::new(buffered, encoding_of(other))),
        };
        let record_limit = MIN_RECORD_LIMIT.max(
            (options.max_cell_chars as u64)
                .saturating_mul(4)
                .saturating_add(64 * 1024),
        );
        let record_start = Rc::new(StdCell::new(0u64));
        let guard = RecordGuard {
            inner: decoded,
            delivered: 0,
            record_start: Rc::clone(&record_start),
            limit: record_limit,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(guard);

        let mut record = csv::ByteRecord::new();
        let mut number: u32 = 0;
        let mut overflow = ColumnOverflow::default();
        let mut bad_utf8 = 0usize;
        loop {
            let next = number.saturating_add(1);
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    return Err(csv_error(error, &location.at_row(next), record_limit).into());
                }
            }
            record_start.set(reader.position().byte());
            number = next;
            if number == 1 && self.sep_line {
                continue;
            }
            let mut cells = Vec::with_capacity(record.len().min(options.max_columns));
            for (index, field) in record.iter().enumerate() {
                if index >= options.max_columns {
                    if !field.is_empty() {
                        overflow.record(number, index);
                    }
                    continue;
                }
                cells.push(self.field_cell(
                    field,
                    options.max_cell_chars,
                    &location.at_cell(number, index),
                    &mut bad_utf8,
                    warnings,
                ));
            }
            if sink.push(Row { number, cells })?.is_break() {
                return Ok(());
            }
        }
        if bad_utf8 > MAX_ENCODING_WARNINGS {
            warnings.push((
                location.clone(),
                format!(
                    "{} more fields were not valid UTF-8 and were read as Windows-1252; save the file as \"CSV UTF-8\"",
                    bad_utf8 - MAX_ENCODING_WARNINGS
                ),
            ));
        }
        if let Some(warning) = overflow.into_warning(location, options.max_columns) {
            warnings.push(warning);
        }
        Ok(())
    }

    fn field_cell(
        &self,
        field: &[u8],
        max_chars: usize,
        location: &Location,
        bad_utf8: &mut usize,
        warnings: &mut Vec<(Location, String)>,
    ) -> Cell {
        if field.is_empty() {
            return Cell::Empty;
        }
        let text = match std::str::from_utf8(field) {
            Ok(text) => Cow::Borrowed(text),
            // Only possible for UTF-8 plans: transcoded input is always valid.
            // A file that is UTF-8 at the start but has a stray Windows-1252
            // field later (hand-edited exports) is common; keep the data.
            Err(_) => {
                *bad_utf8 += 1;
                if *bad_utf8 <= MAX_ENCODING_WARNINGS {
                    warnings.push((
                        location.clone(),
                        "the field is not valid UTF-8 and was read as Windows-1252; check its special characters or save the file as \"CSV UTF-8\"".to_owned(),
                    ));
                }
                WINDOWS_1252.decode_without_bom_handling(field).0
            }
        };
        limit_text(&text, max_chars).unwrap_or_else(|| Cell::Text(text.into_owned()))
    }
}

fn encoding_of(encoding: TextEncoding) -> &'static Encoding {
    match encoding {
        TextEncoding::Utf8 => encoding_rs::UTF_8,
        TextEncoding::Utf16Le => UTF_16LE,
        TextEncoding::Utf16Be => UTF_16BE,
        TextEncoding::Windows1252 => WINDOWS_1252,
    }
}

fn csv_error(error: csv::Error, location: &Location, limit: u64) -> ReadError {
    if let csv::ErrorKind::Io(io_error) = error.kind() {
        if io_error
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<RecordTooLong>().is_some())
        {
            return ReadError::RecordTooLarge {
                location: location.clone(),
                limit_bytes: limit,
            };
        }
        return ReadError::corrupt(location, format!("reading failed: {io_error}"));
    }
    ReadError::corrupt(location, error)
}

/// Marker inside the `io::Error` a [`RecordGuard`] returns.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CSV record too long")
    }
}

impl std::error::Error for RecordTooLong {}

/// Fails the read once the current record has consumed more than `limit`
/// bytes, so a never-closed quote cannot pull a multi-gigabyte file into
/// one in-memory record. `record_start` is advanced after every record.
struct RecordGuard<R> {
    inner: R,
    delivered: u64,
    record_start: Rc<StdCell<u64>>,
    limit: u64,
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.delivered.saturating_sub(self.record_start.get()) > self.limit {
            return Err(io::Error::other(RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        self.delivered = self.delivered.saturating_add(n as u64);
        Ok(n)
    }
}

/// Converts a byte stream in some encoding to UTF-8 on the fly.
struct Transcoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Transcoder<R> {
    fn new(inner: R, encoding: &'static Encoding) -> Self {
        Transcoder {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 8 * 1024],
            in_start: 0,
            in_end: 0,
            // Three UTF-8 bytes per input byte covers the worst expansion
            // (Windows-1252 € → 3 bytes), plus room for a pending character.
            output: vec![0; 3 * 8 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.eof = n == 0;
                self.in_start = 0;
                self.in_end = n;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == CoderResult::InputEmpty {
                self.done = true;
            }
        }
    }
}

/// Chooses the delimiter: Excel's `sep=` line if present, otherwise the
/// candidate (comma, semicolon, tab) that gives the most lines the same
/// field count greater than one. Title lines and stray commas in text do
/// not disturb this, because only the most common count matters.
/// Returns the delimiter and whether the first line was a `sep=` hint.
fn sniff_delimiter(text: &str, truncated: bool, tab_hint: bool) -> (u8, bool) {
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or_default().trim();
    if first_line
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("sep="))
        && let Some(&delimiter) = first_line.as_bytes().get(4).or(Some(&b'\t'))
        && (delimiter.is_ascii_punctuation() || delimiter == b'\t' || delimiter == b' ')
        && delimiter != b'"'
    {
        return (delimiter, true);
    }

    // Per logical line (newlines inside quotes do not end a line), how often
    // each candidate occurs outside quotes.
    let mut lines: Vec<[usize; 3]> = Vec::new();
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut non_blank = false;
    for byte in text.bytes() {
        match byte {
            b'"' => {
                in_quotes = !in_quotes;
                non_blank = true;
            }
            b'\n' | b'\r' if !in_quotes => {
                if non_blank {
                    lines.push(counts);
                    if lines.len() > SNIFF_LINES {
                        break;
                    }
                }
                counts = [0; 3];
                non_blank = false;
            }
            _ if !in_quotes => {
                if let Some(slot) = CANDIDATES.iter().position(|&c| c == byte) {
                    counts[slot] += 1;
                }
                non_blank |= !byte.is_ascii_whitespace() || byte == b'\t';
            }
            _ => {}
        }
    }
    // A last line cut off by the sample limit would miscount; a complete
    // last line without a trailing newline still votes.
    if non_blank && !truncated && lines.len() <= SNIFF_LINES {
        lines.push(counts);
    }

    let mut best: Option<(usize, usize, usize)> = None; // (lines agreeing, count, slot)
    for slot in 0..CANDIDATES.len() {
        let mut frequency: std::collections::BTreeMap<usize, usize> = Default::default();
        for line in &lines {
            if line[slot] > 0 {
                *frequency.entry(line[slot]).or_default() += 1;
            }
        }
        let Some((count, agreeing)) = frequency
            .into_iter()
            .max_by_key(|&(count, agreeing)| (agreeing, count))
        else {
            continue;
        };
        let better = match best {
            None => true,
            Some((best_agreeing, best_count, best_slot)) => {
                (agreeing, count) > (best_agreeing, best_count)
                    || ((agreeing, count) == (best_agreeing, best_count)
                        && tab_hint
                        && CANDIDATES[slot] == b'\t'
                        && CANDIDATES[best_slot] != b'\t')
            }
        };
        if better {
            best = Some((agreeing, count, slot));
        }
    }
    match best {
        Some((_, _, slot)) => (CANDIDATES[slot], false),
        None if tab_hint => (b'\t', false),
        None => (b',', false),
    }
}

#[cfg(test)]
pub(super) mod tests_support {
    use super::*;

    /// A [`RecordGuard`] with a chosen limit, for tests of the guard.
    pub(in crate::client) fn guard<R: Read>(
        inner: R,
        record_start: &Rc<StdCell<u64>>,
        limit: u64,
    ) -> impl Read {
        RecordGuard {
            inner,
            delivered: 0,
            record_start: Rc::clone(record_start),
            limit,
        }
    }

    pub(in crate::client) fn map_error(
        error: csv::Error,
        location: &Location,
        limit: u64,
    ) -> ReadError {
        csv_error(error, location, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_sniffing() {
        assert_eq!(
            sniff_delimiter("a,b,c\n1,2,3\n", false, false),
            (b',', false)
        );
        assert_eq!(
            sniff_delimiter("a;b;c\n1,5;2;3\n4;5,5;6\n", false, false),
            (b';', false)
        );
        assert_eq!(
            sniff_delimiter("a\tb\n1\t2\n", false, false),
            (b'\t', false)
        );
        // A title line and commas inside quotes do not mislead.
        assert_eq!(
            sniff_delimiter(
                "Risk register, 2026\nID;Title;Owner\n1;\"a, b, c\";x\n2;y;z\n",
                false,
                false
            ),
            (b';', false)
        );
        // Quoted line breaks do not split lines.
        assert_eq!(
            sniff_delimiter(
                "ID;Text\n1;\"line one\nline, two, three\"\n2;x\n",
                false,
                false
            ),
            (b';', false)
        );
        assert_eq!(
            sniff_delimiter("sep=;\nID;Title\n", false, false),
            (b';', true)
        );
        assert_eq!(
            sniff_delimiter("single\ncolumn\n", false, true),
            (b'\t', false)
        );
        assert_eq!(sniff_delimiter("", false, false), (b',', false));
    }

    #[test]
    fn transcoder_decodes_across_buffer_boundaries() {
        let text = "Maßnahme – prüfen; ".repeat(2000);
        // encoding_rs only encodes to UTF-8 for UTF-16 labels; build it by hand.
        let bytes: Vec<u8> = text
            .encode_utf16()
            .flat_map(|unit| unit.to_le_bytes())
            .collect();
        let mut out = String::new();
        Transcoder::new(&bytes[..], UTF_16LE)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);

        let (cp1252, _, errors) = WINDOWS_1252.encode(&text);
        assert!(!errors);
        let mut out = String::new();
        Transcoder::new(&cp1252[..], WINDOWS_1252)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }
}
