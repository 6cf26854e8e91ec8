//! Decoding answers: errors name the JSON path; odd but valid answers decode.

#![allow(clippy::unwrap_used)]

mod common;

use common::client;
use imsbridge_http::{HttpError, Method, Retry};
use serde::Deserialize;

/// The fields are only decoded, never read: the tests are about decoding.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Page {
    next: Option<String>,
    results: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    id: u64,
}

#[tokio::test]
async fn wrong_type_names_the_json_path() {
    let mut server = mockito::Server::new_async().await;
    let _m = server
        .mock("GET", "/api/x/?limit=2")
        .with_body(r#"{"next":null,"results":[{"id":1},{"id":"two"}]}"#)
        .create_async()
        .await;
    let err = client(&server.url())
        .get_json::<Page>("/api/x/?limit=2")
        .await
        .unwrap_err();
    match &err {
        HttpError::Decode { path, request, .. } => {
            assert_eq!(path, "results[1].id");
            assert_eq!(request.to_string(), "GET /api/x/?limit=2");
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(message.starts_with("ca: the answer to GET /api/x/?limit=2 is not the expected JSON at `results[1].id`: invalid type"), "{message}");
}

#[tokio::test]
async fn malformed_json_names_the_json_path() {
    let mut server = mockito::Server::new_async().await;
    let _m = server
        .mock("GET", "/api/x/")
        .with_body(r#"{"next":null,"results":[{"id":1},{"id":2,}]}"#)
        .create_async()
        .await;
    let err = client(&server.url())
        .get_json::<Page>("/api/x/")
        .await
        .unwrap_err();
    match &err {
        HttpError::Decode { path, message, .. } => {
            assert_eq!(path, "results[1]");
            assert!(message.contains("line 1 column"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn truncated_json_and_trailing_garbage_are_decode_errors() {
    let mut server = mockito::Server::new_async().await;
    let _a = server
        .mock("GET", "/api/cut/")
        .with_body(r#"{"next":null,"results":[{"id":1},{"id":"#)
        .create_async()
        .await;
    let _b = server
        .mock("GET", "/api/trailing/")
        .with_body(r#"{"next":null,"results":[]} x"#)
        .create_async()
        .await;
    let client = client(&server.url());
    let err = client.get_json::<Page>("/api/cut/").await.unwrap_err();
    assert!(
        matches!(&err, HttpError::Decode { path, .. } if path == "results[1].id"),
        "{err:?}"
    );
    let err = client.get_json::<Page>("/api/trailing/").await.unwrap_err();
    assert!(
        matches!(&err, HttpError::Decode { message, .. } if message.contains("trailing")),
        "{err:?}"
    );
}

#[tokio::test]
async fn html_instead_of_json_says_so() {
    let mut server = mockito::Server::new_async().await;
    let _m = server
        .mock("GET", "/api/x/")
        .with_body("<!DOCTYPE html><html><title>Sign in</title></html>")
        .create_async()
        .await;
    let err = client(&server.url())
        .get_json::<Page>("/api/x/")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTML page"), "{err}");
}

#[tokio::test]
async fn empty_answers_decode_as_null() {
    let mut server = mockito::Server::new_async().await;
    let _m = server
        .mock("DELETE", "/api/x/1/")
        .with_status(204)
        .create_async()
        .await;
    let client = client(&server.url());
    let response = client
        .send(Method::DELETE, "/api/x/1/", None, Retry::Idempotent)
        .await
        .unwrap();
    assert_eq!(response.status, 204);
    response.json::<()>().unwrap();
    assert_eq!(response.json::<Option<Item>>().unwrap().map(|i| i.id), None);
    assert_eq!(client.stats().delete, 1);
}
