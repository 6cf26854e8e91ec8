//! The typed OSCAL document model shared by the JSON and XML readers and writers.
//!
//! Only what imsbridge maps is modelled; other fields are skipped when reading (in both
//! formats alike, so the two readings of one document stay equal). Field names follow the
//! OSCAL JSON names; each type also reads and writes its XML element (singular element names,
//! attributes for flags, `<response>` for `remediations`, `<associated-risk>` for
//! `related-risks` …). Values whose syntax OSCAL fixes are checked on reading: UUIDs (version
//! 4 or 5), tokens, date-times with a time zone, the OSCAL version (1.0.x to 1.2.x).

mod assessment;
mod catalog;
mod mapping;

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::markup::{MarkupLine, MarkupMultiline};
use crate::xml::{Elem, XmlIn, XmlOut, XmlResult, in_oscal_namespace, required};

pub use assessment::{
    Actor, AssessmentResult, AssessmentResults, Characterization, ControlSelection, Facet, Finding,
    FindingTarget, ImplementationStatus, ImportHref, MitigatingFactor, ObjectiveStatus,
    Observation, Origin, PlanOfActionAndMilestones, PoamItem, RelatedFinding, RelatedObservation,
    RelatedRisk, RelevantEvidence, Response, ReviewedControls, Risk, SelectControlById,
    SubjectReference, SystemId, Task, ThreatId, Timing,
};
pub(crate) use catalog::oscal_prop;
pub use catalog::{
    Catalog, Control, Group, Import, Matching, Modify, Param, Part, Profile, Select, Selection,
    SetParameter,
};
pub use mapping::{
    ConfidenceScore, Map, MapRelationship, Mapping, MappingCollection, MappingItem, MappingMethod,
    MappingProvenance, MappingStatus, MatchingRationale, ResourceReference,
};

/// The namespace of OSCAL's own property names and facet systems.
pub const OSCAL_NS: &str = "http://csrc.nist.gov/ns/oscal";

/// The OSCAL version exports declare.
pub const EXPORT_OSCAL_VERSION: &str = "1.2.1";

// ---------------------------------------------------------------------------------------------
// Checked scalars

/// A UUID as OSCAL allows it: version 4 (random) or 5 (name-based), RFC 4122 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OscalUuid(pub Uuid);

impl OscalUuid {
    pub fn parse(s: &str) -> Result<OscalUuid, String> {
        let s = s.trim();
        // Only the hyphenated form: Uuid::parse_str would also take braces and URNs.
        let shape_ok = s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        let uuid = match Uuid::parse_str(s) {
            Ok(u) if shape_ok => u,
            _ => {
                return Err(format!(
                    "{s:?} is not a UUID (8-4-4-4-12 hexadecimal digits)"
                ));
            }
        };
        match uuid.get_version_num() {
            4 | 5 if uuid.get_variant() == uuid::Variant::RFC4122 => Ok(OscalUuid(uuid)),
            4 | 5 => Err(format!(
                "{s:?} is not an RFC 4122 UUID (variant digit must be 8, 9, a or b)"
            )),
            v => Err(format!(
                "{s:?} is a version {v} UUID; OSCAL requires version 4 (random) or 5 (name-based)"
            )),
        }
    }
}

