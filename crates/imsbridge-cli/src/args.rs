use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  error (nothing was written)
  2  usage error (bad arguments)
  3  completed, but some rows were rejected (see the rejects file)

Standards: iso27001, iso9001, iso42001, iso14001, iso45001, iso22301 (a suffix such as
:2022 is accepted), iso31000, coso-erm, and hs for the Harmonized Structure itself.";

/// Import ISO management-system registers (risks, controls, assessments, nonconformities,
/// incidents, findings, documents, AI systems) and map them through the ISO Harmonized
/// Structure.
#[derive(Debug, Parser)]
#[command(name = "imsbridge", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The SQLite store [default: `store` from the config file, else imsbridge.db]
    #[arg(long, global = true, value_name = "PATH", env = "IMSBRIDGE_STORE")]
    pub store: Option<PathBuf>,
    /// Configuration file [default: imsbridge.toml when present]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a register file (XLSX, XLSM, XLSB, XLS, ODS, CSV) or every register in a folder
    Import(ImportArgs),
    /// List imported records
    Records(RecordsArgs),
    /// Show the Harmonized Structure or a standard's clause map
    Clauses(ClausesArgs),
    /// Derive the crosswalk between two standards through the Harmonized Structure
    Crosswalk(CrosswalkArgs),
    /// Per HS clause: which standards' clauses the imported records cover, by kind
    Coverage,
    /// The import runs recorded in the store, newest first
    Imports(ImportsArgs),
}

#[derive(Debug, Args)]
pub struct ImportsArgs {
    /// How many runs to show
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A register file, or a folder whose register files are all imported in one transaction
    pub path: PathBuf,
    /// The record kind of every sheet, instead of inferring it from the headers
    /// (risk, control, requirement_assessment, nonconformity, corrective_action, incident,
    /// audit_finding, document, objective, ai_system)
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// The source system's name (part of every record's stable id) [default: the file name]
    #[arg(long, value_name = "NAME")]
    pub system: Option<String>,
    /// A column profile (TOML) that overrides the built-in header aliases
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Import only this sheet (case and surrounding spaces do not matter)
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// The standard that clause numbers without one belong to ("A.5.7" → ISO/IEC 27001 A.5.7)
    #[arg(long, value_name = "STANDARD")]
    pub standard: Option<String>,
    /// Read, map and check everything, but write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// Only records of this kind
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Only records referencing a clause of this standard
    #[arg(long, value_name = "STANDARD")]
    pub standard: Option<String>,
    /// Only records referencing this clause (with --standard), or sitting on this HS clause
    #[arg(long, value_name = "CLAUSE")]
    pub clause: Option<String>,
    /// Only AI-related records
    #[arg(long)]
    pub ai: bool,
}

#[derive(Debug, Args)]
pub struct ClausesArgs {
    /// The standard whose clause map to show [default: the Harmonized Structure]
    #[arg(long, value_name = "STANDARD")]
    pub standard: Option<String>,
}

#[derive(Debug, Args)]
pub struct CrosswalkArgs {
    /// The standard the crosswalk starts from
    #[arg(long, value_name = "STANDARD")]
    pub from: String,
    /// The standard the crosswalk goes to (hs for the Harmonized Structure)
    #[arg(long, value_name = "STANDARD")]
    pub to: String,
}

/// A mistake in the arguments that clap cannot see (an unknown standard or kind): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
