//! The binary's contract that needs no data: help, exit codes for usage errors, and that
//! stdout stays clean for programs. (Its presence also makes `cargo test` build the binary
//! that the workspace's end-to-end tests in `tests/` run.)

#![allow(
    clippy::unwrap_used,
    reason = "a test helper: a failure to start the binary should fail the test loudly"
)]

use std::process::Command;

fn imsbridge(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_imsbridge"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_documents_exit_codes() {
    let out = imsbridge(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "0  success",
        "1  error",
        "2  usage error",
        "3  completed, but some rows were rejected",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn usage_errors_exit_with_2_and_say_what_was_expected() {
    let out = imsbridge(&["import"]);
    assert_eq!(out.status.code(), Some(2), "missing PATH");
    let out = imsbridge(&["crosswalk", "--from", "iso27002", "--to", "hs"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("iso27002") && err.contains("iso42001"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout for an error");
}

#[test]
fn json_output_is_one_parseable_document() {
    let out = imsbridge(&["clauses", "--standard", "iso9001", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let clauses = value.as_array().unwrap();
    let c103 = clauses.iter().find(|c| c["id"] == "10.3").unwrap();
    assert_eq!(c103["title"], "Continual improvement");
    assert_eq!(c103["hs"][0]["clause"], "10.1");
}

#[test]
fn a_config_file_with_an_unknown_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imsbridge.toml");
    std::fs::write(&config, "stor = \"x.db\"\n").unwrap();
    let out = imsbridge(&["--config", config.to_str().unwrap(), "clauses"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("imsbridge.toml") && err.contains("stor"),
        "{err}"
    );
}
