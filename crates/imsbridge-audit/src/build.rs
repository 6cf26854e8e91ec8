//! Building a pack: records are read one at a time into per-row, per-clause and per-line
//! accumulators, so a store of any size streams through in bounded memory (the evidence
//! index and open items excepted, which are the output).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use imsbridge_mappings::Mappings;
use imsbridge_model::{
    ClauseRef, Conformity, Details, FindingType, HsLink, ImplementationStatus, Record, RecordKind,
    Relationship, StandardId, StatusCategory,
};

use crate::layout::{Layout, is_discipline, resolve};
use crate::maturity::{self, MATURITY_CRITERIA};
use crate::pack::{
    AuditPack, CoverageRow, Derivation, EvidenceCounts, EvidenceFlag, EvidenceItem, HeatCell,
    HeatRow, MaturityRow, OpenItem, OpenReason, PACK_FORMAT, ProgrammeLine, Section, StateCounts,
    Trend,
};
use crate::{AuditError, PackOptions};

/// How many derivations a coverage row keeps per state.
const BASIS_KEPT: usize = 5;

/// The derivation rules, written into every pack (`rules` in `pack.json`).
pub const RULES: &[(&str, &str)] = &[
    (
        "rows",
        "Programme rows are the HS clauses one level below the top (4.1 … 10.2). An HS sub-clause (7.5.1, 9.2.2, 9.3.1 …) folds into its row: the row is one process, audited once for all standards.",
    ),
    (
        "shared",
        "A standard's clause is shared on a row when its clause map classifies it as core or split and links it directly (equal, subset, superset or intersects) to the row's HS clause or one of its sub-clauses.",
    ),
    (
        "discipline",
        "Extension and annex clauses (27001 6.1.2, 6.1.3, 8.2, 8.3 and Annex A; 42001 6.1.2-6.1.4, 8.2-8.4 and Annex A; 9001 8.2-8.7 and its other extensions) are listed separately: one line per topmost such clause, its sub-clauses folded in, anchored to the HS rows its links reach.",
    ),
    (
        "exposure",
        "Exposure of a record: a risk not closed, its residual score on the common 1-25 scale, else its inherent score, else 9; an open nonconformity or corrective action 15 when its severity reads major, critical, high or severe, else 9; an open audit finding 20 major, 12 minor, 4 observation, 2 OFI, 0 positive, 9 ungraded; plus 5 when past its due date. Other records: 0.",
    ),
    (
        "weight",
        "Effort weight = 1 + 0.25 x (standards on the line - 1) + (sum of the exposure of the records behind the line) / 25, rounded to 0.1. 1 is one standard's session on a process with no risk exposure; a discipline-specific line has one standard.",
    ),
    (
        "order",
        "Suggested order: heaviest weight first; equal weights in HS order, shared lines before discipline-specific ones.",
    ),
    (
        "observed",
        "What a record says about its clauses: a requirement assessment its result; a control not applicable when excluded, else implemented = conforming, in progress = partially, planned or not started = not conforming; an open audit finding major = not conforming, minor = partially; an open nonconformity of major, critical, high or severe severity = not conforming, else partially. Closed findings and nonconformities, observations, OFIs, positive findings and the other kinds contribute no state.",
    ),
    (
        "direct",
        "A reference counts directly for its clause, or for the nearest listed ancestor when the clause map does not list it (27001 A.5.7 counts for A.5; 9001 7.5.3.1 for 7.5.3).",
    ),
    (
        "carry",
        "A result carries to the other chosen standards' clauses through the HS crosswalk (imsbridge crosswalk): when the source clause is equal to or a superset of the target clause, in full; when it is a subset or intersects, at most partially conforming. Not applicable is never carried: applicability is each standard's own decision. References to HS clauses carry like a standard equal to the HS.",
    ),
    (
        "combine",
        "A clause's state is the most restrictive of all its direct and carried contributions (not conforming > partially conforming > conforming > not applicable); with none it is not assessed. Each record counts once per clause, by its most restrictive path.",
    ),
    (
        "heatmap",
        "A heat-map cell is the worst state of the standard's shared clauses on the row, in the order not conforming, partially conforming, not assessed, conforming, not applicable.",
    ),
    (
        "evidence",
        "Evidence is every record in scope, indexed under the rows it sits on. Its age counts from its reviewed date, else its closed date, else its identified date. Flagged: past its next review date (review_overdue), or older than the review period (stale).",
    ),
    (
        "open",
        "Open items: open nonconformities; open audit findings other than positive ones; risks, nonconformities, corrective actions and findings past their due date and not closed; AI-flagged risks not closed without an owner or without a treatment (option or plan). A record is closed when its status is closed or cancelled or, without a status, when it has a closed date.",
    ),
    (
        "scope",
        "Records naming clauses only of standards outside the pack are left out; records naming no clause at all are kept, as unmapped evidence and open items.",
    ),
];

