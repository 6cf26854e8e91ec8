use std::path::PathBuf;

use imsbridge_connector::{ConfigError, ConnectorError};
use imsbridge_import::ImportError;
use imsbridge_store::StoreError;

/// What stops a pull, plan or apply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(
        "{system}: stream `{stream}` returned the page token `{token}` twice; stopped reading to avoid a loop"
    )]
    PageLoop {
        system: String,
        stream: String,
        token: String,
    },
    #[error("{system}: unknown stream `{stream}`; it offers {offered}")]
    UnknownStream {
        system: String,
        stream: String,
        offered: String,
    },
    #[error("plan file {}: {message}", path.display())]
    PlanFile { path: PathBuf, message: String },
    #[error("the plan names the target `{target}`, which is not configured as a sync target")]
    UnknownTarget { target: String },
    #[error("writing rejects file {}: {source}", path.display())]
    Rejects {
        path: PathBuf,
        source: std::io::Error,
    },
}
