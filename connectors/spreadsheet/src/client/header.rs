//! Header detection and the hand-over of rows to the caller.
//!
//! Registers rarely start at A1: a title, a logo row, a "last reviewed"
//! line and an empty row come first; headers are often two rows ("Inherent"
//! merged over "Likelihood | Impact"). The caller's `score` says how many
//! names of a candidate row it recognises; the best row wins, and group
//! labels above it are kept only when they make the names *more*
//! recognisable — which is what rejects a title row sitting above the header.

use std::ops::ControlFlow;

use super::error::{BestCandidate, GENERIC_EXPECTED};
use super::{Column, Header, Location, ReadError, Row, RowSink, column_letter};
use crate::config::ReadOptions;

/// A merged region. Rows are 1-based like [`Row::number`], columns 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Merge {
    pub first_row: u32,
    pub last_row: u32,
    pub first_col: usize,
    pub last_col: usize,
}

/// Without merge information, a group label is carried right across at most
/// this many columns; group labels never span more in real registers, and
/// the bound keeps the number of `score` calls small.
const MAX_CARRY: usize = 32;

/// How many cells of the best candidate row a `NoHeader` error quotes.
const QUOTED_CELLS: usize = 6;
const QUOTED_CELL_CHARS: usize = 40;

/// Buffers the first rows until the header is known, then streams.
pub(super) struct TableAssembler<'a, E> {
    location: Location,
    scan_rows: usize,
    score: &'a dyn Fn(&[String]) -> usize,
    on_header: &'a mut dyn FnMut(&Header) -> Result<(), E>,
    on_row: &'a mut dyn FnMut(Row) -> ControlFlow<()>,
    merges: Vec<Merge>,
    carry_labels: bool,
    state: State,
    rows: u64,
}

enum State {
    /// Collecting candidate rows; bounded by `header_scan_rows`.
    Scanning(Vec<Row>),
    Streaming {
        last_header_row: u32,
    },
    /// The caller asked to stop.
    Stopped,
}

impl<'a, E: From<ReadError>> TableAssembler<'a, E> {
    /// `merges` are the sheet's merged regions (empty when unknown);
    /// `has_merge_info` says whether the format can report them at all —
    /// without it, group labels are carried right across empty cells.
    pub(super) fn new(
        location: Location,
        options: &ReadOptions,
        score: &'a dyn Fn(&[String]) -> usize,
        on_header: &'a mut dyn FnMut(&Header) -> Result<(), E>,
        on_row: &'a mut dyn FnMut(Row) -> ControlFlow<()>,
        merges: Vec<Merge>,
        has_merge_info: bool,
    ) -> Self {
        TableAssembler {
            location,
            scan_rows: options.header_scan_rows.max(1),
            score,
            on_header,
            on_row,
            merges,
            carry_labels: !has_merge_info,
            state: State::Scanning(Vec::new()),
            rows: 0,
        }
    }

    /// Ends the table: decides the header if the sheet was shorter than the
    /// scan window. Returns the number of rows passed on.
    pub(super) fn finish(mut self) -> Result<u64, E> {
        if let State::Scanning(_) = self.state {
            // At the end of the sheet a Break from the caller changes nothing.
            let _flow = self.decide()?;
        }
        Ok(self.rows)
    }

