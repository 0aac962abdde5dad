//! Watch words and search: a chat's own words (`/watch`, `/unwatch`, `/watches`), matched like
//! topic keywords against every new item (the ingest stage's fan-out does the matching), and
//! `/search` over the archive of every item seen.

use std::collections::BTreeSet;

use super::commands::Context;
use super::{Bot, strs};
use crate::classify::{ItemText, Keywords};
use crate::fold::fold_keyword;
use crate::store::{ChatKind, StoreError, Subscriber, archive_text};
use crate::text::{self, WordRefusal};

/// Quotation marks around a phrase (straight, and the curly ones phone keyboards type).
const QUOTES: [char; 3] = ['"', '“', '”'];
/// Characters of a watch word (as typed), at least and at most.
const WORD_CHARS: std::ops::RangeInclusive<usize> = 2..=40;
/// Latest archived items a new watch word is measured against.
const GENERIC_SAMPLE: usize = 500;
/// Below this many archived items the sample says nothing: every word is let through.
const GENERIC_MIN_SAMPLE: usize = 50;
/// A word found in more than this share of the sample is refused as too generic: it would
/// send its watcher a good part of everything the ministries publish.
const GENERIC_SHARE: f64 = 0.10;
/// `/search`: default and maximum count.
const SEARCH_DEFAULT: usize = 5;
const SEARCH_MAX: usize = 20;

/// Words at most read from one command: a long argument (Telegram allows 4,096 characters) is
/// not answered word by word.
const WORDS_PER_COMMAND: usize = 20;

/// A command's arguments as words (see [`split_words`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Words {
    /// Distinct words, as items are read: invisible and control characters dropped.
    pub words: Vec<String>,
    /// Words with nothing left once those are dropped, shown by code point ("U+200B").
    pub invisible: Vec<String>,
    /// Words beyond [`WORDS_PER_COMMAND`], not read.
    pub ignored: usize,
}

