//! `[[schedule]]` entries: the keys they may have, their defaults, and the checks that turn
//! one into a [`Schedule`] the server can run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// `retries` when the entry does not say.
pub const DEFAULT_RETRIES: u32 = 3;
/// `retry_backoff_secs` when the entry does not say.
pub const DEFAULT_RETRY_BACKOFF_SECS: u64 = 60;
/// The longest wait between two attempts, however many doublings the backoff went through.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// More retries than this are a typo, not a policy.
const MAX_RETRIES: u32 = 100;
/// How far fires are counted when reporting how many were missed.
const COUNT_CAP: u64 = 100_000;

/// What a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// `imsbridge pull` of `systems` (every system when empty).
    Pull,
    /// `imsbridge sync` to `targets` (every target when empty).
    Sync,
    /// `imsbridge audit-pack` for `standards` into `out`.
    AuditPack,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Pull => "pull",
            ActionKind::Sync => "sync",
            ActionKind::AuditPack => "audit-pack",
        }
    }
}

/// What happens to fires that passed while the server was down or the schedule was still
/// running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissedPolicy {
    /// One run makes up for any number of missed fires.
    #[default]
    RunOnce,
    /// Missed fires are dropped; the next fire runs as usual.
    Skip,
}

impl MissedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MissedPolicy::RunOnce => "run-once",
            MissedPolicy::Skip => "skip",
        }
    }
}

fn default_timezone() -> String {
    "UTC".into()
}

fn default_retries() -> u32 {
    DEFAULT_RETRIES
}

fn default_backoff() -> u64 {
    DEFAULT_RETRY_BACKOFF_SECS
}

fn default_enabled() -> bool {
    true
}

/// One `[[schedule]]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Unique; names the schedule in the run history and the metrics.
    pub name: String,
    /// Five fields (minute first), or six with seconds first; `@daily` and the like too.
    pub cron: String,
    /// The IANA zone the cron is read in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    pub action: ActionKind,
    /// For `pull`: the systems to read (every system when empty).
    #[serde(default)]
    pub systems: Vec<String>,
    /// For `sync`: the targets to write (every target when empty).
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub missed: MissedPolicy,
    /// Further attempts after a failed one.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one, up to six hours.
    #[serde(default = "default_backoff")]
    pub retry_backoff_secs: u64,
    /// For `audit-pack`: the standards the pack covers.
    #[serde(default)]
    pub standards: Vec<String>,
    /// For `audit-pack`: the folder the packs are written to (relative to the
    /// configuration file).
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// `false` keeps the schedule in the file without running it.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

/// Every key a `[[schedule]]` table may have.
pub const KEYS: &[&str] = &[
    "name",
    "cron",
    "timezone",
    "action",
    "systems",
    "targets",
    "missed",
    "retries",
    "retry_backoff_secs",
    "standards",
    "out",
    "enabled",
];

/// The configured system names that schedules may refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownSystems {
    /// Every configured system (what `pull` can read).
    pub systems: Vec<String>,
    /// The systems with `write` (what `sync` can write to).
    pub targets: Vec<String>,
}

/// A checked schedule: its cron parsed, its zone known, its names configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub config: ScheduleConfig,
    /// Its position among the `[[schedule]]` tables.
    pub index: usize,
    cron: Cron,
    zone: Tz,
}

