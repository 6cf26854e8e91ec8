//! Where a request goes: resolving targets against the base URL, and the same-origin rule
//! that keeps credentials from reaching another host.

use std::fmt;

use url::Url;

/// The method and path+query of a request, as shown in errors and logs. Never contains the
/// scheme, host, credentials or a fragment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestLine {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, e.g. `/api/risk-scenarios/?limit=2`.
    pub target: String,
}

impl RequestLine {
    /// The line of a request to `url`.
    pub fn new(method: &str, url: &Url) -> Self {
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        RequestLine {
            method: method.to_owned(),
            target,
        }
    }

    /// The line of a request whose URL could not be understood: the raw text, shortened.
    pub(crate) fn raw(method: &str, target: &str) -> Self {
        RequestLine {
            method: method.to_owned(),
            target: crate::error::truncate(target, 200),
        }
    }
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.target)
    }
}

/// Why a target cannot be requested.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TargetError {
    /// Not a URL or path at all.
    Invalid(String),
    /// Another scheme, host or port than the base URL: the sanitized absolute URL.
    CrossOrigin(Url),
}

/// Checks and normalises a configured base URL: http(s) only, no credentials in it (they
/// would be sent as Basic auth and printed in messages), and a trailing slash so that
/// relative targets land under its path.
pub(crate) fn normalise_base(base: &Url) -> Result<Url, String> {
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "base_url must start with https:// or http://, not {}:",
            base.scheme()
        ));
    }
    if base.host_str().is_none() {
        return Err("base_url has no host".to_owned());
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(
            "base_url must not contain a user name or password; configure credentials through the \
             auth settings instead"
                .to_owned(),
        );
    }
    let mut base = base.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// Resolves a target given by a connector: `/path?query` is appended to the base URL's path
/// (so `https://host/jira` + `/rest/api/2/issue` keeps `/jira`), an absolute URL is used as
/// is, anything else is resolved per RFC 3986. The result must have the base's origin.
pub(crate) fn resolve(base: &Url, target: &str) -> Result<Url, TargetError> {
    let url = if target.starts_with('/') && !target.starts_with("//") {
        let prefix = base.path().trim_end_matches('/');
        base.join(&format!("{prefix}{target}"))
    } else {
        base.join(target)
    }
    .map_err(|e| TargetError::Invalid(e.to_string()))?;
    same_origin(base, url)
}

/// Resolves a link found in a response (a `next` page) per RFC 3986 against the URL of the
/// page it came from — that is what a relative link means to the server that wrote it.
pub(crate) fn resolve_link(page: &Url, link: &str) -> Result<Url, TargetError> {
    let url = page
        .join(link)
        .map_err(|e| TargetError::Invalid(e.to_string()))?;
    same_origin(page, url)
}

/// Refuses another origin (scheme, host, port — `https://h` and `https://h:443` are the same
/// origin). The `Authorization` header goes with every request, so a link pointing
/// elsewhere — a compromised or misconfigured server, `http://` next links behind a TLS
/// proxy — must never be followed, not even once.
fn same_origin(base: &Url, mut url: Url) -> Result<Url, TargetError> {
    // Credentials in a URL would be sent as Basic auth and shown in messages: drop them.
    // Infallible for http(s) URLs, which are the only ones that pass the origin check.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.origin() == base.origin() && url.origin().is_tuple() {
        Ok(url)
    } else {
        Err(TargetError::CrossOrigin(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn relative_targets_keep_the_base_path() {
        let base = normalise_base(&url("https://h.example/jira")).unwrap();
        assert_eq!(base.as_str(), "https://h.example/jira/");
        let got = resolve(&base, "/rest/api/2/search?jql=a%3Db");
        assert_eq!(
            got.map(String::from),
            Ok("https://h.example/jira/rest/api/2/search?jql=a%3Db".to_owned())
        );
        let got = resolve(&base, "rest/api/2/issue");
        assert_eq!(
            got.map(String::from),
            Ok("https://h.example/jira/rest/api/2/issue".to_owned())
        );
    }

    #[test]
    fn absolute_targets_must_share_the_origin() {
        let base = url("https://h.example/");
        assert!(resolve(&base, "https://h.example:443/api/x/?page=2").is_ok());
        for other in [
            "http://h.example/api/x/",
            "https://h.example:8443/api/x/",
            "https://evil.example/api/x/",
            "//evil.example/api/x/",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(resolve(&base, other), Err(TargetError::CrossOrigin(_))),
                "{other}"
            );
        }
    }

    #[test]
    fn credentials_and_fragments_are_dropped() {
        let base = url("https://h.example/");
        let got = resolve(&base, "https://u:p@h.example/x?y=1#frag");
        assert_eq!(
            got.map(String::from),
            Ok("https://h.example/x?y=1".to_owned())
        );
        assert!(normalise_base(&url("https://u:p@h.example/")).is_err());
        assert!(normalise_base(&url("ftp://h.example/")).is_err());
    }

    #[test]
    fn request_line_shows_path_and_query_only() {
        let line = RequestLine::new("GET", &url("https://h.example/api/x/?limit=2#f"));
        assert_eq!(line.to_string(), "GET /api/x/?limit=2");
    }

    #[test]
    fn links_resolve_against_the_page() {
        let page = url("https://h.example/api/x/?page=1");
        let got = resolve_link(&page, "?page=2").map(String::from);
        assert_eq!(got, Ok("https://h.example/api/x/?page=2".to_owned()));
        let got = resolve_link(&page, "/api/x/?page=3").map(String::from);
        assert_eq!(got, Ok("https://h.example/api/x/?page=3".to_owned()));
    }
}
