//! Fault injection: which failures are retried, how long the client waits, what it reports.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{assert_no_secret, client, client_with, config};
use imsbridge_http::{HttpError, Method, Retry};
use serde_json::{Value, json};

#[tokio::test]
async fn transient_5xx_are_retried_until_success() {
    let mut server = mockito::Server::new_async().await;
    let mut mocks = Vec::new();
    for status in [500, 502, 503] {
        mocks.push(
            server
                .mock("GET", "/api/x/")
                .with_status(status)
                .expect(1)
                .create_async()
                .await,
        );
    }
    mocks.push(
        server
            .mock("GET", "/api/x/")
            .with_body(r#"{"ok":true}"#)
            .expect(1)
            .create_async()
            .await,
    );
    let client = client(&server.url());
    let got: Value = client.get_json("/api/x/").await.unwrap();
    assert_eq!(got, json!({"ok": true}));
    for mock in &mocks {
        mock.assert_async().await;
    }
    let stats = client.stats();
    assert_eq!(stats.retries, 3);
    assert_eq!(stats.get, 4);
    assert_eq!(stats.total, 4);
}

#[tokio::test]
async fn persistent_503_is_a_server_error_after_all_attempts() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.max_retries = 3;
    let mock = server
        .mock("GET", "/api/x/")
        .with_status(503)
        .with_body("upstream unavailable")
        .expect(4)
        .create_async()
        .await;
    let err = client_with(config)
        .get_json::<Value>("/api/x/")
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(
        matches!(
            err,
            HttpError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("ca: GET /api/x/ failed with a server error (503) after 4 attempt(s)"),
        "{message}"
    );
    assert!(message.contains("upstream unavailable"), "{message}");
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let mut server = mockito::Server::new_async().await;
    let limited = server
        .mock("GET", "/api/x/")
        .with_status(429)
        .with_header("Retry-After", "1")
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("GET", "/api/x/")
        .with_body("[]")
        .expect(1)
        .create_async()
        .await;
    let started = Instant::now();
    let got: Vec<Value> = client(&server.url()).get_json("/api/x/").await.unwrap();
    assert!(got.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    limited.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn retry_after_beyond_the_cap_fails_at_once() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/x/")
        .with_status(429)
        .with_header("Retry-After", "3600")
        .expect(1)
        .create_async()
        .await;
    let started = Instant::now();
    let err = client(&server.url())
        .get_json::<Value>("/api/x/")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    mock.assert_async().await;
    match &err {
        HttpError::RateLimited {
            attempts,
            retry_after,
            ..
        } => {
            assert_eq!(*attempts, 1);
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("asking to wait 3600 s"), "{err}");
    assert_eq!(err.status(), Some(429));
}

#[tokio::test]
async fn persistent_429_without_retry_after_backs_off_then_fails() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.max_retries = 2;
    let mock = server
        .mock("GET", "/api/x/")
        .with_status(429)
        .expect(3)
        .create_async()
        .await;
    let err = client_with(config)
        .get_json::<Value>("/api/x/")
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(
        matches!(
            err,
            HttpError::RateLimited {
                attempts: 3,
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn post_500_is_returned_at_once() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/api/x/")
        .with_status(500)
        .expect(1)
        .create_async()
        .await;
    let client = client(&server.url());
    let err = client
        .send_json::<Value>(
            Method::POST,
            "/api/x/",
            &json!({"name": "n"}),
            Retry::NotIdempotent,
        )
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(
        matches!(
            err,
            HttpError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(client.stats().retries, 0);
    assert_eq!(client.stats().post, 1);
}

#[tokio::test]
async fn post_503_without_retry_after_is_not_retried() {
    let mut server = mockito::Server::new_async().await;
    let unavailable = server
        .mock("POST", "/api/unavailable/")
        .with_status(503)
        .expect(1)
        .create_async()
        .await;
    let client = client(&server.url());
    let err = client
        .send(
            Method::POST,
            "/api/unavailable/",
            Some(&json!({})),
            Retry::NotIdempotent,
        )
        .await
        .unwrap_err();
    unavailable.assert_async().await;
    assert!(
        matches!(
            err,
            HttpError::Server {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn post_429_and_503_with_retry_after_are_retried() {
    let mut server = mockito::Server::new_async().await;
    let limited = server
        .mock("POST", "/api/x/")
        .with_status(429)
        .expect(1)
        .create_async()
        .await;
    let maintenance = server
        .mock("POST", "/api/x/")
        .with_status(503)
        .with_header("Retry-After", "0")
        .expect(1)
        .create_async()
        .await;
    let created = server
        .mock("POST", "/api/x/")
        .match_body(mockito::Matcher::Json(json!({"name": "n"})))
        .match_header("content-type", "application/json")
        .with_status(201)
        .with_body(r#"{"id":"42"}"#)
        .expect(1)
        .create_async()
        .await;
    let client = client(&server.url());
    let got: Value = client
        .send_json(
            Method::POST,
            "/api/x/",
            &json!({"name": "n"}),
            Retry::NotIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(got, json!({"id": "42"}));
    limited.assert_async().await;
    maintenance.assert_async().await;
    created.assert_async().await;
    assert_eq!(client.stats().post, 3);
    assert_eq!(client.stats().retries, 2);
}

/// A body that trickles a blank every 10 ms for 0.5 s: past a 200 ms deadline, and quick to
/// stop once the client hangs up (the next write fails).
fn slow_body(w: &mut dyn Write) -> std::io::Result<()> {
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(10));
        w.write_all(b" ")?;
        w.flush()?;
    }
    w.write_all(b"{}")
}

#[tokio::test]
async fn slow_answers_time_out_after_retries() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.timeout = Duration::from_millis(200);
    config.max_retries = 2;
    let mock = server
        .mock("GET", "/api/slow/")
        .with_chunked_body(slow_body)
        .expect(3)
        .create_async()
        .await;
    let err = client_with(config)
        .get_json::<Value>("/api/slow/")
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Timeout { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("timed out after 3 attempt(s)"),
        "{err}"
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn slow_create_times_out_once() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.timeout = Duration::from_millis(200);
    let mock = server
        .mock("POST", "/api/slow/")
        .with_chunked_body(slow_body)
        .expect(1)
        .create_async()
        .await;
    let err = client_with(config)
        .send(
            Method::POST,
            "/api/slow/",
            Some(&json!({})),
            Retry::NotIdempotent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Timeout { attempts: 1, .. }),
        "{err:?}"
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_creates() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config(&format!("http://127.0.0.1:{port}"));
    config.max_retries = 2;
    let client = client_with(config);
    let err = client
        .send(
            Method::POST,
            "/api/x/",
            Some(&json!({})),
            Retry::NotIdempotent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Transport { attempts: 3, .. }),
        "{err:?}"
    );
    assert_no_secret(&err);
    let message = err.to_string();
    assert!(
        message.starts_with("ca: POST /api/x/ could not be completed after 3 attempt(s)"),
        "{message}"
    );
    assert!(
        !message.contains("127.0.0.1"),
        "no URL in the cause chain: {message}"
    );
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn client_errors_fail_fast_with_the_vendor_detail() {
    let mut server = mockito::Server::new_async().await;
    let invalid = server
        .mock("POST", "/api/x/")
        .with_status(400)
        .with_body(r#"{"name":["This field is required."]}"#)
        .expect(1)
        .create_async()
        .await;
    let missing = server
        .mock("GET", "/api/x/9/")
        .with_status(404)
        .with_body(r#"{"detail":"No RiskScenario matches the given query."}"#)
        .expect(1)
        .create_async()
        .await;
    let forbidden = server
        .mock("DELETE", "/api/x/9/")
        .with_status(403)
        .with_body(r#"{"detail":"You do not have permission to perform this action."}"#)
        .expect(1)
        .create_async()
        .await;
    let client = client(&server.url());

    let err = client
        .send(Method::POST, "/api/x/", Some(&json!({})), Retry::Idempotent)
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Client { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.body(), Some(r#"{"name":["This field is required."]}"#));
    assert!(err.to_string().contains("This field is required."), "{err}");

    let err = client.get_json::<Value>("/api/x/9/").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("No RiskScenario matches"), "{err}");

    let err = client
        .send(Method::DELETE, "/api/x/9/", None, Retry::Idempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("lacks permission"), "{err}");

    invalid.assert_async().await;
    missing.assert_async().await;
    forbidden.assert_async().await;
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.rate_limit = std::num::NonZeroU32::new(20);
    let mock = server
        .mock("GET", "/api/x/")
        .with_body("{}")
        .expect(5)
        .create_async()
        .await;
    let client = client_with(config);
    let started = Instant::now();
    for _ in 0..5 {
        client.get_json::<Value>("/api/x/").await.unwrap();
    }
    // 5 requests at 20/s: four 50 ms gaps.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn concurrency_one_serialises_requests() {
    let mut server = mockito::Server::new_async().await;
    let mut config = config(&server.url());
    config.concurrency = 1;
    let mock = server
        .mock("GET", "/api/x/")
        .with_chunked_body(|w| {
            std::thread::sleep(Duration::from_millis(100));
            w.write_all(b"{}")
        })
        .expect(3)
        .create_async()
        .await;
    let client = client_with(config);
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        client.get_json::<Value>("/api/x/"),
        client.get_json::<Value>("/api/x/"),
        client.get_json::<Value>("/api/x/"),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn spawned_requests_are_send() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/x/")
        .with_body("{}")
        .create_async()
        .await;
    let client = client(&server.url());
    let task = tokio::spawn(async move { client.get_json::<Value>("/api/x/").await });
    task.await.unwrap().unwrap();
    mock.assert_async().await;
}
