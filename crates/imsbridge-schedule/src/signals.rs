//! Unix signals for a server run as a service: SIGTERM and SIGINT (Ctrl-C) shut down
//! gracefully, a second one exits at once; SIGHUP reloads the configuration.

use crate::server::Control;

/// Listens for the signals until the process ends; `on_second_stop` is called when a stop
/// signal arrives while a graceful shutdown is already under way (the CLI exits there).
#[cfg(unix)]
pub fn listen(
    control: Control,
    on_second_stop: impl Fn() + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};

    // Registered before returning, so that a signal sent right after start is not lost to
    // the default action (which would kill the process).
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        loop {
            let which = tokio::select! {
                Some(()) = term.recv() => "SIGTERM",
                Some(()) = int.recv() => "SIGINT",
                Some(()) = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    control.reload();
                    continue;
                }
                else => return,
            };
            if control.is_shutting_down() {
                tracing::warn!(signal = which, "second stop signal: exiting at once");
                on_second_stop();
            } else {
                tracing::info!(
                    signal = which,
                    "stop signal: finishing the running runs, starting no new ones"
                );
                control.shutdown();
            }
        }
    }))
}

/// Ctrl-C only, where there are no Unix signals.
#[cfg(not(unix))]
pub fn listen(
    control: Control,
    on_second_stop: impl Fn() + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    Ok(tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if control.is_shutting_down() {
                on_second_stop();
            } else {
                control.shutdown();
            }
        }
    }))
}
