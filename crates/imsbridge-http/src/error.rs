//! Errors that tell the user what to do. Each carries the system name and the request line
//! (method + path, never credentials); server bodies are truncated and scrubbed of secrets
//! before they get here.

use std::fmt;
use std::time::Duration;

use crate::target::RequestLine;

/// Longest server body kept in an error, in characters: enough for a vendor's field errors,
/// short enough for a terminal.
pub(crate) const MAX_DETAIL: usize = 500;

/// What went wrong with a request. Messages start with the system name and the request
/// line, then say what the user can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// 401: the credentials were not accepted. Never retried.
    #[error(
        "{system}: {request} was refused as unauthenticated (401): the token is missing, wrong or \
         expired — check the variable or file named by token_env/token_file{}",
        Said(detail)
    )]
    Unauthorized {
        /// The system's name in the configuration.
        system: String,
        /// The refused request.
        request: RequestLine,
        /// The server's answer, truncated and with secrets removed.
        detail: String,
    },

    /// 403: authenticated, but not allowed. Never retried.
    #[error(
        "{system}: {request} was refused (403): the account lacks permission for this operation — \
         grant it the needed role in {system} or configure another account{}",
        Said(detail)
    )]
    Forbidden {
        /// The system's name in the configuration.
        system: String,
        /// The refused request.
        request: RequestLine,
        /// The server's answer, truncated and with secrets removed.
        detail: String,
    },

    /// 404. Never retried; connectors looking a record up may treat it as "absent".
    #[error(
        "{system}: {request} was not found (404): check base_url and the API path, or the record \
         was deleted in {system}{}",
        Said(detail)
    )]
    NotFound {
        /// The system's name in the configuration.
        system: String,
        /// The request.
        request: RequestLine,
        /// The server's answer, truncated and with secrets removed.
        detail: String,
    },

    /// Another 4xx, typically 400 with the vendor's field errors in `detail`. Never retried.
    #[error("{system}: {request} was rejected ({status}){}", Said(detail))]
    Client {
        /// The system's name in the configuration.
        system: String,
        /// The rejected request.
        request: RequestLine,
        /// The HTTP status.
        status: u16,
        /// The server's answer (usually says which field is wrong), truncated and with
        /// secrets removed.
        detail: String,
    },

    /// A 5xx that persisted after the retries (or was not retried: a request that may have
    /// been processed is not repeated blindly).
    #[error(
        "{system}: {request} failed with a server error ({status}) after {attempts} attempt(s){}; \
         the service may be down or overloaded — try again later{}",
        AskedToWait(*retry_after),
        Said(detail)
    )]
    Server {
        /// The system's name in the configuration.
        system: String,
        /// The failed request.
        request: RequestLine,
        /// The last HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
        /// The server's last answer, truncated and with secrets removed.
        detail: String,
    },

    /// 429 that persisted, or asked for a longer wait than `max_retry_after`.
    #[error(
        "{system}: {request} was rate-limited by the server (429) after {attempts} attempt(s){}; \
         lower rate_limit or concurrency for {system}, or try again later",
        AskedToWait(*retry_after)
    )]
    RateLimited {
        /// The system's name in the configuration.
        system: String,
        /// The limited request.
        request: RequestLine,
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
    },

    /// No complete answer within `timeout` (or no connection within `connect_timeout`).
    #[error(
        "{system}: {request} timed out after {attempts} attempt(s): the service is slow or \
         unreachable — raise timeout for {system} or try again later"
    )]
    Timeout {
        /// The system's name in the configuration.
        system: String,
        /// The request.
        request: RequestLine,
        /// Attempts made.
        attempts: u32,
    },

    /// The connection failed: refused, reset, DNS, TLS handshake.
    #[error(
        "{system}: {request} could not be completed after {attempts} attempt(s): {message} — \
         check base_url, the network, proxies and certificates"
    )]
    Transport {
        /// The system's name in the configuration.
        system: String,
        /// The request.
        request: RequestLine,
        /// Attempts made.
        attempts: u32,
        /// The cause chain, without URLs or headers.
        message: String,
    },

    /// The answer is not the JSON the connector expects.
    #[error("{system}: the answer to {request} is not the expected JSON at `{path}`: {message}")]
    Decode {
        /// The system's name in the configuration.
        system: String,
        /// The request whose answer failed to decode.
        request: RequestLine,
        /// Where in the document, e.g. `results[3].owner` (`.` for the document itself).
        path: String,
        /// What was wrong there.
        message: String,
    },

    /// A target or link pointing to another scheme, host or port than `base_url`; nothing was
    /// sent there.
    #[error(
        "{system}: refused to send {request} to {link}: it is not on base_url's origin ({base}) \
         and the credentials must not reach another host — if {system} itself links there (e.g. \
         http:// links behind a TLS proxy), correct base_url or {system}'s public URL setting"
    )]
    CrossOrigin {
        /// The system's name in the configuration.
        system: String,
        /// The request that was not sent (path and query of the link).
        request: RequestLine,
        /// The refused URL, without credentials.
        link: String,
        /// The origin requests are restricted to.
        base: String,
    },

    /// A `next` link leading back to a page already fetched in the same listing.
    #[error(
        "{system}: pagination loop: the next link after {request} leads back to {link}, already \
         fetched in this listing; {system}'s paging is inconsistent, so the listing was stopped"
    )]
    PaginationLoop {
        /// The system's name in the configuration.
        system: String,
        /// The page whose `next` link loops.
        request: RequestLine,
        /// The repeated link.
        link: String,
    },

    /// A listing longer than the walker's page cap.
    #[error(
        "{system}: the listing was stopped at {request} after {pages} pages, the page cap; \
         {system}'s paging is probably broken (or narrow the listing with a filter)"
    )]
    TooManyPages {
        /// The system's name in the configuration.
        system: String,
        /// The first page over the cap.
        request: RequestLine,
        /// Pages fetched.
        pages: u64,
    },

    /// A redirect that was not followed: to another origin, or too many in a row.
    #[error(
        "{system}: {request} was redirected ({status}) to {location}, which was not followed (it \
         is another origin, or one redirect too many) — set base_url to the address {system} \
         really answers on"
    )]
    Redirected {
        /// The system's name in the configuration.
        system: String,
        /// The redirected request.
        request: RequestLine,
        /// The 3xx status.
        status: u16,
        /// The `Location` header, without credentials.
        location: String,
    },

    /// A target that is not a URL or path.
    #[error("{system}: invalid URL in {request}: {message}")]
    InvalidUrl {
        /// The system's name in the configuration.
        system: String,
        /// The request as given.
        request: RequestLine,
        /// What is wrong with it.
        message: String,
    },

    /// A request body that cannot be serialised.
    #[error("{system}: cannot encode the body of {request} as JSON: {message}")]
    Encode {
        /// The system's name in the configuration.
        system: String,
        /// The request.
        request: RequestLine,
        /// What is wrong with it.
        message: String,
    },

    /// The client cannot be built: bad configuration, malformed credentials, TLS set-up.
    #[error("{system}: cannot set up the HTTP client: {message}")]
    Build {
        /// The system's name in the configuration.
        system: String,
        /// What is wrong, never containing a secret.
        message: String,
    },
}

