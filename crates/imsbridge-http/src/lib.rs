//! Shared HTTP plumbing of the HTTP connectors (CISO Assistant, ServiceNow, Jira): retries
//! that never duplicate a create, rate and concurrency limits, a pagination guard, and
//! credentials that stay out of errors, logs and `Debug` output.
//!
//! ```no_run
//! use imsbridge_http::{Auth, HttpClient, HttpConfig, LinkWalker, Retry};
//! use secrecy::SecretString;
//!
//! #[derive(serde::Deserialize)]
//! struct Page {
//!     next: Option<String>,
//!     results: Vec<serde_json::Value>,
//! }
//!
//! # async fn run(token: String) -> Result<(), Box<dyn std::error::Error>> {
//! let config = HttpConfig::new("https://ciso.example.org".parse()?);
//! let auth = Auth::Token { scheme: "Token".into(), token: SecretString::from(token) };
//! let client = HttpClient::new("ca", config, auth)?;
//!
//! // Read every page of a listing; the walker refuses loops and foreign links.
//! let first = "/api/risk-scenarios/?limit=100";
//! let mut walker = LinkWalker::new(&client, first);
//! let mut page_url = Some(first.to_owned());
//! while let Some(url) = page_url {
//!     let page: Page = client.get_json(&url).await?;
//!     println!("{} records", page.results.len());
//!     page_url = walker.advance(page.next.as_deref())?;
//! }
//!
//! // A create is not idempotent: it is retried only when the server surely did not process it.
//! let body = serde_json::json!({ "name": "Supplier outage" });
//! let created: serde_json::Value = client
//!     .send_json(reqwest::Method::POST, "/api/risk-scenarios/", &body, Retry::NotIdempotent)
//!     .await?;
//! println!("{created}  ({:?})", client.stats());
//! # Ok(())
//! # }
//! ```
//!
//! Map of the crate:
//! - [`config`]: [`HttpConfig`], the settings and their defaults.
//! - [`auth`]: [`Auth`], the credentials, and how they are kept secret.
//! - [`client`]: [`HttpClient`] and its request loop, [`HttpResponse`].
//! - [`retry`]: [`Retry`] and the decision of which failures to repeat, and why.
//! - [`target`]: [`RequestLine`], resolving targets, the same-origin rule.
//! - [`paging`]: [`LinkWalker`], the pagination guard.
//! - [`error`]: [`HttpError`], messages that say what to do.
//! - [`stats`]: [`RequestStats`], attempts sent per method.

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod paging;
pub mod retry;
pub mod stats;
pub mod target;

pub use auth::Auth;
pub use client::{HttpClient, HttpResponse};
pub use config::HttpConfig;
pub use error::HttpError;
pub use paging::{DEFAULT_MAX_PAGES, LinkWalker};
pub use reqwest::Method;
pub use retry::Retry;
pub use stats::RequestStats;
pub use target::RequestLine;
