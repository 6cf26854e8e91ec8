use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A standard (or framework) whose clauses records can reference.
///
/// `Hs` is the ISO Harmonized Structure itself (Annex SL Appendix 2); the ERM frameworks are
/// not management-system standards but link to HS 6.1, so they are addressable too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StandardId {
    #[serde(rename = "hs")]
    Hs,
    #[serde(rename = "iso27001")]
    Iso27001,
    #[serde(rename = "iso9001")]
    Iso9001,
    #[serde(rename = "iso42001")]
    Iso42001,
    #[serde(rename = "iso14001")]
    Iso14001,
    #[serde(rename = "iso45001")]
    Iso45001,
    #[serde(rename = "iso22301")]
    Iso22301,
    #[serde(rename = "iso31000")]
    Iso31000,
    #[serde(rename = "coso-erm")]
    CosoErm,
}

impl StandardId {
    /// Every standard, HS first, in the order reports list them.
    pub const ALL: [StandardId; 9] = [
        StandardId::Hs,
        StandardId::Iso27001,
        StandardId::Iso9001,
        StandardId::Iso42001,
        StandardId::Iso14001,
        StandardId::Iso45001,
        StandardId::Iso22301,
        StandardId::Iso31000,
        StandardId::CosoErm,
    ];

    /// The management-system standards built on the HS (those with clause maps to it).
    pub const MANAGEMENT_SYSTEMS: [StandardId; 6] = [
        StandardId::Iso27001,
        StandardId::Iso9001,
        StandardId::Iso42001,
        StandardId::Iso14001,
        StandardId::Iso45001,
        StandardId::Iso22301,
    ];

    /// The short id used on the command line and in JSON (`iso27001`).
    pub fn key(self) -> &'static str {
        match self {
            StandardId::Hs => "hs",
            StandardId::Iso27001 => "iso27001",
            StandardId::Iso9001 => "iso9001",
            StandardId::Iso42001 => "iso42001",
            StandardId::Iso14001 => "iso14001",
            StandardId::Iso45001 => "iso45001",
            StandardId::Iso22301 => "iso22301",
            StandardId::Iso31000 => "iso31000",
            StandardId::CosoErm => "coso-erm",
        }
    }

    /// The designation with edition, as printed on the standard (`ISO/IEC 27001:2022`).
    pub fn designation(self) -> &'static str {
        match self {
            StandardId::Hs => "ISO Harmonized Structure",
            StandardId::Iso27001 => "ISO/IEC 27001:2022",
            StandardId::Iso9001 => "ISO 9001:2015",
            StandardId::Iso42001 => "ISO/IEC 42001:2023",
            StandardId::Iso14001 => "ISO 14001:2015",
            StandardId::Iso45001 => "ISO 45001:2018",
            StandardId::Iso22301 => "ISO 22301:2019",
            StandardId::Iso31000 => "ISO 31000:2018",
            StandardId::CosoErm => "COSO ERM 2017",
        }
    }

    /// The edition year this model's clause maps describe.
    pub fn edition(self) -> Option<&'static str> {
        match self {
            StandardId::Hs => None,
            StandardId::Iso27001 => Some("2022"),
            StandardId::Iso9001 => Some("2015"),
            StandardId::Iso42001 => Some("2023"),
            StandardId::Iso14001 => Some("2015"),
            StandardId::Iso45001 => Some("2018"),
            StandardId::Iso22301 => Some("2019"),
            StandardId::Iso31000 => Some("2018"),
            StandardId::CosoErm => Some("2017"),
        }
    }

    /// The bare number (`27001`), used to recognise references written loosely.
    fn number(self) -> Option<&'static str> {
        match self {
            StandardId::Hs | StandardId::CosoErm => None,
            StandardId::Iso27001 => Some("27001"),
            StandardId::Iso9001 => Some("9001"),
            StandardId::Iso42001 => Some("42001"),
            StandardId::Iso14001 => Some("14001"),
            StandardId::Iso45001 => Some("45001"),
            StandardId::Iso22301 => Some("22301"),
            StandardId::Iso31000 => Some("31000"),
        }
    }

    /// Whether this standard is built on the Harmonized Structure.
    pub fn is_management_system(self) -> bool {
        Self::MANAGEMENT_SYSTEMS.contains(&self)
    }

    /// Finds a standard named at the start of `text` ("ISO/IEC 27001:2022 6.1.2",
    /// "27001 A.5.7", "iso42001"), returning it and the rest of the text after the name (and
    /// after an edition suffix such as `:2022`), and the edition year when one was written.
    pub fn split_prefix(text: &str) -> Option<(StandardId, Option<&str>, &str)> {
        let trimmed = text.trim_start();
        let lower = trimmed.to_ascii_lowercase();
        let mut rest_start = 0usize;
        // Skip the publisher prefix in any of its spellings ("ISO/IEC", "ISO IEC", "ISO").
        for prefix in ["iso/iec ", "iso/iec", "iso iec ", "iso ", "iso-", "iso"] {
            if lower.starts_with(prefix) {
                rest_start = prefix.len();
                break;
            }
        }
        let after = &lower[rest_start..];
        if rest_start == 0 {
            if let Some(stripped) = after
                .strip_prefix("coso erm")
                .or_else(|| after.strip_prefix("coso-erm"))
            {
                let consumed = lower.len() - stripped.len();
                let (year, rest) = skip_edition(&trimmed[consumed..]);
                return Some((StandardId::CosoErm, year, rest));
            }
            if let Some(stripped) = after.strip_prefix("hs")
                && (stripped.is_empty() || stripped.starts_with([' ', ':']))
            {
                let consumed = lower.len() - stripped.len();
                let (year, rest) = skip_edition(&trimmed[consumed..]);
                return Some((StandardId::Hs, year, rest));
            }
        }
        for id in Self::ALL {
            let Some(number) = id.number() else { continue };
            if let Some(stripped) = after.strip_prefix(number) {
                // "270011" is not 27001: the number must end there.
                if stripped.starts_with(|c: char| c.is_ascii_digit()) {
                    continue;
                }
                let consumed = lower.len() - stripped.len();
                let (year, rest) = skip_edition(&trimmed[consumed..]);
                return Some((id, year, rest));
            }
        }
        None
    }
}

