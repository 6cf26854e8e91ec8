//! All I/O with Jira Cloud, on top of `imsbridge-http` (which already retries 429, 503 with
//! `Retry-After`, 5xx on idempotent requests and connection failures): which requests may be
//! repeated, which lost answers leave a create in doubt, Jira's error bodies as messages that
//! name fields as Jira shows them, and the site's field list, read once.

use std::sync::Arc;

use imsbridge_connector::ConnectorError;
use imsbridge_http::{HttpClient, HttpError, Method, Retry};
use serde_json::Value;

use crate::catalog::Catalog;

/// What a request does, which decides how its failure is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing (GET, and the search POST).
    Read,
    /// Creates an issue: a lost answer leaves it unknown whether the issue exists.
    Create,
    /// Changes an existing issue (edit, transition): a failure is re-planned next time.
    Write,
}

/// The Jira API of one system.
#[derive(Debug)]
pub struct Client {
    http: HttpClient,
    system: String,
    catalog: tokio::sync::OnceCell<Arc<Catalog>>,
}

impl Client {
    pub fn new(system: &str, http: HttpClient) -> Client {
        Client {
            http,
            system: system.to_string(),
            catalog: tokio::sync::OnceCell::new(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// GET a JSON document.
    pub async fn get(&self, target: &str) -> Result<Value, ConnectorError> {
        let response = self
            .http
            .send(Method::GET, target, None, Retry::Idempotent)
            .await
            .map_err(|e| self.error(Effect::Read, e, None))?;
        response
            .json()
            .map_err(|e| self.error(Effect::Read, e, None))
    }

    /// GET a JSON document; `None` on 404 (Jira's answer for "does not exist" and for "you
    /// may not see it" alike).
    pub async fn get_optional(&self, target: &str) -> Result<Option<Value>, ConnectorError> {
        match self
            .http
            .send(Method::GET, target, None, Retry::Idempotent)
            .await
        {
            Ok(response) => response
                .json()
                .map(Some)
                .map_err(|e| self.error(Effect::Read, e, None)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(self.error(Effect::Read, e, None)),
        }
    }

    /// One page of `POST /rest/api/3/search/jql`. A search changes nothing, so it is repeated
    /// like a GET; errors quote the JQL, which is what the user fixes.
    pub async fn search(&self, body: &Value) -> Result<Value, ConnectorError> {
        let jql = body.get("jql").and_then(Value::as_str).unwrap_or_default();
        let result = self
            .http
            .send(
                Method::POST,
                "/rest/api/3/search/jql",
                Some(body),
                Retry::Idempotent,
            )
            .await;
        let with_jql = |e: ConnectorError| match e {
            ConnectorError::Remote { system, message } => ConnectorError::Remote {
                system,
                message: format!("{message} (JQL: {jql})"),
            },
            other => other,
        };
        let response = result.map_err(|e| with_jql(self.error(Effect::Read, e, None)))?;
        response
            .json()
            .map_err(|e| with_jql(self.error(Effect::Read, e, None)))
    }

    /// `POST /rest/api/3/issue`. Never repeated after a failure that may have created the
    /// issue (imsbridge-http only repeats it after a 429 or a 503 with `Retry-After`, which
    /// Jira sends before doing anything).
    pub async fn create(&self, body: &Value) -> Result<Value, ConnectorError> {
        let response = self
            .http
            .send(
                Method::POST,
                "/rest/api/3/issue",
                Some(body),
                Retry::NotIdempotent,
            )
            .await
            .map_err(|e| self.error(Effect::Create, e, None))?;
        response
            .json()
            .map_err(|e| self.error(Effect::Create, e, None))
    }

    /// PUT a JSON body (an edit: setting fields to values is idempotent).
    pub async fn put(&self, target: &str, body: &Value) -> Result<(), ConnectorError> {
        self.http
            .send(Method::PUT, target, Some(body), Retry::Idempotent)
            .await
            .map(|_| ())
            .map_err(|e| self.error(Effect::Write, e, None))
    }

    /// POST a JSON body that changes an issue without creating one (a transition): not
    /// repeated blindly, since a repeated transition could move the issue on once more.
    pub async fn post(&self, target: &str, body: &Value) -> Result<(), ConnectorError> {
        self.http
            .send(Method::POST, target, Some(body), Retry::NotIdempotent)
            .await
            .map(|_| ())
            .map_err(|e| self.error(Effect::Write, e, None))
    }

    /// The site's fields (`GET /rest/api/3/field`), read once per run.
    pub async fn catalog(&self) -> Result<Arc<Catalog>, ConnectorError> {
        self.catalog
            .get_or_try_init(|| async {
                let value = self.get("/rest/api/3/field").await?;
                Catalog::from_api(&value)
                    .map(Arc::new)
                    .map_err(|message| ConnectorError::Map {
                        system: self.system.clone(),
                        location: "GET /rest/api/3/field".into(),
                        message,
                    })
            })
            .await
            .cloned()
    }

    /// Turns an HTTP failure into the connector's error: a create whose outcome is unknown is
    /// `Ambiguous` (the engine looks the issue up before trying again); the rest is `Remote`,
    /// with Jira's messages, its field errors named as Jira shows the fields, and what to do.
    /// `catalog` names custom fields; without it the one read earlier, if any, is used.
    pub fn error(
        &self,
        effect: Effect,
        error: HttpError,
        catalog: Option<&Catalog>,
    ) -> ConnectorError {
        let system = self.system.clone();
        let text = error.to_string();
        // The HTTP error starts with the system name; ConnectorError adds it again.
        let base = text
            .strip_prefix(&format!("{system}: "))
            .unwrap_or(&text)
            .to_string();
        let request = error.request().map(ToString::to_string).unwrap_or_default();
        let catalog = catalog.or_else(|| self.catalog.get().map(AsRef::as_ref));
        let said = error.body().and_then(|b| jira_errors(b, catalog));
        let message = match (&error, said) {
            (HttpError::Unauthorized { .. }, _) => format!(
                "{}. Jira Cloud takes username_env = the account's email with token_env = an \
                 API token (id.atlassian.com → Security → API tokens) as Basic authentication, \
                 or token_env alone with an OAuth 2.0 access token (Bearer); a 401 means the \
                 token is wrong, revoked or expired, or belongs to another account",
                base.trim_end_matches('.')
            ),
            (HttpError::Forbidden { .. }, said) => format!(
                "{request} was refused (403){} — the account lacks a Jira permission for this \
                 (Browse projects, Create issues, Edit issues or Transition issues in the \
                 project): a Jira administrator grants it in the project's permission scheme; \
                 `imsbridge systems check` lists what is missing",
                said.map(|s| format!(": {s}")).unwrap_or_default()
            ),
            (HttpError::Client { status, .. }, Some(said)) => {
                format!("{request} was rejected ({status}): {said}")
            }
            _ => base,
        };
        // A create whose answer is lost or unreadable may still have happened: a timeout, a
        // reset, a 5xx, or a 2xx body that does not decode. The engine then looks the issue
        // up by its correlation id instead of assuming either outcome.
        let ambiguous = effect == Effect::Create && error.outcome_unknown();
        if ambiguous {
            ConnectorError::Ambiguous {
                system,
                message: format!("{message} (the issue may or may not have been created)"),
            }
        } else {
            ConnectorError::Remote { system, message }
        }
    }
}

/// Jira's error body `{"errorMessages": [...], "errors": {field: message}}` as one line, the
/// fields named as Jira shows them (`Likelihood (customfield_10050): …`). `None` when the body
/// is not of that shape.
pub fn jira_errors(body: &str, catalog: Option<&Catalog>) -> Option<String> {
    let json: Value = serde_json::from_str(body).ok()?;
    let mut parts: Vec<String> = json
        .get("errorMessages")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(errors) = json.get("errors").and_then(Value::as_object) {
        for (field, message) in errors {
            let name = match catalog.and_then(|c| c.get(field)) {
                Some(def) => def.describe(),
                None => field.clone(),
            };
            let message = message
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| message.to_string());
            parts.push(format!("{name}: {message}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{FieldDef, FieldType};

    #[test]
    fn jira_error_bodies_name_their_fields() {
        let catalog = Catalog::new(vec![FieldDef {
            id: "customfield_10050".into(),
            name: "Likelihood".into(),
            ty: FieldType::Option,
        }]);
        let body = r#"{"errorMessages":["Issue type is required."],"errors":{"customfield_10050":"Option value '7' is not valid","summary":"You must specify a summary of the issue."}}"#;
        assert_eq!(
            jira_errors(body, Some(&catalog)).as_deref(),
            Some(
                "Issue type is required.; Likelihood (customfield_10050): Option value '7' is \
                 not valid; summary: You must specify a summary of the issue."
            )
        );
        assert_eq!(
            jira_errors(r#"{"errorMessages":[],"errors":{}}"#, None),
            None
        );
        assert_eq!(jira_errors("<html>", None), None);
    }
}
