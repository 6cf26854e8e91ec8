//! A guard for link-following pagination (`next` URLs in each page), which trusts the server
//! with where to go next: it keeps the walk on the base URL's origin, stops loops, and caps
//! the number of pages.

use std::collections::HashSet;

use url::Url;

use crate::client::HttpClient;
use crate::error::{HttpError, truncate};
use crate::target::{self, RequestLine};

/// Default page cap: far above any real register (100 000 pages of 100 records), low enough
/// to end a runaway listing.
pub const DEFAULT_MAX_PAGES: u64 = 100_000;

/// Follows the `next` links of one listing.
///
/// ```no_run
/// # use imsbridge_http::{HttpClient, HttpError, LinkWalker};
/// # #[derive(serde::Deserialize)]
/// # struct Page { next: Option<String>, results: Vec<serde_json::Value> }
/// # async fn list(client: &HttpClient) -> Result<Vec<serde_json::Value>, HttpError> {
/// let first = "/api/applied-controls/?limit=100";
/// let mut walker = LinkWalker::new(client, first);
/// let mut items = Vec::new();
/// let mut page_url = Some(first.to_owned());
/// while let Some(url) = page_url {
///     let page: Page = client.get_json(&url).await?;
///     items.extend(page.results);
///     page_url = walker.advance(page.next.as_deref())?;
/// }
/// # Ok(items)
/// # }
/// ```
#[derive(Debug)]
pub struct LinkWalker {
    client: HttpClient,
    /// The page the next link comes from: relative links resolve against it. `None` when
    /// the first target was unusable (fetching it reports why).
    current: Option<Url>,
    /// Pages handed out so far, the first included.
    visited: HashSet<String>,
    pages: u64,
    max_pages: u64,
}

impl LinkWalker {
    /// Starts a walk at `first`, a target as given to [`HttpClient::send`].
    pub fn new(client: &HttpClient, first: &str) -> Self {
        let current = target::resolve(client.base_url(), first).ok();
        let visited = current.iter().map(|url| url.as_str().to_owned()).collect();
        LinkWalker {
            client: client.clone(),
            current,
            visited,
            pages: 1,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Changes the page cap (default [`DEFAULT_MAX_PAGES`]).
    pub fn with_max_pages(mut self, max_pages: u64) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Pages handed out so far, the first included.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Takes the `next` link of the page just fetched and returns the absolute URL of the next
    /// page to fetch, or `None` at the end of the listing. A relative link resolves against
    /// the current page (what it means to the server). Errors: [`HttpError::CrossOrigin`] for
    /// another origin (nothing may be sent there), [`HttpError::PaginationLoop`] for a page
    /// already fetched in this walk, [`HttpError::TooManyPages`] past the page cap.
    pub fn advance(&mut self, next: Option<&str>) -> Result<Option<String>, HttpError> {
        let Some(next) = next.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let from = self
            .current
            .clone()
            .unwrap_or_else(|| self.client.base_url().clone());
        let url = target::resolve_link(&from, next)
            .map_err(|e| self.client.target_error("GET", next, e))?;
        let system = self.client.system().to_owned();
        if !self.visited.insert(url.as_str().to_owned()) {
            return Err(HttpError::PaginationLoop {
                system,
                request: RequestLine::new("GET", &from),
                link: truncate(url.as_str(), 300),
            });
        }
        if self.pages >= self.max_pages {
            return Err(HttpError::TooManyPages {
                system,
                request: RequestLine::new("GET", &url),
                pages: self.pages,
            });
        }
        self.pages += 1;
        let link = url.as_str().to_owned();
        self.current = Some(url);
        Ok(Some(link))
    }
}