/// Builds a pack from records in one pass. See [`build`] for the one-call form.
#[derive(Debug)]
pub struct PackBuilder<'m> {
    mappings: &'m Mappings,
    options: PackOptions,
    layout: Layout,
    today: NaiveDate,
    records: u64,
    systems: BTreeMap<String, u64>,
    rows: Vec<RowAcc>,
    lines: Vec<LineAcc>,
    clauses: Vec<ClauseAcc>,
    evidence: Vec<EvidenceItem>,
    unmapped: Vec<u32>,
    open_items: Vec<(usize, OpenItem)>,
    /// Requirement assessments and findings, for the OSCAL assessment results.
    assessed: Vec<Record>,
}

#[derive(Debug, Default)]
struct RowAcc {
    records: u64,
    exposure: f64,
    open_items: u64,
    current_document: bool,
    monitored: bool,
    risks_unowned: u64,
    overdue: u64,
    improvement_closed: bool,
    evidence: Vec<u32>,
}

#[derive(Debug, Default)]
struct LineAcc {
    records: u64,
    exposure: f64,
    open_items: u64,
}

#[derive(Debug, Default)]
struct ClauseAcc {
    counts: StateCounts,
    /// Kept derivations per state, by [`rank`].
    basis: [Vec<Derivation>; 5],
}

/// Restrictiveness for combining contributions: higher wins.
fn rank(state: Conformity) -> usize {
    match state {
        Conformity::NotAssessed => 0,
        Conformity::NotApplicable => 1,
        Conformity::Conforming => 2,
        Conformity::PartiallyConforming => 3,
        Conformity::NotConforming => 4,
    }
}

/// Badness for the heat map: lower is worse, and not assessed is a gap.
fn heat_rank(state: Conformity) -> usize {
    match state {
        Conformity::NotConforming => 0,
        Conformity::PartiallyConforming => 1,
        Conformity::NotAssessed => 2,
        Conformity::Conforming => 3,
        Conformity::NotApplicable => 4,
    }
}

/// One record's candidate contribution to one clause, before it is kept.
struct Candidate<'r> {
    target: usize,
    result: Conformity,
    carried: Option<(&'r str, Relationship, &'r str)>,
    reference: &'r ClauseRef,
    listed: &'r str,
}

