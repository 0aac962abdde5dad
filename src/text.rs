//! Every sentence the bot says — answers, and the headings the deliverer puts on digests — in
//! Korean and English, in one place. Korean is the default;
//! English is used when a user's Telegram client reports another language.
//!
//! Functions return Telegram HTML unless their name ends in `_plain`; everything that comes from
//! the config or from users is escaped here.

use chrono::{NaiveDate, NaiveTime};
use html_escape::encode_text;

use crate::records::Lang;

/// The commands, with their descriptions, as registered with setMyCommands (admin commands are
/// not advertised).
pub fn command_list(lang: Lang) -> Vec<(&'static str, &'static str)> {
    match lang {
        Lang::Ko => vec![
            ("start", "시작하기: 봇 소개와 주제 선택"),
            ("topics", "주제 목록과 구독 버튼"),
            ("subscribe", "주제 구독: /subscribe 주제… 또는 all"),
            ("unsubscribe", "구독 해지: /unsubscribe 주제… 또는 all"),
            ("mysubs", "내 구독 보기"),
            ("recent", "최근 알림: /recent [주제] [개수]"),
            ("watch", "내 키워드 알림: /watch 키워드…"),
            ("unwatch", "키워드 알림 해지: /unwatch 키워드… 또는 all"),
            ("watches", "내 키워드 보기"),
            ("search", "지난 소식 검색: /search 검색어 [개수]"),
            ("digest", "하루 한 번 요약: /digest on [HH:MM] | off"),
            ("stop", "모든 구독 해지, 대화 기록 삭제"),
            ("help", "도움말"),
        ],
        Lang::En => vec![
            ("start", "Start: what the bot does, choose topics"),
            ("topics", "Topics and subscription buttons"),
            ("subscribe", "Subscribe: /subscribe topic… or all"),
            ("unsubscribe", "Unsubscribe: /unsubscribe topic… or all"),
            ("mysubs", "My subscriptions"),
            ("recent", "Recent notices: /recent [topic] [count]"),
            ("watch", "Your own words: /watch word…"),
            ("unwatch", "Stop watching: /unwatch word… or all"),
            ("watches", "Your watch words"),
            ("search", "Search past items: /search words [count]"),
            ("digest", "One daily summary: /digest on [HH:MM] | off"),
            ("stop", "Unsubscribe from everything and forget this chat"),
            ("help", "Help"),
        ],
    }
}

/// The `/start` greeting. It names the topics of the running config (not a fixed list: an
/// operator may watch other topics).
pub fn greeting(lang: Lang, topics: &[&str]) -> String {
    let shown: Vec<&str> = topics.iter().copied().take(6).collect();
    let mut list = encode_text(&shown.join(", ")).into_owned();
    if topics.len() > shown.len() {
        list.push_str(match lang {
            Lang::Ko => " 등",
            Lang::En => "…",
        });
    }
    match lang {
        Lang::Ko => format!(
            "안녕하세요! <b>policy-watch</b> 봇입니다.\n\
            지켜보는 부처가 다음 주제({list})에 관한 자료를 내면 몇 분 안에 알려 드립니다.\n\n\
            아래 버튼으로 받을 주제를 고르세요(지금은 선택된 주제가 없습니다). \
            구독 이후의 새 소식만 보내 드리며, 지난 소식은 /recent 로 볼 수 있습니다.\n\
            명령어 목록: /help"
        ),
        Lang::En => format!(
            "Hello! This is the <b>policy-watch</b> bot.\n\
            When the ministries it watches publish something on these topics ({list}), you hear \
            about it within minutes.\n\n\
            Choose your topics with the buttons below (none is selected yet). You get news from \
            now on; /recent shows what came before.\n\
            Commands: /help"
        ),
    }
}

