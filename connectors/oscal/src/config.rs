//! The keys of a `[[system]]` entry of type `oscal`: OSCAL files read as a configured system.

use imsbridge_model::{RecordKind, StandardId};
use serde::Deserialize;
use thiserror::Error;

use crate::client::{Limits, ReadOptions};
use crate::map::{CatalogKind, MapOptions};

/// OSCAL settings of one `[[system]]` entry (besides `name` and the keys every system takes):
/// which documents `imsbridge pull` reads for it and how.
///
/// ```toml
/// [[system]]
/// name = "fedramp-poam"
/// type = "oscal"
/// path = "oscal/*.json"        # a file, a folder, or a glob; relative to the config file
/// kinds = ["risk"]             # optional: import only these kinds
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// An OSCAL document (JSON or XML: catalog, profile, POA&M or assessment results), a folder
    /// of them, or a glob pattern (`oscal/*.xml`).
    pub path: String,
    /// What catalog and profile controls become: `control` (default; one Statement of
    /// Applicability line each) or `requirement_assessment` (requirements to assess, not yet
    /// assessed).
    #[serde(default)]
    pub kind: Option<String>,
    /// Import only these record kinds (`risk`, `corrective_action`, `audit_finding`,
    /// `requirement_assessment`, `document`, `control`); default: all the document holds.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// The standard whose clause numbers a catalog's control labels are (`iso27001`): links
    /// its controls to those clauses and, through them, to the Harmonized Structure.
    #[serde(default)]
    pub standard: Option<String>,
    /// The largest document read, in MiB (default 256).
    #[serde(default)]
    pub max_size_mib: Option<u64>,
    /// How deeply the document may nest (default 64 levels of JSON objects and arrays, or XML
    /// elements).
    #[serde(default)]
    pub max_depth: Option<usize>,
}

/// A configuration value that cannot be used; `key` names it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl SystemConfig {
    /// Checks every value; messages name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.read_options().map(|_| ())
    }

    /// The options the entry asks for.
    pub fn read_options(&self) -> Result<ReadOptions, ConfigError> {
        if self.path.trim().is_empty() {
            return Err(error(
                "path",
                "empty: name an OSCAL file, a folder or a glob pattern",
            ));
        }
        let catalog_kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => CatalogKind::Control,
            Some(k) => match k.parse::<RecordKind>() {
                Ok(RecordKind::Control) => CatalogKind::Control,
                Ok(RecordKind::RequirementAssessment) => CatalogKind::RequirementAssessment,
                _ => {
                    return Err(error(
                        "kind",
                        format!(
                            "{k:?}: catalog controls become `control` or `requirement_assessment`"
                        ),
                    ));
                }
            },
        };
        let mut kinds = Vec::new();
        for (i, k) in self.kinds.iter().enumerate() {
            let kind = k
                .parse::<RecordKind>()
                .map_err(|e| error(&format!("kinds[{i}]"), e.to_string()))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let standard = match self.standard.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<StandardId>()
                    .map_err(|e| error("standard", e.to_string()))?,
            ),
        };
        let mut limits = Limits::default();
        if let Some(mib) = self.max_size_mib {
            if mib == 0 {
                return Err(error("max_size_mib", "must be at least 1"));
            }
            limits.max_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(depth) = self.max_depth {
            if !(8..=1024).contains(&depth) {
                return Err(error(
                    "max_depth",
                    format!("{depth}: must be between 8 and 1024"),
                ));
            }
            limits.max_depth = depth;
        }
        Ok(ReadOptions {
            limits,
            map: MapOptions {
                catalog_kind,
                kinds,
                standard,
                ..MapOptions::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_like: &[(&str, &str)]) -> SystemConfig {
        let mut c = SystemConfig {
            path: "poam.json".into(),
            ..SystemConfig::default()
        };
        for (k, v) in toml_like {
            match *k {
                "kind" => c.kind = Some(v.to_string()),
                "kinds" => c.kinds = v.split(',').map(str::to_string).collect(),
                "standard" => c.standard = Some(v.to_string()),
                _ => {}
            }
        }
        c
    }

    #[test]
    fn reads_kinds_and_standard() {
        let o = config(&[
            ("kind", "requirement_assessment"),
            ("kinds", "risk,findings"),
            ("standard", "27001"),
        ])
        .read_options()
        .unwrap();
        assert_eq!(o.map.catalog_kind, CatalogKind::RequirementAssessment);
        assert_eq!(
            o.map.kinds,
            vec![RecordKind::Risk, RecordKind::AuditFinding]
        );
        assert_eq!(o.map.standard, Some(StandardId::Iso27001));
    }

    #[test]
    fn names_the_bad_key() {
        let e = config(&[("kind", "risk")]).validate().unwrap_err();
        assert_eq!(e.key, "kind");
        let e = config(&[("kinds", "risk,widgets")]).validate().unwrap_err();
        assert_eq!(e.key, "kinds[1]");
        let e = SystemConfig::default().validate().unwrap_err();
        assert_eq!(e.key, "path");
    }
}
