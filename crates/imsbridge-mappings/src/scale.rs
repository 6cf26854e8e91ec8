//! Declared rating scales: reading likelihood, impact and score cells as registers write them
//! and normalising them onto the common scale (1–5 for likelihood and impact, 1–25 for scores).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use imsbridge_model::{COMMON_MAX, COMMON_MIN, ScaleValue};
use serde::{Deserialize, Serialize};

use crate::MappingsError;
use crate::clauses::parse_toml;
use crate::files::SourceFile;
use crate::fold::{fold, strip_hint};

/// The common range of normalised scores: the product of two common 1–5 ratings.
pub const SCORE_MIN: f64 = 1.0;
pub const SCORE_MAX: f64 = 25.0;

/// What a rated column measures. Scores have their own scales because their common range
/// (1–25) differs from that of likelihood and impact (1–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Likelihood,
    Impact,
    Score,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Likelihood, Dimension::Impact, Dimension::Score];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Likelihood => "likelihood",
            Dimension::Impact => "impact",
            Dimension::Score => "score",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded = fold(s);
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == folded)
            .ok_or_else(|| {
                format!("{s:?} is not a dimension: expected likelihood, impact or score")
            })
    }
}

/// One cell read on a scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleReading {
    /// The value on the source scale: 3 for "3 - Possible", 2 for "Medium" on Low/Medium/High,
    /// 40 for "40%" or "0.4" on the percent scale.
    pub value: f64,
    /// The value on the common scale: 1.0–5.0 (likelihood, impact) or 1.0–25.0 (score).
    pub normalised: f64,
}

/// A declared scale (`mappings/scales/<id>.toml`).
#[derive(Debug, Clone)]
pub struct Scale {
    id: String,
    title: String,
    dimensions: Vec<Dimension>,
    numeric: bool,
    percent: bool,
    /// Sorted by value.
    levels: Vec<Level>,
    /// Sorted by `min`, not overlapping.
    bands: Vec<Band>,
    /// The numbers the scale reads (levels, range or bands).
    min: f64,
    max: f64,
    /// Value → normalised points, sorted by value; numbers between two are interpolated.
    anchors: Vec<(f64, f64)>,
    /// Folded label → index into `levels`.
    labels: HashMap<String, usize>,
    file: String,
}

/// One level of a level scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub value: f64,
    pub labels: Vec<String>,
    pub normalised: f64,
}

/// One band of a banded scale: `min` included, `max` excluded (the highest band includes it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub min: f64,
    pub max: f64,
    pub normalised: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleFile {
    id: String,
    title: String,
    dimensions: Vec<String>,
    #[serde(default = "yes")]
    numeric: bool,
    #[serde(default)]
    percent: bool,
    #[serde(default)]
    range: Option<RawRange>,
    #[serde(default)]
    level: Vec<RawLevel>,
    #[serde(default)]
    band: Vec<RawBand>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    min: f64,
    max: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    value: f64,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    normalised: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    min: f64,
    max: f64,
    normalised: f64,
}

/// A cell split into its number and words.
enum Cell<'a> {
    /// "3", "3.0", "40%", "3 - Possible", "Possible (3)": the number decides.
    Number {
        value: f64,
        percent_sign: bool,
    },
    Words(&'a str),
}

