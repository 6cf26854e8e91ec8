//! The keys of a `[[system]]` entry that only the CISO Assistant connector understands. The
//! shared keys (`name`, `base_url`, `token_env`, `write`, `timeout_secs` …) are the framework's
//! [`CommonConfig`](imsbridge_connector::CommonConfig).

use std::collections::BTreeMap;

use imsbridge_connector::{ConfigError, SystemEntry};
use imsbridge_model::RecordKind;
use serde::Deserialize;

/// The risk matrix a new risk assessment is created with when `risk_matrix` is not set: the
/// 5x5 matrix of ISO/IEC 27005 Annex A that CISO Assistant ships as a library.
pub const DEFAULT_RISK_MATRIX: &str = "urn:intuitem:risk:matrix:5x5-iso27005";

/// The default number of objects per page (`limit`).
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The largest page size accepted: big pages of risk scenarios (each carries its matrix
/// levels with all their translations) make slow answers that run into the timeout.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// CISO Assistant settings of one `[[system]]` entry.
///
/// ```toml
/// [[system]]
/// name = "ca"
/// type = "ciso-assistant"
/// base_url = "https://ciso.example.org"
/// token_env = "CA_TOKEN"
/// write = ["risk"]
/// folder = "AI Governance"
/// perimeter = "AI Platform"
/// risk_assessment = "AI risk register"
/// create = true
/// owner_actors = { "Head of Data Science" = "87ca52f5-5978-4a77-9e37-cc8b62851f81" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The folder (CISO Assistant "domain") the risk assessment lives in, by name or UUID.
    /// Names of perimeters and assessments repeat across folders; the folder tells them apart.
    #[serde(default)]
    pub folder: Option<String>,
    /// The perimeter inside the folder, by name or UUID.
    #[serde(default)]
    pub perimeter: Option<String>,
    /// The risk assessment AI risks are written to (and whose scenarios are flagged as AI
    /// risks when read), by name or UUID. Required when `write` is set.
    #[serde(default)]
    pub risk_assessment: Option<String>,
    /// The URN of the risk matrix a new risk assessment is created with (default
    /// `urn:intuitem:risk:matrix:5x5-iso27005`). Its library must be loaded in CISO Assistant.
    /// An existing assessment keeps its own matrix: CISO Assistant fixes it at creation.
    #[serde(default = "default_risk_matrix")]
    pub risk_matrix: String,
    /// Create the folder, perimeter and risk assessment when they do not exist (default
    /// false). Needs `folder`, `perimeter` and `risk_assessment` given by name.
    #[serde(default)]
    pub create: bool,
    /// Objects per page when reading (default 100, at most 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Local owner names → CISO Assistant actor UUIDs (the `actor_id` of a user, from
    /// `GET /api/iam/current-user/`, not the user id). Owners not listed here are not written;
    /// the plan says which.
    #[serde(default)]
    pub owner_actors: BTreeMap<String, String>,
    /// Flag the risk scenarios of `risk_assessment` as AI risks when reading (default true).
    #[serde(default = "default_true")]
    pub ai: bool,
}

fn default_risk_matrix() -> String {
    DEFAULT_RISK_MATRIX.to_string()
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

fn default_true() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            folder: None,
            perimeter: None,
            risk_assessment: None,
            risk_matrix: default_risk_matrix(),
            create: false,
            page_size: DEFAULT_PAGE_SIZE,
            owner_actors: BTreeMap::new(),
            ai: true,
        }
    }
}

