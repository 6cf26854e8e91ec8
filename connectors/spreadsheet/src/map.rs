//! From spreadsheet rows to unified-model records.
//!
//! A [`SheetMapper`] is planned once per sheet from its header (which column is which field,
//! which scale each rating column uses, which date order) and then maps rows one by one. Every
//! value is parsed here, at the edge: a record leaves this module typed, and a value that does
//! not parse rejects its row with the cell's location and what was expected — it is never
//! silently dropped. Columns no field claims go to the record's `extra` map under their header.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use imsbridge_mappings::{Dimension, Field, Mappings, Profile, Scale};
use imsbridge_model::{
    AiFlag, AiRiskCategory, AiRiskTier, ClauseRef, Conformity, Dates, Details, FindingType, HsLink,
    ImplementationStatus, Provenance, Record, RecordId, RecordKind, RiskRating, ScaleValue,
    StandardId, Status, Treatment,
};

use sha2::{Digest, Sha256};

use crate::dates::{DateOrder, infer_order, parse_date};
use crate::{Cell, Header, Location, Row};

/// How many rows a mapper looks at to detect scales and the date order of a sheet.
pub const SAMPLE_ROWS: usize = 500;

/// Changed whenever the mapping code changes what a row maps to: source hashes stored by an
/// older build then no longer match, and every row is mapped again (once) instead of being
/// taken as unchanged. The crate version is part of the hash too, for released builds.
const SOURCE_HASH_REVISION: &str = "1";

/// What identifies a source row before it is mapped (see [`SheetMapper::source_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceKey {
    /// The id the row's record has.
    pub id: RecordId,
    /// A hash of the row's cells and of everything else the mapping of the sheet reads:
    /// whenever it is the same, the row maps to the same record.
    pub hash: [u8; 16],
}

/// A problem with a place: a rejected row's reason or a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub location: Location,
    pub message: String,
}

/// What became of one row.
#[derive(Debug)]
pub enum MappedRow {
    /// Every cell empty: reported as a warning by the caller, not an error.
    Blank,
    Record {
        record: Box<Record>,
        warnings: Vec<Issue>,
    },
    Rejected {
        reason: Issue,
        warnings: Vec<Issue>,
    },
}

/// Why a sheet cannot be mapped at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{location}: cannot tell what kind of register this sheet is from its headers ({headers}); pass --kind (risk, control, requirement_assessment, nonconformity, incident, audit_finding, document, objective, ai_system) or set `kind` in a profile"
    )]
    UnknownKind { location: Location, headers: String },
    #[error("{location}: no column holds the {what}: expected a header such as {examples}")]
    MissingColumn {
        location: Location,
        what: &'static str,
        examples: &'static str,
    },
}

/// Where a sheet comes from and how its records are named.
#[derive(Debug, Clone)]
pub struct SheetSource {
    /// The file name as shown in locations (`risks.xlsx`).
    pub file_name: String,
    /// `None` for CSV files.
    pub sheet: Option<String>,
    /// The system name that, with the external id, makes each record's stable id.
    pub system: String,
    pub imported_at: DateTime<Utc>,
    /// The standard bare clause numbers ("A.5.7", "9.2") belong to, when the user named one
    /// (`--standard`); it wins over the profile's and over a standard named in a header.
    pub standard: Option<StandardId>,
}

/// The scale that reads a rating column. A score column written in level words ("High") is
/// read with a likelihood/impact word scale and stretched linearly onto the 1–25 score range,
/// since registers often rate the overall risk with the same words as its parts.
#[derive(Debug, Clone, Copy)]
struct ChosenScale<'a> {
    scale: &'a Scale,
    level_as_score: bool,
}

impl ChosenScale<'_> {
    fn read(&self, raw: &str) -> Option<(f64, f64)> {
        let reading = self.scale.read(raw)?;
        let normalised = if self.level_as_score {
            let span = imsbridge_model::COMMON_MAX - imsbridge_model::COMMON_MIN;
            1.0 + (reading.normalised - imsbridge_model::COMMON_MIN) * 24.0 / span
        } else {
            reading.normalised
        };
        Some((reading.value, normalised))
    }
}

#[derive(Debug, Clone)]
struct FieldColumn {
    index: usize,
    header: String,
}

/// The plan for one sheet.
#[derive(Debug)]
pub struct SheetMapper<'a> {
    mappings: &'a Mappings,
    source: SheetSource,
    kind: RecordKind,
    /// Field → the column holding it (the first column wins; later duplicates go to extra).
    fields: BTreeMap<Field, FieldColumn>,
    /// Columns no field claims: kept in `extra` under their header.
    extra_columns: Vec<FieldColumn>,
    header_row: u32,
    column_count: usize,
    scales: BTreeMap<Field, ChosenScale<'a>>,
    date_order: DateOrder,
    /// The standard a bare clause number belongs to, from the profile or the clause column's
    /// header ("ISO 42001 Ref").
    default_standard: Option<StandardId>,
    warnings: Vec<Issue>,
    /// The hash of the mapping context: the plan above and the mapping data rows are read
    /// with. Every source key starts from it.
    context: [u8; 32],
}

