//! Source alerts: a source that has failed, or brought nothing new, for longer than its
//! `alert_after` (busy hours only with a schedule) is reported once, and once when it recovers.

use chrono::Utc;

use crate::config::SourceConfig;
use crate::store::{SourceAlert, SourceState};

/// Decides whether a poll result calls for an alert: the source has failed, or brought nothing
/// new, for longer than its `alert_after` (once), or it recovered from that (once). `new_items` is
/// `None` for a failed poll. Updates the alert bookkeeping in `state`.
pub fn source_alert(
    source: &SourceConfig,
    state: &mut SourceState,
    now: chrono::DateTime<Utc>,
    new_items: Option<usize>,
) -> Option<String> {
    let limit = chrono::Duration::from_std(source.alert_after).unwrap_or(chrono::Duration::MAX);
    let since = |t: chrono::DateTime<Utc>| crate::items::format_kst(t);
    // With a schedule only its busy hours count: a quiet night or weekend alerts nobody.
    let elapsed = |from: chrono::DateTime<Utc>| match &source.schedule {
        Some(schedule) => {
            chrono::Duration::from_std(crate::sources::schedule::busy_between(schedule, from, now))
                .unwrap_or(chrono::Duration::MAX)
        }
        None => now - from,
    };
    let Some(new_items) = new_items else {
        let failing_since = *state.failing_since.get_or_insert(now);
        if state.alerted != Some(SourceAlert::Failing) && elapsed(failing_since) >= limit {
            state.alerted = Some(SourceAlert::Failing);
            return Some(format!(
                "{} ({}) has failed since {}: {}",
                source.name,
                source.id(),
                since(failing_since),
                state.last_error.as_deref().unwrap_or("unknown error")
            ));
        }
        return None;
    };
    state.failing_since = None;
    if new_items > 0 || state.last_new_item.is_none() {
        state.last_new_item = Some(now);
    }
    match state.alerted {
        Some(SourceAlert::Failing) => {
            state.alerted = None;
            Some(format!("{} ({}) works again", source.name, source.id()))
        }
        Some(SourceAlert::Silent) if new_items > 0 => {
            state.alerted = None;
            Some(format!(
                "{} ({}) brings new items again",
                source.name,
                source.id()
            ))
        }
        Some(SourceAlert::Silent) => None,
        None => {
            let last = state.last_new_item.unwrap_or(now);
            (elapsed(last) >= limit).then(|| {
                state.alerted = Some(SourceAlert::Silent);
                format!(
                    "{} ({}) has brought nothing new since {}; check that the source still publishes there",
                    source.name,
                    source.id(),
                    since(last)
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn source(alert_after: &str) -> SourceConfig {
        let text = format!(
            "[[source]]\nid = \"s\"\nname = \"S\"\nministry = \"M\"\nkind = \"feed\"\nurl = \"https://example.org/\"\nalert_after = \"{alert_after}\"\n"
        );
        crate::config::Config::parse(Path::new("t.toml"), &text)
            .unwrap()
            .sources[0]
            .clone()
    }

    fn at(hours: i64) -> chrono::DateTime<Utc> {
        chrono::DateTime::from_timestamp(1_790_000_000 + hours * 3600, 0).unwrap()
    }

    #[test]
    fn failing_longer_than_alert_after_alerts_once_then_recovers_once() {
        let s = source("3d");
        let mut state = SourceState {
            last_error: Some("HTTP 502".into()),
            ..SourceState::default()
        };
        assert_eq!(source_alert(&s, &mut state, at(0), None), None);
        assert_eq!(source_alert(&s, &mut state, at(71), None), None);
        let alert = source_alert(&s, &mut state, at(72), None).unwrap();
        assert!(
            alert.contains("has failed since") && alert.contains("HTTP 502"),
            "{alert}"
        );
        assert_eq!(
            source_alert(&s, &mut state, at(100), None),
            None,
            "only once"
        );
        let recovered = source_alert(&s, &mut state, at(101), Some(0)).unwrap();
        assert!(recovered.contains("works again"), "{recovered}");
        assert_eq!(state.alerted, None);
        assert_eq!(state.failing_since, None);
    }

    #[test]
    fn silence_longer_than_alert_after_alerts_once_then_recovers_with_new_items() {
        let s = source("3d");
        let mut state = SourceState::default();
        assert_eq!(
            source_alert(&s, &mut state, at(0), Some(50)),
            None,
            "baseline"
        );
        assert_eq!(source_alert(&s, &mut state, at(48), Some(0)), None);
        let alert = source_alert(&s, &mut state, at(72), Some(0)).unwrap();
        assert!(alert.contains("nothing new since"), "{alert}");
        assert_eq!(
            source_alert(&s, &mut state, at(80), Some(0)),
            None,
            "only once"
        );
        let back = source_alert(&s, &mut state, at(90), Some(1)).unwrap();
        assert!(back.contains("new items again"), "{back}");
        assert_eq!(source_alert(&s, &mut state, at(91), Some(0)), None);
    }

    #[test]
    fn with_a_schedule_a_quiet_night_and_weekend_do_not_count_toward_an_alert() {
        use chrono::TimeZone;
        let text = "[schedule]\nbusy = \"08:00-19:00\"\nbusy_interval = \"4m\"\nquiet_interval = \"20m\"\n\n[[source]]\nid = \"s\"\nname = \"S\"\nministry = \"M\"\nkind = \"feed\"\nurl = \"https://example.org/\"\nalert_after = \"3h\"\n";
        let s = crate::config::Config::parse(Path::new("t.toml"), text)
            .unwrap()
            .sources[0]
            .clone();
        let kst = |d, h| {
            crate::items::kst()
                .with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let mut state = SourceState {
            last_error: Some("HTTP 502".into()),
            ..SourceState::default()
        };
        // Failing from Friday 18:00 (one busy hour left) through the weekend: no alert on Monday
        // at 09:00 (two busy hours), one at 10:00 (three).
        assert_eq!(source_alert(&s, &mut state, kst(11, 18), None), None);
        assert_eq!(source_alert(&s, &mut state, kst(13, 23), None), None);
        assert_eq!(source_alert(&s, &mut state, kst(14, 9), None), None);
        assert!(source_alert(&s, &mut state, kst(14, 10), None).is_some());
    }
}
