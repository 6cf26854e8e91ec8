//! The ServiceNow and Jira connectors through the `imsbridge` binary: configuration read from
//! `imsbridge.toml`, credentials from the environment, `systems check`, `sync` and a second
//! `plan` against in-memory sites served by mockito. The connectors' own crates test every
//! call and the sync engine's rules against the same kind of mock; these tests prove the
//! wiring the user touches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod connectors {
    pub mod jira;
    pub mod servicenow;
    pub mod setup;
}
