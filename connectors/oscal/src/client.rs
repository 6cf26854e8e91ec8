//! Reading OSCAL files: format detection by content, size and depth limits, UTF-8, and the
//! JSON and XML parsers into the one typed [`Document`].
//!
//! A document is read once into memory (bounded by [`Limits::max_bytes`]) and parsed straight
//! into the typed structs: JSON through serde (no `Value` tree), XML as a stream of quick-xml
//! events. Every refusal names the place: a JSON path with line and column, or an XML line and
//! column.

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::path::Path;

use imsbridge_mappings::Mappings;

use crate::document::{Document, ModelKind, OTHER_MODELS};
use crate::error::{ErrorKind, Location, OscalError};
use crate::map::{Imported, MapOptions, map_document};
use crate::xml::XmlIn;

/// The two OSCAL serialisations read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Xml,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "json",
            Format::Xml => "xml",
        })
    }
}

/// Bounds on what an untrusted document may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest document read, in bytes. Default 256 MiB: the full NIST SP 800-53 catalog
    /// is 3 MB of JSON.
    pub max_bytes: u64,
    /// How deeply JSON objects and arrays, or XML elements, may nest. Default 64: real OSCAL
    /// nests about 20 levels deep.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// Reads a JSON string starting at `i` (at the opening quote); returns it (escapes kept
/// verbatim, which is enough to compare keys) and the index after the closing quote.
fn json_string(bytes: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match bytes.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some((bytes.get(i + 1..j)?, j + 1)),
            _ => j += 1,
        }
    }
}

/// The first key of a JSON object other than `$schema`, with its byte offset; `None` when
/// the text does not start with an object or ends before a key.
fn first_json_key(bytes: &[u8]) -> Option<(String, usize)> {
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    loop {
        i = skip_ws(bytes, i + 1);
        let start = i;
        let (key, next) = json_string(bytes, i)?;
        i = skip_ws(bytes, next);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        if key != b"$schema" {
            return Some((String::from_utf8_lossy(key).into_owned(), start));
        }
        i = skip_ws(bytes, i + 1);
        let (_, next) = json_string(bytes, i)?;
        i = skip_ws(bytes, next);
        if bytes.get(i) != Some(&b',') {
            return None;
        }
    }
}

/// The root element's local name in an XML prefix, skipping the declaration, comments,
/// processing instructions and a DOCTYPE (which the reader then refuses).
fn first_xml_element(bytes: &[u8]) -> Option<String> {
    let mut i = skip_ws(bytes, 0);
    loop {
        let rest = bytes.get(i..)?;
        if rest.starts_with(b"<?") {
            i += rest.windows(2).position(|w| w == b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i += rest.windows(3).position(|w| w == b"-->")? + 3;
        } else if rest.starts_with(b"<!DOCTYPE") {
            // The name after DOCTYPE is the root's.
            let after = rest.get(9..)?;
            let start = skip_ws(after, 0);
            let name: Vec<u8> = after
                .get(start..)?
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'[' | b'>'))
                .copied()
                .collect();
            let name = String::from_utf8_lossy(&name).into_owned();
            return Some(name.rsplit(':').next().unwrap_or_default().to_string());
        } else if rest.starts_with(b"<") {
            let name: Vec<u8> = rest
                .get(1..)?
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'/'))
                .copied()
                .collect();
            if name.is_empty() || rest.len() <= name.len() + 1 {
                return None;
            }
            let name = String::from_utf8_lossy(&name).into_owned();
            return Some(name.rsplit(':').next().unwrap_or_default().to_string());
        } else {
            return None;
        }
        i = skip_ws(bytes, i);
    }
}

fn is_oscal_root(name: &str) -> bool {
    ModelKind::from_root_name(name).is_some() || OTHER_MODELS.contains(&name)
}

