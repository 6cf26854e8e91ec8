//! The set-up shared by the sync tests: a temporary directory with an imported AI risk
//! register, a fake CISO Assistant, an `imsbridge.toml` pointing at it, and a runner that
//! hands the token to the `imsbridge` child in `CA_TOKEN` (the test process's own environment
//! is never changed).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use imsbridge_e2e::cli::{Imsbridge, RunOutput};
use imsbridge_e2e::fake_ciso::{
    FOLDER_NAME, FakeCiso, FakeOptions, PERIMETER_NAME, RISK_ASSESSMENT_ID, RISK_ASSESSMENT_NAME,
};
use imsbridge_e2e::{RISK_HEADER, imsbridge_bin, write_register_csv};
use serde_json::Value;
use tempfile::TempDir;

/// The variable the configuration names in `token_env`.
pub const TOKEN_ENV: &str = "CA_TOKEN";
/// The target's name in `imsbridge.toml`.
pub const TARGET: &str = "ca";
/// The register file (and so the source system name of the imported records).
pub const REGISTER: &str = "ai-risks.csv";
/// The longest a single CLI run may take in these tests.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// How an [`Env`] is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// AI-flagged risks in the register.
    pub n: usize,
    /// The token the fake server accepts.
    pub server_token: String,
    /// The token the child gets in `CA_TOKEN` (`None`: the variable is unset).
    pub client_token: Option<String>,
    /// Latency of every answer of the fake.
    pub latency: Duration,
    /// `timeout_secs` of the system.
    pub timeout_secs: u64,
    /// `conflict` of the system.
    pub conflict: &'static str,
    /// `page_size` of the system (`None`: the connector's default).
    pub page_size: Option<u32>,
}

impl Setup {
    pub fn new(n: usize) -> Setup {
        Setup {
            n,
            server_token: "e2e-token-3b8d51".to_string(),
            client_token: Some("e2e-token-3b8d51".to_string()),
            latency: Duration::from_millis(2),
            timeout_secs: 10,
            conflict: "report",
            page_size: None,
        }
    }

    pub fn token(mut self, token: &str) -> Setup {
        self.server_token = token.to_string();
        self.client_token = Some(token.to_string());
        self
    }

    pub fn timeout_secs(mut self, secs: u64) -> Setup {
        self.timeout_secs = secs;
        self
    }
}

/// One installation under test.
#[derive(Debug)]
pub struct Env {
    pub dir: TempDir,
    pub ims: Imsbridge,
    pub fake: FakeCiso,
    pub setup: Setup,
    /// The register's titles by external id, as last written.
    pub titles: BTreeMap<String, String>,
}

impl Env {
    /// A register of `n` AI risks, imported; a fake server; the configuration.
    pub fn new(n: usize) -> Env {
        Env::with(Setup::new(n))
    }

    pub fn with(setup: Setup) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let ims = Imsbridge::new(imsbridge_bin(), dir.path());
        let fake = FakeCiso::start(FakeOptions {
            token: setup.server_token.clone(),
            latency: setup.latency,
            ..FakeOptions::default()
        });
        let mut env = Env {
            dir,
            ims,
            fake,
            setup,
            titles: BTreeMap::new(),
        };
        let titles: BTreeMap<String, String> = (1..=env.setup.n)
            .map(|i| {
                (
                    external_id(i),
                    format!("Prompt injection through the support assistant, case {i}"),
                )
            })
            .collect();
        env.import_register(titles);
        let ai = env.ai_records();
        assert_eq!(
            ai.len(),
            env.setup.n,
            "the register's risks must all be AI-flagged: {ai:?}"
        );
        env.write_config(env.setup.conflict);
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the register with these titles and imports it (a re-import updates records).
    pub fn import_register(&mut self, titles: BTreeMap<String, String>) {
        let rows: Vec<Vec<String>> = titles
            .iter()
            .enumerate()
            .map(|(i, (id, title))| {
                vec![
                    id.clone(),
                    title.clone(),
                    format!("{title}: the model follows instructions hidden in user input."),
                    "Dana Okafor".to_string(),
                    // A 42001 clause reference flags the risk as AI-related.
                    "42001 6.1.2; A.6.2.4".to_string(),
                    (i % 5 + 1).to_string(),
                    ((i + 3) % 5 + 1).to_string(),
                    "Mitigate".to_string(),
                    "Filter and log prompts".to_string(),
                    "2026-09-30".to_string(),
                    "Open".to_string(),
                ]
            })
            .collect();
        write_register_csv(&self.path(REGISTER), &RISK_HEADER, rows).unwrap();
        let out = self
            .ims
            .run(["--format", "json", "import", REGISTER])
            .unwrap();
        assert_eq!(out.code, Some(0), "{}", out.describe());
        self.titles = titles;
    }

