//! `policy-watch check-sources`: fetch every enabled source now and show what it yields, without
//! touching the store — the step after install and after every edit of selectors.

use std::process::ExitCode;
use std::sync::Arc;

use policy_watch::config::{Config, SourceConfig};
use policy_watch::daemon::EXIT_FAILURE;
use policy_watch::items::{Item, format_kst};
use policy_watch::sources::{self, Fetcher, Probe};

pub fn run(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    only: &[String],
    shown: usize,
) -> ExitCode {
    let unknown: Vec<&String> = only
        .iter()
        .filter(|id| !config.sources.iter().any(|s| s.id() == id.as_str()))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = config.sources.iter().map(|s| s.id()).collect();
        eprintln!(
            "error: no source {}; the config has: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        );
        return ExitCode::from(EXIT_FAILURE as u8);
    }
    let selected: Vec<Arc<SourceConfig>> = config
        .sources
        .iter()
        .filter(|s| {
            if only.is_empty() {
                s.enabled
            } else {
                only.iter().any(|id| id == s.id())
            }
        })
        .map(|s| Arc::new(s.clone()))
        .collect();
    let fetcher = match Fetcher::new(&config.http) {
        Ok(fetcher) => fetcher,
        Err(e) => {
            eprintln!("error: cannot set up the HTTP client: {e}");
            return ExitCode::from(EXIT_FAILURE as u8);
        }
    };
    let probes = runtime.block_on(async {
        let mut tasks = Vec::new();
        for source in &selected {
            let (fetcher, source) = (fetcher.clone(), Arc::clone(source));
            tasks.push(tokio::spawn(async move {
                sources::probe(&fetcher, &source).await
            }));
        }
        let mut probes = Vec::new();
        for task in tasks {
            probes.push(task.await);
        }
        probes
    });
    let mut failed = 0;
    for (source, probe) in selected.iter().zip(probes) {
        let probe = match probe {
            Ok(probe) => probe,
            Err(e) => {
                println!("{}: the probe crashed: {e}\n", source.id());
                failed += 1;
                continue;
            }
        };
        let (text, ok) = report(source, &probe, shown);
        print!("{text}");
        if !ok {
            failed += 1;
        }
    }
    println!(
        "{} of {} sources yield items{}",
        selected.len() - failed,
        selected.len(),
        if failed > 0 {
            "; fix the others (see above) before relying on them"
        } else {
            ""
        }
    );
    if failed > 0 {
        ExitCode::from(EXIT_FAILURE as u8)
    } else {
        ExitCode::SUCCESS
    }
}

/// The report of one source; `false` when it yields nothing.
fn report(source: &SourceConfig, probe: &Probe, shown: usize) -> (String, bool) {
    let mut out = format!("{} — {}\n  {}\n", source.id(), source.name, source.url);
    let body = match &probe.result {
        Ok(body) => body,
        Err(e) => {
            out.push_str(&format!(
                "  FAILED after {:.1} s: {e}\n\n",
                probe.elapsed.as_secs_f64()
            ));
            return (out, false);
        }
    };
    let parsed = &body.parsed;
    out.push_str(&format!(
        "  ok: {} bytes in {:.1} s, {}, {}\n",
        body.bytes,
        probe.elapsed.as_secs_f64(),
        body.content_type.as_deref().unwrap_or("no content type"),
        body.charset
    ));
    let stats = &parsed.stats;
    out.push_str(&format!(
        "  {} rows, {} filtered out, {} items{}\n",
        stats.rows,
        stats.filtered,
        parsed.items.len(),
        if source.max_pages > 1 {
            " (page 1; polls read further pages while rows are new)"
        } else {
            ""
        }
    ));
    for item in parsed.items.iter().take(shown) {
        out.push_str(&format!(
            "    {}  {}\n      link: {}\n      key:  {}\n",
            item.published
                .map(format_kst)
                .unwrap_or_else(|| "(no date)".into()),
            item.title,
            item.link.as_deref().unwrap_or("(none)"),
            item.key
        ));
    }
    for warning in warnings(source, &parsed.items, stats) {
        out.push_str(&format!("  warning: {warning}\n"));
    }
    let ok = !parsed.items.is_empty();
    if !ok {
        out.push_str("  FAILED: the source yields no items\n");
    }
    out.push('\n');
    (out, ok)
}

fn warnings(source: &SourceConfig, items: &[Item], stats: &sources::ParseStats) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(problems) = stats.problems(source) {
        warnings.push(problems);
    }
    let undated = items.iter().filter(|i| i.published.is_none()).count();
    if undated > 0 {
        let hint = match source
            .select
            .as_ref()
            .and_then(|s| s.get_ref().date.as_ref())
        {
            Some(date) => format!("check the date selector {:?}", date.text),
            None if source.select.is_some() => "add a date selector to [source.select]".to_owned(),
            None => "the feed gives none (notices show the time first seen)".to_owned(),
        };
        warnings.push(format!(
            "{undated} of {} items have no date; {hint}",
            items.len()
        ));
    }
    let mut keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    keys.sort_unstable();
    let repeated: Vec<&str> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if !repeated.is_empty() {
        warnings.push(format!(
            "{} keys repeat on one page (e.g. {}): different rows would count as one release; set [source.identity]",
            repeated.len(),
            repeated[0]
        ));
    }
    if let Some(dated) = items.iter().find(|i| has_date(&i.key)) {
        warnings.push(format!(
            "keys contain dates ({}): if the page puts the day of the request into its links, every release looks new the next day; set [source.identity] link_params to what identifies a document",
            dated.key
        ));
    }
    warnings
}

/// A date-like value (2026-01-07, or a `…date=` parameter such as `startDate=`) in a key.
fn has_date(key: &str) -> bool {
    static DATE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)[0-9]{4}-[0-9]{2}-[0-9]{2}|date=").expect("valid regex")
    });
    DATE.is_match(key)
}
