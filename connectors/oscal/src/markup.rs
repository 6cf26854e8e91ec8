//! OSCAL's rich text (`markup-line`, `markup-multiline`) as one tree for both formats.
//!
//! JSON carries it as Markdown, XML as HTML-like elements (`<p>`, `<em>`, `<insert/>` …). Both
//! are parsed into the same [`Block`]/[`Inline`] tree, normalised the way HTML reads whitespace
//! (runs of white space are one space, paragraphs are trimmed), so that a document and its
//! conversion to the other format compare equal. Records get a plain-text rendering
//! ([`MarkupMultiline::plain_text`]): markers dropped, one line per paragraph or list item.
//!
//! Markdown is the subset OSCAL defines: paragraphs, ATX headings, lists, fenced code, block
//! quotes, pipe tables; emphasis, strong, code, links, images, `~sub~`, `^sup^` and
//! `{{ insert: param, id }}`. Nesting is bounded ([`MAX_MARKUP_DEPTH`]) because the text comes
//! from untrusted files and the parser recurses.

use std::fmt::Write as _;

/// How deeply lists, quotes and inline markup may nest inside one text.
pub const MAX_MARKUP_DEPTH: usize = 32;

/// Inline content: the text of a paragraph, heading, title or list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Emphasis(Vec<Inline>),
    Strong(Vec<Inline>),
    Code(String),
    Subscript(Vec<Inline>),
    Superscript(Vec<Inline>),
    Link {
        href: String,
        text: Vec<Inline>,
    },
    Image {
        src: String,
        alt: String,
        title: Option<String>,
    },
    /// A parameter (or other) insertion point: `{{ insert: param, ac-2_prm_1 }}`.
    Insert {
        kind: String,
        id_ref: String,
    },
}

/// A block of `markup-multiline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading {
        level: u8,
        text: Vec<Inline>,
    },
    List {
        ordered: bool,
        items: Vec<Vec<Block>>,
    },
    CodeBlock(String),
    Quote(Vec<Block>),
    /// Rows of cells; `true` marks a header cell.
    Table(Vec<Vec<(bool, Vec<Inline>)>>),
}

/// A `markup-line` value (titles, labels, choices).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkupLine(pub Vec<Inline>);

/// A `markup-multiline` value (descriptions, prose, remarks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkupMultiline(pub Vec<Block>);

/// Markup nested deeper than [`MAX_MARKUP_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("markup nested deeper than {MAX_MARKUP_DEPTH} levels (lists, quotes or emphasis)")]
pub struct MarkupTooDeep;

/// Resolves an insertion point to text; `None` leaves the default rendering.
pub type InsertFn<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

impl MarkupLine {
    /// Parses a Markdown line (the JSON form).
    pub fn from_markdown(text: &str) -> Result<MarkupLine, MarkupTooDeep> {
        let mut inlines = parse_inline(text, 0)?;
        finish_inlines(&mut inlines);
        Ok(MarkupLine(inlines))
    }

    /// Plain text as given, as one line (white space collapsed).
    pub fn from_plain(text: &str) -> MarkupLine {
        let mut inlines = vec![Inline::Text(text.to_string())];
        finish_inlines(&mut inlines);
        MarkupLine(inlines)
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        render_inlines(&self.0, &mut out);
        escape_line_start(&out)
    }

    pub fn plain_text(&self) -> String {
        self.plain_text_with(&|_, _| None)
    }

    pub fn plain_text_with(&self, insert: InsertFn<'_>) -> String {
        let mut out = String::new();
        plain_inlines(&self.0, insert, &mut out);
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl MarkupMultiline {
    /// Parses Markdown (the JSON form).
    pub fn from_markdown(text: &str) -> Result<MarkupMultiline, MarkupTooDeep> {
        let lines: Vec<&str> = text.lines().collect();
        Ok(MarkupMultiline(parse_blocks(&lines, 0)?))
    }

    /// Plain text: every non-empty line becomes a paragraph. The inverse of
    /// [`MarkupMultiline::plain_text`] for text whose lines are trimmed and single-spaced.
    pub fn from_plain(text: &str) -> MarkupMultiline {
        MarkupMultiline(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let mut inlines = vec![Inline::Text(l.to_string())];
                    finish_inlines(&mut inlines);
                    Block::Paragraph(inlines)
                })
                .collect(),
        )
    }

    pub fn to_markdown(&self) -> String {
        render_blocks(&self.0)
    }

    /// One line per paragraph, heading, list item or table row; list items keep a `- ` or
    /// `1. ` marker, nested ones are indented by two spaces per level.
    pub fn plain_text(&self) -> String {
        self.plain_text_with(&|_, _| None)
    }

