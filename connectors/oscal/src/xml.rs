//! The XML side of the document model: a pull reader over quick-xml events with the guards an
//! untrusted file needs, and a small writer. Each document type reads and writes itself with
//! these (see `document`), so JSON and XML share one typed model and no DOM is ever built.
//!
//! Guards: a DOCTYPE is refused outright (OSCAL XML needs none, and a DTD is where entity
//! expansion attacks live); only the five predefined entities and character references are
//! resolved, any other reference is an error; element nesting is bounded; an XML declaration
//! naming another encoding than UTF-8 is refused.

use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::ErrorKind;
use crate::markup::{Block, Inline, MAX_MARKUP_DEPTH, MarkupLine, MarkupMultiline, finish_inlines};

/// The namespace of every OSCAL XML element.
pub const OSCAL_XML_NS: &str = "http://csrc.nist.gov/ns/oscal/1.0";

/// A problem at a byte offset of the XML text; turned into line and column by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XmlError {
    pub offset: u64,
    pub kind: ErrorKind,
    pub message: String,
}

impl XmlError {
    pub fn new(kind: ErrorKind, offset: u64, message: impl Into<String>) -> XmlError {
        XmlError {
            offset,
            kind,
            message: message.into(),
        }
    }
}

pub(crate) type XmlResult<T> = Result<T, XmlError>;

/// A start tag: its local name, attributes (values unescaped and normalised) and position.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    /// The local name (`catalog` for `<o:catalog>`).
    pub name: String,
    /// The name as written, prefix included.
    pub qname: String,
    attrs: Vec<(String, String)>,
    pub offset: u64,
    /// `<x/>`: no children or end tag follow.
    pub empty: bool,
}

impl Elem {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError::new(ErrorKind::Invalid, self.offset, message)
    }

    pub fn error_of(&self, kind: ErrorKind, message: impl Into<String>) -> XmlError {
        XmlError::new(kind, self.offset, message)
    }

    /// A required attribute, trimmed.
    pub fn req(&self, name: &str) -> XmlResult<String> {
        match self.attr(name).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            Some(_) => Err(self.error(format!("<{}> has an empty `{name}` attribute", self.name))),
            None => Err(self.error(format!("<{}> has no `{name}` attribute", self.name))),
        }
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Parses a required attribute with `parse`, naming the attribute in the error.
    pub fn parse<T>(&self, name: &str, parse: impl Fn(&str) -> Result<T, String>) -> XmlResult<T> {
        let raw = self.req(name)?;
        parse(&raw).map_err(|m| self.error(format!("<{}> `{name}`: {m}", self.name)))
    }

    pub fn parse_opt<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> XmlResult<Option<T>> {
        match self.opt(name) {
            Some(raw) => parse(&raw)
                .map(Some)
                .map_err(|m| self.error(format!("<{}> `{name}`: {m}", self.name))),
            None => Ok(None),
        }
    }

    /// The error for a required child element that is missing.
    pub fn missing(&self, child: &str) -> XmlError {
        self.error(format!(
            "<{}> has no <{child}> element, which OSCAL requires",
            self.name
        ))
    }
}

/// Unwraps a required child read in a loop.
pub(crate) fn required<T>(value: Option<T>, parent: &Elem, child: &str) -> XmlResult<T> {
    value.ok_or_else(|| parent.missing(child))
}

enum Ev {
    Start(Elem),
    End,
    Text(String),
    Eof,
}

/// The pull reader.
pub(crate) struct XmlIn<'a> {
    reader: Reader<&'a [u8]>,
    depth: usize,
    max_depth: usize,
}

