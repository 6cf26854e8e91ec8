use std::fs::File;
use std::path::PathBuf;

use crate::ImportError;

/// The rejects CSV of one import run, created on the first rejected row only: a clean import
/// leaves no empty file behind. Columns are `location`, `reason`, then the source row's own
/// columns under their headers; when rows from another sheet follow, a new header line is
/// written first, so every row stays readable next to its headers.
#[derive(Debug)]
pub struct RejectsFile {
    path: PathBuf,
    writer: Option<csv::Writer<File>>,
    current_header: Vec<String>,
}

impl RejectsFile {
    pub fn new(path: PathBuf) -> RejectsFile {
        RejectsFile {
            path,
            writer: None,
            current_header: Vec::new(),
        }
    }

    pub fn write(
        &mut self,
        header: &[String],
        location: &str,
        reason: &str,
        values: &[String],
    ) -> Result<(), ImportError> {
        let err = |error| ImportError::Rejects {
            path: self.path.clone(),
            error,
        };
        if self.writer.is_none() {
            let writer = csv::WriterBuilder::new()
                .flexible(true)
                .from_path(&self.path)
                .map_err(err)?;
            self.writer = Some(writer);
        }
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.current_header != header {
            let mut line = vec!["location".to_string(), "reason".to_string()];
            line.extend(header.iter().cloned());
            writer
                .write_record(&line)
                .map_err(|error| ImportError::Rejects {
                    path: self.path.clone(),
                    error,
                })?;
            self.current_header = header.to_vec();
        }
        let mut line = vec![location.to_string(), reason.to_string()];
        line.extend(values.iter().cloned());
        writer
            .write_record(&line)
            .map_err(|error| ImportError::Rejects {
                path: self.path.clone(),
                error,
            })
    }

    /// Removes the file, for a run that ends in an error and so wrote nothing.
    pub fn discard(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    pub fn finish(&mut self) -> Result<Option<PathBuf>, ImportError> {
        match self.writer.as_mut() {
            Some(w) => {
                w.flush().map_err(|e| ImportError::Io {
                    path: self.path.clone(),
                    error: e,
                })?;
                Ok(Some(self.path.clone()))
            }
            None => Ok(None),
        }
    }
}
