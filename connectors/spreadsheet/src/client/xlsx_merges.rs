//! Fast path to the merged regions of an XLSX sheet.
//!
//! Merges are stored after the cell data in the sheet XML, so they must be
//! known before streaming the cells. calamine finds them by parsing the whole
//! sheet as XML, which costs about as much as reading the cells a second
//! time (≈3 s for a million cells). Here the sheet part is only inflated and
//! scanned for `<mergeCell ref="…"/>` tags — roughly ten times faster.
//!
//! Locating the sheet part means following the package relationships
//! (`_rels/.rels` → workbook → workbook rels → sheet), as calamine does.
//! Anything unexpected returns `None` and the caller falls back to calamine,
//! so this can only ever be faster, not different.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use zip::ZipArchive;

use super::header::Merge;

/// Control parts (rels, workbook.xml) larger than this are not parsed here.
const CONTROL_PART_LIMIT: u64 = 16 * 1024 * 1024;
/// A single tag longer than this means the scan is off track.
const MAX_TAG_BYTES: usize = 64 * 1024;

/// The merged regions of `sheet`, or `None` when the fast path does not
/// apply (the caller then asks calamine).
pub(super) fn merges(path: &Path, sheet: &str) -> Option<Vec<Merge>> {
    let file = File::open(path).ok()?;
    let mut zip = ZipArchive::new(BufReader::new(file)).ok()?;
    // Part names are case-insensitive in OPC packages.
    let names: HashMap<String, String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|name| (name.to_ascii_lowercase(), name.into_owned()))
        .collect();
    let part = sheet_part(&mut zip, &names, sheet)?;
    let entry = zip.by_name(&part).ok()?;
    scan(entry)
}

/// Resolves a sheet name to its part path in the package.
fn sheet_part(
    zip: &mut ZipArchive<BufReader<File>>,
    names: &HashMap<String, String>,
    sheet: &str,
) -> Option<String> {
    let mut read = |part: &str| -> Option<String> {
        let actual = names.get(&part.trim_start_matches('/').to_ascii_lowercase())?;
        let entry = zip.by_name(actual).ok()?;
        let mut bytes = Vec::new();
        entry
            .take(CONTROL_PART_LIMIT)
            .read_to_end(&mut bytes)
            .ok()?;
        String::from_utf8(bytes).ok()
    };

    let package_rels = read("_rels/.rels")?;
    let workbook = tags(&package_rels, "Relationship")
        .find(|attrs| attr(attrs, "Type").is_some_and(|t| t.ends_with("/officeDocument")))
        .and_then(|attrs| attr(&attrs, "Target"))
        .unwrap_or_else(|| "xl/workbook.xml".to_owned());
    let workbook = workbook.trim_start_matches('/').to_owned();
    let (dir, file) = match workbook.rfind('/') {
        Some(at) => (workbook[..=at].to_owned(), workbook[at + 1..].to_owned()),
        None => (String::new(), workbook.clone()),
    };

    let rels = read(&format!("{dir}_rels/{file}.rels"))?;
    let targets: HashMap<String, String> = tags(&rels, "Relationship")
        .filter_map(|attrs| Some((attr(&attrs, "Id")?, attr(&attrs, "Target")?)))
        .collect();

    let workbook_xml = read(&workbook)?;
    let target = tags(&workbook_xml, "sheet")
        .find(|attrs| attr(attrs, "name").as_deref() == Some(sheet))
        .and_then(|attrs| {
            attrs
                .iter()
                .find(|(key, _)| key == "id" || key.ends_with(":id"))
                .map(|(_, value)| value.clone())
        })
        .and_then(|id| targets.get(&id).cloned())?;
    let part = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("{dir}{target}"),
    };
    names.get(&part.to_ascii_lowercase()).cloned()
}

/// The attributes of every element with this local name (any prefix).
fn tags<'a>(xml: &'a str, local: &'a str) -> impl Iterator<Item = Vec<(String, String)>> + 'a {
    let mut rest = xml;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find('<')?;
            let after = &rest[start + 1..];
            let end = after.find('>')?;
            let tag = &after[..end];
            rest = &after[end..];
            let name_len = tag
                .find(|c: char| c.is_whitespace() || c == '/')
                .unwrap_or(tag.len());
            let name = &tag[..name_len];
            let local_name = name.rsplit(':').next().unwrap_or(name);
            if local_name == local {
                return Some(attributes(&tag[name_len..]));
            }
        }
    })
}

/// Parses `key="value" key2='value2'` pairs, unescaping values.
fn attributes(mut text: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    loop {
        text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        let Some(eq) = text.find('=') else {
            return attrs;
        };
        let key = text[..eq].trim().to_owned();
        let after = text[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return attrs;
        };
        let value_text = &after[1..];
        let Some(close) = value_text.find(quote) else {
            return attrs;
        };
        attrs.push((key, unescape(&value_text[..close])));
        text = &value_text[close + 1..];
    }
}

fn attr(attrs: &[(String, String)], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.clone())
}

