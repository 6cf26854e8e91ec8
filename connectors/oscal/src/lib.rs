//! OSCAL for imsbridge: reads NIST OSCAL catalogs, profiles, POA&Ms and assessment results
//! (JSON or XML, OSCAL 1.0–1.2) into unified-model records, and writes records and mapping
//! data back out as OSCAL.
//!
//! ```
//! use imsbridge_connector_oscal::{ExportOptions, ReadOptions, export, read_bytes};
//! use imsbridge_mappings::Mappings;
//! use imsbridge_model::RecordKind;
//!
//! let json = br#"{"plan-of-action-and-milestones": {
//!   "uuid": "714210d2-f8df-448c-be3e-e2213816cf79",
//!   "metadata": {"title": "POA&M", "last-modified": "2024-02-01T13:57:28Z",
//!                "version": "1", "oscal-version": "1.1.2"},
//!   "risks": [{"uuid": "8b8bae66-b28c-4fa5-9a20-b79e7322fc00", "title": "Over-privileged staff",
//!     "description": "Staff can edit the database.", "statement": "An outage.", "status": "open",
//!     "characterizations": [{
//!       "origin": {"actors": [{"type": "party", "actor-uuid": "e7730080-71ce-4b20-bec4-84f33136fd58"}]},
//!       "facets": [{"name": "likelihood", "system": "http://csrc.nist.gov/ns/oscal", "value": "low"}]}],
//!     "deadline": "2024-01-01T05:00:00-04:00"}],
//!   "poam-items": [{"title": "Tighten roles", "description": "Remove the admin role.",
//!     "related-risks": [{"risk-uuid": "8b8bae66-b28c-4fa5-9a20-b79e7322fc00"}]}]
//! }}"#;
//! let mappings = Mappings::embedded()?;
//! let imported = read_bytes(json, "poam.json", "grc", &ReadOptions::default(), &mappings)?;
//! // The risk, and the POA&M item as a corrective action.
//! assert_eq!(imported.records.len(), 2);
//! let risk = &imported.records[0];
//! assert_eq!(risk.kind(), RecordKind::Risk);
//! assert_eq!(risk.dates.due.map(|d| d.to_string()).as_deref(), Some("2024-01-01"));
//!
//! // …and back out as OSCAL, JSON or XML.
//! let poam = export::poam(&imported.records, &ExportOptions::new(chrono::Utc::now()))?;
//! assert!(poam.to_json().starts_with("{\n  \"plan-of-action-and-milestones\""));
//! assert!(poam.to_xml().contains("xmlns=\"http://csrc.nist.gov/ns/oscal/1.0\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`client`]: reading files — format by content ([`detect`]), size and depth limits, UTF-8,
//!   JSON through serde into typed structs, XML streamed with quick-xml into the same structs
//!   (no DTDs, no entity expansion); [`read_path`] and friends into records.
//! - [`document`]: the typed OSCAL model both formats share, with its XML reading and writing.
//! - [`markup`]: OSCAL rich text (Markdown in JSON, HTML-like in XML) as one tree.
//! - [`map`]: documents into records ([`Imported`]: records, rejects, warnings).
//! - [`export`]: records and mapping data into documents (POA&M, assessment results, catalog,
//!   mapping collection).
//! - [`config`]: the `[[system]]` keys of a configured OSCAL source ([`SystemConfig`]).

pub mod client;
pub mod config;
pub mod document;
pub mod error;
pub mod export;
pub mod map;
pub mod markup;
mod xml;

pub use client::{
    Format, Limits, ReadOptions, detect, from_json_str, from_xml_str, parse_bytes, parse_path,
    parse_reader, read_bytes, read_path, read_path_with, read_reader,
};
pub use config::{ConfigError, SystemConfig};
pub use document::{Document, ModelKind};
pub use error::{ErrorKind, ExportError, Location, OscalError};
pub use export::ExportOptions;
pub use map::{CatalogKind, Imported, Issue, MapOptions, Rejected};