impl Schedule {
    /// Checks one entry. `base_dir` is the configuration file's folder (for `out`).
    pub fn from_config(
        index: usize,
        mut config: ScheduleConfig,
        known: &KnownSystems,
        base_dir: &Path,
    ) -> Result<Schedule, ConfigError> {
        let path = entry_path(index, Some(&config.name));
        let key = |k: &str| format!("{path}.{k}");
        check_name(&config.name).map_err(|m| ConfigError::new(key("name"), m))?;
        let cron = parse_cron(&config.cron).map_err(|m| ConfigError::new(key("cron"), m))?;
        let zone: Tz = config.timezone.parse().map_err(|_| {
            ConfigError::new(
                key("timezone"),
                format!(
                    "unknown time zone `{}`; use an IANA name such as `Europe/Berlin` or `UTC`",
                    config.timezone
                ),
            )
        })?;
        if config.retries > MAX_RETRIES {
            return Err(ConfigError::new(
                key("retries"),
                format!("{} is too many; at most {MAX_RETRIES}", config.retries),
            ));
        }
        if config.retry_backoff_secs == 0 || config.retry_backoff_secs > MAX_BACKOFF.as_secs() {
            return Err(ConfigError::new(
                key("retry_backoff_secs"),
                format!(
                    "must be between 1 and {} (six hours)",
                    MAX_BACKOFF.as_secs()
                ),
            ));
        }
        // Keys of another action would be silently ignored: refuse them instead.
        let misplaced: &[(&str, bool, &str)] = &[
            ("systems", !config.systems.is_empty(), "pull"),
            ("targets", !config.targets.is_empty(), "sync"),
            ("standards", !config.standards.is_empty(), "audit-pack"),
            ("out", config.out.is_some(), "audit-pack"),
        ];
        for (k, set, owner) in misplaced {
            if *set && *owner != config.action.as_str() {
                return Err(ConfigError::new(
                    key(k),
                    format!(
                        "does not apply to action `{}`; it is for action `{owner}`",
                        config.action.as_str()
                    ),
                ));
            }
        }
        check_names(&config.systems, &known.systems, "system", &key("systems"))?;
        for target in &config.targets {
            if known.systems.contains(target) && !known.targets.contains(target) {
                return Err(ConfigError::new(
                    key("targets"),
                    format!(
                        "system `{target}` is not a sync target: give it `write = [\"risk\"]` \
                         (and/or \"incident\")"
                    ),
                ));
            }
        }
        check_names(&config.targets, &known.targets, "target", &key("targets"))?;
        if config.action == ActionKind::AuditPack {
            if config.standards.is_empty() {
                return Err(ConfigError::new(
                    key("standards"),
                    "an audit-pack schedule needs the standards to cover, e.g. \
                     standards = [\"iso27001\", \"iso42001\"]",
                ));
            }
            match &mut config.out {
                None => {
                    return Err(ConfigError::new(
                        key("out"),
                        "an audit-pack schedule needs the folder to write the packs to, e.g. \
                         out = \"audit-packs\"",
                    ));
                }
                Some(out) if out.is_relative() => *out = base_dir.join(&*out),
                Some(_) => {}
            }
        }
        let schedule = Schedule {
            config,
            index,
            cron,
            zone,
        };
        // A pattern such as `0 0 30 2 *` parses but never fires; say so now, not never.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(ConfigError::new(
                key("cron"),
                format!("`{}` never fires", schedule.config.cron),
            ));
        }
        Ok(schedule)
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn action(&self) -> ActionKind {
        self.config.action
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// `t` on the schedule's wall clock.
    pub fn in_zone(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.zone)
    }

    /// `schedule[0] (nightly-ai-risks)`: how messages name the entry.
    pub fn path(&self) -> String {
        entry_path(self.index, Some(&self.config.name))
    }

    /// Attempts per fire: the first and the retries.
    pub fn attempts(&self) -> u32 {
        self.config.retries.saturating_add(1)
    }

    /// The wait after failed attempt `attempt` (1-based): the backoff, doubled per further
    /// attempt, capped at [`MAX_BACKOFF`].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_secs(self.config.retry_backoff_secs);
        let doublings = attempt.saturating_sub(1).min(20);
        base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
    }

    /// The first fire strictly after `t`; `None` when the pattern never fires again.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.zone), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The newest fire at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.zone), true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The next `n` fires after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            let Some(next) = self.next_after(at) else {
                break;
            };
            out.push(next);
            at = next;
        }
        out
    }

    /// How many fires lie in `(after, until]`, counted up to a cap (a six-field pattern over
    /// months of downtime has millions; the count is only reported).
    pub fn fires_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
        let mut n = 0;
        let mut at = after;
        while n < COUNT_CAP {
            match self.next_after(at) {
                Some(next) if next <= until => {
                    n += 1;
                    at = next;
                }
                _ => break,
            }
        }
        n
    }
}

/// All `[[schedule]]` entries, checked; names are unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedules {
    schedules: Vec<Schedule>,
}

