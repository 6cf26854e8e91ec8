//! What the benchmark binaries share: how a phase measures its own process.
//!
//! ```
//! let before = imsbridge_bench::cpu_millis();
//! assert!(imsbridge_bench::cpu_millis() >= before);
//! // On Linux the peak resident set size is known; elsewhere it reads as 0.
//! let _kib = imsbridge_bench::peak_rss_kib();
//! ```

/// User and system CPU time of the whole process so far, in milliseconds, from /proc (0
/// where there is none). The times are in clock ticks, which Linux fixes at 100 a second
/// for user space.
pub fn cpu_millis() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // The command name may hold spaces; the fields after it do not.
    let Some((_, after)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    match (fields.get(11), fields.get(12)) {
        (Some(user), Some(system)) => (user + system) * 10,
        _ => 0,
    }
}

/// The process's peak resident set size (VmHWM) in KiB, from /proc; 0 where there is no /proc.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