/// Whether bytes (the first few KiB of a file are enough) are an OSCAL document, and in which
/// format: JSON whose first key is an OSCAL model (`catalog`, `profile`,
/// `plan-of-action-and-milestones`, `assessment-results`, `mapping-collection`, and the models
/// imsbridge refuses with a clear message: `system-security-plan`, `component-definition`,
/// `assessment-plan`), or XML whose root element is one.
///
/// ```
/// use imsbridge_connector_oscal::{Format, detect};
///
/// assert_eq!(detect(br#"{ "catalog": { "uuid": "#), Some(Format::Json));
/// assert_eq!(detect(b"<?xml version=\"1.0\"?>\n<plan-of-action-and-milestones xmlns="), Some(Format::Xml));
/// assert_eq!(detect(br#"{"risks": []}"#), None);
/// ```
pub fn detect(prefix: &[u8]) -> Option<Format> {
    let bytes = prefix.strip_prefix(BOM).unwrap_or(prefix);
    match bytes.get(skip_ws(bytes, 0))? {
        b'{' => first_json_key(bytes)
            .filter(|(k, _)| is_oscal_root(k))
            .map(|_| Format::Json),
        b'<' => first_xml_element(bytes)
            .filter(|n| is_oscal_root(n))
            .map(|_| Format::Xml),
        _ => None,
    }
}

/// Reads and parses a file.
pub fn parse_path(path: &Path, limits: &Limits) -> Result<(Document, Format), OscalError> {
    let source = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| OscalError::io(path, e))?;
    if meta.len() > limits.max_bytes {
        return Err(too_large(&source, limits));
    }
    let file = std::fs::File::open(path).map_err(|e| OscalError::io(path, e))?;
    let bytes = read_bounded(file, &source, limits).map_err(|e| match e {
        Bounded::TooLarge(err) => err,
        Bounded::Io(io) => OscalError::io(path, io),
    })?;
    parse_bytes(&bytes, &source, limits)
}

/// Reads and parses a document from any reader; `source` names it in messages.
pub fn parse_reader(
    reader: impl Read,
    source: &str,
    limits: &Limits,
) -> Result<(Document, Format), OscalError> {
    let bytes = read_bounded(reader, source, limits).map_err(|e| match e {
        Bounded::TooLarge(err) => err,
        Bounded::Io(io) => OscalError {
            kind: ErrorKind::Io,
            location: Location::file(source),
            message: format!("cannot read: {io}"),
            source: Some(io),
        },
    })?;
    parse_bytes(&bytes, source, limits)
}

enum Bounded {
    TooLarge(OscalError),
    Io(std::io::Error),
}

fn too_large(source: &str, limits: &Limits) -> OscalError {
    OscalError::new(
        ErrorKind::TooLarge,
        Location::file(source),
        format!(
            "the document is larger than {} MiB, the configured limit: raise it (max_size_mib) if the file is genuine",
            limits.max_bytes / (1024 * 1024)
        ),
    )
}

fn read_bounded(reader: impl Read, source: &str, limits: &Limits) -> Result<Vec<u8>, Bounded> {
    let mut bytes = Vec::new();
    // One byte more than allowed tells a file at the limit from a larger one.
    reader
        .take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(Bounded::TooLarge(too_large(source, limits)));
    }
    Ok(bytes)
}

/// Parses a document held in memory.
pub fn parse_bytes(
    bytes: &[u8],
    source: &str,
    limits: &Limits,
) -> Result<(Document, Format), OscalError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(source, limits));
    }
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let byte = bytes.get(offset).copied().unwrap_or_default();
        let message = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            "the file is UTF-16; OSCAL documents are read as UTF-8 (convert the file)".to_string()
        } else {
            format!(
                "invalid UTF-8 (byte 0x{byte:02X} at offset {offset}): OSCAL documents must be UTF-8"
            )
        };
        OscalError::new(
            ErrorKind::Encoding,
            Location::at_offset(source, bytes, offset),
            message,
        )
    })?;
    match bytes.get(skip_ws(bytes, 0)) {
        Some(b'{') => parse_json(text, source, limits).map(|d| (d, Format::Json)),
        Some(b'<') => parse_xml(text, source, limits).map(|d| (d, Format::Xml)),
        Some(_) => Err(OscalError::new(
            ErrorKind::NotOscal,
            Location::at_offset(source, bytes, skip_ws(bytes, 0)),
            "neither JSON nor XML: an OSCAL document starts with { or <",
        )),
        None => Err(OscalError::new(
            ErrorKind::NotOscal,
            Location::file(source),
            "the file is empty",
        )),
    }
}

