//! Request counters of a client, for the end-of-run summary.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;

/// Attempts sent by a client since it was built. Every attempt counts — retries included —
/// since that is what the vendor sees and rate-limits; `retries` says how many of them were
/// repeats, so `total - retries` is the number of requests asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// GET attempts.
    pub get: u64,
    /// POST attempts.
    pub post: u64,
    /// PATCH attempts.
    pub patch: u64,
    /// PUT attempts.
    pub put: u64,
    /// DELETE attempts.
    pub delete: u64,
    /// Attempts with any other method.
    pub other: u64,
    /// Attempts that repeated a failed one.
    pub retries: u64,
    /// All attempts.
    pub total: u64,
}

/// The live counters behind [`RequestStats`]; relaxed atomics, they are only statistics.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    get: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    other: AtomicU64,
    retries: AtomicU64,
    total: AtomicU64,
}

impl Counters {
    pub(crate) fn sent(&self, method: &Method) {
        let counter = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PATCH => &self.patch,
            Method::PUT => &self.put,
            Method::DELETE => &self.delete,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RequestStats {
        RequestStats {
            get: self.get.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            patch: self.patch.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }
}
