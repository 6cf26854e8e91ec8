use std::path::{Path, PathBuf};
use std::sync::Arc;

use imsbridge_connector::{
    ConfigError, Credentials, Source, SystemEntry, Target, deserialize_specific,
};
use imsbridge_connector_ciso_assistant::{CisoAssistant, Config as CisoConfig};
use imsbridge_connector_jira::{Config as JiraConfig, Jira};
use imsbridge_connector_oscal::SystemConfig as OscalConfig;
use imsbridge_connector_servicenow::{Config as ServiceNowConfig, ServiceNow};
use imsbridge_connector_spreadsheet::SystemConfig as SpreadsheetConfig;
use imsbridge_model::RecordKind;

/// The connector types a `[[system]]` entry's `type` may name.
pub const CONNECTORS: &[&str] = &[
    "spreadsheet",
    "oscal",
    "ciso-assistant",
    "servicenow",
    "jira",
];

/// The connector-specific part of a system, checked when the configuration is read.
#[derive(Debug, Clone)]
pub enum Kind {
    Spreadsheet(SpreadsheetSystem),
    Oscal(OscalSystem),
    CisoAssistant(CisoConfig),
    ServiceNow(ServiceNowConfig),
    Jira(JiraConfig),
}

/// A `spreadsheet` system: register files read by `pull` through the import.
#[derive(Debug, Clone)]
pub struct SpreadsheetSystem {
    pub config: SpreadsheetConfig,
    /// The folder relative paths are resolved against (the configuration file's).
    pub base_dir: PathBuf,
    pub kind: Option<RecordKind>,
}

impl SpreadsheetSystem {
    /// The files `path` names now: a file, a folder, or the matches of a glob, sorted.
    pub fn files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        files_at(&self.base_dir, &self.config.path)
    }
}

/// An `oscal` system: OSCAL documents (catalogs, profiles, POA&Ms, assessment results) read
/// by `pull` through the import, like register files.
#[derive(Debug, Clone)]
pub struct OscalSystem {
    pub config: OscalConfig,
    /// The folder relative paths are resolved against (the configuration file's).
    pub base_dir: PathBuf,
}

impl OscalSystem {
    /// The documents `path` names now: a file, a folder, or the matches of a glob, sorted.
    pub fn files(&self) -> Result<Vec<PathBuf>, ConfigError> {
        files_at(&self.base_dir, &self.config.path)
    }
}

/// The files `path` (relative to `base_dir`) names now: a file, a folder, or the matches of a
/// glob, sorted.
fn files_at(base_dir: &Path, path: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let pattern = base_dir.join(path);
    let text = pattern.to_string_lossy().into_owned();
    if !text.contains(['*', '?', '[']) {
        return Ok(vec![pattern]);
    }
    let paths = glob::glob(&text).map_err(|e| ConfigError::Invalid {
        system: String::new(),
        message: format!("path `{path}` is not a valid glob: {e}"),
    })?;
    let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
    files.sort();
    Ok(files)
}

/// One configured system.
#[derive(Debug, Clone)]
pub struct System {
    pub entry: SystemEntry,
    pub kind: Kind,
}

/// A system with its connector built (credentials read).
#[derive(Debug, Clone)]
pub enum Opened {
    Spreadsheet(SpreadsheetSystem),
    Oscal(OscalSystem),
    CisoAssistant(Arc<CisoAssistant>),
    ServiceNow(Arc<ServiceNow>),
    Jira(Arc<Jira>),
}

impl Opened {
    pub fn source(&self) -> Option<&dyn Source> {
        match self {
            Opened::Spreadsheet(_) | Opened::Oscal(_) => None,
            Opened::CisoAssistant(c) => Some(c.as_ref()),
            Opened::ServiceNow(c) => Some(c.as_ref()),
            Opened::Jira(c) => Some(c.as_ref()),
        }
    }

    pub fn target(&self) -> Option<&dyn Target> {
        match self {
            Opened::Spreadsheet(_) | Opened::Oscal(_) => None,
            Opened::CisoAssistant(c) => Some(c.as_ref()),
            Opened::ServiceNow(c) => Some(c.as_ref()),
            Opened::Jira(c) => Some(c.as_ref()),
        }
    }
}

impl System {
    pub fn name(&self) -> &str {
        &self.entry.common.name
    }

    pub fn connector(&self) -> &str {
        &self.entry.common.connector
    }

    /// Whether `plan`/`sync` write to it (`write = [...]` is set).
    pub fn is_target(&self) -> bool {
        !self.entry.common.write.is_empty()
    }

    /// The record kinds `write` names.
    pub fn write_kinds(&self) -> Result<Vec<RecordKind>, ConfigError> {
        self.entry
            .common
            .write
            .iter()
            .map(|w| {
                w.parse().map_err(|_| ConfigError::Key {
                    path: format!("{}.write", self.entry.path()),
                    message: format!(
                        "unknown record kind `{w}`; expected one of {}",
                        RecordKind::ALL_NAMES.join(", ")
                    ),
                })
            })
            .collect()
    }