pub fn help(lang: Lang, admin: bool) -> String {
    let mut out = match lang {
        Lang::Ko => String::from("<b>명령어</b>\n"),
        Lang::En => String::from("<b>Commands</b>\n"),
    };
    for (command, description) in command_list(lang) {
        out.push_str(&format!("/{command} — {}\n", encode_text(description)));
    }
    match lang {
        Lang::Ko => out.push_str(
            "\n그룹에서는 그룹 관리자만 구독을 바꿀 수 있습니다. 주제는 id나 이름으로 지정합니다 \
             (예: <code>/subscribe ai_chip_npu 인재</code>).\n\
             주제 밖의 관심사는 키워드로: <code>/watch 퓨리오사</code> 하면 그 말이 들어간 새 소식이 \
             주제와 상관없이 옵니다(👀 표시). 지난 소식은 <code>/search 검색어</code>로 찾습니다.",
        ),
        Lang::En => out.push_str(
            "\nIn groups only the group's administrators can change subscriptions. Name topics by \
             id or by name (e.g. <code>/subscribe ai_chip_npu talent</code>).\n\
             Follow your own words too: after <code>/watch FuriosaAI</code> every new item that \
             contains it reaches you, whatever its topic (marked 👀). Find past items with \
             <code>/search words</code>.",
        ),
    }
    if admin {
        out.push_str(match lang {
            Lang::Ko => "\n\n<b>운영자</b>\n/status — 소스·발송 상태\n/reload — 설정 다시 읽기",
            Lang::En => {
                "\n\n<b>Operators</b>\n/status — sources and delivery\n/reload — re-read the config"
            }
        });
    }
    out
}

/// Reply to free text and unknown commands in private chats.
pub fn short_help(lang: Lang) -> String {
    match lang {
        Lang::Ko => "명령어만 알아듣습니다. 주제 선택은 /topics, 전체 목록은 /help 입니다.".into(),
        Lang::En => {
            "I only understand commands: /topics to choose topics, /help for the list.".into()
        }
    }
}

/// A topic as listed: name and hashtag.
pub struct TopicLine {
    pub id: String,
    pub name: String,
    pub hashtag: String,
    pub subscribed: bool,
}

pub fn topics(lang: Lang, topics: &[TopicLine]) -> String {
    let mut out = match lang {
        Lang::Ko => String::from("<b>주제</b> — 버튼을 누르면 구독(✅)과 해지(▫️)가 바뀝니다.\n\n"),
        Lang::En => {
            String::from("<b>Topics</b> — tap a button to subscribe (✅) or unsubscribe (▫️).\n\n")
        }
    };
    for t in topics {
        out.push_str(&format!(
            "{} {} {} <code>{}</code>\n",
            if t.subscribed { "✅" } else { "▫️" },
            encode_text(&t.name),
            encode_text(&t.hashtag),
            encode_text(&t.id)
        ));
    }
    out
}

/// Label of a topic's toggle button (plain text).
pub fn toggle_label_plain(name: &str, subscribed: bool) -> String {
    format!("{} {name}", if subscribed { "✅" } else { "▫️" })
}

/// Answer to a tap on a topic button (plain text, shown as a toast).
pub fn toggled_plain(lang: Lang, name: &str, subscribed: bool) -> String {
    match (lang, subscribed) {
        (Lang::Ko, true) => format!("구독: {name}"),
        (Lang::Ko, false) => format!("구독 해지: {name}"),
        (Lang::En, true) => format!("Subscribed: {name}"),
        (Lang::En, false) => format!("Unsubscribed: {name}"),
    }
}

pub fn topic_gone_plain(lang: Lang) -> String {
    match lang {
        Lang::Ko => "이 주제는 더 이상 없습니다. 목록을 새로 고쳤습니다.".into(),
        Lang::En => "That topic no longer exists; the list was refreshed.".into(),
    }
}

