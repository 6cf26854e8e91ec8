//! Running the real `imsbridge` binary from tests.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one CLI run may take before it is killed: a hang (an unguarded zip bomb, a lock
/// never released) must fail the test, not stall the suite.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// The `imsbridge` binary of the same build as the running test, or `$IMSBRIDGE_BIN` when set.
///
/// A test binary lives in `target/<profile>/deps/`; the CLI is built to `target/<profile>/`.
/// `cargo test --workspace` builds it there, because `imsbridge-cli` has integration tests of
/// its own. When the tests run alone (`cargo test -p imsbridge-e2e`) the binary may be missing
/// or older than the sources, and then, under cargo (`$CARGO` is set), the CLI is built first
/// into the same target directory and profile, so that the binary under test always matches the
/// sources. The nested build is skipped when the binary is newer than every source file: it
/// resolves features for the CLI alone, without the test-only features of the workspace's
/// dev-dependencies, so it would compile most of the dependency tree a second time — minutes
/// and gigabytes on a CI machine for no change. Cargo releases its build lock while tests run,
/// so a nested build does not wait on the outer one. Done once per test process.
pub fn find_imsbridge_bin() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("IMSBRIDGE_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("IMSBRIDGE_BIN={} is not a file", path.display()))
        };
    }
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND.get_or_init(build_and_locate).clone()
}

fn build_and_locate() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the test binary: {e}"))?;
    let mut dir = exe.parent();
    // Tests run from deps/; a binary such as make-examples runs from the profile dir itself.
    if dir.is_some_and(|d| d.file_name() == Some(OsStr::new("deps"))) {
        dir = dir.and_then(Path::parent);
    }
    let profile_dir = dir.ok_or_else(|| format!("{} has no parent directory", exe.display()))?;
    let bin = profile_dir.join(format!("imsbridge{}", std::env::consts::EXE_SUFFIX));
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let needs_build = !is_newer_than_sources(&bin, &workspace_root);
    if let Some(cargo) = std::env::var_os("CARGO").filter(|_| needs_build) {
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "imsbridge-cli",
                "--bin",
                "imsbridge",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile_dir.file_name().and_then(OsStr::to_str) {
            // Both the dev and the test profile build into debug/.
            Some("debug") | None => {}
            Some("release") => {
                build.arg("--release");
            }
            Some(other) => {
                build.args(["--profile", other]);
            }
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let status = build
            .status()
            .map_err(|e| format!("cannot run cargo to build imsbridge: {e}"))?;
        if !status.success() {
            return Err(format!(
                "`cargo build -p imsbridge-cli` failed ({status}); see its output above"
            ));
        }
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "the imsbridge binary is not built at {}: run `cargo build -p imsbridge-cli` first \
             (or the workspace test command, `cargo test --workspace`), or set IMSBRIDGE_BIN",
            bin.display()
        ))
    }
}

/// Whether `bin` exists and was written after the last change to anything it is built from:
/// the workspace manifests and every file under `crates/`, `connectors/` and `mappings/`
/// (the mappings are embedded in the binary).
fn is_newer_than_sources(bin: &Path, workspace_root: &Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let mut pending: Vec<PathBuf> = [
        "Cargo.toml",
        "Cargo.lock",
        "crates",
        "connectors",
        "mappings",
    ]
    .iter()
    .map(|name| workspace_root.join(name))
    .collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            // A source that cannot be read cannot be compared: build to be safe.
            return false;
        };
        if meta.is_dir() {
            if path.file_name() == Some(OsStr::new("target")) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&path) else {
                return false;
            };
            pending.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        } else if meta.modified().map_or(true, |changed| changed > built) {
            return false;
        }
    }
    true
}

/// [`find_imsbridge_bin`] for tests: panics with the instructions when the binary is missing.
#[allow(
    clippy::panic,
    reason = "only tests call this; a missing binary must stop them with a clear instruction"
)]
pub fn imsbridge_bin() -> PathBuf {
    match find_imsbridge_bin() {
        Ok(bin) => bin,
        Err(message) => panic!("{message}"),
    }
}

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The exit code; `None` when the process was killed by a signal or the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// The command line, for failure messages.
    pub command: String,
}