impl Schedules {
    /// Checks the entries as parsed from the configuration file (each a JSON object, as the
    /// CLI converts its TOML tables), key by key, so that every message names its key.
    pub fn from_values(
        values: Vec<serde_json::Value>,
        known: &KnownSystems,
        base_dir: &Path,
    ) -> Result<Schedules, ConfigError> {
        let mut schedules: Vec<Schedule> = Vec::new();
        for (index, value) in values.into_iter().enumerate() {
            let config = config_from_value(index, value)?;
            if let Some(first) = schedules.iter().find(|s| s.name() == config.name) {
                return Err(ConfigError::new(
                    format!("{}.name", entry_path(index, Some(&config.name))),
                    format!(
                        "the name `{}` is already used by schedule[{}]; names must be unique",
                        config.name, first.index
                    ),
                ));
            }
            schedules.push(Schedule::from_config(index, config, known, base_dir)?);
        }
        Ok(Schedules { schedules })
    }

    pub fn new(schedules: Vec<Schedule>) -> Schedules {
        Schedules { schedules }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Schedule> {
        self.schedules.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name() == name)
    }

    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.schedules.len()
    }

    pub fn into_vec(self) -> Vec<Schedule> {
        self.schedules
    }
}

/// Parses a cron pattern of five fields, or six with seconds first.
pub fn parse_cron(pattern: &str) -> Result<Cron, String> {
    let fields = pattern.split_whitespace().count();
    if !pattern.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!(
            "`{pattern}` has {fields} fields; expected 5 (minute hour day-of-month month \
             day-of-week) or 6 (seconds first)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(pattern)
        .map_err(|e| format!("`{pattern}` is not a valid cron pattern: {e}"))
}

fn entry_path(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) if !name.is_empty() => format!("schedule[{index}] ({name})"),
        _ => format!("schedule[{index}]"),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a usable name: use 1 to 64 letters, digits, `-`, `_` or `.`"
        ))
    }
}

fn check_names(
    names: &[String],
    known: &[String],
    what: &str,
    path: &str,
) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ConfigError::new(path, format!("`{name}` is listed twice")));
        }
        if !known.contains(name) {
            let known = if known.is_empty() {
                format!("no {what}s are configured")
            } else {
                format!("the configured {what}s are {}", known.join(", "))
            };
            return Err(ConfigError::new(
                path,
                format!("unknown {what} `{name}`; {known}"),
            ));
        }
    }
    Ok(())
}

