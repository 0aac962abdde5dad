//! `[telegram]`, its destinations and limits, and `[bot]`.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

use super::de::*;
use super::*;

/// Telegram settings. The token is never read from this file (see `token_file`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Bot API base URL; a self-hosted telegram-bot-api server works too.
    #[serde(default, deserialize_with = "de_opt_http_url")]
    pub api_url: Option<Url>,
    /// File holding the bot token (one line). `TELOXIDE_TOKEN` and
    /// `$CREDENTIALS_DIRECTORY/telegram-token` are also read.
    #[serde(default)]
    pub token_file: Option<Spanned<PathBuf>>,
    /// Telegram user ids that receive operator alerts (and may use admin commands).
    #[serde(default, deserialize_with = "de_admins")]
    pub admins: Vec<i64>,
    /// Show link previews under notices.
    #[serde(default)]
    pub link_preview: bool,
    /// Answer commands (subscriptions by talking to the bot) through getUpdates. Turn off when
    /// another program reads this bot's updates or a webhook is set.
    #[serde(default = "default_true")]
    pub bot: bool,
    #[serde(default)]
    pub limits: TelegramLimits,
    /// Channels and groups that receive notices.
    #[serde(default, rename = "destination")]
    pub destinations: Vec<Spanned<DestinationConfig>>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            api_url: None,
            token_file: None,
            admins: Vec::new(),
            link_preview: false,
            bot: true,
            limits: TelegramLimits::default(),
            destinations: Vec::new(),
        }
    }
}

/// Telegram's sending limits (Bots FAQ). Sends are paced to stay under them, so 429s are rare.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramLimits {
    #[serde(default = "default_global_per_second", deserialize_with = "de_rate")]
    pub global_per_second: u32,
    #[serde(default = "default_group_per_minute", deserialize_with = "de_rate")]
    pub group_per_minute: u32,
    #[serde(default = "default_private_per_second", deserialize_with = "de_rate")]
    pub private_per_second: u32,
}

impl Default for TelegramLimits {
    fn default() -> Self {
        TelegramLimits {
            global_per_second: default_global_per_second(),
            group_per_minute: default_group_per_minute(),
            private_per_second: default_private_per_second(),
        }
    }
}

pub(super) fn default_global_per_second() -> u32 {
    30
}
pub(super) fn default_group_per_minute() -> u32 {
    20
}
pub(super) fn default_private_per_second() -> u32 {
    1
}

/// A channel or group that receives notices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// `@channelname` or a numeric chat id (negative for groups and channels).
    #[serde(deserialize_with = "de_chat")]
    pub chat: String,
    /// Only notices of these topics (default: every topic).
    #[serde(default)]
    pub topics: Option<Vec<Spanned<String>>>,
}

/// What subscribers may do through the bot beyond choosing topics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Subscribers may add their own watch words (`/watch`): any new item of any source that
    /// contains one reaches them, whether it matched a topic or not.
    #[serde(default = "default_true")]
    pub watch_words: bool,
    /// Watch words per chat, at most (1–100).
    #[serde(
        default = "default_max_watch_words",
        deserialize_with = "de_max_watch_words"
    )]
    pub max_watch_words: usize,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            watch_words: true,
            max_watch_words: default_max_watch_words(),
        }
    }
}

pub(super) fn default_max_watch_words() -> usize {
    20
}

pub(super) fn de_max_watch_words<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if !(1..=100).contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "max_watch_words {n} is out of range; use 1 to 100 (to turn watch words off, set watch_words = false)"
        )));
    }
    Ok(n)
}
