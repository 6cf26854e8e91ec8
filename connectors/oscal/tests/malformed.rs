//! Malformed documents: each refused with its kind, the exact place (JSON path, XML line and
//! column) and a message that says what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use imsbridge_connector_oscal::{
    ErrorKind, Limits, OscalError, ReadOptions, parse_bytes, read_bytes,
};

const UUID: &str = "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724";
const META: &str = r#""metadata": {"title": "T", "last-modified": "2024-02-01T13:57:28Z", "version": "1", "oscal-version": "1.1.2"}"#;
const XML_META: &str = "<metadata><title>T</title><last-modified>2024-02-01T13:57:28Z</last-modified><version>1</version><oscal-version>1.1.2</oscal-version></metadata>";
const NS: &str = "xmlns=\"http://csrc.nist.gov/ns/oscal/1.0\"";

fn refuse(doc: &[u8]) -> OscalError {
    match parse_bytes(doc, "bad", &Limits::default()) {
        Ok(_) => panic!("accepted: {}", String::from_utf8_lossy(doc)),
        Err(e) => e,
    }
}

/// A JSON refusal: kind, path, and a fragment of the message.
fn json_case(doc: &str, kind: ErrorKind, path: Option<&str>, fragment: &str) -> OscalError {
    let e = refuse(doc.as_bytes());
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.location.path.as_deref(), path, "{e}");
    assert!(e.message.contains(fragment), "{fragment:?} not in {e}");
    e
}

/// An XML refusal: kind, line and column, and a fragment of the message.
fn xml_case(doc: &[u8], kind: ErrorKind, line: (u64, u64), fragment: &str) -> OscalError {
    let e = refuse(doc);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.location.line, Some(line), "{e}");
    assert!(e.message.contains(fragment), "{fragment:?} not in {e}");
    assert_eq!(
        e.to_string(),
        format!("bad:{}:{}: {}", line.0, line.1, e.message)
    );
    e
}

fn catalog(body: &str) -> String {
    format!("{{\"catalog\": {{\n  \"uuid\": \"{UUID}\",\n  {META},\n  {body}\n}}}}")
}

#[test]
fn json_with_a_root_that_is_no_oscal_model() {
    let e = json_case(
        r#"{"catalogue": {}}"#,
        ErrorKind::NotOscal,
        Some("catalogue"),
        "\"catalogue\" is not an OSCAL model",
    );
    assert_eq!(e.location.line, Some((1, 2)));
    json_case(
        r#"{"component-definition": {}}"#,
        ErrorKind::UnsupportedModel,
        Some("component-definition"),
        "component-definition is not read by imsbridge",
    );
    json_case(
        &format!(r#"{{"catalog": {{"uuid": "{UUID}", {META}}}, "profile": {{}}}}"#),
        ErrorKind::Invalid,
        None,
        "a second model key \"profile\"",
    );
}

#[test]
fn json_missing_a_required_field_names_the_field() {
    let e = json_case(
        &catalog(r#""groups": [{"id": "g1", "title": "G", "controls": [{"title": "no id"}]}]"#),
        ErrorKind::Invalid,
        Some("catalog.groups[0].controls[0].id"),
        "`id` is required",
    );
    assert_eq!(e.location.line.map(|l| l.0), Some(4));
    json_case(
        &format!(r#"{{"plan-of-action-and-milestones": {{"uuid": "{UUID}", {META}}}}}"#),
        ErrorKind::Invalid,
        Some("plan-of-action-and-milestones.poam-items"),
        "`poam-items` is required",
    );
}

#[test]
fn json_uuids_must_be_version_4_or_5() {
    json_case(
        &catalog("\"controls\": []").replace(UUID, "74c8ba1e-5cd4-1ad1-bbfd-d888e2f6c724"),
        ErrorKind::Invalid,
        Some("catalog.uuid"),
        "is a version 1 UUID; OSCAL requires version 4 (random) or 5 (name-based)",
    );
    let poam = format!(
        r#"{{"plan-of-action-and-milestones": {{"uuid": "{UUID}", {META},
            "risks": [{{"uuid": "1234", "title": "t", "description": "d", "statement": "s", "status": "open"}}],
            "poam-items": [{{"title": "t", "description": "d"}}]}}}}"#
    );
    json_case(
        &poam,
        ErrorKind::Invalid,
        Some("plan-of-action-and-milestones.risks[0].uuid"),
        "\"1234\" is not a UUID",
    );
}

#[test]
fn json_oscal_version_outside_1_0_to_1_2() {
    json_case(
        &catalog("\"controls\": []").replace("\"1.1.2\"", "\"2.0.0\""),
        ErrorKind::Invalid,
        Some("catalog.metadata.oscal-version"),
        "OSCAL 2.0.0 is not supported",
    );
}