    /// Reads the credentials and builds the connector. Kept apart from reading the
    /// configuration so that `systems check` can report a missing token for one system and
    /// still check the others.
    pub fn open(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Opened, ConfigError> {
        match &self.kind {
            Kind::Spreadsheet(s) => Ok(Opened::Spreadsheet(s.clone())),
            Kind::Oscal(s) => Ok(Opened::Oscal(s.clone())),
            Kind::CisoAssistant(_) => {
                let credentials = Credentials::resolve(&self.entry.common, env)?;
                Ok(Opened::CisoAssistant(Arc::new(CisoAssistant::from_entry(
                    &self.entry,
                    credentials,
                )?)))
            }
            Kind::ServiceNow(_) => {
                let credentials = Credentials::resolve(&self.entry.common, env)?;
                Ok(Opened::ServiceNow(Arc::new(ServiceNow::from_entry(
                    &self.entry,
                    credentials,
                    env,
                )?)))
            }
            Kind::Jira(_) => {
                let credentials = Credentials::resolve(&self.entry.common, env)?;
                Ok(Opened::Jira(Arc::new(Jira::from_entry(
                    &self.entry,
                    credentials,
                    env,
                )?)))
            }
        }
    }
}

/// Every configured system, in file order.
#[derive(Debug, Clone, Default)]
pub struct Systems {
    systems: Vec<System>,
}

impl Systems {
    /// Reads the `[[system]]` tables. Any unknown key, unknown type, duplicate name or
    /// invalid value is an error naming its key path; credentials are not read yet.
    pub fn from_tables(tables: Vec<toml::Table>, base_dir: &Path) -> Result<Systems, ConfigError> {
        let mut systems: Vec<System> = Vec::new();
        for (index, table) in tables.into_iter().enumerate() {
            let entry = SystemEntry::split(index, table)?;
            if let Some(first) = systems.iter().find(|s| s.name() == entry.common.name) {
                return Err(ConfigError::Key {
                    path: format!("{}.name", entry.path()),
                    message: format!(
                        "the name `{}` is already used by system[{}]; names must be unique",
                        entry.common.name, first.entry.index
                    ),
                });
            }
            let kind = match entry.common.connector.as_str() {
                "spreadsheet" => {
                    let config: SpreadsheetConfig = deserialize_specific(&entry)?;
                    refuse_api_keys(
                        &entry,
                        "it reads `path`; scales and column names go in a column profile (`profile`)",
                    )?;
                    let kind = match &config.kind {
                        Some(k) => Some(k.parse::<RecordKind>().map_err(|e| ConfigError::Key {
                            path: format!("{}.kind", entry.path()),
                            message: e.to_string(),
                        })?),
                        None => None,
                    };
                    Kind::Spreadsheet(SpreadsheetSystem {
                        config,
                        base_dir: base_dir.to_path_buf(),
                        kind,
                    })
                }
                "oscal" => {
                    let config: OscalConfig = deserialize_specific(&entry)?;
                    refuse_api_keys(&entry, "it reads the OSCAL documents `path` names")?;
                    config.validate().map_err(|e| ConfigError::Key {
                        path: format!("{}.{}", entry.path(), e.key),
                        message: e.message,
                    })?;
                    Kind::Oscal(OscalSystem {
                        config,
                        base_dir: base_dir.to_path_buf(),
                    })
                }
                "ciso-assistant" => {
                    let config: CisoConfig = deserialize_specific(&entry)?;
                    config.validate(&entry)?;
                    Kind::CisoAssistant(config)
                }
                "servicenow" => {
                    let config: ServiceNowConfig = deserialize_specific(&entry)?;
                    config.validate(&entry)?;
                    Kind::ServiceNow(config)
                }
                "jira" => {
                    let config: JiraConfig = deserialize_specific(&entry)?;
                    config.validate(&entry)?;
                    Kind::Jira(config)
                }
                other => {
                    return Err(ConfigError::Key {
                        path: format!("{}.type", entry.path()),
                        message: format!(
                            "unknown system type `{other}`; expected one of {}",
                            CONNECTORS.join(", ")
                        ),
                    });
                }
            };
            let system = System { entry, kind };
            system.write_kinds()?;
            if system.is_target() && matches!(system.kind, Kind::Spreadsheet(_) | Kind::Oscal(_)) {
                return Err(ConfigError::Key {
                    path: format!("{}.write", system.entry.path()),
                    message: format!(
                        "{} systems are read only; `write` is for API systems",
                        system.connector()
                    ),
                });
            }
            systems.push(system);
        }
        Ok(Systems { systems })
    }

