//! Credentials: how they are sent, and how they are kept out of errors, logs and `Debug`.

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// How a client authenticates. Secrets are [`SecretString`]s, so `Debug` prints
/// `[REDACTED]` in their place; the username of `Basic` is not a secret and is shown.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// `Authorization: <scheme> <token>`, e.g. `Token <t>` for CISO Assistant (Django REST
    /// framework's token authentication).
    Token {
        /// The word in front of the token, e.g. `Token`.
        scheme: String,
        /// The token itself.
        token: SecretString,
    },
    /// `Authorization: Bearer <token>` (OAuth access tokens, Jira personal access tokens).
    Bearer(SecretString),
    /// `Authorization: Basic base64(username:password)` (ServiceNow, Jira Cloud API tokens).
    Basic {
        /// The account name.
        username: String,
        /// Its password or API token.
        password: SecretString,
    },
}

impl Auth {
    /// A short name of the method, for logs and `Debug` of the client.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Token { .. } => "token",
            Auth::Bearer(_) => "bearer",
            Auth::Basic { .. } => "basic",
        }
    }
}

/// The ready-made `Authorization` header of a client and the strings that must never leave
/// it. Built once, so a malformed token is reported when the client is built, not per request.
pub(crate) struct Credentials {
    /// Marked sensitive, so `http`'s own `Debug` prints `Sensitive` instead of the value.
    header: Option<HeaderValue>,
    /// Every form in which a secret could appear in a server's answer: the raw token or
    /// password, the whole header value and its base64 part. A server echoing the header
    /// back in an error body must not smuggle it into our error messages.
    secrets: Vec<SecretString>,
}

impl Credentials {
    /// Prepares the header; the error message never contains the secret.
    pub(crate) fn new(auth: &Auth) -> Result<Self, String> {
        let mut secrets = Vec::new();
        let value = match auth {
            Auth::None => {
                return Ok(Credentials {
                    header: None,
                    secrets,
                });
            }
            Auth::Token { scheme, token } => {
                let scheme = scheme.trim();
                if scheme.is_empty() || scheme.contains(char::is_whitespace) {
                    return Err(format!(
                        "the authentication scheme {scheme:?} must be a single word such as \"Token\""
                    ));
                }
                // Token files usually end with a newline; a token never has surrounding blanks.
                let token = token.expose_secret().trim();
                if token.is_empty() {
                    return Err("the token is empty: check the variable or file named by \
                                token_env/token_file"
                        .to_owned());
                }
                secrets.push(SecretString::from(token));
                format!("{scheme} {token}")
            }
            Auth::Bearer(token) => {
                let token = token.expose_secret().trim();
                if token.is_empty() {
                    return Err(
                        "the bearer token is empty: check the variable or file named \
                                by token_env/token_file"
                            .to_owned(),
                    );
                }
                secrets.push(SecretString::from(token));
                format!("Bearer {token}")
            }
            Auth::Basic { username, password } => {
                // RFC 7617: the user-id cannot contain a colon, the server would split there.
                if username.contains(':') {
                    return Err(format!(
                        "the username {username:?} contains ':', which Basic authentication cannot carry"
                    ));
                }
                let password = password.expose_secret();
                if !password.is_empty() {
                    secrets.push(SecretString::from(password));
                }
                let encoded = base64(format!("{username}:{password}").as_bytes());
                secrets.push(SecretString::from(encoded.as_str()));
                format!("Basic {encoded}")
            }
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            "the credentials contain characters that cannot be sent in an HTTP header \
             (a control character such as a line break inside the token or password?)"
                .to_owned()
        })?;
        header.set_sensitive(true);
        secrets.push(SecretString::from(value));
        Ok(Credentials {
            header: Some(header),
            secrets,
        })
    }

    /// Adds the `Authorization` header to one attempt.
    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.header {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value.clone()),
            None => request,
        }
    }

    /// Replaces every occurrence of a secret in text that is about to go into an error.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        // Longest first: the whole header value contains the token.
        let mut secrets: Vec<&str> = self.secrets.iter().map(|s| s.expose_secret()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            if !secret.is_empty() && text.contains(secret) {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

/// Standard base64 with padding (RFC 4648), enough for a Basic header; not worth a crate.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("user:pass", "dXNlcjpwYXNz"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let auths = [
            Auth::Token {
                scheme: "Token".into(),
                token: "canary-7f3a".into(),
            },
            Auth::Bearer("canary-7f3a".into()),
            Auth::Basic {
                username: "svc".into(),
                password: "canary-7f3a".into(),
            },
        ];
        for auth in auths {
            let shown = format!("{auth:?}");
            assert!(!shown.contains("canary"), "{shown}");
        }
    }

    #[test]
    fn token_is_trimmed_and_redacted() -> Result<(), String> {
        let creds = Credentials::new(&Auth::Token {
            scheme: "Token".into(),
            token: "abc123\n".into(),
        })?;
        let header = creds.header.as_ref().unwrap().to_str().unwrap();
        assert_eq!(header, "Token abc123");
        assert_eq!(
            creds.redact("bad header 'Token abc123', token abc123"),
            "bad header '[REDACTED]', token [REDACTED]"
        );
        Ok(())
    }

    #[test]
    fn basic_redacts_encoded_form() -> Result<(), String> {
        let creds = Credentials::new(&Auth::Basic {
            username: "user".into(),
            password: "pass".into(),
        })?;
        assert_eq!(creds.redact("got dXNlcjpwYXNz"), "got [REDACTED]");
        Ok(())
    }

    #[test]
    fn malformed_credentials_are_refused_without_echo() {
        let err = Credentials::new(&Auth::Bearer("line1\nline2-canary".into()))
            .err()
            .unwrap_or_default();
        assert!(err.contains("line break"), "{err}");
        assert!(!err.contains("canary"), "{err}");
        assert!(Credentials::new(&Auth::Bearer("  ".into())).is_err());
        assert!(
            Credentials::new(&Auth::Basic {
                username: "a:b".into(),
                password: "x".into()
            })
            .is_err()
        );
    }
}