impl<'m> PackBuilder<'m> {
    /// Checks the options against the mapping data and lays the pack out.
    pub fn new(
        mappings: &'m Mappings,
        options: PackOptions,
    ) -> Result<PackBuilder<'m>, AuditError> {
        let mut chosen: Vec<StandardId> = Vec::new();
        for &s in &options.standards {
            if !s.is_management_system() {
                return Err(AuditError::Standard {
                    standard: s.key().to_string(),
                    reason:
                        "it is not a management-system standard built on the Harmonized Structure"
                            .into(),
                });
            }
            if mappings.standard(s).is_none() {
                return Err(AuditError::Standard {
                    standard: s.key().to_string(),
                    reason: "the mapping data has no clause map for it".into(),
                });
            }
            if !chosen.contains(&s) {
                chosen.push(s);
            }
        }
        if chosen.is_empty() {
            return Err(AuditError::NoStandard);
        }
        let layout = Layout::new(mappings, &chosen, &options.scope)?;
        let mut options = options;
        options.standards = chosen;
        Ok(PackBuilder {
            mappings,
            today: options.now.date_naive(),
            rows: layout.rows.iter().map(|_| RowAcc::default()).collect(),
            lines: layout.lines.iter().map(|_| LineAcc::default()).collect(),
            clauses: layout
                .clauses
                .iter()
                .map(|_| ClauseAcc::default())
                .collect(),
            layout,
            options,
            records: 0,
            systems: BTreeMap::new(),
            evidence: Vec::new(),
            unmapped: Vec::new(),
            open_items: Vec::new(),
            assessed: Vec::new(),
        })
    }

    /// Takes one record into the pack (records out of scope are skipped).
    pub fn add(&mut self, record: &Record) {
        self.take(Cow::Borrowed(record));
    }

    /// As [`PackBuilder::add`], moving the record's text into the pack instead of copying it
    /// (what [`crate::run`] does with records streamed from a store).
    pub fn add_owned(&mut self, record: Record) {
        self.take(Cow::Owned(record));
    }

    fn take(&mut self, owned: Cow<'_, Record>) {
        let record: &Record = &owned;
        if !self.options.scope.admits(record) {
            return;
        }
        // The importer stores the HS links; a record written without them gets them now.
        let derived: Vec<HsLink>;
        let links: &[HsLink] = if record.hs.is_empty() && !record.clauses.is_empty() {
            derived = record
                .clauses
                .iter()
                .flat_map(|c| self.mappings.hs_links(c).unwrap_or_default())
                .collect();
            &derived
        } else {
            &record.hs
        };
        let layout = &self.layout;
        let mut rows: Vec<usize> = Vec::new();
        for l in links {
            if layout.counts(l.via.standard)
                && let Some(&r) = layout.row_of_hs.get(&l.clause)
                && !rows.contains(&r)
            {
                rows.push(r);
            }
        }
        rows.sort_unstable();
        let names_chosen = record.clauses.iter().any(|c| layout.counts(c.standard));
        if (!record.clauses.is_empty() && !names_chosen) || (layout.hs_scoped && rows.is_empty()) {
            return;
        }
        let mut lines: Vec<usize> = Vec::new();
        for c in &record.clauses {
            if let Some(listed) = resolve(self.mappings, c)
                && let Some(&l) = layout.line_of.get(&c.standard).and_then(|m| m.get(listed))
                && !lines.contains(&l)
            {
                lines.push(l);
            }
        }

        self.records += 1;
        match self.systems.get_mut(&record.provenance.system) {
            Some(n) => *n += 1,
            None => {
                self.systems.insert(record.provenance.system.clone(), 1);
            }
        }

        let facts = Facts::of(record, self.today, self.options.review_period_days);
        let evidence_index = u32::try_from(self.evidence.len()).unwrap_or(u32::MAX);
        let clause_labels: Vec<String> = record
            .clauses
            .iter()
            .filter(|c| layout.counts(c.standard))
            .map(|c| format!("{} {}", label(c.standard), c.clause))
            .collect();
        let row_ids: Vec<String> = rows
            .iter()
            .filter_map(|r| layout.rows.get(*r).map(|d| d.hs.clone()))
            .collect();
        let open = facts.open_reasons(record);
        for &r in &rows {
            if let Some(acc) = self.rows.get_mut(r) {
                acc.records += 1;
                acc.exposure += facts.exposure;
                acc.open_items += u64::from(!open.is_empty());
                acc.current_document |=
                    record.kind() == RecordKind::Document && facts.flag == EvidenceFlag::Current;
                acc.monitored |= facts.monitoring;
                acc.risks_unowned += u64::from(facts.risk_unowned);
                acc.overdue += u64::from(facts.overdue_days.is_some());
                acc.improvement_closed |= facts.improvement_closed;
                acc.evidence.push(evidence_index);
            }
        }
        for &l in &lines {
            if let Some(acc) = self.lines.get_mut(l) {
                acc.records += 1;
                acc.exposure += facts.exposure;
                acc.open_items += u64::from(!open.is_empty());
            }
        }
        if rows.is_empty() {
            self.unmapped.push(evidence_index);
        }
        if !open.is_empty() {
            let first_row = rows.first().copied().unwrap_or(usize::MAX);
            self.open_items.push((
                first_row,
                OpenItem {
                    record: record.id,
                    kind: record.kind(),
                    title: record.title.clone(),
                    system: record.provenance.system.clone(),
                    location: record.provenance.location.clone(),
                    external_id: record.provenance.external_id.clone(),
                    reasons: open,
                    owner: record.owner.clone(),
                    status: record.status.as_ref().map(|s| s.label.clone()),
                    severity: severity(record),
                    due: record.dates.due,
                    days_overdue: facts.overdue_days,
                    clauses: clause_labels.clone(),
                    hs: row_ids.clone(),
                },
            ));
        }
        self.coverage(record, facts.closed);
        let kept = matches!(
            record.kind(),
            RecordKind::RequirementAssessment | RecordKind::AuditFinding
        ) && names_chosen;
        let (id, kind) = (record.id, record.kind());
        // The evidence item's text: moved out of a record nobody else needs, else copied.
        let text = match owned {
            Cow::Owned(r) if !kept => EvidenceText::moved(r),
            r => {
                let text = EvidenceText::copied(&r);
                if kept {
                    self.assessed.push(r.into_owned());
                }
                text
            }
        };
        self.evidence.push(EvidenceItem {
            record: id,
            kind,
            title: text.title,
            system: text.system,
            connector: text.connector,
            location: text.location,
            external_id: text.external_id,
            clauses: clause_labels,
            hs: row_ids,
            status: text.status,
            link: text.link,
            dated: facts.dated.map(|(d, _)| d),
            date_basis: facts.dated.map(|(_, b)| b),
            age_days: facts.age_days,
            flag: facts.flag,
        });
    }

    /// The record's contributions to the clauses' states: direct, and carried through the
    /// crosswalk; one per clause, the most restrictive.
    fn coverage(&mut self, record: &Record, closed: bool) {
        let Some(recorded) = observed(record, closed) else {
            return;
        };
        let layout = &self.layout;
        let mut best: Vec<Candidate<'_>> = Vec::new();
        for reference in record.clauses.iter().filter(|c| layout.counts(c.standard)) {
            let Some(listed) = resolve(self.mappings, reference) else {
                continue;
            };
            if reference.standard != StandardId::Hs
                && let Some(&target) = layout
                    .clause_index
                    .get(&reference.standard)
                    .and_then(|m| m.get(listed))
            {
                consider(
                    &mut best,
                    Candidate {
                        target,
                        result: recorded,
                        carried: None,
                        reference,
                        listed,
                    },
                );
            }
            let carries = layout
                .carries
                .get(&reference.standard)
                .and_then(|m| m.get(listed));
            for carry in carries.into_iter().flatten() {
                let Some(result) = carried(recorded, carry.relationship) else {
                    continue;
                };
                consider(
                    &mut best,
                    Candidate {
                        target: carry.target,
                        result,
                        carried: Some((carry.via.as_str(), carry.relationship, listed)),
                        reference,
                        listed,
                    },
                );
            }
        }
        for c in best {
            let (Some(acc), Some(def)) =
                (self.clauses.get_mut(c.target), layout.clauses.get(c.target))
            else {
                continue;
            };
            acc.counts.add(c.result);
            let Some(kept) = acc.basis.get_mut(rank(c.result)) else {
                continue;
            };
            if kept.len() >= BASIS_KEPT {
                continue;
            }
            let mut path = format!("{} {}", def.standard.key(), def.clause);
            let source = label(c.reference.standard);
            if let Some((via, relationship, listed)) = c.carried {
                path.push_str(&format!(" ← HS {via} ({}", relationship.as_str()));
                if c.result != recorded {
                    path.push_str(", at most partially_conforming");
                }
                path.push(')');
                if c.reference.standard != StandardId::Hs {
                    path.push_str(&format!(" ← {source} {listed}"));
                }
            }
            if c.reference.clause != c.listed {
                path.push_str(&format!(" ← {source} {}", c.reference.clause));
            }
            path.push_str(&format!(" ← record {}", record_label(record)));
            kept.push(Derivation {
                result: c.result,
                recorded,
                carried: c.carried.is_some(),
                path,
                record: record.id,
                system: record.provenance.system.clone(),
                location: record.provenance.location.clone(),
            });
        }
    }

    /// Derives every view.
    pub fn finish(self) -> Result<AuditPack, AuditError> {
        let PackBuilder {
            mappings,
            options,
            layout,
            records,
            systems,
            rows,
            lines,
            clauses,
            evidence,
            unmapped,
            mut open_items,
            assessed,
            ..
        } = self;
        let standards = options.standards.clone();

        // Coverage.
        let mut coverage: Vec<CoverageRow> = Vec::with_capacity(clauses.len());
        for (def, acc) in layout.clauses.iter().zip(clauses) {
            let state = Conformity::ALL
                .into_iter()
                .filter(|s| acc.counts.get(*s) > 0)
                .max_by_key(|s| rank(*s))
                .unwrap_or(Conformity::NotAssessed);
            let [b0, b1, b2, b3, b4] = acc.basis;
            let basis = match rank(state) {
                0 => b0,
                1 => b1,
                2 => b2,
                3 => b3,
                _ => b4,
            };
            coverage.push(CoverageRow {
                standard: def.standard,
                clause: def.clause.clone(),
                title: def.title.clone(),
                kind: def.kind.as_str().to_string(),
                discipline_specific: is_discipline(def.kind),
                hs: def
                    .rows
                    .iter()
                    .filter_map(|r| layout.rows.get(*r).map(|d| d.hs.clone()))
                    .collect(),
                state,
                contributions: acc.counts,
                basis,
            });
        }
        let state_of = |i: usize| coverage.get(i).map_or(Conformity::NotAssessed, |c| c.state);

        // Heat map.
        let heatmap: Vec<HeatRow> = layout
            .rows
            .iter()
            .map(|row| HeatRow {
                hs: row.hs.clone(),
                title: row.title.clone(),
                cells: standards
                    .iter()
                    .map(|&s| {
                        let states: Vec<Conformity> = row
                            .shared
                            .iter()
                            .filter(|(st, _)| *st == s)
                            .map(|(_, i)| state_of(*i))
                            .collect();
                        HeatCell {
                            standard: s,
                            state: states.iter().copied().min_by_key(|s| heat_rank(*s)),
                            clauses: states.len() as u64,
                            conforming: states
                                .iter()
                                .filter(|s| {
                                    matches!(s, Conformity::Conforming | Conformity::NotApplicable)
                                })
                                .count() as u64,
                        }
                    })
                    .collect(),
            })
            .collect();

        // Programme.
        let weight = |standards: usize, exposure: f64| {
            let w = 1.0 + 0.25 * (standards.max(1) - 1) as f64 + exposure / 25.0;
            (w * 10.0).round() / 10.0
        };
        let mut programme: Vec<ProgrammeLine> = Vec::new();
        let mut evidence_by_line: Vec<Vec<u32>> = Vec::new();
        let mut shared_rows: Vec<usize> = Vec::new();
        for (i, (def, acc)) in layout.rows.iter().zip(rows.iter()).enumerate() {
            if def.clauses.is_empty() {
                continue;
            }
            let line_standards: Vec<StandardId> = standards
                .iter()
                .copied()
                .filter(|s| def.clauses.iter().any(|c| c.standard == *s))
                .collect();
            programme.push(ProgrammeLine {
                order: 0,
                section: Section::Shared,
                hs: vec![def.hs.clone()],
                title: def.title.clone(),
                weight: weight(line_standards.len(), acc.exposure),
                standards: line_standards,
                clauses: def.clauses.clone(),
                records: acc.records,
                open_items: acc.open_items,
                exposure: acc.exposure,
            });
            evidence_by_line.push(acc.evidence.clone());
            shared_rows.push(i);
        }
        let mut discipline: Vec<ProgrammeLine> = Vec::new();
        for (def, acc) in layout.lines.iter().zip(lines.iter()) {
            discipline.push(ProgrammeLine {
                order: 0,
                section: Section::DisciplineSpecific,
                hs: def
                    .rows
                    .iter()
                    .filter_map(|r| layout.rows.get(*r).map(|d| d.hs.clone()))
                    .collect(),
                title: def.title.clone(),
                standards: vec![def.standard],
                clauses: def.clauses.clone(),
                records: acc.records,
                open_items: acc.open_items,
                exposure: acc.exposure,
                weight: weight(1, acc.exposure),
            });
        }
        // Suggested order over both lists.
        let mut keys: Vec<(f64, usize, u8, usize)> = Vec::new();
        for (i, r) in shared_rows.iter().enumerate() {
            if let Some(line) = programme.get(i) {
                keys.push((line.weight, *r, 0, i));
            }
        }
        for (i, (line, def)) in discipline.iter().zip(layout.lines.iter()).enumerate() {
            let first = def.rows.first().copied().unwrap_or(usize::MAX);
            keys.push((line.weight, first, 1, i));
        }
        keys.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        for (n, (_, _, section, i)) in keys.into_iter().enumerate() {
            let list = if section == 0 {
                &mut programme
            } else {
                &mut discipline
            };
            if let Some(line) = list.get_mut(i) {
                line.order = n + 1;
            }
        }

        // Maturity.
        let mut maturity = Vec::with_capacity(layout.rows.len());
        for (def, acc) in layout.rows.iter().zip(rows.iter()) {
            let standards_on_row: Vec<StandardId> = standards
                .iter()
                .copied()
                .filter(|s| def.shared.iter().any(|(st, _)| st == s))
                .collect();
            let assessed = !standards_on_row.is_empty()
                && standards_on_row.iter().all(|s| {
                    def.shared
                        .iter()
                        .any(|(st, i)| st == s && state_of(*i) != Conformity::NotAssessed)
                });
            let all_conforming = !def.shared.iter().any(|(_, i)| {
                matches!(
                    state_of(*i),
                    Conformity::PartiallyConforming | Conformity::NotConforming
                )
            });
            let checks = [
                ("evidence", acc.records > 0),
                ("documented", acc.current_document),
                ("assessed", assessed),
                ("monitored", acc.monitored),
                ("risks_owned", acc.risks_unowned == 0),
                ("nothing_overdue", acc.overdue == 0),
                ("improvement_closed", acc.improvement_closed),
                ("all_conforming", all_conforming),
            ];
            let met: Vec<&'static str> = MATURITY_CRITERIA
                .iter()
                .filter(|c| checks.iter().any(|(id, ok)| *id == c.id && *ok))
                .map(|c| c.id)
                .collect();
            let unmet: Vec<&'static str> = MATURITY_CRITERIA
                .iter()
                .map(|c| c.id)
                .filter(|id| !met.contains(id))
                .collect();
            let level = maturity::level(&met);
            let previous = options
                .previous
                .as_ref()
                .and_then(|p| p.levels.get(&def.hs).copied());
            let trend = options.previous.as_ref().map(|_| match previous {
                None => Trend::New,
                Some(p) if level > p => Trend::Up,
                Some(p) if level < p => Trend::Down,
                Some(_) => Trend::Same,
            });
            maturity.push(MaturityRow {
                hs: def.hs.clone(),
                title: def.title.clone(),
                level,
                level_name: maturity::level_name(level),
                met,
                unmet,
                previous,
                trend,
            });
        }

        // Open items: by row, the longest overdue first.
        open_items.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb)
                .then(
                    b.days_overdue
                        .unwrap_or(-1)
                        .cmp(&a.days_overdue.unwrap_or(-1)),
                )
                .then(a.title.cmp(&b.title))
        });

        let title = options.title.clone().unwrap_or_else(|| {
            format!(
                "Joint audit pack: {}",
                standards
                    .iter()
                    .map(|s| s.designation())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        Ok(AuditPack {
            format: PACK_FORMAT,
            title,
            generated_at: options.now,
            standards,
            scope: options.scope.to_string(),
            review_period_days: options.review_period_days,
            records,
            systems,
            programme,
            discipline,
            coverage,
            heatmap,
            evidence_counts: EvidenceCounts::of(&evidence),
            evidence,
            open_items: open_items.into_iter().map(|(_, o)| o).collect(),
            maturity,
            criteria: MATURITY_CRITERIA,
            previous_generated_at: options.previous.as_ref().map(|p| p.generated_at),
            rules: RULES,
            assessed,
            mappings: mappings.clone(),
            evidence_by_line,
            unmapped_evidence: unmapped,
            html_row_limit: options.html_row_limit,
        })
    }
}

/// Builds a pack from records held in memory; [`crate::run`] streams them from a store.
pub fn build<'r>(
    records: impl IntoIterator<Item = &'r Record>,
    mappings: &Mappings,
    options: PackOptions,
) -> Result<AuditPack, AuditError> {
    let mut builder = PackBuilder::new(mappings, options)?;
    for r in records {
        builder.add(r);
    }
    builder.finish()
}