/// Reads one entry, naming the key of any mistake: unknown keys first, then each key's
/// type, then what is missing.
fn config_from_value(
    index: usize,
    value: serde_json::Value,
) -> Result<ScheduleConfig, ConfigError> {
    let serde_json::Value::Object(map) = &value else {
        return Err(ConfigError::new(
            entry_path(index, None),
            "must be a table of keys",
        ));
    };
    let name = map.get("name").and_then(|n| n.as_str());
    let path = entry_path(index, name);
    for k in map.keys() {
        if !KEYS.contains(&k.as_str()) {
            return Err(ConfigError::new(
                format!("{path}.{k}"),
                format!("unknown key; expected one of {}", KEYS.join(", ")),
            ));
        }
    }
    for (k, v) in map {
        let checked = match k.as_str() {
            "name" | "cron" | "timezone" => check_type::<String>(v),
            "action" => check_type::<ActionKind>(v),
            "missed" => check_type::<MissedPolicy>(v),
            "systems" | "targets" | "standards" => check_type::<Vec<String>>(v),
            "retries" => check_type::<u32>(v),
            "retry_backoff_secs" => check_type::<u64>(v),
            "out" => check_type::<PathBuf>(v),
            "enabled" => check_type::<bool>(v),
            _ => Ok(()),
        };
        checked.map_err(|e| ConfigError::new(format!("{path}.{k}"), e))?;
    }
    for required in ["name", "cron", "action"] {
        if !map.contains_key(required) {
            return Err(ConfigError::new(
                path.clone(),
                format!("missing key `{required}`"),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| ConfigError::new(path, e.to_string()))
}

fn check_type<T: DeserializeOwned>(value: &serde_json::Value) -> Result<(), String> {
    T::deserialize(value).map(drop).map_err(|e| {
        // serde's wording for enums is "unknown variant `x`, expected one of `a`, `b`";
        // that reads fine as it is.
        e.to_string()
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn known() -> KnownSystems {
        KnownSystems {
            systems: vec!["risk-xlsx".into(), "ca".into(), "sn".into()],
            targets: vec!["ca".into(), "sn".into()],
        }
    }

    fn check(value: serde_json::Value) -> Result<Schedules, ConfigError> {
        Schedules::from_values(vec![value], &known(), Path::new("/etc/ims"))
    }

    fn one(value: serde_json::Value) -> Schedule {
        check(value).unwrap().into_vec().remove(0)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn the_documented_example_reads_with_its_defaults() {
        let s = one(json!({
            "name": "nightly-ai-risks", "cron": "0 2 * * *", "timezone": "Europe/Berlin",
            "action": "sync", "targets": ["ca", "sn"], "missed": "run-once"
        }));
        assert_eq!(s.config.retries, DEFAULT_RETRIES);
        assert_eq!(s.config.retry_backoff_secs, DEFAULT_RETRY_BACKOFF_SECS);
        assert!(s.config.enabled);
        assert_eq!(s.attempts(), 4);
        assert_eq!(s.path(), "schedule[0] (nightly-ai-risks)");
        let default_zone = one(json!({"name": "p", "cron": "@hourly", "action": "pull"}));
        assert_eq!(default_zone.zone(), Tz::UTC);
        assert_eq!(default_zone.config.missed, MissedPolicy::RunOnce);
    }

    #[test]
    fn mistakes_are_named_by_their_key_path() {
        let cases = [
            (
                json!({"name": "n", "cron": "0 2 * *", "action": "pull"}),
                "schedule[0] (n).cron: `0 2 * *` has 4 fields",
            ),
            (
                json!({"name": "n", "cron": "0 61 * * *", "action": "pull"}),
                "schedule[0] (n).cron: `0 61 * * *` is not a valid cron pattern",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "timezone": "Europe/Berlim", "action": "pull"}),
                "schedule[0] (n).timezone: unknown time zone `Europe/Berlim`",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "pull", "systems": ["nope"]}),
                "schedule[0] (n).systems: unknown system `nope`; the configured systems are risk-xlsx, ca, sn",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "sync", "targets": ["risk-xlsx"]}),
                "schedule[0] (n).targets: system `risk-xlsx` is not a sync target",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "sync", "systems": ["ca"]}),
                "schedule[0] (n).systems: does not apply to action `sync`",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "pull", "retires": 2}),
                "schedule[0] (n).retires: unknown key",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "pull", "retries": "3"}),
                "schedule[0] (n).retries: invalid type",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "export"}),
                "schedule[0] (n).action: unknown variant `export`",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "pull", "missed": "catch-up"}),
                "schedule[0] (n).missed: unknown variant `catch-up`",
            ),
            (
                json!({"name": "n", "action": "pull"}),
                "schedule[0] (n): missing key `cron`",
            ),
            (
                json!({"name": "n", "cron": "0 0 30 2 *", "action": "pull"}),
                "schedule[0] (n).cron: `0 0 30 2 *` never fires",
            ),
            (
                json!({"name": "n", "cron": "0 2 * * *", "action": "audit-pack", "out": "p"}),
                "schedule[0] (n).standards: an audit-pack schedule needs",
            ),
            (
                json!({"name": "a b", "cron": "0 2 * * *", "action": "pull"}),
                "schedule[0] (a b).name: `a b` is not a usable name",
            ),
        ];
        for (value, expected) in cases {
            let err = check(value).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}\n  expected: {expected}");
        }
        let twice = Schedules::from_values(
            vec![
                json!({"name": "n", "cron": "0 2 * * *", "action": "pull"}),
                json!({"name": "n", "cron": "0 3 * * *", "action": "pull"}),
            ],
            &known(),
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(
            twice.to_string(),
            "schedule[1] (n).name: the name `n` is already used by schedule[0]; names must be unique"
        );
    }

    #[test]
    fn audit_pack_output_is_relative_to_the_configuration() {
        let s = one(json!({
            "name": "q", "cron": "0 6 1 * *", "action": "audit-pack",
            "standards": ["iso27001"], "out": "packs"
        }));
        assert_eq!(s.config.out, Some(PathBuf::from("/etc/ims/packs")));
    }

    #[test]
    fn five_and_six_field_patterns_fire_in_utc() {
        let daily = one(json!({"name": "d", "cron": "0 2 * * *", "action": "pull"}));
        let at = utc(2026, 1, 10, 2, 0, 0);
        assert_eq!(daily.next_after(at), Some(utc(2026, 1, 11, 2, 0, 0)));
        assert_eq!(
            daily.next_after(at - chrono::Duration::seconds(1)),
            Some(at)
        );
        assert_eq!(
            daily.latest_at_or_before(utc(2026, 1, 10, 13, 0, 0)),
            Some(at)
        );
        let every_5s = one(json!({"name": "s", "cron": "*/5 * * * * *", "action": "pull"}));
        assert_eq!(
            every_5s.upcoming(utc(2026, 1, 10, 2, 0, 3), 3),
            vec![
                utc(2026, 1, 10, 2, 0, 5),
                utc(2026, 1, 10, 2, 0, 10),
                utc(2026, 1, 10, 2, 0, 15)
            ]
        );
        assert_eq!(
            every_5s.fires_between(utc(2026, 1, 10, 2, 0, 0), utc(2026, 1, 10, 2, 1, 0)),
            12
        );
    }

    #[test]
    fn berlin_fires_follow_the_wall_clock_across_daylight_saving() {
        let s = one(json!({
            "name": "b", "cron": "30 3 * * *", "timezone": "Europe/Berlin", "action": "pull"
        }));
        // Winter: 03:30 CET is 02:30 UTC. 29 March 2026 clocks go forward at 02:00 CET;
        // 03:30 CEST that day is 01:30 UTC.
        assert_eq!(
            s.upcoming(utc(2026, 3, 27, 12, 0, 0), 3),
            vec![
                utc(2026, 3, 28, 2, 30, 0),
                utc(2026, 3, 29, 1, 30, 0),
                utc(2026, 3, 30, 1, 30, 0)
            ]
        );
        // Six fields, every 30 minutes, across the spring gap: 01:30 CET is followed by
        // 03:00 CEST, 30 minutes later in absolute time.
        let half_hourly = one(json!({
            "name": "h", "cron": "0 */30 * * * *", "timezone": "Europe/Berlin", "action": "pull"
        }));
        assert_eq!(
            half_hourly.upcoming(utc(2026, 3, 29, 0, 15, 0), 3),
            vec![
                utc(2026, 3, 29, 0, 30, 0),
                utc(2026, 3, 29, 1, 0, 0),
                utc(2026, 3, 29, 1, 30, 0)
            ]
        );
        // A daily 02:30 that the spring gap swallows runs when the gap ends, at 03:00 CEST
        // (01:00 UTC), rather than not at all.
        let in_gap = one(json!({
            "name": "g", "cron": "30 2 * * *", "timezone": "Europe/Berlin", "action": "pull"
        }));
        assert_eq!(
            in_gap.upcoming(utc(2026, 3, 27, 12, 0, 0), 3),
            vec![
                utc(2026, 3, 28, 1, 30, 0),
                utc(2026, 3, 29, 1, 0, 0),
                utc(2026, 3, 30, 0, 30, 0)
            ]
        );
        // Autumn: 25 October 2026 repeats 02:00–03:00. A daily 02:30 job fires once, on the
        // first 02:30 (CEST, 00:30 UTC).
        let autumn = one(json!({
            "name": "a", "cron": "30 2 * * *", "timezone": "Europe/Berlin", "action": "pull"
        }));
        assert_eq!(
            autumn.upcoming(utc(2026, 10, 24, 12, 0, 0), 2),
            vec![utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 26, 1, 30, 0)]
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = one(json!({
            "name": "r", "cron": "@daily", "action": "pull", "retry_backoff_secs": 30, "retries": 30
        }));
        assert_eq!(s.backoff(1), Duration::from_secs(30));
        assert_eq!(s.backoff(2), Duration::from_secs(60));
        assert_eq!(s.backoff(3), Duration::from_secs(120));
        assert_eq!(s.backoff(30), MAX_BACKOFF);
    }
}