/// Splits a command's arguments into words: on whitespace and commas, a quoted phrase
/// ("AI 기본법", “AI 기본법”) staying one word. With a comma anywhere, only commas separate. Each
/// word is cleaned as an item's title is (a zero-width space copied from a web page would
/// otherwise keep the word from ever matching).
pub(super) fn split_words(args: &str) -> Words {
    let commas = args.contains([',', '，']);
    let mut raw = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in args.chars() {
        match c {
            c if QUOTES.contains(&c) => quoted = !quoted,
            ',' | '，' => raw.push(std::mem::take(&mut current)),
            c if c.is_whitespace() && !quoted && !commas => raw.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    raw.push(current);
    let mut out = Words::default();
    for word in raw {
        let cleaned = crate::items::collapse_whitespace(&word);
        if cleaned.is_empty() {
            let shown: Vec<String> = word
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| format!("U+{:04X}", c as u32))
                .collect();
            if !shown.is_empty() && !out.invisible.contains(&shown.join(" ")) {
                out.invisible.push(shown.join(" "));
            }
            continue;
        }
        if out.words.contains(&cleaned) {
            continue;
        }
        if out.words.len() + out.invisible.len() >= WORDS_PER_COMMAND {
            out.ignored += 1;
            continue;
        }
        out.words.push(cleaned);
    }
    out
}

/// Checks a word's shape: 2–40 characters, something to match, and not so short that it
/// would be found inside countless other words.
pub(super) fn check_shape(word: &str) -> Result<(), WordRefusal> {
    let chars = word.chars().count();
    if !WORD_CHARS.contains(&chars) {
        return Err(WordRefusal::Length { chars });
    }
    let folded = fold_keyword(word);
    if folded.is_empty() {
        return Err(WordRefusal::NoLetters);
    }
    let hangul = folded.chars().filter(|c| ('가'..='힣').contains(c)).count();
    if hangul < 2 && folded.chars().count() < 3 {
        return Err(WordRefusal::TooShort);
    }
    Ok(())
}

/// Two spellings of one word ("퓨리오사", "퓨리 오사") are the same watch word.
fn same_word(a: &str, b: &str) -> bool {
    fold_keyword(a) == fold_keyword(b) && a.ends_with('*') == b.ends_with('*')
}

/// The share of `sample` that `word` is found in, when the sample is big enough to say.
fn generic_share(word: &str, sample: &[ItemText]) -> Option<f64> {
    if sample.is_empty() {
        return None;
    }
    let keywords = Keywords::new([word]).ok()?;
    let hits = sample.iter().filter(|text| keywords.matches(text)).count();
    Some(hits as f64 / sample.len() as f64)
}

impl Bot {
    /// The latest archived items, read and normalised once per `/watch`, which every new word
    /// is measured against (empty when too few to say anything).
    fn generic_sample(&self) -> Result<Vec<ItemText>, StoreError> {
        let sample = self.store.archived(GENERIC_SAMPLE)?;
        if sample.len() < GENERIC_MIN_SAMPLE {
            return Ok(Vec::new());
        }
        Ok(sample.iter().map(archive_text).collect())
    }

    /// Whether `word` is spelled as one of the classifier's anchors ("반도체", "AI").
    fn is_anchor(&self, word: &str) -> bool {
        let folded = fold_keyword(word);
        self.config
            .borrow()
            .classify
            .anchors
            .iter()
            .any(|a| fold_keyword(a.trim_end_matches('*')) == folded.trim_end_matches('*'))
    }

    fn watch_limit(&self) -> usize {
        self.config.borrow().bot.max_watch_words
    }

    fn watch_words_of(&self, chat: i64) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .subscriber(chat)?
            .map(|s| s.watch.into_iter().collect())
            .unwrap_or_default())
    }

    /// `/watch word…`.
    pub(super) async fn watch(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        if !self.config.borrow().bot.watch_words {
            self.reply(cx.chat, &text::watch_disabled(cx.lang), None)
                .await;
            return Ok(());
        }
        let max = self.watch_limit();
        let current = self.watch_words_of(cx.chat)?;
        let Words {
            words: asked,
            invisible,
            ignored,
        } = split_words(args);
        if asked.is_empty() && invisible.is_empty() {
            self.reply(
                cx.chat,
                &text::watch_usage(cx.lang, &strs(&current), max),
                None,
            )
            .await;
            return Ok(());
        }
        let mut accepted: Vec<String> = Vec::new();
        let mut already: Vec<String> = Vec::new();
        let mut refused: Vec<(String, WordRefusal)> = invisible
            .into_iter()
            .map(|w| (w, WordRefusal::Invisible))
            .collect();
        if ignored > 0 {
            refused.push((
                String::new(),
                WordRefusal::TooMany {
                    read: WORDS_PER_COMMAND,
                    ignored,
                },
            ));
        }
        let mut sample: Option<Vec<ItemText>> = None;
        for word in asked {
            if let Some(have) = current
                .iter()
                .chain(&accepted)
                .find(|w| same_word(w, &word))
            {
                already.push(have.clone());
                continue;
            }
            if let Err(why) = check_shape(&word) {
                refused.push((word, why));
                continue;
            }
            let sample = match &sample {
                Some(sample) => sample,
                None => sample.insert(self.generic_sample()?),
            };
            match generic_share(&word, sample) {
                Some(share) if share > GENERIC_SHARE => {
                    let percent = (share * 100.0).round() as u32;
                    let sample = sample.len();
                    refused.push((word, WordRefusal::TooGeneric { percent, sample }));
                    continue;
                }
                // Too few items yet to measure: the initiative's own broad words (the
                // classifier's anchors, found in most of what it sends) are too common anyway.
                None if self.is_anchor(&word) => {
                    refused.push((word, WordRefusal::Anchor));
                    continue;
                }
                _ => {}
            }
            if current.len() + accepted.len() >= max {
                refused.push((word, WordRefusal::Limit { max }));
                continue;
            }
            accepted.push(word);
        }
        let (kind, lang) = (cx.kind.unwrap_or(ChatKind::Private), cx.lang);
        let updated = self.store.update_subscriber(cx.chat, |current| {
            let mut s = current.unwrap_or_else(|| Subscriber::new(cx.chat, kind, lang));
            for word in &accepted {
                if s.watch.len() < max {
                    s.watch.insert(word.clone());
                }
            }
            Some(s)
        })?;
        if !accepted.is_empty() {
            tracing::info!(chat = cx.chat, words = accepted.len(), "watch words added");
        }
        let all = updated.map(|s| s.watch).unwrap_or_default();
        let (all, added, already) = (strs(&all), strs(&accepted), strs(&already));
        self.reply(
            cx.chat,
            &text::watched(cx.lang, &added, &already, &refused, &all, max),
            None,
        )
        .await;
        Ok(())
    }

    /// `/unwatch word…|all`.
    pub(super) async fn unwatch(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        let max = self.watch_limit();
        let current = self.watch_words_of(cx.chat)?;
        // The whole argument may be one watched phrase typed without quotes ("퓨리 오사").
        let whole = args.trim().trim_matches(QUOTES);
        let asked = if current.iter().any(|w| same_word(w, whole)) {
            vec![whole.to_owned()]
        } else {
            let words = split_words(args);
            words.words.into_iter().chain(words.invisible).collect()
        };
        let everything = asked.len() == 1 && asked[0].eq_ignore_ascii_case("all");
        let (removed, unknown): (BTreeSet<String>, Vec<String>) = if everything {
            (current.iter().cloned().collect(), Vec::new())
        } else {
            let mut removed = BTreeSet::new();
            let mut unknown = Vec::new();
            for word in &asked {
                let hits: Vec<&String> = current.iter().filter(|w| same_word(w, word)).collect();
                if hits.is_empty() {
                    unknown.push(word.clone());
                }
                removed.extend(hits.into_iter().cloned());
            }
            (removed, unknown)
        };
        let updated = if removed.is_empty() {
            self.store.subscriber(cx.chat)?
        } else {
            self.store.update_subscriber(cx.chat, |current| {
                current.map(|mut s| {
                    s.watch.retain(|w| !removed.contains(w));
                    s
                })
            })?
        };
        let all = updated.map(|s| s.watch).unwrap_or_default();
        let (all, removed, unknown) = (strs(&all), strs(&removed), strs(&unknown));
        self.reply(
            cx.chat,
            &text::unwatched(cx.lang, &removed, &unknown, &all, max),
            None,
        )
        .await;
        Ok(())
    }

    /// `/watches`.
    pub(super) async fn watches(&self, cx: &Context) -> Result<(), StoreError> {
        let words = self.watch_words_of(cx.chat)?;
        let reply = if self.config.borrow().bot.watch_words {
            text::watches(cx.lang, &strs(&words), self.watch_limit())
        } else {
            text::watch_disabled(cx.lang)
        };
        self.reply(cx.chat, &reply, None).await;
        Ok(())
    }

    /// `/search words [n]`: the newest n items seen, matched or not, whose title or summary
    /// contains every word, in any order ("quotes" keep a phrase together; spacing and
    /// punctuation ignored, as everywhere).
    pub(super) async fn search(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        let mut args = args.trim();
        let mut count = SEARCH_DEFAULT;
        if let Some((rest, last)) = args.rsplit_once(char::is_whitespace)
            && let Ok(n) = last.parse::<usize>()
            && !rest.trim().is_empty()
        {
            count = n.clamp(1, SEARCH_MAX);
            args = rest.trim();
        }
        let Words {
            words, invisible, ..
        } = split_words(args);
        let query = words.join(" ");
        if words.is_empty() {
            let reply = match invisible.first() {
                Some(shown) => text::search_refused(cx.lang, shown, &WordRefusal::Invisible),
                None => text::search_usage(cx.lang),
            };
            self.reply(cx.chat, &reply, None).await;
            return Ok(());
        }
        for word in &words {
            if let Err(why) = check_shape(word).or_else(|why| match why {
                // A search may be short ("AI", "6G"): it shows the newest, not everything.
                WordRefusal::TooShort => Ok(()),
                other => Err(other),
            }) {
                self.reply(cx.chat, &text::search_refused(cx.lang, word, &why), None)
                    .await;
                return Ok(());
            }
        }
        let Ok(keywords) = Keywords::new(words.iter().map(String::as_str)) else {
            self.reply(cx.chat, &text::search_usage(cx.lang), None)
                .await;
            return Ok(());
        };
        let started = std::time::Instant::now();
        // A miss reads the whole archive (a third of a second at 50,000 items): off the
        // runtime's worker threads.
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(move || store.search(&keywords, count))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        tracing::debug!(
            results = found.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "/search"
        );
        if found.is_empty() {
            let kept = crate::items::format_duration(self.config.borrow().store.keep_seen);
            self.reply(cx.chat, &text::search_empty(cx.lang, &query, &kept), None)
                .await;
            return Ok(());
        }
        let heading = text::search_heading_plain(cx.lang, &query, found.len());
        self.reply_list(cx.chat, &heading, found).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_and_commas_and_quotes_keep_phrases() {
        let words = |args: &str| split_words(args).words;
        assert_eq!(words("퓨리오사 리벨리온"), ["퓨리오사", "리벨리온"]);
        assert_eq!(
            words("\"AI 기본법\" 퓨리오사 “모아 팹”"),
            ["AI 기본법", "퓨리오사", "모아 팹"]
        );
        assert_eq!(
            words("AI 기본법, 반도체 특별법,,"),
            ["AI 기본법", "반도체 특별법"]
        );
        assert_eq!(words("  HBM*  HBM* "), ["HBM*"]);
        assert!(words("  ").is_empty());
    }

    #[test]
    fn invisible_characters_are_dropped_and_a_word_of_nothing_else_is_named() {
        let read = split_words("퓨리\u{200B}오사 \u{200B}\u{2060} 리벨\u{00AD}리온");
        assert_eq!(read.words, ["퓨리오사", "리벨리온"]);
        assert_eq!(read.invisible, ["U+200B U+2060"]);
        // A 4,096-character argument is read up to a bound.
        let long = "낱말 ".to_owned()
            + &(0..2000)
                .map(|i| format!("w{i}x"))
                .collect::<Vec<_>>()
                .join(" ");
        let read = split_words(&long);
        assert_eq!(read.words.len(), WORDS_PER_COMMAND);
        assert_eq!(read.ignored, 2001 - WORDS_PER_COMMAND);
    }

    #[test]
    fn word_shapes_are_checked_with_reasons() {
        assert_eq!(check_shape("퓨리오사"), Ok(()));
        assert_eq!(check_shape("HBM*"), Ok(()));
        assert_eq!(check_shape("AI칩"), Ok(()));
        assert_eq!(check_shape("칩"), Err(WordRefusal::Length { chars: 1 }));
        assert_eq!(check_shape("AI"), Err(WordRefusal::TooShort));
        assert_eq!(check_shape("K칩"), Err(WordRefusal::TooShort));
        assert_eq!(check_shape("--"), Err(WordRefusal::NoLetters));
        let long = "가".repeat(41);
        assert_eq!(check_shape(&long), Err(WordRefusal::Length { chars: 41 }));
        assert!(same_word("퓨리 오사", "퓨리오사"));
        assert!(!same_word("HBM*", "HBM"));
    }
}
