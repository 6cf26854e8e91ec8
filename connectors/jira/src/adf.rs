//! Atlassian Document Format (ADF), the JSON documents Jira Cloud's REST API v3 uses for
//! descriptions and multi-line text fields, to plain text and back.
//!
//! Reading keeps every word a person typed: paragraphs and headings become blocks separated by
//! a blank line, lists become `- ` / `1. ` lines (nested lists indented), code blocks keep their
//! lines, hard breaks become line breaks, mentions their display text, links `text (url)`.
//! A node this module does not know still gives its text (its children's, or its `text`
//! attribute), so a new node type loses formatting at worst, never content.
//!
//! Writing builds plain paragraphs (one per blank-line-separated block, hard breaks inside):
//! the bridge never sends raw text where Jira wants a document.

use serde_json::{Value, json};

/// The text of an ADF document (or any ADF node), normalised with [`normalise_text`].
/// A plain string (what API v2 or a text field holds) is taken as it is.
pub fn to_text(node: &Value) -> String {
    match node {
        Value::String(s) => normalise_text(s),
        Value::Null => String::new(),
        other => normalise_text(&block(other, 0)),
    }
}

/// A document of plain paragraphs holding `text`; `Null` for empty text (Jira's "no value").
pub fn from_text(text: &str) -> Value {
    let text = normalise_text(text);
    if text.is_empty() {
        return Value::Null;
    }
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .map(|paragraph| {
            let mut content = Vec::new();
            for (i, line) in paragraph.split('\n').enumerate() {
                if i > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                // Normalised text has no empty line inside a paragraph, and ADF forbids empty
                // text nodes; the guard keeps that true whatever the input.
                if !line.is_empty() {
                    content.push(json!({"type": "text", "text": line}));
                }
            }
            json!({"type": "paragraph", "content": content})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// Line breaks as `\n`, no trailing blanks on a line, at most one blank line in a row, no
/// blank lines at either end. Text compared between the bridge and Jira goes through this on
/// both sides, so that an editor's stray spaces are not a change.
pub fn normalise_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<&str> = Vec::new();
    for line in text.split('\n').map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n").trim().to_string()
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn attr<'v>(node: &'v Value, name: &str) -> Option<&'v str> {
    node.get("attrs")?
        .get(name)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// Inline nodes: what goes inside a paragraph.
fn is_inline(node: &Value) -> bool {
    matches!(
        node_type(node),
        "text"
            | "hardBreak"
            | "mention"
            | "emoji"
            | "inlineCard"
            | "date"
            | "status"
            | "placeholder"
            | "inlineExtension"
            | "mediaInline"
    ) || node.get("text").is_some_and(Value::is_string)
}

/// Block children, each rendered, separated by a blank line.
fn blocks(nodes: &[Value], depth: usize) -> String {
    nodes
        .iter()
        .map(|n| block(n, depth))
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn block(node: &Value, depth: usize) -> String {
    let indent = "  ".repeat(depth);
    match node_type(node) {
        "paragraph" | "heading" => inline(children(node)),
        "bulletList" => children(node)
            .iter()
            .map(|item| format!("{indent}- {}", list_item(item, depth)))
            .collect::<Vec<_>>()
            .join("\n"),
        "orderedList" => {
            let start = node
                .get("attrs")
                .and_then(|a| a.get("order"))
                .and_then(Value::as_u64)
                .unwrap_or(1);
            children(node)
                .iter()
                .zip(start..)
                .map(|(item, n)| format!("{indent}{n}. {}", list_item(item, depth)))
                .collect::<Vec<_>>()
                .join("\n")
        }
        "listItem" => list_item(node, depth),
        // Code keeps its text verbatim (no link or mention rendering inside).
        "codeBlock" => children(node)
            .iter()
            .filter_map(|n| n.get("text").and_then(Value::as_str))
            .collect(),
        "blockquote" => blocks(children(node), depth)
            .lines()
            .map(|l| format!("> {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        "rule" => "---".to_string(),
        "table" => children(node)
            .iter()
            .map(|row| {
                children(row)
                    .iter()
                    .map(|cell| blocks(children(cell), 0).replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ if is_inline(node) => inline(std::slice::from_ref(node)),
        // doc, panel, expand, layouts and whatever comes next: their children, or the text
        // they carry as an attribute.
        _ => {
            let kids = children(node);
            if kids.is_empty() {
                attr(node, "text").unwrap_or_default().to_string()
            } else if kids.iter().all(is_inline) {
                inline(kids)
            } else {
                blocks(kids, depth)
            }
        }
    }
}

/// A list item: its first block on the bullet's line, nested lists below it, one level deeper.
fn list_item(item: &Value, depth: usize) -> String {
    children(item)
        .iter()
        .map(|child| block(child, depth + 1))
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn inline(nodes: &[Value]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node_type(node) {
            "text" => {
                let text = node.get("text").and_then(Value::as_str).unwrap_or("");
                out.push_str(text);
                // A link whose text is not its address: both, so the address is not lost.
                if let Some(href) = link(node)
                    && href != text
                {
                    out.push_str(&format!(" ({href})"));
                }
            }
            "hardBreak" => out.push('\n'),
            "mention" => match (attr(node, "text"), attr(node, "id")) {
                (Some(text), _) => out.push_str(text),
                (None, Some(id)) => out.push_str(&format!("@{id}")),
                (None, None) => {}
            },
            "emoji" => out.push_str(
                attr(node, "text")
                    .or_else(|| attr(node, "shortName"))
                    .unwrap_or_default(),
            ),
            "inlineCard" => out.push_str(attr(node, "url").unwrap_or_default()),
            "date" => {
                let day = attr(node, "timestamp")
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.date_naive().to_string());
                out.push_str(&day.unwrap_or_default());
            }
            _ => {
                if let Some(text) = node.get("text").and_then(Value::as_str) {
                    out.push_str(text);
                } else if !children(node).is_empty() {
                    out.push_str(&inline(children(node)));
                } else if let Some(text) = attr(node, "text") {
                    out.push_str(text);
                }
            }
        }
    }
    out
}

/// The `href` of a text node's link mark.
fn link(node: &Value) -> Option<&str> {
    node.get("marks")?
        .as_array()?
        .iter()
        .find(|m| node_type(m) == "link")
        .and_then(|m| attr(m, "href"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Value {
        json!({"type": "text", "text": t})
    }

    fn para(content: Vec<Value>) -> Value {
        json!({"type": "paragraph", "content": content})
    }

    fn list(kind: &str, items: Vec<Vec<Value>>) -> Value {
        json!({"type": kind, "content": items.into_iter()
            .map(|c| json!({"type": "listItem", "content": c})).collect::<Vec<_>>()})
    }

    #[test]
    fn documents_read_as_plain_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text("Finding")]},
            para(vec![
                text("Seen by "),
                json!({"type": "mention", "attrs": {"id": "5b10ac", "text": "@Dana Scully"}}),
                text(" on "),
                json!({"type": "date", "attrs": {"timestamp": "1735689600000"}}),
                json!({"type": "hardBreak"}),
                json!({"type": "text", "text": "runbook", "marks": [{"type": "link", "attrs": {"href": "https://wiki/x"}}]}),
                text(" and "),
                json!({"type": "text", "text": "https://a.b", "marks": [{"type": "link", "attrs": {"href": "https://a.b"}}]}),
                json!({"type": "emoji", "attrs": {"shortName": ":warning:", "text": "⚠️"}}),
            ]),
            list("bulletList", vec![
                vec![para(vec![text("one")]), list("orderedList", vec![vec![para(vec![text("deep")])]])],
                vec![para(vec![text("two")])],
            ]),
            json!({"type": "orderedList", "attrs": {"order": 3}, "content": [
                {"type": "listItem", "content": [para(vec![text("third")])]}]}),
            {"type": "codeBlock", "attrs": {"language": "sql"}, "content": [text("select 1;\nselect 2;")]},
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(vec![text("in a panel")])]},
            {"type": "blockquote", "content": [para(vec![text("quoted")])]},
            {"type": "rule"},
            {"type": "futureBlock", "content": [{"type": "futureInline", "attrs": {"text": "kept"}}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file"}}]},
        ]});
        assert_eq!(
            to_text(&doc),
            "Finding\n\n\
             Seen by @Dana Scully on 2025-01-01\nrunbook (https://wiki/x) and https://a.b⚠️\n\n\
             - one\n  1. deep\n- two\n\n\
             3. third\n\n\
             select 1;\nselect 2;\n\n\
             in a panel\n\n\
             > quoted\n\n\
             ---\n\n\
             kept"
        );
        assert_eq!(to_text(&Value::Null), "");
        assert_eq!(to_text(&json!("plain  \r\n\r\n\r\ntext ")), "plain\n\ntext");
    }

    #[test]
    fn text_becomes_paragraphs_and_reads_back_the_same() {
        let doc = from_text("First line\r\nsecond line  \n\n\n\nNext paragraph\n");
        assert_eq!(
            doc,
            json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    text("First line"), {"type": "hardBreak"}, text("second line")]},
                {"type": "paragraph", "content": [text("Next paragraph")]},
            ]})
        );
        let back = to_text(&doc);
        assert_eq!(back, "First line\nsecond line\n\nNext paragraph");
        assert_eq!(from_text(&back), doc, "text → ADF → text → ADF is stable");
        assert_eq!(from_text(" \n\n "), Value::Null);
    }
}
