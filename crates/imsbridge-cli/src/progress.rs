//! A progress bar that appears only on a terminal and only once work has taken a second, so
//! quick imports and piped output stay clean.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct DelayedProgress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: std::sync::atomic::AtomicBool,
}

impl DelayedProgress {
    pub fn new(quiet: bool) -> DelayedProgress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{spinner} {msg}: {human_pos} rows, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        DelayedProgress {
            bar,
            started: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    pub fn advance(&self, rows: u64) {
        self.bar.inc(rows);
        if self.enabled
            && !self.shown.load(std::sync::atomic::Ordering::Relaxed)
            && self.started.elapsed() > Duration::from_secs(1)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
            self.shown.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
