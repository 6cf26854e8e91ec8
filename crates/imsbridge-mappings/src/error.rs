use std::path::PathBuf;

use thiserror::Error;

/// Why mapping data could not be loaded or a query could not be answered.
///
/// `file` is the file as a user knows it: the override path on disk, or
/// `mappings/<path> (built in)` for an embedded file. `key` is the TOML key path inside it
/// (`clause "6.1.2" map[0].hs`), so every message says where to look and what to change.
#[derive(Debug, Error)]
pub enum MappingsError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "mapping override folder {} is not a directory: pass the folder that holds hs.toml, standards/, erm/, scales/ or profiles/ (the layout of the built-in mappings/ folder)",
        .0.display()
    )]
    NotADirectory(PathBuf),

    #[error(
        "{file}: not a mapping file this version knows: expected one of {expected} (check the file name)"
    )]
    UnknownFile { file: String, expected: String },

    /// The TOML does not parse, or has a key the format does not know (the message from the
    /// TOML reader names line, column and key).
    #[error("{file}: {source}")]
    Toml {
        file: String,
        #[source]
        source: toml::de::Error,
    },

    #[error("{file}: {key}: {value:?} is not valid here: expected {expected}")]
    BadValue {
        file: String,
        key: String,
        value: String,
        expected: String,
    },

    #[error("{file}: {key}: {problem}")]
    Invalid {
        file: String,
        key: String,
        problem: String,
    },

    #[error("{file}: clause {id:?} is listed twice: each id may appear once")]
    DuplicateId { file: String, id: String },

    #[error(
        "{file}: clause {clause:?} {key}: {hs:?} is not a Harmonized Structure clause: expected an id listed in hs.toml (4 to 10.2, e.g. 6.1 or 9.2.2)"
    )]
    UnknownHsClause {
        file: String,
        clause: String,
        key: String,
        hs: String,
    },

    #[error(
        "{file}: clause {clause:?} names parent {parent:?}, which is not listed in the same file: add it or correct the parent"
    )]
    UnknownParent {
        file: String,
        clause: String,
        parent: String,
    },

    #[error(
        "{file}: clause {clause:?} is reached via {via:?}, which is not listed in the same file: add it or correct `via`"
    )]
    UnknownVia {
        file: String,
        clause: String,
        via: String,
    },

    #[error(
        "{file}: clause {clause:?}: following `{key}` leads back to the clause itself: break the loop"
    )]
    Cycle {
        file: String,
        clause: String,
        key: &'static str,
    },

    #[error(
        "{file}: alias {alias:?} is listed for both {first} and {second}: a header can mean one field only, remove one"
    )]
    DuplicateAlias {
        file: String,
        alias: String,
        first: String,
        second: String,
    },

    #[error("scale id {id:?} is declared by both {first} and {second}: scale ids must be unique")]
    DuplicateScale {
        id: String,
        first: String,
        second: String,
    },

    #[error(
        "{file}: {key}: no scale has the id {id:?}: expected one of {known} (or add mappings/scales/{id}.toml)"
    )]
    UnknownScale {
        file: String,
        key: String,
        id: String,
        known: String,
    },

    /// A clause reference the clause maps cannot place on the Harmonized Structure.
    #[error(
        "{reference} is not in the clause map {file}: expected a clause listed there, or a subclause or annex control under a listed clause (clauses 1 to 3 carry no requirements and are not mapped)"
    )]
    UnknownClause { reference: String, file: String },
}
