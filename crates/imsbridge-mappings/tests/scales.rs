//! Reading rating cells on the shipped scales and detecting a column's scale.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failed unwrap is the test failing"
)]

use imsbridge_mappings::{Dimension, Mappings, Scale};

fn mappings() -> Mappings {
    Mappings::embedded().unwrap()
}

fn read(scale: &Scale, raw: &str) -> Option<(f64, f64)> {
    scale.read(raw).map(|r| (r.value, r.normalised))
}

#[test]
fn the_required_scales_are_shipped() {
    let m = mappings();
    for id in [
        "1-5",
        "1-3",
        "low-medium-high",
        "low-medium-high-critical",
        "percent",
        "score-1-25",
        "score-1-9",
    ] {
        assert!(m.scale(id).is_some(), "{id}");
    }
    assert!(m.scale("1-7").is_none());
}

#[test]
fn five_point_scale_reads_every_spelling() {
    let m = mappings();
    let s = m.scale("1-5").unwrap();
    for raw in [
        "3",
        "3.0",
        "3 - Possible",
        "3 – Possible",
        "Possible (3)",
        "possible",
        " POSSIBLE ",
    ] {
        assert_eq!(read(s, raw), Some((3.0, 3.0)), "{raw:?}");
    }
    assert_eq!(read(s, "Rare"), Some((1.0, 1.0)));
    assert_eq!(read(s, "Almost certain"), Some((5.0, 5.0)));
    assert_eq!(read(s, "Catastrophic"), Some((5.0, 5.0)));
    assert_eq!(read(s, "Minor"), Some((2.0, 2.0)));
    assert_eq!(read(s, "Very high"), Some((5.0, 5.0)));
    assert_eq!(
        read(s, " HIGH "),
        Some((4.0, 4.0)),
        "High is level 4 of 5 here"
    );
    assert_eq!(read(s, "2.5"), Some((2.5, 2.5)));
    // The number decides when number and label disagree: matrices compute with the number.
    assert_eq!(read(s, "4 - Possible"), Some((4.0, 4.0)));
    for raw in ["0.4", "40%", "6", "0", "", "  ", "sometimes", "3rd", "-1"] {
        assert_eq!(read(s, raw), None, "{raw:?}");
    }
}

#[test]
fn three_point_scales_normalise_onto_one_to_five() {
    let m = mappings();
    let numeric = m.scale("1-3").unwrap();
    assert_eq!(read(numeric, "1"), Some((1.0, 1.0)));
    assert_eq!(read(numeric, "2"), Some((2.0, 3.0)));
    assert_eq!(read(numeric, "3"), Some((3.0, 5.0)));
    assert_eq!(read(numeric, "Low"), None, "numbers only");

    let words = m.scale("low-medium-high").unwrap();
    assert_eq!(read(words, " HIGH "), Some((3.0, 5.0)));
    assert_eq!(read(words, "M"), Some((2.0, 3.0)));
    assert_eq!(read(words, "niedrig"), Some((1.0, 1.0)));
    assert_eq!(read(words, "Élevé"), Some((3.0, 5.0)));
    assert_eq!(read(words, "eleve"), Some((3.0, 5.0)));
    assert_eq!(read(words, "Alta"), Some((3.0, 5.0)));
    assert_eq!(
        read(words, "2"),
        None,
        "words only: numbers are the 1-3 scale"
    );

    let four = m.scale("low-medium-high-critical").unwrap();
    let medium = read(four, "Medium").unwrap();
    assert!((medium.1 - 7.0 / 3.0).abs() < 1e-9, "{medium:?}");
    assert_eq!(read(four, "Critical"), Some((4.0, 5.0)));
}

#[test]
fn percent_scale_reads_percentages_and_probabilities() {
    let m = mappings();
    let s = m.scale("percent").unwrap();
    assert_eq!(read(s, "40%"), Some((40.0, 3.0)));
    assert_eq!(read(s, "40 %"), Some((40.0, 3.0)));
    assert_eq!(read(s, "0.4"), Some((40.0, 3.0)));
    assert_eq!(read(s, "0,4"), Some((40.0, 3.0)));
    assert_eq!(read(s, "40"), Some((40.0, 3.0)));
    assert_eq!(
        read(s, "0.3"),
        Some((30.0, 3.0)),
        "band edges belong to the upper band"
    );
    assert_eq!(read(s, "5%"), Some((5.0, 1.0)));
    assert_eq!(read(s, "100%"), Some((100.0, 5.0)));
    assert_eq!(
        read(s, "1"),
        Some((100.0, 5.0)),
        "a bare 1 is a probability"
    );
    assert_eq!(read(s, "1%"), Some((1.0, 1.0)));
    assert_eq!(read(s, "120%"), None);
    assert_eq!(read(s, "likely"), None);
}