impl fmt::Display for OscalUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A token (XML NCName): a letter or `_`, then letters, digits, `.`, `-`, `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub String);

impl Token {
    pub fn parse(s: &str) -> Result<Token, String> {
        let s = s.trim();
        let mut chars = s.chars();
        let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if ok {
            Ok(Token(s.to_string()))
        } else if s.is_empty() {
            Err("an empty identifier".into())
        } else {
            Err(format!(
                "{s:?} is not a token: it must start with a letter or _ and hold only letters, digits, '.', '-' and '_'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A date and time with a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OscalDateTime(pub DateTime<FixedOffset>);

impl OscalDateTime {
    pub fn parse(s: &str) -> Result<OscalDateTime, String> {
        DateTime::parse_from_rfc3339(s.trim())
            .map(OscalDateTime)
            .map_err(|_| {
                format!("{s:?} is not a date-time with a time zone (2024-02-01T13:57:28Z)")
            })
    }
}

impl fmt::Display for OscalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// The `oscal-version` of a document: 1.0.x, 1.1.x or 1.2.x.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OscalVersion(pub String);

impl OscalVersion {
    pub fn parse(s: &str) -> Result<OscalVersion, String> {
        let s = s.trim();
        let core = s.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        let numeric = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !numeric {
            return Err(format!(
                "{s:?} is not an OSCAL version (major.minor.patch, such as 1.1.2)"
            ));
        }
        if parts.first() == Some(&"1") && matches!(parts.get(1).copied(), Some("0" | "1" | "2")) {
            Ok(OscalVersion(s.to_string()))
        } else {
            Err(format!(
                "OSCAL {s} is not supported: this reader knows OSCAL 1.0.x, 1.1.x and 1.2.x"
            ))
        }
    }
}

macro_rules! string_serde {
    ($t:ty, $parse:expr, $show:expr) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&$show(self))
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $parse(&raw).map_err(de::Error::custom)
            }
        }
    };
}

string_serde!(OscalUuid, OscalUuid::parse, |u: &OscalUuid| u.to_string());
string_serde!(Token, Token::parse, |t: &Token| t.0.clone());
string_serde!(OscalDateTime, OscalDateTime::parse, |t: &OscalDateTime| t
    .to_string());
string_serde!(OscalVersion, OscalVersion::parse, |v: &OscalVersion| v
    .0
    .clone());
string_serde!(
    MarkupLine,
    |s: &str| MarkupLine::from_markdown(s).map_err(|e| e.to_string()),
    |m: &MarkupLine| m.to_markdown()
);
string_serde!(
    MarkupMultiline,
    |s: &str| MarkupMultiline::from_markdown(s).map_err(|e| e.to_string()),
    |m: &MarkupMultiline| m.to_markdown()
);

/// A non-empty string without surrounding white space (OSCAL's `string`), trimmed on reading.
pub(crate) fn parse_string(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("an empty value".into())
    } else {
        Ok(t.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The XML side of each type

/// Reading and writing one element type.
pub(crate) trait XmlNode: Sized {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self>;
    fn write_xml(&self, w: &mut XmlOut, name: &str);
}

pub(crate) fn write_all<T: XmlNode>(w: &mut XmlOut, name: &str, items: &[T]) {
    for item in items {
        item.write_xml(w, name);
    }
}

// ---------------------------------------------------------------------------------------------
// Metadata, properties, links

/// A property: a name/value pair, OSCAL's extension point. `ns` names the vocabulary the name
/// belongs to (none: OSCAL's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Prop {
    pub name: Token,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl Prop {
    pub fn new(name: &str, value: impl Into<String>, ns: Option<&str>) -> Prop {
        Prop {
            name: Token(name.to_string()),
            value: value.into(),
            ns: ns.map(str::to_string),
            class: None,
            remarks: None,
        }
    }
}

impl XmlNode for Prop {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let prop = Prop {
            name: el.parse("name", Token::parse)?,
            value: el
                .attr("value")
                .map(str::trim)
                .map(str::to_string)
                .ok_or_else(|| el.error("<prop> has no `value` attribute"))?,
            ns: el.opt("ns"),
            class: el.opt("class"),
            remarks: None,
        };
        let mut remarks = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "remarks" => {
                remarks = Some(x.markup_multi(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Prop { remarks, ..prop })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("name", Some(self.name.as_str())),
            ("value", Some(self.value.as_str())),
            ("ns", self.ns.as_deref()),
            ("class", self.class.as_deref()),
        ];
        match &self.remarks {
            None => w.empty(name, &attrs),
            Some(r) => {
                w.open(name, &attrs);
                w.markup_multi("remarks", r);
                w.close(name);
            }
        }
    }
}

/// A link to another resource or to something in the document (`#ac-3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<MarkupLine>,
}