/// Keeps one contribution per clause for a record: the more restrictive, and at equal rank a
/// direct result over a carried one.
fn consider<'r>(best: &mut Vec<Candidate<'r>>, c: Candidate<'r>) {
    match best.iter_mut().find(|b| b.target == c.target) {
        Some(b) => {
            let better = rank(c.result) > rank(b.result)
                || (rank(c.result) == rank(b.result) && c.carried.is_none() && b.carried.is_some());
            if better {
                *b = c;
            }
        }
        None => best.push(c),
    }
}

/// The text of a record an evidence item keeps.
struct EvidenceText {
    title: String,
    system: String,
    connector: String,
    location: String,
    external_id: String,
    status: Option<String>,
    link: Option<String>,
}

impl EvidenceText {
    fn copied(r: &Record) -> EvidenceText {
        EvidenceText {
            title: r.title.clone(),
            system: r.provenance.system.clone(),
            connector: r.provenance.connector.clone(),
            location: r.provenance.location.clone(),
            external_id: r.provenance.external_id.clone(),
            status: r.status.as_ref().map(|s| s.label.clone()),
            link: evidence_link(r).cloned(),
        }
    }

    fn moved(r: Record) -> EvidenceText {
        let link = match r.details {
            Details::Document(d) => d.link,
            Details::Control(d) => d.evidence,
            Details::RequirementAssessment(d) => d.evidence,
            Details::AuditFinding(d) => d.evidence,
            _ => None,
        };
        EvidenceText {
            title: r.title,
            system: r.provenance.system,
            connector: r.provenance.connector,
            location: r.provenance.location,
            external_id: r.provenance.external_id,
            status: r.status.map(|s| s.label),
            link,
        }
    }
}

