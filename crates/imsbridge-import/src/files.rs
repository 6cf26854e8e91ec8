use std::path::{Path, PathBuf};

use crate::ImportError;

const REGISTER_EXTENSIONS: [&str; 7] = ["xlsx", "xlsm", "xlsb", "xls", "ods", "csv", "tsv"];

/// The register files a path names: the file itself, or the register files of a folder (not
/// recursive), sorted by name so that runs are repeatable. Office lock files (`~$x.xlsx`),
/// hidden files and rejects files written by earlier imports are left out.
pub fn register_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let io = |error| ImportError::Io {
        path: path.to_path_buf(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_register = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| REGISTER_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        // JSON and XML files count when they are OSCAL documents: a folder of exports may
        // hold other JSON (a tool's settings) that is no register.
        let is_oscal = || {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "json" | "xml"))
                && crate::oscal::is_oscal(&p).unwrap_or(false)
        };
        if (is_register || (p.is_file() && is_oscal()))
            && p.is_file()
            && !name.starts_with("~$")
            && !name.starts_with('.')
            && !name.contains(".rejects")
        {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(ImportError::EmptyFolder {
            path: path.to_path_buf(),
        });
    }
    Ok(files)
}
