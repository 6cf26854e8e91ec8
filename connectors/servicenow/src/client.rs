//! All I/O with a ServiceNow instance, on top of `imsbridge-http` (which already retries 429
//! with `Retry-After`, 5xx on reads and connection failures): authentication (Basic, a ready
//! bearer token, or OAuth tokens from `/oauth_token.do`, cached and renewed), the pause the
//! instance asks for with `X-RateLimit-Remaining: 0`, and error messages that say which key
//! to fix.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imsbridge_connector::ConnectorError;
use imsbridge_http::{Auth, HttpClient, HttpConfig, HttpError, HttpResponse, Method, Retry};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The OAuth token endpoint of every instance.
pub const TOKEN_PATH: &str = "/oauth_token.do";

/// A token is renewed this long before the instance says it expires, so that a request never
/// leaves with a token that dies on the way.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// The lifetime assumed when a token answer names none (the platform's default is 1800 s).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(1800);

/// The OAuth client of an instance: the registry entry's id and secret, and optionally a
/// refresh token (then `grant_type=refresh_token`, else `client_credentials`).
pub struct OAuthClient {
    pub client_id: SecretString,
    pub client_secret: SecretString,
    pub refresh_token: Option<SecretString>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field(
                "grant",
                &if self.refresh_token.is_some() {
                    "refresh_token"
                } else {
                    "client_credentials"
                },
            )
            .finish_non_exhaustive()
    }
}

/// How requests are authenticated.
#[derive(Debug)]
pub enum Credentials {
    /// Basic, or a ready bearer token: one client for the connector's life.
    Fixed(Auth),
    /// Bearer tokens fetched from `/oauth_token.do`.
    OAuth(OAuthClient),
}

/// A fetched access token and the client that sends it.
struct Token {
    http: HttpClient,
    renew_at: Instant,
    /// Counts fetched tokens: a 401 invalidates only the token it was answered to, so that
    /// concurrent requests refused together fetch one new token, not one each.
    generation: u64,
}

/// Where the table of a request comes from, so that "no such table" names the key to fix.
#[derive(Debug, Clone, Copy)]
pub struct TableRef<'a> {
    pub table: &'a str,
    pub key: &'a str,
}

/// The ServiceNow API of one system.
pub struct Client {
    system: String,
    config: HttpConfig,
    auth_hint: &'static str,
    /// The client of Basic/bearer auth, or (OAuth) the one of the token endpoint, which
    /// sends no `Authorization` header.
    fixed: HttpClient,
    oauth: Option<OAuthClient>,
    token: tokio::sync::Mutex<Option<Token>>,
    /// The latest refresh token (an instance may hand out a new one with each access token).
    refresh: Mutex<Option<SecretString>>,
    /// No request leaves before this instant (`X-RateLimit-Remaining: 0`).
    pause_until: Mutex<Option<Instant>>,
    max_pause: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("system", &self.system)
            .field("base_url", &self.config.base_url.as_str())
            .field("auth", &self.auth_hint)
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

/// A failed request: the HTTP error, or a token that could not be had.
#[derive(Debug)]
pub enum Failure {
    Http(HttpError),
    Token(ConnectorError),
}

impl Client {
    /// Builds the client; `max_pause` caps the wait for a used-up rate limit.
    pub fn new(
        system: &str,
        config: HttpConfig,
        credentials: Credentials,
        max_pause: Duration,
    ) -> Result<Client, String> {
        let (fixed, oauth, auth_hint) = match credentials {
            Credentials::Fixed(auth) => {
                let hint = match &auth {
                    Auth::Basic { .. } => "basic",
                    _ => "bearer",
                };
                (
                    HttpClient::new(system, config.clone(), auth).map_err(|e| e.to_string())?,
                    None,
                    hint,
                )
            }
            Credentials::OAuth(oauth) => (
                HttpClient::new(system, config.clone(), Auth::None).map_err(|e| e.to_string())?,
                Some(oauth),
                "oauth",
            ),
        };
        let refresh = oauth.as_ref().and_then(|o| o.refresh_token.clone());
        Ok(Client {
            system: system.to_string(),
            config,
            auth_hint,
            fixed,
            oauth,
            token: tokio::sync::Mutex::new(None),
            refresh: Mutex::new(refresh),
            pause_until: Mutex::new(None),
            max_pause,
        })
    }

    pub fn base_url(&self) -> &url::Url {
        self.fixed.base_url()
    }

    /// `basic`, `bearer` or `oauth`.
    pub fn auth_kind(&self) -> &'static str {
        self.auth_hint
    }