#[test]
fn score_scales_normalise_onto_one_to_twenty_five() {
    let m = mappings();
    let s25 = m.scale("score-1-25").unwrap();
    assert_eq!(read(s25, "12"), Some((12.0, 12.0)));
    assert_eq!(read(s25, "26"), None);
    let s9 = m.scale("score-1-9").unwrap();
    assert_eq!(read(s9, "1"), Some((1.0, 1.0)));
    assert_eq!(read(s9, "5"), Some((5.0, 13.0)));
    assert_eq!(read(s9, "9"), Some((9.0, 25.0)));
    assert!(s9.is_score() && !m.scale("1-5").unwrap().is_score());
}

#[test]
fn read_value_keeps_the_cell_and_scale() {
    let m = mappings();
    let v = m.scale("1-5").unwrap().read_value("4 - Likely").unwrap();
    assert_eq!(v.raw, "4 - Likely");
    assert_eq!(v.scale, "1-5");
    assert_eq!((v.value, v.normalised), (4.0, 4.0));
}

#[test]
fn detection_tolerates_a_few_bad_values_and_never_reads_levels_as_percent() {
    let m = mappings();
    let detect = |d, samples: &[&str]| m.detect_scale(d, samples).map(|s| s.id().to_string());
    use Dimension::*;
    // "7" in a 1–5 column is an error to reject, not 7 %.
    let column = ["1", "2", "3", "4", "5", "7", "2", "3", "4", "1"];
    assert_eq!(detect(Likelihood, &column).as_deref(), Some("1-5"));
    // One typo among the sampled rows does not leave the whole column unrated.
    let column = ["Rare", "Likely", "banana", "Possible", "Unlikely", "Likely"];
    assert_eq!(detect(Likelihood, &column).as_deref(), Some("1-5"));
    // But a column mostly of unknown words is not rated at all.
    assert_eq!(detect(Likelihood, &["foo", "bar", "Low"]), None);
}

#[test]
fn detection_picks_the_most_specific_scale() {
    let m = mappings();
    let detect = |d, samples: &[&str]| m.detect_scale(d, samples).map(|s| s.id().to_string());
    use Dimension::*;
    assert_eq!(
        detect(Likelihood, &["Low", "Medium", "High"]).as_deref(),
        Some("low-medium-high")
    );
    assert_eq!(
        detect(Impact, &["L", "H", ""]).as_deref(),
        Some("low-medium-high")
    );
    assert_eq!(
        detect(Impact, &["Low", "Critical", "High"]).as_deref(),
        Some("low-medium-high-critical")
    );
    assert_eq!(
        detect(Likelihood, &["Rare", "Likely", "Possible"]).as_deref(),
        Some("1-5")
    );
    assert_eq!(
        detect(Likelihood, &["Very low", "High"]).as_deref(),
        Some("1-5")
    );
    assert_eq!(detect(Likelihood, &["1", "2", "3"]).as_deref(), Some("1-3"));
    assert_eq!(detect(Likelihood, &["1", "2", "4"]).as_deref(), Some("1-5"));
    assert_eq!(
        detect(Impact, &["1 - Low", "3 - High"]).as_deref(),
        Some("1-3"),
        "by number"
    );
    assert_eq!(
        detect(Impact, &["2 - Minor", "5 - Severe"]).as_deref(),
        Some("1-5")
    );
    assert_eq!(
        detect(Likelihood, &["10%", "40%", "0.9"]).as_deref(),
        Some("percent")
    );
    assert_eq!(
        detect(Likelihood, &["15", "40", "80"]).as_deref(),
        Some("percent")
    );
    assert_eq!(
        detect(Impact, &["40%"]),
        None,
        "percent is a likelihood scale"
    );
    assert_eq!(
        detect(Score, &["2", "6", "9"]).as_deref(),
        Some("score-1-9")
    );
    assert_eq!(detect(Score, &["4", "20"]).as_deref(), Some("score-1-25"));
    assert_eq!(detect(Score, &["High"]), None);
    assert_eq!(
        detect(Likelihood, &["", "  "]),
        None,
        "no samples, no guess"
    );
    assert_eq!(detect(Likelihood, &["3", "sometimes"]), None);
}

#[test]
fn describe_says_what_the_scale_accepts() {
    let m = mappings();
    let text = m.scale("low-medium-high").unwrap().describe();
    assert!(text.contains("low, medium, high"), "{text}");
    assert!(m.scale("1-3").unwrap().describe().contains("numbers 1–3"));
    assert!(
        m.scale("percent")
            .unwrap()
            .describe()
            .contains("probabilities")
    );
}
