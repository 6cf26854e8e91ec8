//! The keys of a `[[system]]` entry that only the ServiceNow connector understands. The shared
//! keys (`name`, `base_url`, `token_env`, `username_env`, `write`, `timeout_secs` …) are the
//! framework's [`CommonConfig`](imsbridge_connector::CommonConfig).

use imsbridge_connector::{ConfigError, SystemEntry};
use imsbridge_model::RecordKind;
use serde::Deserialize;

/// Rows per page when reading (`sysparm_limit`).
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The largest page size accepted: ServiceNow caps `sysparm_limit` at 10 000 by default, and
/// pages that large run into the request timeout on wide GRC tables.
pub const MAX_PAGE_SIZE: u32 = 10_000;

/// The field of the write table holding the bridge's correlation id, when not configured.
pub const DEFAULT_CORRELATION_FIELD: &str = "u_imsbridge_id";

/// The longest pause taken when the instance says its rate limit is used up
/// (`X-RateLimit-Remaining: 0`), when not configured.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT_SECS: u64 = 60;

/// The risk fields the connector can write, in the target's own names. Impact, likelihood,
/// score and state are not among them: the instance's business rules compute or guard those
/// (and revert `state` set through the API), so writing them would only produce endless
/// differences.
pub const MAPPABLE_WRITE_FIELDS: [&str; 5] = [
    "name",
    "short_description",
    "description",
    "category",
    "response",
];

/// The fields written when `write_fields` is not set: the purely descriptive ones.
pub const DEFAULT_WRITE_FIELDS: [&str; 2] = ["name", "description"];

/// ServiceNow settings of one `[[system]]` entry.
///
/// ```toml
/// [[system]]
/// name = "snow"
/// type = "servicenow"
/// base_url = "https://acme.service-now.com"
/// oauth_client_id_env = "SN_CLIENT_ID"
/// oauth_client_secret_env = "SN_CLIENT_SECRET"
/// write = ["risk"]
/// correlation_field = "u_imsbridge_id"
/// write_fields = ["name", "description", "category"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The table of the `risks` stream (default `sn_risk_risk`).
    #[serde(default = "default_risk_table")]
    pub risk_table: String,
    /// The table of the `controls` stream (default `sn_compliance_control`).
    #[serde(default = "default_control_table")]
    pub control_table: String,
    /// The table of the `control_objectives` stream (default
    /// `sn_compliance_policy_statement`).
    #[serde(default = "default_control_objective_table")]
    pub control_objective_table: String,
    /// The table of the `issues` stream (default `sn_grc_issue`).
    #[serde(default = "default_issue_table")]
    pub issue_table: String,
    /// The table of the `audits` stream (default `sn_audit_engagement`).
    #[serde(default = "default_audit_table")]
    pub audit_table: String,
    /// The table of the `incidents` stream (default `sn_si_incident`).
    #[serde(default = "default_incident_table")]
    pub incident_table: String,
    /// The table AI risks are written to and looked up in (default: `risk_table`).
    #[serde(default)]
    pub write_table: Option<String>,
    /// An Import Set staging table: creates and updates are posted to
    /// `/api/now/import/<import_set_table>` and its transform map writes them into
    /// `write_table`. The staging table's columns carry the same names as the written
    /// fields, and the transform map must coalesce on `correlation_field`.
    #[serde(default)]
    pub import_set_table: Option<String>,
    /// The string field of the write table holding the bridge's correlation id
    /// (`IMSB-` + 16 hex digits; default `u_imsbridge_id`). It must exist: create it on the
    /// table (a string of at least 21 characters) before the first sync.
    #[serde(default = "default_correlation_field")]
    pub correlation_field: String,
    /// The fields written (default `["name", "description"]`); any of `name`,
    /// `short_description`, `description`, `category` (a choice: values must exist in the
    /// instance) and `response` (accept, avoid, mitigate, transfer).
    #[serde(default)]
    pub write_fields: Option<Vec<String>>,
    /// Fields to fetch besides the mapped ones (`sysparm_fields`). Not set (default): every
    /// field is fetched and what is not mapped is kept in the record's `extra`.
    #[serde(default)]
    pub read_fields: Option<Vec<String>>,
    /// Rows per page (`sysparm_limit`, default 100, at most 10 000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The environment variable holding the OAuth client id (for `POST /oauth_token.do`).
    #[serde(default)]
    pub oauth_client_id_env: Option<String>,
    /// The environment variable holding the OAuth client secret.
    #[serde(default)]
    pub oauth_client_secret_env: Option<String>,
    /// The environment variable holding an OAuth refresh token: the token endpoint is then
    /// asked with `grant_type=refresh_token` instead of `client_credentials`.
    #[serde(default)]
    pub oauth_refresh_token_env: Option<String>,
    /// The longest pause, in seconds, when the instance reports its rate limit used up
    /// (`X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`; default 60).
    #[serde(default = "default_max_rate_limit_wait_secs")]
    pub max_rate_limit_wait_secs: u64,
}

