//! How soon a release reaches subscribers: the real publication times of MSIT's and 산업통상부's
//! releases (the policy portal's approval times, 2024-01 → 2026-05) replayed against the
//! shipped sources' schedules and holds, side by side with a fixed 10-minute interval.
//!
//! For each release and each source that lists it: the first poll at or after its publication
//! plus 15 s (the time a source takes to list it; a guess), polls without jitter. A fixed
//! interval is started 7 minutes past midnight (an arbitrary phase: started on the hour, a
//! 10-minute interval would catch MSIT's on-the-hour releases at once by luck). The notice goes out at the
//! first poll of a source without `hold`, or at a held source's poll plus its hold if no source
//! without hold saw it by then. Reported per source: the median and 95th percentile of
//! publication → poll, and requests per day; per ministry: publication → notice.
//!
//! Needs the archive named in DESIGN.md (one Markdown file a release, `approve_date` in its front
//! matter), read here and not shipped:
//!
//! ```sh
//! # from a clone of github.com/hosungseo/gov-press-md:
//! git archive HEAD -- ':(glob)data/**/*_과학기술정보통신부_*' ':(glob)data/**/*_산업통상자원부_*' \
//!     ':(glob)data/**/*_산업통상부_*' | tar -x -C /tmp/gov-press
//! GOV_PRESS_DIR=/tmp/gov-press cargo bench --bench timeliness
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use policy_watch::config::{Config, ScheduleConfig, SourceConfig};
use policy_watch::items::kst;
use policy_watch::sources::schedule;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ministry {
    Msit,
    Motir,
}

