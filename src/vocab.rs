//! Candidate keywords mined from an unlabelled archive of releases, for a person to judge.
//!
//! The keyword lists grew title by title, and did not generalise. What generalises is the
//! ministries' own vocabulary: the programme names, the loanwords and their Korean words, the
//! phrases that come with a topic in release after release. This module finds them where nobody
//! labelled anything: every release the current config classifies as a topic is that topic's
//! side, the rest is the other side, and a phrase (one or two words of a title, particles
//! trimmed as `eval --suggest` trims them) found in many more of the topic's titles than its share of the rest is a candidate —
//! with counts and example titles, never applied. Phrases a keyword of the topic already covers
//! are left out.
//!
//! Input: JSONL as `eval` reads it (labels ignored), and folders of Markdown releases with a
//! front matter `title:` and a `## 본문` section (the policy portal archive's layout).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::classify::{Classifier, ItemText};
use crate::config::TopicConfig;
use crate::fold::fold_keyword;

/// A release as mining reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a JSON object with a \"title\": {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: no release found (JSONL with \"title\", or Markdown files with a front matter title)"
    )]
    Empty { path: PathBuf },
}

/// Reads releases from a JSONL file or, recursively, from a folder of Markdown files.
pub fn read(path: &Path) -> Result<Vec<Document>, VocabError> {
    let io = |source| VocabError::Io {
        path: path.to_owned(),
        source,
    };
    let documents = if std::fs::metadata(path).map_err(io)?.is_dir() {
        let mut documents = Vec::new();
        read_dir(path, &mut documents)?;
        documents
    } else {
        let text = std::fs::read_to_string(path).map_err(io)?;
        read_jsonl(path, text.strip_prefix('\u{FEFF}').unwrap_or(&text))?
    };
    if documents.is_empty() {
        return Err(VocabError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(documents)
}

fn read_jsonl(path: &Path, text: &str) -> Result<Vec<Document>, VocabError> {
    let mut documents = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| VocabError::Line {
            path: path.to_owned(),
            line: n + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let title = value["title"]
            .as_str()
            .ok_or_else(|| bad("no \"title\" string".into()))?;
        documents.push(Document {
            title: crate::items::clean_text(title),
            summary: crate::items::clean_text(value["summary"].as_str().unwrap_or_default()),
        });
    }
    Ok(documents)
}

fn read_dir(dir: &Path, out: &mut Vec<Document>) -> Result<(), VocabError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| VocabError::Io { path, source }
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            if let Some(document) = parse_markdown(&text) {
                out.push(document);
            }
        }
    }
    Ok(())
}

/// A Markdown release: `title:` of the front matter, and the `## 본문` section (the first
/// paragraphs) as its summary. `None` for a file without a front matter title (an index page).
pub fn parse_markdown(text: &str) -> Option<Document> {
    let front = text.strip_prefix("---\n")?;
    let end = front.find("\n---")?;
    let title = front[..end]
        .lines()
        .find_map(|l| l.strip_prefix("title:"))?;
    let title = title.trim().trim_matches('"').replace("\\\"", "\"");
    let body = text
        .split_once("## 본문")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or_default())
        .unwrap_or_default();
    Some(Document {
        title: crate::items::clean_text(&title),
        summary: crate::items::clean_text(crate::fold::first_chars(body.trim(), 600)),
    })
}

/// One candidate phrase of a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub phrase: String,
    /// Titles of the topic's releases that hold it.
    pub(crate) in_topic: usize,
    /// Titles of the other releases that hold it.
    pub elsewhere: usize,
    /// How many times more often it is in the topic's titles than in the others'.
    pub lift: f64,
    pub(crate) examples: Vec<String>,
}

/// A topic's candidates, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicCandidates {
    pub topic: String,
    /// Releases the config classifies as the topic.
    pub releases: usize,
    pub candidates: Vec<Candidate>,
}

