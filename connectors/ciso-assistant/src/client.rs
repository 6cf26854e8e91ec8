//! All I/O with CISO Assistant, on top of `imsbridge-http` (which already retries 429, 5xx on
//! reads and connection failures): the retry decisions specific to CISO Assistant, the
//! translation of its error bodies into messages, and the caches of what every page needs
//! (risk matrices, requirement nodes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use imsbridge_connector::ConnectorError;
use imsbridge_http::{HttpClient, HttpError, LinkWalker, Method, Retry};
use serde::Deserialize;
use serde_json::Value;

use crate::map::{Matrix, RequirementNode};

/// How long after this client created a folder a 403 on a write into it is taken for the
/// server's stale permission snapshot rather than a real refusal. CISO Assistant workers
/// re-read their folder/role snapshot at most every 500 ms (`iam/snapshot_cache.py`); a few
/// seconds cover a slow worker without hiding a genuine lack of permission for long.
pub const TRANSIENT_403_WINDOW: Duration = Duration::from_secs(5);

/// Attempts at a write refused by such a transient 403 (the first included).
pub const TRANSIENT_403_ATTEMPTS: u32 = 3;

/// The pause before repeating it: longer than the snapshot interval, so the next attempt
/// reaches a worker that has re-read the folders.
pub const TRANSIENT_403_DELAY: Duration = Duration::from_millis(600);

/// One page of a CISO Assistant listing (limit/offset pagination). `next` is a relative link.
#[derive(Debug, Clone, Deserialize)]
pub struct ListPage {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub next: Option<String>,
    pub results: Vec<Value>,
}

/// The CISO Assistant API of one system.
#[derive(Debug)]
pub struct Client {
    http: HttpClient,
    system: String,
    /// When this client last created a folder (see [`TRANSIENT_403_WINDOW`]).
    folder_created: Mutex<Option<Instant>>,
    /// Risk matrices by id: every page of scenarios needs its matrix, which never changes
    /// once loaded.
    matrices: Mutex<HashMap<String, Arc<Matrix>>>,
    /// Requirement nodes by id (framework content, fixed once the library is loaded).
    nodes: Mutex<HashMap<String, RequirementNode>>,
}

impl Client {
    pub fn new(system: &str, http: HttpClient) -> Client {
        Client {
            http,
            system: system.to_string(),
            folder_created: Mutex::new(None),
            matrices: Mutex::new(HashMap::new()),
            nodes: Mutex::new(HashMap::new()),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// GET a JSON document.
    pub async fn get(&self, target: &str) -> Result<Value, ConnectorError> {
        self.get_as(target).await
    }

    async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        target: &str,
    ) -> Result<T, ConnectorError> {
        let response = self
            .http
            .send(Method::GET, target, None, Retry::Idempotent)
            .await
            .map_err(|e| self.error(&Method::GET, e))?;
        response.json().map_err(|e| self.error(&Method::GET, e))
    }

    /// GET a JSON document; `None` on 404.
    pub async fn get_optional(&self, target: &str) -> Result<Option<Value>, ConnectorError> {
        match self
            .http
            .send(Method::GET, target, None, Retry::Idempotent)
            .await
        {
            Ok(response) => response
                .json()
                .map(Some)
                .map_err(|e| self.error(&Method::GET, e)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(self.error(&Method::GET, e)),
        }
    }

    /// GET one page of a listing.
    pub async fn page(&self, target: &str) -> Result<ListPage, ConnectorError> {
        self.get_as(target).await
    }

    /// Every object of a listing, following the `next` links (guarded against loops and
    /// foreign hosts).
    pub async fn all(&self, first: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut walker = LinkWalker::new(&self.http, first);
        let mut items = Vec::new();
        let mut target = Some(first.to_string());
        while let Some(url) = target {
            let page = self.page(&url).await?;
            items.extend(page.results);
            target = walker
                .advance(page.next.as_deref())
                .map_err(|e| self.error(&Method::GET, e))?;
        }
        Ok(items)
    }

    /// POST a JSON body (a create). Not repeated after a failure that may have created the
    /// object; repeated after a transient 403 right after a folder creation.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ConnectorError> {
        self.write(Method::POST, path, body).await
    }

    /// PATCH a JSON body (an update of the given fields).
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ConnectorError> {
        self.write(Method::PATCH, path, body).await
    }

    async fn write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        let mut attempt = 1;
        loop {
            let result = self
                .http
                .send(method.clone(), path, Some(body), Retry::NotIdempotent)
                .await;
            match result {
                Ok(response) => return response.json().map_err(|e| self.error(&method, e)),
                Err(e) if attempt < TRANSIENT_403_ATTEMPTS && self.is_transient_403(&e) => {
                    tracing::debug!(
                        system = %self.system,
                        path,
                        attempt,
                        "403 on a folder created moments ago: waiting for the server's permission snapshot"
                    );
                    attempt += 1;
                    tokio::time::sleep(TRANSIENT_403_DELAY).await;
                }
                Err(e) => return Err(self.error(&method, e)),
            }
        }
    }