impl Scale {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }

    pub fn has_dimension(&self, dimension: Dimension) -> bool {
        self.dimensions.contains(&dimension)
    }

    /// Whether this is a score scale (normalised onto 1–25).
    pub fn is_score(&self) -> bool {
        self.dimensions == [Dimension::Score]
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// The file the scale was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// What the scale accepts, for messages: "Low / Medium / High (words such as low, medium,
    /// high)".
    pub fn describe(&self) -> String {
        let mut accepts = Vec::new();
        if self.percent {
            accepts.push(format!(
                "percentages {}–{} % or probabilities 0–1",
                self.min, self.max
            ));
        } else if self.numeric {
            accepts.push(format!("numbers {}–{}", self.min, self.max));
        }
        let words: Vec<&str> = self
            .levels
            .iter()
            .filter_map(|l| l.labels.first().map(String::as_str))
            .collect();
        if !words.is_empty() {
            accepts.push(format!("words such as {}", words.join(", ")));
        }
        format!("{}: {}", self.title, accepts.join(" or "))
    }

    /// Reads one cell: a number ("3", "3.0", "2,5"), a number with its label ("3 - Possible",
    /// "3 – Possible", "Possible (3)"), a label ("possible", " HIGH "), or on a percent scale a
    /// percentage ("40%", "40") or probability ("0.4"). When a cell has both a number and a
    /// label the number decides, because labels vary between registers while the number is
    /// what the register's matrix computes with. `None` when the cell is not on this scale.
    pub fn read(&self, raw: &str) -> Option<ScaleReading> {
        let text = raw.trim();
        if text.is_empty() {
            return None;
        }
        match split_cell(text) {
            Cell::Number {
                value,
                percent_sign,
            } => self.read_number(value, percent_sign),
            Cell::Words(words) => self.read_words(words),
        }
    }

    /// [`Scale::read`] as the model's rated value, keeping the cell as written.
    pub fn read_value(&self, raw: &str) -> Option<ScaleValue> {
        self.read(raw).map(|r| ScaleValue {
            raw: raw.to_string(),
            scale: self.id.clone(),
            value: r.value,
            normalised: r.normalised,
        })
    }

    fn read_number(&self, value: f64, percent_sign: bool) -> Option<ScaleReading> {
        if !self.numeric || !value.is_finite() || value < 0.0 {
            return None;
        }
        let value = if self.percent {
            // A bare number up to 1 is a probability; anything else is already per cent.
            let p = if !percent_sign && value <= 1.0 {
                value * 100.0
            } else {
                value
            };
            // 0.3 × 100 is 30.000000000000004: round away the binary noise so that band edges
            // and the reported value are what the user wrote.
            (p * 1e9).round() / 1e9
        } else if percent_sign {
            return None;
        } else {
            value
        };
        if !self.bands.is_empty() {
            let last = self.bands.len() - 1;
            return self
                .bands
                .iter()
                .enumerate()
                .find(|(i, b)| value >= b.min && (value < b.max || (*i == last && value == b.max)))
                .map(|(_, b)| ScaleReading {
                    value,
                    normalised: b.normalised,
                });
        }
        if value < self.min || value > self.max {
            return None;
        }
        Some(ScaleReading {
            value,
            normalised: interpolate(&self.anchors, value),
        })
    }

    fn read_words(&self, words: &str) -> Option<ScaleReading> {
        let level = self
            .labels
            .get(&fold(words))
            // "High (red)": the parenthesised part is a remark, not the label.
            .or_else(|| strip_hint(words).and_then(|w| self.labels.get(&fold(w))))?;
        let level = &self.levels[*level];
        Some(ScaleReading {
            value: level.value,
            normalised: level.normalised,
        })
    }

    /// How wide the scale is: detection prefers the narrowest scale that reads every sample.
    fn specificity(&self) -> (f64, usize) {
        (self.max - self.min, self.levels.len().max(self.bands.len()))
    }
}

/// Splits a cell into its number (leading, or in trailing parentheses) or its words.
fn split_cell(text: &str) -> Cell<'_> {
    // "Possible (3)"
    if let Some(inner) = text
        .strip_suffix(')')
        .and_then(|rest| rest.rfind('(').map(|open| &rest[open + 1..]))
        && let Some((value, percent_sign, rest)) = leading_number(inner.trim())
        && rest.is_empty()
    {
        return Cell::Number {
            value,
            percent_sign,
        };
    }
    // "3", "3.0", "40%", "3 - Possible", "3 – Possible", "3: Possible"
    if let Some((value, percent_sign, _label)) = leading_number(text) {
        return Cell::Number {
            value,
            percent_sign,
        };
    }
    Cell::Words(text)
}

/// A number at the start of `text`, whether a `%` follows it, and the rest after the
/// separators between number and label. A decimal comma ("2,5") is read as a decimal point.
fn leading_number(text: &str) -> Option<(f64, bool, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    let digits = &text[..end];
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // "3rd" or "5x5" are words that start with a digit, not a number and its label.
    if text[end..].starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let digits = digits.trim_end_matches(['.', ',']);
    let value: f64 = if digits.contains('.') {
        digits.parse().ok()?
    } else {
        digits.replacen(',', ".", 1).parse().ok()?
    };
    let mut rest = text[end..].trim_start();
    let percent_sign = rest.starts_with('%');
    if percent_sign {
        rest = rest[1..].trim_start();
    }
    // A separator must be followed by a label, otherwise "3 -" is simply "3".
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '-' | '–' | '—' | ':' | '=' | '.' | ')' | '/' | '|')
    });
    Some((value, percent_sign, rest))
}

