//! Dates as registers hold them: date cells, Excel serial numbers, and
//! text in whatever form the author or the exporting tool chose.
//!
//! The one thing that cannot be guessed is whether `01/03/2026` is the 1st
//! of March or the 3rd of January. Such values are reported as
//! [`DateError::Ambiguous`] unless a [`DateOrder`] is given, and
//! [`infer_order`] can find the order from the other values of a column.
//!
//! Accepted forms (time parts such as `10:30`, `10:30:00`, `T10:30:00Z` are
//! allowed and ignored):
//!
//! | form | example |
//! |---|---|
//! | date cell | (any date format in Excel/LibreOffice) |
//! | Excel serial number (1900 date system) | `46082` |
//! | ISO, year first | `2026-03-25`, `2026/03/25`, `2026.03.25`, `20260325` |
//! | day first | `25.03.2026`, `25/03/2026`, `25-03-2026` |
//! | month first | `03/25/2026` |
//! | month names (English, German) | `25 March 2026`, `25. März 2026`, `March 25, 2026`, `25-Mar-2026`, `Wed, 25 Mar 2026` |
//!
//! Two-digit years follow Excel's rule: `00`–`29` are 2000–2029, `30`–`99`
//! are 1930–1999.

use chrono::{Datelike, NaiveDate};

use crate::client::Cell;

/// Whether numeric dates put the day or the month first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// `01/03/2026` is 1 March 2026 (most of the world; dots always mean this).
    DayFirst,
    /// `01/03/2026` is 3 January 2026 (United States).
    MonthFirst,
    /// Decide per value; values that read both ways are errors.
    #[default]
    Unknown,
}

/// Why a value is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Both day-first and month-first readings are valid dates.
    #[error(
        "\"{value}\" is ambiguous: day first it is {}, month first it is {}; set date_order = \"day-first\" or \"month-first\" in a profile (--profile)",
        long_date(*day_first),
        long_date(*month_first)
    )]
    Ambiguous {
        value: String,
        day_first: NaiveDate,
        month_first: NaiveDate,
    },
    /// Not a date in any accepted form.
    #[error(
        "\"{value}\" is not a date ({reason}); use a date cell or a form like 2026-03-25, 25.03.2026, 25/03/2026, 03/25/2026, 25 March 2026, March 25, 2026 or 25-Mar-2026"
    )]
    Invalid { value: String, reason: String },
}

/// `1 March 2026`: unmistakable in messages, whatever the reader's locale.
fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// Excel's largest serial date, 9999-12-31.
const MAX_SERIAL: f64 = 2_958_465.0;

/// Reads a date from a cell.
///
/// A time of day, if present, is dropped. `order` decides numeric dates
/// whose day and month could be swapped; a value with only one valid reading
/// is accepted whatever the order.
pub fn parse_date(cell: &Cell, order: DateOrder) -> Result<NaiveDate, DateError> {
    match cell {
        Cell::DateTime(datetime) => {
            let date = datetime.date();
            // Time-only cells come back as day 0 of the 1900 system.
            if date.year() < 1900 {
                Err(invalid(
                    &cell.to_text(),
                    "the cell holds a time of day without a date",
                ))
            } else {
                Ok(date)
            }
        }
        Cell::Number(n) => from_number(*n),
        Cell::Text(text) => parse_text(text.trim(), order),
        Cell::Empty => Err(invalid("", "the cell is empty")),
        Cell::Bool(_) => Err(invalid(&cell.to_text(), "the cell holds TRUE/FALSE")),
        Cell::Error(error) => Err(invalid(error, "the cell holds an error")),
    }
}