    /// Remembers that this client just created a folder.
    pub fn folder_created_now(&self) {
        *self
            .folder_created
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// A 403 about adding objects to a folder, within the window after this client created a
    /// folder: the server's permission snapshot may not know the folder yet. Any other 403 is
    /// a real refusal and is reported at once.
    fn is_transient_403(&self, error: &HttpError) -> bool {
        if !matches!(error, HttpError::Forbidden { .. }) {
            return false;
        }
        let recent = self
            .folder_created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() <= TRANSIENT_403_WINDOW);
        recent
            && error.body().is_some_and(|b| {
                b.contains("permission to add objects in this folder") || b.contains("\"folder\"")
            })
    }

    /// A risk matrix by id, with its definition decoded (cached).
    pub async fn matrix(&self, id: &str) -> Result<Arc<Matrix>, ConnectorError> {
        if let Some(m) = self.cached_matrix(id) {
            return Ok(m);
        }
        let path = format!("/api/risk-matrices/{}/", self.segment(id)?);
        let value = self.get(&path).await?;
        let matrix = Arc::new(Matrix::from_api(&value).map_err(|e| ConnectorError::Map {
            system: self.system.clone(),
            location: format!("{path} {}", e.path),
            message: e.message,
        })?);
        self.cache_matrix(&matrix);
        Ok(matrix)
    }

    /// The loaded risk matrix with this URN, if any.
    pub async fn matrix_by_urn(
        &self,
        urn: &str,
        page_size: u32,
    ) -> Result<Option<Arc<Matrix>>, ConnectorError> {
        let first = format!("/api/risk-matrices/?limit={page_size}");
        for (i, item) in self.all(&first).await?.iter().enumerate() {
            if item.get("urn").and_then(Value::as_str) != Some(urn) {
                continue;
            }
            let matrix = Matrix::from_api(item).map_err(|e| ConnectorError::Map {
                system: self.system.clone(),
                location: format!("/api/risk-matrices/ results[{i}].{}", e.path),
                message: e.message,
            })?;
            let matrix = Arc::new(matrix);
            self.cache_matrix(&matrix);
            return Ok(Some(matrix));
        }
        Ok(None)
    }