fn names_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("• {}", encode_text(n)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "label: a, b" lines for the lists that are not empty (the label per language).
fn named_lines(lang: Lang, lists: &[(&str, &str, &[&str])]) -> Vec<String> {
    lists
        .iter()
        .filter(|(_, _, names)| !names.is_empty())
        .map(|(ko, en, names)| {
            let label = if lang == Lang::Ko { ko } else { en };
            let names: Vec<String> = names.iter().map(|n| echo_word(n)).collect();
            format!("{label}: {}", encode_text(&names.join(", ")))
        })
        .collect()
}

pub fn subscribed(lang: Lang, added: &[&str], already: &[&str], all: &[&str]) -> String {
    let lines = named_lines(
        lang,
        &[
            ("구독했습니다", "Subscribed", added),
            ("이미 구독 중입니다", "Already subscribed", already),
        ],
    );
    match lang {
        Lang::Ko => format!(
            "{}\n\n지금 받는 주제:\n{}",
            lines.join("\n"),
            names_list(all)
        ),
        Lang::En => format!(
            "{}\n\nYour topics now:\n{}",
            lines.join("\n"),
            names_list(all)
        ),
    }
}

pub fn unsubscribed(lang: Lang, removed: &[&str], not_subscribed: &[&str], all: &[&str]) -> String {
    let rest = if all.is_empty() {
        match lang {
            Lang::Ko => "이제 받는 주제가 없습니다. /topics 로 다시 고를 수 있습니다.".to_owned(),
            Lang::En => "You have no topics now; /topics to choose again.".to_owned(),
        }
    } else {
        match lang {
            Lang::Ko => format!("지금 받는 주제:\n{}", names_list(all)),
            Lang::En => format!("Your topics now:\n{}", names_list(all)),
        }
    };
    let lines = named_lines(
        lang,
        &[
            ("구독을 해지했습니다", "Unsubscribed", removed),
            (
                "구독하고 있지 않던 주제입니다",
                "You were not subscribed to",
                not_subscribed,
            ),
        ],
    );
    format!("{}\n\n{rest}", lines.join("\n"))
}

/// A user's word as it is echoed back: short, so that an answer never outgrows a message.
fn echo(words: &[&str]) -> String {
    const MAX_WORDS: usize = 8;
    let mut shown: Vec<String> = words
        .iter()
        .take(MAX_WORDS)
        .map(|w| crate::items::truncate_chars(w, 30))
        .collect();
    if words.len() > MAX_WORDS {
        shown.push(format!("… (+{})", words.len() - MAX_WORDS));
    }
    encode_text(&shown.join(", ")).into_owned()
}

/// Words of a command that name no topic, or several: the valid ones are listed. `changes`:
/// the command would have changed the subscription (and did not).
pub fn unknown_topics(
    lang: Lang,
    unknown: &[&str],
    ambiguous: &[(String, Vec<String>)],
    valid: &[TopicLine],
    changes: bool,
) -> String {
    let list = valid
        .iter()
        .map(|t| {
            format!(
                "• <code>{}</code> {}",
                encode_text(&t.id),
                encode_text(&t.name)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut lines = Vec::new();
    if !unknown.is_empty() {
        lines.push(match lang {
            Lang::Ko => format!("모르는 주제입니다: {}", echo(unknown)),
            Lang::En => format!("Unknown topic: {}", echo(unknown)),
        });
    }
    for (word, names) in ambiguous.iter().take(4) {
        let names = encode_text(&names.join(", ")).into_owned();
        lines.push(match lang {
            Lang::Ko => format!(
                "{}: 여러 주제에 해당합니다 — {names}. 더 자세히 적어 주세요.",
                echo(&[word])
            ),
            Lang::En => format!(
                "{}: fits several topics — {names}. Please be more specific.",
                echo(&[word])
            ),
        });
    }
    if changes {
        lines.push(match lang {
            Lang::Ko => "아무것도 바꾸지 않았습니다.".to_owned(),
            Lang::En => "Nothing was changed.".to_owned(),
        });
    }
    match lang {
        Lang::Ko => format!(
            "{}\n사용할 수 있는 주제(id 또는 이름, 여러 개는 띄어쓰기나 쉼표로):\n{list}\n또는 <code>all</code>",
            lines.join("\n")
        ),
        Lang::En => format!(
            "{}\nValid topics (id or name, several separated by spaces or commas):\n{list}\nor <code>all</code>",
            lines.join("\n")
        ),
    }
}

pub fn subscribe_usage(lang: Lang, valid: &[TopicLine]) -> String {
    let head = match lang {
        Lang::Ko => {
            "사용법: <code>/subscribe 주제…</code> 또는 <code>/subscribe all</code>. 버튼으로 고르려면 /topics"
        }
        Lang::En => {
            "Usage: <code>/subscribe topic…</code> or <code>/subscribe all</code>. Buttons: /topics"
        }
    };
    format!("{head}\n\n{}", topics(lang, valid))
}

pub fn mysubs(lang: Lang, names: &[&str], watch: &[&str], digest: Option<NaiveTime>) -> String {
    if names.is_empty() && watch.is_empty() {
        return match lang {
            Lang::Ko => "구독 중인 주제가 없습니다. /topics 로 골라 보세요.".into(),
            Lang::En => "You have no topics yet. Choose some with /topics.".into(),
        };
    }
    let mode = match (lang, digest) {
        (Lang::Ko, Some(t)) => format!("받는 방식: 매일 {} (KST) 요약", t.format("%H:%M")),
        (Lang::Ko, None) => "받는 방식: 소식마다 바로".to_owned(),
        (Lang::En, Some(t)) => format!("Delivery: one daily summary at {} KST", t.format("%H:%M")),
        (Lang::En, None) => "Delivery: each notice as it comes".to_owned(),
    };
    let topics = if names.is_empty() {
        match lang {
            Lang::Ko => "주제 없음 (/topics)".to_owned(),
            Lang::En => "no topics (/topics)".to_owned(),
        }
    } else {
        names_list(names)
    };
    let mut out = match lang {
        Lang::Ko => format!("<b>내 구독</b>\n{topics}"),
        Lang::En => format!("<b>My subscriptions</b>\n{topics}"),
    };
    if !watch.is_empty() {
        out.push_str(&match lang {
            Lang::Ko => format!("\n\n<b>내 키워드</b> 👀\n{}", names_list(watch)),
            Lang::En => format!("\n\n<b>Watch words</b> 👀\n{}", names_list(watch)),
        });
    }
    out.push_str(&format!("\n\n{mode}"));
    out
}

/// Why a watch word was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum WordRefusal {
    /// Fewer than 2 or more than 40 characters.
    Length { chars: usize },
    /// Nothing to match once spacing and punctuation are ignored.
    NoLetters,
    /// Under two Hangul syllables or three letters: it would be found inside too many words.
    TooShort,
    /// It occurs in `percent` % of the `sample` latest items.
    TooGeneric { percent: u32, sample: usize },
    /// The chat already has `max` words.
    Limit { max: usize },
    /// Nothing but invisible characters (shown by code point).
    Invisible,
    /// One of the initiative's broad words (the classifier's anchors): in most of what is sent.
    Anchor,
    /// More words than one command reads (`read`); `ignored` were not read.
    TooMany { read: usize, ignored: usize },
}

/// Characters of a typed word repeated in an answer at most: an answer must fit Telegram's
/// 4,096, whatever was typed.
const ECHO_CHARS: usize = 48;

/// A typed word as an answer repeats it: cut to [`ECHO_CHARS`] with "…".
fn echo_word(word: &str) -> String {
    crate::items::truncate_chars(word, ECHO_CHARS)
}

/// A watch word and why it was refused, in the chat's language (HTML).
fn refusal(lang: Lang, word: &str, why: &WordRefusal) -> String {
    let word = encode_text(&echo_word(word)).into_owned();
    let reason = match (lang, why) {
        (Lang::Ko, WordRefusal::Length { chars }) => format!("{chars}자입니다. 2–40자로 써 주세요"),
        (Lang::En, WordRefusal::Length { chars }) => {
            format!("{chars} characters; use 2 to 40")
        }
        (Lang::Ko, WordRefusal::NoLetters) => "글자나 숫자가 없습니다".to_owned(),
        (Lang::En, WordRefusal::NoLetters) => "it has no letters or digits".to_owned(),
        (Lang::Ko, WordRefusal::TooShort) => {
            "너무 짧습니다. 한글 두 글자 또는 세 글자 이상으로 써 주세요".to_owned()
        }
        (Lang::En, WordRefusal::TooShort) => {
            "too short: use at least two Hangul syllables or three letters".to_owned()
        }
        (Lang::Ko, WordRefusal::TooGeneric { percent, sample }) => format!(
            "너무 흔합니다. 최근 소식 {sample}건 중 {percent}%에 나옵니다. 더 구체적인 말로 써 주세요"
        ),
        (Lang::En, WordRefusal::TooGeneric { percent, sample }) => format!(
            "too common: it is in {percent}% of the latest {sample} items; try a more specific word"
        ),
        (Lang::Ko, WordRefusal::Limit { max }) => {
            format!("키워드는 채팅마다 {max}개까지입니다. /unwatch 로 정리해 주세요")
        }
        (Lang::En, WordRefusal::Limit { max }) => {
            format!("a chat may watch {max} words; remove some with /unwatch")
        }
        (Lang::Ko, WordRefusal::Invisible) => {
            "보이지 않는 문자뿐입니다(웹 페이지에서 복사하면 섞여 들어옵니다). 직접 입력해 주세요"
                .to_owned()
        }
        (Lang::En, WordRefusal::Invisible) => {
            "only invisible characters (they come along when text is copied from a web page); type the word"
                .to_owned()
        }
        (Lang::Ko, WordRefusal::Anchor) => {
            "너무 흔합니다. 이 봇이 보내는 소식 대부분에 나오는 말입니다. 더 구체적인 말로 써 주세요"
                .to_owned()
        }
        (Lang::En, WordRefusal::Anchor) => {
            "too common: most of what this bot sends contains it; try a more specific word"
                .to_owned()
        }
        (Lang::Ko, WordRefusal::TooMany { read, ignored }) => {
            return format!("✗ 한 번에 {read}개까지만 읽습니다. 나머지 {ignored}개는 다시 보내 주세요");
        }
        (Lang::En, WordRefusal::TooMany { read, ignored }) => {
            return format!("✗ one command reads {read} words at most; send the other {ignored} again");
        }
    };
    format!("✗ {word} — {reason}")
}

/// The chat's watch words, numbered against the limit (HTML), or how to add some.
pub fn watches(lang: Lang, words: &[&str], max: usize) -> String {
    if words.is_empty() {
        return match lang {
            Lang::Ko => {
                "등록한 키워드가 없습니다. <code>/watch 퓨리오사</code>처럼 등록하면, 주제와 \
                상관없이 그 말이 들어간 새 소식을 보내 드립니다."
                    .into()
            }
            Lang::En => {
                "You watch no words yet. With <code>/watch FuriosaAI</code>, every new item \
                that contains the word reaches you, whatever its topic."
                    .into()
            }
        };
    }
    match lang {
        Lang::Ko => format!(
            "<b>내 키워드</b> 👀 ({}/{max})\n{}\n\n해지: <code>/unwatch 키워드</code> 또는 <code>/unwatch all</code>",
            words.len(),
            names_list(words)
        ),
        Lang::En => format!(
            "<b>Watch words</b> 👀 ({}/{max})\n{}\n\nRemove: <code>/unwatch word</code> or <code>/unwatch all</code>",
            words.len(),
            names_list(words)
        ),
    }
}

/// `/watch` with no words.
pub fn watch_usage(lang: Lang, words: &[&str], max: usize) -> String {
    let head = match lang {
        Lang::Ko => {
            "사용법: <code>/watch 키워드…</code> (여럿은 띄어 쓰거나, 띄어쓰기가 있는 말은 \
            <code>\"AI 기본법\"</code>처럼 따옴표로). 띄어쓰기와 문장부호는 무시하며, 영문은 단어 \
            단위로 찾습니다(<code>HBM*</code>는 HBM3E도 찾음)."
        }
        Lang::En => {
            "Usage: <code>/watch word…</code> (several separated by spaces; quote a phrase: \
            <code>\"AI basic act\"</code>). Spacing and punctuation are ignored; Latin words match \
            whole (<code>HBM*</code> also finds HBM3E)."
        }
    };
    format!("{head}\n\n{}", watches(lang, words, max))
}

/// What `/watch` did.
pub fn watched(
    lang: Lang,
    added: &[&str],
    already: &[&str],
    refused: &[(String, WordRefusal)],
    all: &[&str],
    max: usize,
) -> String {
    let mut lines = named_lines(
        lang,
        &[
            ("등록했습니다", "Now watching", added),
            ("이미 등록됨", "Already watched", already),
        ],
    );
    lines.extend(refused.iter().map(|(w, why)| refusal(lang, w, why)));
    format!("{}\n\n{}", lines.join("\n"), watches(lang, all, max))
}

/// What `/unwatch` did.
pub fn unwatched(
    lang: Lang,
    removed: &[&str],
    unknown: &[&str],
    all: &[&str],
    max: usize,
) -> String {
    let mut lines = named_lines(
        lang,
        &[
            ("해지했습니다", "No longer watching", removed),
            ("등록되지 않은 키워드", "Not watched", unknown),
        ],
    );
    if lines.is_empty() {
        lines.push(match lang {
            Lang::Ko => {
                "사용법: <code>/unwatch 키워드…</code> 또는 <code>/unwatch all</code>".into()
            }
            Lang::En => "Usage: <code>/unwatch word…</code> or <code>/unwatch all</code>".into(),
        });
    }
    format!("{}\n\n{}", lines.join("\n"), watches(lang, all, max))
}

pub fn watch_disabled(lang: Lang) -> String {
    match lang {
        Lang::Ko => "이 봇에서는 키워드 알림을 쓸 수 없습니다. 주제 구독은 /topics 입니다.".into(),
        Lang::En => "Watch words are turned off on this bot. Topics: /topics".into(),
    }
}

pub fn search_usage(lang: Lang) -> String {
    match lang {
        Lang::Ko => {
            "사용법: <code>/search 검색어 [개수]</code> — 주제와 상관없이 지금까지 본 모든 \
            소식의 제목과 요약에서 찾습니다 (예: <code>/search 퓨리오사 10</code>)."
                .into()
        }
        Lang::En => "Usage: <code>/search words [count]</code> — looks through the titles and \
            summaries of every item seen, matched or not (e.g. <code>/search FuriosaAI 10</code>)."
            .into(),
    }
}

/// Heading of a `/search` answer (plain text).
pub fn search_heading_plain(lang: Lang, query: &str, count: usize) -> String {
    let query = echo_word(query);
    match lang {
        Lang::Ko => format!("검색 \"{query}\" — 최신 {count}건"),
        Lang::En => format!("Search \"{query}\" — latest {count}"),
    }
}

pub fn search_empty(lang: Lang, query: &str, kept: &str) -> String {
    let query = echo_word(query);
    let query = encode_text(&query);
    match lang {
        Lang::Ko => format!(
            "\"{query}\"이(가) 들어간 소식이 없습니다 (최근 {kept} 동안 본 소식에서 찾았습니다)."
        ),
        Lang::En => {
            format!("No item contains \"{query}\" (searched everything seen in the last {kept}).")
        }
    }
}

pub fn search_refused(lang: Lang, query: &str, why: &WordRefusal) -> String {
    refusal(lang, query, why)
}

/// Heading of a `/recent` answer (plain text).
pub fn recent_heading_plain(lang: Lang, topic: Option<&str>, count: usize) -> String {
    match (lang, topic) {
        (Lang::Ko, Some(t)) => format!("최근 알림 {count}건 — {t}"),
        (Lang::Ko, None) => format!("최근 알림 {count}건"),
        (Lang::En, Some(t)) => format!("Latest {count} notices — {t}"),
        (Lang::En, None) => format!("Latest {count} notices"),
    }
}

pub fn recent_empty(lang: Lang) -> String {
    match lang {
        Lang::Ko => "아직 기록된 알림이 없습니다.".into(),
        Lang::En => "No notices recorded yet.".into(),
    }
}

pub fn recent_usage(lang: Lang) -> String {
    match lang {
        Lang::Ko => "사용법: <code>/recent [주제] [개수 1-20]</code>".into(),
        Lang::En => "Usage: <code>/recent [topic] [count 1-20]</code>".into(),
    }
}

pub fn digest_on(lang: Lang, at: NaiveTime) -> String {
    let at = at.format("%H:%M");
    match lang {
        Lang::Ko => format!(
            "이제 소식을 모아 매일 {at} (한국 시간)에 한 번 보내 드립니다. 소식이 없는 날에는 보내지 않습니다. 끄려면 <code>/digest off</code>"
        ),
        Lang::En => format!(
            "From now on you get one summary a day at {at} (Korea time), none on days without news. <code>/digest off</code> to stop."
        ),
    }
}

pub fn digest_off(lang: Lang) -> String {
    match lang {
        Lang::Ko => "요약을 껐습니다. 이제 소식마다 바로 보내 드리며, 모아 둔 소식은 지금 한 번에 보냅니다.".into(),
        Lang::En => "Daily summary off: each notice comes as it is published (notices already collected are sent now).".into(),
    }
}

pub fn digest_usage(lang: Lang, current: Option<NaiveTime>) -> String {
    let now = match (lang, current) {
        (Lang::Ko, Some(t)) => format!("지금: 매일 {} 요약", t.format("%H:%M")),
        (Lang::Ko, None) => "지금: 꺼짐".to_owned(),
        (Lang::En, Some(t)) => format!("Now: daily at {}", t.format("%H:%M")),
        (Lang::En, None) => "Now: off".to_owned(),
    };
    match lang {
        Lang::Ko => format!(
            "사용법: <code>/digest on [HH:MM]</code> (기본 08:00, 한국 시간) 또는 <code>/digest off</code>\n{now}"
        ),
        Lang::En => format!(
            "Usage: <code>/digest on [HH:MM]</code> (default 08:00, Korea time) or <code>/digest off</code>\n{now}"
        ),
    }
}

/// `/digest on TIME` with a time that is not one.
pub fn digest_bad_time(lang: Lang, given: &str) -> String {
    let given = echo(&[given]);
    match lang {
        Lang::Ko => format!(
            "{given}: 시각을 읽을 수 없습니다. 00:00부터 23:59 사이로, 예: <code>/digest on 08:30</code> (한국 시간)"
        ),
        Lang::En => format!(
            "{given}: not a time of day. Use 00:00 to 23:59, e.g. <code>/digest on 08:30</code> (Korea time)"
        ),
    }
}

pub fn digest_heading(lang: Lang, day: NaiveDate, count: usize, part: u32, parts: u32) -> String {
    let part = if parts > 1 {
        format!(" ({part}/{parts})")
    } else {
        String::new()
    };
    match lang {
        Lang::Ko => format!(
            "🗞 {} 정책 소식 요약 — {count}건{part}",
            day.format("%Y-%m-%d")
        ),
        Lang::En => format!(
            "🗞 Policy digest for {} — {count} notices{part}",
            day.format("%Y-%m-%d")
        ),
    }
}

pub fn stopped(lang: Lang) -> String {
    match lang {
        Lang::Ko => "모든 구독을 해지하고 이 대화의 설정을 지웠습니다. 다시 받으려면 /start".into(),
        Lang::En => {
            "Unsubscribed from everything; this chat's settings are deleted. /start to come back."
                .into()
        }
    }
}

pub fn not_subscribed(lang: Lang) -> String {
    match lang {
        Lang::Ko => "아직 구독하지 않았습니다. /start 로 시작하세요.".into(),
        Lang::En => "This chat has not subscribed yet. Send /start to begin.".into(),
    }
}

/// A group member who is not an administrator tried to change the group's subscriptions.
pub fn group_admins_only(lang: Lang) -> String {
    match lang {
        Lang::Ko => "죄송합니다. 이 그룹의 구독은 그룹 관리자만 바꿀 수 있습니다.".into(),
        Lang::En => "Sorry, only this group's administrators can change its subscriptions.".into(),
    }
}

/// An operator command from someone who is not in `telegram.admins`.
pub fn operators_only(lang: Lang) -> String {
    match lang {
        Lang::Ko => "운영자 전용 명령입니다.".into(),
        Lang::En => "This command is for the bot's operators only.".into(),
    }
}

pub fn slow_down_plain(lang: Lang, seconds: u64) -> String {
    match lang {
        Lang::Ko => format!("명령이 너무 많습니다. {seconds}초 뒤에 다시 시도해 주세요."),
        Lang::En => format!("Too many commands; try again in {seconds} s."),
    }
}

pub fn reloaded(lang: Lang, sources: usize, enabled: usize, topics: usize) -> String {
    match lang {
        Lang::Ko => {
            format!("설정을 다시 읽었습니다: 소스 {sources}개 (사용 {enabled}개), 주제 {topics}개.")
        }
        Lang::En => {
            format!("Config reloaded: {sources} sources ({enabled} enabled), {topics} topics.")
        }
    }
}

pub fn reload_failed(lang: Lang, error: &str) -> String {
    let error = encode_text(error);
    match lang {
        Lang::Ko => format!(
            "설정을 적용하지 않았습니다. 지금 설정이 그대로 쓰입니다.\n<code>{error}</code>"
        ),
        Lang::En => {
            format!("The config was not applied; the running one stays.\n<code>{error}</code>")
        }
    }
}

pub fn reload_unavailable(lang: Lang) -> String {
    match lang {
        Lang::Ko => "이 실행에서는 설정을 다시 읽을 수 없습니다 (설정 파일 경로가 없음).".into(),
        Lang::En => "This run cannot reload its config (no config file path).".into(),
    }
}

/// One source in `/status`.
pub struct SourceStatus {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub failures: u32,
    pub items_seen: u64,
    pub next_poll: Option<String>,
}

/// Everything `/status` shows.
pub struct Status {
    pub version: &'static str,
    pub uptime: String,
    pub sources: Vec<SourceStatus>,
    pub outbox: usize,
    pub dead_letters: usize,
    pub subscribers_active: usize,
    pub subscribers_total: usize,
    /// Active chats with at least one watch word.
    pub watching: usize,
}

pub fn status(lang: Lang, s: &Status) -> String {
    let (never, none, off) = match lang {
        Lang::Ko => ("없음", "-", "꺼짐"),
        Lang::En => ("never", "-", "disabled"),
    };
    let mut out = match lang {
        Lang::Ko => format!(
            "<b>policy-watch {}</b>\n가동 시간 {}\n발송 대기 {} · 보류(dead letter) {}\n구독자 {} (전체 {}) · 키워드 알림 {}\n",
            s.version,
            s.uptime,
            s.outbox,
            s.dead_letters,
            s.subscribers_active,
            s.subscribers_total,
            s.watching
        ),
        Lang::En => format!(
            "<b>policy-watch {}</b>\nup {}\noutbox {} · dead letters {}\nsubscribers {} active ({} total) · {} with watch words\n",
            s.version,
            s.uptime,
            s.outbox,
            s.dead_letters,
            s.subscribers_active,
            s.subscribers_total,
            s.watching
        ),
    };
    for (shown, src) in s.sources.iter().enumerate() {
        // Telegram's 4096-character limit: a long source list ends with a count.
        if out.chars().count() > 3500 {
            let more = s.sources.len() - shown;
            out.push_str(&match lang {
                Lang::Ko => format!("\n… 소스 {more}개 더"),
                Lang::En => format!("\n… {more} more sources"),
            });
            break;
        }
        out.push_str(&format!(
            "\n<b>{}</b> (<code>{}</code>){}\n",
            encode_text(&src.name),
            encode_text(&src.id),
            if src.enabled {
                String::new()
            } else {
                format!(" — {off}")
            }
        ));
        let last_ok = src.last_success.as_deref().unwrap_or(never);
        let next = src.next_poll.as_deref().unwrap_or(none);
        out.push_str(&match lang {
            Lang::Ko => format!(
                "마지막 성공 {last_ok} · 다음 수집 {next} · 본 항목 {}\n",
                src.items_seen
            ),
            Lang::En => format!(
                "last success {last_ok} · next poll {next} · items seen {}\n",
                src.items_seen
            ),
        });
        if let Some(error) = &src.last_error {
            out.push_str(&match lang {
                Lang::Ko => format!("⚠️ 연속 실패 {}회: {}\n", src.failures, encode_text(error)),
                Lang::En => format!(
                    "⚠️ {} failures in a row: {}\n",
                    src.failures,
                    encode_text(error)
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_stays_under_telegrams_limit() {
        let long = Status {
            version: "0.1.0",
            uptime: "1h".into(),
            sources: (0..1000)
                .map(|n| SourceStatus {
                    id: format!("source-{n}"),
                    name: format!("보도자료 {n} <b>"),
                    enabled: true,
                    last_success: Some("2026-11-26 09:00 KST".into()),
                    last_error: Some("HTTP 502 & more".into()),
                    failures: 3,
                    items_seen: 50,
                    next_poll: None,
                })
                .collect(),
            outbox: 0,
            dead_letters: 0,
            subscribers_active: 1,
            subscribers_total: 1,
            watching: 0,
        };
        for lang in [Lang::Ko, Lang::En] {
            let text = status(lang, &long);
            assert!(text.chars().count() < 4096, "{}", text.chars().count());
            assert!(text.contains("more sources") || text.contains("개 더"));
            assert!(
                text.contains("&lt;b&gt;") && text.contains("&amp; more"),
                "escaped"
            );
        }
    }
}