    pub fn plain_text_with(&self, insert: InsertFn<'_>) -> String {
        let mut lines = Vec::new();
        plain_blocks(&self.0, insert, "", &mut lines);
        lines.join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation

/// Collapses white space the way HTML renders it, merges adjacent text and trims the ends:
/// `"a\n   b"`, `"a b"` and `<p> a  b </p>` all become `a b`.
pub(crate) fn finish_inlines(inlines: &mut Vec<Inline>) {
    normalise_inlines(inlines);
    trim_inline_ends(inlines);
}

fn normalise_inlines(inlines: &mut Vec<Inline>) {
    let mut out: Vec<Inline> = Vec::with_capacity(inlines.len());
    for inline in inlines.drain(..) {
        let inline = match inline {
            Inline::Text(t) => Inline::Text(collapse_spaces(&t)),
            Inline::Code(t) => Inline::Code(collapse_spaces(&t).trim().to_string()),
            Inline::Emphasis(mut c) => {
                normalise_inlines(&mut c);
                Inline::Emphasis(c)
            }
            Inline::Strong(mut c) => {
                normalise_inlines(&mut c);
                Inline::Strong(c)
            }
            Inline::Subscript(mut c) => {
                normalise_inlines(&mut c);
                Inline::Subscript(c)
            }
            Inline::Superscript(mut c) => {
                normalise_inlines(&mut c);
                Inline::Superscript(c)
            }
            Inline::Link { href, mut text } => {
                normalise_inlines(&mut text);
                trim_inline_ends(&mut text);
                Inline::Link {
                    href: href.trim().to_string(),
                    text,
                }
            }
            Inline::Image { src, alt, title } => Inline::Image {
                src: src.trim().to_string(),
                alt: collapse_spaces(&alt).trim().to_string(),
                title: title.map(|t| collapse_spaces(&t).trim().to_string()),
            },
            other => other,
        };
        match (out.last_mut(), inline) {
            (Some(Inline::Text(prev)), Inline::Text(next)) => {
                if prev.ends_with(' ') && next.starts_with(' ') {
                    prev.push_str(next.get(1..).unwrap_or_default());
                } else {
                    prev.push_str(&next);
                }
            }
            (_, Inline::Text(t)) if t.is_empty() => {}
            (_, inline) => out.push(inline),
        }
    }
    *inlines = out;
}

fn trim_inline_ends(inlines: &mut Vec<Inline>) {
    if let Some(Inline::Text(t)) = inlines.first_mut() {
        let trimmed = t.trim_start().to_string();
        *t = trimmed;
    }
    if let Some(Inline::Text(t)) = inlines.last_mut() {
        let trimmed = t.trim_end().to_string();
        *t = trimmed;
    }
    inlines.retain(|i| !matches!(i, Inline::Text(t) if t.is_empty()));
}

fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Markdown blocks

fn indent_of(line: &str) -> usize {
    let mut n = 0;
    for c in line.chars() {
        match c {
            ' ' => n += 1,
            '\t' => n += 4 - n % 4,
            _ => break,
        }
    }
    n
}

/// Removes up to `n` columns of indentation.
fn strip_indent(line: &str, n: usize) -> &str {
    let mut col = 0;
    for (i, c) in line.char_indices() {
        if col >= n {
            return line.get(i..).unwrap_or_default();
        }
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => return line.get(i..).unwrap_or_default(),
        }
    }
    ""
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A list marker at the start of `line` (after indentation): whether it is ordered, its
/// delimiter character, and the column where the item's content starts.
fn list_marker(line: &str) -> Option<(bool, char, usize)> {
    let indent = indent_of(line);
    let rest = strip_indent(line, indent);
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    let (ordered, delim, marker_len) = if matches!(first, '*' | '-' | '+') {
        (false, first, 1)
    } else if first.is_ascii_digit() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 9 {
            return None;
        }
        let delim = rest.get(digits..)?.chars().next()?;
        if !matches!(delim, '.' | ')') {
            return None;
        }
        (true, delim, digits + 1)
    } else {
        return None;
    };
    let after = rest.get(marker_len..)?;
    if after.is_empty() {
        return Some((ordered, delim, indent + marker_len + 1));
    }
    if !after.starts_with([' ', '\t']) {
        return None;
    }
    // A thematic break ("* * *", "---") is not a list item.
    if !ordered && after.trim().chars().all(|c| c == delim || c == ' ') && after.contains(delim) {
        return None;
    }
    let spaces = indent_of(after);
    let spaces = if spaces > 4 || after.trim().is_empty() {
        1
    } else {
        spaces
    };
    Some((ordered, delim, indent + marker_len + spaces))
}

fn is_fence(trimmed: &str) -> bool {
    trimmed.starts_with("```") || trimmed.starts_with("~~~")
}

fn heading(trimmed: &str) -> Option<(u8, &str)> {
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = trimmed.get(level..)?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim();
    // A closing run of #s is decoration.
    let text = text.trim_end_matches('#');
    let text = if text.ends_with(' ') || text.is_empty() {
        text.trim_end()
    } else {
        rest.trim()
    };
    Some((level as u8, text))
}

fn is_table_delimiter(line: &str) -> bool {
    let t = line.trim();
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// Whether `line` starts a block that ends a running paragraph.
fn interrupts_paragraph(line: &str) -> bool {
    let t = line.trim_start();
    if indent_of(line) >= 4 {
        return false;
    }
    is_fence(t) || heading(t).is_some() || t.starts_with('>') || list_marker(line).is_some()
}

fn parse_blocks(lines: &[&str], depth: usize) -> Result<Vec<Block>, MarkupTooDeep> {
    if depth > MAX_MARKUP_DEPTH {
        return Err(MarkupTooDeep);
    }
    let mut blocks = Vec::new();
    let mut i = 0;
    while let Some(&line) = lines.get(i) {
        if is_blank(line) {
            i += 1;
            continue;
        }
        let indent = indent_of(line);
        let trimmed = line.trim_start();
        if is_fence(trimmed) {
            let fence: String = trimmed
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            let mut code = Vec::new();
            i += 1;
            while let Some(&l) = lines.get(i) {
                i += 1;
                if l.trim_start().starts_with(fence.as_str())
                    && l.trim().chars().all(|c| c == '`' || c == '~')
                {
                    break;
                }
                code.push(strip_indent(l, indent));
            }
            blocks.push(Block::CodeBlock(code.join("\n").trim_end().to_string()));
            continue;
        }
        if let Some((level, text)) = heading(trimmed) {
            let mut inlines = parse_inline(text, depth)?;
            finish_inlines(&mut inlines);
            blocks.push(Block::Heading {
                level,
                text: inlines,
            });
            i += 1;
            continue;
        }
        if trimmed.starts_with('>') {
            let mut inner = Vec::new();
            while let Some(&l) = lines.get(i) {
                let t = l.trim_start();
                let Some(rest) = t.strip_prefix('>') else {
                    break;
                };
                inner.push(rest.strip_prefix(' ').unwrap_or(rest));
                i += 1;
            }
            blocks.push(Block::Quote(parse_blocks(&inner, depth + 1)?));
            continue;
        }
        if let Some((ordered, delim, _)) = list_marker(line) {
            let (block, next) = parse_list(lines, i, ordered, delim, depth)?;
            blocks.push(block);
            i = next;
            continue;
        }
        if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_table_delimiter(l)) {
            let mut rows = vec![table_row(trimmed, true, depth)?];
            i += 2;
            while let Some(&l) = lines.get(i) {
                if !l.trim_start().starts_with('|') {
                    break;
                }
                rows.push(table_row(l.trim(), false, depth)?);
                i += 1;
            }
            blocks.push(Block::Table(rows));
            continue;
        }
        // A paragraph: this line and the following ones up to a blank line or a new block.
        let mut text = String::from(trimmed);
        i += 1;
        while let Some(&l) = lines.get(i) {
            if is_blank(l) || interrupts_paragraph(l) {
                break;
            }
            text.push('\n');
            text.push_str(l.trim_start());
            i += 1;
        }
        let mut inlines = parse_inline(&text, depth)?;
        finish_inlines(&mut inlines);
        if !inlines.is_empty() {
            blocks.push(Block::Paragraph(inlines));
        }
    }
    Ok(blocks)
}

/// Parses the list starting at `lines[start]`; returns it and the index after it.
fn parse_list(
    lines: &[&str],
    start: usize,
    ordered: bool,
    delim: char,
    depth: usize,
) -> Result<(Block, usize), MarkupTooDeep> {
    let list_indent = lines.get(start).map_or(0, |l| indent_of(l));
    let mut items = Vec::new();
    let mut i = start;
    while let Some(&line) = lines.get(i) {
        let Some((o, d, content)) = list_marker(line) else {
            break;
        };
        if o != ordered || d != delim || indent_of(line) != list_indent {
            break;
        }
        let mut item_lines: Vec<&str> = Vec::new();
        let first = strip_indent(line, indent_of(line));
        // The first line without its marker.
        let marker_end = first
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '*' | '-' | '+' | '.' | ')')))
            .map_or(first.len(), |(idx, _)| idx);
        item_lines.push(first.get(marker_end..).unwrap_or_default().trim_start());
        i += 1;
        let mut last_blank = false;
        while let Some(&l) = lines.get(i) {
            if is_blank(l) {
                // Blank lines continue the item only when indented content follows them;
                // the run is looked at once, not once per blank line.
                let mut next = i;
                while lines.get(next).is_some_and(|x| is_blank(x)) {
                    next += 1;
                }
                let continues = lines.get(next).is_some_and(|x| indent_of(x) >= content);
                if !continues {
                    break;
                }
                item_lines.push("");
                last_blank = true;
                i = next;
                continue;
            }
            if indent_of(l) >= content {
                item_lines.push(strip_indent(l, content));
            } else if !last_blank && !interrupts_paragraph(l) {
                // A lazy continuation line of the item's paragraph.
                item_lines.push(l.trim_start());
            } else {
                break;
            }
            last_blank = false;
            i += 1;
        }
        items.push(parse_blocks(&item_lines, depth + 1)?);
        // Blank lines between items belong to the list.
        let mut j = i;
        while lines.get(j).is_some_and(|l| is_blank(l)) {
            j += 1;
        }
        match lines
            .get(j)
            .and_then(|l| list_marker(l).map(|m| (m, indent_of(l))))
        {
            Some(((o, d, _), ind)) if o == ordered && d == delim && ind == list_indent => i = j,
            _ => break,
        }
    }
    Ok((Block::List { ordered, items }, i))
}

