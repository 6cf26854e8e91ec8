//! The store, shared between the scheduler, its runs and the status endpoint. SQLite calls
//! block (on disk, or for up to the busy timeout behind another writer), so each goes to
//! tokio's blocking pool instead of stalling the tasks that keep time.

use std::sync::{Arc, Mutex, PoisonError};

use imsbridge_store::{Store, StoreError};

use crate::error::ScheduleError;

/// A store usable from async code.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    inner: Arc<Mutex<Store>>,
}

impl StoreHandle {
    pub fn new(store: Store) -> StoreHandle {
        StoreHandle {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    /// Runs `f` on the store in the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, ScheduleError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let joined = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-written transaction behind
            // (SQLite rolls it back), so a poisoned lock is still a usable store.
            let mut store = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(ScheduleError::from),
            Err(e) => Err(ScheduleError::Worker(e.to_string())),
        }
    }
}