fn default_risk_table() -> String {
    "sn_risk_risk".into()
}
fn default_control_table() -> String {
    "sn_compliance_control".into()
}
fn default_control_objective_table() -> String {
    "sn_compliance_policy_statement".into()
}
fn default_issue_table() -> String {
    "sn_grc_issue".into()
}
fn default_audit_table() -> String {
    "sn_audit_engagement".into()
}
fn default_incident_table() -> String {
    "sn_si_incident".into()
}
fn default_correlation_field() -> String {
    DEFAULT_CORRELATION_FIELD.into()
}
fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}
fn default_max_rate_limit_wait_secs() -> u64 {
    DEFAULT_MAX_RATE_LIMIT_WAIT_SECS
}

impl Default for Config {
    fn default() -> Self {
        Config {
            risk_table: default_risk_table(),
            control_table: default_control_table(),
            control_objective_table: default_control_objective_table(),
            issue_table: default_issue_table(),
            audit_table: default_audit_table(),
            incident_table: default_incident_table(),
            write_table: None,
            import_set_table: None,
            correlation_field: default_correlation_field(),
            write_fields: None,
            read_fields: None,
            page_size: DEFAULT_PAGE_SIZE,
            oauth_client_id_env: None,
            oauth_client_secret_env: None,
            oauth_refresh_token_env: None,
            max_rate_limit_wait_secs: DEFAULT_MAX_RATE_LIMIT_WAIT_SECS,
        }
    }
}

/// How the connector authenticates, as the configuration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `username_env`/`password_env` (or the `_file` keys).
    Basic,
    /// `token_env`/`token_file`: a ready OAuth bearer token.
    Bearer,
    /// `oauth_client_id_env` + `oauth_client_secret_env`: tokens from `/oauth_token.do`.
    OAuth,
}

impl Config {
    /// The table AI risks are written to.
    pub fn write_table(&self) -> &str {
        self.write_table.as_deref().unwrap_or(&self.risk_table)
    }