impl XmlNode for Link {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let href = el.req("href")?;
        let rel = el.opt("rel");
        let media_type = el.opt("media-type");
        let mut text = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "text" => {
                text = Some(x.markup_line(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Link {
            href,
            rel,
            media_type,
            text,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("href", Some(self.href.as_str())),
            ("rel", self.rel.as_deref()),
            ("media-type", self.media_type.as_deref()),
        ];
        match &self.text {
            None => w.empty(name, &attrs),
            Some(t) => {
                w.open(name, &attrs);
                w.markup_line("text", t);
                w.close(name);
            }
        }
    }
}

/// A role named in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Role {
    pub id: Token,
    pub title: MarkupLine,
}

impl XmlNode for Role {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let id = el.parse("id", Token::parse)?;
        let mut title = None;
        x.children(&el, |x, c| match c.name.as_str() {
            "title" => {
                title = Some(x.markup_line(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Role {
            id,
            title: required(title, &el, "title")?,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("id", Some(self.id.as_str()))]);
        w.markup_line("title", &self.title);
        w.close(name);
    }
}

/// A person or organisation named in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Party {
    pub uuid: OscalUuid,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
}

impl XmlNode for Party {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let kind = el.req("type")?;
        let (mut name, mut short_name) = (None, None);
        x.children(&el, |x, c| match c.name.as_str() {
            "name" => {
                name = Some(x.text(c)?);
                Ok(())
            }
            "short-name" => {
                short_name = Some(x.text(c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(Party {
            uuid,
            kind,
            name,
            short_name,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(name, &[("uuid", Some(&uuid)), ("type", Some(&self.kind))]);
        w.leaf_opt("name", self.name.as_deref());
        w.leaf_opt("short-name", self.short_name.as_deref());
        w.close(name);
    }
}

/// Which parties hold a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResponsibleParty {
    pub role_id: Token,
    pub party_uuids: Vec<OscalUuid>,
}

impl XmlNode for ResponsibleParty {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let role_id = el.parse("role-id", Token::parse)?;
        let mut party_uuids = Vec::new();
        x.children(&el, |x, c| match c.name.as_str() {
            "party-uuid" => {
                party_uuids.push(x.parse_text(c, OscalUuid::parse)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(ResponsibleParty {
            role_id,
            party_uuids,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[("role-id", Some(self.role_id.as_str()))]);
        for p in &self.party_uuids {
            w.leaf("party-uuid", &[], &p.to_string());
        }
        w.close(name);
    }
}

/// A document's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Metadata {
    pub title: MarkupLine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<OscalDateTime>,
    pub last_modified: OscalDateTime,
    pub version: String,
    pub oscal_version: OscalVersion,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responsible_parties: Vec<ResponsibleParty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl Metadata {
    /// A party's name (or short name) by UUID.
    pub fn party_name(&self, uuid: &OscalUuid) -> Option<&str> {
        self.parties
            .iter()
            .find(|p| p.uuid == *uuid)
            .and_then(|p| p.name.as_deref().or(p.short_name.as_deref()))
    }
}

impl XmlNode for Metadata {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut title = None;
        let mut published = None;
        let mut last_modified = None;
        let mut version = None;
        let mut oscal_version = None;
        let mut props = Vec::new();
        let mut links = Vec::new();
        let mut roles = Vec::new();
        let mut parties = Vec::new();
        let mut responsible_parties = Vec::new();
        let mut remarks = None;
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "title" => title = Some(x.markup_line(c)?),
                "published" => published = Some(x.parse_text(c, OscalDateTime::parse)?),
                "last-modified" => last_modified = Some(x.parse_text(c, OscalDateTime::parse)?),
                "version" => version = Some(x.req_text(c)?),
                "oscal-version" => oscal_version = Some(x.parse_text(c, OscalVersion::parse)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                "link" => links.push(Link::read_xml(x, c)?),
                "role" => roles.push(Role::read_xml(x, c)?),
                "party" => parties.push(Party::read_xml(x, c)?),
                "responsible-party" => responsible_parties.push(ResponsibleParty::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(Metadata {
            title: required(title, &el, "title")?,
            published,
            last_modified: required(last_modified, &el, "last-modified")?,
            version: required(version, &el, "version")?,
            oscal_version: required(oscal_version, &el, "oscal-version")?,
            props,
            links,
            roles,
            parties,
            responsible_parties,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        w.markup_line("title", &self.title);
        if let Some(p) = &self.published {
            w.leaf("published", &[], &p.to_string());
        }
        w.leaf("last-modified", &[], &self.last_modified.to_string());
        w.leaf("version", &[], &self.version);
        w.leaf("oscal-version", &[], &self.oscal_version.0);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        write_all(w, "role", &self.roles);
        write_all(w, "party", &self.parties);
        write_all(w, "responsible-party", &self.responsible_parties);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// `include-all`: an empty object in JSON, an empty element in XML.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludeAll {}

// ---------------------------------------------------------------------------------------------
// The root

/// The OSCAL models this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Catalog,
    Profile,
    PlanOfActionAndMilestones,
    AssessmentResults,
    MappingCollection,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Catalog,
        ModelKind::Profile,
        ModelKind::PlanOfActionAndMilestones,
        ModelKind::AssessmentResults,
        ModelKind::MappingCollection,
    ];

    /// The root element (XML) or key (JSON).
    pub fn root_name(self) -> &'static str {
        match self {
            ModelKind::Catalog => "catalog",
            ModelKind::Profile => "profile",
            ModelKind::PlanOfActionAndMilestones => "plan-of-action-and-milestones",
            ModelKind::AssessmentResults => "assessment-results",
            ModelKind::MappingCollection => "mapping-collection",
        }
    }

    pub fn from_root_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.root_name() == name)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root_name())
    }
}

/// OSCAL models that exist but that imsbridge does not read.
pub(crate) const OTHER_MODELS: [&str; 3] = [
    "system-security-plan",
    "component-definition",
    "assessment-plan",
];

/// One OSCAL document of any model this crate reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Catalog(Box<Catalog>),
    Profile(Box<Profile>),
    PlanOfActionAndMilestones(Box<PlanOfActionAndMilestones>),
    AssessmentResults(Box<AssessmentResults>),
    MappingCollection(Box<MappingCollection>),
}

impl Document {
    pub fn model(&self) -> ModelKind {
        match self {
            Document::Catalog(_) => ModelKind::Catalog,
            Document::Profile(_) => ModelKind::Profile,
            Document::PlanOfActionAndMilestones(_) => ModelKind::PlanOfActionAndMilestones,
            Document::AssessmentResults(_) => ModelKind::AssessmentResults,
            Document::MappingCollection(_) => ModelKind::MappingCollection,
        }
    }

    pub fn uuid(&self) -> OscalUuid {
        match self {
            Document::Catalog(d) => d.uuid,
            Document::Profile(d) => d.uuid,
            Document::PlanOfActionAndMilestones(d) => d.uuid,
            Document::AssessmentResults(d) => d.uuid,
            Document::MappingCollection(d) => d.uuid,
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            Document::Catalog(d) => &d.metadata,
            Document::Profile(d) => &d.metadata,
            Document::PlanOfActionAndMilestones(d) => &d.metadata,
            Document::AssessmentResults(d) => &d.metadata,
            Document::MappingCollection(d) => &d.metadata,
        }
    }

    /// The document in either format.
    pub fn render(&self, format: crate::client::Format) -> String {
        match format {
            crate::client::Format::Json => self.to_json(),
            crate::client::Format::Xml => self.to_xml(),
        }
    }

    /// The document as OSCAL JSON (`{"catalog": {…}}`), pretty-printed.
    pub fn to_json(&self) -> String {
        // Serialising plain data into a String cannot fail: there are no maps with non-string
        // keys and no I/O.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the document as OSCAL JSON.
    pub fn write_json(&self, writer: impl std::io::Write) -> Result<(), serde_json::Error> {
        serde_json::to_writer_pretty(writer, self)
    }

    /// The document as OSCAL XML in the `http://csrc.nist.gov/ns/oscal/1.0` namespace.
    pub fn to_xml(&self) -> String {
        let mut w = XmlOut::new();
        match self {
            Document::Catalog(d) => d.write_xml(&mut w, "catalog"),
            Document::Profile(d) => d.write_xml(&mut w, "profile"),
            Document::PlanOfActionAndMilestones(d) => {
                d.write_xml(&mut w, "plan-of-action-and-milestones")
            }
            Document::AssessmentResults(d) => d.write_xml(&mut w, "assessment-results"),
            Document::MappingCollection(d) => d.write_xml(&mut w, "mapping-collection"),
        }
        w.finish()
    }

    /// Reads the root element and the document under it.
    pub(crate) fn read_xml(x: &mut XmlIn<'_>) -> XmlResult<Document> {
        let root = x.root()?;
        let model = match ModelKind::from_root_name(&root.name) {
            Some(m) => m,
            None if OTHER_MODELS.contains(&root.name.as_str()) => {
                return Err(root.error_of(crate::error::ErrorKind::UnsupportedModel, format!(
                    "an OSCAL {} is not read by imsbridge: import a catalog, profile, plan-of-action-and-milestones or assessment-results",
                    root.name
                )));
            }
            None => {
                return Err(root.error_of(crate::error::ErrorKind::NotOscal, format!(
                    "the root element <{}> is not an OSCAL model: expected <catalog>, <profile>, <plan-of-action-and-milestones>, <assessment-results> or <mapping-collection>",
                    root.name
                )));
            }
        };
        if !in_oscal_namespace(&root) {
            return Err(root.error_of(
                crate::error::ErrorKind::NotOscal,
                format!(
                    "<{}> is not in the OSCAL namespace: add xmlns=\"{}\" to the root element",
                    root.name,
                    crate::xml::OSCAL_XML_NS
                ),
            ));
        }
        let doc = match model {
            ModelKind::Catalog => Document::Catalog(Box::new(Catalog::read_xml(x, root)?)),
            ModelKind::Profile => Document::Profile(Box::new(Profile::read_xml(x, root)?)),
            ModelKind::PlanOfActionAndMilestones => Document::PlanOfActionAndMilestones(Box::new(
                PlanOfActionAndMilestones::read_xml(x, root)?,
            )),
            ModelKind::AssessmentResults => {
                Document::AssessmentResults(Box::new(AssessmentResults::read_xml(x, root)?))
            }
            ModelKind::MappingCollection => {
                Document::MappingCollection(Box::new(MappingCollection::read_xml(x, root)?))
            }
        };
        x.finish()?;
        Ok(doc)
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        let key = self.model().root_name();
        match self {
            Document::Catalog(d) => map.serialize_entry(key, d)?,
            Document::Profile(d) => map.serialize_entry(key, d)?,
            Document::PlanOfActionAndMilestones(d) => map.serialize_entry(key, d)?,
            Document::AssessmentResults(d) => map.serialize_entry(key, d)?,
            Document::MappingCollection(d) => map.serialize_entry(key, d)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Root;
        impl<'de> Visitor<'de> for Root {
            type Value = Document;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OSCAL document: an object with one model key such as \"catalog\"")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut doc: Option<Document> = None;
                while let Some(key) = map.next_key::<String>()? {
                    let model = match ModelKind::from_root_name(&key) {
                        Some(m) => m,
                        None if key == "$schema" => {
                            map.next_value::<de::IgnoredAny>()?;
                            continue;
                        }
                        None if OTHER_MODELS.contains(&key.as_str()) => {
                            return Err(de::Error::custom(format!(
                                "an OSCAL {key} is not read by imsbridge: import a catalog, profile, plan-of-action-and-milestones or assessment-results"
                            )));
                        }
                        None => {
                            return Err(de::Error::custom(format!(
                                "{key:?} is not an OSCAL model: the document's one key must be catalog, profile, plan-of-action-and-milestones, assessment-results or mapping-collection"
                            )));
                        }
                    };
                    if doc.is_some() {
                        return Err(de::Error::custom(format!(
                            "a second model key {key:?}: an OSCAL document holds one model"
                        )));
                    }
                    doc = Some(match model {
                        ModelKind::Catalog => Document::Catalog(map.next_value()?),
                        ModelKind::Profile => Document::Profile(map.next_value()?),
                        ModelKind::PlanOfActionAndMilestones => {
                            Document::PlanOfActionAndMilestones(map.next_value()?)
                        }
                        ModelKind::AssessmentResults => {
                            Document::AssessmentResults(map.next_value()?)
                        }
                        ModelKind::MappingCollection => {
                            Document::MappingCollection(map.next_value()?)
                        }
                    });
                }
                doc.ok_or_else(|| {
                    de::Error::custom(
                        "no OSCAL model key: expected {\"catalog\": …}, {\"profile\": …}, {\"plan-of-action-and-milestones\": …}, {\"assessment-results\": …} or {\"mapping-collection\": …}",
                    )
                })
            }
        }
        d.deserialize_map(Root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_must_be_version_4_or_5() {
        assert!(OscalUuid::parse("74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724").is_ok());
        assert!(OscalUuid::parse("74C8BA1E-5CD4-5AD1-8BFD-D888E2F6C724").is_ok());
        let v1 = OscalUuid::parse("74c8ba1e-5cd4-1ad1-bbfd-d888e2f6c724").unwrap_err();
        assert!(v1.contains("version 1"), "{v1}");
        assert!(OscalUuid::parse("74c8ba1e-5cd4-4ad1-cbfd-d888e2f6c724").is_err());
        assert!(OscalUuid::parse("{74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724}").is_err());
        assert!(OscalUuid::parse("not-a-uuid").is_err());
    }

    #[test]
    fn versions_outside_1_0_to_1_2_are_refused() {
        for ok in ["1.0.0", "1.1.2", "1.2.1", "1.0.0-rc2"] {
            assert!(OscalVersion::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["2.0.0", "1.3.0", "0.9.0", "1.1", "latest"] {
            assert!(OscalVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_and_dates_are_checked() {
        assert!(Token::parse("ac-2.1_smt").is_ok());
        assert!(Token::parse("1abc").is_err());
        assert!(Token::parse("").is_err());
        assert!(OscalDateTime::parse("2024-02-04T23:16:00.000000-00:00").is_ok());
        assert!(OscalDateTime::parse("2024-02-04").is_err());
    }
}