/// A reader over the JSON text that counts object and array nesting as serde_json consumes
/// it, and fails once it goes deeper than the limit — before serde recurses, and with the path
/// serde_path_to_error is at.
struct DepthGuard<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    max: usize,
    in_string: bool,
    escaped: bool,
    tripped: &'a Cell<bool>,
}

impl Read for DepthGuard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let Some(&b) = self.bytes.get(self.pos) else {
                break;
            };
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        self.depth += 1;
                        if self.depth > self.max {
                            if n > 0 {
                                // Deliver what came before; the next read fails.
                                self.depth -= 1;
                                return Ok(n);
                            }
                            self.tripped.set(true);
                            return Err(std::io::Error::other("nesting limit"));
                        }
                    }
                    b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
            }
            if let Some(slot) = buf.get_mut(n) {
                *slot = b;
            }
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

fn parse_json(text: &str, source: &str, limits: &Limits) -> Result<Document, OscalError> {
    let bytes = text.as_bytes();
    // A root that is no OSCAL model is named as such, not as a schema error.
    if let Some((key, offset)) = first_json_key(bytes) {
        if OTHER_MODELS.contains(&key.as_str()) {
            let mut location = Location::at_offset(source, bytes, offset);
            location.path = Some(key.clone());
            return Err(OscalError::new(
                ErrorKind::UnsupportedModel,
                location,
                format!(
                    "an OSCAL {key} is not read by imsbridge: import a catalog, profile, plan-of-action-and-milestones or assessment-results"
                ),
            ));
        }
        if ModelKind::from_root_name(&key).is_none() {
            let mut location = Location::at_offset(source, bytes, offset);
            location.path = Some(key.clone());
            return Err(OscalError::new(
                ErrorKind::NotOscal,
                location,
                format!(
                    "{key:?} is not an OSCAL model: the document's one key must be catalog, profile, plan-of-action-and-milestones, assessment-results or mapping-collection"
                ),
            ));
        }
    }
    let tripped = Cell::new(false);
    let guard = DepthGuard {
        bytes,
        pos: 0,
        depth: 0,
        max: limits.max_depth,
        in_string: false,
        escaped: false,
        tripped: &tripped,
    };
    // Buffered, so that serde_json takes bytes from a buffer rather than a read call each.
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, guard));
    let doc: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.into_inner(), source, limits, tripped.get())
    })?;
    de.end()
        .map_err(|e| json_error(".", e, source, limits, tripped.get()))?;
    Ok(doc)
}

