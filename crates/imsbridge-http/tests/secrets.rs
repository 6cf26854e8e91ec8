//! Credentials: sent as configured, never shown.

#![allow(clippy::unwrap_used)]

mod common;

use common::{CANARY, assert_no_secret, client, config, token_auth};
use imsbridge_http::{Auth, HttpClient, HttpError, Method, Retry};
use serde_json::{Value, json};

#[tokio::test]
async fn token_header_is_sent() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/x/")
        .match_header("authorization", format!("Token {CANARY}").as_str())
        .match_header("accept", "application/json")
        .match_header("user-agent", mockito::Matcher::Regex("^imsbridge/".into()))
        .with_body("{}")
        .create_async()
        .await;
    client(&server.url())
        .get_json::<Value>("/api/x/")
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn bearer_and_basic_headers_are_sent() {
    let mut server = mockito::Server::new_async().await;
    let bearer = server
        .mock("GET", "/bearer")
        .match_header("authorization", format!("Bearer {CANARY}").as_str())
        .with_body("{}")
        .create_async()
        .await;
    let basic = server
        .mock("GET", "/basic")
        .match_header("authorization", "Basic dXNlcjpwYXNz")
        .with_body("{}")
        .create_async()
        .await;
    let none = server
        .mock("GET", "/none")
        .match_header("authorization", mockito::Matcher::Missing)
        .with_body("{}")
        .create_async()
        .await;
    let url = server.url();
    let client = HttpClient::new("sn", config(&url), Auth::Bearer(CANARY.into())).unwrap();
    client.get_json::<Value>("/bearer").await.unwrap();
    let auth = Auth::Basic {
        username: "user".into(),
        password: "pass".into(),
    };
    let client = HttpClient::new("sn", config(&url), auth).unwrap();
    client.get_json::<Value>("/basic").await.unwrap();
    let client = HttpClient::new("sn", config(&url), Auth::None).unwrap();
    client.get_json::<Value>("/none").await.unwrap();
    bearer.assert_async().await;
    basic.assert_async().await;
    none.assert_async().await;
}

#[tokio::test]
async fn unauthorized_shows_the_server_detail_not_the_token() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/risk-scenarios/")
        .with_status(401)
        .with_body(r#"{"detail":"Invalid token."}"#)
        .expect(1)
        .create_async()
        .await;
    let err = client(&server.url())
        .get_json::<Value>("/api/risk-scenarios/")
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(matches!(err, HttpError::Unauthorized { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("ca: GET /api/risk-scenarios/ was refused as unauthenticated (401): the token is missing, wrong or expired — check the variable or file named by token_env/token_file"), "{message}");
    assert!(message.contains("Invalid token."), "{message}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn secrets_echoed_by_the_server_are_redacted() {
    let mut server = mockito::Server::new_async().await;
    let echo = format!(r#"{{"detail":"bad header Token {CANARY}"}}"#);
    let _a = server
        .mock("GET", "/api/401/")
        .with_status(401)
        .with_body(&echo)
        .create_async()
        .await;
    let _b = server
        .mock("POST", "/api/400/")
        .with_status(400)
        .with_body(&echo)
        .create_async()
        .await;
    let _c = server
        .mock("GET", "/api/500/")
        .with_status(500)
        .with_body(&echo)
        .create_async()
        .await;
    let mut config = config(&server.url());
    config.max_retries = 1;
    let client = HttpClient::new("ca", config, token_auth()).unwrap();
    let errors = [
        client.get_json::<Value>("/api/401/").await.unwrap_err(),
        client
            .send(
                Method::POST,
                "/api/400/",
                Some(&json!({})),
                Retry::NotIdempotent,
            )
            .await
            .unwrap_err(),
        client.get_json::<Value>("/api/500/").await.unwrap_err(),
    ];
    for err in &errors {
        assert_no_secret(err);
        assert!(err.body().unwrap().contains("[REDACTED]"), "{err:?}");
    }
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let auths = [
        token_auth(),
        Auth::Bearer(CANARY.into()),
        Auth::Basic {
            username: "svc".into(),
            password: CANARY.into(),
        },
    ];
    for auth in auths {
        let shown = format!("{auth:?}");
        assert!(!shown.contains(CANARY), "{shown}");
        let client = HttpClient::new("ca", config("https://ciso.example.org"), auth).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains(CANARY), "{shown}");
        assert!(shown.contains("ciso.example.org"), "{shown}");
    }
}

#[tokio::test]
async fn malformed_credentials_are_refused_without_echo() {
    let auth = Auth::Token {
        scheme: "Token".into(),
        token: format!("{CANARY}\nX-Injected: 1").into(),
    };
    let err = HttpClient::new("ca", config("https://ciso.example.org"), auth).unwrap_err();
    assert!(matches!(err, HttpError::Build { .. }), "{err:?}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn credentials_in_base_url_are_refused() {
    let err = HttpClient::new(
        "ca",
        config(&format!("https://admin:{CANARY}@ciso.example.org")),
        Auth::None,
    )
    .unwrap_err();
    assert!(matches!(err, HttpError::Build { .. }), "{err:?}");
    assert_no_secret(&err);
}