impl HttpError {
    /// The name of the system the request was for.
    pub fn system(&self) -> &str {
        match self {
            HttpError::Unauthorized { system, .. }
            | HttpError::Forbidden { system, .. }
            | HttpError::NotFound { system, .. }
            | HttpError::Client { system, .. }
            | HttpError::Server { system, .. }
            | HttpError::RateLimited { system, .. }
            | HttpError::Timeout { system, .. }
            | HttpError::Transport { system, .. }
            | HttpError::Decode { system, .. }
            | HttpError::CrossOrigin { system, .. }
            | HttpError::PaginationLoop { system, .. }
            | HttpError::TooManyPages { system, .. }
            | HttpError::Redirected { system, .. }
            | HttpError::InvalidUrl { system, .. }
            | HttpError::Encode { system, .. }
            | HttpError::Build { system, .. } => system,
        }
    }

    /// The request concerned, if there was one.
    pub fn request(&self) -> Option<&RequestLine> {
        match self {
            HttpError::Unauthorized { request, .. }
            | HttpError::Forbidden { request, .. }
            | HttpError::NotFound { request, .. }
            | HttpError::Client { request, .. }
            | HttpError::Server { request, .. }
            | HttpError::RateLimited { request, .. }
            | HttpError::Timeout { request, .. }
            | HttpError::Transport { request, .. }
            | HttpError::Decode { request, .. }
            | HttpError::CrossOrigin { request, .. }
            | HttpError::PaginationLoop { request, .. }
            | HttpError::TooManyPages { request, .. }
            | HttpError::Redirected { request, .. }
            | HttpError::InvalidUrl { request, .. }
            | HttpError::Encode { request, .. } => Some(request),
            HttpError::Build { .. } => None,
        }
    }

    /// The HTTP status of the server's last answer, if the error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { .. } => Some(401),
            HttpError::Forbidden { .. } => Some(403),
            HttpError::NotFound { .. } => Some(404),
            HttpError::RateLimited { .. } => Some(429),
            HttpError::Client { status, .. }
            | HttpError::Server { status, .. }
            | HttpError::Redirected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error body (truncated to about 500 characters, secrets removed), e.g.
    /// the field errors of a rejected create.
    pub fn body(&self) -> Option<&str> {
        match self {
            HttpError::Unauthorized { detail, .. }
            | HttpError::Forbidden { detail, .. }
            | HttpError::NotFound { detail, .. }
            | HttpError::Client { detail, .. }
            | HttpError::Server { detail, .. }
                if !detail.is_empty() =>
            {
                Some(detail)
            }
            _ => None,
        }
    }