impl<'a> SheetMapper<'a> {
    /// Plans a sheet from its header and the first rows (`sample`, up to [`SAMPLE_ROWS`]).
    pub fn plan(
        mappings: &'a Mappings,
        profile: &'a Profile,
        source: SheetSource,
        header: &Header,
        kind: Option<RecordKind>,
        sample: &[Row],
    ) -> Result<SheetMapper<'a>, PlanError> {
        let header_location = Location {
            file: source.file_name.clone(),
            sheet: source.sheet.clone(),
            row: header.last_row,
            column: None,
        };
        // First pass without a kind, to infer it; the second resolves kind-dependent aliases
        // ("Severity" is impact on a risk sheet, severity on an incident sheet).
        let untyped: Vec<Option<Field>> = header
            .columns
            .iter()
            .map(|c| profile.match_header(&c.name, None))
            .collect();
        let kind = match kind.or(profile.kind()) {
            Some(k) => k,
            None => {
                let found: Vec<Field> = untyped.iter().flatten().copied().collect();
                profile
                    .infer_kind(&found)
                    .ok_or_else(|| PlanError::UnknownKind {
                        location: header_location.clone(),
                        headers: header
                            .columns
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        let mut fields = BTreeMap::new();
        let mut extra_columns = Vec::new();
        for column in &header.columns {
            let field_column = FieldColumn {
                index: column.index,
                header: column.name.clone(),
            };
            let matched = profile
                .match_header(&column.name, Some(kind))
                .or_else(|| clause_column(&column.name));
            match matched {
                Some(field) if !fields.contains_key(&field) => {
                    fields.insert(field, field_column);
                }
                _ => extra_columns.push(field_column),
            }
        }
        if !fields.contains_key(&Field::Title)
            && !fields.contains_key(&Field::Description)
            && !fields.contains_key(&Field::Clauses)
            && !fields.contains_key(&Field::ExternalId)
        {
            return Err(PlanError::MissingColumn {
                location: header_location,
                what: "record's title",
                examples: "\"Title\", \"Risk\", \"Control\", \"Description\"",
            });
        }
        let mut warnings = Vec::new();
        if !fields.contains_key(&Field::ExternalId) && !is_keyed_by_clause(kind, &fields) {
            warnings.push(Issue {
                location: header_location.clone(),
                message: "no ID column: records are identified by their row number, so inserting rows above \
                          them will make a re-import see them as new records; add an ID column for stable ids"
                    .to_string(),
            });
        }

        let default_standard = source.standard.or(profile.standard()).or_else(|| {
            fields
                .get(&Field::Clauses)
                .and_then(|c| standard_in_header(&c.header))
                .or_else(|| {
                    fields
                        .get(&Field::ExternalId)
                        .and_then(|c| standard_in_header(&c.header))
                })
        });
        // A Statement of Applicability that writes its controls bare ("A.5.1") is, unless said
        // otherwise, the ISO/IEC 27001 one: that is where the term and Annex A come from, and
        // other standards' controls in the same sheet name their standard ("42001 A.6.2.2").
        // Said once per sheet, so a 42001-only SoA is caught by whoever reads the warnings.
        let bare_annex_ids = fields.get(&Field::ExternalId).is_some_and(|c| {
            sample
                .iter()
                .filter_map(|r| r.cells.get(c.index))
                .any(|cell| {
                    let text = cell_text(cell);
                    let text = text.trim();
                    text.starts_with(['A', 'a']) && names_no_standard(text)
                })
        });
        let default_standard = match default_standard {
            None if kind == RecordKind::Control && bare_annex_ids => {
                warnings.push(Issue {
                    location: header_location.clone(),
                    message: "control numbers without a standard (\"A.5.1\") are read as ISO/IEC 27001:2022 Annex A; \
                              import with --standard (or add a Standard column) if they belong to another standard"
                        .to_string(),
                });
                Some(StandardId::Iso27001)
            }
            other => other,
        };

        // One scale per dimension and sheet: the inherent and residual columns of a register
        // share its matrix, and a residual column whose values happen to stay below 4 must
        // not be read as a 1–3 scale. Only when the pooled values fit no scale is each column
        // tried on its own.
        let mut scales = BTreeMap::new();
        for dimension in [Dimension::Likelihood, Dimension::Impact, Dimension::Score] {
            let columns: Vec<(Field, &FieldColumn)> = rating_fields()
                .into_iter()
                .filter(|(_, d)| *d == dimension)
                .filter_map(|(f, _)| fields.get(&f).map(|c| (f, c)))
                .collect();
            if columns.is_empty() {
                continue;
            }
            if let Some(id) = profile.scale_for(dimension) {
                if let Some(scale) = mappings.scale(id) {
                    for (field, _) in &columns {
                        scales.insert(
                            *field,
                            ChosenScale {
                                scale,
                                level_as_score: false,
                            },
                        );
                    }
                }
                continue;
            }
            let texts = |cols: &[&FieldColumn]| -> Vec<String> {
                cols.iter()
                    .flat_map(|c| sample.iter().filter_map(move |r| r.cells.get(c.index)))
                    .map(cell_text)
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty() && !t.starts_with('#'))
                    .collect()
            };
            let all: Vec<&FieldColumn> = columns.iter().map(|(_, c)| *c).collect();
            if let Some(chosen) = detect(mappings, dimension, &texts(&all)) {
                for (field, _) in &columns {
                    scales.insert(*field, chosen);
                }
                continue;
            }
            for (field, column) in columns {
                match detect(mappings, dimension, &texts(&[column])) {
                    Some(chosen) => {
                        scales.insert(field, chosen);
                    }
                    None if texts(&[column]).is_empty() => {}
                    None => warnings.push(Issue {
                        location: Location { column: Some(column.index), ..header_location.clone() },
                        message: format!(
                            "no declared scale reads the values of column {:?} (first rows); its cells are kept \
                             unrated in extra — declare the scale in a profile (scales = {{ {} = \"1-5\" }})",
                            column.header,
                            dimension.as_str()
                        ),
                    }),
                }
            }
        }

        let date_order = match profile.date_order() {
            Some(imsbridge_mappings::DateOrder::DayFirst) => DateOrder::DayFirst,
            Some(imsbridge_mappings::DateOrder::MonthFirst) => DateOrder::MonthFirst,
            None => {
                let mut texts = Vec::new();
                for field in date_fields() {
                    if let Some(column) = fields.get(&field) {
                        for row in sample {
                            if let Some(Cell::Text(t)) = row.cells.get(column.index) {
                                texts.push(t.clone());
                            }
                        }
                    }
                }
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                infer_order(&refs)
            }
        };

        let mut mapper = SheetMapper {
            mappings,
            source,
            kind,
            fields,
            extra_columns,
            header_row: header.last_row,
            column_count: header.columns.len(),
            scales,
            date_order,
            default_standard,
            warnings,
            context: [0; 32],
        };
        mapper.context = mapper.context_hash();
        Ok(mapper)
    }

    /// Hashes everything besides a row's cells that decides what the row maps to. The
    /// profile is in it through what it decided (columns, kind, scales, date order,
    /// standard); the mapping files through the scales chosen, the clause maps and the HS
    /// clauses, which give clause titles and HS links. Where a row was read (file, sheet, row
    /// number) is left out: a record's location is not part of its content either.
    fn context_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut put = |text: &str| {
            h.update((text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        };
        put(env!("CARGO_PKG_VERSION"));
        put(SOURCE_HASH_REVISION);
        put(&self.source.system);
        // CSV rows are checked against the header's field count; workbook rows are not.
        put(if self.source.sheet.is_none() {
            "csv"
        } else {
            "workbook"
        });
        put(self.kind.as_str());
        put(&format!("{:?}", self.fields));
        put(&format!("{:?}", self.extra_columns));
        put(&self.column_count.to_string());
        for (field, chosen) in &self.scales {
            let scale = chosen.scale;
            // Not `Scale`'s Debug: it holds a HashMap, whose order varies between runs.
            put(&format!(
                "{field:?} {} {} {} {:?} {:?} {:?} {} {}",
                chosen.level_as_score,
                scale.id(),
                scale.title(),
                scale.dimensions(),
                scale.levels(),
                scale.bands(),
                scale.describe(),
                scale.is_score()
            ));
        }
        put(&format!("{:?}", self.date_order));
        put(&format!("{:?}", self.default_standard));
        put(&format!("{:?}", self.mappings.hs_clauses()));
        for map in self.mappings.standards() {
            put(&format!(
                "{:?} {} {} {:?}",
                map.standard(),
                map.designation(),
                map.title(),
                map.clauses()
            ));
        }
        h.finalize().into()
    }

    /// The id a row's record has and a hash of the row with the sheet's mapping context,
    /// without mapping it: a row whose hash is the one stored with its record maps to that
    /// record again, so an import can take it as unchanged unmapped. `None` for rows whose id
    /// takes mapping to know (an empty or error id cell, clause-keyed sheets) and CSV lines
    /// the mapping rejects outright; those are always mapped.
    pub fn source_key(&self, row: &Row) -> Option<SourceKey> {
        if self.source.sheet.is_none() && !self.fits_header(row) {
            return None;
        }
        // The same external id as `RowContext::build` finds.
        let external_id = match self.fields.get(&Field::ExternalId) {
            Some(column) => plain_text(row.cells.get(column.index)?)?,
            None if is_keyed_by_clause(self.kind, &self.fields) => return None,
            None => format!("row {}", row.number),
        };
        let id = RecordId::from_source(&self.source.system, self.kind, &external_id);
        // Gathered first and hashed in one call: fed to the hasher piece by piece, the many
        // small pieces cost more than the hashing.
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&self.context);
        bytes.extend_from_slice(id.0.as_bytes());
        bytes.extend_from_slice(&(row.cells.len() as u64).to_le_bytes());
        for cell in &row.cells {
            put_cell(&mut bytes, cell);
        }
        let digest = Sha256::digest(&bytes);
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&digest[..16]);
        Some(SourceKey { id, hash })
    }

    /// A CSV record with another field count than its header has lost its alignment.
    fn fits_header(&self, row: &Row) -> bool {
        row.cells.len() >= self.column_count
            && row.cells.iter().skip(self.column_count).all(Cell::is_blank)
    }

    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// Warnings about the sheet as a whole (missing id column, unknown scales).
    pub fn warnings(&self) -> &[Issue] {
        &self.warnings
    }

    /// The row of the header (its last row for two-row headers).
    pub fn header_row(&self) -> u32 {
        self.header_row
    }

    /// The cell holding a row's id (its first mapped cell when the sheet has no id column).
    pub fn id_location(&self, row: u32) -> Location {
        let column = self
            .fields
            .get(&Field::ExternalId)
            .map(|c| c.index)
            .or_else(|| self.fields.values().map(|c| c.index).min());
        self.location(row, column)
    }

    /// The location of a whole row of this sheet.
    pub fn row_location(&self, row: u32) -> Location {
        self.location(row, None)
    }

    fn location(&self, row: u32, column: Option<usize>) -> Location {
        Location {
            file: self.source.file_name.clone(),
            sheet: self.source.sheet.clone(),
            row,
            column,
        }
    }

    /// Maps one data row.
    pub fn map_row(&self, row: &Row) -> MappedRow {
        if row
            .cells
            .iter()
            .all(|c| matches!(c, Cell::Empty) || matches!(c, Cell::Text(t) if t.trim().is_empty()))
        {
            return MappedRow::Blank;
        }
        // A CSV record with another field count than its header has lost its alignment (a
        // stray delimiter, an unclosed quote): mapping its cells by position would put values
        // in the wrong fields, so it is rejected. Workbook rows simply end at their last cell.
        let is_csv = self.source.sheet.is_none();
        if is_csv && !self.fits_header(row) {
            return MappedRow::Rejected {
                reason: Issue {
                    location: self.row_location(row.number),
                    message: format!(
                        "this line has {} fields but the header has {} columns: a stray delimiter or quote? \
                         The row was not imported",
                        row.cells.len(),
                        self.column_count
                    ),
                },
                warnings: Vec::new(),
            };
        }
        let mut cx = RowContext {
            mapper: self,
            row,
            warnings: Vec::new(),
            unrated: Vec::new(),
        };
        match cx.build() {
            Ok(record) => MappedRow::Record {
                record: Box::new(record),
                warnings: cx.warnings,
            },
            Err(reason) => MappedRow::Rejected {
                reason,
                warnings: cx.warnings,
            },
        }
    }
}

/// The scale that reads every sample, if any. A score column written in level words is read
/// with the likelihood word scales (see [`ChosenScale`]).
fn detect<'a>(
    mappings: &'a Mappings,
    dimension: Dimension,
    samples: &[String],
) -> Option<ChosenScale<'a>> {
    if samples.is_empty() {
        return None;
    }
    let refs: Vec<&str> = samples.iter().map(String::as_str).collect();
    if let Some(scale) = mappings.detect_scale(dimension, &refs) {
        return Some(ChosenScale {
            scale,
            level_as_score: false,
        });
    }
    if dimension == Dimension::Score {
        return mappings
            .detect_scale(Dimension::Likelihood, &refs)
            .map(|scale| ChosenScale {
                scale,
                level_as_score: true,
            });
    }
    None
}

