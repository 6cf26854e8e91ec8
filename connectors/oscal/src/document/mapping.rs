//! Mapping collections (OSCAL 1.2): relationships between the controls of two catalogs.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{Link, Metadata, OscalUuid, Prop, XmlNode, write_all};
use crate::markup::MarkupMultiline;
use crate::xml::{Elem, XmlIn, XmlOut, XmlResult, required};

/// Defines a closed vocabulary: an enum serialised as its OSCAL word, parsed strictly.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            pub fn parse(s: &str) -> Result<$name, String> {
                let s = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        format!(
                            "{s:?} is not allowed here: expected one of {}",
                            $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// A relationship of a map entry, OSCAL's vocabulary (NIST IR 8477): source compared with
    /// target. No other value can be written.
    MapRelationship {
        /// The same requirement in the same words.
        EqualTo = "equal-to",
        /// The same requirement in other words.
        EquivalentTo = "equivalent-to",
        /// The source covers part of the target.
        SubsetOf = "subset-of",
        /// The source covers all of the target and more.
        SupersetOf = "superset-of",
        /// The two overlap, neither containing the other.
        IntersectsWith = "intersects-with",
        /// No relationship.
        NoRelationship = "no-relationship",
    }
);

vocabulary!(
    /// How a mapping was made.
    MappingMethod {
        Human = "human",
        Automation = "automation",
        Hybrid = "hybrid",
    }
);

vocabulary!(
    /// What the relationships compare (NIST IR 8477 §4.3).
    MatchingRationale {
        Syntactic = "syntactic",
        Semantic = "semantic",
        Functional = "functional",
    }
);

vocabulary!(
    /// The state of a mapping.
    MappingStatus {
        Complete = "complete",
        NotComplete = "not-complete",
        Draft = "draft",
        Deprecated = "deprecated",
        Superseded = "superseded",
    }
);

/// A mapping collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MappingCollection {
    pub uuid: OscalUuid,
    pub metadata: Metadata,
    pub provenance: MappingProvenance,
    /// JSON allows one object or an array here; arrays are written.
    #[serde(deserialize_with = "one_or_many")]
    pub mappings: Vec<Mapping>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Mapping>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<Mapping>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping or an array of mappings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Mapping>, A::Error> {
            let mut out = Vec::new();
            while let Some(m) = seq.next_element()? {
                out.push(m);
            }
            if out.is_empty() {
                return Err(de::Error::custom(
                    "an empty array: a mapping collection needs at least one mapping",
                ));
            }
            Ok(out)
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Vec<Mapping>, A::Error> {
            Mapping::deserialize(de::value::MapAccessDeserializer::new(map)).map(|m| vec![m])
        }
    }
    d.deserialize_any(V)
}

