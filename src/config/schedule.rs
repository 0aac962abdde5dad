//! `[schedule]` and `[source.schedule]`: busy hours and their poll intervals.

use std::time::Duration;

use serde::Deserialize;

use super::de::*;

/// When a source is polled (see `sources::schedule`): every `busy_interval` in the busy hours of
/// weekdays (KST), every `quiet_interval` otherwise, and with `on_the_hour` also 30 s after each
/// full hour of the busy hours.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawSchedule")]
pub struct ScheduleConfig {
    pub(crate) busy_from: chrono::NaiveTime,
    pub(crate) busy_until: chrono::NaiveTime,
    pub(crate) busy_interval: Duration,
    pub quiet_interval: Duration,
    pub(crate) on_the_hour: bool,
}

/// `[schedule]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    /// `"08:00-19:00"` (KST, weekdays).
    #[serde(default = "default_busy")]
    busy: String,
    #[serde(deserialize_with = "de_interval")]
    busy_interval: Duration,
    #[serde(deserialize_with = "de_interval")]
    quiet_interval: Duration,
    #[serde(default)]
    on_the_hour: bool,
}

pub(super) fn default_busy() -> String {
    "08:00-19:00".into()
}

/// What is wrong with a `[schedule]` table (serde puts the table's location in front).
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("busy = {0:?} is not a range of KST times; write it like \"08:00-19:00\"")]
    NotARange(String),
    #[error(
        "busy = {0:?} ends before it starts; the busy hours are one stretch of a day, like \"08:00-19:00\""
    )]
    Backwards(String),
    #[error(
        "busy_interval {} is longer than quiet_interval {}; the busy hours are when releases appear, poll them at least as often",
        humantime::format_duration(*busy),
        humantime::format_duration(*quiet)
    )]
    BusySlower { busy: Duration, quiet: Duration },
}

impl TryFrom<RawSchedule> for ScheduleConfig {
    type Error = ScheduleError;

    fn try_from(raw: RawSchedule) -> Result<ScheduleConfig, ScheduleError> {
        let bad = || ScheduleError::NotARange(raw.busy.clone());
        let (from, until) = raw.busy.split_once('-').ok_or_else(bad)?;
        let time =
            |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (busy_from, busy_until) = (time(from)?, time(until)?);
        if busy_until <= busy_from {
            return Err(ScheduleError::Backwards(raw.busy));
        }
        if raw.busy_interval > raw.quiet_interval {
            return Err(ScheduleError::BusySlower {
                busy: raw.busy_interval,
                quiet: raw.quiet_interval,
            });
        }
        Ok(ScheduleConfig {
            busy_from,
            busy_until,
            busy_interval: raw.busy_interval,
            quiet_interval: raw.quiet_interval,
            on_the_hour: raw.on_the_hour,
        })
    }
}