fn table_row(
    line: &str,
    header: bool,
    depth: usize,
) -> Result<Vec<(bool, Vec<Inline>)>, MarkupTooDeep> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                current.push('\\');
                current.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    cells.push(current);
    cells
        .iter()
        .map(|c| {
            let mut inlines = parse_inline(c, depth)?;
            finish_inlines(&mut inlines);
            Ok((header, inlines))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Markdown inlines

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// The index of the `]` closing the `[` at `open`, skipping escapes and nested brackets.
fn matching_bracket(chars: &[char], open: usize, budget: &Budget) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&c) = chars.get(i) {
        if !budget.spend() {
            return None;
        }
        match c {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads `(href "title")` at `start` (which must be `(`): the destination, the title and the
/// index after `)`.
fn link_destination(
    chars: &[char],
    start: usize,
    budget: &Budget,
) -> Option<(String, Option<String>, usize)> {
    if chars.get(start) != Some(&'(') {
        return None;
    }
    let mut i = start + 1;
    while chars.get(i).is_some_and(|c| *c == ' ') {
        i += 1;
    }
    let mut href = String::new();
    if chars.get(i) == Some(&'<') {
        i += 1;
        loop {
            if !budget.spend() {
                return None;
            }
            match chars.get(i) {
                Some('>') => {
                    i += 1;
                    break;
                }
                Some('\\') if chars.get(i + 1).is_some_and(|c| is_punct(*c)) => {
                    href.extend(chars.get(i + 1));
                    i += 2;
                }
                Some('\n') | None => return None,
                Some(c) => {
                    href.push(*c);
                    i += 1;
                }
            }
        }
    } else {
        let mut parens = 0usize;
        loop {
            if !budget.spend() {
                return None;
            }
            match chars.get(i) {
                Some('\\') if chars.get(i + 1).is_some_and(|c| is_punct(*c)) => {
                    href.extend(chars.get(i + 1));
                    i += 2;
                }
                Some('(') => {
                    parens += 1;
                    href.push('(');
                    i += 1;
                }
                Some(')') if parens > 0 => {
                    parens -= 1;
                    href.push(')');
                    i += 1;
                }
                Some(')') | Some(' ') | Some('\n') => break,
                Some(c) => {
                    href.push(*c);
                    i += 1;
                }
                None => return None,
            }
        }
    }
    while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\n') {
        i += 1;
    }
    let mut title = None;
    if let Some(&q) = chars.get(i).filter(|c| matches!(c, '"' | '\'')) {
        let mut t = String::new();
        i += 1;
        loop {
            if !budget.spend() {
                return None;
            }
            match chars.get(i) {
                Some('\\') if chars.get(i + 1).is_some_and(|c| is_punct(*c)) => {
                    t.extend(chars.get(i + 1));
                    i += 2;
                }
                Some(c) if *c == q => {
                    i += 1;
                    break;
                }
                Some(c) => {
                    t.push(*c);
                    i += 1;
                }
                None => return None,
            }
        }
        title = Some(t);
        while chars.get(i).is_some_and(|c| *c == ' ') {
            i += 1;
        }
    }
    if chars.get(i) != Some(&')') {
        return None;
    }
    Some((href, title, i + 1))
}

/// Finds the closing delimiter run for an emphasis opened at `start` with `len` `c`s.
fn closing_run(
    chars: &[char],
    start: usize,
    c: char,
    len: usize,
    budget: &Budget,
) -> Option<usize> {
    let mut i = start;
    while let Some(&ch) = chars.get(i) {
        if !budget.spend() {
            return None;
        }
        match ch {
            '\\' => i += 2,
            '`' => {
                // Code spans are opaque.
                let run = run_at(chars, i, '`');
                match find_backtick_run(chars, i + run, run, budget) {
                    Some(end) => i = end + run,
                    None => i += run,
                }
            }
            _ if ch == c => {
                let run = run_at(chars, i, c);
                let before = i.checked_sub(1).and_then(|b| chars.get(b));
                let after = chars.get(i + run);
                let right_flanking = before.is_some_and(|b| !b.is_whitespace());
                let intraword = c == '_' && after.is_some_and(|a| a.is_alphanumeric());
                if run >= len && right_flanking && !intraword && i > start {
                    // With a longer run, the innermost delimiters close first.
                    return Some(i + run - len);
                }
                i += run;
            }
            _ => i += 1,
        }
    }
    None
}

fn find_backtick_run(chars: &[char], from: usize, len: usize, budget: &Budget) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if !budget.spend() {
            return None;
        }
        if chars.get(i) == Some(&'`') {
            let run = run_at(chars, i, '`');
            if run == len {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// Bounds the scanning inline parsing may do. Searches for a closing delimiter, bracket or
/// code fence look ahead; on hostile text (thousands of unclosed `*` or `[`) that is
/// quadratic. Once the budget — proportional to the text's length — is spent, searches fail
/// and what remains reads as literal text.
pub(crate) struct Budget(std::cell::Cell<usize>);

impl Budget {
    fn for_len(len: usize) -> Budget {
        Budget(std::cell::Cell::new(
            len.saturating_mul(16).saturating_add(4096),
        ))
    }

    fn spend(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left > 0
    }
}

/// `chars[from..to]`, empty when out of range.
fn span(chars: &[char], from: usize, to: usize) -> &[char] {
    chars.get(from..to).unwrap_or_default()
}

/// How many `c` follow from `i` on.
fn run_at(chars: &[char], i: usize, c: char) -> usize {
    span(chars, i, chars.len())
        .iter()
        .take_while(|x| **x == c)
        .count()
}

fn parse_inline(text: &str, depth: usize) -> Result<Vec<Inline>, MarkupTooDeep> {
    let chars: Vec<char> = text.chars().collect();
    let budget = Budget::for_len(chars.len());
    parse_inline_chars(&chars, depth, &budget)
}

fn parse_inline_chars(
    chars: &[char],
    depth: usize,
    budget: &Budget,
) -> Result<Vec<Inline>, MarkupTooDeep> {
    if depth > MAX_MARKUP_DEPTH {
        return Err(MarkupTooDeep);
    }
    let mut out: Vec<Inline> = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut Vec<Inline>| {
        if !text.is_empty() {
            out.push(Inline::Text(std::mem::take(text)));
        }
    };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => match chars.get(i + 1) {
                Some(&n) if is_punct(n) => {
                    text.push(n);
                    i += 2;
                }
                Some('\n') => {
                    text.push(' ');
                    i += 2;
                }
                _ => {
                    text.push('\\');
                    i += 1;
                }
            },
            '`' => {
                let run = run_at(chars, i, '`');
                match find_backtick_run(chars, i + run, run, budget) {
                    Some(end) => {
                        flush(&mut text, &mut out);
                        out.push(Inline::Code(span(chars, i + run, end).iter().collect()));
                        i = end + run;
                    }
                    None => {
                        text.extend(std::iter::repeat_n('`', run));
                        i += run;
                    }
                }
            }
            '{' if chars.get(i + 1) == Some(&'{') => {
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars.get(j) == Some(&'}') && chars.get(j + 1) == Some(&'}'));
                let insert = close.and_then(|end| {
                    let inner: String = span(chars, i + 2, end).iter().collect();
                    parse_insert(&inner).map(|ins| (ins, end + 2))
                });
                match insert {
                    Some((ins, next)) => {
                        flush(&mut text, &mut out);
                        out.push(ins);
                        i = next;
                    }
                    None => {
                        text.push_str("{{");
                        i += 2;
                    }
                }
            }
            '!' if chars.get(i + 1) == Some(&'[') => {
                let image = matching_bracket(chars, i + 1, budget).and_then(|close| {
                    link_destination(chars, close + 1, budget).map(|(src, title, next)| {
                        (
                            span(chars, i + 2, close).iter().collect::<String>(),
                            src,
                            title,
                            next,
                        )
                    })
                });
                match image {
                    Some((alt, src, title, next)) => {
                        flush(&mut text, &mut out);
                        // The alt text is plain: markup in it is dropped.
                        let mut alt_inlines = parse_inline(&alt, depth + 1)?;
                        finish_inlines(&mut alt_inlines);
                        let mut alt_text = String::new();
                        plain_inlines(&alt_inlines, &|_, _| None, &mut alt_text);
                        out.push(Inline::Image {
                            src,
                            alt: alt_text,
                            title,
                        });
                        i = next;
                    }
                    None => {
                        text.push('!');
                        i += 1;
                    }
                }
            }
            '[' => {
                let link = matching_bracket(chars, i, budget).and_then(|close| {
                    link_destination(chars, close + 1, budget)
                        .map(|(href, _title, next)| (close, href, next))
                });
                match link {
                    Some((close, href, next)) => {
                        flush(&mut text, &mut out);
                        let inner =
                            parse_inline_chars(span(chars, i + 1, close), depth + 1, budget)?;
                        out.push(Inline::Link { href, text: inner });
                        i = next;
                    }
                    None => {
                        text.push('[');
                        i += 1;
                    }
                }
            }
            '*' | '_' => {
                let run = run_at(chars, i, c);
                let before = i.checked_sub(1).and_then(|b| chars.get(b));
                let after = chars.get(i + run);
                let left_flanking = after.is_some_and(|a| !a.is_whitespace());
                let intraword = c == '_' && before.is_some_and(|b| b.is_alphanumeric());
                let len = run.min(2);
                let found = if left_flanking && !intraword {
                    closing_run(chars, i + len, c, len, budget)
                        .map(|end| (end, len))
                        .or_else(|| {
                            // "**a*": the single delimiters pair up, one star stays text.
                            (len == 2)
                                .then(|| {
                                    closing_run(chars, i + 1, c, 1, budget).map(|end| (end, 1))
                                })
                                .flatten()
                        })
                } else {
                    None
                };
                match found {
                    Some((end, used)) => {
                        flush(&mut text, &mut out);
                        let inner =
                            parse_inline_chars(span(chars, i + used, end), depth + 1, budget)?;
                        out.push(if used == 2 {
                            Inline::Strong(inner)
                        } else {
                            Inline::Emphasis(inner)
                        });
                        i = end + used;
                    }
                    None => {
                        text.extend(std::iter::repeat_n(c, run));
                        i += run;
                    }
                }
            }
            '~' | '^' => {
                let close = span(chars, i + 1, chars.len())
                    .iter()
                    .position(|x| *x == c)
                    .map(|p| i + 1 + p)
                    .filter(|&end| {
                        end > i + 1
                            && chars.get(i + 1).is_some_and(|x| !x.is_whitespace())
                            && chars.get(end - 1).is_some_and(|x| !x.is_whitespace())
                    });
                match close {
                    Some(end) => {
                        flush(&mut text, &mut out);
                        let inner = parse_inline_chars(span(chars, i + 1, end), depth + 1, budget)?;
                        out.push(if c == '~' {
                            Inline::Subscript(inner)
                        } else {
                            Inline::Superscript(inner)
                        });
                        i = end + 1;
                    }
                    None => {
                        text.push(c);
                        i += 1;
                    }
                }
            }
            other => {
                text.push(other);
                i += 1;
            }
        }
    }
    flush(&mut text, &mut out);
    Ok(out)
}

/// `insert: param, ac-2_prm_1` → an insertion point.
fn parse_insert(inner: &str) -> Option<Inline> {
    let rest = inner.trim().strip_prefix("insert:")?;
    let (kind, id) = rest.split_once(',')?;
    let (kind, id) = (kind.trim(), id.trim());
    if kind.is_empty() || id.is_empty() || id.contains(char::is_whitespace) {
        return None;
    }
    Some(Inline::Insert {
        kind: kind.to_string(),
        id_ref: id.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Markdown rendering (the canonical form written to JSON)

fn render_blocks(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks.iter().map(render_block).collect();
    parts.join("\n\n")
}

fn render_block(block: &Block) -> String {
    match block {
        Block::Paragraph(inlines) => {
            let mut s = String::new();
            render_inlines(inlines, &mut s);
            escape_line_start(&s)
        }
        Block::Heading { level, text } => {
            let mut s = "#".repeat(usize::from(*level).clamp(1, 6));
            s.push(' ');
            render_inlines(text, &mut s);
            s
        }
        Block::List { ordered, items } => {
            let mut out = Vec::new();
            for (n, item) in items.iter().enumerate() {
                let marker = if *ordered {
                    format!("{}. ", n + 1)
                } else {
                    "- ".to_string()
                };
                let body = render_blocks(item);
                let pad = " ".repeat(marker.len());
                let mut lines = body.lines();
                let first = lines.next().unwrap_or_default();
                let mut rendered = format!("{marker}{first}");
                for l in lines {
                    rendered.push('\n');
                    if !l.is_empty() {
                        rendered.push_str(&pad);
                        rendered.push_str(l);
                    }
                }
                out.push(rendered);
            }
            out.join("\n")
        }
        Block::CodeBlock(code) => {
            let longest = code
                .lines()
                .map(|l| l.trim_start().chars().take_while(|c| *c == '`').count())
                .max()
                .unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            format!("{fence}\n{code}\n{fence}")
        }
        Block::Quote(blocks) => render_blocks(blocks)
            .lines()
            .map(|l| {
                if l.is_empty() {
                    ">".to_string()
                } else {
                    format!("> {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Table(rows) => {
            let mut lines = Vec::new();
            for (r, row) in rows.iter().enumerate() {
                let cells: Vec<String> = row
                    .iter()
                    .map(|(_, inlines)| {
                        let mut s = String::new();
                        render_inlines(inlines, &mut s);
                        s.replace('|', "\\|")
                    })
                    .collect();
                lines.push(format!("| {} |", cells.join(" | ")));
                if r == 0 {
                    lines.push(format!("|{}", " --- |".repeat(row.len().max(1))));
                }
            }
            lines.join("\n")
        }
    }
}

/// Escapes what would start a block at the beginning of a paragraph line.
fn escape_line_start(s: &str) -> String {
    let t = s;
    let needs = t.starts_with('#')
        || t.starts_with('>')
        || t.starts_with("- ")
        || t.starts_with("+ ")
        || t == "-"
        || t == "+"
        || t.starts_with('|')
        || list_marker(t).is_some_and(|(ordered, _, _)| ordered);
    if !needs {
        return s.to_string();
    }
    if list_marker(t).is_some_and(|(ordered, _, _)| ordered) {
        // "1. x" → "1\. x"
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        let (number, rest) = t.split_at_checked(digits).unwrap_or((t, ""));
        return format!("{number}\\{rest}");
    }
    format!("\\{t}")
}

fn escape_text(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '^' => {
                out.push('\\');
                out.push(c);
            }
            '!' if chars.peek() == Some(&'[') => {
                out.push('\\');
                out.push(c);
            }
            '{' if chars.peek() == Some(&'{') => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
}

fn render_href(href: &str, out: &mut String) {
    let balanced = {
        let mut depth = 0i32;
        href.chars().all(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth >= 0
        }) && href.chars().filter(|c| *c == '(').count()
            == href.chars().filter(|c| *c == ')').count()
    };
    if href.is_empty() || href.contains([' ', '<', '>']) || !balanced {
        out.push('<');
        for c in href.chars() {
            if matches!(c, '<' | '>' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('>');
    } else {
        for c in href.chars() {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
}

fn render_inlines(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(t) => escape_text(t, out),
            Inline::Emphasis(c) => {
                out.push('*');
                render_inlines(c, out);
                out.push('*');
            }
            Inline::Strong(c) => {
                out.push_str("**");
                render_inlines(c, out);
                out.push_str("**");
            }
            Inline::Code(code) => {
                let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                let fence = "`".repeat(longest + 1);
                let pad = if code.starts_with('`') || code.ends_with('`') {
                    " "
                } else {
                    ""
                };
                let _ = write!(out, "{fence}{pad}{code}{pad}{fence}");
            }
            Inline::Subscript(c) => {
                out.push('~');
                render_inlines(c, out);
                out.push('~');
            }
            Inline::Superscript(c) => {
                out.push('^');
                render_inlines(c, out);
                out.push('^');
            }
            Inline::Link { href, text } => {
                out.push('[');
                render_inlines(text, out);
                out.push_str("](");
                render_href(href, out);
                out.push(')');
            }
            Inline::Image { src, alt, title } => {
                out.push_str("![");
                escape_text(alt, out);
                out.push_str("](");
                render_href(src, out);
                if let Some(t) = title {
                    out.push_str(" \"");
                    out.push_str(&t.replace('"', "\\\""));
                    out.push('"');
                }
                out.push(')');
            }
            Inline::Insert { kind, id_ref } => {
                let _ = write!(out, "{{{{ insert: {kind}, {id_ref} }}}}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plain text

fn plain_inlines(inlines: &[Inline], insert: InsertFn<'_>, out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Emphasis(c)
            | Inline::Strong(c)
            | Inline::Subscript(c)
            | Inline::Superscript(c) => plain_inlines(c, insert, out),
            Inline::Link { href, text } => {
                let mut t = String::new();
                plain_inlines(text, insert, &mut t);
                // Links inside the document (#ac-3) read as their text; external ones keep
                // the address, which is often the point of the link.
                if href.starts_with('#') || href.is_empty() || t == *href {
                    out.push_str(&t);
                } else if t.is_empty() {
                    out.push_str(href);
                } else {
                    let _ = write!(out, "{t} ({href})");
                }
            }
            Inline::Image { alt, src, .. } => out.push_str(if alt.is_empty() { src } else { alt }),
            Inline::Insert { kind, id_ref } => match insert(kind, id_ref) {
                Some(text) => out.push_str(&text),
                None => {
                    let _ = write!(out, "[{id_ref}]");
                }
            },
        }
    }
}

fn plain_blocks(blocks: &[Block], insert: InsertFn<'_>, indent: &str, lines: &mut Vec<String>) {
    for block in blocks {
        match block {
            Block::Paragraph(inlines) | Block::Heading { text: inlines, .. } => {
                let mut s = String::new();
                plain_inlines(inlines, insert, &mut s);
                lines.push(format!("{indent}{s}"));
            }
            Block::List { ordered, items } => {
                for (n, item) in items.iter().enumerate() {
                    let marker = if *ordered {
                        format!("{}. ", n + 1)
                    } else {
                        "- ".to_string()
                    };
                    let mut inner = Vec::new();
                    plain_blocks(item, insert, "", &mut inner);
                    let mut first = true;
                    for l in inner {
                        if first {
                            lines.push(format!("{indent}{marker}{l}"));
                            first = false;
                        } else {
                            lines.push(format!("{indent}  {l}"));
                        }
                    }
                    if first {
                        lines.push(format!("{indent}{}", marker.trim_end()));
                    }
                }
            }
            Block::CodeBlock(code) => {
                for l in code.lines() {
                    lines.push(format!("{indent}{l}"));
                }
            }
            Block::Quote(inner) => plain_blocks(inner, insert, indent, lines),
            Block::Table(rows) => {
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|(_, c)| {
                            let mut s = String::new();
                            plain_inlines(c, insert, &mut s);
                            s
                        })
                        .collect();
                    lines.push(format!("{indent}{}", cells.join(" | ")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(s: &str) -> MarkupMultiline {
        MarkupMultiline::from_markdown(s).unwrap()
    }

    #[test]
    fn parses_the_markdown_oscal_writes() {
        let m = md(
            "Intro with *em*, **strong**, `code` and [AU-2](#au-2).\n\n1. one\n1. two {{ insert: param, x_prm_1 }}\n\n\n* a\n* b\n",
        );
        assert_eq!(m.0.len(), 3);
        assert_eq!(
            m.plain_text(),
            "Intro with em, strong, code and AU-2.\n1. one\n2. two [x_prm_1]\n- a\n- b"
        );
        let inserted = m.plain_text_with(&|_, id| Some(format!("<{id}>")));
        assert!(inserted.contains("two <x_prm_1>"));
    }

    #[test]
    fn keeps_literal_brackets_and_underscores() {
        let l = MarkupLine::from_markdown("org-defined [Selection: a; b] my_var_name 2*3").unwrap();
        assert_eq!(
            l.0,
            vec![Inline::Text(
                "org-defined [Selection: a; b] my_var_name 2*3".into()
            )]
        );
    }

    #[test]
    fn markdown_round_trips_through_the_canonical_form() {
        let samples = [
            "A *b* **c** `d` [e](https://x.org/a_(b)) ![f](g.png \"t\") ~h~ ^i^ {{ insert: param, p1 }}",
            "# Head\n\n> quoted\n> more\n\n- a\n  - nested\n- b\n\n```\ncode * here\n```\n\n| h1 | h2 |\n| --- | --- |\n| c | d |",
            "\\- not a list\n\n1\\. not ordered either \\* \\[x\\]",
        ];
        for s in samples {
            let tree = md(s);
            let again = md(&tree.to_markdown());
            assert_eq!(tree, again, "{s}\n---\n{}", tree.to_markdown());
        }
    }

    #[test]
    fn plain_text_survives_export_and_reimport() {
        let text = "- item one *with stars*\n1. numbered [x]\n# not a heading\nplain {{ line }}";
        let markup = MarkupMultiline::from_plain(text);
        let back = md(&markup.to_markdown());
        assert_eq!(back, markup);
        assert_eq!(back.plain_text(), text);
    }

    #[test]
    fn hostile_text_parses_in_linear_time() {
        // Unclosed delimiters and brackets by the hundred thousand: every search for a closer
        // would scan to the end. The budget keeps it linear; the text stays text.
        for unit in ["*a ", "[a ", "`a ", "**a ", "[a](b ", "~a ", "_a "] {
            let text = unit.repeat(40_000);
            let start = std::time::Instant::now();
            let line = MarkupLine::from_markdown(&text).unwrap();
            assert!(
                start.elapsed().as_secs() < 5,
                "{unit:?} took {:?}",
                start.elapsed()
            );
            if unit != "`a " {
                // (Backticks pair up into code spans; the others never close.)
                assert_eq!(line.plain_text().len(), text.trim_end().len(), "{unit:?}");
            }
        }
        let blanks = format!("- a{}  b", "\n".repeat(200_000));
        assert!(MarkupMultiline::from_markdown(&blanks).is_ok());
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = "> ".repeat(100) + "x";
        assert_eq!(MarkupMultiline::from_markdown(&deep), Err(MarkupTooDeep));
        let deep_inline = "[".repeat(50) + "x" + &"](#a)".repeat(50);
        assert_eq!(MarkupLine::from_markdown(&deep_inline), Err(MarkupTooDeep));
    }
}
