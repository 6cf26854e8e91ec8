//! The JQL the connector sends. Pure functions, so that every query is tested exactly.
//!
//! **Order.** Every walk is `ORDER BY created ASC, key ASC`. Jira pages with an opaque
//! `nextPageToken`; whatever the token holds, a walk in creation order is safe: an issue edited
//! during the walk keeps its place, so no other issue is pushed back across a page boundary and
//! skipped, and an issue created during the walk lands at the end, where the walk still reads
//! it. Ordered by `updated` (as Atlassian's examples are), an issue edited mid-walk jumps to the
//! end; with position-based tokens the issue behind it moves back onto a page already read and
//! is never seen — and, older than the saved cursor, never read again. `key` breaks ties of
//! issues created in the same millisecond (bulk imports), so the order is total.
//!
//! **Incremental reads.** Jira compares `updated >= "YYYY-MM-DD HH:MM"` in the *searching
//! user's* time zone, at minute resolution. Without a time-zone database (and with zones that
//! users change) a wall-clock bound is a guess. A relative period is not: `updated >= "-125m"`
//! means 125 minutes before Jira's own "now", whatever the zone. The period is computed once
//! per walk from `since` (already moved back by the engine's overlap) and rounded *up* to whole
//! minutes, plus one minute for Jira's minute resolution and the time the request takes to
//! arrive, so the bound is never later than `since`: inclusive. Clock skew between this
//! machine and Jira is what the engine's overlap (default 300 s) is for. Every page of a walk
//! repeats the first page's query exactly (the period travels in the page token).

use chrono::{DateTime, Utc};

use crate::catalog::FieldDef;

/// The order of every walk (see the module documentation).
pub const ORDER: &str = "ORDER BY created ASC, key ASC";

/// A JQL string literal: double quotes, with `"` and `\` escaped.
pub fn quote(value: &str) -> String {
    format!(
        "\"{}\"",
        value.trim().replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// `project = "CAPA" AND issuetype = "Risk"`, or `project in (…)` for several projects.
pub fn scope(projects: &[String], issue_type: &str) -> String {
    let projects = match projects {
        [one] => format!("project = {}", quote(one)),
        many => format!(
            "project in ({})",
            many.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ")
        ),
    };
    format!("{projects} AND issuetype = {}", quote(issue_type))
}

/// The relative period, in whole minutes, that reaches back at least to `since` from `now`.
pub fn minutes_back(since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let seconds = u64::try_from((now - since).num_seconds()).unwrap_or(0);
    seconds.div_ceil(60) + 1
}

/// A read of one stream; `minutes`: only issues updated within that many minutes.
pub fn read(projects: &[String], issue_type: &str, minutes: Option<u64>) -> String {
    let mut jql = scope(projects, issue_type);
    if let Some(m) = minutes {
        jql.push_str(&format!(" AND updated >= \"-{m}m\""));
    }
    format!("{jql} {ORDER}")
}

/// Every issue of the type in the project that may carry a correlation id: a label (filtered
/// to the bridge's exactly, client-side: JQL cannot match a label prefix) or a value in the
/// correlation field.
pub fn list(project: &str, issue_type: &str, field: Option<&FieldDef>) -> String {
    let has = match field {
        None => "labels is not EMPTY".to_string(),
        Some(f) => format!("{} is not EMPTY", f.jql_name()),
    };
    format!(
        "{} AND {has} {ORDER}",
        scope(&[project.to_string()], issue_type)
    )
}

/// The issues that may carry exactly this correlation. A label is matched exactly by JQL; a
/// text field only by `~`, a fuzzy word search (the phrase in inner quotes narrows it) — so
/// every hit is confirmed by the caller.
pub fn lookup(project: &str, issue_type: &str, field: Option<&FieldDef>, value: &str) -> String {
    let condition = match field {
        None => format!("labels = {}", quote(value)),
        Some(f) => format!("{} ~ {}", f.jql_name(), quote(&format!("\"{value}\""))),
    };
    format!(
        "{} AND {condition} {ORDER}",
        scope(&[project.to_string()], issue_type)
    )
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::catalog::FieldType;

    #[test]
    fn incremental_reads_reach_back_past_since() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(minutes_back(now - Duration::minutes(124), now), 125);
        // 124 min 1 s back: 125 minutes round up, one more for the minute resolution.
        assert_eq!(
            minutes_back(now - Duration::seconds(124 * 60 + 1), now),
            126
        );
        // A `since` ahead of this clock still reads the last minute.
        assert_eq!(minutes_back(now + Duration::minutes(3), now), 1);
        assert_eq!(
            read(&["CAPA".into()], "Risk", Some(125)),
            r#"project = "CAPA" AND issuetype = "Risk" AND updated >= "-125m" ORDER BY created ASC, key ASC"#
        );
        assert_eq!(
            read(&["CAPA".into(), "QMS".into()], "Corrective Action", None),
            r#"project in ("CAPA", "QMS") AND issuetype = "Corrective Action" ORDER BY created ASC, key ASC"#
        );
    }

    #[test]
    fn correlation_queries_quote_their_values() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        let field = FieldDef {
            id: "customfield_10060".into(),
            name: "External ID".into(),
            ty: FieldType::Text,
        };
        assert_eq!(
            list("CAPA", "Risk", None),
            r#"project = "CAPA" AND issuetype = "Risk" AND labels is not EMPTY ORDER BY created ASC, key ASC"#
        );
        assert_eq!(
            list("CAPA", "Risk", Some(&field)),
            r#"project = "CAPA" AND issuetype = "Risk" AND cf[10060] is not EMPTY ORDER BY created ASC, key ASC"#
        );
        assert_eq!(
            lookup("CAPA", "Risk", None, "imsbridge-0123456789abcdef"),
            r#"project = "CAPA" AND issuetype = "Risk" AND labels = "imsbridge-0123456789abcdef" ORDER BY created ASC, key ASC"#
        );
        assert_eq!(
            lookup("CAPA", "Incident", Some(&field), "IMSB-0123456789abcdef"),
            r#"project = "CAPA" AND issuetype = "Incident" AND cf[10060] ~ "\"IMSB-0123456789abcdef\"" ORDER BY created ASC, key ASC"#
        );
    }
}
