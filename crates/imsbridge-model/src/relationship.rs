use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A set-theory relationship between two clauses (NIST IR 8477), read as "source compared with
/// target": `Subset` means the source clause covers only part of the target clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Equal,
    Subset,
    Superset,
    Intersects,
    NotRelated,
}

impl Relationship {
    pub const ALL: [Relationship; 5] = [
        Relationship::Equal,
        Relationship::Subset,
        Relationship::Superset,
        Relationship::Intersects,
        Relationship::NotRelated,
    ];

    /// The word used in mapping files and JSON output (`not_related`).
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Equal => "equal",
            Relationship::Subset => "subset",
            Relationship::Superset => "superset",
            Relationship::Intersects => "intersects",
            Relationship::NotRelated => "not_related",
        }
    }

    /// The same relationship read from the other side: A ⊂ B is B ⊃ A.
    pub fn inverse(self) -> Relationship {
        match self {
            Relationship::Subset => Relationship::Superset,
            Relationship::Superset => Relationship::Subset,
            other => other,
        }
    }

    /// Derives A → B from A → HS (`a_to_hs`) and B → HS (`b_to_hs`) for the same HS clause.
    ///
    /// Set composition: A → HS → B where HS → B is the inverse of B → HS.
    /// - B ≡ HS: A → B is A → HS.
    /// - A ≡ HS: A → B is HS → B, the inverse of B → HS.
    /// - A ⊇ HS ⊇ B: superset; A ⊆ HS ⊆ B: subset.
    /// - Anything else (e.g. both supersets of the HS clause, or either intersecting it) says
    ///   only that both overlap through the HS clause: intersects.
    /// - When either side is not related, so is the composition.
    pub fn compose_via_hs(a_to_hs: Relationship, b_to_hs: Relationship) -> Relationship {
        use Relationship::*;
        match (a_to_hs, b_to_hs) {
            (NotRelated, _) | (_, NotRelated) => NotRelated,
            (r1, Equal) => r1,
            (Equal, r2) => r2.inverse(),
            (Superset, Subset) => Superset,
            (Subset, Superset) => Subset,
            _ => Intersects,
        }
    }
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Relationship {
    type Err = ModelError;

    /// Accepts the NIST IR 8477 words in their usual spellings ("subset of", "intersects with",
    /// "equal-to", "no relationship").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let w = crate::normalise_word(s);
        Ok(match w.as_str() {
            "equal" | "equal to" | "equivalent" | "equivalent to" => Relationship::Equal,
            "subset" | "subset of" => Relationship::Subset,
            "superset" | "superset of" => Relationship::Superset,
            "intersects" | "intersect" | "intersects with" => Relationship::Intersects,
            "not related" | "not related to" | "no relationship" | "none" => {
                Relationship::NotRelated
            }
            _ => {
                return Err(ModelError::UnknownWord {
                    what: "relationship",
                    value: s.to_string(),
                    expected: "equal, subset, superset, intersects or not_related",
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Relationship::{self, *};

    #[test]
    fn composition_follows_the_set_rules() {
        // B equal to HS: A → B is A → HS.
        for r in Relationship::ALL {
            assert_eq!(Relationship::compose_via_hs(r, Equal), r);
        }
        // A equal to HS: A → B is the inverse of B → HS.
        assert_eq!(Relationship::compose_via_hs(Equal, Subset), Superset);
        assert_eq!(Relationship::compose_via_hs(Equal, Superset), Subset);
        assert_eq!(Relationship::compose_via_hs(Equal, Intersects), Intersects);
        // Chains through the HS clause.
        assert_eq!(Relationship::compose_via_hs(Superset, Subset), Superset);
        assert_eq!(Relationship::compose_via_hs(Subset, Superset), Subset);
        // Two supersets (or two subsets) of the same HS clause only overlap.
        assert_eq!(Relationship::compose_via_hs(Superset, Superset), Intersects);
        assert_eq!(Relationship::compose_via_hs(Subset, Subset), Intersects);
        assert_eq!(
            Relationship::compose_via_hs(Intersects, Superset),
            Intersects
        );
        assert_eq!(Relationship::compose_via_hs(NotRelated, Equal), NotRelated);
    }

    #[test]
    fn composition_is_consistent_with_reversal() {
        // Deriving B → A must give the inverse of A → B.
        for a in Relationship::ALL {
            for b in Relationship::ALL {
                assert_eq!(
                    Relationship::compose_via_hs(b, a),
                    Relationship::compose_via_hs(a, b).inverse(),
                    "{a} / {b}"
                );
            }
        }
    }

    #[test]
    fn parses_vocabulary_spellings() {
        assert_eq!("subset of".parse::<Relationship>(), Ok(Subset));
        assert_eq!("intersects-with".parse::<Relationship>(), Ok(Intersects));
        assert_eq!("not_related".parse::<Relationship>(), Ok(NotRelated));
        assert!("similar".parse::<Relationship>().is_err());
    }
}
