//! The client and its request loop: one attempt at a time through the concurrency and rate
//! limits, the retry decision of [`crate::retry`] between attempts.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::{Auth, Credentials};
use crate::config::HttpConfig;
use crate::error::{HttpError, MAX_DETAIL, truncate};
use crate::retry::{self, Decision, Failure, Retry};
use crate::stats::{Counters, RequestStats};
use crate::target::{self, RequestLine, TargetError};

/// Redirects followed in a row before giving up (same origin only).
const MAX_REDIRECTS: usize = 10;

/// An HTTP client for one system: base URL, credentials, limits and retries. Cheap to clone
/// (an `Arc` inside); clones share the limits and the counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    system: String,
    /// `config.base_url` normalised (trailing slash, no query).
    config: HttpConfig,
    http: reqwest::Client,
    credentials: Credentials,
    auth_kind: &'static str,
    /// Bounds the attempts in flight. Held for one attempt only, never across a backoff
    /// sleep, so a request waiting to retry leaves its slot to others.
    permits: Semaphore,
    /// Evenly spaced sends when a rate limit is configured.
    limiter: Option<DefaultDirectRateLimiter>,
    counters: Counters,
}

impl fmt::Debug for HttpClient {
    /// Shows what the client is for, never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("system", &self.inner.system)
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("auth", &self.inner.auth_kind)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A successful (2xx) answer, read whole.
#[derive(Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as received.
    pub body: Vec<u8>,
    /// The request this answers.
    pub request: RequestLine,
    /// The system's name, for errors raised when decoding.
    pub system: String,
}

impl fmt::Debug for HttpResponse {
    /// Leaves out headers (cookies, session tokens) and the body (could be large).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("request", &self.request)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl HttpResponse {
    /// Decodes the body as JSON. Errors name the JSON path of the problem (`results[3].owner`).
    /// An empty body (204) decodes as `null`, so `()` and `Option<T>` accept it.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            // serde_path_to_error writes `?` for a map key it did not get to read (a syntax
            // error right after `{` or `,`); the enclosing path is what helps the reader.
            let path = e.path().to_string();
            let path = match path.strip_suffix(".?") {
                Some(parent) => parent.to_owned(),
                None if path == "?" => ".".to_owned(),
                None => path,
            };
            self.decode_error(path, e.into_inner())
        })?;
        de.end().map_err(|e| self.decode_error(".".to_owned(), e))?;
        Ok(value)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and readable as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn decode_error(&self, path: String, error: serde_json::Error) -> HttpError {
        let mut message = error.to_string();
        // A proxy or single-sign-on page answering 200 with HTML is a classic misconfiguration.
        if self.body.trim_ascii_start().starts_with(b"<") {
            message.push_str(
                "; the answer is an HTML page, not JSON — check base_url (a proxy or a login page?)",
            );
        }
        HttpError::Decode {
            system: self.system.clone(),
            request: self.request.clone(),
            path,
            message,
        }
    }
}

/// A failed attempt: what the retry decision needs, plus what the error message needs.
struct Failed {
    failure: Failure,
    /// The transport error took too long (rather than breaking).
    timed_out: bool,
    /// Server body (truncated, redacted) or transport error chain.
    detail: String,
    /// `Location` of a redirect that was not followed.
    location: Option<String>,
}

impl HttpClient {
    /// Builds a client for `system` (its name in the configuration, shown in every error).
    /// Fails on an unusable base URL, malformed credentials, `concurrency == 0` or when TLS
    /// cannot be set up.
    pub fn new(system: &str, config: HttpConfig, auth: Auth) -> Result<HttpClient, HttpError> {
        let build_error = |message: String| HttpError::Build {
            system: system.to_owned(),
            message,
        };
        let mut config = config;
        config.base_url = target::normalise_base(&config.base_url).map_err(build_error)?;
        if config.concurrency == 0 {
            return Err(build_error("concurrency must be at least 1".to_owned()));
        }
        let credentials = Credentials::new(&auth).map_err(build_error)?;

        // reqwest is built with rustls but no crypto provider of its own (no aws-lc): it uses
        // the process default, which must be installed first. Err means another part of the
        // program installed one already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();

        // Same-origin redirects only (Django's trailing-slash redirect, a moved endpoint).
        // reqwest would strip the Authorization header on a cross-host redirect, but an
        // unexpected hop elsewhere means a wrong base_url: stop and say so.
        let origin = config.base_url.origin();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.as_str())
            .default_headers(headers)
            // Every vendor API here speaks HTTP/1.1; one protocol means one set of failure modes.
            .http1_only()
            .redirect(redirects)
            .build()
            .map_err(|e| build_error(error_chain(&e.without_url())))?;

