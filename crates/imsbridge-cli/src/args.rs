use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  error (nothing was written)
  2  usage error (bad arguments)
  3  completed, but some rows were rejected (see the rejects file), or some plan
     items were not applied (conflicts, or remote records changed since planning)
  With --detailed-exitcode, plan/apply/sync exit 0 when nothing changes, 2 when
  changes were planned or applied, 1 on error.

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
    /// The systems configured in imsbridge.toml: list them, or check their connections
    #[command(subcommand)]
    Systems(SystemsCommand),
    /// Read the configured source systems into the store (incremental from the saved cursors)
    Pull(PullArgs),
    /// Compare the store's AI risks and incidents with each target: what a sync would write
    Plan(PlanArgs),
    /// Carry out a saved plan exactly; items whose remote record changed since are refused
    Apply(ApplyArgs),
    /// Plan and apply in one go
    Sync(SyncArgs),
    /// The links between local records and remote ones, per target
    Links(LinksArgs),
    /// The journal of remote writes, newest first
    Journal(JournalArgs),
    /// Run the [[schedule]] entries (pulls, syncs) until stopped; SIGHUP reloads the config
    Serve(ServeArgs),
    /// The history of scheduled runs, newest first
    Runs(RunsArgs),
    /// The configured schedules: next fire times, last run, last success
    Schedules(SchedulesArgs),
    /// Write the store's records, a clause list or a crosswalk in an interchange format
    #[command(subcommand)]
    Export(ExportCommand),
    /// One integrated audit for several standards: programme, coverage and gaps, evidence,
    /// open items and maturity, as XLSX, HTML, CSV and OSCAL
    AuditPack(AuditPackArgs),
}

#[derive(Debug, Args)]
pub struct AuditPackArgs {
    /// The standards audited together, comma-separated (iso27001,iso9001,iso42001)
    #[arg(long, value_name = "LIST", value_delimiter = ',', required = true)]
    pub standards: Vec<String>,
    /// Only these records: `system=a,b;kind=risk,nonconformity;hs=9.2,7;ai` (parts must all hold)
    #[arg(long, value_name = "FILTER")]
    pub scope: Option<String>,
    /// The folder the pack is written to (created if missing; an earlier pack there gives the trend)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Evidence older than this many days is flagged [default: 365]
    #[arg(long = "review-days", value_name = "DAYS")]
    pub review_period_days: Option<u32>,
    /// The pack's title [default: "Joint audit pack: <standards>"]
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// As an OSCAL document (JSON, or XML with --xml)
    Oscal(OscalExportArgs),
}

/// The OSCAL models `export oscal` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OscalModel {
    /// AI risks (every risk with --all-risks) with corrective actions, as a plan of action and milestones
    Poam,
    /// Requirement assessments and findings of the --standards, one result per standard
    AssessmentResults,
    /// The clause list (numbers and titles) of --standard, or of the Harmonized Structure
    Catalog,
    /// The crosswalk --from → --to as a mapping collection
    Mapping,
}

#[derive(Debug, Args)]
pub struct OscalExportArgs {
    /// What to export
    #[arg(long, value_enum)]
    pub model: OscalModel,
    /// The file to write [default: standard output]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write XML instead of JSON
    #[arg(long)]
    pub xml: bool,
    /// poam: every risk, not only the AI-related ones
    #[arg(long)]
    pub all_risks: bool,
    /// poam: only records of this source system
    #[arg(long, value_name = "NAME")]
    pub system: Option<String>,
    /// assessment-results: the standards, comma-separated (iso27001,iso42001)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub standards: Vec<String>,
    /// catalog: the standard (hs for the Harmonized Structure)
    #[arg(long, value_name = "STANDARD")]
    pub standard: Option<String>,
    /// mapping: the standard the crosswalk starts from
    #[arg(long, value_name = "STANDARD")]
    pub from: Option<String>,
    /// mapping: the standard the crosswalk goes to (hs for the Harmonized Structure)
    #[arg(long, value_name = "STANDARD")]
    pub to: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SystemsCommand {
    /// List the configured systems
    List,
    /// Check the configuration and each system's connection, authentication and permissions
    Check(SystemFilter),
}

#[derive(Debug, Args)]
pub struct SystemFilter {
    /// Only this system
    #[arg(long, value_name = "NAME")]
    pub system: Option<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only this system [default: every configured system]
    #[arg(long, value_name = "NAME")]
    pub system: Option<String>,
    /// Only this stream (repeatable) [default: the system's `read` list, else all]
    #[arg(long = "stream", value_name = "STREAM")]
    pub streams: Vec<String>,
    /// Read everything, ignoring the saved cursors
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only this target [default: every system with `write`]
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Save the plan (JSON) for `imsbridge apply`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan written by `imsbridge plan --out`
    pub plan: PathBuf,
    /// Remote writes in flight at once per target
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Exit 0 when nothing changed, 2 when something was written, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this target [default: every system with `write`]
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Also save the plan that was applied
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Remote writes in flight at once per target
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Exit 0 when nothing changed, 2 when something was written, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Only this target
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Only this target
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// How many entries to show
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `serve`: one run per schedule at a time; a second `serve` on the same store shares the
/// work and never runs a fire twice.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the status endpoint (/healthz, /runs, /metrics); port 0 takes a free port
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9481",
        value_parser = crate::commands::parse_listen
    )]
    pub listen: std::net::SocketAddr,
    /// Allow a non-loopback --listen address (the endpoint has no authentication)
    #[arg(long)]
    pub listen_public: bool,
    /// No status endpoint
    #[arg(long, conflicts_with_all = ["listen", "listen_public"])]
    pub no_listen: bool,
    /// Finished runs kept per schedule in the history (the totals behind /metrics are kept)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub keep_runs: usize,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only this schedule
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// How many runs to show
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct SchedulesArgs {
    /// How many next fire times to show per schedule
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub next: usize,
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
