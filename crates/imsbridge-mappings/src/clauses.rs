//! Harmonized Structure clauses and the clause maps of the standards onto them: the types, and
//! reading and checking `hs.toml`, `standards/*.toml` and `erm/*.toml`.

use std::collections::HashMap;

use imsbridge_model::{Relationship, StandardId};
use serde::{Deserialize, Serialize};

use crate::MappingsError;
use crate::files::SourceFile;

/// What a clause entry is, as the mapping files classify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClauseKind {
    /// A top-level clause (4 to 10).
    Group,
    /// A clause carrying Harmonized Structure core text.
    Core,
    /// A subclause holding part of an HS clause's text.
    Split,
    /// A discipline-specific clause anchored to an HS clause (never `equal` to it).
    Extension,
    /// An annex control or objective, reached through a clause (`via`) rather than mapped.
    Annex,
    /// An element of an ERM framework (ISO 31000).
    Element,
    /// A COSO ERM component.
    Component,
    /// A COSO ERM principle.
    Principle,
}

impl ClauseKind {
    pub const ALL: [ClauseKind; 8] = [
        ClauseKind::Group,
        ClauseKind::Core,
        ClauseKind::Split,
        ClauseKind::Extension,
        ClauseKind::Annex,
        ClauseKind::Element,
        ClauseKind::Component,
        ClauseKind::Principle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClauseKind::Group => "group",
            ClauseKind::Core => "core",
            ClauseKind::Split => "split",
            ClauseKind::Extension => "extension",
            ClauseKind::Annex => "annex",
            ClauseKind::Element => "element",
            ClauseKind::Component => "component",
            ClauseKind::Principle => "principle",
        }
    }

    fn parse(s: &str) -> Option<ClauseKind> {
        ClauseKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How sure the compiler of a mapping entry was. Ordered weakest first, so the confidence of
/// a derived pair is the `min` of its legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    fn parse(s: &str) -> Option<Confidence> {
        [Confidence::Low, Confidence::Medium, Confidence::High]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// One clause of the Harmonized Structure (2021 numbering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HsClause {
    pub id: String,
    /// The title as it reads for an integrated management system, every discipline at once:
    /// `Determining the scope of the management system`.
    pub title: String,
    /// The title as the HS writes it, with "XXX" standing for the discipline:
    /// `Determining the scope of the XXX management system`.
    pub title_template: String,
    pub parent: Option<String>,
    /// Number in the 2012 High Level Structure, when the clause existed there.
    pub hls2012_id: Option<String>,
    pub hls2012_title: Option<String>,
}

/// One entry of a clause's map: the clause compared with an HS clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HsMapping {
    /// The HS clause id.
    pub hs: String,
    /// The standard's clause compared with the HS clause (NIST IR 8477 direction).
    pub relationship: Relationship,
    pub confidence: Confidence,
}

/// One clause (or annex entry, or ERM element) of a standard's clause map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clause {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
    pub kind: ClauseKind,
    /// For annex entries: the clause they are reached through (27001 Annex A → 6.1.3).
    pub via: Option<String>,
    /// Direct links to HS clauses; empty for annex entries and unrelated ERM elements.
    pub map: Vec<HsMapping>,
}

/// The clause map of one standard or ERM framework, in file order.
#[derive(Debug, Clone)]
pub struct StandardMap {
    standard: StandardId,
    designation: String,
    title: String,
    clauses: Vec<Clause>,
    index: HashMap<String, usize>,
    file: String,
}

impl StandardMap {
    pub fn standard(&self) -> StandardId {
        self.standard
    }

    pub fn designation(&self) -> &str {
        &self.designation
    }