/// Titles of the topic a phrase must be in at least.
const MIN_IN_TOPIC: usize = 3;
/// How many times more frequent in the topic's titles than in the rest, at least.
const MIN_LIFT: f64 = 4.0;

/// Mines every topic's candidates from `documents` as `classifier` sorts them; `per_topic` best
/// each. `topics` are the config's (their keywords decide what is already covered).
pub fn mine(
    classifier: &Classifier,
    topics: &[TopicConfig],
    documents: &[Document],
    per_topic: usize,
) -> Vec<TopicCandidates> {
    // Each title's phrases, and the topics its release is classified as.
    let mut text = ItemText::default();
    let read: Vec<(HashSet<String>, Vec<String>)> = documents
        .iter()
        .map(|d| {
            classifier.read_into(&mut text, &d.title, &d.summary);
            let topics = classifier
                .classify_text(&text)
                .into_iter()
                .map(|t| t.id.to_string())
                .collect();
            (crate::eval::phrases(&d.title), topics)
        })
        .collect();
    let mut everywhere: HashMap<&str, usize> = HashMap::new();
    for (phrases, _) in &read {
        for p in phrases {
            *everywhere.entry(p.as_str()).or_default() += 1;
        }
    }
    topics
        .iter()
        .map(|topic| {
            let id = topic.id();
            let members: Vec<usize> = (0..read.len())
                .filter(|&i| read[i].1.iter().any(|t| t == id))
                .collect();
            let mut in_topic: HashMap<&str, usize> = HashMap::new();
            for &i in &members {
                for p in &read[i].0 {
                    *in_topic.entry(p.as_str()).or_default() += 1;
                }
            }
            let covered = topic_keywords(topic);
            let rest = (read.len() - members.len()).max(1) as f64;
            let size = members.len().max(1) as f64;
            let mut candidates: Vec<Candidate> = in_topic
                .into_iter()
                .filter(|(_, n)| *n >= MIN_IN_TOPIC)
                .filter_map(|(phrase, n)| {
                    let elsewhere = everywhere[phrase] - n;
                    let lift = (n as f64 / size) / ((elsewhere as f64 + 1.0) / rest);
                    (lift >= MIN_LIFT && !covered_by(&covered, phrase)).then(|| Candidate {
                        phrase: phrase.to_owned(),
                        in_topic: n,
                        elsewhere,
                        lift,
                        examples: Vec::new(),
                    })
                })
                .collect();
            // Most evidence first: in-topic titles weighed by the log of the lift.
            candidates.sort_by(|a, b| {
                let score = |c: &Candidate| c.in_topic as f64 * c.lift.ln();
                score(b)
                    .total_cmp(&score(a))
                    .then_with(|| a.phrase.cmp(&b.phrase))
            });
            // A two-word phrase whose words are both listed already says nothing new.
            let mut kept: Vec<Candidate> = Vec::new();
            for c in candidates {
                if kept.len() >= per_topic {
                    break;
                }
                if c.phrase.contains(' ')
                    && c.phrase
                        .split(' ')
                        .all(|w| kept.iter().any(|k| k.phrase == w))
                {
                    continue;
                }
                kept.push(c);
            }
            for c in &mut kept {
                c.examples = members
                    .iter()
                    .filter(|&&i| read[i].0.contains(&c.phrase))
                    .take(2)
                    .map(|&i| documents[i].title.clone())
                    .collect();
            }
            TopicCandidates {
                topic: id.to_owned(),
                releases: members.len(),
                candidates: kept,
            }
        })
        .collect()
}

/// Every keyword of a topic, in any role, folded.
fn topic_keywords(topic: &TopicConfig) -> Vec<String> {
    topic
        .keywords
        .iter()
        .chain(&topic.strong)
        .chain(&topic.generic)
        .chain(topic.require.iter().flatten())
        .chain(&topic.exclude)
        .map(|k| fold_keyword(k.trim_end_matches('*')))
        .filter(|k| !k.is_empty())
        .collect()
}

