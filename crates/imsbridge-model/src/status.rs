use serde::{Deserialize, Serialize};

use crate::normalise_word;

/// A record's status: the source's own label, kept as written, and the category it falls in,
/// which is what reports and sync compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub category: StatusCategory,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    Open,
    InProgress,
    Closed,
    Cancelled,
    /// A label none of the categories' words match; the label itself is kept.
    Other,
}

impl Status {
    /// Categorises a source label; never fails, since any label is kept as written.
    pub fn from_label(label: &str) -> Status {
        let w = normalise_word(label);
        let category = match w.as_str() {
            "open" | "new" | "identified" | "draft" | "to do" | "todo" | "backlog" | "raised"
            | "reported" | "proposed" | "offen" | "neu" | "ouvert" => StatusCategory::Open,
            "in progress"
            | "ongoing"
            | "active"
            | "in treatment"
            | "under review"
            | "review"
            | "assessed"
            | "analysing"
            | "analyzing"
            | "planned"
            | "monitoring"
            | "monitored"
            | "wip"
            | "pending"
            | "awaiting verification"
            | "in bearbeitung"
            | "en cours" => StatusCategory::InProgress,
            "closed" | "done" | "resolved" | "complete" | "completed" | "verified" | "accepted"
            | "approved" | "effective" | "published" | "archived" | "retired" | "geschlossen"
            | "erledigt" | "fermé" => StatusCategory::Closed,
            "cancelled" | "canceled" | "rejected" | "withdrawn" | "duplicate" | "won't do"
            | "wont do" | "obsolete" | "storniert" | "annulé" => StatusCategory::Cancelled,
            _ => StatusCategory::Other,
        };
        Status {
            category,
            label: label.trim().to_string(),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(
            self.category,
            StatusCategory::Open | StatusCategory::InProgress | StatusCategory::Other
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorises_labels_and_keeps_them() {
        let s = Status::from_label(" In Progress ");
        assert_eq!(s.category, StatusCategory::InProgress);
        assert_eq!(s.label, "In Progress");
        assert_eq!(
            Status::from_label("Closed").category,
            StatusCategory::Closed
        );
        assert_eq!(Status::from_label("Parked").category, StatusCategory::Other);
        assert!(Status::from_label("Parked").is_open());
    }
}
