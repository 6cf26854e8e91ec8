//! The keys of a `[[system]]` entry that only the Jira connector understands. The shared keys
//! (`name`, `base_url`, `username_env`, `token_env`, `write`, `fields`, `scale`,
//! `timeout_secs` …) are the framework's [`CommonConfig`](imsbridge_connector::CommonConfig).

use imsbridge_connector::{ConfigError, SystemEntry};
use imsbridge_mappings::{Dimension, Mappings};
use imsbridge_model::RecordKind;
use serde::Deserialize;

/// Issues asked for per search page when `page_size` is not set. Jira may answer with fewer
/// (it shortens pages that carry many fields); the connector follows `nextPageToken` anyway.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The largest `maxResults` Jira's enhanced search accepts.
pub const MAX_PAGE_SIZE: u32 = 5000;

/// The scale likelihood and impact fields are read and written on when `scale` is not set.
pub const DEFAULT_SCALE: &str = "1-5";

/// The unified-model fields the common `fields` key can map to a Jira field (by its name, as
/// Jira shows it, or by its id such as `customfield_10050`).
///
/// | model field | record kinds | default Jira field |
/// | --- | --- | --- |
/// | `owner` | all | Assignee (read only: Jira wants account ids) |
/// | `due` | all | Due date |
/// | `clauses` | all | — |
/// | `likelihood`, `impact`, `residual_likelihood`, `residual_impact` | risk | — |
/// | `treatment`, `treatment_plan` | risk | — |
/// | `category` | risk, incident | — |
/// | `severity` | incident, nonconformity, corrective action | — |
/// | `affected`, `resolution` | incident | — |
/// | `source`, `root_cause`, `correction`, `corrective_action`, `effectiveness` | nonconformity, corrective action | — |
pub const MODEL_FIELDS: [&str; 18] = [
    "owner",
    "due",
    "clauses",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "treatment",
    "treatment_plan",
    "category",
    "severity",
    "affected",
    "resolution",
    "source",
    "root_cause",
    "correction",
    "corrective_action",
    "effectiveness",
];

/// The model fields that hold ratings, read and written on `scale`.
pub const RATING_FIELDS: [&str; 4] = [
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
];

/// The Jira issue type of each record kind. Only the kinds given here are read (one stream
/// each) and only they can be written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueTypes {
    /// Issues of this type are read as nonconformities (stream `nonconformities`).
    #[serde(default)]
    pub nonconformity: Option<String>,
    /// Issues of this type are read as corrective actions (stream `corrective_actions`).
    #[serde(default)]
    pub corrective_action: Option<String>,
    /// Issues of this type are read as risks (stream `risks`); AI risks are written as such.
    #[serde(default)]
    pub risk: Option<String>,
    /// Issues of this type are read as incidents (stream `incidents`); AI incidents are written
    /// as such.
    #[serde(default)]
    pub incident: Option<String>,
}

impl IssueTypes {
    /// The issue type name configured for `kind`.
    pub fn get(&self, kind: RecordKind) -> Option<&str> {
        let name = match kind {
            RecordKind::Nonconformity => &self.nonconformity,
            RecordKind::CorrectiveAction => &self.corrective_action,
            RecordKind::Risk => &self.risk,
            RecordKind::Incident => &self.incident,
            _ => &None,
        };
        name.as_deref().map(str::trim)
    }

    /// The configured kinds and their issue type names, in stream order.
    pub fn configured(&self) -> Vec<(RecordKind, &str)> {
        [
            RecordKind::Nonconformity,
            RecordKind::CorrectiveAction,
            RecordKind::Risk,
            RecordKind::Incident,
        ]
        .into_iter()
        .filter_map(|kind| self.get(kind).map(|name| (kind, name)))
        .collect()
    }
}

