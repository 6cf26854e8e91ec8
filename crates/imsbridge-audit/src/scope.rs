//! The `--scope` filter: which records and HS clauses a pack covers.
//!
//! ```text
//! scope  := part (";" part)*          empty, or "all": everything
//! part   := "ai" | "ai=" (yes|no)     only records flagged (or not flagged) as concerning AI
//!         | "system=" name ("," name)*   source systems (as configured, case-insensitive)
//!         | "kind=" kind ("," kind)*     record kinds and their synonyms (risk, soa, capa …)
//!         | "hs=" clause ("," clause)*   HS clauses: a group (7), a clause (9.2) or a
//!                                        sub-clause (9.2.2, which selects its clause 9.2)
//! ```
//!
//! Values of one key are alternatives; the parts must all hold. Each key at most once.

use std::fmt;
use std::str::FromStr;

use imsbridge_model::{Record, RecordKind};

use crate::ScopeError;

/// A parsed scope. The default selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Source systems, lower-cased; empty: all.
    pub systems: Vec<String>,
    /// Record kinds; empty: all.
    pub kinds: Vec<RecordKind>,
    /// HS clause numbers as written; empty: all. Checked against the mappings when the pack
    /// is built, since the parser has no mapping data.
    pub hs: Vec<String>,
    /// `Some(true)`: AI-flagged records only; `Some(false)`: the others only.
    pub ai: Option<bool>,
    text: String,
}

const KEYS: &str = "system=…, kind=…, hs=… or ai";

impl Scope {
    /// Everything: no filter.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Reads the syntax in the module documentation; an error names the part at fault.
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        let mut scope = Scope {
            text: text.trim().to_string(),
            ..Scope::default()
        };
        if scope.text.is_empty() || scope.text.eq_ignore_ascii_case("all") {
            return Ok(scope);
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, raw) in text.split(';').enumerate() {
            let part = raw.trim();
            let bad = |reason: String| ScopeError {
                index: i + 1,
                part: part.to_string(),
                reason,
            };
            if part.is_empty() {
                return Err(bad(
                    "empty part; separate parts with a single `;`".to_string()
                ));
            }
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
                None => (part.to_ascii_lowercase(), None),
            };
            if seen.contains(&key) {
                return Err(bad(format!(
                    "`{key}` is given twice; list alternatives with commas, e.g. {key}=a,b"
                )));
            }
            seen.push(key.clone());
            if key == "ai" {
                scope.ai = Some(match value.map(str::to_ascii_lowercase).as_deref() {
                    None | Some("yes" | "true" | "1") => true,
                    Some("no" | "false" | "0") => false,
                    Some(other) => {
                        return Err(bad(format!("`ai` takes yes or no, not `{other}`")));
                    }
                });
                continue;
            }
            let Some(value) = value else {
                return Err(bad(format!("unknown flag `{key}`; expected {KEYS}")));
            };
            let values: Vec<&str> = value.split(',').map(str::trim).collect();
            if values.iter().any(|v| v.is_empty()) {
                return Err(bad(format!(
                    "`{key}` needs a value after `=` and between commas"
                )));
            }
            match key.as_str() {
                "system" => {
                    scope.systems = values.iter().map(|v| v.to_lowercase()).collect();
                }
                "kind" => {
                    for v in values {
                        let kind = RecordKind::from_str(v).map_err(|_| {
                            bad(format!(
                                "unknown record kind `{v}`; expected one of {}",
                                RecordKind::ALL_NAMES.join(", ")
                            ))
                        })?;
                        if !scope.kinds.contains(&kind) {
                            scope.kinds.push(kind);
                        }
                    }
                }
                "hs" => {
                    for v in values {
                        let number = v
                            .strip_prefix(['H', 'h'])
                            .and_then(|r| r.strip_prefix(['S', 's']))
                            .map_or(v, str::trim);
                        let valid = number
                            .split('.')
                            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                        if !valid {
                            return Err(bad(format!(
                                "`{v}` is not an HS clause number; write e.g. hs=9.2 or hs=7"
                            )));
                        }
                        scope.hs.push(number.to_string());
                    }
                }
                other => return Err(bad(format!("unknown key `{other}`; expected {KEYS}"))),
            }
        }
        Ok(scope)
    }

    /// Whether the record passes the system, kind and AI parts (the HS part needs the record's
    /// HS clauses and is applied by the pack builder).
    pub fn admits(&self, record: &Record) -> bool {
        if !self.kinds.is_empty() && !self.kinds.contains(&record.kind()) {
            return false;
        }
        if let Some(ai) = self.ai
            && record.ai.flagged != ai
        {
            return false;
        }
        self.systems.is_empty()
            || self
                .systems
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&record.provenance.system))
    }

    /// Whether the scope selects everything.
    pub fn is_all(&self) -> bool {
        self.systems.is_empty() && self.kinds.is_empty() && self.hs.is_empty() && self.ai.is_none()
    }
}

impl fmt::Display for Scope {
    /// The text as given, or `all`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str("all")
        } else {
            f.write_str(&self.text)
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_syntax() {
        let s = Scope::parse(" system=ERM,isms; kind=risk,capa ; ai; hs=9.2,7").unwrap();
        assert_eq!(s.systems, ["erm", "isms"]);
        assert_eq!(s.kinds, [RecordKind::Risk, RecordKind::Nonconformity]);
        assert_eq!(s.ai, Some(true));
        assert_eq!(s.hs, ["9.2", "7"]);
        assert!(Scope::parse("").unwrap().is_all());
        assert!(Scope::parse("all").unwrap().is_all());
        assert_eq!(Scope::parse("ai=no").unwrap().ai, Some(false));
    }

    #[test]
    fn errors_name_the_bad_part() {
        let e = Scope::parse("system=erm;kind=widget").unwrap_err();
        assert_eq!((e.index, e.part.as_str()), (2, "kind=widget"));
        assert!(
            e.to_string().contains("unknown record kind `widget`"),
            "{e}"
        );
        let e = Scope::parse("ai;colour=red").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("scope part 2 `colour=red`: unknown key"),
            "{e}"
        );
        assert_eq!(Scope::parse("kind=risk;kind=control").unwrap_err().index, 2);
        assert!(
            Scope::parse("hs=9.x")
                .unwrap_err()
                .reason
                .contains("not an HS clause")
        );
        assert!(Scope::parse("system=").is_err());
        assert!(Scope::parse("system=a;;ai").is_err());
        assert!(Scope::parse("ai=maybe").is_err());
    }
}