    fn decide(&mut self) -> Result<ControlFlow<()>, E> {
        let buffered = match std::mem::replace(&mut self.state, State::Stopped) {
            State::Scanning(rows) => rows,
            other => {
                self.state = other;
                return Ok(ControlFlow::Continue(()));
            }
        };
        let choice = choose_header(&buffered, &self.merges, self.carry_labels, self.score);
        let Some(choice) = choice.filter(|choice| choice.score >= 2) else {
            let best = best_candidate(&buffered, self.score);
            return Err(E::from(ReadError::NoHeader {
                location: self.location.clone(),
                scanned_rows: buffered.len(),
                expected: GENERIC_EXPECTED.to_owned(),
                best,
            }));
        };
        let header_row = &buffered[choice.index];
        let header = Header {
            first_row: if choice.combined && choice.index > 0 {
                buffered[choice.index - 1].number
            } else {
                header_row.number
            },
            last_row: header_row.number,
            columns: finish_names(choice.names),
        };
        tracing::debug!(
            location = %self.location.at_row(header.last_row),
            columns = header.columns.len(),
            score = choice.score,
            "header found"
        );
        (self.on_header)(&header)?;
        self.state = State::Streaming {
            last_header_row: header.last_row,
        };
        for row in buffered.into_iter().skip(choice.index + 1) {
            if self.emit(row).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn emit(&mut self, row: Row) -> ControlFlow<()> {
        match self.state {
            State::Streaming { last_header_row } if row.number > last_header_row => {
                self.rows += 1;
                let flow = (self.on_row)(row);
                if flow.is_break() {
                    self.state = State::Stopped;
                }
                flow
            }
            // Out-of-order rows above the header (malformed files) are dropped.
            State::Streaming { .. } => ControlFlow::Continue(()),
            _ => ControlFlow::Break(()),
        }
    }
}

impl<E: From<ReadError>> RowSink for TableAssembler<'_, E> {
    type Error = E;

    fn push(&mut self, row: Row) -> Result<ControlFlow<()>, E> {
        if row.is_blank() {
            return Ok(ControlFlow::Continue(()));
        }
        match &mut self.state {
            State::Scanning(rows) => {
                rows.push(row);
                if rows.len() >= self.scan_rows {
                    return self.decide();
                }
                Ok(ControlFlow::Continue(()))
            }
            State::Streaming { .. } => Ok(self.emit(row)),
            State::Stopped => Ok(ControlFlow::Break(())),
        }
    }
}

/// The chosen header row.
#[derive(Debug)]
struct Choice {
    index: usize,
    score: usize,
    /// Names before placeholders and de-duplication.
    names: Vec<String>,
    /// True when the row above was combined in as group labels.
    combined: bool,
}

/// Picks the best-scoring row; ties go to the earlier row.
fn choose_header(
    rows: &[Row],
    merges: &[Merge],
    carry: bool,
    score: &dyn Fn(&[String]) -> usize,
) -> Option<Choice> {
    let mut best: Option<Choice> = None;
    for (index, row) in rows.iter().enumerate() {
        let names = row_texts(row);
        let plain = score(&names);
        let mut candidate = Choice {
            index,
            score: plain,
            names,
            combined: false,
        };
        if let Some(above) = index.checked_sub(1).map(|i| &rows[i])
            && above.number.checked_add(1) == Some(row.number)
            && let Some((names, combined)) =
                combine_group_row(above, row, &candidate.names, merges, carry, score)
            && combined > plain
        {
            candidate = Choice {
                index,
                score: combined,
                names,
                combined: true,
            };
        }
        if best
            .as_ref()
            .is_none_or(|best| candidate.score > best.score)
        {
            best = Some(candidate);
        }
    }
    best
}

/// A group label and the header columns it may apply to.
struct Segment {
    label: String,
    first: usize,
    /// Longest span to try; with merges exactly the merged width.
    max_len: usize,
    /// With merges the span is known and only the full width is tried.
    fixed: bool,
}

/// Tries to read `above` as a row of group labels over `header`.
///
/// Returns the combined names and their score when at least one label
/// raised the score. Labels are accepted one at a time, each over the span
/// that scores best (shortest on ties), so one good group ("Inherent" over
/// "Likelihood | Impact") is kept even next to a useless one.
fn combine_group_row(
    above: &Row,
    header: &Row,
    header_names: &[String],
    merges: &[Merge],
    carry: bool,
    score: &dyn Fn(&[String]) -> usize,
) -> Option<(Vec<String>, usize)> {
    let mut labels = row_texts(above);
    if labels.iter().all(String::is_empty) {
        return None;
    }
    let width = labels.len().max(header_names.len());
    labels.resize(width, String::new());
    let mut names = header_names.to_vec();
    names.resize(width, String::new());

    let mut segments = Vec::new();
    let mut assigned = vec![false; width];
    for merge in merges {
        // Only horizontal merges that cover the group row but not the header
        // row are group labels; a block over both rows is a single name and
        // already filled down into the header row.
        let horizontal = merge.last_col > merge.first_col;
        let covers_group = merge.first_row <= above.number && above.number <= merge.last_row;
        if !horizontal || !covers_group || merge.last_row >= header.number {
            continue;
        }
        if merge.first_col >= width {
            continue;
        }
        let last = merge.last_col.min(width - 1);
        for slot in &mut assigned[merge.first_col..=last] {
            *slot = true;
        }
        let label = labels[merge.first_col].clone();
        if !label.is_empty() {
            segments.push(Segment {
                label,
                first: merge.first_col,
                max_len: last - merge.first_col + 1,
                fixed: true,
            });
        }
    }
    for column in 0..width {
        if assigned[column] || labels[column].is_empty() {
            continue;
        }
        let mut end = column;
        if carry {
            while end + 1 < width
                && end + 1 - column < MAX_CARRY
                && !assigned[end + 1]
                && labels[end + 1].is_empty()
                && !names[end + 1].is_empty()
            {
                end += 1;
            }
        }
        segments.push(Segment {
            label: labels[column].clone(),
            first: column,
            max_len: end - column + 1,
            fixed: false,
        });
    }

    let base = score(&names);
    let mut current = base;
    for segment in segments {
        let original: Vec<String> = names[segment.first..segment.first + segment.max_len].to_vec();
        let mut best: Option<(usize, usize)> = None;
        let lengths = if segment.fixed {
            segment.max_len..=segment.max_len
        } else {
            1..=segment.max_len
        };
        // Lengths grow by one column at a time, so each step changes one name.
        for len in lengths {
            let from = if segment.fixed { 0 } else { len - 1 };
            for offset in from..len {
                names[segment.first + offset] = combine_name(&segment.label, &original[offset]);
            }
            let value = score(&names);
            if value > best.map_or(current, |(_, value)| value) {
                best = Some((len, value));
            }
        }
        names[segment.first..segment.first + segment.max_len].clone_from_slice(&original);
        if let Some((len, value)) = best {
            for offset in 0..len {
                names[segment.first + offset] = combine_name(&segment.label, &original[offset]);
            }
            current = value;
        }
    }
    (current > base).then_some((names, current))
}

/// "Inherent" + "Likelihood" → "Inherent Likelihood"; a label over an empty
/// cell becomes the name; a label repeating the name adds nothing.
fn combine_name(label: &str, name: &str) -> String {
    if name.is_empty() {
        return label.to_owned();
    }
    let lower_name = name.to_lowercase();
    let lower_label = label.to_lowercase();
    if lower_name == lower_label || lower_name.starts_with(&format!("{lower_label} ")) {
        name.to_owned()
    } else {
        format!("{label} {name}")
    }
}

/// Cells as text with whitespace (including line breaks and non-breaking
/// spaces) collapsed, the form `score` sees.
fn row_texts(row: &Row) -> Vec<String> {
    let mut texts: Vec<String> = row
        .cells
        .iter()
        .map(|cell| normalize(&cell.to_text()))
        .collect();
    while texts.last().is_some_and(String::is_empty) {
        texts.pop();
    }
    texts
}

pub(super) fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Placeholders for empty names and suffixes for repeated ones.
fn finish_names(mut names: Vec<String>) -> Vec<Column> {
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    // Compared case-insensitively: the mapper matches names that way, so
    // "Impact" and "impact" would otherwise be indistinguishable to it.
    let mut used = std::collections::HashSet::new();
    names
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let letter = column_letter(index);
            let base = if name.is_empty() {
                format!("Column {letter}")
            } else {
                name
            };
            let mut name = base.clone();
            let mut count = 1;
            while used.contains(&name.to_lowercase()) {
                count += 1;
                name = format!("{base} ({count})");
            }
            used.insert(name.to_lowercase());
            Column {
                index,
                letter,
                name,
            }
        })
        .collect()
}

