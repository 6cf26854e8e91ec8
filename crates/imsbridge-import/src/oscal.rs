//! OSCAL documents in an import: recognised by content, read and mapped by the OSCAL
//! connector with the import's options.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use imsbridge_connector_oscal::{CatalogKind, Imported, ReadOptions, detect, read_path_with};
use imsbridge_mappings::Mappings;
use imsbridge_model::RecordKind;

use crate::{ImportError, ImportOptions};

/// How much of a file is enough to see an OSCAL root: a JSON document's first key or an XML
/// document's first element, after a BOM, an XML declaration and comments.
const SNIFF_BYTES: usize = 8 * 1024;

/// Whether the file at `path` is an OSCAL document (JSON or XML).
pub(crate) fn is_oscal(path: &Path) -> Result<bool, ImportError> {
    let io = |error| ImportError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .map_err(io)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(io)?;
    Ok(detect(&prefix).is_some())
}

/// Reads the document. `--kind requirement_assessment` reads a catalog's controls as
/// requirements to assess; any other `--kind` keeps only records of that kind;
/// `--standard` says which standard a catalog's control labels number.
pub(crate) fn read(
    path: &Path,
    system: &str,
    options: &ImportOptions,
    imported_at: DateTime<Utc>,
    mappings: &Mappings,
) -> Result<Imported, ImportError> {
    let mut read = match &options.oscal {
        Some(configured) => configured.clone(),
        None => {
            let mut read = ReadOptions::default();
            read.map.standard = options.standard;
            match options.kind {
                Some(RecordKind::RequirementAssessment) => {
                    read.map.catalog_kind = CatalogKind::RequirementAssessment;
                }
                Some(kind) => read.map.kinds = vec![kind],
                None => {}
            }
            read
        }
    };
    read.map.imported_at = imported_at;
    Ok(read_path_with(path, system, &read, mappings)?)
}