impl RunOutput {
    /// Parses stdout as one JSON value.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(self.stdout.trim()).map_err(|e| {
            format!(
                "stdout of `{}` is not one JSON value ({e}):\n{}\nstderr:\n{}",
                self.command,
                shorten(&self.stdout),
                shorten(&self.stderr)
            )
        })
    }

    /// A multi-line summary for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited with {}{}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.code
                .map_or_else(|| "no code (killed)".to_string(), |c| c.to_string()),
            if self.timed_out {
                " after timing out"
            } else {
                ""
            },
            shorten(&self.stdout),
            shorten(&self.stderr)
        )
    }
}

/// Keeps failure messages readable when a command printed a lot.
fn shorten(text: &str) -> String {
    const MAX: usize = 4000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

/// One `imsbridge` installation under test: the binary, a store, and the directory it runs in
/// (so no `imsbridge.toml` of the checkout is picked up by accident).
#[derive(Debug, Clone)]
pub struct Imsbridge {
    pub bin: PathBuf,
    pub store: PathBuf,
    pub cwd: PathBuf,
    pub timeout: Duration,
}

impl Imsbridge {
    /// Uses `<dir>/imsbridge.db` as the store and `dir` as the working directory.
    pub fn new(bin: PathBuf, dir: &Path) -> Imsbridge {
        Imsbridge {
            bin,
            store: dir.join("imsbridge.db"),
            cwd: dir.to_path_buf(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Runs `imsbridge --store <store> <args…>`.
    pub fn run<I, S>(&self, args: I) -> Result<RunOutput, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.bin);
        command.arg("--store").arg(&self.store);
        let mut line = format!("imsbridge --store {}", self.store.display());
        for arg in args {
            let arg = arg.as_ref();
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
            command.arg(arg);
        }
        command
            .current_dir(&self.cwd)
            .env_remove("IMSBRIDGE_STORE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run_with_timeout(command, self.timeout, line)
    }
}

/// Spawns, drains both pipes on threads (a full pipe would block the child), and kills the
/// child when it outlives `timeout`.
pub fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
    line: String,
) -> Result<RunOutput, String> {
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{line}`: {e}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error just truncates what the failure message can show.
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for `{line}`: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(RunOutput {
        code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        stdout,
        stderr,
        timed_out,
        command: line,
    })
}

impl Imsbridge {
    /// Runs `imsbridge --format json <args…>`, requires exit code 0 and parses stdout.
    pub fn json<I, S>(&self, args: I) -> Result<serde_json::Value, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> = vec!["--format".into(), "json".into()];
        all.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        let out = self.run(all)?;
        if out.code != Some(0) {
            return Err(out.describe());
        }
        out.json()
    }

    /// `imsbridge --format json records <filters…>` as a list of records.
    pub fn records(&self, filters: &[&str]) -> Result<Vec<serde_json::Value>, String> {
        let mut args = vec!["records"];
        args.extend_from_slice(filters);
        match self.json(args)? {
            serde_json::Value::Array(records) => Ok(records),
            other => Err(format!("records --format json printed no array: {other}")),
        }
    }

    /// Every record in the store, sorted by id: the store's observable state, comparable
    /// before and after a command whatever order `records` lists them in.
    pub fn snapshot(&self) -> Result<Vec<serde_json::Value>, String> {
        let mut records = self.records(&[])?;
        records.sort_by_key(|r| r["id"].to_string());
        Ok(records)
    }

    /// A copy of this installation's store (and its SQLite side files) in `dir`.
    pub fn copy_to(&self, dir: &Path) -> Result<Imsbridge, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let copy = Imsbridge {
            store: dir.join(self.store.file_name().unwrap_or(OsStr::new("imsbridge.db"))),
            cwd: dir.to_path_buf(),
            ..self.clone()
        };
        let name = self
            .store
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let from_dir = self.store.parent().unwrap_or(Path::new("."));
        let entries = std::fs::read_dir(from_dir)
            .map_err(|e| format!("listing {}: {e}", from_dir.display()))?;
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            // The database and its -wal / -shm / -journal companions; not rejects files.
            let side = file
                .strip_prefix(&name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'));
            if side {
                std::fs::copy(entry.path(), dir.join(&file))
                    .map_err(|e| format!("copying {file}: {e}"))?;
            }
        }
        Ok(copy)
    }
}

/// The record a source system (file name) holds under an external id.
pub fn find_record<'a>(
    records: &'a [serde_json::Value],
    system: &str,
    external_id: &str,
) -> Option<&'a serde_json::Value> {
    records.iter().find(|r| {
        r["provenance"]["system"] == system && r["provenance"]["external_id"] == external_id
    })
}
