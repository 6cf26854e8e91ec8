//! All mapping data loaded and checked, and the queries over it: clause look-ups, deriving a
//! reference's Harmonized Structure links, crosswalks, scales and the default profile.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use imsbridge_model::{ClauseRef, HsLink, Relationship, StandardId};
use serde::Serialize;

use crate::MappingsError;
use crate::clauses::{
    Clause, ClauseKind, Confidence, HsClause, StandardMap, parse_hs, parse_standard,
};
use crate::files::{Sources, gather};
use crate::profile::Profile;
use crate::scale::{Dimension, Scale, detect, parse_scale};

/// The loaded mapping data. Cheap to query; load once and share.
#[derive(Debug, Clone)]
pub struct Mappings {
    hs: Vec<HsClause>,
    hs_index: HashMap<String, usize>,
    hs_file: String,
    standards: BTreeMap<StandardId, StandardMap>,
    scales: Vec<Scale>,
    profile: Profile,
}

/// Two clauses of two standards related through one HS clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrosswalkPair {
    /// The clause of the `from` standard.
    pub from: String,
    /// The clause of the `to` standard.
    pub to: String,
    /// `from` compared with `to`, composed through the HS clause.
    pub relationship: Relationship,
    /// The HS clause both are mapped to.
    pub via: String,
    /// The weaker confidence of the two mapping entries.
    pub confidence: Confidence,
}

/// One clause as the `clauses` command lists it: its derived HS links included, so that annex
/// entries show the clause they are reached through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseSummary {
    pub id: String,
    pub title: String,
    /// `None` for HS clauses.
    pub kind: Option<ClauseKind>,
    pub hs: Vec<HsRelation>,
}

/// An HS clause and how a clause compares with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HsRelation {
    pub clause: String,
    pub relationship: Relationship,
}

impl Mappings {
    /// The mapping files built into this binary.
    pub fn embedded() -> Result<Mappings, MappingsError> {
        Mappings::load(None)
    }

    /// The built-in files, each replaced by the file at the same relative path under
    /// `overrides` when there is one (`hs.toml`, `standards/iso27001.toml`, `scales/1-5.toml`,
    /// `profiles/default.toml` …); extra `scales/*.toml` files add scales. Everything is
    /// checked on load, and an error names the file and key to fix.
    pub fn load(overrides: Option<&Path>) -> Result<Mappings, MappingsError> {
        let Sources {
            hs,
            clause_maps,
            scales,
            profile,
        } = gather(overrides)?;
        let (hs_clauses, hs_index) = parse_hs(&hs)?;
        let mut standards = BTreeMap::new();
        for (id, src) in &clause_maps {
            standards.insert(*id, parse_standard(*id, src, &hs_index)?);
        }
        let mut parsed: Vec<Scale> = Vec::with_capacity(scales.len());
        for src in &scales {
            let scale = parse_scale(src)?;
            if let Some(other) = parsed.iter().find(|s| s.id() == scale.id()) {
                return Err(MappingsError::DuplicateScale {
                    id: scale.id().to_string(),
                    first: other.file().to_string(),
                    second: scale.file().to_string(),
                });
            }
            parsed.push(scale);
        }
        let mappings = Mappings {
            hs: hs_clauses,
            hs_index,
            hs_file: hs.label,
            standards,
            scales: parsed,
            profile: Profile::from_source(&profile)?,
        };
        mappings.check_profile(&mappings.profile)?;
        Ok(mappings)
    }

    /// The HS clauses 4–10 in order.
    pub fn hs_clauses(&self) -> &[HsClause] {
        &self.hs
    }

    pub fn hs_clause(&self, id: &str) -> Option<&HsClause> {
        self.hs_index.get(id).map(|&i| &self.hs[i])
    }

    /// The clause map of a management-system standard or ERM framework; `None` for
    /// [`StandardId::Hs`] (see [`Mappings::hs_clauses`]).
    pub fn standard(&self, standard: StandardId) -> Option<&StandardMap> {
        self.standards.get(&standard)
    }

    /// Every clause map, in [`StandardId`] order.
    pub fn standards(&self) -> impl Iterator<Item = &StandardMap> {
        self.standards.values()
    }

    /// A clause listed in its standard's map, by exact id (`None` for HS references and for
    /// clauses not listed).
    pub fn clause(&self, reference: &ClauseRef) -> Option<&Clause> {
        self.standards
            .get(&reference.standard)?
            .clause(&reference.clause)
    }

    /// The title of a listed clause, HS clauses included.
    pub fn clause_title(&self, reference: &ClauseRef) -> Option<&str> {
        if reference.standard == StandardId::Hs {
            return self.hs_clause(&reference.clause).map(|c| c.title.as_str());
        }
        self.clause(reference).map(|c| c.title.as_str())
    }