/// What one record contributes, computed once.
struct Facts {
    closed: bool,
    overdue_days: Option<i64>,
    exposure: f64,
    dated: Option<(NaiveDate, &'static str)>,
    age_days: Option<i64>,
    flag: EvidenceFlag,
    monitoring: bool,
    risk_unowned: bool,
    improvement_closed: bool,
}

impl Facts {
    fn of(r: &Record, today: NaiveDate, period_days: u32) -> Facts {
        let kind = r.kind();
        let period = i64::from(period_days);
        let closed = is_closed(r);
        let overdue_days = match kind {
            RecordKind::Risk
            | RecordKind::Nonconformity
            | RecordKind::CorrectiveAction
            | RecordKind::AuditFinding
                if !closed =>
            {
                r.dates
                    .due
                    .filter(|d| *d < today)
                    .map(|d| (today - d).num_days())
            }
            _ => None,
        };
        let dated = r
            .dates
            .reviewed
            .map(|d| (d, "reviewed"))
            .or(r.dates.closed.map(|d| (d, "closed")))
            .or(r.dates.identified.map(|d| (d, "identified")));
        let age_days = dated.map(|(d, _)| (today - d).num_days());
        let flag = if r.dates.next_review.is_some_and(|d| d < today) {
            EvidenceFlag::ReviewOverdue
        } else {
            match age_days {
                None => EvidenceFlag::Undated,
                Some(a) if a > period => EvidenceFlag::Stale,
                Some(_) => EvidenceFlag::Current,
            }
        };
        let recent = age_days.is_some_and(|a| a <= period);
        let monitoring = recent
            && matches!(
                kind,
                RecordKind::RequirementAssessment | RecordKind::AuditFinding | RecordKind::Control
            );
        let risk_unowned = match &r.details {
            Details::Risk(d) if !closed => {
                no_owner(r) || (d.treatment.is_none() && d.treatment_plan.is_none())
            }
            _ => false,
        };
        let improvement_closed = closed
            && matches!(
                kind,
                RecordKind::Nonconformity | RecordKind::CorrectiveAction | RecordKind::AuditFinding
            )
            && r.dates
                .closed
                .is_some_and(|d| (0..=period).contains(&(today - d).num_days()));
        let mut exposure = match &r.details {
            Details::Risk(d) if !closed => d
                .residual
                .normalised_score()
                .or(d.inherent.normalised_score())
                .unwrap_or(9.0)
                .clamp(1.0, 25.0),
            Details::Nonconformity(d) | Details::CorrectiveAction(d) if !closed => {
                if is_major(d.severity.as_deref()) {
                    15.0
                } else {
                    9.0
                }
            }
            Details::AuditFinding(d) if !closed => match d.finding_type {
                Some(FindingType::MajorNonconformity) => 20.0,
                Some(FindingType::MinorNonconformity) => 12.0,
                Some(FindingType::Observation) => 4.0,
                Some(FindingType::OpportunityForImprovement) => 2.0,
                Some(FindingType::Positive) => 0.0,
                None => 9.0,
            },
            _ => 0.0,
        };
        if overdue_days.is_some() {
            exposure += 5.0;
        }
        Facts {
            closed,
            overdue_days,
            exposure,
            dated,
            age_days,
            flag,
            monitoring,
            risk_unowned,
            improvement_closed,
        }
    }

