//! `policy-watch explain`: the classifier's reasoning, for people tuning topics.

use std::path::PathBuf;
use std::process::ExitCode;

use policy_watch::classify::{Classifier, Decision, Explanation, Field, KeywordHit};
use policy_watch::daemon::EXIT_FAILURE;

#[derive(serde::Deserialize)]
struct ItemText {
    title: String,
    #[serde(default)]
    summary: Option<String>,
}

pub fn run(
    classifier: &Classifier,
    item: Option<PathBuf>,
    title: Option<String>,
    summary: Option<String>,
    json: bool,
    all: bool,
) -> ExitCode {
    let (title, summary) = match (item, title) {
        (Some(path), _) => {
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_json::from_str::<ItemText>(&text).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(item) => (item.title, item.summary.unwrap_or_default()),
                Err(e) => {
                    eprintln!(
                        "error: {}: {e}; the file must be a JSON object with \"title\" and optional \"summary\"",
                        path.display()
                    );
                    return ExitCode::from(EXIT_FAILURE as u8);
                }
            }
        }
        (None, Some(title)) => (title, summary.unwrap_or_default()),
        (None, None) => {
            eprintln!("error: give a title (and optionally a summary), or --item FILE.json");
            return ExitCode::from(EXIT_FAILURE as u8);
        }
    };
    // Read as an item is: entities decoded, invisible and control characters dropped (a title
    // copied from a web page may carry a zero-width space).
    let (title, summary) = (
        policy_watch::items::clean_text(&title),
        policy_watch::items::clean_text(&summary),
    );
    let explanation = classifier.explain(&title, &summary);
    let text = if json {
        serde_json::to_string_pretty(&explanation).expect("serialisable") + "\n"
    } else {
        render(&title, &summary, &explanation, all)
    };
    super::write_stdout(&text, "explanation")
}

fn hit(h: &KeywordHit) -> String {
    let field = match h.field {
        Field::Title => "title",
        Field::Summary => "summary",
    };
    format!("{} ({field}: \"{}\")", h.keyword, h.text)
}

fn hits(list: &[KeywordHit]) -> String {
    list.iter().map(hit).collect::<Vec<_>>().join(", ")
}

/// Human-readable explanation.
pub fn render(title: &str, summary: &str, e: &Explanation, all: bool) -> String {
    let mut out = format!("title:   {title}\n");
    if !summary.is_empty() {
        out.push_str(&format!("summary: {summary}\n"));
    }
    out.push_str(&format!(
        "anchors: {}\n",
        if e.anchors.is_empty() {
            "none".to_owned()
        } else {
            hits(&e.anchors)
        }
    ));
    if !e.global_vetoes.is_empty() {
        out.push_str(&format!("global exclusions: {}\n", hits(&e.global_vetoes)));
    }
    let matched: Vec<&str> = e
        .topics
        .iter()
        .filter(|t| t.decision == Decision::Match)
        .map(|t| t.id.as_str())
        .collect();
    out.push_str(&format!(
        "result:  {}\n\n",
        if matched.is_empty() {
            "not relevant".to_owned()
        } else {
            matched.join(", ")
        }
    ));
    for t in &e.topics {
        let evidence = !t.counted.is_empty() || !t.ignored_generic.is_empty();
        if !evidence && !all {
            continue;
        }
        let verdict = match &t.decision {
            Decision::Match => format!("MATCH (score {} ≥ {})", t.score, t.threshold),
            Decision::NoMatch => "no match".to_owned(),
            Decision::BelowThreshold => {
                format!("no match: score {} < threshold {}", t.score, t.threshold)
            }
            Decision::MissingRequired { group } => {
                format!("no match: nothing from require group {group}")
            }
            Decision::Vetoed { by } => format!("vetoed by {}", hits(by)),
        };
        out.push_str(&format!("{} {} — {}\n", t.id, t.name, verdict));
        if !t.counted.is_empty() {
            out.push_str(&format!(
                "    matched: {}{}\n",
                hits(&t.counted),
                if t.strong { " [strong]" } else { "" }
            ));
            let pieces: Vec<String> = t
                .pieces
                .iter()
                .map(|p| {
                    let field = match p.field {
                        Field::Title => "title",
                        Field::Summary => "summary",
                    };
                    let note = match (p.keywords.len(), p.weight == 0.0) {
                        (_, true) => " (already counted)",
                        _ if p.strong_in_lead => " (strong, in the lead: weighs as in the title)",
                        (1, false) => "",
                        (_, false) => " (adjacent: one piece of evidence)",
                    };
                    format!("{field}[{}] {}{note}", p.keywords.join(" + "), p.weight)
                })
                .collect();
            out.push_str(&format!(
                "    score: {} = {}\n",
                pieces.join(" + "),
                t.score
            ));
        }
        if !t.overridden.is_empty() {
            out.push_str(&format!(
                "    exclusion not applied (overridden by a strong keyword; only in the summary while the evidence is in the title; or a global one listed with the topic's keyword in the title, as in \"AI반도체와 양자 기술\"): {}\n",
                hits(&t.overridden)
            ));
        }
        if !t.ignored_generic.is_empty() {
            out.push_str(&format!(
                "    generic, ignored (no other keyword of the topic; no anchor in the title, or in the summary for words only there, outside phrases like \"AI 전환\" and outside the generic word itself; no second generic word apart in the title): {}\n",
                hits(&t.ignored_generic)
            ));
        }
    }
    out
}