fn invalid(value: &str, reason: impl Into<String>) -> DateError {
    DateError::Invalid {
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// An Excel serial (1900 date system), or a `yyyymmdd` number.
fn from_number(n: f64) -> Result<NaiveDate, DateError> {
    let shown = Cell::Number(n).to_text();
    if !n.is_finite() {
        return Err(invalid(&shown, "not a finite number"));
    }
    // yyyymmdd numbers lie far beyond the serial range, so there is no clash.
    if n.fract() == 0.0
        && (19_000_101.0..=99_991_231.0).contains(&n)
        && let Some(date) = compact_date(n as u32)
    {
        return Ok(date);
    }
    let day = n.floor();
    if !(1.0..=MAX_SERIAL).contains(&day) {
        return Err(invalid(
            &shown,
            "numbers are read as Excel date serials, 1 (1900-01-01) to 2958465 (9999-12-31)",
        ));
    }
    let day = day as i64;
    // Excel counts the non-existent 29 February 1900 as day 60; serials
    // from 61 on are therefore one day ahead of a plain count from 1900-01-01.
    if day == 60 {
        return Err(invalid(
            &shown,
            "serial 60 is 29 February 1900, a day that does not exist (Excel's 1900 leap-year bug)",
        ));
    }
    let epoch = if day < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)
    };
    epoch
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(day.unsigned_abs())))
        .ok_or_else(|| invalid(&shown, "outside the supported date range"))
}

fn compact_date(n: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt((n / 10_000) as i32, (n / 100) % 100, n % 100)
}

/// A piece of a date text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A number and how many digits it was written with.
    Number(u32, usize),
    Word(&'a str),
}

fn parse_text(text: &str, order: DateOrder) -> Result<NaiveDate, DateError> {
    if text.is_empty() {
        return Err(invalid(text, "the cell is empty"));
    }
    let date_part = strip_time(text).ok_or_else(|| invalid(text, "a time without a date"))?;
    let tokens = tokenize(date_part).ok_or_else(|| invalid(text, "unexpected characters"))?;
    let separators: Vec<char> = date_part
        .chars()
        .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
        .collect();

    match tokens.as_slice() {
        [Token::Number(n, 8)] => compact_date(*n)
            .ok_or_else(|| invalid(text, "read as yyyymmdd, but no such day exists")),
        [Token::Number(_, 4)] => Err(invalid(text, "a year alone is not a date")),
        [Token::Number(_, _)] => Err(invalid(
            text,
            "a bare number in a text cell; date serials are only read from number cells",
        )),
        [
            Token::Number(year, 4),
            Token::Number(month, _),
            Token::Number(day, _),
        ] => {
            if !numeric_separators(&separators) {
                return Err(invalid(text, "mixed separators"));
            }
            NaiveDate::from_ymd_opt(*year as i32, *month, *day)
                .ok_or_else(|| invalid(text, "read year-month-day, but no such day exists"))
        }
        [
            Token::Number(a, a_digits),
            Token::Number(b, b_digits),
            Token::Number(year, year_digits),
        ] if *a_digits <= 2 && *b_digits <= 2 => {
            if !numeric_separators(&separators) {
                return Err(invalid(text, "mixed separators"));
            }
            let year = full_year(*year, *year_digits)
                .ok_or_else(|| invalid(text, "the year must have 2 or 4 digits"))?;
            numeric_date(text, *a, *b, year, order, separators.first() == Some(&'.'))
        }
        _ => textual_date(text, &tokens),
    }
}

/// Cuts a trailing time of day ("10:30", "T10:30:00Z", "10:30 PM").
/// `None` when the text is only a time.
fn strip_time(text: &str) -> Option<&str> {
    let Some(colon) = text.find(':') else {
        return Some(text);
    };
    let before = &text[..colon];
    let mut cut = None;
    let mut following_is_digit = false;
    let chars: Vec<(usize, char)> = before.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate().rev() {
        let preceded_by_digit = i > 0 && chars[i - 1].1.is_ascii_digit();
        if c.is_whitespace() || ((c == 'T' || c == 't') && preceded_by_digit && following_is_digit)
        {
            cut = Some((at, c.len_utf8()));
            break;
        }
        following_is_digit = c.is_ascii_digit();
    }
    let (at, len) = cut?;
    let time = &text[at + len..];
    let plausible = time.starts_with(|c: char| c.is_ascii_digit())
        && time.chars().all(|c| {
            c.is_ascii_digit()
                || ":.,+- Zz".contains(c)
                || matches!(c.to_ascii_uppercase(), 'A' | 'P' | 'M')
        });
    if !plausible {
        return Some(text);
    }
    Some(text[..at].trim_end_matches([',', ' ']))
}