impl XmlNode for MappingCollection {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let (mut metadata, mut provenance) = (None, None);
        let mut mappings = Vec::new();
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "metadata" => metadata = Some(Metadata::read_xml(x, c)?),
                "provenance" => provenance = Some(MappingProvenance::read_xml(x, c)?),
                "mapping" => mappings.push(Mapping::read_xml(x, c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if mappings.is_empty() {
            return Err(el.missing("mapping"));
        }
        Ok(MappingCollection {
            uuid,
            metadata: required(metadata, &el, "metadata")?,
            provenance: required(provenance, &el, "provenance")?,
            mappings,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[
                ("xmlns", Some(crate::xml::OSCAL_XML_NS)),
                ("uuid", Some(&uuid)),
            ],
        );
        self.metadata.write_xml(w, "metadata");
        self.provenance.write_xml(w, "provenance");
        write_all(w, "mapping", &self.mappings);
        w.close(name);
    }
}

/// How and why the mappings were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MappingProvenance {
    pub method: MappingMethod,
    pub matching_rationale: MatchingRationale,
    pub status: MappingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_score: Option<ConfidenceScore>,
    pub mapping_description: MarkupMultiline,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for MappingProvenance {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let method = el.parse("method", MappingMethod::parse)?;
        let matching_rationale = el.parse("matching-rationale", MatchingRationale::parse)?;
        let status = el.parse("status", MappingStatus::parse)?;
        let (mut confidence_score, mut description, mut remarks) = (None, None, None);
        let (mut props, mut links) = (Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "confidence-score" => confidence_score = Some(ConfidenceScore::read_xml(x, c)?),
                "mapping-description" => description = Some(x.markup_multi(c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                "link" => links.push(Link::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(MappingProvenance {
            method,
            matching_rationale,
            status,
            confidence_score,
            mapping_description: required(description, &el, "mapping-description")?,
            props,
            links,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(
            name,
            &[
                ("method", Some(self.method.as_str())),
                ("matching-rationale", Some(self.matching_rationale.as_str())),
                ("status", Some(self.status.as_str())),
            ],
        );
        if let Some(c) = &self.confidence_score {
            c.write_xml(w, "confidence-score");
        }
        w.markup_multi("mapping-description", &self.mapping_description);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// How sure the mapper is: a category (`high`, `medium`, `low`) or a percentage (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfidenceScore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
}

impl XmlNode for ConfidenceScore {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let (mut category, mut percentage) = (None, None);
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "category" => category = Some(x.req_text(c)?),
                "percentage" => {
                    percentage = Some(x.parse_text(c, |s| {
                        s.parse::<f64>()
                            .map_err(|_| format!("{s:?} is not a decimal"))
                    })?)
                }
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        Ok(ConfidenceScore {
            category,
            percentage,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        w.open(name, &[]);
        w.leaf_opt("category", self.category.as_deref());
        if let Some(p) = self.percentage {
            w.leaf("percentage", &[], &p.to_string());
        }
        w.close(name);
    }
}

/// The maps between one source and one target catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Mapping {
    pub uuid: OscalUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MappingMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_rationale: Option<MatchingRationale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MappingStatus>,
    pub source_resource: ResourceReference,
    pub target_resource: ResourceReference,
    pub maps: Vec<Map>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_description: Option<MarkupMultiline>,
}

impl XmlNode for Mapping {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let method = el.parse_opt("method", MappingMethod::parse)?;
        let matching_rationale = el.parse_opt("matching-rationale", MatchingRationale::parse)?;
        let status = el.parse_opt("status", MappingStatus::parse)?;
        let (mut source, mut target, mut remarks, mut description) = (None, None, None, None);
        let (mut maps, mut props, mut links) = (Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "source-resource" => source = Some(ResourceReference::read_xml(x, c)?),
                "target-resource" => target = Some(ResourceReference::read_xml(x, c)?),
                "map" => maps.push(Map::read_xml(x, c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                "link" => links.push(Link::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                "mapping-description" => description = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if maps.is_empty() {
            return Err(el.missing("map"));
        }
        Ok(Mapping {
            uuid,
            method,
            matching_rationale,
            status,
            source_resource: required(source, &el, "source-resource")?,
            target_resource: required(target, &el, "target-resource")?,
            maps,
            props,
            links,
            remarks,
            mapping_description: description,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[
                ("uuid", Some(&uuid)),
                ("method", self.method.map(MappingMethod::as_str)),
                (
                    "matching-rationale",
                    self.matching_rationale.map(MatchingRationale::as_str),
                ),
                ("status", self.status.map(MappingStatus::as_str)),
            ],
        );
        self.source_resource.write_xml(w, "source-resource");
        self.target_resource.write_xml(w, "target-resource");
        write_all(w, "map", &self.maps);
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.markup_multi_opt("mapping-description", self.mapping_description.as_ref());
        w.close(name);
    }
}

/// The catalog (or profile) on one side of a mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResourceReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub href: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
}

impl XmlNode for ResourceReference {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut r = ResourceReference {
            ns: el.opt("ns"),
            kind: el.req("type")?,
            href: el.req("href")?,
            props: Vec::new(),
        };
        x.children(&el, |x, c| match c.name.as_str() {
            "prop" => {
                r.props.push(Prop::read_xml(x, c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(r)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("ns", self.ns.as_deref()),
            ("type", Some(self.kind.as_str())),
            ("href", Some(self.href.as_str())),
        ];
        if self.props.is_empty() {
            w.empty(name, &attrs);
        } else {
            w.open(name, &attrs);
            write_all(w, "prop", &self.props);
            w.close(name);
        }
    }
}

/// One map entry: sources related to targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Map {
    pub uuid: OscalUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_rationale: Option<MatchingRationale>,
    pub relationship: MapRelationship,
    pub sources: Vec<MappingItem>,
    pub targets: Vec<MappingItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_score: Option<ConfidenceScore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<MarkupMultiline>,
}

impl XmlNode for Map {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let uuid = el.parse("uuid", OscalUuid::parse)?;
        let ns = el.opt("ns");
        let matching_rationale = el.parse_opt("matching-rationale", MatchingRationale::parse)?;
        let (mut relationship, mut confidence_score, mut remarks) = (None, None, None);
        let (mut sources, mut targets, mut props, mut links) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        x.children(&el, |x, c| {
            match c.name.as_str() {
                "relationship" => relationship = Some(x.parse_text(c, MapRelationship::parse)?),
                "source" => sources.push(MappingItem::read_xml(x, c)?),
                "target" => targets.push(MappingItem::read_xml(x, c)?),
                "confidence-score" => confidence_score = Some(ConfidenceScore::read_xml(x, c)?),
                "prop" => props.push(Prop::read_xml(x, c)?),
                "link" => links.push(Link::read_xml(x, c)?),
                "remarks" => remarks = Some(x.markup_multi(c)?),
                _ => x.skip(c)?,
            }
            Ok(())
        })?;
        if sources.is_empty() {
            return Err(el.missing("source"));
        }
        if targets.is_empty() {
            return Err(el.missing("target"));
        }
        Ok(Map {
            uuid,
            ns,
            matching_rationale,
            relationship: required(relationship, &el, "relationship")?,
            sources,
            targets,
            confidence_score,
            props,
            links,
            remarks,
        })
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let uuid = self.uuid.to_string();
        w.open(
            name,
            &[
                ("uuid", Some(&uuid)),
                ("ns", self.ns.as_deref()),
                (
                    "matching-rationale",
                    self.matching_rationale.map(MatchingRationale::as_str),
                ),
            ],
        );
        w.leaf("relationship", &[], self.relationship.as_str());
        write_all(w, "source", &self.sources);
        write_all(w, "target", &self.targets);
        if let Some(c) = &self.confidence_score {
            c.write_xml(w, "confidence-score");
        }
        write_all(w, "prop", &self.props);
        write_all(w, "link", &self.links);
        w.markup_multi_opt("remarks", self.remarks.as_ref());
        w.close(name);
    }
}

/// A control or statement on one side of a map entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MappingItem {
    /// `control` or `statement`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id_ref: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<Prop>,
}

impl XmlNode for MappingItem {
    fn read_xml(x: &mut XmlIn<'_>, el: Elem) -> XmlResult<Self> {
        let mut m = MappingItem {
            kind: el.req("type")?,
            id_ref: el.req("id-ref")?,
            props: Vec::new(),
        };
        x.children(&el, |x, c| match c.name.as_str() {
            "prop" => {
                m.props.push(Prop::read_xml(x, c)?);
                Ok(())
            }
            _ => x.skip(c),
        })?;
        Ok(m)
    }

    fn write_xml(&self, w: &mut XmlOut, name: &str) {
        let attrs = [
            ("type", Some(self.kind.as_str())),
            ("id-ref", Some(self.id_ref.as_str())),
        ];
        if self.props.is_empty() {
            w.empty(name, &attrs);
        } else {
            w.open(name, &attrs);
            write_all(w, "prop", &self.props);
            w.close(name);
        }
    }
}