#[test]
fn json_bad_tokens_dates_and_types() {
    json_case(
        &catalog(r#""groups": [{"id": "1st", "title": "G"}]"#),
        ErrorKind::Invalid,
        Some("catalog.groups[0].id"),
        "\"1st\" is not a token",
    );
    json_case(
        &catalog("\"controls\": []").replace("2024-02-01T13:57:28Z", "yesterday"),
        ErrorKind::Invalid,
        Some("catalog.metadata.last-modified"),
        "not a date-time with a time zone",
    );
    json_case(
        &catalog(r#""groups": [{"title": "G", "controls": {"id": "c"}}]"#),
        ErrorKind::Invalid,
        Some("catalog.groups[0].controls"),
        "invalid type: map, expected a sequence",
    );
}

#[test]
fn json_truncated_syntax_errors_and_trailing_data() {
    let whole = catalog(r#""groups": [{"id": "g1", "title": "G"}]"#);
    let cut = &whole[..whole.find("\"title\": \"G\"").unwrap() + 5];
    let e = json_case(
        cut,
        ErrorKind::Truncated,
        Some("catalog.groups[0]"),
        "the file is truncated",
    );
    assert_eq!(e.location.line.map(|l| l.0), Some(4));
    json_case(
        &catalog("\"controls\": []").replace("\"version\": \"1\",", "\"version\": \"1\""),
        ErrorKind::Syntax,
        Some("catalog.metadata"),
        "not valid JSON: expected `,` or `}`",
    );
    json_case(
        &format!("{} {{}}", catalog("\"controls\": []")),
        ErrorKind::Syntax,
        None,
        "trailing characters",
    );
}

#[test]
fn json_nesting_beyond_the_limit() {
    let mut groups = String::from(r#""groups": []"#);
    for _ in 0..40 {
        groups = format!(r#""groups": [{{"title": "G", {groups}}}]"#);
    }
    // The root object, "catalog", then an array and an object per group: the 32nd group's
    // "groups" array is level 65.
    let path = format!("catalog{}.groups", ".groups[0]".repeat(31));
    json_case(
        &catalog(&groups),
        ErrorKind::TooDeep,
        Some(&path),
        "nested deeper than 64 levels",
    );
    // Markup strings recurse too, and are bounded as well.
    json_case(
        &catalog("\"controls\": []").replace(
            "\"version\"",
            &format!("\"remarks\": \"{}x\", \"version\"", "> ".repeat(100)),
        ),
        ErrorKind::Invalid,
        Some("catalog.metadata.remarks"),
        "markup nested deeper than 32 levels",
    );
}

#[test]
fn bytes_that_are_no_utf8_json_or_xml() {
    let mut doc = catalog("\"controls\": []").into_bytes();
    let at = doc.windows(3).position(|w| w == b"\"T\"").unwrap() + 1;
    doc[at] = 0xFF;
    let e = refuse(&doc);
    assert_eq!(e.kind, ErrorKind::Encoding);
    assert_eq!(e.location.line, Some((3, 26)));
    assert!(e.message.contains("invalid UTF-8 (byte 0xFF"), "{e}");

    let e = refuse(b"");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotOscal, "the file is empty")
    );
    let e = refuse(b"\n  Risk ID,Title\nR-1,x");
    assert_eq!(e.kind, ErrorKind::NotOscal);
    assert_eq!(e.location.line, Some((2, 3)));
    assert!(e.message.contains("neither JSON nor XML"));
}

#[test]
fn xml_doctype_and_entities_are_refused_never_expanded() {
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE catalog [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n<catalog {NS} uuid=\"{UUID}\"><metadata><title>&lol2;</title></metadata></catalog>"
    );
    xml_case(
        laughs.as_bytes(),
        ErrorKind::Dtd,
        (2, 1),
        "a DOCTYPE declaration is refused",
    );
    let xxe =
        format!("<catalog {NS} uuid=\"{UUID}\">\n  <metadata>\n    <title>Hello &xxe;</title>");
    xml_case(
        xxe.as_bytes(),
        ErrorKind::Dtd,
        (3, 18),
        "undefined entity &xxe;",
    );
    let in_attr = format!("<catalog {NS} uuid=\"&ext;\"/>");
    xml_case(
        in_attr.as_bytes(),
        ErrorKind::Dtd,
        (1, 1),
        "attribute `uuid` of <catalog>",
    );
}

#[test]
fn xml_root_namespace_and_encoding() {
    xml_case(
        format!("<?xml version=\"1.0\"?>\n<catalog uuid=\"{UUID}\"/>").as_bytes(),
        ErrorKind::NotOscal,
        (2, 1),
        "<catalog> is not in the OSCAL namespace",
    );
    xml_case(
        b"<html><body/></html>",
        ErrorKind::NotOscal,
        (1, 1),
        "the root element <html> is not an OSCAL model",
    );
    xml_case(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<catalog/>",
        ErrorKind::Encoding,
        (1, 1),
        "only UTF-8 is read",
    );
}

#[test]
fn xml_missing_elements_bad_attributes_and_versions() {
    let doc = format!(
        "<catalog {NS} uuid=\"{UUID}\">\n  {XML_META}\n  <group id=\"g\">\n    <title>G</title>\n    <control id=\"c1\">\n      <prop name=\"label\" value=\"C1\"/>\n    </control>\n  </group>\n</catalog>"
    );
    xml_case(
        doc.as_bytes(),
        ErrorKind::Invalid,
        (5, 5),
        "<control> has no <title> element, which OSCAL requires",
    );
    xml_case(
        doc.replace(UUID, "not-a-uuid").as_bytes(),
        ErrorKind::Invalid,
        (1, 1),
        "<catalog> `uuid`: \"not-a-uuid\" is not a UUID",
    );
    xml_case(
        doc.replace("<control id=\"c1\">", "<control>").as_bytes(),
        ErrorKind::Invalid,
        (5, 5),
        "<control> has no `id` attribute",
    );
    let version = doc.replace("<oscal-version>1.1.2", "<oscal-version>1.3.0");
    let col = u64::try_from(
        version
            .lines()
            .nth(1)
            .unwrap()
            .find("<oscal-version>")
            .unwrap(),
    )
    .unwrap()
        + 1;
    xml_case(
        version.as_bytes(),
        ErrorKind::Invalid,
        (2, col),
        "OSCAL 1.3.0 is not supported",
    );
}

#[test]
fn xml_truncated_mismatched_and_too_deep() {
    let doc = format!(
        "<catalog {NS} uuid=\"{UUID}\">\n  {XML_META}\n  <group id=\"g\">\n    <title>G</title>\n"
    );
    xml_case(
        doc.as_bytes(),
        ErrorKind::Truncated,
        (5, 1),
        "the document ends inside <group>",
    );
    let cut = format!("<catalog {NS} uuid=\"{UUID}\">\n  <metadata><title>T</ti");
    xml_case(
        cut.as_bytes(),
        ErrorKind::Truncated,
        (2, 21),
        "the file is truncated or a tag is not closed",
    );
    let mismatched = format!("<catalog {NS} uuid=\"{UUID}\">\n  <metadata><title>T</version>");
    xml_case(
        mismatched.as_bytes(),
        ErrorKind::Syntax,
        (2, 21),
        "not well-formed XML",
    );

    let mut deep = format!("<catalog {NS} uuid=\"{UUID}\">\n");
    for _ in 0..70 {
        deep.push_str("<group>\n");
    }
    // The root is level 1 on line 1; the 64th <group> (line 65) is level 65.
    xml_case(
        deep.as_bytes(),
        ErrorKind::TooDeep,
        (65, 1),
        "elements nested deeper than 64 levels",
    );
}

#[test]
fn xml_invalid_utf8_is_located() {
    let mut doc =
        format!("<catalog {NS} uuid=\"{UUID}\">\n  <metadata><title>Tü</title>").into_bytes();
    let at = doc.len() - "</title>".len() - 1;
    doc[at] = 0xFE;
    // The sequence that breaks is the one starting with ü's lead byte.
    xml_case(
        &doc,
        ErrorKind::Encoding,
        (2, 21),
        "invalid UTF-8 (byte 0xC3",
    );
}

#[test]
fn duplicate_ids_are_rejected_records_not_documents() {
    let doc =
        catalog(r#""controls": [{"id": "c1", "title": "First"}, {"id": "c1", "title": "Second"}]"#);
    let imported = read_bytes(
        doc.as_bytes(),
        "dup.json",
        "s",
        &ReadOptions::default(),
        &common::mappings(),
    )
    .unwrap();
    assert_eq!(imported.records.len(), 1);
    assert_eq!(imported.rejects.len(), 1);
    let r = &imported.rejects[0];
    assert_eq!(r.location, "dup.json#catalog.controls[1]");
    assert!(
        r.message.contains(
            "a second control with the id \"c1\" (the first is at dup.json#catalog.controls[0])"
        ),
        "{}",
        r.message
    );
    assert_eq!(r.raw, r#"{"id":"c1","title":"Second"}"#);
}

#[test]
fn documents_over_the_size_limit_are_refused_before_parsing() {
    let limits = Limits {
        max_bytes: 64,
        ..Limits::default()
    };
    let e = parse_bytes(catalog("\"controls\": []").as_bytes(), "big.json", &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, catalog("\"controls\": []")).unwrap();
    let e = imsbridge_connector_oscal::parse_path(&path, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(e.message.contains("larger than"));
}