    fn open_reasons(&self, r: &Record) -> Vec<OpenReason> {
        let mut reasons = Vec::new();
        if self.closed {
            return reasons;
        }
        match &r.details {
            Details::Nonconformity(_) => reasons.push(OpenReason::OpenNonconformity),
            Details::AuditFinding(d) if d.finding_type != Some(FindingType::Positive) => {
                reasons.push(OpenReason::OpenFinding);
            }
            _ => {}
        }
        if self.overdue_days.is_some() {
            reasons.push(OpenReason::Overdue);
        }
        if let Details::Risk(d) = &r.details
            && r.ai.flagged
        {
            if no_owner(r) {
                reasons.push(OpenReason::AiRiskWithoutOwner);
            }
            if d.treatment.is_none() && d.treatment_plan.is_none() {
                reasons.push(OpenReason::AiRiskWithoutTreatment);
            }
        }
        reasons
    }
}

fn no_owner(r: &Record) -> bool {
    r.owner.as_deref().is_none_or(|o| o.trim().is_empty())
}

fn is_closed(r: &Record) -> bool {
    match &r.status {
        Some(s) => matches!(
            s.category,
            StatusCategory::Closed | StatusCategory::Cancelled
        ),
        None => r.dates.closed.is_some(),
    }
}

fn is_major(severity: Option<&str>) -> bool {
    severity.is_some_and(|s| {
        let s = s.to_lowercase();
        ["major", "critical", "high", "severe"]
            .iter()
            .any(|w| s.contains(w))
    })
}

/// What the record says about the conformity of the clauses it names, if anything.
fn observed(r: &Record, closed: bool) -> Option<Conformity> {
    let state = match &r.details {
        Details::RequirementAssessment(d) => d.result,
        Details::Control(d) => {
            if d.applicable == Some(false) {
                Conformity::NotApplicable
            } else {
                match d.implementation? {
                    ImplementationStatus::Implemented => Conformity::Conforming,
                    ImplementationStatus::InProgress => Conformity::PartiallyConforming,
                    ImplementationStatus::Planned | ImplementationStatus::NotStarted => {
                        Conformity::NotConforming
                    }
                    ImplementationStatus::NotApplicable => Conformity::NotApplicable,
                }
            }
        }
        Details::AuditFinding(d) if !closed => match d.finding_type? {
            FindingType::MajorNonconformity => Conformity::NotConforming,
            FindingType::MinorNonconformity => Conformity::PartiallyConforming,
            _ => return None,
        },
        Details::Nonconformity(d) if !closed => {
            if is_major(d.severity.as_deref()) {
                Conformity::NotConforming
            } else {
                Conformity::PartiallyConforming
            }
        }
        _ => return None,
    };
    (state != Conformity::NotAssessed).then_some(state)
}

/// A result carried through a crosswalk pair (source compared with target).
fn carried(result: Conformity, relationship: Relationship) -> Option<Conformity> {
    match (result, relationship) {
        (Conformity::NotApplicable | Conformity::NotAssessed, _)
        | (_, Relationship::NotRelated) => None,
        (r, Relationship::Equal | Relationship::Superset) => Some(r),
        (_, Relationship::Subset | Relationship::Intersects) => {
            Some(Conformity::PartiallyConforming)
        }
    }
}

fn severity(r: &Record) -> Option<String> {
    match &r.details {
        Details::Nonconformity(d) | Details::CorrectiveAction(d) => d.severity.clone(),
        Details::AuditFinding(d) => d.finding_type.map(|t| finding_word(t).to_string()),
        _ => None,
    }
}

fn finding_word(t: FindingType) -> &'static str {
    match t {
        FindingType::MajorNonconformity => "major nonconformity",
        FindingType::MinorNonconformity => "minor nonconformity",
        FindingType::Observation => "observation",
        FindingType::OpportunityForImprovement => "opportunity for improvement",
        FindingType::Positive => "positive",
    }
}

/// A document's link, or the evidence text of a control, assessment or finding.
fn evidence_link(r: &Record) -> Option<&String> {
    match &r.details {
        Details::Document(d) => d.link.as_ref(),
        Details::Control(d) => d.evidence.as_ref(),
        Details::RequirementAssessment(d) => d.evidence.as_ref(),
        Details::AuditFinding(d) => d.evidence.as_ref(),
        _ => None,
    }
}

/// `iso27001`, or `HS` for the Harmonized Structure.
fn label(s: StandardId) -> &'static str {
    if s == StandardId::Hs { "HS" } else { s.key() }
}

fn record_label(r: &Record) -> String {
    if r.provenance.location.is_empty() {
        format!("{}:{}", r.provenance.system, r.provenance.external_id)
    } else {
        r.provenance.location.clone()
    }
}