    /// Sends one request (with its retries). With OAuth, a 401 is answered once by fetching a
    /// new token and sending again: the token may have been revoked or expired early, and a
    /// refused request did nothing, so repeating it is safe even for a create.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<HttpResponse, Failure> {
        let (http, generation) = self.http().await?;
        let result = self.send_with(&http, &method, target, body, retry).await;
        match result {
            Err(HttpError::Unauthorized { .. }) if self.oauth.is_some() => {
                tracing::debug!(system = %self.system, "401 with an OAuth token: fetching a new one");
                self.invalidate(generation).await;
                let (http, _) = self.http().await?;
                self.send_with(&http, &method, target, body, retry)
                    .await
                    .map_err(Failure::Http)
            }
            other => other.map_err(Failure::Http),
        }
    }

    async fn send_with(
        &self,
        http: &HttpClient,
        method: &Method,
        target: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<HttpResponse, HttpError> {
        self.wait_for_rate_limit().await;
        let response = http.send(method.clone(), target, body, retry).await?;
        self.note_rate_limit(&response);
        Ok(response)
    }

    /// The client to send with: the fixed one, or one carrying a valid OAuth token.
    async fn http(&self) -> Result<(HttpClient, u64), Failure> {
        let Some(oauth) = &self.oauth else {
            return Ok((self.fixed.clone(), 0));
        };
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok((token.http.clone(), token.generation));
        }
        let generation = slot.as_ref().map_or(1, |t| t.generation + 1);
        let token = self
            .fetch_token(oauth, generation)
            .await
            .map_err(Failure::Token)?;
        let out = (token.http.clone(), token.generation);
        *slot = Some(token);
        Ok(out)
    }

    async fn invalidate(&self, generation: u64) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    /// `POST /oauth_token.do`, form-encoded (RFC 6749 §4.4 / §6).
    async fn fetch_token(
        &self,
        oauth: &OAuthClient,
        generation: u64,
    ) -> Result<Token, ConnectorError> {
        let refresh = self
            .refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let id = oauth.client_id.expose_secret();
        let secret = oauth.client_secret.expose_secret();
        let (grant, retry) = match &refresh {
            Some(_) => ("refresh_token", Retry::NotIdempotent),
            // Asking again for a client-credentials token has no effect but a new token.
            None => ("client_credentials", Retry::Idempotent),
        };
        let mut form = vec![
            ("grant_type", grant),
            ("client_id", id),
            ("client_secret", secret),
        ];
        if let Some(token) = &refresh {
            form.push(("refresh_token", token.expose_secret()));
        }
        let fail = |message: String| ConnectorError::Remote {
            system: self.system.clone(),
            message: self.scrub(&message),
        };
        self.wait_for_rate_limit().await;
        let response = self
            .fixed
            .send_form(Method::POST, TOKEN_PATH, &form, retry)
            .await
            .map_err(|e| {
                let oauth_said = e.body().and_then(oauth_error).unwrap_or_default();
                let advice = match e.status() {
                    Some(400 | 401) => format!(
                        " — the instance refused the OAuth client: check the variables named by \
                         oauth_client_id_env and oauth_client_secret_env (the Application \
                         Registry entry), {}",
                        if grant == "refresh_token" {
                            "and that the refresh token named by oauth_refresh_token_env is \
                             still valid"
                        } else {
                            "and that the instance allows the client credentials grant \
                             (system property glide.oauth.inbound.client.credential.grant_type.enabled)"
                        }
                    ),
                    _ => String::new(),
                };
                fail(format!("the OAuth token request failed: {e}{oauth_said}{advice}"))
            })?;
        let body: Value = response
            .json()
            .map_err(|e| fail(format!("the OAuth token answer is unreadable: {e}")))?;
        let access = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                fail(format!(
                    "the OAuth token answer (POST {TOKEN_PATH}) has no access_token{}",
                    oauth_error(&body.to_string()).unwrap_or_default()
                ))
            })?;
        let lifetime = body
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        if let Some(new_refresh) = body.get("refresh_token").and_then(Value::as_str)
            && refresh.is_some()
            && !new_refresh.trim().is_empty()
        {
            *self.refresh.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(SecretString::from(new_refresh.trim()));
        }
        let http = HttpClient::new(
            &self.system,
            self.config.clone(),
            Auth::Bearer(SecretString::from(access)),
        )
        .map_err(|e| fail(e.to_string()))?;
        tracing::debug!(
            system = %self.system,
            grant,
            lifetime_secs = lifetime.as_secs(),
            "fetched an OAuth access token"
        );
        Ok(Token {
            http,
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
            generation,
        })
    }

    /// Removes the OAuth client's secrets from text bound for an error: a token endpoint may
    /// echo the request back, and its client has no `Authorization` header to redact.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        let Some(oauth) = &self.oauth else {
            return text;
        };
        let refresh = self
            .refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut secrets: Vec<String> = [
            Some(&oauth.client_secret),
            refresh.as_ref(),
            oauth.refresh_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.expose_secret().to_string())
        .filter(|s| !s.is_empty())
        .collect();
        // The form-encoded spelling too, as an echoed body would show it.
        let encoded: Vec<String> = secrets
            .iter()
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect())
            .collect();
        secrets.extend(encoded);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            text = text.replace(&secret, "[REDACTED]");
        }
        text
    }

    async fn wait_for_rate_limit(&self) {
        let until = *self
            .pause_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                tracing::info!(
                    system = %self.system,
                    wait_ms = u64::try_from((until - now).as_millis()).unwrap_or(u64::MAX),
                    "rate limit used up (X-RateLimit-Remaining: 0): pausing until it resets"
                );
                tokio::time::sleep_until(until.into()).await;
            }
        }
    }

    fn note_rate_limit(&self, response: &HttpResponse) {
        let pause = rate_limit_pause(
            response.header("x-ratelimit-remaining"),
            response.header("x-ratelimit-reset"),
            SystemTime::now(),
            self.max_pause,
        );
        if let Some(pause) = pause {
            let until = Instant::now() + pause;
            let mut slot = self
                .pause_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if slot.is_none_or(|s| s < until) {
                *slot = Some(until);
            }
        }
    }

    /// Turns a failure into the connector's error: a create whose outcome is unknown is
    /// `Ambiguous` (the engine looks the record up before trying again); the rest is
    /// `Remote`, with what to do spelled out. `table` names the table and its key for "no such
    /// table".
    pub fn error(
        &self,
        method: &Method,
        table: Option<TableRef<'_>>,
        failure: Failure,
    ) -> ConnectorError {
        let error = match failure {
            Failure::Http(e) => e,
            Failure::Token(e) => return e,
        };
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
        let said = error.body().and_then(sn_error);
        let message = match (&error, table) {
            (HttpError::Unauthorized { .. }, _) => format!(
                "{request} was refused as unauthenticated (401){}. {}",
                said.as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default(),
                match self.auth_hint {
                    "basic" =>
                        "ServiceNow did not accept the user name and password: check the \
                                variables named by username_env and password_env (a locked-out \
                                account, or one without the web service access role, is refused too)",
                    "bearer" =>
                        "ServiceNow did not accept the bearer token named by token_env: it \
                                 is wrong or expired (tokens from /oauth_token.do last 30 minutes \
                                 by default; configure oauth_client_id_env and \
                                 oauth_client_secret_env to have them renewed)",
                    _ =>
                        "ServiceNow refused a freshly fetched OAuth token: check the OAuth \
                          client's scope and that its user may use the REST API",
                }
            ),
            (HttpError::Forbidden { .. }, t) => format!(
                "{request} was refused (403){}: the account lacks the rights — ServiceNow's ACLs \
                 deny it {}; give the account a role that grants them (for GRC tables, e.g. \
                 the application's reader or manager role)",
                said.as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default(),
                match t {
                    Some(t) if *method == Method::GET => format!("read access to {}", t.table),
                    Some(t) => format!("write access to {}", t.table),
                    None => "this operation".to_string(),
                }
            ),
            (HttpError::NotFound { .. } | HttpError::Client { .. }, Some(t))
                if is_missing_table(&error, t.table) =>
            {
                format!(
                    "{request} failed ({}): the table `{}` does not exist on this instance, or \
                     its plugin is not active{} — fix `{}` for this system (or install the GRC \
                     application that provides the table)",
                    error.status().unwrap_or_default(),
                    t.table,
                    said.as_deref()
                        .map(|s| format!(" (the server said: {s})"))
                        .unwrap_or_default(),
                    t.key
                )
            }
            (HttpError::Client { status, .. }, _) => format!(
                "{request} was rejected ({status}){}",
                said.as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_else(|| {
                        error.body().map(|b| format!(": {b}")).unwrap_or_default()
                    })
            ),
            _ => base,
        };
        let message = self.scrub(&message);
        // A create whose answer is lost or unreadable may still have happened: a timeout, a
        // reset, a 5xx, or a 2xx body that does not decode. The engine then looks the row up
        // by its correlation id instead of assuming either outcome.
        let ambiguous = *method == Method::POST && error.outcome_unknown();
        if ambiguous {
            ConnectorError::Ambiguous {
                system,
                message: format!("{message} (the row may or may not have been created)"),
            }
        } else {
            ConnectorError::Remote { system, message }
        }
    }
}

