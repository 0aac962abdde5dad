//! The plain records that travel from the ingest stage through the store to the deliverer and
//! the bot: a [`Notice`], where it goes ([`Destination`]), what a message carries ([`Payload`]),
//! one queued message ([`Delivery`]). They sit at the bottom of the module map: the store keeps
//! them, the stages make and read them, and none of them knows about any stage.

use serde::{Deserialize, Serialize};

use crate::classify::TopicMatch;
use crate::items::Item;

/// An item that matched topics, with everything a message needs (so a delivery never depends on
/// config that may have changed by the time it is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub source_id: String,
    pub source_name: String,
    pub ministry: String,
    pub item: Item,
    pub topics: Vec<TopicMatch>,
    /// When the item was first seen; shown when the source gave no date.
    pub seen_at: chrono::DateTime<chrono::Utc>,
    /// The recipient's own watch words the item contains (`/watch`): set on the copy made for
    /// one chat, empty on the shared copy (history, channels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watched: Vec<String>,
    /// The release's own files, found on its view page when the notice was sent (see
    /// `deliver::attachments`); empty until then, and when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Another copy's page of the same release that may list its files, when this copy's own
    /// link does not (an MSIT copy that took over korea.kr's held one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_page: Option<String>,
}

/// A file of a release (its PDF or HWPX), linked from the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub url: String,
}

/// Where a delivery goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// Printed to standard output (dry-run, or no Telegram token).
    Stdout,
    /// A Telegram chat: `@channel` or a numeric id.
    Telegram { chat: String },
}

impl Destination {
    /// Stable key (store and pacing).
    pub fn key(&self) -> String {
        match self {
            Destination::Stdout => "stdout".to_owned(),
            Destination::Telegram { chat } => format!("tg:{chat}"),
        }
    }
}

/// What a delivery carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Most payloads are notices, so boxing the big variant would only add an allocation to each.
#[allow(clippy::large_enum_variant)]
pub enum Payload {
    Notice(Notice),
    /// An operator alert (a source failing, a destination lost).
    Alert {
        text: String,
    },
    /// One message of a subscriber's daily digest.
    Digest(Digest),
}

/// A daily digest message: the notices of a KST day for one subscriber (a long day is split
/// into several messages, `part` of `parts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub day: chrono::NaiveDate,
    pub lang: Lang,
    pub part: u32,
    pub parts: u32,
    pub notices: Vec<Notice>,
}

/// One message for one destination, as kept in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub destination: Destination,
    pub payload: Payload,
    #[serde(default)]
    pub attempts: u32,
    /// Send as plain text (set after Telegram refused our HTML once).
    #[serde(default)]
    pub plain: bool,
}

/// The language a subscriber is answered in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Ko,
    En,
}

impl Lang {
    /// Korean unless the user's Telegram client says another language.
    pub(crate) fn from_code(code: Option<&str>) -> Lang {
        match code {
            None => Lang::Ko,
            Some(c)
                if c.eq_ignore_ascii_case("ko") || c.to_ascii_lowercase().starts_with("ko-") =>
            {
                Lang::Ko
            }
            Some(_) => Lang::En,
        }
    }
}
