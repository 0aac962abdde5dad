//! When to poll: faster in the ministries' working hours, slower at night and at weekends, and
//! just after the full hour when releases cluster there.
//!
//! The policy portal's approval times of 2024-01 → 2026-05 (docs/benchmarks.md, timeliness): MSIT
//! publishes 94.5 % of its releases between 08:00 and 19:00 KST on weekdays and 62 % exactly on
//! the hour (12:00 alone a third); 산업통상부 96 % in 08–19, peaking 09–11, almost never on the
//! hour. A fixed 10-minute interval waits 5 minutes on average for either, and polls all night.
//! A schedule polls every `busy_interval` in the busy hours of weekdays, every `quiet_interval`
//! otherwise (so a quiet night costs a few requests), and — with `on_the_hour` — once more
//! [`AFTER_THE_HOUR`] after each full hour of the busy hours. Conditional GET keeps the extra
//! polls cheap. Pure functions of the time: the poller asks, the replay bench replays them.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc, Weekday};

use crate::config::ScheduleConfig;
use crate::items::kst;

/// How long after the full hour the extra poll goes: a release approved on the hour is listed a
/// few seconds later.
pub const AFTER_THE_HOUR: Duration = Duration::from_secs(30);

/// Whether `at` is in the schedule's busy hours (weekdays, KST).
pub fn is_busy(schedule: &ScheduleConfig, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&kst());
    let weekday = !matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
    let time = local.time();
    weekday && schedule.busy_from <= time && time < schedule.busy_until
}

/// The start of the next busy period after `at` (KST weekdays at `busy_from`).
fn next_busy_start(schedule: &ScheduleConfig, at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&kst());
    let mut day = local.date_naive();
    loop {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if weekday
            && let Some(start) = kst()
                .from_local_datetime(&day.and_time(schedule.busy_from))
                .single()
            && start > local
        {
            return start.with_timezone(&Utc);
        }
        day = day.succ_opt().expect("dates far from the end of time");
    }
}

/// The next full hour after `at` that falls in the busy hours, plus [`AFTER_THE_HOUR`], if it
/// comes before `limit`.
fn next_hour_poll(
    schedule: &ScheduleConfig,
    at: DateTime<Utc>,
    limit: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&kst());
    let this_hour = local.with_minute(0)?.with_second(0)?.with_nanosecond(0)?;
    let mut hour = this_hour;
    loop {
        let poll = (hour + AFTER_THE_HOUR).with_timezone(&Utc);
        if poll > limit {
            return None;
        }
        if poll > at && is_busy(schedule, hour.with_timezone(&Utc)) {
            return Some(poll);
        }
        hour += chrono::Duration::hours(1);
    }
}

/// When to poll next after a poll at `now`: the interval of the period `now` is in, brought
/// forward to the start of the busy hours, or to the poll after the full hour when that comes
/// first.
pub fn next_after(schedule: &ScheduleConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    let busy = is_busy(schedule, now);
    let interval = if busy {
        schedule.busy_interval
    } else {
        schedule.quiet_interval
    };
    let mut next = now + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    if !busy {
        next = next.min(next_busy_start(schedule, now));
    }
    if schedule.on_the_hour
        && let Some(hour) = next_hour_poll(schedule, now, next)
    {
        next = hour;
    }
    next
}