fn json_error(
    path: &str,
    inner: serde_json::Error,
    source: &str,
    limits: &Limits,
    too_deep: bool,
) -> OscalError {
    let (line, column) = (inner.line() as u64, inner.column() as u64);
    // serde_json appends " at line L column C"; the location says it already.
    let full = inner.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m)
        .to_string();
    // "?" is a key serde had not read yet (the input ended or broke inside it): the object
    // holding it is the place to name.
    let path = path.strip_suffix(".?").unwrap_or(path);
    let mut path = (path != "." && path != "?").then(|| path.to_string());
    let (kind, message) = if too_deep {
        (
            ErrorKind::TooDeep,
            format!(
                "objects and arrays nested deeper than {} levels: refused (a document this deep is malformed or hostile)",
                limits.max_depth
            ),
        )
    } else {
        match inner.classify() {
            serde_json::error::Category::Eof => (
                ErrorKind::Truncated,
                "the document ends early: the file is truncated".to_string(),
            ),
            serde_json::error::Category::Syntax => {
                (ErrorKind::Syntax, format!("not valid JSON: {message}"))
            }
            serde_json::error::Category::Io => (ErrorKind::Io, message),
            serde_json::error::Category::Data => {
                // "missing field `id`" is about the field, not the object holding it.
                if let Some(field) = message
                    .strip_prefix("missing field `")
                    .and_then(|r| r.strip_suffix('`'))
                {
                    path = Some(match path {
                        Some(p) => format!("{p}.{field}"),
                        None => field.to_string(),
                    });
                    (
                        ErrorKind::Invalid,
                        format!("missing: `{field}` is required here by OSCAL"),
                    )
                } else {
                    (ErrorKind::Invalid, message)
                }
            }
        }
    };
    let location = Location {
        source: source.to_string(),
        path,
        line: (line > 0).then_some((line, column)),
    };
    OscalError::new(kind, location, message)
}

fn parse_xml(text: &str, source: &str, limits: &Limits) -> Result<Document, OscalError> {
    let mut x = XmlIn::new(text, limits.max_depth);
    Document::read_xml(&mut x).map_err(|e| {
        let offset = usize::try_from(e.offset).unwrap_or(usize::MAX);
        OscalError::new(
            e.kind,
            Location::at_offset(source, text.as_bytes(), offset),
            e.message,
        )
    })
}

/// The typed document of a JSON text, with the default limits (for tests and tools).
pub fn from_json_str(text: &str) -> Result<Document, OscalError> {
    parse_json(text, "<json>", &Limits::default())
}

/// The typed document of an XML text, with the default limits (for tests and tools).
pub fn from_xml_str(text: &str) -> Result<Document, OscalError> {
    parse_xml(text, "<xml>", &Limits::default())
}

// ---------------------------------------------------------------------------------------------
// Into records

/// How to read documents into records.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub limits: Limits,
    pub map: MapOptions,
}

/// Reads an OSCAL file (JSON or XML, told apart by content) into records of `system`, with
/// the default limits and options and the built-in mapping data.
pub fn read_path(path: &Path, system: &str) -> Result<Imported, OscalError> {
    let mappings = Mappings::embedded().map_err(|e| {
        OscalError::new(
            ErrorKind::Mappings,
            Location::file(&path.display().to_string()),
            format!("the built-in mapping data did not load: {e}"),
        )
    })?;
    read_path_with(path, system, &ReadOptions::default(), &mappings)
}

/// Reads an OSCAL file into records of `system`.
pub fn read_path_with(
    path: &Path,
    system: &str,
    options: &ReadOptions,
    mappings: &Mappings,
) -> Result<Imported, OscalError> {
    let (doc, format) = parse_path(path, &options.limits)?;
    let source = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(map_document(
        &doc,
        format,
        &source,
        system,
        &options.map,
        mappings,
    ))
}

/// Reads an OSCAL document from a reader; `source` names it in locations.
pub fn read_reader(
    reader: impl Read,
    source: &str,
    system: &str,
    options: &ReadOptions,
    mappings: &Mappings,
) -> Result<Imported, OscalError> {
    let (doc, format) = parse_reader(reader, source, &options.limits)?;
    Ok(map_document(
        &doc,
        format,
        source,
        system,
        &options.map,
        mappings,
    ))
}

/// Reads an OSCAL document held in memory.
pub fn read_bytes(
    bytes: &[u8],
    source: &str,
    system: &str,
    options: &ReadOptions,
    mappings: &Mappings,
) -> Result<Imported, OscalError> {
    let (doc, format) = parse_bytes(bytes, source, &options.limits)?;
    Ok(map_document(
        &doc,
        format,
        source,
        system,
        &options.map,
        mappings,
    ))
}