fn read_releases(dir: &Path, out: &mut Vec<(Ministry, DateTime<Utc>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_releases(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(front) = text
            .strip_prefix("---\n")
            .and_then(|t| t.split("\n---").next())
        else {
            continue;
        };
        let field = |name: &str| {
            front
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        let ministry = match field("ministry:").as_deref() {
            Some("과학기술정보통신부") => Ministry::Msit,
            Some("산업통상자원부" | "산업통상부") => Ministry::Motir,
            _ => continue,
        };
        let Some(date) = field("approve_date:")
            .and_then(|d| NaiveDateTime::parse_from_str(&d, "%m/%d/%Y %H:%M:%S").ok())
        else {
            continue;
        };
        let Some(at) = kst().from_local_datetime(&date).single() else {
            continue;
        };
        out.push((ministry, at.with_timezone(&Utc)));
    }
}

/// Every poll of a source between `from` and `to`.
fn polls(
    schedule: Option<&ScheduleConfig>,
    interval: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut at = from;
    while at <= to {
        out.push(at);
        at = match schedule {
            Some(s) => schedule::next_after(s, at),
            None => at + chrono::Duration::from_std(interval).unwrap(),
        };
    }
    out
}

/// A source as replayed.
struct Replayed {
    id: String,
    lists: Vec<Ministry>,
    hold: Option<Duration>,
    polls: Vec<DateTime<Utc>>,
}

/// How long after its approval a release is listed by a source (a guess: seconds).
const LISTING_LAG: chrono::Duration = chrono::Duration::seconds(15);

impl Replayed {
    /// The first poll that sees a release published at `at`.
    fn first_poll(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let listed = at + LISTING_LAG;
        let i = self.polls.partition_point(|p| *p < listed);
        self.polls.get(i).copied()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn minutes(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 60_000.0
}

/// Which ministries' releases a shipped source lists.
fn lists(source: &SourceConfig) -> Vec<Ministry> {
    let id = source.id();
    if id.starts_with("msit") {
        vec![Ministry::Msit]
    } else if id.starts_with("motir") {
        vec![Ministry::Motir]
    } else {
        vec![Ministry::Msit, Ministry::Motir]
    }
}

fn replay(
    name: &str,
    sources: &[Replayed],
    releases: &[(Ministry, DateTime<Utc>)],
    days: f64,
    broken: &[&str],
) {
    println!("\n### {name}\n");
    println!("| source | lists | hold | publication → poll: median / p95 | requests a day |");
    println!("|---|---|---|---:|---:|");
    let mut total = 0.0;
    for s in sources {
        let mut delays: Vec<f64> = releases
            .iter()
            .filter(|(m, _)| s.lists.contains(m))
            .filter_map(|(_, at)| s.first_poll(*at).map(|p| minutes(p - *at)))
            .collect();
        delays.sort_by(f64::total_cmp);
        let per_day = s.polls.len() as f64 / days;
        total += per_day;
        println!(
            "| {}{} | {} | {} | {:.1} / {:.1} min | {:.0} |",
            s.id,
            if broken.contains(&s.id.as_str()) {
                " (broken: lists nothing)"
            } else {
                ""
            },
            s.lists
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            s.hold
                .map(|h| humantime::format_duration(h).to_string())
                .unwrap_or_else(|| "–".into()),
            percentile(&delays, 0.5),
            percentile(&delays, 0.95),
            per_day,
        );
    }
    println!("| all sources | | | | {total:.0} |");
    println!(
        "\n| ministry | releases | publication → notice: median / p95 | within 2 min | within 10 min |"
    );
    println!("|---|---:|---:|---:|---:|");
    for ministry in [Ministry::Msit, Ministry::Motir] {
        let mut delays: Vec<f64> = releases
            .iter()
            .filter(|(m, _)| *m == ministry)
            .filter_map(|(_, at)| {
                // The first source without hold that lists it, and every held source's poll
                // plus its hold: whichever comes first sends the notice.
                let listing = sources
                    .iter()
                    .filter(|s| s.lists.contains(&ministry) && !broken.contains(&s.id.as_str()));
                listing
                    .filter_map(|s| {
                        let poll = s.first_poll(*at)?;
                        Some(match s.hold {
                            Some(h) => poll + chrono::Duration::from_std(h).unwrap(),
                            None => poll,
                        })
                    })
                    .min()
                    .map(|notice| minutes(notice - *at))
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        let share = |limit: f64| {
            delays.iter().filter(|d| **d <= limit).count() as f64 / delays.len() as f64 * 100.0
        };
        println!(
            "| {ministry:?} | {} | {:.1} / {:.1} min | {:.0} % | {:.0} % |",
            delays.len(),
            percentile(&delays, 0.5),
            percentile(&delays, 0.95),
            share(2.0),
            share(10.0)
        );
    }
}

fn main() {
    let dir = std::env::var_os("GOV_PRESS_DIR").map(PathBuf::from);
    let Some(dir) = dir.filter(|d| d.is_dir()) else {
        println!(
            "timeliness: set GOV_PRESS_DIR to the policy-portal archive (see the module doc); skipped"
        );
        return;
    };
    let mut releases = Vec::new();
    read_releases(&dir, &mut releases);
    let from = kst()
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let to = kst()
        .with_ymd_and_hms(2026, 5, 31, 23, 59, 59)
        .unwrap()
        .with_timezone(&Utc);
    releases.retain(|(_, at)| (from..=to).contains(at));
    releases.sort_by_key(|(_, at)| *at);
    let count = |m| releases.iter().filter(|(r, _)| *r == m).count();
    println!(
        "{} releases replayed (MSIT {}, 산업통상부 {}), {} to {}",
        releases.len(),
        count(Ministry::Msit),
        count(Ministry::Motir),
        from.with_timezone(&kst()).date_naive(),
        to.with_timezone(&kst()).date_naive()
    );
    let days = (to - from).num_seconds() as f64 / 86_400.0;
    let config =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.toml"))
            .expect("the shipped config");
    let end = to + chrono::Duration::days(1);
    let shipped: Vec<Replayed> = config
        .enabled_sources()
        .map(|s| Replayed {
            id: s.id().to_owned(),
            lists: lists(s),
            hold: s.hold,
            polls: polls(s.schedule.as_ref(), s.interval, from, end),
        })
        .collect();
    let fixed: Vec<Replayed> = config
        .enabled_sources()
        .map(|s| Replayed {
            id: s.id().to_owned(),
            lists: lists(s),
            // Before the schedule: the board and korea.kr held their copies 20 minutes.
            hold: ["motir-press-board", "korea-kr-press"]
                .contains(&s.id())
                .then_some(Duration::from_secs(20 * 60)),
            polls: polls(
                None,
                Duration::from_secs(600),
                from + chrono::Duration::minutes(7),
                end,
            ),
        })
        .collect();
    replay("The shipped schedule", &shipped, &releases, days, &[]);
    replay(
        "The shipped schedule, 산업통상부's feed broken",
        &shipped,
        &releases,
        days,
        &["motir-press"],
    );
    replay(
        "A fixed 10-minute interval, holds of 20 minutes",
        &fixed,
        &releases,
        days,
        &[],
    );
    replay(
        "A fixed 10-minute interval, holds of 20 minutes, 산업통상부's feed broken",
        &fixed,
        &releases,
        days,
        &["motir-press"],
    );
}