/// Whether a keyword already finds the phrase (the phrase contains it), or the phrase is part of
/// a keyword (nothing new to add).
fn covered_by(covered: &[String], phrase: &str) -> bool {
    let folded = fold_keyword(phrase);
    covered
        .iter()
        .any(|k| folded.contains(k.as_str()) || k.contains(folded.as_str()))
}

/// The report as `policy-watch vocab` prints it.
pub fn render(report: &[TopicCandidates], documents: usize) -> String {
    let mut out = format!(
        "{documents} releases read. Candidates per topic: phrases of the titles the config classifies as the topic, \
         {MIN_IN_TOPIC}+ of them and {MIN_LIFT}x more often than in the other titles, not yet covered by a keyword. \
         For a person to judge; nothing is applied.\n"
    );
    for topic in report {
        out.push_str(&format!(
            "\n{} ({} releases)\n",
            topic.topic, topic.releases
        ));
        if topic.candidates.is_empty() {
            out.push_str("  (none)\n");
        }
        for c in &topic.candidates {
            out.push_str(&format!(
                "  {:<24} {:>4} in topic {:>5} elsewhere  x{:<6.1} e.g. {}\n",
                c.phrase,
                c.in_topic,
                c.elsewhere,
                c.lift,
                c.examples
                    .iter()
                    .map(|e| format!("«{}»", crate::items::truncate_chars(e, 60)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    }
    out
}

/// A release whose topics differ between two configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub title: String,
    /// Topics the new config gives it and the old one does not.
    pub gained: Vec<String>,
    /// Topics the old config gave it and the new one does not.
    pub lost: Vec<String>,
}

/// What changing the config from `old` to `new` moves on an unlabelled archive: how many
/// releases each matches, and every release whose topics differ — for a person to read before a
/// change ships (a labelled set is small; an archive shows the new noise and the new finds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Movement {
    pub releases: usize,
    pub matched_old: usize,
    pub matched_new: usize,
    pub moved: Vec<Moved>,
}

pub fn movement(new: &Classifier, old: &Classifier, documents: &[Document]) -> Movement {
    let texts = || {
        documents
            .iter()
            .map(|d| (d.title.as_str(), d.summary.as_str()))
    };
    let (after, before) = (
        crate::eval::predict_texts(new, texts()),
        crate::eval::predict_texts(old, texts()),
    );
    let mut movement = Movement {
        releases: documents.len(),
        ..Movement::default()
    };
    for ((d, now), before) in documents.iter().zip(&after).zip(&before) {
        movement.matched_new += usize::from(!now.is_empty());
        movement.matched_old += usize::from(!before.is_empty());
        let gained: Vec<String> = now
            .iter()
            .filter(|t| !before.contains(t))
            .cloned()
            .collect();
        let lost: Vec<String> = before
            .iter()
            .filter(|t| !now.contains(t))
            .cloned()
            .collect();
        if !gained.is_empty() || !lost.is_empty() {
            movement.moved.push(Moved {
                title: d.title.clone(),
                gained,
                lost,
            });
        }
    }
    movement
}

pub fn render_movement(m: &Movement, against: &Path) -> String {
    let mut out = format!(
        "{} releases read. Matched: {} with this config, {} with {}. {} releases change topics \
         (+ gained, - lost); read them before the change ships.\n",
        m.releases,
        m.matched_new,
        m.matched_old,
        against.display(),
        m.moved.len()
    );
    for moved in &m.moved {
        let topics: Vec<String> = moved
            .gained
            .iter()
            .map(|t| format!("+{t}"))
            .chain(moved.lost.iter().map(|t| format!("-{t}")))
            .collect();
        out.push_str(&format!(
            "  {:<40} {}\n",
            topics.join(" "),
            crate::items::truncate_chars(&moved.title, 90)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_lose_their_particles_and_pair_words() {
        let p = crate::eval::phrases("국민성장펀드가 첨단산업 지원");
        assert!(
            p.contains("국민성장펀드") && p.contains("첨단산업 지원"),
            "{p:?}"
        );
    }

    #[test]
    fn a_markdown_release_gives_its_title_and_body() {
        let text = "---\ntitle: \"｢독자 AI 파운데이션 모델｣ 프로젝트\"\nministry: \"과학기술정보통신부\"\n---\n\n# x\n\n## 본문\n\n첫 문단입니다.\n\n## 출처\n\n- API\n";
        let d = parse_markdown(text).unwrap();
        assert_eq!(d.title, "｢독자 AI 파운데이션 모델｣ 프로젝트");
        assert_eq!(d.summary, "첫 문단입니다.");
        assert_eq!(parse_markdown("# an index page\n"), None);
    }

    #[test]
    fn a_phrase_frequent_in_a_topic_and_rare_elsewhere_is_a_candidate() {
        let config = crate::config::Config::parse(
            Path::new("t.toml"),
            "[[topic]]\nid = \"chips\"\nname = \"c\"\nhashtag = \"#c\"\nkeywords = [\"AI반도체\"]\n",
        )
        .unwrap();
        let classifier = Classifier::new(&config.classify, &config.topics).unwrap();
        let mut documents = Vec::new();
        for i in 0..5 {
            documents.push(Document {
                title: format!("AI반도체 팹리스 기업 지원 {i}차"),
                summary: String::new(),
            });
        }
        for i in 0..40 {
            documents.push(Document {
                title: format!("기업 지원 사업 공고 {i}차"),
                summary: String::new(),
            });
        }
        documents.push(Document {
            title: "팹리스 기업 간담회".into(),
            summary: String::new(),
        });
        let report = mine(&classifier, &config.topics, &documents, 10);
        let phrases: Vec<&str> = report[0]
            .candidates
            .iter()
            .map(|c| c.phrase.as_str())
            .collect();
        assert_eq!(report[0].releases, 5);
        assert!(phrases.contains(&"팹리스"), "{phrases:?}");
        // Common everywhere, or already a keyword: not candidates.
        assert!(
            !phrases.contains(&"기업 지원") && !phrases.contains(&"AI반도체"),
            "{phrases:?}"
        );
        let fabless = &report[0].candidates[phrases.iter().position(|p| *p == "팹리스").unwrap()];
        assert_eq!((fabless.in_topic, fabless.elsewhere), (5, 1));
        assert_eq!(fabless.examples.len(), 2);
    }

    #[test]
    fn movement_lists_the_releases_a_change_moves() {
        let classifier = |keywords: &str| {
            let text = format!(
                "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [{keywords}]\n"
            );
            let config = crate::config::Config::parse(Path::new("t.toml"), &text).unwrap();
            Classifier::new(&config.classify, &config.topics).unwrap()
        };
        let old = classifier("\"AI반도체\", \"NPU\"");
        let new = classifier("\"AI반도체\", \"AI 표준*\"");
        let documents: Vec<Document> = ["AI반도체 육성", "국산 NPU 실증", "AI 표준화 전략", "날씨"]
            .iter()
            .map(|t| Document {
                title: t.to_string(),
                summary: String::new(),
            })
            .collect();
        let m = movement(&new, &old, &documents);
        assert_eq!((m.releases, m.matched_old, m.matched_new), (4, 2, 2));
        let moved: Vec<(&str, &[String], &[String])> = m
            .moved
            .iter()
            .map(|x| (x.title.as_str(), &x.gained[..], &x.lost[..]))
            .collect();
        assert_eq!(
            moved,
            [
                ("국산 NPU 실증", &[][..], &["t".to_owned()][..]),
                ("AI 표준화 전략", &["t".to_owned()][..], &[][..]),
            ]
        );
        let text = render_movement(&m, Path::new("old.toml"));
        assert!(
            text.contains("Matched: 2 with this config, 2 with old.toml. 2 releases"),
            "{text}"
        );
        assert!(text.contains("+t") && text.contains("-t"), "{text}");
    }
}
