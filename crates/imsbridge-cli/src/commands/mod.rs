//! One module per subcommand; each is a few lines around the library crates.

mod audit_pack;
mod clauses;
mod coverage;
mod crosswalk;
mod export;
mod import;
mod imports;
mod records;
mod serve;
mod sync;
mod systems;
mod target_lock;

use std::path::PathBuf;

use anyhow::Context;
use imsbridge_mappings::Mappings;
use imsbridge_model::{RecordKind, StandardId};
use imsbridge_store::Store;

use crate::args::{Cli, Command, UsageError};
use crate::config::Config;

pub use serve::parse_listen;

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
        Command::Systems(command) => systems::run(&cx, command),
        Command::Pull(args) => sync::pull(&cx, args),
        Command::Plan(args) => sync::plan(&cx, args),
        Command::Apply(args) => sync::apply(&cx, args),
        Command::Sync(args) => sync::sync(&cx, args),
        Command::Links(args) => sync::links(&cx, args),
        Command::Journal(args) => sync::journal(&cx, args),
        Command::Serve(args) => serve::serve(&cx, args),
        Command::Runs(args) => serve::runs(&cx, args),
        Command::Schedules(args) => serve::schedules(&cx, args),
        Command::Export(command) => export::run(&cx, command),
        Command::AuditPack(args) => audit_pack::run(&cx, args),
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

    /// The `[[system]]` entries, checked key by key.
    pub fn systems(&self) -> anyhow::Result<imsbridge_systems::Systems> {
        let config_name = self
            .cli
            .global
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("imsbridge.toml"));
        imsbridge_systems::Systems::from_tables(self.config.system.clone(), &self.config.base_dir)
            .with_context(|| format!("in {}", config_name.display()))
    }

    /// Where rejects files go: beside the store.
    pub fn rejects_dir(&self) -> PathBuf {
        let store = self.store_path();
        store
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// A runtime for the HTTP connectors: two worker threads are plenty for I/O-bound work.
    pub fn runtime(&self) -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")
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
