//! Connection settings of one [`HttpClient`](crate::HttpClient): plain data, no secrets.

use std::num::NonZeroU32;
use std::time::Duration;

use url::Url;

/// Settings of one HTTP client. Plain data: credentials live in [`Auth`](crate::Auth), so this
/// can be logged and printed freely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Where the service lives, e.g. `https://ciso.example.org`. Request targets are paths
    /// relative to it; a path prefix (`https://host/jira`) is kept in front of every target.
    pub base_url: Url,
    /// Deadline for one whole attempt, body included.
    pub timeout: Duration,
    /// Deadline for establishing the TCP + TLS connection.
    pub connect_timeout: Duration,
    /// How many times a failed attempt may be repeated (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry (plus jitter) up to `max_backoff`.
    pub min_backoff: Duration,
    /// Ceiling of the backoff delay.
    pub max_backoff: Duration,
    /// Longest `Retry-After` the client is willing to wait. A server asking for more (a
    /// maintenance window, an hourly quota) gets an error at once rather than a hung sync.
    pub max_retry_after: Duration,
    /// Requests in flight at the same time through this client.
    pub concurrency: usize,
    /// Requests per second through this client, evenly spaced (no bursts); `None`: unlimited.
    pub rate_limit: Option<NonZeroU32>,
    /// `User-Agent` header, so the vendor's logs show who calls.
    pub user_agent: String,
}

impl HttpConfig {
    /// Settings with the defaults: 30 s timeout, 10 s connect timeout, 5 retries with a
    /// 500 ms – 30 s backoff, `Retry-After` honoured up to 120 s, 4 requests in flight, no
    /// rate limit, `User-Agent: imsbridge/<version>`.
    pub fn new(base_url: Url) -> Self {
        HttpConfig {
            base_url,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            concurrency: 4,
            rate_limit: None,
            user_agent: format!("imsbridge/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() -> Result<(), url::ParseError> {
        let config = HttpConfig::new(Url::parse("https://ciso.example.org")?);
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.max_retries, 5);
        assert_eq!(config.min_backoff, Duration::from_millis(500));
        assert_eq!(config.max_backoff, Duration::from_secs(30));
        assert_eq!(config.max_retry_after, Duration::from_secs(120));
        assert_eq!(config.concurrency, 4);
        assert_eq!(config.rate_limit, None);
        assert!(config.user_agent.starts_with("imsbridge/"));
        Ok(())
    }
}