    fn cached_matrix(&self, id: &str) -> Option<Arc<Matrix>> {
        self.matrices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn cache_matrix(&self, matrix: &Arc<Matrix>) {
        self.matrices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(matrix.id.clone(), Arc::clone(matrix));
    }

    /// The matrices with these ids (fetching those not cached yet).
    pub async fn matrices(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Arc<Matrix>>, ConnectorError> {
        let mut out = HashMap::new();
        for id in ids {
            if !out.contains_key(id) {
                out.insert(id.clone(), self.matrix(id).await?);
            }
        }
        Ok(out)
    }

    /// Requirement nodes by id (cached). Objects that nest the node do not need this; it is
    /// for answers that give the node as a bare UUID.
    pub async fn requirement_nodes(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, RequirementNode>, ConnectorError> {
        let mut out = HashMap::new();
        for id in ids {
            let id = id.as_str();
            if out.contains_key(id) {
                continue;
            }
            let cached = self
                .nodes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(id)
                .cloned();
            let node = match cached {
                Some(node) => node,
                None => {
                    let path = format!("/api/requirement-nodes/{}/", self.segment(id)?);
                    // A node that is gone only costs the clause reference.
                    let node = self
                        .get_optional(&path)
                        .await?
                        .map(|v| RequirementNode::from_api(&v))
                        .unwrap_or_default();
                    self.nodes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(id.to_string(), node.clone());
                    node
                }
            };
            out.insert(id.to_string(), node);
        }
        Ok(out)
    }

    /// `id` as a path segment, or an error naming it.
    pub fn segment<'a>(&self, id: &'a str) -> Result<&'a str, ConnectorError> {
        if is_plain_id(id) {
            Ok(id)
        } else {
            Err(ConnectorError::Remote {
                system: self.system.clone(),
                message: format!("{id:?} is not a CISO Assistant object id"),
            })
        }
    }

    /// Turns an HTTP failure into the connector's error: a create whose outcome is unknown is
    /// `Ambiguous` (the engine looks the record up before trying again); the rest is `Remote`,
    /// with CISO Assistant's field errors and what to do spelled out.
    pub fn error(&self, method: &Method, error: HttpError) -> ConnectorError {
        let system = self.system.clone();
        let text = error.to_string();
        // The HTTP error starts with the system name; ConnectorError adds it again.
        let base = text
            .strip_prefix(&format!("{system}: "))
            .unwrap_or(&text)
            .to_string();
        let request = error
            .request()
            .map(ToString::to_string)
            .unwrap_or_else(|| method.to_string());
        let message = match &error {
            HttpError::Unauthorized { .. } => format!(
                "{}. CISO Assistant expects the header `Authorization: Token <token>` with a \
                 personal access token (Settings → Personal access tokens, or POST \
                 /api/iam/auth-tokens/); \"Invalid token.\" means it is wrong, expired or revoked",
                base.trim_end_matches('.')
            ),
            HttpError::Client { status, .. } => match error.body().and_then(field_errors) {
                Some(fields) => format!("{request} was rejected ({status}): {fields}"),
                None => base,
            },
            HttpError::Forbidden { .. } => match error.body().and_then(field_errors) {
                Some(fields) => format!(
                    "{request} was refused (403): {fields} — the account lacks the permission \
                     in this folder; give it a role on the folder in CISO Assistant"
                ),
                None => base,
            },
            _ => base,
        };
        // A create whose answer is lost or unreadable may still have happened: a timeout, a
        // reset, a 5xx, or a 2xx body that does not decode. The engine then looks the object
        // up by its correlation id instead of assuming either outcome.
        let ambiguous = *method == Method::POST && error.outcome_unknown();
        if ambiguous {
            ConnectorError::Ambiguous {
                system,
                message: format!("{message} (the object may or may not have been created)"),
            }
        } else {
            ConnectorError::Remote { system, message }
        }
    }
}

/// Django REST framework's error body as `field: message` pairs:
/// `{"name": ["This field is required."]}` → `name: This field is required.`. Nested errors
/// (`{"owner": {"0": ["Invalid pk"]}}`) keep their path (`owner.0`). `None` when the body is
/// not such an object.
pub fn field_errors(body: &str) -> Option<String> {
    let Value::Object(map) = serde_json::from_str::<Value>(body).ok()? else {
        return None;
    };
    let mut parts = Vec::new();
    for (key, value) in &map {
        collect(key, value, &mut parts);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn collect(path: &str, value: &Value, parts: &mut Vec<String>) {
    let label = |text: &str| match path {
        // DRF's errors that concern no one field.
        "detail" | "non_field_errors" | "error" => text.to_string(),
        _ => format!("{path}: {text}"),
    };
    match value {
        Value::String(text) => parts.push(label(text)),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            parts.push(label(&texts.join(" ")));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(&format!("{path}[{i}]"), item, parts);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                collect(&format!("{path}.{key}"), item, parts);
            }
        }
        other => parts.push(label(&other.to_string())),
    }
}

/// Whether `id` can stand as one path segment. Ids come from configuration and server
/// answers; anything but a plain id (a slash, a query) would send the request elsewhere.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Percent-encodes a query value (names and correlation ids go into `search=`).
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_their_fields() {
        let body = r#"{"name":["This field is required."],"current_proba":["A valid integer is required."],"treatment":["\"ignore\" is not a valid choice."]}"#;
        assert_eq!(
            field_errors(body).as_deref(),
            Some(
                "current_proba: A valid integer is required.; name: This field is required.; \
                 treatment: \"ignore\" is not a valid choice."
            )
        );
        assert_eq!(
            field_errors(r#"{"owner":{"0":["Invalid pk"]}}"#).as_deref(),
            Some("owner.0: Invalid pk")
        );
        assert_eq!(
            field_errors(r#"{"detail":"Not found."}"#).as_deref(),
            Some("Not found.")
        );
        assert_eq!(field_errors("<html>"), None);
    }

    #[test]
    fn ids_and_queries_stay_in_place() {
        assert!(is_plain_id("229498b5-131d-4aca-80e8-adc3a7900f9f"));
        assert!(!is_plain_id("../iam"));
        assert!(!is_plain_id(""));
        assert_eq!(query_value("IMSB-1a2b3c4d"), "IMSB-1a2b3c4d");
        assert_eq!(query_value("AI risk & co"), "AI%20risk%20%26%20co");
    }
}