        // A burst of one: requests are spaced evenly at the configured rate rather than sent
        // in a burst at the start of each second, which is what trips vendors' limiters.
        let limiter = config
            .rate_limit
            .map(|rate| RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN)));
        let permits = Semaphore::new(config.concurrency);
        Ok(HttpClient {
            inner: Arc::new(Inner {
                system: system.to_owned(),
                config,
                http,
                credentials,
                auth_kind: auth.kind(),
                permits,
                limiter,
                counters: Counters::default(),
            }),
        })
    }

    /// The base URL, normalised to end with `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    /// The system's name given to [`HttpClient::new`].
    pub fn system(&self) -> &str {
        &self.inner.system
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Counters of the attempts sent so far.
    pub fn stats(&self) -> RequestStats {
        self.inner.counters.snapshot()
    }

    /// The absolute URL a target resolves to: `/path?query` below the base URL's path, or an
    /// absolute URL of the same origin (anything else is [`HttpError::CrossOrigin`]).
    pub fn url(&self, method: &Method, target: &str) -> Result<Url, HttpError> {
        let base = &self.inner.config.base_url;
        target::resolve(base, target).map_err(|e| self.target_error(method.as_str(), target, e))
    }

    pub(crate) fn target_error(&self, method: &str, target: &str, error: TargetError) -> HttpError {
        let system = self.inner.system.clone();
        match error {
            TargetError::Invalid(message) => HttpError::InvalidUrl {
                system,
                request: RequestLine::raw(method, target),
                message,
            },
            TargetError::CrossOrigin(link) => HttpError::CrossOrigin {
                system,
                request: RequestLine::new(method, &link),
                link: truncate(link.as_str(), 300),
                base: self.inner.config.base_url.origin().ascii_serialization(),
            },
        }
    }

    /// Sends one request, retrying per [`Retry`] (see [`crate::retry`] for the rules).
    /// `target` is a path+query relative to the base URL (`/api/risk-scenarios/?limit=2`) or
    /// an absolute URL with the base URL's origin; another origin is refused with
    /// [`HttpError::CrossOrigin`] and nothing is sent. Only a 2xx answer is `Ok`.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Result<HttpResponse, HttpError> {
        let url = self.url(&method, target)?;
        let request = RequestLine::new(method.as_str(), &url);
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| HttpError::Encode {
                system: self.inner.system.clone(),
                request: request.clone(),
                message: e.to_string(),
            })?;
        let body = body.map(|bytes| (bytes, "application/json"));
        self.send_encoded(method, url, request, body, retry).await
    }

    /// Sends a form-encoded body (`application/x-www-form-urlencoded`), the shape OAuth 2.0
    /// token endpoints take (RFC 6749 §4.4.2), retrying per [`Retry`] like [`HttpClient::send`].
    /// The values may be secrets (a client secret, a refresh token): they travel in the body
    /// only, which never appears in a request line, a log or an error.
    pub async fn send_form(
        &self,
        method: Method,
        target: &str,
        form: &[(&str, &str)],
        retry: Retry,
    ) -> Result<HttpResponse, HttpError> {
        let url = self.url(&method, target)?;
        let request = RequestLine::new(method.as_str(), &url);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
        let body = Some((body, "application/x-www-form-urlencoded"));
        self.send_encoded(method, url, request, body, retry).await
    }

    /// The request loop of [`HttpClient::send`] and [`HttpClient::send_form`], for a body
    /// already encoded with its content type.
    async fn send_encoded(
        &self,
        method: Method,
        url: Url,
        request: RequestLine,
        body: Option<(Vec<u8>, &'static str)>,
        retry: Retry,
    ) -> Result<HttpResponse, HttpError> {
        let config = &self.inner.config;
        let mut delays = retry::backoff(config);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let body = body.as_ref().map(|(bytes, kind)| (bytes.as_slice(), *kind));
            let failed = match self.attempt(&method, &url, body, &request, attempt).await {
                Ok(response) => return Ok(response),
                Err(failed) => failed,
            };
            // The backoff iterator yields max_retries delays: it is also the retry budget,
            // spent by server-requested waits too.
            let delay = match retry::decide(retry, failed.failure, config.max_retry_after) {
                Decision::GiveUp => None,
                Decision::Backoff => delays.next(),
                Decision::Wait(wait) => delays.next().map(|_| wait),
            };
            let Some(delay) = delay else {
                return Err(self.error(failed, request, attempt));
            };
            self.inner.counters.retried();
            tracing::debug!(
                system = %self.inner.system,
                method = %request.method,
                path = %request.target,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                failure = ?failed.failure,
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// GET and decode the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, target: &str) -> Result<T, HttpError> {
        self.send(Method::GET, target, None, Retry::Idempotent)
            .await?
            .json()
    }

    /// Sends a JSON body (POST, PATCH, PUT) and decodes the JSON answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        target: &str,
        body: &serde_json::Value,
        retry: Retry,
    ) -> Result<T, HttpError> {
        self.send(method, target, Some(body), retry).await?.json()
    }

    /// One attempt, through the concurrency and rate limits.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<(&[u8], &'static str)>,
        request: &RequestLine,
        attempt: u32,
    ) -> Result<HttpResponse, Failed> {
        let inner = &*self.inner;
        // The semaphore is never closed, so acquiring only fails in theory.
        let Ok(_permit) = inner.permits.acquire().await else {
            return Err(Failed {
                failure: Failure::Connect,
                timed_out: false,
                detail: "the client is shutting down".to_owned(),
                location: None,
            });
        };
        // After the permit, so that the spacing holds for what actually goes on the wire.
        if let Some(limiter) = &inner.limiter {
            limiter.until_ready().await;
        }
        inner.counters.sent(method);

        let started = Instant::now();
        let mut builder = inner.http.request(method.clone(), url.clone());
        builder = inner.credentials.apply(builder);
        if let Some((body, content_type)) = body {
            builder = builder
                .header(CONTENT_TYPE, content_type)
                .body(body.to_vec());
        }
        let result = match builder.send().await {
            Ok(response) => self.read(response, url).await,
            Err(error) => Err(self.transport_failure(error)),
        };

        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok((status, _, _)) => tracing::debug!(
                system = %inner.system,
                method = %request.method,
                path = %request.target,
                status,
                attempt,
                elapsed_ms,
                "http request"
            ),
            Err(failed) => tracing::debug!(
                system = %inner.system,
                method = %request.method,
                path = %request.target,
                failure = ?failed.failure,
                attempt,
                elapsed_ms,
                "http request failed"
            ),
        }
        result.map(|(status, headers, body)| HttpResponse {
            status,
            headers,
            body,
            request: request.clone(),
            system: inner.system.clone(),
        })
    }

    /// Reads the answer: a 2xx body whole, otherwise the error body for the message.
    async fn read(
        &self,
        response: reqwest::Response,
        url: &Url,
    ) -> Result<(u16, HeaderMap, Vec<u8>), Failed> {
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() {
            return match response.bytes().await {
                Ok(body) => Ok((status.as_u16(), headers, body.to_vec())),
                // Timing out or breaking mid-body is a transport failure like any other.
                Err(error) => Err(self.transport_failure(error)),
            };
        }
        // The error body only adds detail to the message: failing to read it changes nothing.
        let body = response.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let detail = truncate(&self.inner.credentials.redact(text.trim()), MAX_DETAIL);
        let location = status
            .is_redirection()
            .then(|| headers.get(LOCATION)?.to_str().ok())
            .flatten()
            .map(|location| match url.join(location) {
                Ok(mut link) => {
                    let _ = link.set_username("");
                    let _ = link.set_password(None);
                    truncate(link.as_str(), 300)
                }
                Err(_) => truncate(location, 300),
            });
        Err(Failed {
            failure: Failure::Status {
                status: status.as_u16(),
                retry_after: retry::retry_after(&headers),
            },
            timed_out: false,
            detail,
            location,
        })
    }

    fn transport_failure(&self, error: reqwest::Error) -> Failed {
        let timed_out = error.is_timeout();
        // A connect error (refused, DNS, TLS handshake, connect timeout) means the request
        // never left: safe to repeat whatever it is. Anything later is ambiguous.
        let failure = if error.is_connect() {
            Failure::Connect
        } else if timed_out {
            Failure::Timeout
        } else {
            Failure::Broken
        };
        Failed {
            failure,
            timed_out,
            detail: self
                .inner
                .credentials
                .redact(&error_chain(&error.without_url())),
            location: None,
        }
    }

    /// The error after the last attempt.
    fn error(&self, failed: Failed, request: RequestLine, attempts: u32) -> HttpError {
        let system = self.inner.system.clone();
        let detail = failed.detail;
        match failed.failure {
            Failure::Status { status, .. } if (300..400).contains(&status) => {
                HttpError::Redirected {
                    system,
                    request,
                    status,
                    location: failed
                        .location
                        .unwrap_or_else(|| "(no Location)".to_owned()),
                }
            }
            Failure::Status { status: 401, .. } => HttpError::Unauthorized {
                system,
                request,
                detail,
            },
            Failure::Status { status: 403, .. } => HttpError::Forbidden {
                system,
                request,
                detail,
            },
            Failure::Status { status: 404, .. } => HttpError::NotFound {
                system,
                request,
                detail,
            },
            Failure::Status {
                status: 429,
                retry_after,
            } => HttpError::RateLimited {
                system,
                request,
                attempts,
                retry_after,
            },
            Failure::Status { status, .. } if (400..500).contains(&status) => HttpError::Client {
                system,
                request,
                status,
                detail,
            },
            Failure::Status {
                status,
                retry_after,
            } => HttpError::Server {
                system,
                request,
                status,
                attempts,
                retry_after,
                detail,
            },
            _ if failed.timed_out => HttpError::Timeout {
                system,
                request,
                attempts,
            },
            Failure::Connect | Failure::Timeout | Failure::Broken => HttpError::Transport {
                system,
                request,
                attempts,
                message: detail,
            },
        }
    }
}

