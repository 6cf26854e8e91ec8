//! The connector framework: what every connector under `connectors/` implements, and the
//! configuration every `[[system]]` entry shares.
//!
//! ```
//! use imsbridge_connector::{SystemEntry, ConflictPolicy};
//!
//! let table: toml::Table = toml::from_str(r#"
//!     name = "ca"
//!     type = "ciso-assistant"
//!     base_url = "https://ciso.example.org"
//!     token_env = "CA_TOKEN"
//!     folder = "AI Governance"
//! "#).unwrap();
//! let entry = SystemEntry::split(0, table).unwrap();
//! assert_eq!(entry.common.name, "ca");
//! assert_eq!(entry.common.connector, "ciso-assistant");
//! assert_eq!(entry.common.conflict, ConflictPolicy::Report);
//! // What only the connector understands is left for its own `Config`.
//! assert!(entry.specific.contains_key("folder"));
//! ```
//!
//! A connector is a *source* ([`Source`]: streams read page by page into the unified model),
//! a *target* ([`Target`]: records looked up by correlation, created and updated), or both.
//! Connectors know nothing of the store, of other connectors or of the command line: the
//! sync engine drives them.

mod config;
mod credentials;
mod error;
mod source;
mod target;

pub use config::{
    COMMON_KEYS, CommonConfig, ConflictPolicy, SystemEntry, deserialize_specific, env_lookup,
};
pub use credentials::{Credentials, SecretSource};
pub use error::{ConfigError, ConnectorError, MapError};
pub use source::{Page, Reject, Source, StreamInfo};
pub use target::{
    Check, CheckStatus, Conversion, Desired, FieldMap, RemoteRecord, Target, correlation_id,
};

/// A boxed, sendable future: the traits return these so that the engine can hold every
/// configured connector as `dyn Source` / `dyn Target` side by side.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