impl Config {
    /// Checks the values against each other and against the entry's shared keys. Every
    /// message names the key path (`system[1] (ca).perimeter`).
    pub fn validate(&self, entry: &SystemEntry) -> Result<(), ConfigError> {
        let key = |name: &str, message: String| ConfigError::Key {
            path: format!("{}.{name}", entry.path()),
            message,
        };
        let common = &entry.common;

        entry.check_base_url(
            "CISO Assistant needs base_url, the address of its API (https://ciso.example.org)",
        )?;
        if common.token_env.is_none() && common.token_file.is_none() {
            return Err(key(
                "token_env",
                "CISO Assistant needs an API token: set token_env (or token_file) to a personal \
                 access token (CISO Assistant: Settings → Personal access tokens)"
                    .into(),
            ));
        }

        for (name, value) in [
            ("folder", &self.folder),
            ("perimeter", &self.perimeter),
            ("risk_assessment", &self.risk_assessment),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(key(
                    name,
                    "is empty: give a name or a UUID, or leave the key out".into(),
                ));
            }
        }
        if !self.risk_matrix.trim().starts_with("urn:") {
            return Err(key(
                "risk_matrix",
                format!(
                    "{:?} is not a risk matrix URN (such as {DEFAULT_RISK_MATRIX})",
                    self.risk_matrix
                ),
            ));
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(key(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        for (owner, actor) in &self.owner_actors {
            if !is_uuid(actor) {
                return Err(key(
                    &format!("owner_actors.{owner:?}"),
                    format!(
                        "{actor:?} is not an actor UUID (the actor_id of GET /api/iam/current-user/)"
                    ),
                ));
            }
        }

        // Keys every system takes but this one cannot honour are refused rather than ignored:
        // a setting that silently does nothing is worse than an error.
        if common.scale.is_some() {
            return Err(key(
                "scale",
                "CISO Assistant rates on the risk matrix of the risk assessment; ratings are \
                 converted to it, so `scale` does not apply (remove it)"
                    .into(),
            ));
        }
        if !common.fields.is_empty() {
            return Err(key(
                "fields",
                "the CISO Assistant connector writes a fixed set of risk scenario fields (see \
                 the README's mapping table); `fields` overrides are not supported for it"
                    .into(),
            ));
        }
        if common.username_env.is_some() || common.username_file.is_some() {
            return Err(key(
                "username_env",
                "CISO Assistant takes an API token (token_env or token_file), not a user name \
                 and password"
                    .into(),
            ));
        }

        // Only risks are written; other kinds are read only.
        for word in &common.write {
            if let Ok(kind) = word.parse::<RecordKind>()
                && kind != RecordKind::Risk
            {
                return Err(key(
                    "write",
                    format!("CISO Assistant takes `risk` records only, not `{word}`"),
                ));
            }
        }
        if !common.write.is_empty() && self.risk_assessment.is_none() {
            return Err(key(
                "risk_assessment",
                "is required when `write` is set: the risk assessment risks are written to".into(),
            ));
        }
        if self.create {
            for (name, value) in [
                ("folder", &self.folder),
                ("perimeter", &self.perimeter),
                ("risk_assessment", &self.risk_assessment),
            ] {
                if value.is_none() {
                    return Err(key(
                        name,
                        "is required with `create = true`: the connector creates what is \
                         missing by name"
                            .into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `text` is a UUID in its hyphenated form (how CISO Assistant writes ids): configured
/// values that look like one are looked up by id, everything else by name.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.trim().as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use imsbridge_connector::deserialize_specific;

    use super::*;

    fn entry(text: &str) -> SystemEntry {
        SystemEntry::split(0, toml::from_str(text).unwrap()).unwrap()
    }

    const BASE: &str =
        "name='ca'\ntype='ciso-assistant'\nbase_url='https://ca.example'\ntoken_env='T'\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        let e = entry(&format!("{BASE}{extra}"));
        let config: Config = deserialize_specific(&e)?;
        config.validate(&e)?;
        Ok(config)
    }

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.risk_matrix, "urn:intuitem:risk:matrix:5x5-iso27005");
        assert_eq!(c.page_size, 100);
        assert!(c.ai);
        assert!(!c.create);
    }

    #[test]
    fn reads_every_key() {
        let c = parse(
            "folder='F'\nperimeter='P'\nrisk_assessment='A'\ncreate=true\npage_size=10\nai=false\n\
             risk_matrix='urn:intuitem:risk:matrix:3x3-mult'\n\
             owner_actors={ 'Dana' = '87ca52f5-5978-4a77-9e37-cc8b62851f81' }",
        )
        .unwrap();
        assert_eq!(c.folder.as_deref(), Some("F"));
        assert_eq!(c.page_size, 10);
        assert!(!c.ai && c.create);
        assert_eq!(c.owner_actors.len(), 1);
    }

    #[test]
    fn shared_keys_it_cannot_honour_are_refused() {
        for (extra, key) in [
            ("scale='1-5'", "scale"),
            ("fields={ title = 'summary' }", "fields"),
            ("username_env='U'\npassword_env='P'", "username_env"),
        ] {
            let err = parse(extra).unwrap_err().to_string();
            assert!(err.contains(&format!("(ca).{key}")), "{extra}: {err}");
        }
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("risk_assesment='A'").unwrap_err().to_string();
        assert!(
            err.contains("risk_assesment") && err.contains("system[0] (ca)"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("page_size=0", "page_size"),
            ("risk_matrix='5x5'", "risk_matrix"),
            (
                "owner_actors={ 'Dana' = 'dana@example.org' }",
                "owner_actors",
            ),
            ("folder=' '", "folder"),
            ("create=true\nfolder='F'", "perimeter"),
            ("write=['risk']", "risk_assessment"),
            ("write=['incident']\nrisk_assessment='A'", "write"),
        ];
        for (extra, key) in cases {
            let err = parse(extra).unwrap_err().to_string();
            assert!(err.contains(&format!("(ca).{key}")), "{extra}: {err}");
        }
    }

    #[test]
    fn base_url_and_token_are_required() {
        let e = entry("name='ca'\ntype='ciso-assistant'\ntoken_env='T'");
        let err = Config::default().validate(&e).unwrap_err().to_string();
        assert!(err.contains("base_url"), "{err}");
        let e = entry("name='ca'\ntype='ciso-assistant'\nbase_url='ftp://x'\ntoken_env='T'");
        let err = Config::default().validate(&e).unwrap_err().to_string();
        assert!(err.contains("http"), "{err}");
        let e = entry("name='ca'\ntype='ciso-assistant'\nbase_url='https://x'");
        let err = Config::default().validate(&e).unwrap_err().to_string();
        assert!(err.contains("token_env"), "{err}");
    }

    #[test]
    fn recognises_uuids() {
        assert!(is_uuid("229498b5-131d-4aca-80e8-adc3a7900f9f"));
        assert!(!is_uuid("AI risk register"));
        assert!(!is_uuid("229498b5131d4aca80e8adc3a7900f9f"));
    }
}