/// Jira Cloud settings of one `[[system]]` entry.
///
/// ```toml
/// [[system]]
/// name = "jira"
/// type = "jira"
/// base_url = "https://acme.atlassian.net"
/// username_env = "JIRA_EMAIL"         # email + API token (Basic), or token_env alone (Bearer)
/// token_env = "JIRA_API_TOKEN"
/// project = "CAPA"
/// issue_types = { nonconformity = "Nonconformity", corrective_action = "Corrective Action", risk = "Risk", incident = "Incident" }
/// write = ["risk", "incident"]
/// fields = { likelihood = "Likelihood", impact = "Impact", treatment = "Treatment" }
/// transitions = true
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The key of the project issues are written to (and read from, unless `read_projects`
    /// says otherwise), e.g. `CAPA`.
    pub project: String,
    /// The keys of the projects issues are read from (default: `project` alone).
    #[serde(default)]
    pub read_projects: Vec<String>,
    /// The issue type of each record kind (see [`IssueTypes`]); at least one.
    pub issue_types: IssueTypes,
    /// The Jira custom field (a single-line text field, by name or id) holding the
    /// correlation id `IMSB-…` of written issues. Default: none, the correlation is the exact
    /// label `imsbridge-…` on the issue.
    #[serde(default)]
    pub correlation_field: Option<String>,
    /// Move a written issue through its workflow when the record's status category changes
    /// (default false): the first transition Jira offers into a status of the wanted category
    /// (To Do / In Progress / Done) is taken. Off, the status is never written.
    #[serde(default)]
    pub transitions: bool,
    /// Issues asked for per search page (default 100, at most 5000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Issues carrying this label are flagged as concerning AI when read (default: none).
    #[serde(default)]
    pub ai_label: Option<String>,
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

impl Config {
    /// The projects read.
    pub fn read_projects(&self) -> Vec<String> {
        if self.read_projects.is_empty() {
            vec![self.project.trim().to_string()]
        } else {
            self.read_projects
                .iter()
                .map(|p| p.trim().to_string())
                .collect()
        }
    }

    /// Checks the values against each other and against the entry's shared keys. Every
    /// message names the key path (`system[1] (jira).issue_types`).
    pub fn validate(&self, entry: &SystemEntry) -> Result<(), ConfigError> {
        let key = |name: &str, message: String| ConfigError::Key {
            path: format!("{}.{name}", entry.path()),
            message,
        };
        let common = &entry.common;

        entry.check_base_url(
            "Jira needs base_url, the address of the site (https://acme.atlassian.net)",
        )?;

        // Jira Cloud refuses account passwords on its API: a password here is a mistake that
        // would only show later as a 401, so it is refused now with the fix.
        if common.password_env.is_some() || common.password_file.is_some() {
            let name = if common.password_env.is_some() {
                "password_env"
            } else {
                "password_file"
            };
            return Err(key(
                name,
                "Jira Cloud does not take account passwords over its API: put an API token \
                 (id.atlassian.com → Security → API tokens) in token_env or token_file, with \
                 username_env = the account's email"
                    .into(),
            ));
        }
        if common.token_env.is_none() && common.token_file.is_none() {
            return Err(key(
                "token_env",
                "Jira needs a token: set token_env (or token_file) to an API token together with \
                 username_env = the account's email (Basic), or to an OAuth 2.0 access token \
                 alone (Bearer)"
                    .into(),
            ));
        }

        check_project_key(&self.project).map_err(|m| key("project", m))?;
        for (i, project) in self.read_projects.iter().enumerate() {
            check_project_key(project).map_err(|m| key(&format!("read_projects[{i}]"), m))?;
        }

        let configured = self.issue_types.configured();
        if configured.is_empty() {
            return Err(key(
                "issue_types",
                "names no issue type: give at least one of nonconformity, corrective_action, \
                 risk, incident (e.g. issue_types = { risk = \"Risk\" })"
                    .into(),
            ));
        }
        for (kind, name) in &configured {
            if name.is_empty() {
                return Err(key(
                    &format!("issue_types.{kind}"),
                    "is empty: give the issue type's name as Jira shows it, or leave it out".into(),
                ));
            }
        }

        if let Some(field) = &self.correlation_field
            && field.trim().is_empty()
        {
            return Err(key(
                "correlation_field",
                "is empty: give the name or id of a single-line text field, or leave it out \
                 to correlate by label"
                    .into(),
            ));
        }
        if let Some(label) = &self.ai_label
            && (label.trim().is_empty() || label.trim().contains(char::is_whitespace))
        {
            return Err(key(
                "ai_label",
                format!("{label:?} is not a Jira label (labels have no spaces)"),
            ));
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(key(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }

        for (model, remote) in &common.fields {
            if !MODEL_FIELDS.contains(&model.as_str()) {
                return Err(key(
                    &format!("fields.{model}"),
                    format!(
                        "is not a model field the Jira connector maps; it maps {}",
                        MODEL_FIELDS.join(", ")
                    ),
                ));
            }
            if remote.trim().is_empty() {
                return Err(key(
                    &format!("fields.{model}"),
                    "is empty: give the Jira field's name or id (customfield_NNNNN)".into(),
                ));
            }
        }
        // The scale only says how rating fields read; without one it would silently do nothing.
        let rated = RATING_FIELDS.iter().any(|f| common.fields.contains_key(*f));
        if let Some(scale) = &common.scale {
            if !rated {
                return Err(key(
                    "scale",
                    "applies to likelihood and impact fields, and none is mapped: map them in \
                     `fields` (e.g. fields = { likelihood = \"Likelihood\" }) or remove `scale`"
                        .into(),
                ));
            }
            rating_scale(scale).map_err(|m| key("scale", m))?;
        }

        for word in &common.write {
            let kind = word.parse::<RecordKind>().map_err(|_| {
                key(
                    "write",
                    format!("`{word}` is not a record kind; Jira takes `risk` and `incident`"),
                )
            })?;
            if !matches!(kind, RecordKind::Risk | RecordKind::Incident) {
                return Err(key(
                    "write",
                    format!("Jira takes `risk` and `incident` records only, not `{word}`"),
                ));
            }
            if self.issue_types.get(kind).is_none() {
                return Err(key(
                    &format!("issue_types.{kind}"),
                    format!(
                        "is required when `write` has `{word}`: the issue type {kind} records \
                         are written as"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The built-in scale with this id, if it rates likelihood or impact.
pub fn rating_scale(id: &str) -> Result<imsbridge_mappings::Scale, String> {
    let mappings = Mappings::embedded().map_err(|e| format!("the built-in scales: {e}"))?;
    let scale = mappings.scale(id.trim()).ok_or_else(|| {
        let ids: Vec<&str> = mappings
            .scales()
            .iter()
            .filter(|s| s.has_dimension(Dimension::Likelihood))
            .map(|s| s.id())
            .collect();
        format!(
            "no built-in scale `{id}`; likelihood and impact scales are {}",
            ids.join(", ")
        )
    })?;
    if !scale.has_dimension(Dimension::Likelihood) || scale.levels().is_empty() {
        return Err(format!(
            "`{id}` is not a likelihood/impact scale with levels (it rates {})",
            scale
                .dimensions()
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(scale.clone())
}

/// A project key as Jira makes them: a letter, then letters, digits or underscores. Anything
/// else could not be a key and, inside JQL, could change the query.
fn check_project_key(key: &str) -> Result<(), String> {
    let key = key.trim();
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a Jira project key (such as CAPA: letters, digits, underscores)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use imsbridge_connector::deserialize_specific;

    use super::*;

    const BASE: &str = "name='jira'\ntype='jira'\nbase_url='https://acme.atlassian.net'\n\
                        username_env='E'\ntoken_env='T'\nproject='CAPA'\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        let text = format!("{BASE}{extra}");
        let e = SystemEntry::split(0, toml::from_str(&text).unwrap()).unwrap();
        let config: Config = deserialize_specific(&e)?;
        config.validate(&e)?;
        Ok(config)
    }

    #[test]
    fn defaults_and_every_key() {
        let c = parse("issue_types = { risk = 'Risk' }").unwrap();
        assert_eq!(c.page_size, 100);
        assert!(!c.transitions);
        assert_eq!(c.correlation_field, None);
        assert_eq!(c.read_projects(), vec!["CAPA".to_string()]);
        assert_eq!(c.issue_types.configured(), vec![(RecordKind::Risk, "Risk")]);

        let c = parse(
            "issue_types = { nonconformity = 'NC', corrective_action = 'CA', risk = 'Risk', \
             incident = 'Incident' }\nread_projects = ['CAPA', 'QMS']\n\
             correlation_field = 'External ID'\ntransitions = true\npage_size = 50\n\
             ai_label = 'ai'\nwrite = ['risk', 'incident']\n\
             fields = { likelihood = 'Likelihood', impact = 'customfield_10051' }\nscale = '1-3'",
        )
        .unwrap();
        assert_eq!(c.issue_types.configured().len(), 4);
        assert_eq!(c.read_projects(), vec!["CAPA".to_string(), "QMS".into()]);
        assert!(c.transitions);
        assert_eq!(c.page_size, 50);
        assert_eq!(c.ai_label.as_deref(), Some("ai"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("issue_types = {}", "issue_types"),
            ("issue_types = { risk = ' ' }", "issue_types.risk"),
            ("issue_types = { risk = 'R' }\nwrite = ['control']", "write"),
            (
                "issue_types = { risk = 'R' }\nwrite = ['incident']",
                "issue_types.incident",
            ),
            ("issue_types = { risk = 'R' }\npage_size = 0", "page_size"),
            (
                "issue_types = { risk = 'R' }\nread_projects = ['a b']",
                "read_projects[0]",
            ),
            ("issue_types = { risk = 'R' }\nai_label = 'a b'", "ai_label"),
            (
                "issue_types = { risk = 'R' }\ncorrelation_field = ''",
                "correlation_field",
            ),
            (
                "issue_types = { risk = 'R' }\nfields = { title = 'Summary' }",
                "fields.title",
            ),
            ("issue_types = { risk = 'R' }\nscale = '1-5'", "scale"),
            (
                "issue_types = { risk = 'R' }\nfields = { impact = 'I' }\nscale = 'score-1-25'",
                "scale",
            ),
            (
                "issue_types = { risk = 'R' }\npassword_env = 'P'",
                "password_env",
            ),
        ];
        for (extra, name) in cases {
            let err = parse(extra).unwrap_err().to_string();
            assert!(err.contains(&format!("(jira).{name}")), "{extra}: {err}");
        }
        let err = parse("issue_types = { risk = 'R' }\npassword_env = 'P'")
            .unwrap_err()
            .to_string();
        assert!(err.contains("token_env"), "{err}");
        let err = parse("issue_types = { risk = 'R' }\nissue_type = 'x'")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("issue_type") && err.contains("`project`"),
            "{err}"
        );
    }

    #[test]
    fn base_url_and_token_are_required() {
        for (text, needle) in [
            ("name='j'\ntype='jira'\ntoken_env='T'", "base_url"),
            (
                "name='j'\ntype='jira'\nbase_url='ftp://x'\ntoken_env='T'",
                "http",
            ),
            (
                "name='j'\ntype='jira'\nbase_url='https://x'\nusername_env='E'",
                "token_env",
            ),
        ] {
            let e = SystemEntry::split(0, toml::from_str(text).unwrap()).unwrap();
            let config = Config {
                project: "CAPA".into(),
                read_projects: vec![],
                issue_types: IssueTypes {
                    risk: Some("Risk".into()),
                    ..IssueTypes::default()
                },
                correlation_field: None,
                transitions: false,
                page_size: 100,
                ai_label: None,
            };
            let err = config.validate(&e).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
