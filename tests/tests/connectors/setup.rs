//! A temporary installation with an imported AI risk register, and a runner that hands
//! secrets to the `imsbridge` child through its environment only.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use imsbridge_e2e::cli::{Imsbridge, RunOutput, run_with_timeout};
use imsbridge_e2e::{RISK_HEADER, imsbridge_bin, write_register_csv};
use serde_json::Value;
use tempfile::TempDir;

/// The register file; its name is the source system of the imported records.
pub const REGISTER: &str = "ai-risks.csv";

#[derive(Debug)]
pub struct Installation {
    pub dir: TempDir,
    pub ims: Imsbridge,
    /// Variables set for every run (credentials).
    pub env: Vec<(String, String)>,
}

impl Installation {
    /// A store holding `titles.len()` AI risks (flagged through their 42001 clause).
    pub fn with_ai_risks(titles: &[&str]) -> Installation {
        let dir = tempfile::tempdir().unwrap();
        let ims = Imsbridge::new(imsbridge_bin(), dir.path());
        let rows: Vec<Vec<String>> = titles
            .iter()
            .enumerate()
            .map(|(i, title)| {
                vec![
                    format!("AI-{:03}", i + 1),
                    (*title).to_string(),
                    format!("{title}: found in the AI impact assessment."),
                    "Dana Okafor".to_string(),
                    "42001 6.1.2".to_string(),
                    "3".to_string(),
                    "4".to_string(),
                    "Mitigate".to_string(),
                    "Review the model card".to_string(),
                    "2026-12-31".to_string(),
                    "Open".to_string(),
                ]
            })
            .collect();
        write_register_csv(&dir.path().join(REGISTER), &RISK_HEADER, rows).unwrap();
        let installation = Installation {
            dir,
            ims,
            env: Vec::new(),
        };
        let out = installation.run(&["--format", "json", "import", REGISTER]);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        installation
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.path().join("imsbridge.toml"), text).unwrap();
    }

    /// Runs `imsbridge --store <store> <args>` in the installation's folder.
    pub fn run(&self, args: &[&str]) -> RunOutput {
        let mut command = Command::new(&self.ims.bin);
        command.arg("--store").arg(&self.ims.store).args(args);
        command
            .current_dir(&self.ims.cwd)
            .env_remove("IMSBRIDGE_STORE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let line = format!("imsbridge {}", args.join(" "));
        run_with_timeout(command, Duration::from_secs(90), line).unwrap()
    }

    /// Runs with `--format json`, requires exit code `code` and parses stdout.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.code, Some(code), "{}", out.describe());
        out.json().unwrap()
    }

    /// The AI risks of the store: record id → title.
    pub fn ai_risk_ids(&self) -> Vec<String> {
        let records = self.json(&["records", "--ai"], 0);
        records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The correlation id the bridge writes for a record id (`IMSB-` + 16 hex digits).
pub fn correlation_of(record_id: &str) -> String {
    let hex: String = record_id.chars().filter(|c| *c != '-').take(16).collect();
    format!("IMSB-{hex}")
}

/// The plan's item actions, counted.
pub fn actions(plan: &Value) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for item in plan["items"].as_array().unwrap() {
        *counts
            .entry(item["action"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// Every check verdict `systems check --format json` printed for `system`.
pub fn verdicts(checks: &Value, system: &str) -> Vec<(String, String)> {
    let systems = checks.as_array().cloned().unwrap_or_else(|| {
        checks["systems"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("unexpected check output {checks}"))
    });
    let entry = systems
        .iter()
        .find(|s| s["name"] == system || s["system"] == system)
        .unwrap_or_else(|| panic!("no checks for {system}: {checks}"));
    entry["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["what"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
