//! Which topics a user means: `/subscribe AI반도체 인재`, `/recent 인재`, a hashtag, an id, or a
//! unique part of a name — and, when a word fits several topics or none, which.

use std::collections::BTreeSet;

use crate::config::Config;

/// Why some words of a topic list name no single topic.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TopicQueryError {
    /// Words that name no topic.
    pub unknown: Vec<String>,
    /// Words that fit several topics, with the ids they fit.
    pub(crate) ambiguous: Vec<(String, Vec<String>)>,
}

/// Topic ids named by `args`: `all` (or 전체/모두), or ids and names separated by commas or
/// spaces. Each word is looked up on its own first ("AI반도체 인재" is two topics); a part
/// whose words do not all name a topic is then tried whole, for names with spaces
/// ("AI 바이오"). A word that fits several topics is reported with them, not guessed.
pub fn resolve_topics(config: &Config, args: &str) -> Result<BTreeSet<String>, TopicQueryError> {
    let args = args.trim();
    if ["all", "전체", "모두"]
        .iter()
        .any(|a| args.eq_ignore_ascii_case(a))
    {
        return Ok(config
            .topics
            .iter()
            .map(|t| t.id.get_ref().clone())
            .collect());
    }
    let mut found = BTreeSet::new();
    let mut error = TopicQueryError::default();
    for part in args
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let words: Vec<Lookup> = part
            .split_whitespace()
            .map(|w| find_topic(config, w))
            .collect();
        if words.iter().all(|w| matches!(w, Lookup::One(_))) {
            found.extend(words.into_iter().filter_map(Lookup::one));
            continue;
        }
        if let Lookup::One(id) = find_topic(config, part) {
            found.insert(id);
            continue;
        }
        for (word, lookup) in part.split_whitespace().zip(words) {
            match lookup {
                Lookup::One(id) => {
                    found.insert(id);
                }
                Lookup::Several(ids) => error.ambiguous.push((word.to_owned(), ids)),
                Lookup::None => error.unknown.push(word.to_owned()),
            }
        }
    }
    if error == TopicQueryError::default() && !found.is_empty() {
        Ok(found)
    } else {
        Err(error)
    }
}

/// What a word names.
enum Lookup {
    One(String),
    Several(Vec<String>),
    None,
}

impl Lookup {
    fn one(self) -> Option<String> {
        match self {
            Lookup::One(id) => Some(id),
            _ => None,
        }
    }
}

/// One topic by id, hashtag, full name, short name (before a parenthesis), or a unique part of
/// its name; compared folded (case, spacing and punctuation ignored).
fn find_topic(config: &Config, query: &str) -> Lookup {
    let fold = |s: &str| crate::fold::normalize(s).folded;
    let q = fold(query.trim_start_matches(['#', '/']));
    if q.is_empty() {
        return Lookup::None;
    }
    let short = |name: &str| name.split(['(', '（']).next().unwrap_or(name).to_owned();
    let exact = config.topics.iter().find(|t| {
        fold(t.id.get_ref()) == q
            || fold(t.hashtag.trim_start_matches('#')) == q
            || fold(&t.name) == q
            || fold(&short(&t.name)) == q
    });
    if let Some(t) = exact {
        return Lookup::One(t.id.get_ref().clone());
    }
    if q.chars().count() < 2 {
        return Lookup::None;
    }
    let partial: Vec<String> = config
        .topics
        .iter()
        .filter(|t| fold(&t.name).contains(&q))
        .map(|t| t.id.get_ref().clone())
        .collect();
    match partial.len() {
        0 => Lookup::None,
        1 => Lookup::One(partial.into_iter().next().expect("one")),
        _ => Lookup::Several(partial),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = r##"
[[topic]]
id = "ai_chip_npu"
name = "AI반도체 (NPU·K-AP·뉴로모픽)"
hashtag = "#AI반도체"
keywords = ["NPU"]

[[topic]]
id = "ai_bio"
name = "AI 바이오 (AI바이오 분과)"
hashtag = "#AI바이오"
keywords = ["AI 신약"]

[[topic]]
id = "talent"
name = "AI·반도체 인재 양성"
hashtag = "#인재양성"
keywords = ["AI 인재"]
"##;
        Config::parse(std::path::Path::new("t.toml"), text).unwrap()
    }

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn topics_are_found_by_id_name_hashtag_and_unique_part() {
        let c = config();
        assert_eq!(resolve_topics(&c, "ai_bio"), Ok(ids(&["ai_bio"])));
        assert_eq!(resolve_topics(&c, "AI 바이오"), Ok(ids(&["ai_bio"])));
        assert_eq!(resolve_topics(&c, "AI반도체"), Ok(ids(&["ai_chip_npu"])));
        assert_eq!(resolve_topics(&c, "#인재양성"), Ok(ids(&["talent"])));
        assert_eq!(resolve_topics(&c, "인재"), Ok(ids(&["talent"])));
        assert_eq!(
            resolve_topics(&c, "talent, AI 바이오"),
            Ok(ids(&["talent", "ai_bio"]))
        );
        assert_eq!(
            resolve_topics(&c, "talent ai_chip_npu"),
            Ok(ids(&["talent", "ai_chip_npu"]))
        );
        assert_eq!(
            resolve_topics(&c, "all"),
            Ok(ids(&["talent", "ai_bio", "ai_chip_npu"]))
        );
    }

    fn unknown(words: &[&str]) -> TopicQueryError {
        TopicQueryError {
            unknown: words.iter().map(|w| w.to_string()).collect(),
            ambiguous: Vec::new(),
        }
    }

    #[test]
    fn unknown_and_ambiguous_words_are_reported() {
        let c = config();
        assert_eq!(resolve_topics(&c, "quantum"), Err(unknown(&["quantum"])));
        // "AI" is in every name: ambiguous, reported with its candidates rather than guessed.
        assert_eq!(
            resolve_topics(&c, "ai"),
            Err(TopicQueryError {
                unknown: Vec::new(),
                ambiguous: vec![(
                    "ai".into(),
                    vec!["ai_chip_npu".into(), "ai_bio".into(), "talent".into()]
                )],
            })
        );
        assert_eq!(
            resolve_topics(&c, "talent quantum"),
            Err(unknown(&["quantum"]))
        );
    }

    #[test]
    fn each_word_is_a_topic_before_the_words_are_read_together() {
        let c = config();
        // "AI반도체 인재" read whole is a part of the talent topic's name; word by word it is
        // two topics, in either order.
        assert_eq!(
            resolve_topics(&c, "AI반도체 인재"),
            Ok(ids(&["ai_chip_npu", "talent"]))
        );
        assert_eq!(
            resolve_topics(&c, "인재 AI반도체"),
            Ok(ids(&["ai_chip_npu", "talent"]))
        );
    }
}
