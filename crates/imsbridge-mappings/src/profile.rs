//! Column profiles: which spreadsheet headers mean which canonical field, which fields tell a
//! register's kind, which sheets to skip — built in (`mappings/profiles/default.toml`) and
//! overridden by a user's profile file of the same shape.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use imsbridge_model::{RecordKind, StandardId};
use serde::{Deserialize, Serialize};

use crate::clauses::parse_toml;
use crate::files::{self, DEFAULT_PROFILE, SourceFile};
use crate::fold::{fold, strip_hint};
use crate::{Dimension, Field, MappingsError};

/// How to read an ambiguous date such as 03/04/2024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateOrder {
    /// 03/04/2024 is 3 April.
    DayFirst,
    /// 03/04/2024 is 4 March.
    MonthFirst,
}

impl DateOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::DayFirst => "day-first",
            DateOrder::MonthFirst => "month-first",
        }
    }
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DateOrder {
    type Err = String;

    /// Accepts `day-first` / `month-first` and the usual shorthands (`dmy`, `dd/mm/yyyy`,
    /// `mdy`, `mm/dd/yyyy`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match fold(s).replace(' ', "").as_str() {
            "dayfirst" | "dmy" | "ddmmyyyy" | "ddmm" => Ok(DateOrder::DayFirst),
            "monthfirst" | "mdy" | "mmddyyyy" | "mmdd" => Ok(DateOrder::MonthFirst),
            _ => Err(format!(
                "{s:?} is not a date order: expected \"day-first\" or \"month-first\""
            )),
        }
    }
}