/// Skips `:2022` (or `-2022`, `/2022`) after a standard's number, and the separator after it.
fn skip_edition(rest: &str) -> (Option<&str>, &str) {
    let mut rest = rest;
    let mut year = None;
    if let Some(r) = rest.strip_prefix([':', '-', '/', ' ']) {
        let digits = r.chars().take_while(char::is_ascii_digit).count();
        if digits == 4 && !r[digits..].starts_with('.') {
            year = Some(&r[..digits]);
            rest = &r[digits..];
        }
    }
    (
        year,
        rest.trim_start_matches([' ', ',', ';', '-', ':', '\u{a0}', '§']),
    )
}

impl fmt::Display for StandardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for StandardId {
    type Err = ModelError;

    /// Accepts the short ids (`iso27001`, `iso27001:2022`), designations
    /// (`ISO/IEC 27001:2022`), bare numbers (`27001`) and the mappings' ids
    /// (`iso_iec_27001_2022`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded = s.trim().to_ascii_lowercase().replace('_', " ");
        let folded = folded.trim();
        if folded.is_empty() {
            return Err(ModelError::UnknownStandard(s.to_string()));
        }
        if let Some((id, year, rest)) = StandardId::split_prefix(folded)
            && rest.trim().is_empty()
            && (year.is_none() || year == id.edition())
        {
            return Ok(id);
        }
        Err(ModelError::UnknownStandard(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_users_write() {
        for s in [
            "iso27001",
            "iso27001:2022",
            "ISO/IEC 27001:2022",
            "27001",
            "iso_iec_27001_2022",
            "ISO 27001",
        ] {
            assert_eq!(s.parse::<StandardId>(), Ok(StandardId::Iso27001), "{s}");
        }
        assert_eq!(
            "iso9001:2015".parse::<StandardId>(),
            Ok(StandardId::Iso9001)
        );
        assert_eq!("hs".parse::<StandardId>(), Ok(StandardId::Hs));
        assert_eq!("coso-erm".parse::<StandardId>(), Ok(StandardId::CosoErm));
        assert_eq!(
            "iso_31000_2018".parse::<StandardId>(),
            Ok(StandardId::Iso31000)
        );
    }

    #[test]
    fn rejects_unknown_and_wrong_edition() {
        assert!("iso27002".parse::<StandardId>().is_err());
        assert!("iso27001:2013".parse::<StandardId>().is_err());
        assert!("".parse::<StandardId>().is_err());
        assert!("270011".parse::<StandardId>().is_err());
    }

    #[test]
    fn splits_prefix_from_clause() {
        assert_eq!(
            StandardId::split_prefix("ISO/IEC 27001:2022 6.1.2"),
            Some((StandardId::Iso27001, Some("2022"), "6.1.2"))
        );
        assert_eq!(
            StandardId::split_prefix("42001 A.6.2.2"),
            Some((StandardId::Iso42001, None, "A.6.2.2"))
        );
        assert_eq!(StandardId::split_prefix("6.1.2"), None);
    }
}