    /// The HS clauses a clause reference sits on, each with the reference as `via`.
    ///
    /// - A listed clause: its own map.
    /// - An entry without a map but with `via` (annex controls and themes): the `via` clause's
    ///   map, narrowed (below).
    /// - A reference not listed ("9001 7.5.3.1", "27001 A.5.7" when only the theme A.5 is
    ///   listed): its nearest listed ancestor by number, narrowed, then as above.
    /// - An HS reference: the HS clause itself, `equal`.
    ///
    /// Narrowing: the reference covers only part of the clause it was reached through, so it is
    /// a subset of that clause, and composing gives: clause `equal` or `subset` → `subset`;
    /// `superset` or `intersects` → `intersects` (nothing is known about which part). Entries
    /// `not_related` give no link.
    pub fn hs_links(&self, reference: &ClauseRef) -> Result<Vec<HsLink>, MappingsError> {
        if reference.standard == StandardId::Hs {
            return match self.hs_clause(&reference.clause) {
                Some(c) => Ok(vec![HsLink {
                    clause: c.id.clone(),
                    relationship: Relationship::Equal,
                    via: reference.clone(),
                }]),
                None => Err(self.unknown(reference, &self.hs_file)),
            };
        }
        let Some(map) = self.standards.get(&reference.standard) else {
            return Err(self.unknown(reference, "(no clause map for this standard)"));
        };
        let (mut clause, mut narrowed) = match map.clause(&reference.clause) {
            Some(c) => (c, false),
            None => match ancestors(&reference.clause).find_map(|a| map.clause(a)) {
                Some(c) => (c, true),
                None => return Err(self.unknown(reference, map.file())),
            },
        };
        // `via` chains were checked for loops on load; the bound only keeps this total.
        for _ in 0..=map.clauses().len() {
            if !clause.map.is_empty() {
                return Ok(clause
                    .map
                    .iter()
                    .filter(|m| m.relationship != Relationship::NotRelated)
                    .map(|m| HsLink {
                        clause: m.hs.clone(),
                        relationship: if narrowed {
                            narrow(m.relationship)
                        } else {
                            m.relationship
                        },
                        via: reference.clone(),
                    })
                    .collect());
            }
            match clause.via.as_deref().and_then(|v| map.clause(v)) {
                Some(next) => {
                    clause = next;
                    narrowed = true;
                }
                None => break,
            }
        }
        Ok(Vec::new())
    }

    fn unknown(&self, reference: &ClauseRef, file: &str) -> MappingsError {
        MappingsError::UnknownClause {
            reference: reference.to_string(),
            file: file.to_string(),
        }
    }

    /// Every pair of clauses of `from` and `to` mapped to the same HS clause, with the
    /// relationship composed through it ([`Relationship::compose_via_hs`]); unrelated pairs
    /// are left out. `to == Hs` lists `from`'s own map, `from == Hs` its inverse. Ordered by HS
    /// clause, then by the clauses' order in their files. Only direct map entries take part:
    /// annex entries are reached through a clause, not mapped.
    pub fn crosswalk(&self, from: StandardId, to: StandardId) -> Vec<CrosswalkPair> {
        let mut pairs = Vec::new();
        for hs in &self.hs {
            let lefts = self.mapped_to(from, &hs.id);
            let rights = self.mapped_to(to, &hs.id);
            for (a, r1, c1) in &lefts {
                for (b, r2, c2) in &rights {
                    let relationship = Relationship::compose_via_hs(*r1, *r2);
                    if relationship == Relationship::NotRelated {
                        continue;
                    }
                    pairs.push(CrosswalkPair {
                        from: (*a).to_string(),
                        to: (*b).to_string(),
                        relationship,
                        via: hs.id.clone(),
                        confidence: (*c1).min(*c2),
                    });
                }
            }
        }
        pairs
    }