/// The row that came closest, for the `NoHeader` message.
fn best_candidate(rows: &[Row], score: &dyn Fn(&[String]) -> usize) -> Option<Box<BestCandidate>> {
    let mut best: Option<(usize, &Row, Vec<String>)> = None;
    for row in rows {
        let texts = row_texts(row);
        let value = score(&texts);
        if best.as_ref().is_none_or(|(best, ..)| value > *best) {
            best = Some((value, row, texts));
        }
    }
    best.map(|(score, row, texts)| {
        Box::new(BestCandidate {
            row: row.number,
            score,
            cells: texts
                .into_iter()
                .filter(|text| !text.is_empty())
                .take(QUOTED_CELLS)
                .map(|text| {
                    if text.chars().count() > QUOTED_CELL_CHARS {
                        let short: String = text.chars().take(QUOTED_CELL_CHARS).collect();
                        format!("{short}…")
                    } else {
                        text
                    }
                })
                .collect(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cell;

    fn row(number: u32, cells: &[&str]) -> Row {
        Row {
            number,
            cells: cells
                .iter()
                .map(|text| {
                    if text.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text((*text).to_owned())
                    }
                })
                .collect(),
        }
    }

    const KNOWN: [&str; 9] = [
        "id",
        "title",
        "owner",
        "inherent likelihood",
        "inherent impact",
        "residual likelihood",
        "residual impact",
        "status",
        "likelihood",
    ];

    fn score(names: &[String]) -> usize {
        let mut found: Vec<String> = names
            .iter()
            .map(|name| name.to_lowercase())
            .filter(|name| KNOWN.contains(&name.as_str()))
            .collect();
        found.sort();
        found.dedup();
        found.len()
    }

    #[test]
    fn carries_labels_without_merges_and_rejects_a_title_row() {
        let rows = [
            row(1, &["Risk Register 2026"]),
            row(2, &["ID", "Title", "Inherent", "", "Residual", "", "Owner"]),
            row(
                3,
                &["", "", "Likelihood", "Impact", "Likelihood", "Impact", ""],
            ),
        ];
        let choice = choose_header(&rows, &[], true, &score).unwrap();
        assert_eq!(choice.index, 2);
        assert!(choice.combined);
        let names: Vec<String> = finish_names(choice.names)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "ID",
                "Title",
                "Inherent Likelihood",
                "Inherent Impact",
                "Residual Likelihood",
                "Residual Impact",
                "Owner"
            ]
        );

        // A title directly above a one-row header is not a group label.
        let rows = [
            row(1, &["Risk Register 2026"]),
            row(2, &["ID", "Title", "Owner"]),
        ];
        let choice = choose_header(&rows, &[], true, &score).unwrap();
        assert_eq!((choice.index, choice.combined), (1, false));
        assert_eq!(choice.names, ["ID", "Title", "Owner"]);
    }

    #[test]
    fn carry_stops_where_the_score_stops_improving() {
        // "Residual" must not swallow "Status" to its right.
        let rows = [
            row(4, &["", "Residual", "", ""]),
            row(5, &["ID", "Likelihood", "Impact", "Status"]),
        ];
        let choice = choose_header(&rows, &[], true, &score).unwrap();
        assert_eq!(
            choice.names,
            ["ID", "Residual Likelihood", "Residual Impact", "Status"]
        );
    }

    #[test]
    fn names_get_placeholders_and_suffixes() {
        let names = ["Impact", "", "impact", "Impact (2)", "Owner"]
            .map(String::from)
            .to_vec();
        let columns = finish_names(names);
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Impact",
                "Column B",
                "impact (2)",
                "Impact (2) (2)",
                "Owner"
            ]
        );
        assert_eq!(columns[1].letter, "B");
    }

    #[test]
    fn whitespace_is_collapsed_for_scoring() {
        let r = row(1, &["  Risk\nOwner ", "Title\u{a0}"]);
        assert_eq!(row_texts(&r), ["Risk Owner", "Title"]);
    }
}
