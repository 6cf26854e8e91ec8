//! What a pack looks like before any record is read: the programme rows, the coverage rows,
//! the discipline-specific lines and the crosswalk carry table, all from the mapping data.

use std::collections::{HashMap, HashSet};

use imsbridge_mappings::{ClauseKind, Mappings};
use imsbridge_model::{ClauseRef, Relationship, StandardId};

use crate::AuditError;
use crate::pack::ProgrammeClause;
use crate::scope::Scope;

/// A shared programme row: one HS process (a clause one level below the top).
#[derive(Debug)]
pub(crate) struct RowDef {
    pub hs: String,
    pub title: String,
    pub clauses: Vec<ProgrammeClause>,
    /// The coverage rows of those clauses, with their standard.
    pub shared: Vec<(StandardId, usize)>,
}

/// A clause of a chosen standard that gets a conformity state.
#[derive(Debug)]
pub(crate) struct ClauseDef {
    pub standard: StandardId,
    pub clause: String,
    pub title: String,
    pub kind: ClauseKind,
    /// Programme rows the clause sits on (through its map, or its `via` clause for annexes).
    pub rows: Vec<usize>,
}

/// A discipline-specific line: a topmost extension or annex clause and its sub-clauses.
#[derive(Debug)]
pub(crate) struct LineDef {
    pub standard: StandardId,
    pub title: String,
    pub rows: Vec<usize>,
    pub clauses: Vec<ProgrammeClause>,
}

/// A crosswalk pair seen from its source clause: where a result recorded on it is carried.
#[derive(Debug)]
pub(crate) struct Carry {
    pub target: usize,
    /// The source clause compared with the target clause.
    pub relationship: Relationship,
    pub via: String,
}

#[derive(Debug)]
pub(crate) struct Layout {
    pub chosen: Vec<StandardId>,
    pub rows: Vec<RowDef>,
    /// Any HS clause id (row or sub-clause) → its row, for rows in scope.
    pub row_of_hs: HashMap<String, usize>,
    pub clauses: Vec<ClauseDef>,
    pub clause_index: HashMap<StandardId, HashMap<String, usize>>,
    pub lines: Vec<LineDef>,
    pub line_of: HashMap<StandardId, HashMap<String, usize>>,
    pub carries: HashMap<StandardId, HashMap<String, Vec<Carry>>>,
    /// Whether the scope restricts HS clauses (records must then sit on a row in scope).
    pub hs_scoped: bool,
}

/// Whether a clause kind is one discipline's own (never shared between standards).
pub(crate) fn is_discipline(kind: ClauseKind) -> bool {
    matches!(kind, ClauseKind::Extension | ClauseKind::Annex)
}

