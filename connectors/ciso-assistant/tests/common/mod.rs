//! Fixture loading and mock-server helpers for the contract tests. The fixtures are real
//! captures of a CISO Assistant server, kept in the shared folder next to the repository.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use imsbridge_connector::{Credentials, SystemEntry};
use imsbridge_connector_ciso_assistant::CisoAssistant;
use mockito::{Matcher, Mock, Server};
use serde_json::Value;

/// The token the connector under test sends.
pub const TOKEN: &str = "test-token-7f3a9c";

/// Ids from the fixtures.
pub const ASSESSMENT: &str = "229498b5-131d-4aca-80e8-adc3a7900f9f";
pub const MATRIX: &str = "5a159c01-92d3-4084-add5-1d0dac0d027b";
pub const FOLDER: &str = "cf10de1e-d9dd-4976-b57d-952563062565";
pub const PERIMETER: &str = "57e39c8d-7170-457a-b22b-f2cef5871339";
pub const ACTOR: &str = "87ca52f5-5978-4a77-9e37-cc8b62851f81";

/// Where the fixtures are: `$IMSBRIDGE_SHARED_DIR/fixtures/ciso-assistant` when the variable
/// is set, else the first `shared/fixtures/ciso-assistant` found beside `start` or one of its
/// ancestors (the shared folder is a sibling of the repository).
pub fn find_fixtures(start: &Path, env: Option<&str>) -> Result<PathBuf, String> {
    if let Some(shared) = env {
        let dir = Path::new(shared).join("fixtures/ciso-assistant");
        return if dir.is_dir() {
            Ok(dir)
        } else {
            Err(format!(
                "IMSBRIDGE_SHARED_DIR={shared} has no fixtures/ciso-assistant folder ({} is missing)",
                dir.display()
            ))
        };
    }
    for dir in start.ancestors() {
        let candidate = dir.join("shared/fixtures/ciso-assistant");
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no shared/fixtures/ciso-assistant folder beside {} or any folder above it; set \
         IMSBRIDGE_SHARED_DIR to the shared folder (the one holding fixtures/ciso-assistant)",
        start.display()
    ))
}

/// The fixture folder; a missing folder fails the test (the contract must not pass silently).
pub fn fixtures_dir() -> PathBuf {
    let env = std::env::var("IMSBRIDGE_SHARED_DIR").ok();
    match find_fixtures(Path::new(env!("CARGO_MANIFEST_DIR")), env.as_deref()) {
        Ok(dir) => dir,
        Err(message) => panic!("CISO Assistant fixtures not found: {message}"),
    }
}

/// One recorded request/response pair.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub method: String,
    /// Path and query as recorded.
    pub path: String,
    pub request_headers: Value,
    pub request_body: Value,
    pub status: usize,
    pub body: Value,
}

impl Fixture {
    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap()
    }
}

pub fn fixture(name: &str) -> Fixture {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} cannot be read: {e}", path.display()));
    let json: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()));
    Fixture {
        method: json["request"]["method"].as_str().unwrap().to_string(),
        path: json["request"]["path"].as_str().unwrap().to_string(),
        request_headers: json["request"]["headers"].clone(),
        request_body: json["request"]["body"].clone(),
        status: json["response"]["status"].as_u64().unwrap() as usize,
        body: json["response"]["body"].clone(),
    }
}

/// A connector for `server` with these extra `[[system]]` keys.
pub fn connector(server: &Server, extra: &str) -> CisoAssistant {
    let text = format!(
        "name = 'ca'\ntype = 'ciso-assistant'\nbase_url = '{}'\ntoken_env = 'CA_TOKEN'\n{extra}",
        server.url()
    );
    let entry = SystemEntry::split(0, toml::from_str(&text).unwrap()).unwrap();
    let credentials = Credentials {
        token: Some(TOKEN.into()),
        ..Credentials::default()
    };
    CisoAssistant::from_entry(&entry, credentials).unwrap()
}

/// The configuration naming the fixtures' demo containers by name.
pub const DEMO: &str =
    "folder = 'AI Bridge Demo'\nperimeter = 'AI Platform'\nrisk_assessment = 'AI risk register'\n";

/// The `Authorization` header every request must carry.
pub fn auth() -> String {
    format!("Token {TOKEN}")
}

/// A mock answering `method path` (any query unless `query` says) with `status` and `body`,
/// for requests carrying the token.
pub async fn serve(
    server: &mut Server,
    method: &str,
    path: &str,
    query: Matcher,
    status: usize,
    body: &Value,
) -> Mock {
    server
        .mock(method, path)
        .match_query(query)
        .match_header("authorization", auth().as_str())
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create_async()
        .await
}

/// Serves a fixture's answer at its recorded path (any query).
pub async fn serve_fixture(server: &mut Server, name: &str) -> Mock {
    let f = fixture(name);
    serve(
        server,
        &f.method,
        f.path_only(),
        Matcher::Any,
        f.status,
        &f.body,
    )
    .await
}

/// The matrix of the demo assessment, served by id (the item of the matrices list: the detail
/// answer has the same shape).
pub async fn serve_matrix(server: &mut Server) -> Mock {
    let list = fixture("risk-matrices-list.json");
    serve(
        server,
        "GET",
        &format!("/api/risk-matrices/{MATRIX}/"),
        Matcher::Any,
        200,
        &list.body["results"][0],
    )
    .await
}

/// Everything resolving the demo folder, perimeter and assessment by name needs.
pub async fn serve_containers(server: &mut Server) -> Vec<Mock> {
    vec![
        serve_fixture(server, "folders-list.json").await,
        serve_fixture(server, "perimeters-list.json").await,
        serve_fixture(server, "risk-assessments-list.json").await,
        serve_matrix(server).await,
    ]
}

/// `key=value` in the query.
pub fn q(key: &str, value: &str) -> Matcher {
    Matcher::UrlEncoded(key.into(), value.into())
}
