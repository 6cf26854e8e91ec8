//! LinkWalker: following `next` links safely.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_no_secret, client};
use imsbridge_http::{HttpClient, HttpError, LinkWalker};
use serde::Deserialize;

#[derive(Deserialize)]
struct Page {
    next: Option<String>,
    results: Vec<u32>,
}

async fn walk(client: &HttpClient, first: &str) -> Result<Vec<u32>, HttpError> {
    let mut walker = LinkWalker::new(client, first);
    let mut items = Vec::new();
    let mut url = Some(first.to_owned());
    while let Some(target) = url {
        let page: Page = client.get_json(&target).await?;
        items.extend(page.results);
        url = walker.advance(page.next.as_deref())?;
    }
    Ok(items)
}

#[tokio::test]
async fn relative_and_absolute_next_links_are_followed() {
    let mut server = mockito::Server::new_async().await;
    let base = server.url();
    let pages = [
        (
            "/api/x/?limit=2",
            r#"{"next":"?limit=2&offset=2","results":[1,2]}"#.to_owned(),
        ),
        (
            "/api/x/?limit=2&offset=2",
            r#"{"next":"/api/x/?limit=2&offset=4","results":[3,4]}"#.to_owned(),
        ),
        (
            "/api/x/?limit=2&offset=4",
            format!(r#"{{"next":"{base}/api/x/?limit=2&offset=6","results":[5,6]}}"#),
        ),
        (
            "/api/x/?limit=2&offset=6",
            r#"{"next":null,"results":[7]}"#.to_owned(),
        ),
    ];
    let mut mocks = Vec::new();
    for (path, body) in pages {
        mocks.push(
            server
                .mock("GET", path)
                .with_body(body)
                .expect(1)
                .create_async()
                .await,
        );
    }
    let items = walk(&client(&base), "/api/x/?limit=2").await.unwrap();
    assert_eq!(items, [1, 2, 3, 4, 5, 6, 7]);
    for mock in &mocks {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn a_loop_back_to_the_first_page_is_detected() {
    let mut server = mockito::Server::new_async().await;
    let _p1 = server
        .mock("GET", "/api/x/")
        .with_body(r#"{"next":"/api/x/?page=2","results":[1]}"#)
        .expect(1)
        .create_async()
        .await;
    let _p2 = server
        .mock("GET", "/api/x/?page=2")
        .with_body(r#"{"next":"/api/x/","results":[2]}"#)
        .expect(1)
        .create_async()
        .await;
    let err = walk(&client(&server.url()), "/api/x/").await.unwrap_err();
    match &err {
        HttpError::PaginationLoop { link, request, .. } => {
            assert!(link.ends_with("/api/x/"), "{link}");
            assert_eq!(request.to_string(), "GET /api/x/?page=2");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("pagination loop"), "{err}");
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    let mut server = mockito::Server::new_async().await;
    let mut evil = mockito::Server::new_async().await;
    let stolen = evil
        .mock("GET", mockito::Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let _p1 = server
        .mock("GET", "/api/x/")
        .with_body(format!(
            r#"{{"next":"{}/api/x/?page=2","results":[1]}}"#,
            evil.url()
        ))
        .create_async()
        .await;
    let client = client(&server.url());
    let err = walk(&client, "/api/x/").await.unwrap_err();
    assert!(matches!(err, HttpError::CrossOrigin { .. }), "{err:?}");
    assert_no_secret(&err);
    stolen.assert_async().await;

    // The brief's literal case, without a listening server.
    let mut walker = LinkWalker::new(&client, "/api/x/");
    let err = walker
        .advance(Some("http://evil.example:1/api/x/?page=2"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("http://evil.example:1/api/x/?page=2"),
        "{err}"
    );
    assert_eq!(client.stats().total, 1);
}

#[tokio::test]
async fn the_page_cap_stops_a_runaway_listing() {
    let client = client("https://ciso.example.org");
    let mut walker = LinkWalker::new(&client, "/api/x/?page=1").with_max_pages(3);
    assert_eq!(walker.advance(None).unwrap(), None);
    assert_eq!(
        walker.advance(Some("?page=2")).unwrap().as_deref(),
        Some("https://ciso.example.org/api/x/?page=2")
    );
    walker.advance(Some("?page=3")).unwrap();
    let err = walker.advance(Some("?page=4")).unwrap_err();
    assert!(
        matches!(err, HttpError::TooManyPages { pages: 3, .. }),
        "{err:?}"
    );
}