    /// Attempts made, for errors that come after retries.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            HttpError::Server { attempts, .. }
            | HttpError::RateLimited { attempts, .. }
            | HttpError::Timeout { attempts, .. }
            | HttpError::Transport { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// Whether the server said the target does not exist (404).
    /// Whether a request that changes something may have taken effect although no answer
    /// says so: a timeout, a reset, a 5xx, or a 2xx whose body does not decode. A create that
    /// failed this way must be looked up by its correlation id before it is sent again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. }
                | HttpError::Server { .. }
                | HttpError::Transport { .. }
                | HttpError::Decode { .. }
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, HttpError::NotFound { .. })
    }
}

/// Cuts text to `max` characters (not bytes: never splits a UTF-8 sequence), marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Renders `— the server said: …` when a body holds something worth showing.
struct Said<'a>(&'a str);

impl fmt::Display for Said<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match summary(self.0) {
            Some(said) => write!(f, " — the server said: {said}"),
            None => Ok(()),
        }
    }
}

/// Renders `, asking to wait N s` for a `Retry-After`.
struct AskedToWait(Option<Duration>);

impl fmt::Display for AskedToWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                write!(f, ", the last answer asking to wait {secs} s")
            }
            None => Ok(()),
        }
    }
}

/// The useful part of an error body. The vendors wrap their messages differently: Django REST
/// framework (CISO Assistant) `{"detail": …}`, ServiceNow `{"error": {"message", "detail"}}`,
/// Jira `{"errorMessages": […], "errors": {field: …}}`. Other JSON (DRF field errors
/// `{"name": ["This field is required."]}`) is shown whole; an HTML page (a proxy, a login
/// page) by its title; plain text as is.
pub(crate) fn summary(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let mut parts = Vec::new();
        collect_messages(&json, &mut parts);
        let said = if parts.is_empty() {
            json.to_string()
        } else {
            parts.join("; ")
        };
        return Some(truncate(&said, MAX_DETAIL));
    }
    if body.starts_with('<') {
        return Some(match html_title(body) {
            Some(title) => format!("an HTML page titled {title:?} instead of JSON"),
            None => "an HTML page instead of JSON".to_owned(),
        });
    }
    Some(truncate(
        &body.split_whitespace().collect::<Vec<_>>().join(" "),
        MAX_DETAIL,
    ))
}

fn collect_messages(json: &serde_json::Value, parts: &mut Vec<String>) {
    use serde_json::Value;
    let Value::Object(map) = json else {
        if let Value::String(text) = json {
            parts.push(text.clone());
        }
        return;
    };
    for key in [
        "message",
        "detail",
        "errorMessage",
        "error",
        "errorMessages",
    ] {
        match map.get(key) {
            Some(Value::String(text)) if !text.is_empty() => parts.push(text.clone()),
            Some(Value::Array(items)) => {
                parts.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)));
            }
            Some(nested @ Value::Object(_)) => collect_messages(nested, parts),
            _ => {}
        }
    }
    // Jira's per-field errors sit next to errorMessages.
    if let Some(Value::Object(errors)) = map.get("errors") {
        parts.extend(errors.iter().map(|(field, message)| match message {
            Value::String(text) => format!("{field}: {text}"),
            other => format!("{field}: {other}"),
        }));
    }
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    let title = html.get(start..end)?.trim();
    (!title.is_empty()).then(|| truncate(title, 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> RequestLine {
        RequestLine {
            method: "GET".into(),
            target: "/api/risk-scenarios/".into(),
        }
    }

    #[test]
    fn summaries_of_vendor_bodies() {
        assert_eq!(
            summary(r#"{"detail":"Invalid token."}"#).as_deref(),
            Some("Invalid token.")
        );
        assert_eq!(
            summary(r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#).as_deref(),
            Some("User Not Authenticated; Required to provide Auth information")
        );
        assert_eq!(
            summary(r#"{"errorMessages":["Issue does not exist"],"errors":{"summary":"Field required"}}"#).as_deref(),
            Some("Issue does not exist; summary: Field required")
        );
        assert_eq!(
            summary(r#"{"name":["This field is required."]}"#).as_deref(),
            Some(r#"{"name":["This field is required."]}"#)
        );
        assert_eq!(
            summary("<html><head><TITLE>Sign in</TITLE></head></html>").as_deref(),
            Some("an HTML page titled \"Sign in\" instead of JSON")
        );
        assert_eq!(summary("  \n ").as_deref(), None);
        assert_eq!(summary("Bad\n  gateway").as_deref(), Some("Bad gateway"));
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("ééééé", 3), "ééé…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn messages_are_actionable() {
        let err = HttpError::Unauthorized {
            system: "ca".into(),
            request: line(),
            detail: r#"{"detail":"Invalid token."}"#.into(),
        };
        assert_eq!(
            err.to_string(),
            "ca: GET /api/risk-scenarios/ was refused as unauthenticated (401): the token is \
             missing, wrong or expired — check the variable or file named by \
             token_env/token_file — the server said: Invalid token."
        );
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.body(), Some(r#"{"detail":"Invalid token."}"#));

        let err = HttpError::RateLimited {
            system: "ca".into(),
            request: line(),
            attempts: 1,
            retry_after: Some(Duration::from_millis(3_600_500)),
        };
        assert!(err.to_string().contains("asking to wait 3601 s"), "{err}");
        assert_eq!(err.body(), None);
    }
}