    /// `imsbridge.toml` with this conflict policy.
    pub fn write_config(&self, conflict: &str) {
        let mut text = format!(
            r#"[[system]]
name = "{TARGET}"
type = "ciso-assistant"
base_url = "{url}"
token_env = "{TOKEN_ENV}"
write = ["risk"]
folder = "{FOLDER_NAME}"
perimeter = "{PERIMETER_NAME}"
risk_assessment = "{RISK_ASSESSMENT_NAME}"
conflict = "{conflict}"
timeout_secs = {timeout}
"#,
            url = self.fake.base_url(),
            timeout = self.setup.timeout_secs,
        );
        if let Some(size) = self.setup.page_size {
            text.push_str(&format!("page_size = {size}\n"));
        }
        std::fs::write(self.path("imsbridge.toml"), text).unwrap();
    }

    /// Runs `imsbridge --store <store> <args>` with `CA_TOKEN` set to the client token.
    pub fn run<I, S>(&self, args: I) -> RunOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_token(self.setup.client_token.as_deref(), args)
    }

    /// Like [`Env::run`] with another token (`None`: `CA_TOKEN` unset).
    pub fn run_with_token<I, S>(&self, token: Option<&str>, args: I) -> RunOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (mut command, line) = self.command(token, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        run_with_timeout(command, line)
    }

    /// Starts `imsbridge` as a child whose stdout and stderr go to `<log>.out` / `<log>.err`.
    pub fn spawn(&self, args: &[&str], log: &str) -> Child {
        let (mut command, line) = self.command(self.setup.client_token.as_deref(), args);
        let out = File::create(self.path(&format!("{log}.out"))).unwrap();
        let err = File::create(self.path(&format!("{log}.err"))).unwrap();
        command.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{line}`: {e}"))
    }

    fn command<I, S>(&self, token: Option<&str>, args: I) -> (Command, String)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.ims.bin);
        command.arg("--store").arg(&self.ims.store);
        let mut line = "imsbridge".to_string();
        for arg in args {
            let arg = arg.as_ref();
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
            command.arg(arg);
        }
        command
            .current_dir(&self.ims.cwd)
            .env_remove("IMSBRIDGE_STORE")
            .env_remove("RUST_LOG")
            .env_remove(TOKEN_ENV)
            .stdin(Stdio::null());
        if let Some(token) = token {
            command.env(TOKEN_ENV, token);
        }
        (command, line)
    }

    /// `records --ai`.
    pub fn ai_records(&self) -> Vec<Value> {
        self.ims.records(&["--ai"]).unwrap()
    }

    /// Record id → title of the AI records in the store.
    pub fn record_titles(&self) -> BTreeMap<String, String> {
        self.ai_records()
            .iter()
            .map(|r| (str_of(&r["id"]), str_of(&r["title"])))
            .collect()
    }

    /// The record id of a register row.
    pub fn record_id(&self, external: &str) -> String {
        let records = self.ai_records();
        let record = records
            .iter()
            .find(|r| r["provenance"]["external_id"] == external)
            .unwrap_or_else(|| panic!("no record {external}: {records:?}"));
        str_of(&record["id"])
    }

    /// Record id → the correlation id the bridge must give it.
    pub fn expected_correlations(&self) -> BTreeMap<String, String> {
        self.ai_records()
            .iter()
            .map(|r| {
                let id = str_of(&r["id"]);
                let correlation = correlation_of(&id);
                (id, correlation)
            })
            .collect()
    }

    pub fn links(&self) -> Vec<Value> {
        array(self.ims.json(["links"]).unwrap())
    }

    /// The journal, newest first.
    pub fn journal(&self) -> Vec<Value> {
        array(self.ims.json(["journal", "--limit", "1000"]).unwrap())
    }

    /// Every AI risk exactly once in the target, with the bridge's correlation ids, each
    /// scenario in the configured risk assessment and named like its record.
    pub fn assert_remote_exactly_once(&self) {
        let fake = &self.fake;
        let dups = fake.duplicate_ref_ids();
        assert!(dups.is_empty(), "duplicated ref_ids remotely: {dups:?}");
        let expected = self.expected_correlations();
        let scenarios = fake.scenarios();
        assert_eq!(
            scenarios.len(),
            self.setup.n,
            "scenarios remotely: {scenarios:#?}"
        );
        let remote: BTreeSet<String> = scenarios.iter().map(|s| str_of(&s["ref_id"])).collect();
        let wanted: BTreeSet<String> = expected.values().cloned().collect();
        assert_eq!(
            remote, wanted,
            "remote ref_ids vs the records' correlations"
        );
        let titles = self.record_titles();
        for (record, correlation) in &expected {
            assert_eq!(fake.count_by_ref_id(correlation), 1, "{correlation}");
            let s = self.scenario_by_ref(correlation);
            assert_eq!(s["risk_assessment"], RISK_ASSESSMENT_ID, "{s}");
            assert_eq!(s["name"], titles[record].as_str(), "{s}");
        }
    }

    /// The remote scenario with this `ref_id`.
    pub fn scenario_by_ref(&self, correlation: &str) -> Value {
        let scenarios = self.fake.scenarios();
        scenarios
            .iter()
            .find(|s| s["ref_id"] == correlation)
            .cloned()
            .unwrap_or_else(|| panic!("no scenario with ref_id {correlation}: {scenarios:#?}"))
    }

    /// One link per AI record, to the scenario carrying its correlation id, at its current
    /// version.
    pub fn assert_links_complete(&self) {
        let links = self.links();
        let expected = self.expected_correlations();
        assert_eq!(links.len(), expected.len(), "links: {links:#?}");
        let mut seen = BTreeSet::new();
        for link in &links {
            let record = str_of(&link["record"]);
            assert!(seen.insert(record.clone()), "two links for {record}");
            assert_eq!(link["target"], TARGET, "{link}");
            let correlation = expected
                .get(&record)
                .unwrap_or_else(|| panic!("a link for a record that is not an AI risk: {link}"));
            assert_eq!(link["correlation"], correlation.as_str(), "{link}");
            let scenario = self.scenario_by_ref(correlation);
            assert_eq!(link["remote_id"], scenario["id"], "{link}\n{scenario}");
            assert_eq!(
                link["remote_version"], scenario["updated_at"],
                "the link's version is the scenario's: {link}\n{scenario}"
            );
        }
    }

    /// Nothing was written anywhere: no remote write, no link, no journal entry.
    pub fn assert_nothing_written(&self) {
        let counts = self.fake.request_counts();
        assert_eq!(
            counts.writes(),
            0,
            "{counts:?}\n{:#?}",
            self.fake.request_log()
        );
        assert_eq!(self.fake.scenario_count(), 0);
        assert!(self.links().is_empty(), "{:?}", self.links());
        assert!(self.journal().is_empty(), "{:?}", self.journal());
    }
}

/// The register's external id of row `i` (1-based).
pub fn external_id(i: usize) -> String {
    format!("AI-{i:03}")
}

/// `IMSB-` and the first 16 hex digits of the record id (`correlation_id` in the connector
/// crate, restated so that a change to it is noticed).
pub fn correlation_of(record_id: &str) -> String {
    let hex: String = record_id.chars().filter(|c| *c != '-').collect();
    format!("IMSB-{}", &hex.to_ascii_lowercase()[..16])
}

pub fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

pub fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// Journal entries with this outcome (`None`: still open).
pub fn with_outcome<'a>(journal: &'a [Value], outcome: Option<&str>) -> Vec<&'a Value> {
    journal
        .iter()
        .filter(|e| match outcome {
            Some(o) => e["outcome"] == o,
            None => e["outcome"].is_null(),
        })
        .collect()
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// The library's runner with this file's timeout; a child that cannot even start is a test
/// failure.
fn run_with_timeout(command: Command, line: String) -> RunOutput {
    imsbridge_e2e::cli::run_with_timeout(command, RUN_TIMEOUT, line)
        .unwrap_or_else(|e| panic!("{e}"))
}
