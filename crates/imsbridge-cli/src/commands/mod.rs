//! One module per subcommand; each is a few lines around the library crates.

mod clauses;
mod coverage;
mod crosswalk;
mod import;
mod imports;
mod records;

use std::path::PathBuf;

use anyhow::Context;
use imsbridge_mappings::Mappings;
use imsbridge_model::{RecordKind, StandardId};
use imsbridge_store::Store;

use crate::args::{Cli, Command, UsageError};
use crate::config::Config;

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    let config = Config::load(cli.global.config.as_deref())?;
    let cx = CommandContext { cli, config };
    match &cli.command {
        Command::Import(args) => import::run(&cx, args),
        Command::Records(args) => records::run(&cx, args),
        Command::Clauses(args) => clauses::run(&cx, args),
        Command::Crosswalk(args) => crosswalk::run(&cx, args),
        Command::Coverage => coverage::run(&cx),
        Command::Imports(args) => imports::run(&cx, args),
    }
}

/// What every command may need: the arguments and the configuration.
pub struct CommandContext<'a> {
    pub cli: &'a Cli,
    pub config: Config,
}

impl CommandContext<'_> {
    pub fn store_path(&self) -> PathBuf {
        self.cli
            .global
            .store
            .clone()
            .or_else(|| self.config.store.clone())
            .unwrap_or_else(|| PathBuf::from("imsbridge.db"))
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        let path = self.store_path();
        Store::open(&path).with_context(|| format!("opening the store {}", path.display()))
    }

    pub fn mappings(&self) -> anyhow::Result<Mappings> {
        Ok(Mappings::load(self.config.mappings.as_deref())?)
    }
}

pub fn parse_standard(text: &str) -> anyhow::Result<StandardId> {
    text.parse::<StandardId>()
        .map_err(|e| UsageError(e.to_string()).into())
}

pub fn parse_kind(text: &str) -> anyhow::Result<RecordKind> {
    text.parse::<RecordKind>()
        .map_err(|e| UsageError(e.to_string()).into())
}
