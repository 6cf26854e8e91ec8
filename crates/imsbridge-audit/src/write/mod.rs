//! Writing a pack into a folder. Every file is written under a temporary name in the folder
//! and renamed into place only when all of them are complete, `pack.json` last: a failed run
//! leaves the previous pack (and the trend base) as it was, never a half-written file.

mod html;
mod xlsx;

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::options::PACK_JSON;
use crate::{AuditError, AuditPack, PackSummary};

pub const XLSX_FILE: &str = "audit-pack.xlsx";
pub const HTML_FILE: &str = "index.html";
pub const OSCAL_FILE: &str = "assessment-results.json";
pub const CSV_FILE: &str = "programme.csv";

/// Writes `audit-pack.xlsx`, `index.html`, `assessment-results.json`, `programme.csv` and
/// `pack.json` into `out_dir` (created when missing) and reports what was written.
pub fn write_pack(pack: &AuditPack, out_dir: &Path) -> Result<PackSummary, AuditError> {
    std::fs::create_dir_all(out_dir).map_err(|source| AuditError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut staging = Staging::new(out_dir);
    let xlsx_tmp = staging.stage(XLSX_FILE);
    let xlsx_path = out_dir.join(XLSX_FILE);
    // The workbook takes longest: its Evidence sheet and its compression run on a thread of
    // their own while this one writes the workbook's other sheets and then the other files
    // (the OSCAL export included).
    let started = std::time::Instant::now();
    let (workbook, others) = xlsx::write(pack, &xlsx_tmp, || write_others(pack, &mut staging));
    let workbook = workbook
        .map_err(|e| match e {
            // Name the file the user will look for, not the temporary one.
            AuditError::Xlsx { source, .. } => AuditError::Xlsx {
                path: xlsx_path.clone(),
                source,
            },
            other => other,
        })
        .and_then(|()| sync_file(&xlsx_tmp, &xlsx_path));
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        "audit pack: {XLSX_FILE} written (with the other files beside it)"
    );
    workbook.and(others)?;
    let files = staging.commit()?;
    Ok(pack.summary(files))
}

/// Everything but the workbook, `pack.json` last.
fn write_others(pack: &AuditPack, staging: &mut Staging) -> Result<(), AuditError> {
    staging.write(HTML_FILE, |w| html::write(pack, w))?;
    let started = std::time::Instant::now();
    let oscal = pack.assessment_results()?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        "audit pack: OSCAL assessment results built"
    );
    // Streamed, and compact: the export can run to tens of megabytes.
    staging.write(OSCAL_FILE, |w| {
        serde_json::to_writer(&mut *w, &oscal).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    staging.write(CSV_FILE, |w| {
        write_programme_csv(pack, w).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        })
    })?;
    staging.write(PACK_JSON, |w| {
        serde_json::to_writer(&mut *w, pack).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// Makes a spreadsheet cell (or CSV field) inert: text that Excel, LibreOffice or Sheets
/// would read as a formula on entry or edit — starting with `=`, `+`, `-`, `@`, a tab, a
/// carriage return or a line feed, or their full-width forms — gets a leading apostrophe
/// (`'`), the OWASP remedy for CSV injection. The apostrophe stays visible in the cell, so a
/// reader can tell the text was neutralised; nothing else changes.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    const TRIGGERS: [char; 11] = [
        '=', '+', '-', '@', '\t', '\r', '\n', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ];
    if text.starts_with(TRIGGERS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `programme.csv`: one row per programme line, shared lines then discipline-specific ones.
fn write_programme_csv(pack: &AuditPack, w: &mut dyn Write) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "order",
        "section",
        "hs",
        "title",
        "standards",
        "clauses",
        "records",
        "open_items",
        "exposure",
        "weight",
    ])?;
    for line in pack.programme.iter().chain(&pack.discipline) {
        let standards: Vec<&str> = line.standards.iter().map(|s| s.key()).collect();
        let clauses: Vec<String> = line.clauses.iter().map(|c| c.label()).collect();
        out.write_record([
            line.order.to_string().as_str(),
            line.section.as_str(),
            &neutralise(&line.hs.join("; ")),
            &neutralise(&line.title),
            &standards.join("; "),
            &neutralise(&clauses.join("; ")),
            &line.records.to_string(),
            &line.open_items.to_string(),
            &format!("{:.1}", line.exposure),
            &format!("{:.1}", line.weight),
        ])?;
    }
    out.flush()?;
    Ok(())
}

/// Flushes a finished temporary file to disk, so the rename never exposes a file whose data
/// is still in flight.
fn sync_file(tmp: &Path, shown: &Path) -> Result<(), AuditError> {
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|source| AuditError::Write {
            path: shown.to_path_buf(),
            source,
        })
}

/// Temporary files in the output folder, renamed into place together by `commit`; whatever
/// is still staged when dropped (after an error) is removed.
struct Staging {
    dir: PathBuf,
    staged: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    fn new(dir: &Path) -> Staging {
        Staging {
            dir: dir.to_path_buf(),
            staged: Vec::new(),
        }
    }

    /// A temporary path in the folder for the final file `name`.
    fn stage(&mut self, name: &str) -> PathBuf {
        let tmp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        self.staged.push((tmp.clone(), self.dir.join(name)));
        tmp
    }

    fn write(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), AuditError> {
        let started = std::time::Instant::now();
        let tmp = self.stage(name);
        let shown = self.dir.join(name);
        let err = |source| AuditError::Write {
            path: shown.clone(),
            source,
        };
        let file = File::create(&tmp).map_err(err)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        body(&mut w).map_err(err)?;
        let file = w.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis(),
            "audit pack: {name} written"
        );
        Ok(())
    }

    fn commit(mut self) -> Result<Vec<PathBuf>, AuditError> {
        let mut done = Vec::new();
        for (tmp, target) in std::mem::take(&mut self.staged) {
            if let Err(source) = std::fs::rename(&tmp, &target) {
                let _ = std::fs::remove_file(&tmp);
                return Err(AuditError::Write {
                    path: target,
                    source,
                });
            }
            done.push(target);
        }
        Ok(done)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formula_triggers_only() {
        assert_eq!(neutralise("=1+2"), "'=1+2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-cmd"), "'-cmd");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("\u{ff1d}1"), "'\u{ff1d}1");
        assert_eq!(neutralise("9.2 Internal audit"), "9.2 Internal audit");
        assert_eq!(neutralise(""), "");
    }
}