impl<'a> XmlIn<'a> {
    pub fn new(text: &'a str, max_depth: usize) -> XmlIn<'a> {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_dangling_amp = false;
        XmlIn {
            reader,
            depth: 0,
            max_depth,
        }
    }

    fn error_here(&self, kind: ErrorKind, message: impl Into<String>) -> XmlError {
        XmlError::new(kind, self.reader.buffer_position(), message)
    }

    fn next(&mut self) -> XmlResult<Ev> {
        loop {
            let offset = self.reader.buffer_position();
            let event = self.reader.read_event().map_err(|e| {
                let kind = match &e {
                    quick_xml::Error::Syntax(s)
                        if !matches!(s, quick_xml::errors::SyntaxError::InvalidBangMarkup) =>
                    {
                        ErrorKind::Truncated
                    }
                    _ => ErrorKind::Syntax,
                };
                let hint = if kind == ErrorKind::Truncated {
                    " (the file is truncated or a tag is not closed)"
                } else {
                    ""
                };
                XmlError::new(
                    kind,
                    self.reader.error_position(),
                    format!("not well-formed XML: {e}{hint}"),
                )
            })?;
            match event {
                Event::Start(e) => {
                    let elem = elem(&e, offset, false)?;
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(elem.error_of(ErrorKind::TooDeep, format!(
                            "elements nested deeper than {} levels: refused (a document this deep is malformed or hostile)",
                            self.max_depth
                        )));
                    }
                    return Ok(Ev::Start(elem));
                }
                Event::Empty(e) => {
                    if self.depth + 1 > self.max_depth {
                        return Err(XmlError::new(
                            ErrorKind::TooDeep,
                            offset,
                            format!(
                                "elements nested deeper than {} levels: refused (a document this deep is malformed or hostile)",
                                self.max_depth
                            ),
                        ));
                    }
                    return Ok(Ev::Start(elem(&e, offset, true)?));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Ev::End);
                }
                Event::Text(t) => return Ok(Ev::Text(t.xml10_content().into_owned())),
                Event::CData(t) => return Ok(Ev::Text(t.xml10_content().into_owned())),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match &*r {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => {
                                return Err(XmlError::new(
                                    ErrorKind::Dtd,
                                    offset,
                                    format!(
                                        "undefined entity &{other}; (only the five XML entities and character references are accepted; DTD entities are never expanded)"
                                    ),
                                ));
                            }
                        },
                        Err(e) => {
                            return Err(XmlError::new(
                                ErrorKind::Syntax,
                                offset,
                                format!("bad character reference &{};: {e}", &*r),
                            ));
                        }
                    };
                    return Ok(Ev::Text(resolved));
                }
                Event::DocType(_) => {
                    return Err(XmlError::new(
                        ErrorKind::Dtd,
                        offset,
                        "a DOCTYPE declaration is refused: OSCAL XML needs no DTD, and DTDs can define entities that expand without bound or read local files",
                    ));
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = enc.trim().to_ascii_lowercase();
                        if enc != "utf-8" && enc != "utf8" {
                            return Err(XmlError::new(
                                ErrorKind::Encoding,
                                offset,
                                format!(
                                    "the XML declaration names encoding {enc:?}; only UTF-8 is read (convert the file to UTF-8)"
                                ),
                            ));
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Ok(Ev::Eof),
            }
        }
    }

    /// Reads up to the root element; refuses anything but white space, comments and
    /// processing instructions before it.
    pub fn root(&mut self) -> XmlResult<Elem> {
        loop {
            match self.next()? {
                Ev::Start(e) => return Ok(e),
                Ev::Text(t) if t.trim().is_empty() => {}
                Ev::Text(_) => {
                    return Err(self.error_here(
                        ErrorKind::NotOscal,
                        "text before the root element: this is not an XML document",
                    ));
                }
                Ev::End => {
                    return Err(self.error_here(ErrorKind::Syntax, "an end tag before any element"));
                }
                Ev::Eof => {
                    return Err(self.error_here(
                        ErrorKind::NotOscal,
                        "the document has no root element (empty or not XML)",
                    ));
                }
            }
        }
    }

    /// After the root element: only white space, comments and processing instructions.
    pub fn finish(&mut self) -> XmlResult<()> {
        loop {
            match self.next()? {
                Ev::Eof => return Ok(()),
                Ev::Text(t) if t.trim().is_empty() => {}
                Ev::Start(e) => {
                    return Err(e.error_of(
                        ErrorKind::Syntax,
                        format!("a second root element <{}> after the document", e.name),
                    ));
                }
                _ => {
                    return Err(
                        self.error_here(ErrorKind::Syntax, "content after the root element")
                    );
                }
            }
        }
    }

    /// Calls `each` for every child element of `parent` (which must consume it), ignoring
    /// white space between them. Text outside markup is not OSCAL and is ignored.
    pub fn children(
        &mut self,
        parent: &Elem,
        mut each: impl FnMut(&mut Self, Elem) -> XmlResult<()>,
    ) -> XmlResult<()> {
        if parent.empty {
            return Ok(());
        }
        loop {
            match self.next()? {
                Ev::Start(child) => each(self, child)?,
                Ev::End => return Ok(()),
                Ev::Text(_) => {}
                Ev::Eof => return Err(self.truncated(parent)),
            }
        }
    }

    fn truncated(&self, parent: &Elem) -> XmlError {
        self.error_here(
            ErrorKind::Truncated,
            format!(
                "the document ends inside <{}>: the file is truncated",
                parent.name
            ),
        )
    }

    /// Skips an element and everything in it.
    pub fn skip(&mut self, el: Elem) -> XmlResult<()> {
        self.children(&el, |x, child| x.skip(child))
    }

    /// The text of a simple element, trimmed; child elements are not expected and skipped.
    pub fn text(&mut self, el: Elem) -> XmlResult<String> {
        let mut out = String::new();
        if el.empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Start(child) => self.skip(child)?,
                Ev::End => return Ok(out.trim().to_string()),
                Ev::Eof => return Err(self.truncated(&el)),
            }
        }
    }

    /// A required non-empty text element.
    pub fn req_text(&mut self, el: Elem) -> XmlResult<String> {
        let e = el.clone();
        let t = self.text(el)?;
        if t.is_empty() {
            return Err(e.error(format!("<{}> is empty", e.name)));
        }
        Ok(t)
    }

    /// Parses a text element with `parse`.
    pub fn parse_text<T>(
        &mut self,
        el: Elem,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> XmlResult<T> {
        let e = el.clone();
        let t = self.text(el)?;
        parse(&t).map_err(|m| e.error(format!("<{}>: {m}", e.name)))
    }

    /// A `markup-line` element.
    pub fn markup_line(&mut self, el: Elem) -> XmlResult<MarkupLine> {
        let mut inlines = self.inline_children(&el, 0)?;
        finish_inlines(&mut inlines);
        Ok(MarkupLine(inlines))
    }

    /// A `markup-multiline` element with its wrapper (`<description>`, `<remarks>` …).
    pub fn markup_multi(&mut self, el: Elem) -> XmlResult<MarkupMultiline> {
        Ok(MarkupMultiline(self.block_children(&el, 0)?))
    }

    /// Whether an element name is a block of unwrapped prose (`<part>` content).
    pub fn is_block(name: &str) -> bool {
        matches!(
            name,
            "p" | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "ul"
                | "ol"
                | "pre"
                | "blockquote"
                | "table"
                | "hr"
        )
    }

    /// One block element of unwrapped prose.
    pub fn block(&mut self, el: Elem, out: &mut Vec<Block>) -> XmlResult<()> {
        self.block_at(el, 0, out)
    }

    fn check_markup_depth(&self, el: &Elem, depth: usize) -> XmlResult<()> {
        if depth > MAX_MARKUP_DEPTH {
            return Err(el.error_of(
                ErrorKind::TooDeep,
                format!("markup nested deeper than {MAX_MARKUP_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn block_children(&mut self, parent: &Elem, depth: usize) -> XmlResult<Vec<Block>> {
        self.check_markup_depth(parent, depth)?;
        let mut blocks = Vec::new();
        // Inline content directly in a block container (text in <li> or <remarks>) forms a
        // paragraph of its own.
        let mut loose: Vec<Inline> = Vec::new();
        let flush = |loose: &mut Vec<Inline>, blocks: &mut Vec<Block>| {
            finish_inlines(loose);
            if !loose.is_empty() {
                blocks.push(Block::Paragraph(std::mem::take(loose)));
            }
        };
        if parent.empty {
            return Ok(blocks);
        }
        loop {
            match self.next()? {
                Ev::Start(child) if Self::is_block(&child.name) => {
                    flush(&mut loose, &mut blocks);
                    self.block_at(child, depth + 1, &mut blocks)?;
                }
                Ev::Start(child) => self.inline_element(child, depth + 1, &mut loose)?,
                Ev::Text(t) => loose.push(Inline::Text(t)),
                Ev::End => {
                    flush(&mut loose, &mut blocks);
                    return Ok(blocks);
                }
                Ev::Eof => return Err(self.truncated(parent)),
            }
        }
    }

    fn block_at(&mut self, el: Elem, depth: usize, out: &mut Vec<Block>) -> XmlResult<()> {
        self.check_markup_depth(&el, depth)?;
        match el.name.as_str() {
            "p" => {
                let mut inlines = self.inline_children(&el, depth)?;
                finish_inlines(&mut inlines);
                if !inlines.is_empty() {
                    out.push(Block::Paragraph(inlines));
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = el
                    .name
                    .as_bytes()
                    .get(1)
                    .map_or(1, |b| b.saturating_sub(b'0'));
                let mut text = self.inline_children(&el, depth)?;
                finish_inlines(&mut text);
                out.push(Block::Heading { level, text });
            }
            "ul" | "ol" => {
                let ordered = el.name == "ol";
                let mut items = Vec::new();
                self.children(&el, |x, li| {
                    if li.name == "li" {
                        items.push(x.block_children(&li, depth + 1)?);
                        Ok(())
                    } else {
                        x.skip(li)
                    }
                })?;
                out.push(Block::List { ordered, items });
            }
            "pre" => {
                let code = self.raw_text(&el)?;
                let code = code.strip_prefix('\n').unwrap_or(&code);
                out.push(Block::CodeBlock(code.trim_end().to_string()));
            }
            "blockquote" => out.push(Block::Quote(self.block_children(&el, depth + 1)?)),
            "table" => {
                let mut rows = Vec::new();
                self.table_rows(&el, depth, &mut rows)?;
                out.push(Block::Table(rows));
            }
            _ => self.skip(el)?,
        }
        Ok(())
    }

    fn table_rows(
        &mut self,
        el: &Elem,
        depth: usize,
        rows: &mut Vec<Vec<(bool, Vec<Inline>)>>,
    ) -> XmlResult<()> {
        self.children(el, |x, child| match child.name.as_str() {
            "tr" => {
                let mut row = Vec::new();
                x.children(&child, |x, cell| {
                    let header = cell.name == "th";
                    if header || cell.name == "td" {
                        let mut inl = x.inline_children(&cell, depth + 1)?;
                        finish_inlines(&mut inl);
                        row.push((header, inl));
                        Ok(())
                    } else {
                        x.skip(cell)
                    }
                })?;
                rows.push(row);
                Ok(())
            }
            // Rows grouped in <thead>/<tbody> read the same.
            "thead" | "tbody" | "tfoot" => x.table_rows(&child, depth + 1, rows),
            _ => x.skip(child),
        })
    }

    /// All text inside an element, markup dropped, white space kept (`<pre>`).
    fn raw_text(&mut self, el: &Elem) -> XmlResult<String> {
        let mut out = String::new();
        if el.empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Start(child) => {
                    let inner = self.raw_text(&child)?;
                    out.push_str(&inner);
                }
                Ev::End => return Ok(out),
                Ev::Eof => return Err(self.truncated(el)),
            }
        }
    }

    fn inline_children(&mut self, parent: &Elem, depth: usize) -> XmlResult<Vec<Inline>> {
        self.check_markup_depth(parent, depth)?;
        let mut out = Vec::new();
        if parent.empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) => out.push(Inline::Text(t)),
                Ev::Start(child) => self.inline_element(child, depth + 1, &mut out)?,
                Ev::End => return Ok(out),
                Ev::Eof => return Err(self.truncated(parent)),
            }
        }
    }

    fn inline_element(&mut self, el: Elem, depth: usize, out: &mut Vec<Inline>) -> XmlResult<()> {
        self.check_markup_depth(&el, depth)?;
        match el.name.as_str() {
            "em" | "i" => out.push(Inline::Emphasis(self.inline_children(&el, depth)?)),
            "strong" | "b" => out.push(Inline::Strong(self.inline_children(&el, depth)?)),
            "sub" => out.push(Inline::Subscript(self.inline_children(&el, depth)?)),
            "sup" => out.push(Inline::Superscript(self.inline_children(&el, depth)?)),
            "code" => {
                let t = self.raw_text(&el)?;
                out.push(Inline::Code(t));
            }
            // OSCAL's Markdown writes <q> as straight double quotes.
            "q" => {
                out.push(Inline::Text("\"".into()));
                let inner = self.inline_children(&el, depth)?;
                out.extend(inner);
                out.push(Inline::Text("\"".into()));
            }
            "a" => {
                let href = el.opt("href").unwrap_or_default();
                let mut text = self.inline_children(&el, depth)?;
                finish_inlines(&mut text);
                out.push(Inline::Link { href, text });
            }
            "insert" => {
                let kind = el.req("type")?;
                let id_ref = el.req("id-ref")?;
                self.skip(el)?;
                out.push(Inline::Insert { kind, id_ref });
            }
            "img" => {
                let src = el.opt("src").unwrap_or_default();
                let alt = el.attr("alt").unwrap_or_default().to_string();
                let title = el.attr("title").map(str::to_string);
                self.skip(el)?;
                out.push(Inline::Image { src, alt, title });
            }
            "br" => {
                self.skip(el)?;
                out.push(Inline::Text(" ".into()));
            }
            // Anything else reads as its text.
            _ => {
                let inner = self.inline_children(&el, depth)?;
                out.extend(inner);
            }
        }
        Ok(())
    }
}

