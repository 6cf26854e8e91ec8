/// Folds a word from a source cell for dictionary look-ups: lower case, trimmed, with runs of
/// white space, `_` and `-` turned into one space. "Partially_Compliant " and "partially
/// compliant" meet in the same key, so each vocabulary lists a word once.
pub fn normalise_word(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for ch in raw.trim().chars() {
        if ch.is_whitespace() || ch == '_' || ch == '-' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.extend(ch.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalise_word;

    #[test]
    fn folds_case_space_and_separators() {
        assert_eq!(
            normalise_word("  Partially_Compliant "),
            "partially compliant"
        );
        assert_eq!(normalise_word("Non-Conforming"), "non conforming");
        assert_eq!(normalise_word("N/A"), "n/a");
        assert_eq!(normalise_word(""), "");
    }
}
