//! `policy-watch eval`: how well the config's topics do on labelled items, and what a config
//! change would move. This is the loop for editing keywords safely:
//! edit → check-config → eval (--against the running config) → reload.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use policy_watch::classify::Classifier;
use policy_watch::config::Config;
use policy_watch::daemon::{EXIT_CONFIG, EXIT_FAILURE};
use policy_watch::eval::{self, Comparison, Labelled, Report, Suggestion};

pub struct Options {
    pub files: Vec<PathBuf>,
    pub json: bool,
    pub against: Option<PathBuf>,
    pub suggest: bool,
}

pub fn run(config: &Config, classifier: &Classifier, options: Options) -> ExitCode {
    // Each file is measured once; the report of all of them is the sum of theirs.
    let ids = topic_ids(config);
    let mut items: Vec<Labelled> = Vec::new();
    let mut files_reports: Vec<(PathBuf, Report)> = Vec::new();
    for file in &options.files {
        match eval::load(file) {
            Ok(loaded) => {
                files_reports.push((file.clone(), eval::evaluate(classifier, &ids, &loaded)));
                items.extend(loaded);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAILURE as u8);
            }
        }
    }
    let mut reports = files_reports.iter().map(|(_, r)| r.clone());
    let mut report = reports.next().expect("clap requires at least one file");
    reports.for_each(|r| report.absorb(r));
    let per_file: Vec<(PathBuf, usize)> = files_reports
        .iter()
        .map(|(p, r)| (p.clone(), r.items))
        .collect();
    if files_reports.len() == 1 {
        files_reports.clear(); // one file: its report is the report
    }
    let comparison = match &options.against {
        None => None,
        Some(other) => match other_classifier(other) {
            Ok((other_classifier, other_ids)) => Some(eval::compare(
                (&other_classifier, &other_ids),
                (classifier, &ids),
                &items,
            )),
            Err(code) => return code,
        },
    };
    let suggestions = if options.suggest {
        eval::suggest(classifier, &ids, &items, 2, 8)
    } else {
        Vec::new()
    };
    let text = if options.json {
        let value = serde_json::json!({
            "files": per_file.iter().map(|(p, n)| serde_json::json!({"path": p, "items": n})).collect::<Vec<_>>(),
            "report": report,
            "per_file": files_reports.iter().map(|(p, r)| serde_json::json!({"path": p, "report": r})).collect::<Vec<_>>(),
            "against": comparison,
            "suggestions": suggestions,
        });
        serde_json::to_string_pretty(&value).expect("serialisable") + "\n"
    } else {
        render(
            &report,
            &files_reports,
            comparison.as_ref(),
            options.against.as_deref(),
            options.suggest.then_some(suggestions.as_slice()),
        )
    };
    super::write_stdout(&text, "report")
}

fn topic_ids(config: &Config) -> Vec<String> {
    config.topics.iter().map(|t| t.id().to_owned()).collect()
}

/// The classifier of the config to compare with; a bad config exits 78 like any other.
pub(crate) fn other_classifier(path: &Path) -> Result<(Classifier, Vec<String>), ExitCode> {
    let config = Config::load(path).map_err(|e| {
        eprintln!("error: --against: {e}");
        ExitCode::from(EXIT_CONFIG as u8)
    })?;
    let classifier = Classifier::new(&config.classify, &config.topics).map_err(|e| {
        eprintln!("error: --against {}: {e}", path.display());
        ExitCode::from(EXIT_CONFIG as u8)
    })?;
    Ok((classifier, topic_ids(&config)))
}

fn row(out: &mut String, name: &str, c: &eval::Counts) {
    let _ = writeln!(out, "{}", c.row(name));
}

fn render(
    report: &Report,
    per_file: &[(PathBuf, Report)],
    comparison: Option<&Comparison>,
    against: Option<&Path>,
    suggestions: Option<&[Suggestion]>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} labelled items\n", report.items);
    let _ = writeln!(out, "{}", eval::TABLE_HEADER);
    row(&mut out, "relevant (item)", &report.item);
    row(&mut out, "  high confidence", &report.high);
    for (path, r) in per_file {
        let name = path
            .file_name()
            .map(|n| format!("  {}", n.to_string_lossy()))
            .unwrap_or_default();
        row(&mut out, &name, &r.item);
    }
    row(&mut out, "topics (micro)", &report.micro);
    let _ = writeln!(out);
    for t in &report.topics {
        row(&mut out, &t.id, &t.counts);
    }
    if !report.unknown_labels.is_empty() {
        let _ = writeln!(
            out,
            "\nlabels that name no topic of this config: {}",
            report.unknown_labels.join(", ")
        );
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "\nerrors (FP: matched but not labelled, FN: labelled but not matched; * = the item as a whole):"
        );
        for e in &report.errors {
            let _ = writeln!(out, "{}", e.line());
        }
    }
    if let (Some(c), Some(path)) = (comparison, against) {
        let _ = writeln!(
            out,
            "\nchanges from {} to this config (+ gained, - lost; right = agrees with the label):",
            path.display()
        );
        if c.topics.is_empty() {
            let _ = writeln!(out, "no decision changes");
        }
        for t in &c.topics {
            let _ = writeln!(
                out,
                "{:<22} +{} right, +{} wrong, -{} right, -{} wrong",
                t.topic, t.gained_tp, t.gained_fp, t.lost_tp, t.lost_fp
            );
        }
        for i in &c.items {
            let _ = writeln!(
                out,
                "  {} {:?}: [{}] -> [{}] (labels [{}])",
                i.id,
                i.title,
                i.before.join(", "),
                i.after.join(", "),
                i.labels.join(", ")
            );
        }
    }
    if let Some(suggestions) = suggestions {
        let _ = writeln!(
            out,
            "\ncandidate keywords from the misses (never applied; judge each before adding it):"
        );
        if suggestions.is_empty() {
            let _ = writeln!(out, "none");
        }
        for s in suggestions {
            let _ = writeln!(
                out,
                "{:<22} {:<24} in {} misses, {} of the topic's items, {} others",
                s.topic, s.phrase, s.in_misses, s.in_positives, s.in_others
            );
        }
    }
    out
}