    /// The standard's title (not its text).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The listed clauses in file order (the standard's order).
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// A listed clause by its exact id (`6.1.2`, `A.5`).
    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.index.get(id).map(|&i| &self.clauses[i])
    }

    /// The file the map was read from, as errors name it.
    pub fn file(&self) -> &str {
        &self.file
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HsFile {
    #[serde(default)]
    clause: Vec<RawHsClause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHsClause {
    id: String,
    title: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    hls2012_id: Option<String>,
    #[serde(default)]
    hls2012_title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardFile {
    id: String,
    designation: String,
    title: String,
    #[serde(default)]
    clause: Vec<RawClause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClause {
    id: String,
    title: String,
    #[serde(default)]
    parent: Option<String>,
    kind: String,
    #[serde(default)]
    via: Option<String>,
    #[serde(default)]
    map: Vec<RawMapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    hs: String,
    rel: String,
    conf: String,
}

pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    src: &SourceFile,
) -> Result<T, MappingsError> {
    toml::from_str(&src.text).map_err(|source| MappingsError::Toml {
        file: src.label.clone(),
        source,
    })
}

/// An empty string means "none": files converted from tables often write `parent = ""` for a
/// top-level clause.
fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads and checks `hs.toml`.
pub(crate) fn parse_hs(
    src: &SourceFile,
) -> Result<(Vec<HsClause>, HashMap<String, usize>), MappingsError> {
    let file: HsFile = parse_toml(src)?;
    if file.clause.is_empty() {
        return Err(MappingsError::Invalid {
            file: src.label.clone(),
            key: "clause".into(),
            problem:
                "no [[clause]] entries: the Harmonized Structure file must list clauses 4 to 10"
                    .into(),
        });
    }
    let mut clauses = Vec::with_capacity(file.clause.len());
    let mut index = HashMap::new();
    for (i, raw) in file.clause.into_iter().enumerate() {
        let id = checked_text(src, &format!("clause[{i}].id"), &raw.id)?;
        let key = format!("clause {id:?} title");
        let title = checked_text(src, &key, &raw.title)?;
        if index.insert(id.clone(), i).is_some() {
            return Err(MappingsError::DuplicateId {
                file: src.label.clone(),
                id,
            });
        }
        clauses.push(HsClause {
            id,
            title: integrated_title(&title),
            title_template: title,
            parent: non_empty(raw.parent),
            hls2012_id: non_empty(raw.hls2012_id),
            hls2012_title: non_empty(raw.hls2012_title),
        });
    }
    let parents: Vec<(String, Option<String>)> = clauses
        .iter()
        .map(|c| (c.id.clone(), c.parent.clone()))
        .collect();
    check_parents(src, &parents, &index)?;
    Ok((clauses, index))
}

/// An HS title with its discipline placeholder dropped, so that it names the shared process
/// of an integrated system: `XXX policy` → `Policy`. A report for several standards cannot
/// show "XXX", and naming one discipline would misstate the others.
fn integrated_title(template: &str) -> String {
    let dropped = template.replace("XXX ", "").replace("XXX", "");
    let mut chars = dropped.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => template.to_string(),
    }
}

/// Reads and checks one clause map: the file must describe `expected` in the edition this
/// version maps, and every reference in it must resolve.
pub(crate) fn parse_standard(
    expected: StandardId,
    src: &SourceFile,
    hs_index: &HashMap<String, usize>,
) -> Result<StandardMap, MappingsError> {
    let file: StandardFile = parse_toml(src)?;
    if file.id.parse::<StandardId>().ok() != Some(expected) {
        return Err(MappingsError::BadValue {
            file: src.label.clone(),
            key: "id".into(),
            value: file.id,
            expected: format!(
                "\"{}\": this file is the clause map of {}",
                expected.key(),
                expected.designation()
            ),
        });
    }
    if file.designation.trim() != expected.designation() {
        return Err(MappingsError::BadValue {
            file: src.label.clone(),
            key: "designation".into(),
            value: file.designation,
            expected: format!(
                "{:?}, the edition this version maps (references to other editions are rejected when records are read)",
                expected.designation()
            ),
        });
    }
    let title = checked_text(src, "title", &file.title)?;

    let mut clauses = Vec::with_capacity(file.clause.len());
    let mut index = HashMap::new();
    for (i, raw) in file.clause.into_iter().enumerate() {
        let id = checked_text(src, &format!("clause[{i}].id"), &raw.id)?;
        let at = |key: &str| format!("clause {id:?} {key}");
        let title = checked_text(src, &at("title"), &raw.title)?;
        let kind = ClauseKind::parse(raw.kind.trim()).ok_or_else(|| MappingsError::BadValue {
            file: src.label.clone(),
            key: at("kind"),
            value: raw.kind.clone(),
            expected: ClauseKind::ALL.map(ClauseKind::as_str).join(", "),
        })?;
        let mut map: Vec<HsMapping> = Vec::with_capacity(raw.map.len());
        for (j, m) in raw.map.into_iter().enumerate() {
            let hs = m.hs.trim().to_string();
            if !hs_index.contains_key(&hs) {
                return Err(MappingsError::UnknownHsClause {
                    file: src.label.clone(),
                    clause: id.clone(),
                    key: format!("map[{j}].hs"),
                    hs,
                });
            }
            if map.iter().any(|earlier| earlier.hs == hs) {
                return Err(MappingsError::Invalid {
                    file: src.label.clone(),
                    key: at(&format!("map[{j}].hs")),
                    problem: format!(
                        "HS clause {hs:?} appears twice in this map: keep one entry per HS clause"
                    ),
                });
            }
            // Strict vocabulary: the files are data, so "subset of" or "equals" is a typo to
            // fix rather than a spelling to guess.
            let relationship = Relationship::ALL
                .into_iter()
                .find(|r| r.as_str() == m.rel.trim())
                .ok_or_else(|| MappingsError::BadValue {
                    file: src.label.clone(),
                    key: at(&format!("map[{j}].rel")),
                    value: m.rel.clone(),
                    expected: "one of equal, subset, superset, intersects, not_related".into(),
                })?;
            let confidence =
                Confidence::parse(m.conf.trim()).ok_or_else(|| MappingsError::BadValue {
                    file: src.label.clone(),
                    key: at(&format!("map[{j}].conf")),
                    value: m.conf.clone(),
                    expected: "one of high, medium, low".into(),
                })?;
            map.push(HsMapping {
                hs,
                relationship,
                confidence,
            });
        }
        if index.insert(id.clone(), i).is_some() {
            return Err(MappingsError::DuplicateId {
                file: src.label.clone(),
                id,
            });
        }
        clauses.push(Clause {
            id,
            title,
            parent: non_empty(raw.parent),
            kind,
            via: non_empty(raw.via),
            map,
        });
    }

    let parents: Vec<(String, Option<String>)> = clauses
        .iter()
        .map(|c| (c.id.clone(), c.parent.clone()))
        .collect();
    check_parents(src, &parents, &index)?;
    for clause in &clauses {
        if let Some(via) = &clause.via
            && !index.contains_key(via)
        {
            return Err(MappingsError::UnknownVia {
                file: src.label.clone(),
                clause: clause.id.clone(),
                via: via.clone(),
            });
        }
    }
    let vias: Vec<(String, Option<String>)> = clauses
        .iter()
        .map(|c| (c.id.clone(), c.via.clone()))
        .collect();
    check_acyclic(src, &vias, &index, "via")?;

    Ok(StandardMap {
        standard: expected,
        designation: expected.designation().to_string(),
        title,
        clauses,
        index,
        file: src.label.clone(),
    })
}

fn checked_text(src: &SourceFile, key: &str, value: &str) -> Result<String, MappingsError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(MappingsError::Invalid {
            file: src.label.clone(),
            key: key.to_string(),
            problem: "is empty: expected text".into(),
        });
    }
    Ok(v.to_string())
}

/// Every parent must be listed, and following parents must end at a top-level clause.
fn check_parents(
    src: &SourceFile,
    parents: &[(String, Option<String>)],
    index: &HashMap<String, usize>,
) -> Result<(), MappingsError> {
    for (id, parent) in parents {
        if let Some(parent) = parent
            && !index.contains_key(parent)
        {
            return Err(MappingsError::UnknownParent {
                file: src.label.clone(),
                clause: id.clone(),
                parent: parent.clone(),
            });
        }
    }
    check_acyclic(src, parents, index, "parent")
}

/// Follows `next` links (all known to resolve) from every entry; a chain longer than the
/// number of entries must loop.
fn check_acyclic(
    src: &SourceFile,
    links: &[(String, Option<String>)],
    index: &HashMap<String, usize>,
    key: &'static str,
) -> Result<(), MappingsError> {
    for (id, first) in links {
        let mut next = first.as_ref();
        let mut steps = 0;
        while let Some(target) = next {
            steps += 1;
            if steps > links.len() {
                return Err(MappingsError::Cycle {
                    file: src.label.clone(),
                    clause: id.clone(),
                    key,
                });
            }
            next = index.get(target).and_then(|&i| links[i].1.as_ref());
        }
    }
    Ok(())
}
