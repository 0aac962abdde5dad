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

/// Splits a command's arguments into words: on whitespace and commas, a quoted phrase
/// ("AI 기본법", “AI 기본법”) staying one word. With a comma anywhere, only commas separate.
pub(super) fn split_words(args: &str) -> Vec<String> {
    let commas = args.contains([',', '，']);
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in args.chars() {
        match c {
            c if QUOTES.contains(&c) => quoted = !quoted,
            ',' | '，' => words.push(std::mem::take(&mut current)),
            c if c.is_whitespace() && !quoted && !commas => {
                words.push(std::mem::take(&mut current))
            }
            c => current.push(c),
        }
    }
    words.push(current);
    let mut out: Vec<String> = Vec::new();
    for word in words {
        let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
        }
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
        let asked = split_words(args);
        if asked.is_empty() {
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
        let mut refused: Vec<(String, WordRefusal)> = Vec::new();
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
            if let Some(share) = generic_share(&word, sample)
                && share > GENERIC_SHARE
            {
                let percent = (share * 100.0).round() as u32;
                let sample = sample.len();
                refused.push((word, WordRefusal::TooGeneric { percent, sample }));
                continue;
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
            split_words(args)
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
    /// contains the words (spacing and punctuation ignored, as everywhere).
    pub(super) async fn search(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        let mut words: Vec<&str> = args.split_whitespace().collect();
        let mut count = SEARCH_DEFAULT;
        if words.len() > 1
            && let Some(n) = words.last().and_then(|w| w.parse::<usize>().ok())
        {
            count = n.clamp(1, SEARCH_MAX);
            words.pop();
        }
        let query = words.join(" ");
        let query = query.trim_matches(QUOTES);
        if query.is_empty() {
            self.reply(cx.chat, &text::search_usage(cx.lang), None)
                .await;
            return Ok(());
        }
        if let Err(why) = check_shape(query).or_else(|why| match why {
            // A search may be short ("AI", "6G"): it shows the newest, not everything.
            WordRefusal::TooShort => Ok(()),
            other => Err(other),
        }) {
            self.reply(cx.chat, &text::search_refused(cx.lang, query, &why), None)
                .await;
            return Ok(());
        }
        let Ok(keywords) = Keywords::new([query]) else {
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
            self.reply(cx.chat, &text::search_empty(cx.lang, query, &kept), None)
                .await;
            return Ok(());
        }
        let heading = text::search_heading_plain(cx.lang, query, found.len());
        self.reply_list(cx.chat, &heading, found).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_and_commas_and_quotes_keep_phrases() {
        assert_eq!(split_words("퓨리오사 리벨리온"), ["퓨리오사", "리벨리온"]);
        assert_eq!(
            split_words("\"AI 기본법\" 퓨리오사 “모아 팹”"),
            ["AI 기본법", "퓨리오사", "모아 팹"]
        );
        assert_eq!(
            split_words("AI 기본법, 반도체 특별법,,"),
            ["AI 기본법", "반도체 특별법"]
        );
        assert_eq!(split_words("  HBM*  HBM* "), ["HBM*"]);
        assert!(split_words("  ").is_empty());
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
