//! Time as the scheduler sees it. Everything that decides on time (next fires, missed fires,
//! lock expiry, backoff) asks a [`Clock`], so tests can run days of schedule in milliseconds.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The wall clock of the scheduler.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock for tests: it starts at a chosen time and then runs with tokio's clock, so that
/// under a paused runtime (`#[tokio::test(start_paused = true)]`) it jumps to the next timer
/// whenever every task is idle. [`FakeClock::jump`] moves it forward without waking anyone,
/// as a suspended machine or a stopped server sees time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    inner: Arc<FakeInner>,
}

#[derive(Debug)]
struct FakeInner {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
    jumped: Mutex<chrono::Duration>,
}

impl FakeClock {
    pub fn new(start: DateTime<Utc>) -> FakeClock {
        FakeClock {
            inner: Arc::new(FakeInner {
                start,
                origin: tokio::time::Instant::now(),
                jumped: Mutex::new(chrono::Duration::zero()),
            }),
        }
    }

    /// Moves the clock forward by `by` at once.
    pub fn jump(&self, by: Duration) {
        // Past a thousand years a test has made a mistake; saturate rather than overflow.
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::days(365_000));
        let mut jumped = self
            .inner
            .jumped
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *jumped += by;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        let ran = self.inner.origin.elapsed();
        let jumped = *self
            .inner
            .jumped
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        add(self.inner.start, ran)
            .checked_add_signed(jumped)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// The longest single sleep: the wall clock can jump (suspend, NTP) while tokio's monotonic
/// timer does not notice, so long waits wake up now and then to look at the clock again.
const MAX_NAP: Duration = Duration::from_secs(30);

/// Sleeps until `clock` says `deadline` has come.
pub async fn sleep_until(clock: &dyn Clock, deadline: DateTime<Utc>) {
    loop {
        let now = clock.now();
        if now >= deadline {
            return;
        }
        let left = (deadline - now).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep(left.min(MAX_NAP)).await;
    }
}

/// Sleeps for `duration` as `clock` counts it.
pub async fn sleep(clock: &dyn Clock, duration: Duration) {
    sleep_until(clock, add(clock.now(), duration)).await;
}

/// `t + d`, saturating at the end of time instead of overflowing.
pub fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