    /// The clauses of `standard` with a direct map entry to HS clause `hs`, in file order.
    fn mapped_to<'a>(
        &'a self,
        standard: StandardId,
        hs: &'a str,
    ) -> Vec<(&'a str, Relationship, Confidence)> {
        if standard == StandardId::Hs {
            return vec![(hs, Relationship::Equal, Confidence::High)];
        }
        let Some(map) = self.standards.get(&standard) else {
            return Vec::new();
        };
        map.clauses()
            .iter()
            .flat_map(|c| {
                c.map
                    .iter()
                    .filter(|m| m.hs == hs)
                    .map(move |m| (c.id.as_str(), m.relationship, m.confidence))
            })
            .collect()
    }

    /// A standard's clauses in file order with their HS links (derived for annex entries);
    /// for [`StandardId::Hs`] the HS clauses, each `equal` to itself.
    pub fn clause_summaries(&self, standard: StandardId) -> Vec<ClauseSummary> {
        let relations = |links: Vec<HsLink>| {
            links
                .into_iter()
                .map(|l| HsRelation {
                    clause: l.clause,
                    relationship: l.relationship,
                })
                .collect()
        };
        if standard == StandardId::Hs {
            return self
                .hs
                .iter()
                .map(|c| ClauseSummary {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    kind: None,
                    hs: vec![HsRelation {
                        clause: c.id.clone(),
                        relationship: Relationship::Equal,
                    }],
                })
                .collect();
        }
        let Some(map) = self.standards.get(&standard) else {
            return Vec::new();
        };
        map.clauses()
            .iter()
            .map(|c| ClauseSummary {
                id: c.id.clone(),
                title: c.title.clone(),
                kind: Some(c.kind),
                hs: relations(
                    self.hs_links(&ClauseRef::new(standard, c.id.clone()))
                        .unwrap_or_default(),
                ),
            })
            .collect()
    }

    /// Every declared scale: the built-in ones in a fixed order, then added ones by file name.
    pub fn scales(&self) -> &[Scale] {
        &self.scales
    }

    pub fn scale(&self, id: &str) -> Option<&Scale> {
        let id = id.trim();
        self.scales.iter().find(|s| s.id() == id)
    }

    /// The most specific scale for `dimension` that reads every non-empty sample: the
    /// narrowest span of values, then the fewest levels, then the first declared. Word
    /// samples pick a word scale whose labels cover them (Low/Medium/High → low-medium-high,
    /// not 1-5), numbers the smallest range containing them, "N - word" cells go by number.
    pub fn detect_scale(&self, dimension: Dimension, samples: &[&str]) -> Option<&Scale> {
        detect(&self.scales, dimension, samples)
    }

    /// The built-in profile (or `profiles/default.toml` of the override folder).
    pub fn default_profile(&self) -> &Profile {
        &self.profile
    }

    /// Checks that every scale a profile fixes exists and is declared for its dimension.
    pub fn check_profile(&self, profile: &Profile) -> Result<(), MappingsError> {
        for (dimension, choice) in profile.scale_choices() {
            let key = format!("scales.{dimension}");
            let candidates: Vec<&str> = self
                .scales
                .iter()
                .filter(|s| s.has_dimension(dimension))
                .map(Scale::id)
                .collect();
            match self.scale(&choice.id) {
                None => {
                    return Err(MappingsError::UnknownScale {
                        file: choice.file.clone(),
                        key,
                        id: choice.id.clone(),
                        known: candidates.join(", "),
                    });
                }
                Some(scale) if !scale.has_dimension(dimension) => {
                    return Err(MappingsError::BadValue {
                        file: choice.file.clone(),
                        key,
                        value: choice.id.clone(),
                        expected: format!(
                            "a scale declared for {dimension}: one of {}",
                            candidates.join(", ")
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// The ancestors of a clause number, nearest first: `A.6.2.2` → `A.6.2`, `A.6`; `8.5.1` →
/// `8.5`, `8`. The bare annex letter is not an ancestor.
fn ancestors(id: &str) -> impl Iterator<Item = &str> {
    let mut current = id;
    std::iter::from_fn(move || {
        let cut = current.rfind('.')?;
        current = &current[..cut];
        (!current.eq_ignore_ascii_case("a")).then_some(current)
    })
}

/// A part of a clause compared with the HS clause the whole is mapped to: the part is a
/// subset of the clause, composed with the clause's relationship (HS → clause is its inverse).
fn narrow(clause_to_hs: Relationship) -> Relationship {
    Relationship::compose_via_hs(Relationship::Subset, clause_to_hs.inverse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Relationship::*;

    #[test]
    fn ancestors_walk_up_by_number() {
        assert_eq!(ancestors("A.6.2.2").collect::<Vec<_>>(), ["A.6.2", "A.6"]);
        assert_eq!(ancestors("8.5.1").collect::<Vec<_>>(), ["8.5", "8"]);
        assert_eq!(ancestors("10").count(), 0);
    }

    #[test]
    fn narrowing_weakens_as_documented() {
        assert_eq!(narrow(Equal), Subset);
        assert_eq!(narrow(Subset), Subset);
        assert_eq!(narrow(Superset), Intersects);
        assert_eq!(narrow(Intersects), Intersects);
        assert_eq!(narrow(NotRelated), NotRelated);
    }
}
