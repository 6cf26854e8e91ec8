//! Shared set-up of the contract tests: fast backoffs so that retries cost milliseconds.

#![allow(dead_code)]

use std::time::Duration;

use imsbridge_http::{Auth, HttpClient, HttpConfig};

pub const CANARY: &str = "canary-5ecret-7f3a91";

pub fn config(url: &str) -> HttpConfig {
    let mut config = HttpConfig::new(url.parse().unwrap());
    config.min_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(40);
    config.timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    config
}

pub fn token_auth() -> Auth {
    Auth::Token {
        scheme: "Token".into(),
        token: CANARY.into(),
    }
}

pub fn client(url: &str) -> HttpClient {
    HttpClient::new("ca", config(url), token_auth()).unwrap()
}

pub fn client_with(config: HttpConfig) -> HttpClient {
    HttpClient::new("ca", config, token_auth()).unwrap()
}

/// Fails the test if the canary secret shows in an error's Display or Debug.
pub fn assert_no_secret(err: &imsbridge_http::HttpError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(CANARY), "secret leaked: {shown}");
}
