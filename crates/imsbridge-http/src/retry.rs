//! The retry decision: which failures are worth another attempt, and how long to wait.
//!
//! The rule of thumb: repeat a request only when doing it twice cannot hurt. An idempotent
//! request (GET, PUT of a whole record, DELETE) may be repeated after any transient failure.
//! A create (POST) may have been processed even though the answer never arrived — a blind
//! retry could create a duplicate record — so it is repeated only when the server surely did
//! not process it. Otherwise the error goes back to the sync engine, which looks the record
//! up by its correlation id before trying again.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::HttpConfig;

/// Whether a request may be repeated after a failure that leaves its fate unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Repeating it is harmless (GET, PUT, DELETE, a PATCH setting absolute values): retried
    /// on 5xx, timeouts and broken connections.
    Idempotent,
    /// Repeating it could duplicate its effect (POST creating a record): retried only when
    /// the server surely did not process it — 429, a connection that was never established,
    /// 503 with `Retry-After`.
    NotIdempotent,
}

impl Retry {
    /// The usual classification by method (RFC 9110 §9.2.2): POST and PATCH are not
    /// idempotent, the others are.
    pub fn for_method(method: &Method) -> Retry {
        if *method == Method::POST || *method == Method::PATCH {
            Retry::NotIdempotent
        } else {
            Retry::Idempotent
        }
    }
}

/// What went wrong in one attempt, as far as the decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered with this status, maybe with a (parsed) `Retry-After`.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No connection could be made (refused, DNS, connect timeout): nothing was sent.
    Connect,
    /// The whole-request deadline passed after the request went out.
    Timeout,
    /// The connection broke after the request went out (reset, closed mid-answer).
    Broken,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again after the next backoff delay.
    Backoff,
    /// Try again after the delay the server asked for.
    Wait(Duration),
    /// Fail now.
    GiveUp,
}

pub(crate) fn decide(retry: Retry, failure: Failure, max_retry_after: Duration) -> Decision {
    let idempotent = retry == Retry::Idempotent;
    match failure {
        // 429 means "refused before doing anything": safe for every request. Honour the
        // server's wait, unless it is beyond what a sync run can sit through.
        Failure::Status {
            status: 429,
            retry_after,
        } => server_wait(retry_after, max_retry_after),
        // 503 with Retry-After is the server saying "not now, come back then" (maintenance,
        // overload shedding): the request was not processed, so even a create may be repeated.
        Failure::Status {
            status: 503,
            retry_after: Some(wait),
        } => server_wait(Some(wait), max_retry_after),
        // Other gateway and server errors: transient, but the request may have been carried
        // out before it failed.
        Failure::Status {
            status: 500 | 502 | 503 | 504,
            ..
        } if idempotent => Decision::Backoff,
        // 4xx will fail the same way next time; other 5xx (501, 505, …) are not transient.
        Failure::Status { .. } => Decision::GiveUp,
        // Nothing reached the server.
        Failure::Connect => Decision::Backoff,
        // The request went out; whether it was processed is unknown.
        Failure::Timeout | Failure::Broken if idempotent => Decision::Backoff,
        Failure::Timeout | Failure::Broken => Decision::GiveUp,
    }
}

fn server_wait(retry_after: Option<Duration>, max_retry_after: Duration) -> Decision {
    match retry_after {
        Some(wait) if wait > max_retry_after => Decision::GiveUp,
        Some(wait) => Decision::Wait(wait),
        None => Decision::Backoff,
    }
}

/// `Retry-After` as a delay: delta seconds or an HTTP date (RFC 9110 §10.2.3). A date in the
/// past means "now". Unparseable values count as absent.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The backoff delays of one request: exponential from `min_backoff`, doubled each time, with
/// jitter so that clients failing together do not retry together, capped at `max_backoff`.
/// Yields `max_retries` delays, so it also counts the retries.
pub(crate) fn backoff(config: &HttpConfig) -> impl Iterator<Item = Duration> + use<> {
    let max = config.max_backoff.max(config.min_backoff);
    ExponentialBuilder::default()
        .with_min_delay(config.min_backoff)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(usize::try_from(config.max_retries).unwrap_or(usize::MAX))
        .build()
        // backon's jitter adds up to one more delay on top of the cap.
        .map(move |delay| delay.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const CAP: Duration = Duration::from_secs(120);

    fn status(status: u16, retry_after: Option<u64>) -> Failure {
        Failure::Status {
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn idempotent_requests_retry_transient_failures() {
        use Decision::*;
        let r = Retry::Idempotent;
        for s in [500, 502, 503, 504] {
            assert_eq!(decide(r, status(s, None), CAP), Backoff, "{s}");
        }
        assert_eq!(decide(r, status(429, None), CAP), Backoff);
        assert_eq!(
            decide(r, status(429, Some(3)), CAP),
            Wait(Duration::from_secs(3))
        );
        assert_eq!(
            decide(r, status(503, Some(3)), CAP),
            Wait(Duration::from_secs(3))
        );
        assert_eq!(decide(r, status(429, Some(121)), CAP), GiveUp);
        assert_eq!(decide(r, Failure::Timeout, CAP), Backoff);
        assert_eq!(decide(r, Failure::Broken, CAP), Backoff);
        assert_eq!(decide(r, Failure::Connect, CAP), Backoff);
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(decide(r, status(s, None), CAP), GiveUp, "{s}");
        }
    }

    #[test]
    fn creates_retry_only_when_surely_unprocessed() {
        use Decision::*;
        let r = Retry::NotIdempotent;
        for s in [500, 502, 503, 504, 400, 401, 403, 404] {
            assert_eq!(decide(r, status(s, None), CAP), GiveUp, "{s}");
        }
        assert_eq!(decide(r, Failure::Timeout, CAP), GiveUp);
        assert_eq!(decide(r, Failure::Broken, CAP), GiveUp);
        assert_eq!(decide(r, Failure::Connect, CAP), Backoff);
        assert_eq!(decide(r, status(429, None), CAP), Backoff);
        assert_eq!(
            decide(r, status(503, Some(2)), CAP),
            Wait(Duration::from_secs(2))
        );
        assert_eq!(decide(r, status(503, Some(500)), CAP), GiveUp);
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_is_bounded_and_counts_retries() {
        let mut config = HttpConfig::new(url::Url::parse("https://h.example").unwrap());
        config.max_retries = 8;
        config.min_backoff = Duration::from_millis(100);
        config.max_backoff = Duration::from_millis(1000);
        let delays: Vec<_> = backoff(&config).collect();
        assert_eq!(delays.len(), 8);
        assert!(delays[0] >= Duration::from_millis(100) && delays[0] <= Duration::from_millis(200));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(1000)));
        assert_eq!(for_method(&Method::POST), Retry::NotIdempotent);
        assert_eq!(for_method(&Method::GET), Retry::Idempotent);
    }

    fn for_method(method: &Method) -> Retry {
        Retry::for_method(method)
    }
}