/// ServiceNow's error body `{"error": {"message", "detail"}, "status": "failure"}` as one
/// line: `Invalid table sn_risk_riks` or `Operation Failed: Field 'u_x' is mandatory`.
pub fn sn_error(body: &str) -> Option<String> {
    let json: Value = serde_json::from_str(body).ok()?;
    let error = json.get("error")?;
    let text = |key: &str| {
        error
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (text("message"), text("detail")) {
        (Some(m), Some(d)) => Some(format!("{m}: {d}")),
        (Some(m), None) => Some(m.to_string()),
        (None, Some(d)) => Some(d.to_string()),
        (None, None) => None,
    }
}

/// An OAuth error answer (`{"error": "...", "error_description": "..."}`) as
/// ` (error: description)`, empty when there is none.
fn oauth_error(body: &str) -> Option<String> {
    let json: Value = serde_json::from_str(body).ok()?;
    let error = json.get("error").and_then(Value::as_str);
    let description = json.get("error_description").and_then(Value::as_str);
    match (error, description) {
        (Some(e), Some(d)) => Some(format!(" ({e}: {d})")),
        (None, Some(d)) => Some(format!(" ({d})")),
        _ => None,
    }
}

/// Whether an error says the table does not exist: ServiceNow answers `Invalid table <name>`
/// (400 on most releases); a 404 whose body names no record is taken the same way.
fn is_missing_table(error: &HttpError, table: &str) -> bool {
    let body = error.body().unwrap_or_default();
    let lower = body.to_ascii_lowercase();
    lower.contains("invalid table")
        || (error.is_not_found() && !lower.contains("no record") && body.contains(table))
        || (error.is_not_found() && body.trim().is_empty())
}

/// How long to pause after an answer carrying `X-RateLimit-Remaining` and
/// `X-RateLimit-Reset` (epoch seconds): until the reset when nothing remains, at most `cap`.
pub fn rate_limit_pause(
    remaining: Option<&str>,
    reset: Option<&str>,
    now: SystemTime,
    cap: Duration,
) -> Option<Duration> {
    let remaining: u64 = remaining?.trim().parse().ok()?;
    if remaining > 0 {
        return None;
    }
    let reset = UNIX_EPOCH + Duration::from_secs(reset?.trim().parse().ok()?);
    let wait = reset.duration_since(now).ok()?;
    (!wait.is_zero()).then(|| wait.min(cap))
}

/// The `rel="next"` target of a `Link` header (RFC 8288), as path and query: the instance
/// writes its own host name there, which may differ from the configured `base_url` (a custom
/// domain), and only the configured host is ever sent credentials.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = rest.get(start + 1..)?;
        let end = after.find('>')?;
        let target = after.get(..end)?;
        let params_all = after.get(end + 1..)?;
        let params = params_all
            .find('<')
            .map_or(params_all, |n| params_all.get(..n).unwrap_or(""));
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        if is_next {
            return match url::Url::parse(target) {
                Ok(url) => Some(match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                }),
                Err(_) => Some(target.to_string()),
            };
        }
        rest = params_all;
    }
    None
}