    /// The fields written, in the target's names.
    pub fn write_fields(&self) -> Vec<String> {
        match &self.write_fields {
            Some(fields) => fields.clone(),
            None => DEFAULT_WRITE_FIELDS.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// The table key of each stream and its configured table, in stream order.
    pub fn tables(&self) -> [(&'static str, &str); 6] {
        [
            ("risk_table", &self.risk_table),
            ("control_table", &self.control_table),
            ("control_objective_table", &self.control_objective_table),
            ("issue_table", &self.issue_table),
            ("audit_table", &self.audit_table),
            ("incident_table", &self.incident_table),
        ]
    }

    /// The authentication the entry configures; refuses none, several, or half of one.
    pub fn auth_method(&self, entry: &SystemEntry) -> Result<AuthMethod, ConfigError> {
        let key = |name: &str, message: String| ConfigError::Key {
            path: format!("{}.{name}", entry.path()),
            message,
        };
        let c = &entry.common;
        let basic = c.username_env.is_some() || c.username_file.is_some();
        let bearer = c.token_env.is_some() || c.token_file.is_some();
        let oauth = self.oauth_client_id_env.is_some() || self.oauth_client_secret_env.is_some();
        if self.oauth_refresh_token_env.is_some() && !oauth {
            return Err(key(
                "oauth_refresh_token_env",
                "needs oauth_client_id_env and oauth_client_secret_env: ServiceNow's token \
                 endpoint takes the refresh token together with the client's id and secret"
                    .into(),
            ));
        }
        if oauth && (self.oauth_client_id_env.is_none() || self.oauth_client_secret_env.is_none()) {
            let missing = if self.oauth_client_id_env.is_none() {
                "oauth_client_id_env"
            } else {
                "oauth_client_secret_env"
            };
            return Err(key(
                missing,
                "oauth_client_id_env and oauth_client_secret_env go together: set both (the \
                 OAuth application registry entry's client id and secret)"
                    .into(),
            ));
        }
        match (basic, bearer, oauth) {
            (true, false, false) => Ok(AuthMethod::Basic),
            (false, true, false) => Ok(AuthMethod::Bearer),
            (false, false, true) => Ok(AuthMethod::OAuth),
            (false, false, false) => Err(key(
                "username_env",
                "ServiceNow needs credentials: username_env + password_env (Basic), token_env (a \
                 ready OAuth bearer token), or oauth_client_id_env + oauth_client_secret_env \
                 (tokens from /oauth_token.do)"
                    .into(),
            )),
            _ => {
                let mut set = Vec::new();
                if basic {
                    set.push("username_env/password_env");
                }
                if bearer {
                    set.push("token_env");
                }
                if oauth {
                    set.push("oauth_client_id_env/oauth_client_secret_env");
                }
                Err(key(
                    if bearer { "token_env" } else { "username_env" },
                    format!(
                        "configure exactly one way to authenticate, not {}: it would be \
                         ambiguous which one the connector uses",
                        set.join(" and ")
                    ),
                ))
            }
        }
    }

    /// Checks the values against each other and against the entry's shared keys. Every
    /// message names the key path (`system[1] (snow).write_fields`).
    pub fn validate(&self, entry: &SystemEntry) -> Result<(), ConfigError> {
        let key = |name: &str, message: String| ConfigError::Key {
            path: format!("{}.{name}", entry.path()),
            message,
        };
        let common = &entry.common;

        entry.check_base_url(
            "ServiceNow needs base_url, the instance's address \
             (https://<instance>.service-now.com)",
        )?;
        self.auth_method(entry)?;

        // Table and field names go into URL paths and encoded queries: anything but a plain
        // name would change what is asked for.
        let mut names: Vec<(&str, &str)> = self.tables().to_vec();
        if let Some(t) = &self.write_table {
            names.push(("write_table", t));
        }
        if let Some(t) = &self.import_set_table {
            names.push(("import_set_table", t));
        }
        names.push(("correlation_field", &self.correlation_field));
        for (name, value) in names {
            if !is_name(value) {
                return Err(key(
                    name,
                    format!(
                        "{value:?} is not a ServiceNow table or field name (letters, digits and \
                         `_` only, such as sn_risk_risk)"
                    ),
                ));
            }
        }
        if let Some(fields) = &self.read_fields
            && let Some(bad) = fields.iter().find(|f| !is_name(f))
        {
            return Err(key(
                "read_fields",
                format!("{bad:?} is not a ServiceNow field name"),
            ));
        }
        if let Some(fields) = &self.write_fields {
            self.validate_write_fields(fields)
                .map_err(|m| key("write_fields", m))?;
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(key(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if self.max_rate_limit_wait_secs == 0 {
            return Err(key(
                "max_rate_limit_wait_secs",
                "must be at least 1 (the pause is capped, never skipped)".into(),
            ));
        }

        // Keys every system takes but this one cannot honour are refused rather than ignored:
        // a setting that silently does nothing is worse than an error.
        if common.scale.is_some() {
            return Err(key(
                "scale",
                "the ServiceNow connector writes no ratings (the instance computes impact, \
                 likelihood and score), so `scale` does not apply (remove it)"
                    .into(),
            ));
        }
        if !common.fields.is_empty() {
            return Err(key(
                "fields",
                "the ServiceNow connector chooses written fields with `write_fields` (and \
                 fetched ones with `read_fields`); `fields` overrides are not supported for it"
                    .into(),
            ));
        }
        for word in &common.write {
            if let Ok(kind) = word.parse::<RecordKind>()
                && kind != RecordKind::Risk
            {
                return Err(key(
                    "write",
                    format!(
                        "ServiceNow takes `risk` records only (written to {}), not `{word}`",
                        self.write_table()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_write_fields(&self, fields: &[String]) -> Result<(), String> {
        if fields.is_empty() {
            return Err(
                "is empty: list the fields to write, or leave the key out for the \
                        default [\"name\", \"description\"]"
                    .into(),
            );
        }
        for (i, field) in fields.iter().enumerate() {
            if !MAPPABLE_WRITE_FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "`{field}` cannot be written; the fields that can are {} (impact, \
                     likelihood, score and state are computed by the instance's business rules)",
                    MAPPABLE_WRITE_FIELDS.join(", ")
                ));
            }
            if fields[..i].contains(field) {
                return Err(format!("`{field}` is listed twice"));
            }
        }
        if !fields
            .iter()
            .any(|f| f == "name" || f == "short_description")
        {
            return Err(
                "must contain `name` or `short_description`: a risk needs its title".into(),
            );
        }
        Ok(())
    }
}

/// Whether `text` is a plain table or field name.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 80
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use imsbridge_connector::deserialize_specific;

    use super::*;

    fn entry(text: &str) -> SystemEntry {
        SystemEntry::split(0, toml::from_str(text).unwrap()).unwrap()
    }

    const BASE: &str = "name='snow'\ntype='servicenow'\nbase_url='https://x.service-now.com'\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        let e = entry(&format!("{BASE}{extra}"));
        let config: Config = deserialize_specific(&e)?;
        config.validate(&e)?;
        Ok(config)
    }

    #[test]
    fn defaults_and_every_key() {
        let c = parse("username_env='U'\npassword_env='P'").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.write_table(), "sn_risk_risk");
        assert_eq!(c.write_fields(), ["name", "description"]);
        assert_eq!(
            c.tables()[2],
            ("control_objective_table", "sn_compliance_policy_statement")
        );
        let c = parse(
            "token_env='T'\nrisk_table='u_risk'\nwrite_table='u_ai_risk'\nimport_set_table='u_imp'\n\
             correlation_field='u_ext'\nwrite_fields=['short_description','response']\n\
             read_fields=['number']\npage_size=10\nmax_rate_limit_wait_secs=5\nwrite=['risk']",
        )
        .unwrap();
        assert_eq!(c.write_table(), "u_ai_risk");
        assert_eq!(c.import_set_table.as_deref(), Some("u_imp"));
        assert_eq!(c.write_fields(), ["short_description", "response"]);
    }

    #[test]
    fn exactly_one_authentication() {
        let cases = [
            ("", "username_env"),
            (
                "username_env='U'\npassword_env='P'\ntoken_env='T'",
                "token_env",
            ),
            (
                "token_env='T'\noauth_client_id_env='I'\noauth_client_secret_env='S'",
                "token_env",
            ),
            (
                "username_env='U'\npassword_env='P'\noauth_client_id_env='I'\noauth_client_secret_env='S'",
                "username_env",
            ),
            ("oauth_client_id_env='I'", "oauth_client_secret_env"),
            (
                "token_env='T'\noauth_refresh_token_env='R'",
                "oauth_refresh_token_env",
            ),
        ];
        for (extra, path) in cases {
            let err = parse(extra).unwrap_err().to_string();
            assert!(err.contains(&format!("(snow).{path}")), "{extra}: {err}");
        }
        let oauth =
            "oauth_client_id_env='I'\noauth_client_secret_env='S'\noauth_refresh_token_env='R'";
        let e = entry(&format!("{BASE}{oauth}"));
        let c: Config = deserialize_specific(&e).unwrap();
        assert_eq!(c.auth_method(&e).unwrap(), AuthMethod::OAuth);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("risk_table='sn_risk_risk?x=1'", "risk_table"),
            ("correlation_field='u id'", "correlation_field"),
            ("write_fields=['inherent_impact']", "write_fields"),
            ("write_fields=['state','name']", "write_fields"),
            ("write_fields=['description']", "write_fields"),
            ("write_fields=['name','name']", "write_fields"),
            ("write_fields=[]", "write_fields"),
            ("page_size=0", "page_size"),
            ("scale='1-5'", "scale"),
            ("fields={ title = 'name' }", "fields"),
            ("write=['incident']", "write"),
        ];
        for (extra, path) in cases {
            let err = parse(&format!("token_env='T'\n{extra}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("(snow).{path}")), "{extra}: {err}");
        }
        let err = parse("token_env='T'\nwrite_fields=['state']")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("business rules") && err.contains("response"),
            "{err}"
        );
        let err = parse("token_env='T'\nrisk_tabel='x'")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("risk_tabel") && err.contains("`token_env`"),
            "{err}"
        );
    }
}