/// Splits on anything that is not a letter or digit. `None` for mixed
/// pieces such as `3a` (ordinals `1st`, `2nd` … are numbers).
fn tokenize(text: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    for piece in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let digits = piece.chars().take_while(char::is_ascii_digit).count();
        if digits == piece.len() {
            tokens.push(Token::Number(piece.parse().ok()?, digits));
        } else if digits > 0 {
            let suffix = piece[digits..].to_ascii_lowercase();
            if !matches!(suffix.as_str(), "st" | "nd" | "rd" | "th") || digits > 2 {
                return None;
            }
            tokens.push(Token::Number(piece[..digits].parse().ok()?, digits));
        } else if piece.chars().all(char::is_alphabetic) {
            tokens.push(Token::Word(piece));
        } else {
            return None;
        }
    }
    Some(tokens)
}

/// Exactly two separators, the same, one of `-`, `/`, `.`.
fn numeric_separators(separators: &[char]) -> bool {
    matches!(separators, [a, b] if a == b && matches!(a, '-' | '/' | '.'))
}

/// Excel's two-digit year rule: 00–29 → 2000s, 30–99 → 1900s.
fn full_year(year: u32, digits: usize) -> Option<i32> {
    match digits {
        4 => i32::try_from(year).ok(),
        1 | 2 if year < 30 => Some(2000 + year as i32),
        1 | 2 => Some(1900 + year as i32),
        _ => None,
    }
}

/// `a/b/year` where either a or b is the day.
fn numeric_date(
    text: &str,
    a: u32,
    b: u32,
    year: i32,
    order: DateOrder,
    dots: bool,
) -> Result<NaiveDate, DateError> {
    let day_first = NaiveDate::from_ymd_opt(year, b, a);
    let month_first = NaiveDate::from_ymd_opt(year, a, b);
    match (day_first, month_first) {
        (Some(date), None) | (None, Some(date)) => Ok(date),
        (None, None) => Err(invalid(
            text,
            "neither day-month-year nor month-day-year is a real day",
        )),
        (Some(day_first), Some(month_first)) => match order {
            _ if day_first == month_first => Ok(day_first),
            DateOrder::DayFirst => Ok(day_first),
            DateOrder::MonthFirst => Ok(month_first),
            // Dotted dates are a day-first convention (German, Nordic, …).
            DateOrder::Unknown if dots => Ok(day_first),
            DateOrder::Unknown => Err(DateError::Ambiguous {
                value: text.to_owned(),
                day_first,
                month_first,
            }),
        },
    }
}

/// Forms with a month name, optionally led by a weekday.
fn textual_date(text: &str, tokens: &[Token<'_>]) -> Result<NaiveDate, DateError> {
    let tokens = match tokens {
        [Token::Word(word), rest @ ..] if is_weekday(word) => rest,
        all => all,
    };
    let (day, month, year, year_digits) = match tokens {
        [
            Token::Number(day, d),
            Token::Word(month),
            Token::Number(year, digits),
        ] if *d <= 2 => (*day, month_number(month), *year, *digits),
        [
            Token::Word(month),
            Token::Number(day, d),
            Token::Number(year, digits),
        ] if *d <= 2 => (*day, month_number(month), *year, *digits),
        _ => return Err(invalid(text, "not a recognised date form")),
    };
    let month = month.ok_or_else(|| invalid(text, "unknown month name"))?;
    let year = full_year(year, year_digits)
        .ok_or_else(|| invalid(text, "the year must have 2 or 4 digits"))?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| invalid(text, "no such day exists"))
}

/// English and German month names and their usual abbreviations.
fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [&[&str]; 12] = [
        &["january", "jan", "januar", "jänner", "jän"],
        &["february", "feb", "februar"],
        &["march", "mar", "märz", "maerz", "mär", "mrz"],
        &["april", "apr"],
        &["may", "mai"],
        &["june", "jun", "juni"],
        &["july", "jul", "juli"],
        &["august", "aug"],
        &["september", "sep", "sept"],
        &["october", "oct", "oktober", "okt"],
        &["november", "nov"],
        &["december", "dec", "dezember", "dez"],
    ];
    let word = word.to_lowercase();
    MONTHS
        .iter()
        .position(|names| names.contains(&word.as_str()))
        .and_then(|index| u32::try_from(index + 1).ok())
}

