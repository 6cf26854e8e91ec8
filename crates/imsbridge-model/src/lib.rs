//! The unified model every imsbridge connector maps into: plain data and pure functions, no I/O.
//!
//! ```
//! use imsbridge_model::{ClauseRef, RecordId, RecordKind, StandardId};
//!
//! // Re-importing the same row of the same system always yields the same id.
//! let a = RecordId::from_source("risk-register.xlsx", RecordKind::Risk, "R-7");
//! let b = RecordId::from_source("risk-register.xlsx", RecordKind::Risk, "R-7");
//! assert_eq!(a, b);
//!
//! // Clause references are parsed once, at the edge, and typed from then on.
//! let clause = ClauseRef::parse("ISO/IEC 42001:2023 6.1.4", None).unwrap();
//! assert_eq!(clause.standard, StandardId::Iso42001);
//! assert_eq!(clause.clause, "6.1.4");
//! ```

mod ai;
mod clause;
mod conformity;
mod error;
mod id;
mod record;
mod relationship;
mod risk;
mod standard;
mod status;
mod words;

pub use ai::{AiFlag, AiRiskCategory, AiRiskTier};
pub use clause::{ClauseRef, HsLink};
pub use conformity::{Conformity, ImplementationStatus};
pub use error::ModelError;
pub use id::RecordId;
pub use record::{
    AiSystemDetails, AuditFindingDetails, ControlDetails, Dates, Details, DocumentDetails,
    FindingType, IncidentDetails, NonconformityDetails, ObjectiveDetails, Provenance, Record,
    RecordKind, RequirementAssessmentDetails,
};
pub use relationship::Relationship;
pub use risk::{
    COMMON_MAX, COMMON_MIN, RiskDetails, RiskRating, ScaleValue, Treatment, TreatmentOption,
};
pub use standard::StandardId;
pub use status::{Status, StatusCategory};
pub use words::normalise_word;