fn interpolate(anchors: &[(f64, f64)], value: f64) -> f64 {
    for pair in anchors.windows(2) {
        let [(x0, y0), (x1, y1)] = [pair[0], pair[1]];
        if value <= x1 {
            if x1 == x0 {
                return y1;
            }
            return y0 + (value - x0) * (y1 - y0) / (x1 - x0);
        }
    }
    anchors.last().map_or(value, |&(_, y)| y)
}

/// Reads and checks one scale file.
pub(crate) fn parse_scale(src: &SourceFile) -> Result<Scale, MappingsError> {
    let raw: ScaleFile = parse_toml(src)?;
    let file = src.label.clone();
    let invalid = |key: &str, problem: String| MappingsError::Invalid {
        file: file.clone(),
        key: key.to_string(),
        problem,
    };

    let id = raw.id.trim().to_string();
    if id.is_empty() {
        return Err(invalid(
            "id",
            "is empty: expected the scale's id (e.g. \"1-5\")".into(),
        ));
    }
    let title = raw.title.trim().to_string();
    let mut dimensions = Vec::new();
    for (i, d) in raw.dimensions.iter().enumerate() {
        let dimension = d
            .parse::<Dimension>()
            .map_err(|_| MappingsError::BadValue {
                file: file.clone(),
                key: format!("dimensions[{i}]"),
                value: d.clone(),
                expected: "likelihood, impact or score".into(),
            })?;
        if !dimensions.contains(&dimension) {
            dimensions.push(dimension);
        }
    }
    if dimensions.is_empty() {
        return Err(invalid(
            "dimensions",
            "is empty: expected [\"likelihood\", \"impact\"] or [\"score\"]".into(),
        ));
    }
    let score = dimensions.contains(&Dimension::Score);
    if score && dimensions.len() > 1 {
        return Err(invalid(
            "dimensions",
            "mixes score with likelihood or impact: scores normalise onto 1–25 and ratings onto 1–5, so declare them as separate scales".into(),
        ));
    }
    let (lo, hi) = if score {
        (SCORE_MIN, SCORE_MAX)
    } else {
        (COMMON_MIN, COMMON_MAX)
    };
    let check_normalised = |key: String, n: f64| {
        if (lo..=hi).contains(&n) {
            Ok(())
        } else {
            Err(invalid(
                &key,
                format!("normalised value {n} is outside the common range {lo}–{hi}"),
            ))
        }
    };

    if !raw.band.is_empty() {
        if !raw.level.is_empty() || raw.range.is_some() {
            return Err(invalid(
                "band",
                "a scale has either bands or levels/range, not both".into(),
            ));
        }
        let mut bands: Vec<Band> = Vec::new();
        for (i, b) in raw.band.iter().enumerate() {
            if !b.min.is_finite() || !b.max.is_finite() || b.max <= b.min || b.min < 0.0 {
                return Err(invalid(
                    &format!("band[{i}]"),
                    format!("min {} must be at least 0 and below max {}", b.min, b.max),
                ));
            }
            check_normalised(format!("band[{i}].normalised"), b.normalised)?;
            bands.push(Band {
                min: b.min,
                max: b.max,
                normalised: b.normalised,
            });
        }
        bands.sort_by(|a, b| a.min.total_cmp(&b.min));
        for pair in bands.windows(2) {
            if pair[1].min < pair[0].max {
                return Err(invalid(
                    "band",
                    format!(
                        "bands {}–{} and {}–{} overlap: a value must fall in one band only",
                        pair[0].min, pair[0].max, pair[1].min, pair[1].max
                    ),
                ));
            }
        }
        if raw.percent && bands.iter().any(|b| b.max > 100.0) {
            return Err(invalid(
                "band",
                "a percent scale's bands must lie within 0–100".into(),
            ));
        }
        let (min, max) = match (bands.first(), bands.last()) {
            (Some(first), Some(last)) => (first.min, last.max),
            _ => (0.0, 0.0),
        };
        return Ok(Scale {
            id,
            title,
            dimensions,
            numeric: true,
            percent: raw.percent,
            levels: Vec::new(),
            bands,
            min,
            max,
            anchors: Vec::new(),
            labels: HashMap::new(),
            file,
        });
    }

    if raw.percent {
        return Err(invalid(
            "percent",
            "a percent scale needs [[band]] entries mapping percentages onto the common scale"
                .into(),
        ));
    }
    if let Some(i) = raw.level.iter().position(|l| !l.value.is_finite()) {
        return Err(invalid(
            &format!("level[{i}].value"),
            "is not a finite number".into(),
        ));
    }
    let mut levels: Vec<&RawLevel> = raw.level.iter().collect();
    levels.sort_by(|a, b| a.value.total_cmp(&b.value));
    if levels.windows(2).any(|p| p[0].value == p[1].value) {
        return Err(invalid(
            "level",
            "two levels have the same value: each level needs its own value".into(),
        ));
    }
    let (min, max) = match (&raw.range, levels.first(), levels.last()) {
        (Some(r), _, _) => (r.min, r.max),
        (None, Some(first), Some(last)) => (first.value, last.value),
        _ => {
            return Err(invalid(
                "level",
                "no levels, range or bands: declare [[level]] entries, a range or [[band]] entries"
                    .into(),
            ));
        }
    };
    if !min.is_finite() || !max.is_finite() || max <= min {
        return Err(invalid(
            if raw.range.is_some() {
                "range"
            } else {
                "level"
            },
            format!(
                "the scale reads only {min}: expected at least two levels, or a range with min below max"
            ),
        ));
    }
    if levels.iter().any(|l| l.value < min || l.value > max) {
        return Err(invalid(
            "level",
            format!("a level's value lies outside the range {min}–{max}"),
        ));
    }
    if !raw.numeric && (raw.range.is_some() || levels.iter().any(|l| l.labels.is_empty())) {
        return Err(invalid(
            "numeric",
            "a words-only scale (numeric = false) needs labels on every level and no range".into(),
        ));
    }
    // Linear by default: the scale's min → bottom of the common range, max → top.
    let linear = |v: f64| lo + (v - min) * (hi - lo) / (max - min);
    let mut out_levels = Vec::with_capacity(levels.len());
    let mut labels = HashMap::new();
    for (i, level) in levels.iter().enumerate() {
        let normalised = match level.normalised {
            Some(n) => {
                check_normalised(format!("level[{i}].normalised"), n)?;
                n
            }
            None => linear(level.value),
        };
        for label in &level.labels {
            let key = fold(label);
            if key.is_empty() || key.parse::<f64>().is_ok() {
                return Err(invalid(
                    &format!("level[{i}].labels"),
                    format!(
                        "{label:?} is not a word: numbers are read from the levels' values, labels are words"
                    ),
                ));
            }
            if let Some(&other) = labels.get(&key)
                && other != i
            {
                return Err(invalid(
                    &format!("level[{i}].labels"),
                    format!(
                        "{label:?} is also a label of another level: a word can mean one level only"
                    ),
                ));
            }
            labels.insert(key, i);
        }
        out_levels.push(Level {
            value: level.value,
            labels: level.labels.clone(),
            normalised,
        });
    }
    let mut anchors: Vec<(f64, f64)> = vec![(min, linear(min))];
    anchors.extend(out_levels.iter().map(|l| (l.value, l.normalised)));
    anchors.push((max, linear(max)));
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The range endpoints only anchor where no level sits on them.
    anchors.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            // Keep the level's own (possibly explicit) normalised value.
            let level = out_levels.iter().find(|l| l.value == earlier.0);
            if let Some(level) = level {
                earlier.1 = level.normalised;
            }
            true
        } else {
            false
        }
    });

    Ok(Scale {
        id,
        title,
        dimensions,
        numeric: raw.numeric,
        percent: false,
        levels: out_levels,
        bands: Vec::new(),
        min,
        max,
        anchors,
        labels,
        file,
    })
}