fn is_weekday(word: &str) -> bool {
    const DAYS: [&str; 28] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
        "mo",
        "di",
        "mi",
        "do",
        "fr",
        "sa",
        "so",
    ];
    DAYS.contains(&word.to_lowercase().as_str())
}

/// Infers the order of numeric dates from sample values of one column:
/// a first part above 12 or dots as separators mean day first, a second
/// part above 12 means month first. Contradicting or no evidence gives
/// [`DateOrder::Unknown`].
pub fn infer_order(samples: &[&str]) -> DateOrder {
    let mut day_first = false;
    let mut month_first = false;
    for sample in samples {
        let sample = sample.trim();
        let Some(date_part) = strip_time(sample) else {
            continue;
        };
        let separators: Vec<char> = date_part
            .chars()
            .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
            .collect();
        if !numeric_separators(&separators) {
            continue;
        }
        if let Some(tokens) = tokenize(date_part)
            && let [
                Token::Number(a, a_digits),
                Token::Number(b, b_digits),
                Token::Number(_, y_digits),
            ] = tokens.as_slice()
            && *a_digits <= 2
            && *b_digits <= 2
            && matches!(y_digits, 2 | 4)
        {
            if separators.first() == Some(&'.') || *a > 12 {
                day_first = true;
            }
            if *b > 12 {
                month_first = true;
            }
        }
    }
    match (day_first, month_first) {
        (true, false) => DateOrder::DayFirst,
        (false, true) => DateOrder::MonthFirst,
        _ => DateOrder::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn accepted_text_forms() {
        let cases: &[(&str, DateOrder, NaiveDate)] = &[
            ("2026-03-01", DateOrder::Unknown, d(2026, 3, 1)),
            ("2026/03/01", DateOrder::Unknown, d(2026, 3, 1)),
            ("2026-03-01 14:30", DateOrder::Unknown, d(2026, 3, 1)),
            ("2026-03-01T14:30:00Z", DateOrder::Unknown, d(2026, 3, 1)),
            (
                "2026-03-01T14:30:00.123+01:00",
                DateOrder::Unknown,
                d(2026, 3, 1),
            ),
            ("20260301", DateOrder::Unknown, d(2026, 3, 1)),
            ("01.03.2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("1.3.2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("01.03.2026 08:00", DateOrder::Unknown, d(2026, 3, 1)),
            ("1/3/2026", DateOrder::DayFirst, d(2026, 3, 1)),
            ("1/3/2026", DateOrder::MonthFirst, d(2026, 1, 3)),
            ("25/03/2026", DateOrder::Unknown, d(2026, 3, 25)),
            ("25/03/2026", DateOrder::MonthFirst, d(2026, 3, 25)),
            ("03/25/2026", DateOrder::Unknown, d(2026, 3, 25)),
            ("03/25/2026", DateOrder::DayFirst, d(2026, 3, 25)),
            ("03/25/2026 10:15 PM", DateOrder::Unknown, d(2026, 3, 25)),
            ("05/05/2026", DateOrder::Unknown, d(2026, 5, 5)),
            ("25-03-2026", DateOrder::Unknown, d(2026, 3, 25)),
            ("1 March 2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("1st March 2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("March 1, 2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("Mar 1 2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("1-Mar-2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("01-Mar-26", DateOrder::Unknown, d(2026, 3, 1)),
            ("1. März 2026", DateOrder::Unknown, d(2026, 3, 1)),
            ("3. Okt. 2025", DateOrder::Unknown, d(2025, 10, 3)),
            ("Wed, 25 Mar 2026", DateOrder::Unknown, d(2026, 3, 25)),
            (
                "September 30, 2025 9:00",
                DateOrder::Unknown,
                d(2025, 9, 30),
            ),
            ("  2026-03-01  ", DateOrder::Unknown, d(2026, 3, 1)),
            // Two-digit years: Excel's rule.
            ("25.03.26", DateOrder::Unknown, d(2026, 3, 25)),
            ("25.03.29", DateOrder::Unknown, d(2029, 3, 25)),
            ("25.03.30", DateOrder::Unknown, d(1930, 3, 25)),
            ("25.03.99", DateOrder::Unknown, d(1999, 3, 25)),
        ];
        for (input, order, expected) in cases {
            assert_eq!(
                parse_date(&text(input), *order),
                Ok(*expected),
                "{input:?} with {order:?}"
            );
        }
    }

    #[test]
    fn ambiguous_dates_say_both_readings_and_how_to_fix() {
        let err = parse_date(&text("01/03/2026"), DateOrder::Unknown).unwrap_err();
        assert_eq!(
            err,
            DateError::Ambiguous {
                value: "01/03/2026".into(),
                day_first: d(2026, 3, 1),
                month_first: d(2026, 1, 3),
            }
        );
        let message = err.to_string();
        assert!(message.contains("1 March 2026"), "{message}");
        assert!(message.contains("3 January 2026"), "{message}");
        assert!(message.contains("date_order"), "{message}");
    }

    #[test]
    fn invalid_values_say_what_is_accepted() {
        for input in [
            "",
            "soon",
            "2026",
            "31.02.2026",
            "13/13/2026",
            "10:30",
            "2026-13-01",
            "1 Smarch 2026",
            "12345",
            "1/2/345",
            "2026-03/01",
            "3a.4.2026",
        ] {
            match parse_date(&text(input), DateOrder::Unknown) {
                Err(err @ DateError::Invalid { .. }) => {
                    assert!(err.to_string().contains("2026-03-25"), "{err}");
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn serial_numbers_follow_excel() {
        let n = |v: f64| parse_date(&Cell::Number(v), DateOrder::Unknown);
        assert_eq!(n(1.0), Ok(d(1900, 1, 1)));
        assert_eq!(n(59.0), Ok(d(1900, 2, 28)));
        assert_eq!(n(61.0), Ok(d(1900, 3, 1)));
        assert_eq!(n(45_292.0), Ok(d(2024, 1, 1)));
        assert_eq!(n(46_082.75), Ok(d(2026, 3, 1)));
        assert_eq!(n(2_958_465.0), Ok(d(9999, 12, 31)));
        assert_eq!(n(20_260_301.0), Ok(d(2026, 3, 1)));
        for bad in [0.0, -1.0, 2_958_466.0, f64::NAN, f64::INFINITY, 60.0, 1e300] {
            assert!(matches!(n(bad), Err(DateError::Invalid { .. })), "{bad}");
        }
        let err = n(60.0).unwrap_err().to_string();
        assert!(err.contains("leap-year"), "{err}");
    }

    #[test]
    fn date_cells_and_other_cells() {
        let dt = d(2026, 3, 1).and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(
            parse_date(&Cell::DateTime(dt), DateOrder::Unknown),
            Ok(d(2026, 3, 1))
        );
        let time_only = d(1899, 12, 31).and_hms_opt(14, 30, 0).unwrap();
        assert!(parse_date(&Cell::DateTime(time_only), DateOrder::Unknown).is_err());
        assert!(parse_date(&Cell::Empty, DateOrder::Unknown).is_err());
        assert!(parse_date(&Cell::Bool(true), DateOrder::Unknown).is_err());
        let err = parse_date(&Cell::Error("#REF!".into()), DateOrder::Unknown).unwrap_err();
        assert!(err.to_string().contains("#REF!"), "{err}");
    }

    #[test]
    fn order_inference() {
        assert_eq!(
            infer_order(&["01/03/2026", "25/03/2026"]),
            DateOrder::DayFirst
        );
        assert_eq!(
            infer_order(&["01/03/2026", "03/25/2026"]),
            DateOrder::MonthFirst
        );
        assert_eq!(infer_order(&["01.03.2026"]), DateOrder::DayFirst);
        assert_eq!(
            infer_order(&["01/03/2026", "02/04/2026"]),
            DateOrder::Unknown
        );
        assert_eq!(
            infer_order(&["25/03/2026", "03/25/2026"]),
            DateOrder::Unknown
        );
        assert_eq!(infer_order(&["2026-03-25", "soon", ""]), DateOrder::Unknown);
        assert_eq!(infer_order(&["25/03/2026 10:00"]), DateOrder::DayFirst);
        assert_eq!(infer_order(&[]), DateOrder::Unknown);
    }
}