    pub fn iter(&self) -> impl Iterator<Item = &System> {
        self.systems.iter()
    }

    pub fn names(&self) -> Vec<&str> {
        self.systems.iter().map(System::name).collect()
    }

    pub fn get(&self, name: &str) -> Option<&System> {
        self.systems.iter().find(|s| s.name() == name)
    }

    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// The named system, or an error listing the configured names.
    pub fn require(&self, name: &str) -> Result<&System, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Invalid {
            system: name.to_string(),
            message: if self.systems.is_empty() {
                "no systems are configured; add [[system]] entries to imsbridge.toml".into()
            } else {
                format!(
                    "not configured; the configured systems are {}",
                    self.names().join(", ")
                )
            },
        })
    }
}

/// Refuses the keys of API systems on a file system (spreadsheet, OSCAL), where they would be
/// silently meaningless; `what_instead` says what the system reads.
fn refuse_api_keys(entry: &SystemEntry, what_instead: &str) -> Result<(), ConfigError> {
    let c = &entry.common;
    let misplaced = [
        ("base_url", c.base_url.is_some()),
        ("token_env", c.token_env.is_some() || c.token_file.is_some()),
        (
            "username_env",
            c.username_env.is_some() || c.username_file.is_some(),
        ),
        (
            "password_env",
            c.password_env.is_some() || c.password_file.is_some(),
        ),
        ("read", c.read.is_some()),
        ("scale", c.scale.is_some()),
        ("fields", !c.fields.is_empty()),
        ("rate_limit", c.rate_limit.is_some()),
        ("timeout_secs", c.timeout_secs.is_some()),
    ];
    match misplaced.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(ConfigError::Key {
            path: format!("{}.{key}", entry.path()),
            message: format!("does not apply to {} systems ({what_instead})", c.connector),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn systems(text: &str) -> Result<Systems, ConfigError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let entries = table["system"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_table().unwrap().clone())
            .collect();
        Systems::from_tables(entries, Path::new("/cfg"))
    }

    #[test]
    fn unknown_type_is_named() {
        let err = systems("[[system]]\nname='x'\ntype='archer'")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("system[0] (x).type") && err.contains("ciso-assistant"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_has_its_path() {
        let err = systems("[[system]]\nname='r'\ntype='spreadsheet'\npath='a.xlsx'\nsheets='x'")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("system[0] (r)") && err.contains("sheets"),
            "{err}"
        );
    }

    #[test]
    fn api_keys_on_a_spreadsheet_system_are_refused() {
        let err = systems("[[system]]\nname='r'\ntype='spreadsheet'\npath='a'\nscale='1-5'")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("system[0] (r).scale") && err.contains("profile"),
            "{err}"
        );
    }

    #[test]
    fn oscal_systems_read_files_and_refuse_what_they_cannot_do() {
        let s =
            systems("[[system]]\nname='nist'\ntype='oscal'\npath='oscal/*.json'\nkinds=['risk']")
                .unwrap();
        let Kind::Oscal(oscal) = &s.get("nist").unwrap().kind else {
            panic!("not an OSCAL system")
        };
        assert_eq!(oscal.base_dir, PathBuf::from("/cfg"));
        assert_eq!(oscal.config.kinds, ["risk"]);

        for (extra, key) in [
            ("kinds=['risks!']", "system[0] (nist).kinds"),
            ("token_env='T'", "system[0] (nist).token_env"),
            ("write=['risk']", "system[0] (nist).write"),
        ] {
            let err = systems(&format!(
                "[[system]]\nname='nist'\ntype='oscal'\npath='a.json'\n{extra}"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(key), "{extra}: {err}");
        }
    }

    #[test]
    fn duplicate_names_are_refused() {
        let err = systems(
            "[[system]]\nname='r'\ntype='spreadsheet'\npath='a'\n[[system]]\nname='r'\ntype='spreadsheet'\npath='b'",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("already used by system[0]"), "{err}");
    }

    #[test]
    fn spreadsheet_paths_resolve_against_the_config_folder() {
        let s = systems("[[system]]\nname='r'\ntype='spreadsheet'\npath='a.xlsx'\nkind='risk'")
            .unwrap();
        let Kind::Spreadsheet(sheet) = &s.get("r").unwrap().kind else {
            panic!("not a spreadsheet system")
        };
        assert_eq!(sheet.files().unwrap(), vec![PathBuf::from("/cfg/a.xlsx")]);
        assert_eq!(sheet.kind, Some(RecordKind::Risk));
    }

    #[test]
    fn unknown_write_kind_is_an_error() {
        let err = systems(
            "[[system]]\nname='ca'\ntype='ciso-assistant'\nbase_url='https://x'\ntoken_env='T'\nrisk_assessment='A'\nwrite=['risks!']",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("write") && err.contains("risks!"), "{err}");
    }
}
