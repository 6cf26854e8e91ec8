//! `imsbridge.toml`: settings that would otherwise be repeated on every command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The configuration file. Every key is optional; unknown keys are errors so that a typo is
/// reported instead of silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SQLite store (relative paths are relative to the config file).
    pub store: Option<PathBuf>,
    /// A folder with mapping files (same layout as `mappings/`) overriding the built-in ones.
    pub mappings: Option<PathBuf>,
    /// The column profile used when `import` gets no `--profile`.
    pub profile: Option<PathBuf>,
    /// `[[system]]` entries: the systems `pull`, `plan`, `apply` and `sync` work with. Read
    /// as tables here and checked key by key by `imsbridge-systems`.
    #[serde(default)]
    pub system: Vec<toml::Table>,
    /// `[[schedule]]` entries: what `imsbridge serve` runs. Read as tables here and checked
    /// key by key by `imsbridge-schedule` (see `commands/serve.rs`).
    #[serde(default)]
    pub schedule: Vec<toml::Table>,
    /// The folder relative paths in the file are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Config {
    /// Loads `explicit`, else `imsbridge.toml` in the working directory when present, else the
    /// defaults. Paths inside are made relative to the file's folder.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("imsbridge.toml");
                if !default.exists() {
                    return Ok(Config::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.base_dir = base.to_path_buf();
        for p in [&mut config.store, &mut config.mappings, &mut config.profile]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }
}
