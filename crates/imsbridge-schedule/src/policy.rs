//! When to run: the decision between running a fire, skipping missed ones and waiting, as a
//! pure function of the schedule, the last handled fire and the time.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{MissedPolicy, Schedule};

/// What a schedule should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run for `fire`. `missed` earlier fires since the last handled one are covered by it.
    Run { fire: DateTime<Utc>, missed: u64 },
    /// Drop the `missed` fires up to and including `fire` (the `skip` policy).
    Skip { fire: DateTime<Utc>, missed: u64 },
    /// Nothing is due before `until`.
    Wait { until: DateTime<Utc> },
    /// The pattern fires no more.
    Never,
}

/// Decides for `schedule` at `now`, given the newest fire already handled (`last`) and the
/// fire the server was waiting for, if it was waiting (`awaiting`; `None` right after start
/// or after a run).
///
/// A due fire is *on time* when the server was waiting for it and woke within `grace` of
/// it: it runs whatever the policy. Fires that passed while the server was down, or while
/// the schedule's previous run was still going, are *missed*: `run-once` runs once for all
/// of them, `skip` drops them and waits for the next.
pub fn decide(
    schedule: &Schedule,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
    awaiting: Option<DateTime<Utc>>,
    grace: Duration,
) -> Decision {
    if let Some(latest) = schedule.latest_at_or_before(now).filter(|f| *f > last) {
        let due = schedule.fires_between(last, latest).max(1);
        let late = (now - latest).to_std().unwrap_or(Duration::ZERO);
        let on_time = awaiting.is_some_and(|a| a <= latest) && late <= grace;
        return if on_time {
            Decision::Run {
                fire: latest,
                missed: due - 1,
            }
        } else {
            match schedule.config.missed {
                MissedPolicy::RunOnce => Decision::Run {
                    fire: latest,
                    missed: due,
                },
                MissedPolicy::Skip => Decision::Skip {
                    fire: latest,
                    missed: due,
                },
            }
        };
    }
    match schedule.next_after(now.max(last)) {
        Some(until) => Decision::Wait { until },
        None => Decision::Never,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::config::{KnownSystems, Schedules};

    const GRACE: Duration = Duration::from_secs(60);

    fn daily(missed: &str) -> Schedule {
        Schedules::from_values(
            vec![json!({"name": "d", "cron": "0 2 * * *", "action": "pull", "missed": missed})],
            &KnownSystems::default(),
            Path::new("."),
        )
        .unwrap()
        .into_vec()
        .remove(0)
    }

    fn day(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, d, h, m, 0).unwrap()
    }

    #[test]
    fn waits_for_the_next_fire_then_runs_it_on_time() {
        let s = daily("skip");
        assert_eq!(
            decide(&s, day(1, 2, 0), day(1, 9, 0), None, GRACE),
            Decision::Wait {
                until: day(2, 2, 0)
            }
        );
        // Woken at the fire it waited for: on time, so even `skip` runs it.
        assert_eq!(
            decide(&s, day(1, 2, 0), day(2, 2, 0), Some(day(2, 2, 0)), GRACE),
            Decision::Run {
                fire: day(2, 2, 0),
                missed: 0
            }
        );
    }

    #[test]
    fn three_missed_fires_run_once_or_are_skipped() {
        // Last handled 1 May 02:00; back up on 4 May 09:00: 2, 3 and 4 May were missed.
        let (last, now) = (day(1, 2, 0), day(4, 9, 0));
        assert_eq!(
            decide(&daily("run-once"), last, now, None, GRACE),
            Decision::Run {
                fire: day(4, 2, 0),
                missed: 3
            }
        );
        assert_eq!(
            decide(&daily("skip"), last, now, None, GRACE),
            Decision::Skip {
                fire: day(4, 2, 0),
                missed: 3
            }
        );
        // Once skipped up to 4 May, the next decision is to wait for 5 May.
        assert_eq!(
            decide(&daily("skip"), day(4, 2, 0), now, None, GRACE),
            Decision::Wait {
                until: day(5, 2, 0)
            }
        );
    }

    #[test]
    fn a_late_wake_is_a_missed_fire() {
        // Waiting for 2 May 02:00 but woken at 02:05 (a suspended machine): missed.
        assert_eq!(
            decide(
                &daily("skip"),
                day(1, 2, 0),
                day(2, 2, 5),
                Some(day(2, 2, 0)),
                GRACE
            ),
            Decision::Skip {
                fire: day(2, 2, 0),
                missed: 1
            }
        );
    }
}