fn elem(e: &BytesStart<'_>, offset: u64, empty: bool) -> XmlResult<Elem> {
    let name = e.local_name().as_ref().to_string();
    let qname = e.name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| {
            XmlError::new(
                ErrorKind::Syntax,
                offset,
                format!("bad attribute in <{name}>: {err}"),
            )
        })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| {
                XmlError::new(
                    ErrorKind::Dtd,
                    offset,
                    format!(
                        "attribute `{key}` of <{name}>: {err} (only the five XML entities and character references are accepted)"
                    ),
                )
            })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Elem {
        name,
        qname,
        attrs,
        offset,
        empty,
    })
}

/// Whether the root element is in the OSCAL namespace (default or prefixed).
pub(crate) fn in_oscal_namespace(root: &Elem) -> bool {
    match root.qname.split_once(':') {
        Some((prefix, _)) => root.attr(&format!("xmlns:{prefix}")) == Some(OSCAL_XML_NS),
        None => root.attr("xmlns") == Some(OSCAL_XML_NS),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// An indenting XML writer. Markup is written without added white space inside paragraphs,
/// so that the text reads back unchanged.
#[derive(Debug, Default)]
pub(crate) struct XmlOut {
    out: String,
    depth: usize,
}

pub(crate) type Attrs<'a> = &'a [(&'a str, Option<&'a str>)];

impl XmlOut {
    pub fn new() -> XmlOut {
        XmlOut {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            depth: 0,
        }
    }

    pub fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: Attrs<'_>, close: bool) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                let _ = write!(self.out, " {k}=\"");
                escape_attr(v, &mut self.out);
                self.out.push('"');
            }
        }
        self.out.push_str(if close { "/>" } else { ">" });
    }

    pub fn open(&mut self, name: &str, attrs: Attrs<'_>) {
        self.newline();
        self.tag(name, attrs, false);
        self.depth += 1;
    }

    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.newline();
        let _ = write!(self.out, "</{name}>");
    }

    pub fn empty(&mut self, name: &str, attrs: Attrs<'_>) {
        self.newline();
        self.tag(name, attrs, true);
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, attrs: Attrs<'_>, text: &str) {
        self.newline();
        self.tag(name, attrs, false);
        escape_text(text, &mut self.out);
        let _ = write!(self.out, "</{name}>");
    }

    pub fn leaf_opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, &[], t);
        }
    }

    pub fn leaves(&mut self, name: &str, texts: &[String]) {
        for t in texts {
            self.leaf(name, &[], t);
        }
    }

    pub fn markup_line(&mut self, name: &str, m: &MarkupLine) {
        self.newline();
        self.tag(name, &[], false);
        write_inlines(&m.0, &mut self.out);
        let _ = write!(self.out, "</{name}>");
    }

    pub fn markup_line_opt(&mut self, name: &str, m: Option<&MarkupLine>) {
        if let Some(m) = m {
            self.markup_line(name, m);
        }
    }

    /// A wrapped `markup-multiline` element.
    pub fn markup_multi(&mut self, name: &str, m: &MarkupMultiline) {
        self.open(name, &[]);
        self.blocks(&m.0);
        self.close(name);
    }

    pub fn markup_multi_opt(&mut self, name: &str, m: Option<&MarkupMultiline>) {
        if let Some(m) = m {
            self.markup_multi(name, m);
        }
    }

    /// Blocks at the current level (unwrapped prose, or inside a wrapper).
    pub fn blocks(&mut self, blocks: &[Block]) {
        for b in blocks {
            self.block(b);
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Paragraph(inlines) => {
                self.newline();
                self.out.push_str("<p>");
                write_inlines(inlines, &mut self.out);
                self.out.push_str("</p>");
            }
            Block::Heading { level, text } => {
                let level = (*level).clamp(1, 6);
                self.newline();
                let _ = write!(self.out, "<h{level}>");
                write_inlines(text, &mut self.out);
                let _ = write!(self.out, "</h{level}>");
            }
            Block::List { ordered, items } => {
                let name = if *ordered { "ol" } else { "ul" };
                self.open(name, &[]);
                for item in items {
                    // A single paragraph is written inline, as OSCAL's own files do.
                    if let [Block::Paragraph(inlines)] = item.as_slice() {
                        self.newline();
                        self.out.push_str("<li>");
                        write_inlines(inlines, &mut self.out);
                        self.out.push_str("</li>");
                    } else {
                        self.open("li", &[]);
                        self.blocks(item);
                        self.close("li");
                    }
                }
                self.close(name);
            }
            Block::CodeBlock(code) => {
                self.newline();
                self.out.push_str("<pre>");
                escape_text(code, &mut self.out);
                self.out.push_str("</pre>");
            }
            Block::Quote(blocks) => {
                self.open("blockquote", &[]);
                self.blocks(blocks);
                self.close("blockquote");
            }
            Block::Table(rows) => {
                self.open("table", &[]);
                for row in rows {
                    self.newline();
                    self.out.push_str("<tr>");
                    for (header, cell) in row {
                        let tag = if *header { "th" } else { "td" };
                        let _ = write!(self.out, "<{tag}>");
                        write_inlines(cell, &mut self.out);
                        let _ = write!(self.out, "</{tag}>");
                    }
                    self.out.push_str("</tr>");
                }
                self.close("table");
            }
        }
    }
}

