//! HS clauses, clause maps, crosswalks, rating scales and column profiles from `mappings/`.
//!
//! ```
//! use imsbridge_mappings::{Dimension, Field, Mappings};
//! use imsbridge_model::{ClauseRef, Relationship, StandardId};
//!
//! let mappings = Mappings::embedded()?;
//!
//! // An Annex A control sits on HS 6.1 through ISO/IEC 27001 6.1.3.
//! let links = mappings.hs_links(&ClauseRef::new(StandardId::Iso27001, "A.5.7"))?;
//! assert_eq!(links[0].clause, "6.1");
//! assert_eq!(links[0].relationship, Relationship::Intersects);
//!
//! // ISO 9001 10.3 and ISO/IEC 27001 10.1 meet at HS 10.1 (Continual improvement).
//! let pair = mappings
//!     .crosswalk(StandardId::Iso9001, StandardId::Iso27001)
//!     .into_iter()
//!     .find(|p| p.from == "10.3" && p.to == "10.1")
//!     .expect("9001 10.3 and 27001 10.1 share HS 10.1");
//! assert_eq!((pair.via.as_str(), pair.relationship), ("10.1", Relationship::Superset));
//!
//! // Ratings are read as registers write them and normalised onto 1–5.
//! let scale = mappings.detect_scale(Dimension::Likelihood, &["Low", "High"]).unwrap();
//! assert_eq!(scale.id(), "low-medium-high");
//! assert_eq!(scale.read(" HIGH ").map(|r| r.normalised), Some(5.0));
//!
//! // Headers are matched tolerantly.
//! let profile = mappings.default_profile();
//! assert_eq!(profile.match_header("Likelihood (1-5)*", None), Some(Field::Likelihood));
//! # Ok::<(), imsbridge_mappings::MappingsError>(())
//! ```
//!
//! The data lives in TOML files under `mappings/` at the workspace root, embedded at build time
//! and overridable file by file from a folder ([`Mappings::load`]); `mappings/README.md`
//! describes the formats.

mod clauses;
mod error;
mod field;
mod files;
mod fold;
mod mappings;
mod profile;
mod scale;

pub use clauses::{Clause, ClauseKind, Confidence, HsClause, HsMapping, StandardMap};
pub use error::MappingsError;
pub use field::Field;
pub use mappings::{ClauseSummary, CrosswalkPair, HsRelation, Mappings};
pub use profile::{DateOrder, Profile};
pub use scale::{Band, Dimension, Level, SCORE_MAX, SCORE_MIN, Scale, ScaleReading};