/// A column profile. Build one with [`Profile::default_profile`] (or take the one of
/// [`crate::Mappings::default_profile`], which honours an override folder), and lay a user's
/// profile over it with [`Profile::merged_with`].
#[derive(Debug, Clone)]
pub struct Profile {
    /// The files this profile was read from, highest precedence first.
    sources: Vec<String>,
    /// Alias tables, highest precedence first.
    layers: Vec<AliasLayer>,
    kind: Option<RecordKind>,
    standard: Option<StandardId>,
    sheet: Option<String>,
    scales: BTreeMap<Dimension, ScaleChoice>,
    date_order: Option<DateOrder>,
    signals: BTreeMap<RecordKind, Vec<Field>>,
    /// Folded sheet names.
    skip_sheets: Vec<String>,
    /// Folded qualifier phrases, longest first so "inherent risk" wins over "inherent".
    inherent: Vec<String>,
    residual: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct AliasLayer {
    /// Folded header → field.
    general: HashMap<String, Field>,
    per_kind: HashMap<RecordKind, HashMap<String, Field>>,
}

/// A scale a profile fixes for a dimension, and the file that said so (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScaleChoice {
    pub id: String,
    pub file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    standard: Option<String>,
    #[serde(default)]
    sheet: Option<String>,
    #[serde(default)]
    date_order: Option<String>,
    #[serde(default)]
    scales: ScalesFile,
    #[serde(default)]
    skip_sheets: Vec<String>,
    #[serde(default)]
    qualifiers: QualifiersFile,
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    kind_aliases: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    signals: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScalesFile {
    #[serde(default)]
    likelihood: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    score: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct QualifiersFile {
    #[serde(default)]
    inherent: Vec<String>,
    #[serde(default)]
    residual: Vec<String>,
}

/// The keys a header is looked up by: folded as written, then without a trailing hint such as
/// "(1-5)". None for a header that folds to nothing.
fn header_keys(header: &str) -> impl Iterator<Item = String> {
    let full = fold(header);
    let stripped = strip_hint(header)
        .map(fold)
        .filter(|s| !s.is_empty() && *s != full);
    let full = (!full.is_empty()).then_some(full);
    // A header that folds to nothing has no keys at all, not even its stripped form.
    let stripped = full.as_ref().and(stripped);
    full.into_iter().chain(stripped)
}

/// Longer cells are never taken for header names.
const MAX_HEADER_BYTES: usize = 120;

impl Profile {
    /// The built-in profile (`mappings/profiles/default.toml` as embedded at build time).
    pub fn default_profile() -> Result<Profile, MappingsError> {
        let (rel, text) = DEFAULT_PROFILE;
        Profile::parse(text, &files::embedded_label(rel))
    }

    /// Reads a profile file. On its own it holds only what the file says; lay it over the
    /// defaults with [`Profile::merged_with`].
    pub fn load(path: &Path) -> Result<Profile, MappingsError> {
        let src = files::read(path)?;
        Profile::from_source(&src)
    }

    /// Parses profile TOML; `file` names it in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Profile, MappingsError> {
        Profile::from_source(&SourceFile {
            label: file.to_string(),
            text: text.to_string(),
        })
    }

    pub(crate) fn from_source(src: &SourceFile) -> Result<Profile, MappingsError> {
        let raw: ProfileFile = parse_toml(src)?;
        let file = src.label.as_str();
        let bad = |key: &str, value: &str, expected: String| MappingsError::BadValue {
            file: file.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            expected,
        };
        let kind_names = RecordKind::ALL_NAMES.join(", ");
        let parse_kind = |key: &str, value: &str| {
            value
                .parse::<RecordKind>()
                .map_err(|_| bad(key, value, format!("a record kind: one of {kind_names}")))
        };

        let kind = raw
            .kind
            .as_deref()
            .map(|k| parse_kind("kind", k))
            .transpose()?;
        let standard = raw
            .standard
            .as_deref()
            .map(|s| {
                s.parse::<StandardId>().map_err(|_| {
                    bad(
                        "standard",
                        s,
                        format!(
                            "a standard: one of {}",
                            StandardId::ALL.map(StandardId::key).join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        let date_order = raw
            .date_order
            .as_deref()
            .map(|d| {
                d.parse::<DateOrder>()
                    .map_err(|_| bad("date_order", d, "\"day-first\" or \"month-first\"".into()))
            })
            .transpose()?;
        let sheet = match raw.sheet {
            Some(s) if s.trim().is_empty() => {
                return Err(bad("sheet", &s, "the name of a sheet".into()));
            }
            other => other.map(|s| s.trim().to_string()),
        };

        let mut scales = BTreeMap::new();
        for (dimension, id) in [
            (Dimension::Likelihood, raw.scales.likelihood),
            (Dimension::Impact, raw.scales.impact),
            (Dimension::Score, raw.scales.score),
        ] {
            let Some(id) = id else { continue };
            if id.trim().is_empty() {
                return Err(bad(
                    &format!("scales.{dimension}"),
                    &id,
                    "a scale id such as \"1-5\"".into(),
                ));
            }
            scales.insert(
                dimension,
                ScaleChoice {
                    id: id.trim().to_string(),
                    file: file.to_string(),
                },
            );
        }

        let mut layer = AliasLayer {
            general: alias_table(file, "aliases", &raw.aliases)?,
            per_kind: HashMap::new(),
        };
        for (kind_name, table) in &raw.kind_aliases {
            let key = format!("kind_aliases.{kind_name}");
            let kind = parse_kind(&key, kind_name)?;
            layer.per_kind.insert(kind, alias_table(file, &key, table)?);
        }

        let mut signals = BTreeMap::new();
        for (kind_name, names) in &raw.signals {
            let key = format!("signals.{kind_name}");
            let kind = parse_kind(&key, kind_name)?;
            let mut fields = Vec::new();
            for name in names {
                let field = parse_field(file, &key, name)?;
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
            signals.insert(kind, fields);
        }

        let skip_sheets = folded_list(&raw.skip_sheets);
        let inherent = phrases(&raw.qualifiers.inherent);
        let residual = phrases(&raw.qualifiers.residual);

        Ok(Profile {
            sources: vec![file.to_string()],
            layers: vec![layer],
            kind,
            standard,
            sheet,
            scales,
            date_order,
            signals,
            skip_sheets,
            inherent,
            residual,
        })
    }

    /// This profile with `user` laid over it: the user's aliases are tried first (kind-specific,
    /// then general, then this profile's), their kind, standard, sheet, date order and scales
    /// replace these, their signal list for a kind replaces this one's for that kind, and skipped
    /// sheet names and qualifiers add to these.
    pub fn merged_with(&self, user: &Profile) -> Profile {
        let mut scales = self.scales.clone();
        scales.extend(user.scales.clone());
        let mut signals = self.signals.clone();
        signals.extend(user.signals.clone());
        let union = |a: &[String], b: &[String]| {
            let mut all = a.to_vec();
            all.extend(b.iter().filter(|x| !a.contains(x)).cloned());
            all
        };
        let mut inherent = union(&self.inherent, &user.inherent);
        let mut residual = union(&self.residual, &user.residual);
        longest_first(&mut inherent);
        longest_first(&mut residual);
        Profile {
            sources: user.sources.iter().chain(&self.sources).cloned().collect(),
            layers: user.layers.iter().chain(&self.layers).cloned().collect(),
            kind: user.kind.or(self.kind),
            standard: user.standard.or(self.standard),
            sheet: user.sheet.clone().or_else(|| self.sheet.clone()),
            scales,
            date_order: user.date_order.or(self.date_order),
            signals,
            skip_sheets: union(&self.skip_sheets, &user.skip_sheets),
            inherent,
            residual,
        }
    }

    /// The files this profile was read from, highest precedence first.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The record kind the profile fixes, if any.
    pub fn kind(&self) -> Option<RecordKind> {
        self.kind
    }

    /// The standard a bare clause number belongs to, if the profile fixes one.
    pub fn standard(&self) -> Option<StandardId> {
        self.standard
    }

    /// The sheet to read, if the profile names one.
    pub fn sheet(&self) -> Option<&str> {
        self.sheet.as_deref()
    }

    /// The id of the scale the profile fixes for a dimension. Check the ids exist with
    /// [`crate::Mappings::check_profile`].
    pub fn scale_for(&self, dimension: Dimension) -> Option<&str> {
        self.scales.get(&dimension).map(|c| c.id.as_str())
    }

    pub(crate) fn scale_choices(&self) -> impl Iterator<Item = (Dimension, &ScaleChoice)> {
        self.scales.iter().map(|(d, c)| (*d, c))
    }

    pub fn date_order(&self) -> Option<DateOrder> {
        self.date_order
    }

    /// The field a header means, on a sheet of `kind` if known.
    ///
    /// Headers are folded first (case, accents, punctuation, spacing; a trailing `*` or `?`),
    /// then looked up as written and, failing that, without a trailing hint such as "(1-5)" or
    /// "%". At each step a header that is a likelihood, impact or score header with an
    /// inherent or residual qualifier before or after it ("Inherent Risk Likelihood",
    /// "Impact (residual)") gives the qualified field. Kind-specific aliases apply only when
    /// `kind` is given: match once without a kind, infer the kind from the fields found
    /// ([`Profile::infer_kind`]), then match again with it.
    pub fn match_header(&self, header: &str, kind: Option<RecordKind>) -> Option<Field> {
        header_keys(header).find_map(|key| {
            self.lookup(&key, kind)
                .or_else(|| self.qualified(&key, kind))
        })
    }

    fn lookup(&self, key: &str, kind: Option<RecordKind>) -> Option<Field> {
        for layer in &self.layers {
            if let Some(kind) = kind
                && let Some(field) = layer.per_kind.get(&kind).and_then(|t| t.get(key))
            {
                return Some(*field);
            }
            if let Some(field) = layer.general.get(key) {
                return Some(*field);
            }
        }
        None
    }

    fn qualified(&self, key: &str, kind: Option<RecordKind>) -> Option<Field> {
        let variants = [
            (
                &self.inherent,
                Field::inherent as fn(Field) -> Option<Field>,
            ),
            (&self.residual, Field::residual),
        ];
        for (phrases, variant) in variants {
            for phrase in phrases {
                let rest = key
                    .strip_prefix(phrase.as_str())
                    .and_then(|r| r.strip_prefix(' '))
                    .or_else(|| {
                        key.strip_suffix(phrase.as_str())
                            .and_then(|r| r.strip_suffix(' '))
                    });
                let Some(rest) = rest else { continue };
                // Only the plain ratings take a qualifier: "Inherent Owner" means nothing.
                if let Some(base @ (Field::Likelihood | Field::Impact | Field::Score)) =
                    self.lookup(rest, kind)
                {
                    return variant(base);
                }
            }
        }
        None
    }

    /// How many distinct fields the cells of a row name, counting kind-specific aliases of any
    /// kind. The header row is the row with the highest score below any title rows.
    pub fn header_score(&self, cells: &[&str]) -> usize {
        let mut found = BTreeSet::new();
        for cell in cells {
            // Header cells are short; long cells are titles or data, and folding them for
            // every row of the header scan would cost more than the scan itself.
            if cell.len() > MAX_HEADER_BYTES {
                continue;
            }
            if let Some(field) = self.match_header_any_kind(cell) {
                found.insert(field);
            }
        }
        found.len()
    }

    /// [`Profile::match_header`] for the sheet's kind not yet known: the general aliases, then
    /// any kind's own aliases. Folds the header once, however many kinds are tried.
    fn match_header_any_kind(&self, header: &str) -> Option<Field> {
        header_keys(header).find_map(|key| {
            self.lookup(&key, None)
                .or_else(|| {
                    RecordKind::ALL
                        .into_iter()
                        .find_map(|kind| self.lookup(&key, Some(kind)))
                })
                .or_else(|| self.qualified(&key, None))
        })
    }

    /// The kind of register a sheet with these fields is: the profile's fixed kind if it has
    /// one, else the kind with the most signalling fields among them. `None` when no field
    /// signals a kind or two kinds tie, because guessing would file records under the wrong
    /// kind; the caller should then ask for the kind.
    pub fn infer_kind(&self, fields: &[Field]) -> Option<RecordKind> {
        if self.kind.is_some() {
            return self.kind;
        }
        let mut best: Option<RecordKind> = None;
        let mut best_count = 0;
        let mut tied = false;
        for (kind, signals) in &self.signals {
            let count = signals.iter().filter(|s| fields.contains(s)).count();
            if count > best_count {
                best = Some(*kind);
                best_count = count;
                tied = false;
            } else if count == best_count && count > 0 {
                tied = true;
            }
        }
        if tied { None } else { best }
    }

    /// Whether a sheet explains or feeds the workbook (instructions, lookup lists, scales)
    /// rather than holding records. Compared folded, as a whole name: "Lists" is skipped,
    /// "List of risks" is not.
    pub fn is_skipped_sheet(&self, name: &str) -> bool {
        let name = fold(name);
        !name.is_empty() && self.skip_sheets.contains(&name)
    }
}

fn parse_field(file: &str, key: &str, name: &str) -> Result<Field, MappingsError> {
    name.parse::<Field>().map_err(|_| MappingsError::BadValue {
        file: file.to_string(),
        key: key.to_string(),
        value: name.to_string(),
        expected: format!(
            "a canonical field: one of {}",
            Field::ALL.map(Field::as_str).join(", ")
        ),
    })
}

/// Folds one table of `field = [aliases]`. An alias listed under two fields is an error: the
/// header would silently mean whichever was read last.
fn alias_table(
    file: &str,
    key: &str,
    table: &BTreeMap<String, Vec<String>>,
) -> Result<HashMap<String, Field>, MappingsError> {
    let mut out: HashMap<String, Field> = HashMap::new();
    for (name, aliases) in table {
        let field_key = format!("{key}.{name}");
        let field = parse_field(file, &field_key, name)?;
        for alias in aliases {
            let folded = fold(alias);
            if folded.is_empty() {
                return Err(MappingsError::Invalid {
                    file: file.to_string(),
                    key: field_key,
                    problem: format!(
                        "alias {alias:?} has no letters or digits: no header could match it"
                    ),
                });
            }
            match out.get(&folded) {
                Some(&other) if other != field => {
                    return Err(MappingsError::DuplicateAlias {
                        file: file.to_string(),
                        alias: alias.clone(),
                        first: format!("{key}.{}", other.as_str()),
                        second: field_key,
                    });
                }
                _ => {
                    out.insert(folded, field);
                }
            }
        }
    }
    Ok(out)
}

fn folded_list(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let folded = fold(item);
        if !folded.is_empty() && !out.contains(&folded) {
            out.push(folded);
        }
    }
    out
}

fn phrases(items: &[String]) -> Vec<String> {
    let mut out = folded_list(items);
    longest_first(&mut out);
    out
}

fn longest_first(phrases: &mut [String]) {
    phrases.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_date_orders() {
        assert_eq!("day-first".parse(), Ok(DateOrder::DayFirst));
        assert_eq!("DD/MM/YYYY".parse(), Ok(DateOrder::DayFirst));
        assert_eq!("month first".parse(), Ok(DateOrder::MonthFirst));
        assert!("year-first".parse::<DateOrder>().is_err());
    }

    #[test]
    fn qualifiers_only_apply_to_ratings() {
        let p = Profile::parse(
            r#"
[qualifiers]
inherent = ["gross"]
[aliases]
likelihood = ["Chance"]
owner = ["Owner"]
"#,
            "p.toml",
        )
        .unwrap();
        assert_eq!(
            p.match_header("Gross Chance", None),
            Some(Field::InherentLikelihood)
        );
        assert_eq!(
            p.match_header("Chance gross", None),
            Some(Field::InherentLikelihood)
        );
        assert_eq!(p.match_header("Gross Owner", None), None);
        // A qualifier must be a whole word: "grossly" is not "gross".
        assert_eq!(p.match_header("Grossly Chance", None), None);
    }
}
