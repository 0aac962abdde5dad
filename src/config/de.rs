//! The checks run inside deserialisation (`deserialize_with`), so the TOML parser locates
//! each error on the offending value.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

use super::{MIN_INTERVAL, MIN_KEEP_SEEN};

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?}: {e}; write it like \"30s\", \"10m\", \"6h\" or \"365d\""
        ))
    })
}

pub(super) fn de_keep_seen<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let keep = de_duration(d)?;
    if keep < MIN_KEEP_SEEN {
        return Err(serde::de::Error::custom(format!(
            "keep_seen {} is below the minimum of 7d; use \"7d\" or more (\"365d\" is the default): items forgotten sooner can come back as new when a source lists them again",
            humantime::format_duration(keep)
        )));
    }
    Ok(keep)
}

pub(super) fn de_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let interval = de_duration(d)?;
    if interval < MIN_INTERVAL {
        return Err(serde::de::Error::custom(format!(
            "interval {} is below the minimum of {}; use \"1m\" or more (ministry servers are slow and publish a few items a day)",
            humantime::format_duration(interval),
            humantime::format_duration(MIN_INTERVAL)
        )));
    }
    Ok(interval)
}

pub(super) fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = String::deserialize(d)?;
    bytesize::ByteSize::from_str(&text)
        .map(|b| b.as_u64())
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid size {text:?}: {e}; write it like \"16MiB\" or \"10 MiB\""
            ))
        })
}

pub(super) fn parse_http_url<E: serde::de::Error>(text: &str) -> Result<Url, E> {
    let url = Url::parse(text).map_err(|e| {
        E::custom(format!(
            "invalid URL {text:?}: {e}; write an absolute URL such as \"https://www.msit.go.kr/...\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(E::custom(format!(
            "URL {text:?} is not an http(s) URL with a host; only http:// and https:// are supported"
        )));
    }
    Ok(url)
}

pub(super) fn de_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let text = String::deserialize(d)?;
    parse_http_url(&text)
}

pub(super) fn de_opt_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let text = String::deserialize(d)?;
    parse_http_url(&text).map(Some)
}

pub(super) fn de_source_id<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<String>, D::Error> {
    let id = Spanned::<String>::deserialize(d)?;
    let ok = !id.get_ref().is_empty()
        && id.get_ref().len() <= 64
        && id
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(serde::de::Error::custom(format!(
            "invalid id {:?}; use 1-64 characters of a-z, 0-9, '-' and '_' (e.g. \"msit-press\")",
            id.get_ref()
        )));
    }
    Ok(id)
}

pub(super) fn de_hashtag<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let tag = String::deserialize(d)?;
    let body = tag.strip_prefix('#').unwrap_or(&tag);
    // Telegram hashtags end at the first character that is not a letter, digit or '_'.
    if body.is_empty() || !body.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(serde::de::Error::custom(format!(
            "invalid hashtag {tag:?}; use letters, digits and '_' only, e.g. \"#AI반도체\" (spaces and '·' break Telegram hashtags)"
        )));
    }
    Ok(format!("#{body}"))
}

pub(super) fn de_rate<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let rate = u32::deserialize(d)?;
    if rate == 0 || rate > 10_000 {
        return Err(serde::de::Error::custom(format!(
            "rate {rate} is out of range; use 1 to 10000 messages"
        )));
    }
    Ok(rate)
}

/// A chat: `@username` (5-32 letters, digits, `_`) or a numeric id, given as a string or number.
pub(super) fn de_chat<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Chat {
        Id(i64),
        Name(String),
    }
    let chat = match Chat::deserialize(d)? {
        Chat::Id(id) => id.to_string(),
        Chat::Name(name) => name.trim().to_owned(),
    };
    let valid_name = chat.strip_prefix('@').is_some_and(|n| {
        (5..=32).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if !valid_name && chat.parse::<i64>().is_err() {
        return Err(serde::de::Error::custom(format!(
            "invalid chat {chat:?}; use \"@channelname\" or a numeric chat id such as -1001234567890"
        )));
    }
    Ok(chat)
}

/// Admins are numeric user ids: Telegram's updates carry the sender's id, not a username.
pub(super) fn de_admins<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Admin {
        Id(i64),
        Text(String),
    }
    Vec::<Admin>::deserialize(d)?
        .into_iter()
        .map(|admin| match admin {
            Admin::Id(id) if id > 0 => Ok(id),
            Admin::Id(id) => Err(serde::de::Error::custom(format!(
                "admin {id} is not a user id; admins are people's numeric Telegram user ids (positive), not chats"
            ))),
            Admin::Text(text) => match text.trim().parse::<i64>() {
                Ok(id) if id > 0 => Ok(id),
                _ => Err(serde::de::Error::custom(format!(
                    "admin {text:?} is not a numeric user id; write the number Telegram shows for the person (a bot such as @userinfobot tells it), e.g. admins = [123456789]"
                ))),
            },
        })
        .collect()
}

pub(super) fn de_nonempty_strings<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.is_empty() {
        return Err(serde::de::Error::custom(
            "the list is empty; give at least one string",
        ));
    }
    if let Some(pos) = list.iter().position(|s| s.trim().is_empty()) {
        return Err(serde::de::Error::custom(format!(
            "entry {} of the list is empty; remove it",
            pos + 1
        )));
    }
    Ok(list)
}

/// A keyword must keep something to match after spacing and punctuation are ignored.
pub(super) fn check_keyword<E: serde::de::Error>(keyword: &str) -> Result<(), E> {
    if crate::fold::fold_keyword(keyword).is_empty() {
        return Err(E::custom(format!(
            "keyword {keyword:?} is empty once spacing and punctuation are ignored; remove it"
        )));
    }
    Ok(())
}

pub(super) fn de_keyword_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for keyword in &list {
        check_keyword(keyword)?;
    }
    Ok(list)
}

pub(super) fn de_keyword_groups<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<Vec<String>>, D::Error> {
    let groups = Vec::<Vec<String>>::deserialize(d)?;
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return Err(serde::de::Error::custom(format!(
                "require group {} is empty; every group needs at least one keyword",
                i + 1
            )));
        }
        for keyword in group {
            check_keyword(keyword)?;
        }
    }
    Ok(groups)
}

pub(super) fn de_synonyms<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<String>>, D::Error> {
    let classes = Vec::<Vec<String>>::deserialize(d)?;
    for (i, class) in classes.iter().enumerate() {
        if class.len() < 2 {
            return Err(serde::de::Error::custom(format!(
                "synonym class {} has {} word(s); a class lists at least two words that mean the same",
                i + 1,
                class.len()
            )));
        }
        for word in class {
            check_keyword(word)?;
        }
    }
    Ok(classes)
}

pub(super) fn de_weight<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let w = f64::deserialize(d)?;
    if !(0.0..=100.0).contains(&w) {
        return Err(serde::de::Error::custom(format!(
            "weight {w} is out of range; use a number from 0 to 100"
        )));
    }
    Ok(w as f32)
}

pub(super) fn de_opt_weight<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    de_weight(d).map(Some)
}

pub(super) fn de_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let t = f64::deserialize(d)?;
    if !(t > 0.0 && t <= 1000.0) {
        return Err(serde::de::Error::custom(format!(
            "threshold {t} is out of range; use a positive number (e.g. 2.0: one title keyword)"
        )));
    }
    Ok(t as f32)
}

pub(super) fn de_opt_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    de_threshold(d).map(Some)
}