/// The wait from `now` until the next poll.
pub fn wait_after(schedule: &ScheduleConfig, now: DateTime<Utc>) -> Duration {
    (next_after(schedule, now) - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

/// The busy time between `from` and `to`: what the failing and silent alerts count, so that a
/// quiet night or weekend alerts nobody.
pub fn busy_between(schedule: &ScheduleConfig, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    if to <= from {
        return Duration::ZERO;
    }
    let mut total = chrono::Duration::zero();
    let mut day = from.with_timezone(&kst()).date_naive();
    let last = to.with_timezone(&kst()).date_naive();
    while day <= last {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let at = |t: NaiveTime| {
            kst()
                .from_local_datetime(&day.and_time(t))
                .single()
                .map(|d| d.with_timezone(&Utc))
        };
        if weekday
            && let (Some(start), Some(end)) = (at(schedule.busy_from), at(schedule.busy_until))
        {
            let (start, end) = (start.max(from), end.min(to));
            if end > start {
                total += end - start;
            }
        }
        day = day.succ_opt().expect("dates far from the end of time");
    }
    total.to_std().unwrap_or(Duration::ZERO)
}

/// The next `n` polls after `now`, for `check-config` and `/status`.
pub fn next_polls(schedule: &ScheduleConfig, now: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut polls = Vec::with_capacity(n);
    let mut at = now;
    for _ in 0..n {
        at = next_after(schedule, at);
        polls.push(at);
    }
    polls
}

/// One line for `check-config`: the schedule in words.
pub fn describe(schedule: &ScheduleConfig) -> String {
    format!(
        "every {} {}–{} KST on weekdays{}, every {} otherwise",
        humantime::format_duration(schedule.busy_interval),
        schedule.busy_from.format("%H:%M"),
        schedule.busy_until.format("%H:%M"),
        if schedule.on_the_hour {
            " and 30 s after each full hour"
        } else {
            ""
        },
        humantime::format_duration(schedule.quiet_interval),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(on_the_hour: bool) -> ScheduleConfig {
        ScheduleConfig {
            busy_from: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            busy_until: NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
            busy_interval: Duration::from_secs(240),
            quiet_interval: Duration::from_secs(1200),
            on_the_hour,
        }
    }

    /// KST wall time on a given day of December 2026 (the 7th is a Monday).
    fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        kst()
            .with_ymd_and_hms(2026, 12, day, h, m, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn busy_hours_are_weekday_working_hours_in_kst() {
        let s = schedule(false);
        assert!(is_busy(&s, at(7, 8, 0, 0)));
        assert!(is_busy(&s, at(7, 18, 59, 59)));
        assert!(!is_busy(&s, at(7, 19, 0, 0)));
        assert!(!is_busy(&s, at(7, 7, 59, 0)));
        assert!(!is_busy(&s, at(12, 12, 0, 0)), "a Saturday");
    }

    #[test]
    fn polls_follow_the_period_and_the_full_hour() {
        let s = schedule(true);
        // Busy: every 4 minutes, and 30 s after the hour when that comes first.
        assert_eq!(next_after(&s, at(7, 10, 20, 0)), at(7, 10, 24, 0));
        assert_eq!(next_after(&s, at(7, 10, 58, 0)), at(7, 11, 0, 30));
        assert_eq!(next_after(&s, at(7, 11, 0, 30)), at(7, 11, 4, 30));
        // Quiet: every 20 minutes, brought forward to the start of the busy hours.
        assert_eq!(next_after(&s, at(7, 2, 0, 0)), at(7, 2, 20, 0));
        assert_eq!(next_after(&s, at(7, 7, 50, 0)), at(7, 8, 0, 0));
        // The hour that opens the busy hours gets its poll too; the one that closes them not.
        assert_eq!(next_after(&s, at(7, 8, 0, 0)), at(7, 8, 0, 30));
        assert_eq!(next_after(&s, at(7, 18, 58, 0)), at(7, 19, 2, 0));
        // Friday night to Monday morning.
        let friday_night = at(11, 23, 50, 0);
        assert_eq!(next_after(&s, friday_night), at(12, 0, 10, 0));
        assert_eq!(next_after(&s, at(14, 7, 45, 0)), at(14, 8, 0, 0));
        // Without on_the_hour: the interval alone.
        assert_eq!(
            next_after(&schedule(false), at(7, 10, 58, 0)),
            at(7, 11, 2, 0)
        );
    }

    #[test]
    fn only_busy_hours_count_toward_an_alert() {
        let s = schedule(false);
        // Friday 18:00 → Monday 09:00: one hour on Friday, one on Monday.
        assert_eq!(
            busy_between(&s, at(11, 18, 0, 0), at(14, 9, 0, 0)),
            Duration::from_secs(2 * 3600)
        );
        assert_eq!(
            busy_between(&s, at(7, 20, 0, 0), at(8, 7, 0, 0)),
            Duration::ZERO
        );
        assert_eq!(
            busy_between(&s, at(7, 8, 0, 0), at(7, 19, 0, 0)),
            Duration::from_secs(11 * 3600)
        );
    }

    #[test]
    fn a_busy_day_costs_what_the_numbers_say() {
        let s = schedule(true);
        let polls = next_polls(&s, at(7, 0, 0, 0), 2000);
        let monday = polls.iter().filter(|p| **p < at(8, 0, 0, 0)).count();
        // 11 busy hours at 4 minutes, the cadence realigned after each full hour (15 an hour:
        // 165, and the poll that opens them), 13 quiet hours at 20 minutes (38): 204, against 144
        // for a fixed 10 minutes.
        assert_eq!(monday, 204);
        let saturday = polls
            .iter()
            .filter(|p| (at(12, 0, 0, 0)..at(13, 0, 0, 0)).contains(*p))
            .count();
        assert_eq!(saturday, 72);
    }
}
