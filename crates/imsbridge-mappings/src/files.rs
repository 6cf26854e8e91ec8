//! The mapping files: embedded at build time, each replaceable by a file of the same relative
//! path in an override folder.

use std::fs;
use std::path::Path;

use imsbridge_model::StandardId;

use crate::MappingsError;

/// One mapping file's text and the name it is reported under.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// How errors name the file: the path on disk, or `mappings/<rel> (built in)`.
    pub label: String,
    pub text: String,
}

const HS: (&str, &str) = ("hs.toml", include_str!("../../../mappings/hs.toml"));

/// Clause maps of the management-system standards and the ERM frameworks, in report order.
const CLAUSE_MAPS: [(StandardId, &str, &str); 8] = [
    (
        StandardId::Iso27001,
        "standards/iso27001.toml",
        include_str!("../../../mappings/standards/iso27001.toml"),
    ),
    (
        StandardId::Iso9001,
        "standards/iso9001.toml",
        include_str!("../../../mappings/standards/iso9001.toml"),
    ),
    (
        StandardId::Iso42001,
        "standards/iso42001.toml",
        include_str!("../../../mappings/standards/iso42001.toml"),
    ),
    (
        StandardId::Iso14001,
        "standards/iso14001.toml",
        include_str!("../../../mappings/standards/iso14001.toml"),
    ),
    (
        StandardId::Iso45001,
        "standards/iso45001.toml",
        include_str!("../../../mappings/standards/iso45001.toml"),
    ),
    (
        StandardId::Iso22301,
        "standards/iso22301.toml",
        include_str!("../../../mappings/standards/iso22301.toml"),
    ),
    (
        StandardId::Iso31000,
        "erm/iso31000.toml",
        include_str!("../../../mappings/erm/iso31000.toml"),
    ),
    (
        StandardId::CosoErm,
        "erm/coso-erm.toml",
        include_str!("../../../mappings/erm/coso-erm.toml"),
    ),
];

/// Built-in scales, in the order detection breaks ties in.
const SCALES: [(&str, &str); 8] = [
    (
        "scales/1-5.toml",
        include_str!("../../../mappings/scales/1-5.toml"),
    ),
    (
        "scales/1-3.toml",
        include_str!("../../../mappings/scales/1-3.toml"),
    ),
    (
        "scales/low-medium-high.toml",
        include_str!("../../../mappings/scales/low-medium-high.toml"),
    ),
    (
        "scales/low-medium-high-critical.toml",
        include_str!("../../../mappings/scales/low-medium-high-critical.toml"),
    ),
    (
        "scales/percent.toml",
        include_str!("../../../mappings/scales/percent.toml"),
    ),
    (
        "scales/score-1-25.toml",
        include_str!("../../../mappings/scales/score-1-25.toml"),
    ),
    (
        "scales/score-1-16.toml",
        include_str!("../../../mappings/scales/score-1-16.toml"),
    ),
    (
        "scales/score-1-9.toml",
        include_str!("../../../mappings/scales/score-1-9.toml"),
    ),
];

pub(crate) const DEFAULT_PROFILE: (&str, &str) = (
    "profiles/default.toml",
    include_str!("../../../mappings/profiles/default.toml"),
);

/// Every mapping file to load, after overrides were applied.
#[derive(Debug)]
pub(crate) struct Sources {
    pub hs: SourceFile,
    pub clause_maps: Vec<(StandardId, SourceFile)>,
    pub scales: Vec<SourceFile>,
    pub profile: SourceFile,
}

pub(crate) fn embedded_label(rel: &str) -> String {
    format!("mappings/{rel} (built in)")
}

fn embedded((rel, text): (&str, &str)) -> SourceFile {
    SourceFile {
        label: embedded_label(rel),
        text: text.to_string(),
    }
}

/// Collects the files: the embedded ones, each replaced by `<overrides>/<same path>` when that
/// file exists. Extra `*.toml` files in `<overrides>/scales/` add scales; an unknown file in
/// `standards/` or `erm/` is an error, because a misspelt name would otherwise be ignored and
/// the user would believe their override applied.
pub(crate) fn gather(overrides: Option<&Path>) -> Result<Sources, MappingsError> {
    let Some(dir) = overrides else {
        return Ok(Sources {
            hs: embedded(HS),
            clause_maps: CLAUSE_MAPS
                .iter()
                .map(|&(id, rel, text)| (id, embedded((rel, text))))
                .collect(),
            scales: SCALES.iter().copied().map(embedded).collect(),
            profile: embedded(DEFAULT_PROFILE),
        });
    };
    if !dir.is_dir() {
        return Err(MappingsError::NotADirectory(dir.to_path_buf()));
    }
    let pick = |(rel, text): (&str, &str)| -> Result<SourceFile, MappingsError> {
        let path = dir.join(rel);
        if path.is_file() {
            read(&path)
        } else {
            Ok(embedded((rel, text)))
        }
    };

    for folder in ["standards", "erm"] {
        let known: Vec<&str> = CLAUSE_MAPS
            .iter()
            .map(|(_, rel, _)| *rel)
            .filter(|rel| rel.starts_with(folder))
            .collect();
        for path in toml_files(&dir.join(folder))? {
            let rel = format!("{folder}/{}", file_name(&path));
            if !known.contains(&rel.as_str()) {
                return Err(MappingsError::UnknownFile {
                    file: path.display().to_string(),
                    expected: known.join(", "),
                });
            }
        }
    }

    let mut scales = Vec::new();
    for (rel, text) in SCALES {
        scales.push(pick((rel, text))?);
    }
    for path in toml_files(&dir.join("scales"))? {
        let rel = format!("scales/{}", file_name(&path));
        if !SCALES.iter().any(|(known, _)| *known == rel) {
            scales.push(read(&path)?);
        }
    }

    Ok(Sources {
        hs: pick(HS)?,
        clause_maps: CLAUSE_MAPS
            .iter()
            .map(|&(id, rel, text)| pick((rel, text)).map(|f| (id, f)))
            .collect::<Result<_, _>>()?,
        scales,
        profile: pick(DEFAULT_PROFILE)?,
    })
}

pub(crate) fn read(path: &Path) -> Result<SourceFile, MappingsError> {
    let text = fs::read_to_string(path).map_err(|source| MappingsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(SourceFile {
        label: path.display().to_string(),
        text,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `*.toml` files directly in `dir`, sorted by name so that loading is deterministic; none
/// when the folder does not exist (an override folder may hold any subset of the layout).
fn toml_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, MappingsError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let io = |source| MappingsError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