impl Layout {
    pub fn new(
        mappings: &Mappings,
        chosen: &[StandardId],
        scope: &Scope,
    ) -> Result<Layout, AuditError> {
        let row_ids = rows_in_scope(mappings, scope)?;
        let mut rows: Vec<RowDef> = row_ids
            .iter()
            .filter_map(|id| mappings.hs_clause(id))
            .map(|c| RowDef {
                hs: c.id.clone(),
                title: c.title.clone(),
                clauses: Vec::new(),
                shared: Vec::new(),
            })
            .collect();
        let mut row_of_hs = HashMap::new();
        for c in mappings.hs_clauses() {
            if let Some(row) = row_id(mappings, &c.id)
                && let Some(i) = rows.iter().position(|r| r.hs == row)
            {
                row_of_hs.insert(c.id.clone(), i);
            }
        }

        let mut clauses = Vec::new();
        let mut clause_index: HashMap<StandardId, HashMap<String, usize>> = HashMap::new();
        let mut lines: Vec<LineDef> = Vec::new();
        let mut line_of: HashMap<StandardId, HashMap<String, usize>> = HashMap::new();
        for &standard in chosen {
            let Some(map) = mappings.standard(standard) else {
                continue;
            };
            let parents: HashSet<&str> = map
                .clauses()
                .iter()
                .filter_map(|c| c.parent.as_deref())
                .collect();
            let index = clause_index.entry(standard).or_default();
            let line_index = line_of.entry(standard).or_default();
            for c in map.clauses() {
                let links = mappings
                    .hs_links(&ClauseRef::new(standard, c.id.clone()))
                    .unwrap_or_default();
                let mut clause_rows: Vec<usize> = Vec::new();
                for l in &links {
                    if let Some(&r) = row_of_hs.get(&l.clause)
                        && !clause_rows.contains(&r)
                    {
                        clause_rows.push(r);
                    }
                }
                // Shared clauses: core and split entries linked directly to a row.
                if matches!(c.kind, ClauseKind::Core | ClauseKind::Split) {
                    for m in &c.map {
                        if m.relationship == Relationship::NotRelated {
                            continue;
                        }
                        if let Some(&r) = row_of_hs.get(&m.hs)
                            && let Some(row) = rows.get_mut(r)
                        {
                            row.clauses.push(ProgrammeClause {
                                standard,
                                clause: c.id.clone(),
                                title: c.title.clone(),
                                hs: m.hs.clone(),
                                relationship: m.relationship,
                            });
                        }
                    }
                }
                // A clause gets a state when it is not a mere heading: it has a parent, or
                // no sub-clauses (the rule the OSCAL export uses for its controls too).
                let is_row = c.parent.is_some() || !parents.contains(c.id.as_str());
                if is_row && (!scope_has_hs(scope) || !clause_rows.is_empty()) {
                    index.insert(c.id.clone(), clauses.len());
                    clauses.push(ClauseDef {
                        standard,
                        clause: c.id.clone(),
                        title: c.title.clone(),
                        kind: c.kind,
                        rows: clause_rows.clone(),
                    });
                }
                if is_discipline(c.kind) {
                    // Fold into the topmost discipline-specific ancestor's line.
                    let mut top = c;
                    for _ in 0..map.clauses().len() {
                        match top.parent.as_deref().and_then(|p| map.clause(p)) {
                            Some(p) if is_discipline(p.kind) => top = p,
                            _ => break,
                        }
                    }
                    let line = match line_index.get(&top.id) {
                        Some(&l) => l,
                        None => {
                            lines.push(LineDef {
                                standard,
                                title: top.title.clone(),
                                rows: Vec::new(),
                                clauses: Vec::new(),
                            });
                            line_index.insert(top.id.clone(), lines.len() - 1);
                            lines.len() - 1
                        }
                    };
                    line_index.insert(c.id.clone(), line);
                    if let Some(l) = lines.get_mut(line) {
                        for r in &clause_rows {
                            if !l.rows.contains(r) {
                                l.rows.push(*r);
                            }
                        }
                        let first = links.first();
                        l.clauses.push(ProgrammeClause {
                            standard,
                            clause: c.id.clone(),
                            title: c.title.clone(),
                            hs: first.map(|l| l.clause.clone()).unwrap_or_default(),
                            relationship: first
                                .map_or(Relationship::NotRelated, |l| l.relationship),
                        });
                    }
                }
            }
        }
        for row in &mut rows {
            for pc in &row.clauses {
                if let Some(&i) = clause_index
                    .get(&pc.standard)
                    .and_then(|m| m.get(&pc.clause))
                    && !row.shared.contains(&(pc.standard, i))
                {
                    row.shared.push((pc.standard, i));
                }
            }
        }
        for l in &mut lines {
            l.rows.sort_unstable();
        }
        // With an HS scope, a discipline line none of whose anchors is in scope goes.
        if scope_has_hs(scope) {
            let mut remap: Vec<Option<usize>> = Vec::with_capacity(lines.len());
            let mut kept = Vec::new();
            for l in lines {
                if l.rows.is_empty() {
                    remap.push(None);
                } else {
                    remap.push(Some(kept.len()));
                    kept.push(l);
                }
            }
            lines = kept;
            for m in line_of.values_mut() {
                m.retain(|_, v| match remap.get(*v).copied().flatten() {
                    Some(n) => {
                        *v = n;
                        true
                    }
                    None => false,
                });
            }
        }

        let mut carries: HashMap<StandardId, HashMap<String, Vec<Carry>>> = HashMap::new();
        let sources = chosen.iter().copied().chain([StandardId::Hs]);
        for source in sources {
            for &target in chosen {
                if source == target {
                    continue;
                }
                let Some(targets) = clause_index.get(&target) else {
                    continue;
                };
                for pair in mappings.crosswalk(source, target) {
                    if let Some(&t) = targets.get(&pair.to) {
                        carries
                            .entry(source)
                            .or_default()
                            .entry(pair.from)
                            .or_default()
                            .push(Carry {
                                target: t,
                                relationship: pair.relationship,
                                via: pair.via,
                            });
                    }
                }
            }
        }

        Ok(Layout {
            chosen: chosen.to_vec(),
            rows,
            row_of_hs,
            clauses,
            clause_index,
            lines,
            line_of,
            carries,
            hs_scoped: scope_has_hs(scope),
        })
    }

