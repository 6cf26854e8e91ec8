//! The keys every `[[system]]` entry shares, and the split between them and the keys only
//! the entry's connector understands.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ConfigError;

/// The keys every system type accepts. Everything else in a `[[system]]` table belongs to the
/// connector, whose own `Config` rejects what it does not know.
pub const COMMON_KEYS: &[&str] = &[
    "name",
    "type",
    "base_url",
    "token_env",
    "token_file",
    "username_env",
    "username_file",
    "password_env",
    "password_file",
    "conflict",
    "read",
    "write",
    "scale",
    "fields",
    "concurrency",
    "rate_limit",
    "timeout_secs",
    "overlap_secs",
];

/// What to do when the remote record was edited since the last sync and the local record
/// would change it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Plan the item as a conflict and write nothing: a person decides.
    #[default]
    Report,
    /// Overwrite the remote edit with the local values.
    LocalWins,
    /// Keep the remote edit; the local change is not written.
    RemoteWins,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::Report => "report",
            ConflictPolicy::LocalWins => "local-wins",
            ConflictPolicy::RemoteWins => "remote-wins",
        }
    }
}

/// The keys of a `[[system]]` entry that mean the same for every connector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonConfig {
    /// The system's name: used on the command line (`--system`, `--target`), in provenance and
    /// in the store's links. Renaming a system orphans its links.
    pub name: String,
    /// The connector: `spreadsheet`, `ciso-assistant`, …
    #[serde(rename = "type")]
    pub connector: String,
    /// The API's base URL (`https://ciso.example.org`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding an API token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A file holding an API token (its first line).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub username_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// When the remote was edited since the last sync: `report` (default), `local-wins`,
    /// `remote-wins`.
    #[serde(default)]
    pub conflict: ConflictPolicy,
    /// The streams `pull` reads (default: all the connector has).
    #[serde(default)]
    pub read: Option<Vec<String>>,
    /// The record kinds `plan`/`sync` write to this system (`risk`, `incident`); empty or
    /// absent: the system is not a sync target.
    #[serde(default)]
    pub write: Vec<String>,
    /// The risk scale (an id under `mappings/scales/`) the system rates on, where the
    /// connector cannot read it from the system itself.
    #[serde(default)]
    pub scale: Option<String>,
    /// Field mapping overrides: unified-model field → remote field.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Requests in flight at once (default 4).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Requests per second (default: unlimited).
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// Per-request timeout in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// How far an incremental read reaches back before the saved cursor, in seconds
    /// (default 300): the APIs' timestamps are coarse and clocks differ.
    #[serde(default)]
    pub overlap_secs: Option<u64>,
}

impl CommonConfig {
    /// The incremental read's overlap window.
    pub fn overlap(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.overlap_secs.unwrap_or(300)).unwrap_or(300))
    }
}

/// One `[[system]]` entry, split into the shared keys and the connector's own.
#[derive(Debug, Clone)]
pub struct SystemEntry {
    /// The entry's position in the file (for messages: `system[2]`).
    pub index: usize,
    pub common: CommonConfig,
    /// The keys left for the connector's `Config`.
    pub specific: toml::Table,
}

impl SystemEntry {
    /// Splits a `[[system]]` table; checks the shared keys (unknown connector keys are left to
    /// [`deserialize_specific`]).
    pub fn split(index: usize, table: toml::Table) -> Result<SystemEntry, ConfigError> {
        let (common, specific): (toml::Table, toml::Table) = table
            .into_iter()
            .partition(|(k, _)| COMMON_KEYS.contains(&k.as_str()));
        let prefix = format!("system[{index}]");
        let common: CommonConfig = deserialize_at(&prefix, common)?;
        if common.name.trim().is_empty() {
            return Err(ConfigError::Key {
                path: format!("{prefix}.name"),
                message: "a system needs a non-empty name".into(),
            });
        }
        Ok(SystemEntry {
            index,
            common,
            specific,
        })
    }

    /// The key path prefix for messages: `system[1] (ca)`.
    /// Checks that `base_url` is set and is an http(s) address with a host; `missing` is the
    /// message when it is not set (what the address of this system looks like).
    pub fn check_base_url(&self, missing: &str) -> Result<(), ConfigError> {
        let key = |message: String| ConfigError::Key {
            path: format!("{}.base_url", self.path()),
            message,
        };
        match self.common.base_url.as_deref().map(str::trim) {
            None | Some("") => Err(key(missing.to_string())),
            Some(url) => match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
                Ok(_) => Err(key(format!(
                    "{url:?} is not an http:// or https:// address"
                ))),
                Err(e) => Err(key(format!("{url:?} is not a URL: {e}"))),
            },
        }
    }

    pub fn path(&self) -> String {
        format!("system[{}] ({})", self.index, self.common.name)
    }
}

/// Deserializes a connector's own keys; an unknown key is reported with its path and the
/// keys the connector and the framework accept.
pub fn deserialize_specific<T: DeserializeOwned>(entry: &SystemEntry) -> Result<T, ConfigError> {
    deserialize_at(&entry.path(), entry.specific.clone()).map_err(|e| match e {
        ConfigError::Key { path, message } if message.starts_with("unknown field") => {
            ConfigError::Key {
                path,
                message: format!(
                    "{message}; every system also takes {}",
                    COMMON_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        other => other,
    })
}

fn deserialize_at<T: DeserializeOwned>(prefix: &str, table: toml::Table) -> Result<T, ConfigError> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{inner}")
        };
        ConfigError::Key {
            path,
            message: e.into_inner().to_string().trim_end().to_string(),
        }
    })
}

/// Reads an environment variable; the seam tests replace.
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn splits_common_and_specific_keys() {
        let entry = SystemEntry::split(
            0,
            table("name = 'ca'\ntype = 'ciso-assistant'\nconflict = 'local-wins'\nfolder = 'X'"),
        )
        .unwrap();
        assert_eq!(entry.common.conflict, ConflictPolicy::LocalWins);
        assert_eq!(entry.specific.len(), 1);
    }

    #[test]
    fn bad_common_value_names_its_path() {
        let err = SystemEntry::split(2, table("name = 'ca'\ntype = 'x'\nconflict = 'mine'"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("system[2].conflict:"), "{err}");
        assert!(err.contains("report"), "{err}");
    }

    #[test]
    fn unknown_connector_key_lists_the_accepted_keys() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Specific {
            folder: Option<String>,
        }
        let entry =
            SystemEntry::split(1, table("name = 'ca'\ntype = 'x'\ntokn_env = 'T'")).unwrap();
        let err = deserialize_specific::<Specific>(&entry)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("system[1] (ca)"), "{err}");
        assert!(err.contains("tokn_env"), "{err}");
        assert!(
            err.contains("`folder`") && err.contains("`token_env`"),
            "{err}"
        );
    }

    #[test]
    fn missing_name_is_an_error() {
        let err = SystemEntry::split(0, table("type = 'x'"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("name"), "{err}");
    }
}