/// Requirement assessments and SoA lines are naturally keyed by their clause.
fn is_keyed_by_clause(kind: RecordKind, fields: &BTreeMap<Field, FieldColumn>) -> bool {
    matches!(
        kind,
        RecordKind::RequirementAssessment | RecordKind::Control
    ) && fields.contains_key(&Field::Clauses)
}

/// A header that names a standard and a reference word ("ISO 42001 Ref", "27001 Clause",
/// "ISO/IEC 42001 Control") is a clause column of that standard, whatever the alias list says.
fn clause_column(header: &str) -> Option<Field> {
    let folded = imsbridge_model::normalise_word(header);
    let words = [
        "ref",
        "reference",
        "clause",
        "control",
        "requirement",
        "annex",
        "section",
        "mapping",
    ];
    let has_word = folded
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| words.contains(&w));
    (has_word && standard_in_header(header).is_some()).then_some(Field::Clauses)
}

/// "ISO 42001 Ref" → ISO/IEC 42001; "Annex A Control" → none.
fn standard_in_header(header: &str) -> Option<StandardId> {
    let words: Vec<&str> = header
        .split(|c: char| c.is_whitespace() || c == '/' || c == '(' || c == ')')
        .collect();
    words
        .iter()
        .enumerate()
        .find_map(|(i, _)| StandardId::split_prefix(&words[i..].join(" ")).map(|(id, _, _)| id))
}

fn rating_fields() -> [(Field, Dimension); 9] {
    [
        (Field::Likelihood, Dimension::Likelihood),
        (Field::Impact, Dimension::Impact),
        (Field::Score, Dimension::Score),
        (Field::InherentLikelihood, Dimension::Likelihood),
        (Field::InherentImpact, Dimension::Impact),
        (Field::InherentScore, Dimension::Score),
        (Field::ResidualLikelihood, Dimension::Likelihood),
        (Field::ResidualImpact, Dimension::Impact),
        (Field::ResidualScore, Dimension::Score),
    ]
}

fn date_fields() -> [Field; 5] {
    [
        Field::IdentifiedDate,
        Field::DueDate,
        Field::ClosedDate,
        Field::ReviewedDate,
        Field::NextReviewDate,
    ]
}