    /// Whether references to `standard` take part in this pack (the chosen ones, and HS).
    pub fn counts(&self, standard: StandardId) -> bool {
        standard == StandardId::Hs || self.chosen.contains(&standard)
    }
}

fn scope_has_hs(scope: &Scope) -> bool {
    !scope.hs.is_empty()
}

/// The programme row an HS clause belongs to: itself when its parent is a top-level clause,
/// else its nearest such ancestor; `None` for the top-level clauses themselves.
pub(crate) fn row_id(mappings: &Mappings, id: &str) -> Option<String> {
    let mut current = mappings.hs_clause(id)?;
    for _ in 0..mappings.hs_clauses().len() {
        let parent = mappings.hs_clause(current.parent.as_deref()?)?;
        if parent.parent.is_none() {
            return Some(current.id.clone());
        }
        current = parent;
    }
    None
}

/// The programme rows in HS order, restricted by the scope's `hs` part.
fn rows_in_scope(mappings: &Mappings, scope: &Scope) -> Result<Vec<String>, AuditError> {
    let all: Vec<String> = mappings
        .hs_clauses()
        .iter()
        .filter(|c| row_id(mappings, &c.id).as_deref() == Some(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect();
    if scope.hs.is_empty() {
        return Ok(all);
    }
    let mut wanted: HashSet<String> = HashSet::new();
    for v in &scope.hs {
        let Some(clause) = mappings.hs_clause(v) else {
            return Err(AuditError::UnknownHsClause { clause: v.clone() });
        };
        match row_id(mappings, &clause.id) {
            Some(row) => {
                wanted.insert(row);
            }
            // A top-level clause selects all its rows.
            None => wanted.extend(
                all.iter()
                    .filter(|r| row_id(mappings, r).is_some_and(|_| is_under(r, &clause.id)))
                    .cloned(),
            ),
        }
    }
    Ok(all.into_iter().filter(|r| wanted.contains(r)).collect())
}

fn is_under(id: &str, group: &str) -> bool {
    id.strip_prefix(group).is_some_and(|r| r.starts_with('.'))
}

/// The listed clause a reference counts for: itself, or its nearest listed ancestor by
/// number (`A.5.7` → `A.5`, `7.5.3.1` → `7.5.3`). Ancestors are prefixes, so no allocation.
pub(crate) fn resolve<'r>(mappings: &Mappings, reference: &'r ClauseRef) -> Option<&'r str> {
    let listed = |id: &str| {
        if reference.standard == StandardId::Hs {
            mappings.hs_clause(id).is_some()
        } else {
            mappings
                .standard(reference.standard)
                .is_some_and(|m| m.clause(id).is_some())
        }
    };
    let mut current = reference.clause.as_str();
    loop {
        if listed(current) {
            return Some(current);
        }
        let cut = current.rfind('.')?;
        current = current.get(..cut)?;
        if current.eq_ignore_ascii_case("a") {
            return None;
        }
    }
}