/// Picks the most specific scale among `scales` that reads every non-empty sample: the one
/// with the narrowest span of values, then the fewest levels, then the first declared. So
/// Low/Medium/High words pick low-medium-high rather than 1-5, numbers up to 3 pick 1-3, and
/// "N - word" cells are decided by their numbers.
pub(crate) fn detect<'a>(
    scales: &'a [Scale],
    dimension: Dimension,
    samples: &[&str],
) -> Option<&'a Scale> {
    let samples: Vec<&str> = samples
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if samples.is_empty() {
        return None;
    }
    // A banded (percentage/probability) scale reads almost any number, so it is a candidate
    // only when the column looks like one: a % sign, a fraction between 0 and 1, or numbers
    // beyond any level scale (above 10) that stay within 0–100. Otherwise "7" in a 1–5 column
    // would be read as 7 % instead of being rejected.
    let numbers: Vec<f64> = samples
        .iter()
        .filter_map(|x| x.parse::<f64>().ok())
        .collect();
    let looks_like_percent = samples.iter().any(|x| x.ends_with('%'))
        || numbers.iter().any(|v| *v > 0.0 && *v < 1.0)
        || (numbers.iter().any(|v| *v > 10.0) && numbers.iter().all(|v| (0.0..=100.0).contains(v)));
    let candidates: Vec<&Scale> = scales
        .iter()
        .filter(|s| s.has_dimension(dimension))
        .filter(|s| s.bands.is_empty() || looks_like_percent)
        .collect();
    let by_specificity = |a: &&&Scale, b: &&&Scale| {
        let (sa, la) = a.specificity();
        let (sb, lb) = b.specificity();
        sa.total_cmp(&sb).then(la.cmp(&lb))
    };
    let reads = |s: &Scale| samples.iter().filter(|x| s.read(x).is_some()).count();
    if let Some(all) = candidates
        .iter()
        .filter(|s| reads(s) == samples.len())
        .min_by(by_specificity)
    {
        return Some(*all);
    }
    // A typo or an out-of-range value among the sampled rows must not leave the whole column
    // unrated: the scale that reads at least 80 % of the samples is taken, and the cells it
    // cannot read are rejected row by row, each with its location.
    let best = candidates.iter().map(|s| reads(s)).max()?;
    if best * 5 < samples.len() * 4 {
        return None;
    }
    candidates
        .iter()
        .filter(|s| reads(s) == best)
        .min_by(by_specificity)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(text: &str) -> Result<Scale, MappingsError> {
        parse_scale(&SourceFile {
            label: "test.toml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn splits_numbers_from_labels() {
        let number = |t| match split_cell(t) {
            Cell::Number { value, .. } => Some(value),
            Cell::Words(_) => None,
        };
        assert_eq!(number("3"), Some(3.0));
        assert_eq!(number("3.0"), Some(3.0));
        assert_eq!(number("2,5"), Some(2.5));
        assert_eq!(number("3 - Possible"), Some(3.0));
        assert_eq!(number("3 – Possible"), Some(3.0));
        assert_eq!(number("3: Possible"), Some(3.0));
        assert_eq!(number("Possible (3)"), Some(3.0));
        assert_eq!(number("40%"), Some(40.0));
        assert_eq!(number("3rd"), None);
        assert_eq!(number("High (red)"), None);
        assert_eq!(number("possible"), None);
        assert_eq!(number("1.2.3"), None);
    }

    #[test]
    fn explicit_normalised_values_bend_the_line() {
        let s = scale(
            r#"
id = "custom"
title = "Custom"
dimensions = ["impact"]
[[level]]
value = 1
labels = ["small"]
[[level]]
value = 2
labels = ["big"]
normalised = 4.0
[[level]]
value = 3
labels = ["huge"]
"#,
        )
        .unwrap();
        assert_eq!(s.read("big").map(|r| r.normalised), Some(4.0));
        assert_eq!(s.read("1").map(|r| r.normalised), Some(1.0));
        assert_eq!(s.read("3").map(|r| r.normalised), Some(5.0));
        // Between levels the value is interpolated between their normalised values.
        assert_eq!(s.read("1.5").map(|r| r.normalised), Some(2.5));
        assert_eq!(s.read("2.5").map(|r| r.normalised), Some(4.5));
    }

    #[test]
    fn rejects_inconsistent_declarations() {
        let err = scale(
            r#"
id = "x"
title = "X"
dimensions = ["likelihood", "score"]
[[level]]
value = 1
[[level]]
value = 2
"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("separate scales"), "{err}");

        let err = scale(
            r#"
id = "x"
title = "X"
dimensions = ["likelihood"]
[[level]]
value = 1
labels = ["low"]
[[level]]
value = 2
labels = ["Low"]
"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("level[1].labels"), "{err}");

        let err = scale(
            r#"
id = "x"
title = "X"
dimensions = ["likelihood"]
percent = true
[[band]]
min = 0
max = 50
normalised = 1
[[band]]
min = 40
max = 100
normalised = 5
"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");

        let err = scale(
            r#"
id = "x"
title = "X"
dimensions = ["impact"]
[[level]]
value = 1
normalised = 7
[[level]]
value = 2
"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("level[0].normalised"), "{err}");

        let err = scale("id = \"x\"\ntitle = \"X\"\ndimensions = [\"impact\"]\nlevels = []\n")
            .unwrap_err();
        assert!(
            matches!(err, MappingsError::Toml { .. }) && err.to_string().contains("levels"),
            "{err}"
        );
    }
}