/// A cell's value as fields read it: trimmed, `None` when empty; error cells have none.
fn plain_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Error(_) => None,
        // Most text cells need no trimming: take them as they are, without a second copy.
        Cell::Text(t) if t.len() == t.trim().len() => (!t.is_empty()).then(|| t.clone()),
        cell => {
            let text = cell_text(cell);
            let trimmed = text.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_string())
        }
    }
}

/// Adds a cell to what a source hash is taken of: its type and exact value, since the
/// mapping reads more than the text (a date cell and the same date as text are parsed
/// differently). Texts are length-prefixed, so that no two rows give the same bytes.
fn put_cell(out: &mut Vec<u8>, cell: &Cell) {
    let mut text = |tag: u8, t: &str| {
        out.push(tag);
        out.extend_from_slice(&(t.len() as u64).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    };
    match cell {
        Cell::Empty => out.push(0),
        Cell::Text(t) => text(1, t),
        Cell::Error(e) => text(2, e),
        Cell::Number(n) => {
            out.push(3);
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        Cell::Bool(b) => out.extend_from_slice(&[4, u8::from(*b)]),
        Cell::DateTime(dt) => {
            let at = dt.and_utc();
            out.push(5);
            out.extend_from_slice(&at.timestamp().to_le_bytes());
            out.extend_from_slice(&at.timestamp_subsec_nanos().to_le_bytes());
        }
    }
}

/// A cell as text: whole numbers without ".0", dates as ISO dates.
pub fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Number(n) => format_number(*n),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Cell::DateTime(dt) => {
            if dt.time() == chrono::NaiveTime::MIN {
                dt.date().to_string()
            } else {
                dt.to_string()
            }
        }
        Cell::Error(e) => e.clone(),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The state of mapping one row; collects warnings as it goes.
struct RowContext<'m, 'a> {
    mapper: &'m SheetMapper<'a>,
    row: &'m Row,
    warnings: Vec<Issue>,
    /// Rating cells no scale reads: (header, value), kept in `extra`.
    unrated: Vec<(String, String)>,
}

impl RowContext<'_, '_> {
    fn cell(&self, index: usize) -> &Cell {
        self.row.cells.get(index).unwrap_or(&Cell::Empty)
    }

    fn loc(&self, column: usize) -> Location {
        self.mapper.location(self.row.number, Some(column))
    }

    fn reject(&self, column: usize, message: String) -> Issue {
        Issue {
            location: self.loc(column),
            message,
        }
    }

    /// The text of a field's cell, `None` when empty. A formula error is a warning and reads as
    /// empty; an over-long cell rejects the row (the reader turned it into an error cell).
    fn text(&mut self, field: Field) -> Result<Option<String>, Issue> {
        let Some(column) = self.mapper.fields.get(&field) else {
            return Ok(None);
        };
        let index = column.index;
        self.text_at(index)
    }

    fn text_at(&mut self, index: usize) -> Result<Option<String>, Issue> {
        match self.cell(index) {
            Cell::Error(e) if is_formula_error(e) => {
                self.warnings.push(Issue {
                    location: self.loc(index),
                    message: format!("formula error {e}: the cell is read as empty"),
                });
                Ok(None)
            }
            Cell::Error(e) => Err(self.reject(index, e.clone())),
            cell => Ok(plain_text(cell)),
        }
    }

    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: Field,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Issue> {
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        let index = self
            .mapper
            .fields
            .get(&field)
            .map(|c| c.index)
            .unwrap_or_default();
        parse(&text)
            .map(Some)
            .map_err(|e| self.reject(index, e.to_string()))
    }

    fn date(&mut self, field: Field) -> Result<Option<NaiveDate>, Issue> {
        let Some(column) = self.mapper.fields.get(&field) else {
            return Ok(None);
        };
        let index = column.index;
        let cell = self.cell(index).clone();
        match &cell {
            Cell::Empty => Ok(None),
            Cell::Text(t) if t.trim().is_empty() => Ok(None),
            Cell::Error(e) if is_formula_error(e) => {
                self.warnings.push(Issue {
                    location: self.loc(index),
                    message: format!("formula error {e}: the date is read as empty"),
                });
                Ok(None)
            }
            _ => parse_date(&cell, self.mapper.date_order)
                .map(Some)
                .map_err(|e| {
                    self.reject(
                        index,
                        format!("{} ({:?}): {e}", column.header, cell_text(&cell)),
                    )
                }),
        }
    }

    fn rating(&mut self, field: Field) -> Result<Option<ScaleValue>, Issue> {
        let Some(column) = self.mapper.fields.get(&field) else {
            return Ok(None);
        };
        let index = column.index;
        let Some(text) = self.text_at(index)? else {
            return Ok(None);
        };
        let Some(chosen) = self.mapper.scales.get(&field) else {
            // No scale reads this column (the sheet was warned about once): the value is kept
            // as written in `extra` rather than guessed at.
            self.unrated.push((column.header.clone(), text));
            return Ok(None);
        };
        let scale = chosen.scale;
        match chosen.read(&text) {
            Some((value, normalised)) => Ok(Some(ScaleValue {
                raw: text,
                scale: scale.id().to_string(),
                value,
                normalised,
            })),
            None => Err(self.reject(
                index,
                format!(
                    "{} {text:?} is not on the {} scale ({}) detected for this column; fix the value or declare the scale in a profile",
                    column.header,
                    scale.id(),
                    scale.describe()
                ),
            )),
        }
    }

    fn build(&mut self) -> Result<Record, Issue> {
        let mapper = self.mapper;
        let kind = mapper.kind;
        let first_column = mapper
            .fields
            .values()
            .map(|c| c.index)
            .min()
            .unwrap_or_default();

        // Clauses first: assessments and SoA lines may take their id and title from them.
        let row_standard = match self.text(Field::Standard)? {
            Some(text) => {
                let index = mapper
                    .fields
                    .get(&Field::Standard)
                    .map(|c| c.index)
                    .unwrap_or_default();
                Some(
                    text.parse::<StandardId>()
                        .map_err(|e| self.reject(index, e.to_string()))?,
                )
            }
            None => None,
        };
        let default_standard = row_standard.or(mapper.default_standard);
        let mut clauses = Vec::new();
        if let Some(text) = self.text(Field::Clauses)? {
            let index = mapper
                .fields
                .get(&Field::Clauses)
                .map(|c| c.index)
                .unwrap_or_default();
            clauses = self.clause_list(&text, default_standard, index)?;
        }

        let external_id = match mapper.fields.get(&Field::ExternalId) {
            Some(column) => {
                let index = column.index;
                match self.text_at(index)? {
                    Some(id) => id,
                    None => {
                        return Err(self.reject(
                            index,
                            format!("the {} cell is empty: every row needs an id so that re-imports update the same record", column.header),
                        ));
                    }
                }
            }
            None if is_keyed_by_clause(kind, &mapper.fields) && !clauses.is_empty() => clauses
                .iter()
                .map(|c| format!("{}:{}", c.standard.key(), c.clause))
                .collect::<Vec<_>>()
                .join("+"),
            None => format!("row {}", self.row.number),
        };
        // A SoA keyed by "Control ID" (A.5.7) references that control even without a clause column.
        if clauses.is_empty()
            && matches!(
                kind,
                RecordKind::Control | RecordKind::RequirementAssessment
            )
        {
            match ClauseRef::parse(&external_id, default_standard) {
                Ok(c) => clauses.push(c),
                Err(imsbridge_model::ModelError::NoStandard(_)) => {
                    let index = mapper
                        .fields
                        .get(&Field::ExternalId)
                        .map(|c| c.index)
                        .unwrap_or(first_column);
                    self.warnings.push(Issue {
                        location: self.loc(index),
                        message: format!(
                            "{external_id:?} looks like a clause or control number but names no standard, so the \
                             record is not linked to any clause: write it as \"27001 {external_id}\", add a Standard \
                             column, or import with --standard"
                        ),
                    });
                }
                Err(_) => {}
            }
        }

        let description = self.text(Field::Description)?;
        let title = match self.text(Field::Title)? {
            Some(t) => t,
            None => match (&description, clauses.first()) {
                (Some(d), _) => first_line(d, 120),
                (None, Some(c)) => match mapper.mappings.clause_title(c) {
                    Some(title) => format!("{} {title}", c),
                    None => c.to_string(),
                },
                (None, None) => {
                    let index = mapper
                        .fields
                        .get(&Field::Title)
                        .map(|c| c.index)
                        .unwrap_or(first_column);
                    return Err(
                        self.reject(index, "the row has no title and no description".to_string())
                    );
                }
            },
        };

        let mut hs: Vec<HsLink> = Vec::new();
        for clause in &clauses {
            match mapper.mappings.hs_links(clause) {
                Ok(links) => hs.extend(links),
                Err(e) => {
                    let index = mapper
                        .fields
                        .get(&Field::Clauses)
                        .or(mapper.fields.get(&Field::ExternalId))
                        .map(|c| c.index)
                        .unwrap_or(first_column);
                    self.warnings.push(Issue {
                        location: self.loc(index),
                        message: e.to_string(),
                    });
                }
            }
        }
        hs.sort();
        hs.dedup();

        let owner = self.text(Field::Owner)?;
        let status = self.text(Field::Status)?.map(|s| Status::from_label(&s));
        let dates = Dates {
            identified: self.date(Field::IdentifiedDate)?,
            due: self.date(Field::DueDate)?,
            closed: self.date(Field::ClosedDate)?,
            reviewed: self.date(Field::ReviewedDate)?,
            next_review: self.date(Field::NextReviewDate)?,
        };

        let details = self.details(kind)?;
        let ai = self.ai_flag(kind, &clauses)?;

        let mut extra: BTreeMap<String, String> = self.unrated.drain(..).collect();
        for column in &mapper.extra_columns {
            if let Some(text) = self.text_at(column.index)? {
                extra.insert(column.header.clone(), text);
            }
        }
        // Cells beyond the header (a row longer than its header) are kept too.
        for index in mapper.column_count..self.row.cells.len() {
            if let Some(text) = self.text_at(index)? {
                extra.insert(format!("Column {}", crate::column_letter(index)), text);
            }
        }

        let id = RecordId::from_source(&mapper.source.system, kind, &external_id);
        let mut record = Record {
            id,
            provenance: Provenance {
                system: mapper.source.system.clone(),
                connector: "spreadsheet".to_string(),
                external_id,
                location: mapper
                    .location(self.row.number, Some(first_column))
                    .to_string(),
                imported_at: mapper.source.imported_at,
                content_hash: String::new(),
            },
            title,
            description,
            owner,
            status,
            dates,
            clauses,
            hs,
            ai,
            details,
            extra,
        };
        record.seal();
        Ok(record)
    }

    fn clause_list(
        &mut self,
        text: &str,
        default: Option<StandardId>,
        index: usize,
    ) -> Result<Vec<ClauseRef>, Issue> {
        let (refs, failed) = ClauseRef::parse_list(text, default);
        let mut unparsed = Vec::new();
        for (part, error) in failed {
            match error {
                // Rejected: a reference to an unmapped edition or without a standard would link
                // the record to the wrong clause, or to none, without anyone noticing.
                imsbridge_model::ModelError::UnsupportedEdition { .. }
                | imsbridge_model::ModelError::NoStandard(_) => {
                    return Err(self.reject(index, error.to_string()));
                }
                other => unparsed.push(format!("{part:?} ({other})")),
            }
        }
        if !unparsed.is_empty() {
            self.warnings.push(Issue {
                location: self.loc(index),
                message: format!(
                    "not a clause reference: {}; the cell is kept as written in the record's extra fields",
                    unparsed.join("; ")
                ),
            });
            if let Some(header) = self
                .mapper
                .fields
                .get(&Field::Clauses)
                .map(|c| c.header.clone())
            {
                self.unrated.push((header, text.to_string()));
            }
        }
        Ok(refs)
    }

    fn details(&mut self, kind: RecordKind) -> Result<Details, Issue> {
        Ok(match kind {
            RecordKind::Risk => {
                let plain = RiskRating {
                    likelihood: self.rating(Field::Likelihood)?,
                    impact: self.rating(Field::Impact)?,
                    score: self.rating(Field::Score)?,
                };
                let inherent = RiskRating {
                    likelihood: self.rating(Field::InherentLikelihood)?,
                    impact: self.rating(Field::InherentImpact)?,
                    score: self.rating(Field::InherentScore)?,
                };
                // Unqualified ratings are the inherent ones unless the sheet also has explicit
                // inherent columns, in which case they describe the current (residual) state.
                let (inherent, residual_default) = if inherent.is_empty() {
                    (plain, RiskRating::default())
                } else {
                    (inherent, plain)
                };
                let residual = RiskRating {
                    likelihood: self.rating(Field::ResidualLikelihood)?,
                    impact: self.rating(Field::ResidualImpact)?,
                    score: self.rating(Field::ResidualScore)?,
                };
                let residual = if residual.is_empty() {
                    residual_default
                } else {
                    residual
                };
                Details::Risk(Box::new(imsbridge_model::RiskDetails {
                    category: self.text(Field::Category)?,
                    inherent,
                    residual,
                    treatment: self.parsed(Field::Treatment, Treatment::parse)?,
                    treatment_plan: self.text(Field::TreatmentPlan)?,
                }))
            }
            RecordKind::Control => Details::Control(imsbridge_model::ControlDetails {
                applicable: self.parsed(Field::Applicable, parse_yes_no)?,
                justification: self.text(Field::Justification)?,
                implementation: self
                    .parsed(Field::ImplementationStatus, ImplementationStatus::parse)?,
                evidence: self.text(Field::Evidence)?,
            }),
            RecordKind::RequirementAssessment => {
                Details::RequirementAssessment(imsbridge_model::RequirementAssessmentDetails {
                    result: self
                        .parsed(Field::Result, Conformity::parse)?
                        .unwrap_or(Conformity::NotAssessed),
                    evidence: self.text(Field::Evidence)?,
                    assessor: self.text(Field::Assessor)?,
                })
            }
            RecordKind::Nonconformity | RecordKind::CorrectiveAction => {
                let nc = imsbridge_model::NonconformityDetails {
                    source: self.text(Field::Source)?,
                    severity: self.text(Field::Severity)?,
                    root_cause: self.text(Field::RootCause)?,
                    correction: self.text(Field::Correction)?,
                    corrective_action: self.text(Field::CorrectiveAction)?,
                    effectiveness: self.text(Field::Effectiveness)?,
                };
                if kind == RecordKind::Nonconformity {
                    Details::Nonconformity(nc)
                } else {
                    Details::CorrectiveAction(nc)
                }
            }
            RecordKind::Incident => Details::Incident(imsbridge_model::IncidentDetails {
                severity: self.text(Field::Severity)?,
                category: self.text(Field::Category)?,
                affected: self.text(Field::Affected)?,
                resolution: self.text(Field::Resolution)?,
            }),
            RecordKind::AuditFinding => {
                Details::AuditFinding(imsbridge_model::AuditFindingDetails {
                    finding_type: self.parsed(Field::FindingType, FindingType::parse)?,
                    audit: self.text(Field::Audit)?,
                    auditor: self.text(Field::Auditor)?,
                    evidence: self.text(Field::Evidence)?,
                })
            }
            RecordKind::Document => Details::Document(imsbridge_model::DocumentDetails {
                document_type: self.text(Field::DocumentType)?,
                version: self.text(Field::Version)?,
                link: self.text(Field::Link)?,
                approver: self.text(Field::Approver)?,
            }),
            RecordKind::Objective => Details::Objective(imsbridge_model::ObjectiveDetails {
                target: self.text(Field::Target)?,
                measure: self.text(Field::Measure)?,
                progress: self.text(Field::Progress)?,
            }),
            RecordKind::AiSystem => Details::AiSystem(imsbridge_model::AiSystemDetails {
                risk_tier: self.parsed(Field::RiskTier, AiRiskTier::parse)?,
                purpose: self.text(Field::Purpose)?,
                role: self.text(Field::Role)?,
                lifecycle_stage: self.text(Field::LifecycleStage)?,
                model_type: self.text(Field::ModelType)?,
            }),
        })
    }

    /// AI flag: an explicit yes/no column wins; otherwise AI categories, 42001 clause
    /// references or an AI-system column mark the record, and the reason says which.
    fn ai_flag(&mut self, kind: RecordKind, clauses: &[ClauseRef]) -> Result<AiFlag, Issue> {
        let mut categories = Vec::new();
        if let Some(text) = self.text(Field::AiCategory)? {
            let (found, unknown) = AiRiskCategory::parse_list(&text);
            categories = found;
            if !unknown.is_empty() {
                let index = self
                    .mapper
                    .fields
                    .get(&Field::AiCategory)
                    .map(|c| c.index)
                    .unwrap_or_default();
                self.warnings.push(Issue {
                    location: self.loc(index),
                    message: format!(
                        "{} is not an AI risk category (ISO/IEC 42001 Annex C: accountability, ai_expertise, data_quality, environmental_impact, fairness, maintainability, privacy, robustness, safety, security, transparency); kept in the cell text only",
                        unknown.join(", ")
                    ),
                });
            }
        }
        let explicit = self.parsed(Field::AiFlag, parse_yes_no)?;
        let (flagged, reason) = match explicit {
            Some(flag) => (flag, Some("explicit AI column".to_string())),
            None if kind == RecordKind::AiSystem => (true, Some("AI system inventory".to_string())),
            None if !categories.is_empty() => (true, Some("AI risk category".to_string())),
            None => match clauses.iter().find(|c| c.standard == StandardId::Iso42001) {
                Some(c) => (true, Some(format!("references {c}"))),
                None => (false, None),
            },
        };
        Ok(AiFlag {
            flagged,
            categories,
            reason,
        })
    }
}

fn is_formula_error(text: &str) -> bool {
    matches!(
        text,
        "#REF!"
            | "#N/A"
            | "#NAME?"
            | "#NULL!"
            | "#NUM!"
            | "#VALUE!"
            | "#DIV/0!"
            | "#GETTING_DATA"
            | "#SPILL!"
            | "#CALC!"
    )
}

/// A clause number written without its standard ("A.5.1", "9.2"): the model's own reading.
fn names_no_standard(text: &str) -> bool {
    matches!(
        ClauseRef::parse(text, None),
        Err(imsbridge_model::ModelError::NoStandard(_))
    )
}

fn first_line(text: &str, max_chars: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= max_chars {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// Yes/no cells in the spellings registers use.
fn parse_yes_no(raw: &str) -> Result<bool, String> {
    match imsbridge_model::normalise_word(raw).as_str() {
        "yes" | "y" | "true" | "1" | "x" | "ja" | "oui" | "sí" | "si" | "applicable"
        | "included" => Ok(true),
        "no" | "n" | "false" | "0" | "nein" | "non" | "not applicable" | "n/a" | "excluded" => {
            Ok(false)
        }
        _ => Err(format!(
            "{raw:?} is not yes or no: expected Yes/No, Y/N, True/False, 1/0 or X"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;
    use imsbridge_model::{Relationship, TreatmentOption};

    fn header(names: &[&str]) -> Header {
        Header {
            first_row: 3,
            last_row: 3,
            columns: names
                .iter()
                .enumerate()
                .map(|(index, name)| Column {
                    index,
                    letter: crate::column_letter(index),
                    name: name.to_string(),
                })
                .collect(),
        }
    }

    fn row(number: u32, cells: &[&str]) -> Row {
        Row {
            number,
            cells: cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect(),
        }
    }

    fn source(sheet: Option<&str>) -> SheetSource {
        SheetSource {
            file_name: "reg.xlsx".into(),
            sheet: sheet.map(str::to_string),
            system: "reg".into(),
            imported_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default(),
            standard: None,
        }
    }

    const RISK_HEADER: [&str; 9] = [
        "Risk ID",
        "Risk Title",
        "Clause",
        "Inherent Likelihood",
        "Inherent Impact",
        "Residual Likelihood",
        "Residual Impact",
        "Treatment",
        "Due Date",
    ];

    fn risk_rows() -> Vec<Row> {
        vec![
            row(
                4,
                &[
                    "R-1",
                    "Model drift",
                    "42001 6.1.2; A.6.2.4",
                    "5",
                    "4",
                    "2",
                    "3",
                    "Mitigate",
                    "2026-03-31",
                ],
            ),
            row(
                5,
                &[
                    "R-2",
                    "Phishing",
                    "27001 A.6.3",
                    "4",
                    "4",
                    "1",
                    "2",
                    "Accept",
                    "31.12.2026",
                ],
            ),
        ]
    }

    fn record(mapped: MappedRow) -> Record {
        match mapped {
            MappedRow::Record { record, .. } => *record,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    /// Plans a sheet of `reg.xlsx` with the built-in profile.
    fn plan<'a>(
        m: &'a Mappings,
        sheet: Option<&str>,
        names: &[&str],
        rows: &[Row],
    ) -> SheetMapper<'a> {
        SheetMapper::plan(
            m,
            m.default_profile(),
            source(sheet),
            &header(names),
            None,
            rows,
        )
        .unwrap()
    }

    fn rejection(mapped: MappedRow) -> Issue {
        match mapped {
            MappedRow::Rejected { reason, .. } => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn maps_a_risk_row_with_shared_scales_clauses_and_ai_flag() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let mapper = plan(&m, Some("Risks"), &RISK_HEADER, &rows);
        assert_eq!(mapper.kind(), RecordKind::Risk);
        let r = record(mapper.map_row(&rows[0]));
        assert_eq!(r.provenance.external_id, "R-1");
        assert_eq!(r.provenance.location, "reg.xlsx!Risks!A4");
        assert_eq!(r.id, RecordId::from_source("reg", RecordKind::Risk, "R-1"));
        let Details::Risk(risk) = &r.details else {
            panic!("not a risk")
        };
        // The residual columns only hold 1–3 but share the 1–5 scale of the inherent ones.
        let residual = risk.residual.likelihood.as_ref().unwrap();
        assert_eq!(
            (residual.scale.as_str(), residual.value, residual.normalised),
            ("1-5", 2.0, 2.0)
        );
        assert_eq!(risk.inherent.normalised_score(), Some(20.0));
        assert_eq!(
            risk.treatment.as_ref().map(|t| t.option),
            Some(TreatmentOption::Modify)
        );
        assert_eq!(r.dates.due, NaiveDate::from_ymd_opt(2026, 3, 31));
        assert_eq!(
            r.clauses,
            vec![
                ClauseRef::new(StandardId::Iso42001, "6.1.2"),
                ClauseRef::new(StandardId::Iso42001, "A.6.2.4")
            ]
        );
        assert!(
            r.hs.iter()
                .all(|l| l.clause == "6.1" && l.relationship == Relationship::Intersects)
        );
        assert!(
            r.ai.flagged,
            "a 42001 reference flags the risk as AI-related"
        );
        assert_eq!(r.provenance.content_hash, r.compute_content_hash());

        let r2 = record(mapper.map_row(&rows[1]));
        assert!(!r2.ai.flagged);
        assert_eq!(
            r2.dates.due,
            NaiveDate::from_ymd_opt(2026, 12, 31),
            "dotted dates are day-first"
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_cell() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let mapper = plan(&m, Some("Risks"), &RISK_HEADER, &rows);
        let cases = [
            (
                vec!["R-3", "x", "", "9", "1", "", "", "", ""],
                "reg.xlsx!Risks!D6",
                "scale",
            ),
            (
                vec!["R-3", "x", "", "1", "1", "", "", "ignore", ""],
                "reg.xlsx!Risks!H6",
                "treatment",
            ),
            (
                vec!["R-3", "x", "", "1", "1", "", "", "", "32.13.2026"],
                "reg.xlsx!Risks!I6",
                "32.13.2026",
            ),
            (
                vec!["", "x", "", "1", "1", "", "", "", ""],
                "reg.xlsx!Risks!A6",
                "empty",
            ),
            (
                vec![
                    "R-3",
                    "x",
                    "ISO/IEC 27001:2013 A.9.2",
                    "1",
                    "1",
                    "",
                    "",
                    "",
                    "",
                ],
                "reg.xlsx!Risks!C6",
                "2013",
            ),
        ];
        for (cells, location, fragment) in cases {
            let issue = rejection(mapper.map_row(&row(6, &cells)));
            assert_eq!(issue.location.to_string(), location, "{cells:?}");
            assert!(
                issue.message.contains(fragment),
                "{}: {}",
                fragment,
                issue.message
            );
        }
    }

    #[test]
    fn keeps_unmapped_columns_and_formula_errors_as_warnings() {
        let m = Mappings::embedded().unwrap();
        let names = ["Ref", "Title", "Likelihood", "Impact", "Comment"];
        let rows = vec![row(4, &["R-1", "Outage", "3", "2", "see minutes"])];
        let mapper = plan(&m, Some("S"), &names, &rows);
        let r = record(mapper.map_row(&rows[0]));
        assert_eq!(
            r.extra.get("Comment").map(String::as_str),
            Some("see minutes")
        );
        let mut with_error = row(5, &["R-2", "Flood", "3", "2", ""]);
        with_error.cells[3] = Cell::Error("#REF!".into());
        match mapper.map_row(&with_error) {
            MappedRow::Record { record, warnings } => {
                let Details::Risk(risk) = &record.details else {
                    panic!()
                };
                assert!(risk.inherent.impact.is_none());
                assert_eq!(warnings[0].location.to_string(), "reg.xlsx!S!D5");
                assert!(warnings[0].message.contains("#REF!"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn soa_and_assessment_sheets_are_keyed_by_their_clause() {
        let m = Mappings::embedded().unwrap();
        let names = ["Standard", "Clause", "Result", "Evidence"];
        let rows = vec![row(
            2,
            &[
                "ISO 9001:2015",
                "10.3",
                "Partially conforming",
                "KPI review",
            ],
        )];
        let mapper = plan(&m, Some("Assessment"), &names, &rows);
        assert_eq!(mapper.kind(), RecordKind::RequirementAssessment);
        let r = record(mapper.map_row(&rows[0]));
        assert_eq!(r.provenance.external_id, "iso9001:10.3");
        assert_eq!(r.title, "ISO 9001:2015 10.3 Continual improvement");
        assert!(r.hs.iter().any(|l| l.clause == "10.1"));
        let Details::RequirementAssessment(a) = &r.details else {
            panic!()
        };
        assert_eq!(a.result, Conformity::PartiallyConforming);
    }

    #[test]
    fn a_sheet_of_unknown_kind_is_refused_with_its_headers() {
        let m = Mappings::embedded().unwrap();
        let names = ["Name", "Phone", "Room"];
        let err = SheetMapper::plan(
            &m,
            m.default_profile(),
            source(Some("Staff")),
            &header(&names),
            None,
            &[],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("reg.xlsx!Staff") && text.contains("--kind"),
            "{text}"
        );
    }

    #[test]
    fn csv_lines_with_another_field_count_are_rejected() {
        let m = Mappings::embedded().unwrap();
        let names = ["ID", "Title", "Likelihood", "Impact"];
        let rows = vec![row(2, &["R-1", "Outage", "3", "2"])];
        let mapper = plan(&m, None, &names, &rows);
        let issue = rejection(mapper.map_row(&row(3, &["R-2;Flood;3;2"])));
        assert_eq!(issue.location.to_string(), "reg.xlsx!3");
        assert!(
            issue.message.contains("1 fields but the header has 4"),
            "{}",
            issue.message
        );
        // Trailing empty fields (a trailing delimiter) are harmless.
        assert!(matches!(
            mapper.map_row(&row(4, &["R-3", "Fire", "1", "1", ""])),
            MappedRow::Record { .. }
        ));
    }

    /// The key a row would have, and the record it maps to, for the same row.
    fn key_and_record(mapper: &SheetMapper<'_>, r: &Row) -> (SourceKey, Record) {
        (mapper.source_key(r).unwrap(), record(mapper.map_row(r)))
    }

    #[test]
    fn a_source_key_names_the_record_the_row_maps_to() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let mapper = plan(&m, Some("Risks"), &RISK_HEADER, &rows);
        for r in &rows {
            let (key, mapped) = key_and_record(&mapper, r);
            assert_eq!(key.id, mapped.id);
        }
        // Ids as workbooks hold them: padded text, numbers.
        let mut padded = rows[0].clone();
        padded.cells[0] = Cell::Text("  R-1 ".into());
        let (key, mapped) = key_and_record(&mapper, &padded);
        assert_eq!((key.id, mapped.id), (mapped.id, rows_id(&mapper, "R-1")));
        let mut numeric = rows[0].clone();
        numeric.cells[0] = Cell::Number(42.0);
        let (key, mapped) = key_and_record(&mapper, &numeric);
        assert_eq!(
            (key.id, mapped.provenance.external_id.as_str()),
            (mapped.id, "42")
        );

        // Without an ID column a record is its row.
        let names = ["Risk Title", "Likelihood", "Impact"];
        let plain = [row(4, &["Fire", "1", "2"]), row(5, &["Flood", "3", "3"])];
        let mapper = plan(&m, Some("Risks"), &names, &plain);
        let (key, mapped) = key_and_record(&mapper, &plain[1]);
        assert_eq!(key.id, mapped.id);
        assert_eq!(mapped.provenance.external_id, "row 5");
        let moved = Row {
            number: 6,
            ..plain[1].clone()
        };
        assert_ne!(mapper.source_key(&moved).unwrap(), key);
    }

    fn rows_id(mapper: &SheetMapper<'_>, external_id: &str) -> RecordId {
        RecordId::from_source(&mapper.source.system, mapper.kind, external_id)
    }

    #[test]
    fn a_source_key_changes_with_the_cells_but_not_with_the_row_number() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let mapper = plan(&m, Some("Risks"), &RISK_HEADER, &rows);
        let key = mapper.source_key(&rows[0]).unwrap();
        assert_eq!(mapper.source_key(&rows[0].clone()).unwrap(), key);
        let moved = Row {
            number: 99,
            ..rows[0].clone()
        };
        assert_eq!(
            mapper.source_key(&moved).unwrap(),
            key,
            "rows move; ids stay"
        );
        let mut edited = rows[0].clone();
        edited.cells[1] = Cell::Text("Model drift!".into());
        assert_ne!(mapper.source_key(&edited).unwrap().hash, key.hash);
        // The same digits as a number and as text are read differently (dates, scales).
        let mut as_number = rows[0].clone();
        as_number.cells[3] = Cell::Number(5.0);
        assert_ne!(mapper.source_key(&as_number).unwrap().hash, key.hash);
        // A cell that moves to the next column is another row.
        let mut shifted = rows[0].clone();
        shifted.cells.insert(1, Cell::Empty);
        assert_ne!(mapper.source_key(&shifted).unwrap().hash, key.hash);
    }

    #[test]
    fn a_source_key_changes_with_the_mapping_context() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let key = |mapper: SheetMapper<'_>| mapper.source_key(&rows[0]).unwrap();
        let base = key(plan(&m, Some("Risks"), &RISK_HEADER, &rows));
        assert_eq!(key(plan(&m, Some("Risks"), &RISK_HEADER, &rows)), base);
        // Where the sheet is does not matter; what it is mapped with does.
        assert_eq!(
            key(plan(&m, Some("Other sheet"), &RISK_HEADER, &rows)),
            base
        );
        let with = |source: SheetSource, names: &[&str], kind: Option<RecordKind>| {
            key(
                SheetMapper::plan(&m, m.default_profile(), source, &header(names), kind, &rows)
                    .unwrap(),
            )
        };
        let standard = SheetSource {
            standard: Some(StandardId::Iso9001),
            ..source(Some("Risks"))
        };
        assert_ne!(with(standard, &RISK_HEADER, None).hash, base.hash);
        let system = SheetSource {
            system: "other".into(),
            ..source(Some("Risks"))
        };
        assert_ne!(with(system, &RISK_HEADER, None), base);
        let mut renamed = RISK_HEADER;
        renamed[7] = "Risk Treatment Notes";
        assert_ne!(with(source(Some("Risks")), &renamed, None).hash, base.hash);
        assert_ne!(
            with(
                source(Some("Risks")),
                &RISK_HEADER,
                Some(RecordKind::Incident)
            ),
            base
        );

        // Mapping files: a scale that reads one more word.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scales")).unwrap();
        let scale = include_str!("../../../mappings/scales/1-5.toml").replacen(
            "\"rare\",",
            "\"rare\", \"hardly ever\",",
            1,
        );
        std::fs::write(dir.path().join("scales/1-5.toml"), scale).unwrap();
        let other = Mappings::load(Some(dir.path())).unwrap();
        assert_ne!(
            key(plan(&other, Some("Risks"), &RISK_HEADER, &rows)).hash,
            base.hash
        );
    }

    #[test]
    fn rows_whose_id_takes_mapping_have_no_source_key() {
        let m = Mappings::embedded().unwrap();
        let rows = risk_rows();
        let mapper = plan(&m, Some("Risks"), &RISK_HEADER, &rows);
        let mut empty = rows[0].clone();
        empty.cells[0] = Cell::Text("  ".into());
        assert_eq!(mapper.source_key(&empty), None);
        let mut error = rows[0].clone();
        error.cells[0] = Cell::Error("#REF!".into());
        assert_eq!(mapper.source_key(&error), None);
        // A CSV line that lost its alignment is rejected by the mapping, not recognised.
        let csv = plan(&m, None, &RISK_HEADER, &rows);
        let mut short = rows[0].clone();
        short.cells.truncate(5);
        assert_eq!(csv.source_key(&short), None);
        assert!(csv.source_key(&rows[0]).is_some());
    }
}
