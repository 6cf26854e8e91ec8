use std::path::PathBuf;

/// A `[[system]]` entry that cannot be used. Messages name the entry and the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key is wrong or missing; `path` is the key path (`system[1].token_env`).
    #[error("{path}: {message}")]
    Key { path: String, message: String },
    #[error("system `{system}`: {key} names the environment variable {variable}, which is not set")]
    MissingEnv {
        system: String,
        key: &'static str,
        variable: String,
    },
    #[error("system `{system}`: {key} names the file {}, which cannot be read: {source}", path.display())]
    SecretFile {
        system: String,
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("system `{system}`: {message}")]
    Invalid { system: String, message: String },
}

impl ConfigError {
    pub fn invalid(system: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            system: system.to_string(),
            message: message.into(),
        }
    }
}

/// What a connector reports when reading or writing fails.
///
/// The engine needs to know one thing beyond the message: whether the failure leaves the
/// outcome of a write unknown (`Ambiguous`), in which case it looks the record up by its
/// correlation id before it tries again, so that a retry never creates a duplicate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The request may or may not have taken effect (timeout, reset, 5xx on a create).
    #[error("{system}: {message}")]
    Ambiguous { system: String, message: String },
    /// The remote refused or failed; retrying the same request will not help.
    #[error("{system}: {message}")]
    Remote { system: String, message: String },
    /// A remote object could not be mapped (location names the object, e.g. an API path).
    #[error("{system}: {location}: {message}")]
    Map {
        system: String,
        location: String,
        message: String,
    },
    /// The record cannot be written to this target (e.g. no title); the item is skipped.
    #[error("{system}: {message}")]
    Unwritable { system: String, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl ConnectorError {
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, ConnectorError::Ambiguous { .. })
    }
}

/// Why one remote object could not be mapped to the model: the JSON position inside the
/// object (`fields.summary`, `inherent_proba`; empty for the object itself) and what is wrong
/// there. Connectors turn it into a [`crate::Reject`] that keeps the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    pub path: String,
    pub message: String,
}

impl MapError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> MapError {
        MapError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}
