//! Text folding for dictionary look-ups (headers, scale labels, sheet names).

/// Folds text so that the spellings people type meet in one key: lower case, common Latin
/// accents removed (é → e, ß → ss, œ → oe), and every run of other characters than letters,
/// digits, `#` and `%` turned into one space. "Risk-ID*", "risk id" and "RISK_ID" all fold to
/// `risk id`; `#` and `%` stay because "#" and "% Complete" are headers of their own.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for ch in text.chars().flat_map(char::to_lowercase) {
        let kept = ch.is_alphanumeric() || ch == '#' || ch == '%';
        if !kept {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match unaccent(ch) {
            Some(plain) => out.push_str(plain),
            None => out.push(ch),
        }
    }
    out
}

/// The unaccented spelling of the accented letters of the languages registers are kept in.
fn unaccent(ch: char) -> Option<&'static str> {
    Some(match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'æ' => "ae",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        _ => return None,
    })
}

/// The text without a trailing hint: a parenthesised or bracketed part ("Likelihood (1-5)",
/// "Impact [1–5]") or a trailing `%`, after trailing `*`, `?` and `:` marks are ignored.
/// `None` when there is no hint or nothing would be left.
pub(crate) fn strip_hint(text: &str) -> Option<&str> {
    let t = text.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '?' | ':'));
    let before = if let Some(rest) = t.strip_suffix(')') {
        &rest[..rest.rfind('(')?]
    } else if let Some(rest) = t.strip_suffix(']') {
        &rest[..rest.rfind('[')?]
    } else {
        t.strip_suffix('%')?
    };
    let before = before.trim_end();
    (!before.trim().is_empty()).then_some(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("  Risk-ID* "), "risk id");
        assert_eq!(fold("RISK_ID"), "risk id");
        assert_eq!(fold("Maßnahme"), "massnahme");
        assert_eq!(fold("Probabilité"), "probabilite");
        assert_eq!(fold("Mise en œuvre"), "mise en oeuvre");
        assert_eq!(
            fold("Justification for inclusion/exclusion"),
            "justification for inclusion exclusion"
        );
        assert_eq!(fold("% Complete"), "% complete");
        assert_eq!(fold("#"), "#");
        assert_eq!(fold(" ?* "), "");
    }

    #[test]
    fn strips_trailing_hints_only() {
        assert_eq!(strip_hint("Likelihood (1-5)"), Some("Likelihood"));
        assert_eq!(strip_hint("Impact [1–5] *"), Some("Impact"));
        assert_eq!(strip_hint("Probability %"), Some("Probability"));
        assert_eq!(strip_hint("Likelihood"), None);
        assert_eq!(strip_hint("(inherent)"), None);
        assert_eq!(strip_hint("Odd )"), None);
    }
}