/// XML entity references in attribute values (`&amp;` in "R&amp;D").
fn unescape(value: &str) -> String {
    if !value.contains('&') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|&semi| semi <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Streams a sheet part and collects every `<mergeCell ref="A1:B2"/>`.
fn scan<R: Read>(mut reader: R) -> Option<Vec<Merge>> {
    const KEY: &[u8] = b"mergeCell";
    let mut merges = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = reader.read(&mut chunk).ok()?;
        let at_end = n == 0;
        pending.extend_from_slice(&chunk[..n]);
        let mut from = 0;
        // Where the unprocessed tail starts; kept for the next chunk.
        let mut keep = pending.len().saturating_sub(KEY.len() + 64);
        while let Some(offset) = find(&pending[from..], KEY) {
            let at = from + offset;
            let Some(open) = tag_start(&pending, at) else {
                from = at + KEY.len();
                continue;
            };
            let name_end = at + KEY.len();
            // `<mergeCells count="…">` is the container, not a region.
            if pending
                .get(name_end)
                .is_some_and(|b| !(b.is_ascii_whitespace() || *b == b'/'))
            {
                from = name_end;
                continue;
            }
            let Some(close) = pending[name_end..].iter().position(|&b| b == b'>') else {
                // The tag continues in the next chunk.
                keep = keep.min(open);
                break;
            };
            let tag = String::from_utf8_lossy(&pending[name_end..name_end + close]);
            let merge = attr(&attributes(&tag), "ref").and_then(|r| parse_range(&r))?;
            merges.push(merge);
            from = name_end + close + 1;
            keep = keep.max(from);
        }
        if at_end {
            return Some(merges);
        }
        keep = keep.min(pending.len());
        pending.drain(..keep);
        if pending.len() > MAX_TAG_BYTES {
            return None;
        }
    }
}

/// The `<` that opens the element whose name ends at `at`, allowing a
/// namespace prefix (`<x:mergeCell`). Text content cannot hold a raw `<`,
/// so this only matches markup.
fn tag_start(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at.checked_sub(1)?;
    if bytes[i] == b'<' {
        return Some(i);
    }
    if bytes[i] != b':' {
        return None;
    }
    loop {
        i = i.checked_sub(1)?;
        match bytes[i] {
            b'<' => return Some(i),
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' => {}
            _ => return None,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(pos) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + pos;
        if haystack.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `"B3:D5"` → rows 3..=5 (1-based), columns 1..=3; a single cell `"B3"`
/// is a one-cell region.
fn parse_range(text: &str) -> Option<Merge> {
    let (start, end) = text.split_once(':').unwrap_or((text, text));
    let (r1, c1) = parse_cell(start)?;
    let (r2, c2) = parse_cell(end)?;
    Some(Merge {
        first_row: r1.min(r2),
        last_row: r1.max(r2),
        first_col: c1.min(c2),
        last_col: c1.max(c2),
    })
}

/// `"AB12"` → (12, 27). `$` markers are ignored.
fn parse_cell(text: &str) -> Option<(u32, usize)> {
    let text = text.trim().replace('$', "");
    let letters = text.chars().take_while(char::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let mut column = 0usize;
    for c in text[..letters].chars() {
        column = column * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1);
    }
    let row: u32 = text[letters..].parse().ok()?;
    (row >= 1).then_some((row, column - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_merge_tags_across_chunk_boundaries() {
        let mut xml = String::from("<worksheet><sheetData>");
        // Push the merges past the first 64 KiB chunk.
        for i in 0..3000 {
            xml.push_str(&format!("<row r=\"{i}\"><c r=\"A{i}\" t=\"inlineStr\"><is><t>mergeCell text: x</t></is></c></row>"));
        }
        xml.push_str("</sheetData><mergeCells count=\"3\"><mergeCell ref=\"A1:A3\"/><x:mergeCell ref='$B$2:C2' /><mergeCell ref=\"D5\"/></mergeCells></worksheet>");
        let merges = scan(xml.as_bytes()).unwrap();
        assert_eq!(
            merges,
            [
                Merge {
                    first_row: 1,
                    last_row: 3,
                    first_col: 0,
                    last_col: 0
                },
                Merge {
                    first_row: 2,
                    last_row: 2,
                    first_col: 1,
                    last_col: 2
                },
                Merge {
                    first_row: 5,
                    last_row: 5,
                    first_col: 3,
                    last_col: 3
                },
            ]
        );
        // Every split point of the tail gives the same result.
        let tail = "<a>x</a><mergeCells><mergeCell ref=\"AA10:AB12\"/></mergeCells>";
        for split in 0..tail.len() {
            let reader = &tail.as_bytes()[..split];
            let reader = reader.chain(&tail.as_bytes()[split..]);
            let merges = scan(reader).unwrap();
            assert_eq!(
                merges,
                [Merge {
                    first_row: 10,
                    last_row: 12,
                    first_col: 26,
                    last_col: 27
                }]
            );
        }
    }

    #[test]
    fn malformed_refs_fall_back() {
        assert!(scan(&b"<mergeCell ref=\"A0:B1\"/>"[..]).is_none());
        assert!(scan(&b"<mergeCell ref=\"1A:B1\"/>"[..]).is_none());
        assert_eq!(parse_cell("XFD1048576"), Some((1_048_576, 16_383)));
        assert_eq!(
            unescape("R&amp;D &lt;1&gt; &#228;&#xE4; &bogus; &"),
            "R&D <1> ää &bogus; &"
        );
    }
}