/// An error and its causes on one line ("error sending request: client error (Connect):
/// tcp connect error: Connection refused"), skipping causes already quoted by their parent.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn send_form_encodes_the_body_and_keeps_it_out_of_errors() {
        let mut server = mockito::Server::new_async().await;
        let mock = server
            .mock("POST", "/oauth_token.do")
            .match_header("content-type", "application/x-www-form-urlencoded")
            .match_body("grant_type=client_credentials&client_secret=s%26cr%C3%A9t+1")
            .with_status(401)
            .with_body(r#"{"error":"invalid_client"}"#)
            .expect(1)
            .create_async()
            .await;
        let Ok(base) = Url::parse(&server.url()) else {
            panic!("mockito gives a URL")
        };
        let Ok(client) = HttpClient::new("sn", HttpConfig::new(base), Auth::None) else {
            panic!("a client without credentials builds")
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_secret", "s&crét 1"),
        ];
        let result = client
            .send_form(Method::POST, "/oauth_token.do", &form, Retry::NotIdempotent)
            .await;
        mock.assert_async().await;
        let Err(err) = result else {
            panic!("a 401 is an error")
        };
        let text = err.to_string();
        assert!(
            text.contains("POST /oauth_token.do") && text.contains("invalid_client"),
            "{text}"
        );
        assert!(!text.contains("crét"), "{text}");
    }
}
