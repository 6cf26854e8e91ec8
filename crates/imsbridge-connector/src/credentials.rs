//! Secrets named in the configuration, read once and held in `secrecy` types so that no
//! `Debug`, log line or error can show them.

use std::path::Path;

use secrecy::SecretString;

use crate::{CommonConfig, ConfigError};

/// The credentials a system entry names. Values never leave this type except through
/// `secrecy::ExposeSecret` at the moment a request is signed.
#[derive(Debug, Default)]
pub struct Credentials {
    pub token: Option<SecretString>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

/// Where a secret came from, for messages (`env CA_TOKEN`, `file /run/secrets/ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(std::path::PathBuf),
}

impl Credentials {
    /// Reads the token, user name and password the entry names, from `env` (normally
    /// [`crate::env_lookup`]) or files. A named variable that is unset, or a named file that
    /// cannot be read, is an error: a silently empty token would only fail later, less clearly.
    pub fn resolve(
        common: &CommonConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, ConfigError> {
        let system = &common.name;
        let token = read_one(
            system,
            ("token_env", common.token_env.as_deref()),
            ("token_file", common.token_file.as_deref()),
            env,
        )?;
        let username = read_one(
            system,
            ("username_env", common.username_env.as_deref()),
            ("username_file", common.username_file.as_deref()),
            env,
        )?;
        let password = read_one(
            system,
            ("password_env", common.password_env.as_deref()),
            ("password_file", common.password_file.as_deref()),
            env,
        )?;
        // A user name signs in with a password (ServiceNow basic auth) or with an API token
        // (Jira Cloud: e-mail + token); which of the two a connector takes is its own check.
        if username.is_some() && password.is_none() && token.is_none() {
            return Err(ConfigError::invalid(
                system,
                "username_env/username_file needs password_env/password_file (or, where the \
                 system signs in with a user name and an API token, token_env/token_file)",
            ));
        }
        if password.is_some() && username.is_none() {
            return Err(ConfigError::invalid(
                system,
                "password_env/password_file needs username_env/username_file: set both or neither",
            ));
        }
        Ok(Credentials {
            token: token.map(SecretString::from),
            username,
            password: password.map(SecretString::from),
        })
    }
}

fn read_one(
    system: &str,
    (env_key, env_name): (&'static str, Option<&str>),
    (file_key, file): (&'static str, Option<&Path>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (env_name, file) {
        (Some(_), Some(_)) => Err(ConfigError::invalid(
            system,
            format!("set either {env_key} or {file_key}, not both"),
        )),
        (Some(name), None) => match env(name) {
            Some(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(ConfigError::MissingEnv {
                system: system.to_string(),
                key: env_key,
                variable: name.to_string(),
            }),
        },
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                system: system.to_string(),
                key: file_key,
                path: path.to_path_buf(),
                source,
            })?;
            // The first line: files written by `echo` or secret managers end in a newline.
            let first = text.lines().next().unwrap_or_default().trim().to_string();
            if first.is_empty() {
                return Err(ConfigError::invalid(
                    system,
                    format!("{file_key} names {}, which is empty", path.display()),
                ));
            }
            Ok(Some(first))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::SystemEntry;

    fn common(text: &str) -> CommonConfig {
        SystemEntry::split(0, toml::from_str(text).unwrap())
            .unwrap()
            .common
    }

    #[test]
    fn token_from_env_is_kept_secret() {
        let c = common("name='ca'\ntype='x'\ntoken_env='CA_TOKEN'");
        let creds =
            Credentials::resolve(&c, &|n| (n == "CA_TOKEN").then(|| "canary-7f3".into())).unwrap();
        assert_eq!(creds.token.as_ref().unwrap().expose_secret(), "canary-7f3");
        assert!(!format!("{creds:?}").contains("canary-7f3"));
    }

    #[test]
    fn unset_variable_is_named_without_a_value() {
        let c = common("name='ca'\ntype='x'\ntoken_env='CA_TOKEN'");
        let err = Credentials::resolve(&c, &|_| None).unwrap_err().to_string();
        assert!(err.contains("CA_TOKEN") && err.contains("not set"), "{err}");
    }

    #[test]
    fn token_from_file_takes_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let c = common(&format!(
            "name='ca'\ntype='x'\ntoken_file='{}'",
            path.display()
        ));
        let creds = Credentials::resolve(&c, &|_| None).unwrap();
        assert_eq!(creds.token.unwrap().expose_secret(), "s3cret");
    }

    #[test]
    fn username_needs_a_password_or_a_token() {
        let c = common("name='sn'\ntype='x'\nusername_env='U'");
        let err = Credentials::resolve(&c, &|_| Some("u".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs password_env"), "{err}");

        let c = common("name='sn'\ntype='x'\npassword_env='P'");
        let err = Credentials::resolve(&c, &|_| Some("p".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs username_env"), "{err}");

        // E-mail and API token (Jira Cloud): the connector decides whether it takes them.
        let c = common("name='jira'\ntype='x'\nusername_env='U'\ntoken_env='T'");
        let creds = Credentials::resolve(&c, &|n| Some(format!("{n}-value"))).unwrap();
        assert_eq!(creds.username.as_deref(), Some("U-value"));
        assert_eq!(creds.token.unwrap().expose_secret(), "T-value");
        assert!(creds.password.is_none());
    }
}
