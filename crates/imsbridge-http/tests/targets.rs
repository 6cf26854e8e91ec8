//! Where requests go: base paths, absolute URLs, other origins, redirects.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_no_secret, client, config, token_auth};
use imsbridge_http::{HttpClient, HttpError, Method, Retry};
use serde_json::Value;

#[tokio::test]
async fn targets_are_relative_to_the_base_path() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/jira/rest/api/2/issue/A-1?fields=summary")
        .with_body("{}")
        .create_async()
        .await;
    let base = format!("{}/jira", server.url());
    let client = HttpClient::new("jira", config(&base), token_auth()).unwrap();
    assert!(client.base_url().as_str().ends_with("/jira/"));
    client
        .get_json::<Value>("/rest/api/2/issue/A-1?fields=summary")
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn absolute_urls_of_the_same_origin_are_accepted() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/x/?page=2")
        .with_body("{}")
        .create_async()
        .await;
    let url = server.url();
    client(&url)
        .get_json::<Value>(&format!("{url}/api/x/?page=2"))
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn other_origins_are_refused_and_nothing_is_sent() {
    let server = mockito::Server::new_async().await;
    let mut evil = mockito::Server::new_async().await;
    let stolen = evil
        .mock("GET", mockito::Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = client(&server.url());
    let err = client
        .send(
            Method::GET,
            &format!("{}/collect", evil.url()),
            None,
            Retry::Idempotent,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::CrossOrigin { .. }), "{err:?}");
    assert!(err.to_string().contains("/collect"), "{err}");
    assert_no_secret(&err);
    let err = client
        .get_json::<Value>("//evil.example/x")
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::CrossOrigin { .. }), "{err:?}");
    assert_eq!(client.stats().total, 0);
    stolen.assert_async().await;
}

#[tokio::test]
async fn same_origin_redirects_are_followed_others_are_not() {
    let mut server = mockito::Server::new_async().await;
    let mut evil = mockito::Server::new_async().await;
    let stolen = evil
        .mock("GET", mockito::Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let _moved = server
        .mock("GET", "/api/x")
        .with_status(301)
        .with_header("Location", "/api/x/")
        .create_async()
        .await;
    let _away = server
        .mock("GET", "/api/away/")
        .with_status(302)
        .with_header("Location", &format!("{}/api/away/", evil.url()))
        .create_async()
        .await;
    let target = server
        .mock("GET", "/api/x/")
        .match_header("authorization", mockito::Matcher::Regex("^Token ".into()))
        .with_body("{}")
        .create_async()
        .await;
    let client = client(&server.url());
    client.get_json::<Value>("/api/x").await.unwrap();
    target.assert_async().await;
    let err = client.get_json::<Value>("/api/away/").await.unwrap_err();
    assert!(
        matches!(err, HttpError::Redirected { status: 302, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&evil.url()), "{err}");
    stolen.assert_async().await;
}
