//! Dates: the forms Korean government sites use, read as KST, and shown in KST.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Korea Standard Time, in which every ministry publishes and every notice is dated.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// Parses the date forms seen on Korean government sites and in feeds: RFC 2822 (also with a
/// `KST` zone), RFC 3339, `YYYY.MM.DD`, `YYYY-MM-DD`, `YYYY/MM/DD`, each optionally followed by
/// `HH:MM[:SS]` and a zone. Times without a zone are KST. Unparseable → `None` (the caller falls
/// back to the first-seen time; a bad date is never an error).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches('.').trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    let (body, zone) = split_zone(text);
    if zone.is_some()
        && let Some(d) = parse_rfc2822_with(body, zone)
    {
        return Some(d);
    }
    let offset = zone.unwrap_or_else(kst);
    let normalised: String = body.replace(['.', '/'], "-").replace('T', " ");
    let normalised = normalised.trim_end_matches('-').trim();
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y- %m- %d %H:%M:%S",
        "%Y- %m- %d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(normalised, format) {
            return offset
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d", "%Y- %m- %d"] {
        if let Ok(day) = NaiveDate::parse_from_str(normalised, format) {
            let naive = day.and_hms_opt(0, 0, 0)?;
            return offset
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    None
}

/// Splits a trailing zone (`KST`, `+0900`, `+09:00`, `GMT`, `UTC`, `Z`) off a date.
fn split_zone(text: &str) -> (&str, Option<FixedOffset>) {
    let Some((body, last)) = text.rsplit_once(' ') else {
        return (text, None);
    };
    let zone = match last {
        "KST" | "kst" => Some(kst()),
        "GMT" | "UTC" | "Z" => FixedOffset::east_opt(0),
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() >= 5 => numeric_zone(z),
        _ => None,
    };
    match zone {
        Some(z) => (body, Some(z)),
        None => (text, None),
    }
}

/// `+0900`, `+09:00`, `-0500`.
fn numeric_zone(zone: &str) -> Option<FixedOffset> {
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i32 = digits.get(0..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn parse_rfc2822_with(body: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let zone = zone?;
    // "Tue, 25 Nov 2026 10:00:00 KST": parse the body as naive RFC 2822 and apply the zone.
    let body = body.split_once(", ").map(|(_, rest)| rest).unwrap_or(body);
    let naive = NaiveDateTime::parse_from_str(body, "%d %b %Y %H:%M:%S").ok()?;
    zone.from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// A duration as people write it: "365d", "12h", "1d 6h" (humantime's own format shows
/// 365 days as "11months 30days 3h 50m 24s").
pub fn format_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Formats a time as KST for notices: `2026-11-25 14:00 KST`, or the day alone when the source
/// only gave a day (midnight KST).
pub fn format_kst(when: DateTime<Utc>) -> String {
    let local = when.with_timezone(&kst());
    if local.format("%H:%M:%S").to_string() == "00:00:00" {
        local.format("%Y-%m-%d").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M KST").to_string()
    }
}