/// Percent-encodes a query value (encoded queries hold `^`, `=`, `>` and spaces).
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

/// Whether `id` is a sys_id (32 hex digits), and so safe as a path segment.
pub fn is_sys_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next_is_found_among_the_others() {
        let header = "<https://i.service-now.com/api/now/table/x?sysparm_limit=1&sysparm_fields=a,b&sysparm_offset=0>;rel=\"first\",\
                      <https://i.service-now.com/api/now/table/x?sysparm_limit=1&sysparm_offset=1>;rel=\"next\",\
                      <https://i.service-now.com/api/now/table/x?sysparm_limit=1&sysparm_offset=9>;rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("/api/now/table/x?sysparm_limit=1&sysparm_offset=1")
        );
        assert_eq!(next_link("<https://i/x?o=0>;rel=\"first\""), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn rate_limit_pause_until_reset_capped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let cap = Duration::from_secs(60);
        assert_eq!(
            rate_limit_pause(Some("0"), Some("1010"), now, cap),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            rate_limit_pause(Some("0"), Some("99999"), now, cap),
            Some(cap)
        );
        assert_eq!(rate_limit_pause(Some("3"), Some("1010"), now, cap), None);
        assert_eq!(
            rate_limit_pause(Some("0"), Some("900"), now, cap),
            None,
            "reset passed"
        );
        assert_eq!(rate_limit_pause(Some("0"), None, now, cap), None);
        assert_eq!(rate_limit_pause(None, Some("1010"), now, cap), None);
    }

    #[test]
    fn service_now_error_bodies_read_as_one_line() {
        let body = r#"{"error":{"message":"Invalid table sn_risk_riks","detail":null},"status":"failure"}"#;
        assert_eq!(
            sn_error(body).as_deref(),
            Some("Invalid table sn_risk_riks")
        );
        assert_eq!(sn_error("<html>"), None);
        assert!(is_sys_id("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_sys_id("../sys_user"));
        assert_eq!(
            query_value("a>=2026-01-02 10:00:00^b"),
            "a%3E%3D2026-01-02%2010%3A00%3A00%5Eb"
        );
    }
}
