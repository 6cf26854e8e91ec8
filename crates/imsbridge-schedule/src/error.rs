//! What can go wrong, each message saying where and what to do about it.

use std::net::SocketAddr;

use imsbridge_store::{RunCounts, StoreError};
use thiserror::Error;

/// A `[[schedule]]` entry that cannot be used. `path` names the key the way the configuration
/// file spells it (`schedule[0] (nightly-ai-risks).cron`), so the message leads to the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Why the server or its status endpoint could not do its work.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScheduleError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(
        "refusing to serve the status endpoint on {addr}: it is not a loopback address and the \
         endpoint has no authentication; listen on 127.0.0.1 (or ::1) and put a proxy in front, \
         or pass --listen-public to expose it anyway"
    )]
    NotLoopback { addr: SocketAddr },

    #[error(
        "cannot listen on {addr}: {source} (is another imsbridge serve using the port? choose \
         another with --listen, or port 0 for any free one)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },

    /// A store call could not complete because the thread running it died.
    #[error("the store worker stopped unexpectedly: {0}")]
    Worker(String),
}

/// How an action ended when it did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionErrorKind {
    /// Failed; another attempt may succeed (network, a locked store, a remote outage).
    Failed,
    /// Failed in a way no retry can fix (the action is not available, the configuration is
    /// wrong): the run fails at once.
    Permanent,
    /// Stopped at a checkpoint because the server is shutting down.
    Cancelled,
}

/// The error an [`crate::Actions`] implementation returns, with what the run did before it
/// stopped. Its message goes into the run history: it must never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ActionError {
    pub kind: ActionErrorKind,
    pub message: String,
    pub counts: RunCounts,
}

impl ActionError {
    pub fn failed(message: impl Into<String>) -> ActionError {
        ActionError::new(ActionErrorKind::Failed, message)
    }

    pub fn permanent(message: impl Into<String>) -> ActionError {
        ActionError::new(ActionErrorKind::Permanent, message)
    }

    pub fn cancelled(message: impl Into<String>) -> ActionError {
        ActionError::new(ActionErrorKind::Cancelled, message)
    }

    fn new(kind: ActionErrorKind, message: impl Into<String>) -> ActionError {
        ActionError {
            kind,
            message: message.into(),
            counts: RunCounts::default(),
        }
    }

    /// What the action did before it stopped.
    pub fn with_counts(mut self, counts: RunCounts) -> ActionError {
        self.counts = counts;
        self
    }
}