fn write_inlines(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(t) => escape_text(t, out),
            Inline::Emphasis(c) => wrap("em", c, out),
            Inline::Strong(c) => wrap("strong", c, out),
            Inline::Subscript(c) => wrap("sub", c, out),
            Inline::Superscript(c) => wrap("sup", c, out),
            Inline::Code(t) => {
                out.push_str("<code>");
                escape_text(t, out);
                out.push_str("</code>");
            }
            Inline::Link { href, text } => {
                out.push_str("<a href=\"");
                escape_attr(href, out);
                out.push_str("\">");
                write_inlines(text, out);
                out.push_str("</a>");
            }
            Inline::Image { src, alt, title } => {
                out.push_str("<img src=\"");
                escape_attr(src, out);
                out.push_str("\" alt=\"");
                escape_attr(alt, out);
                out.push('"');
                if let Some(t) = title {
                    out.push_str(" title=\"");
                    escape_attr(t, out);
                    out.push('"');
                }
                out.push_str("/>");
            }
            Inline::Insert { kind, id_ref } => {
                out.push_str("<insert type=\"");
                escape_attr(kind, out);
                out.push_str("\" id-ref=\"");
                escape_attr(id_ref, out);
                out.push_str("\"/>");
            }
        }
    }
}

fn wrap(tag: &str, inner: &[Inline], out: &mut String) {
    let _ = write!(out, "<{tag}>");
    write_inlines(inner, out);
    let _ = write!(out, "</{tag}>");
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Carriage returns would be normalised away by any XML reader.
            '\r' => out.push_str("&#13;"),
            other => out.push(other),
        }
    }
}

fn escape_attr(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Attribute values are white-space normalised on reading; references keep them.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            other => out.push(other),
        }
    }
}
