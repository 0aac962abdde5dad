//! Sending to Telegram through teloxide, and turning its answers into delivery decisions.
//!
//! teloxide is used without its Throttle adaptor: that adaptor retries 429s by itself, forever and
//! only in memory, while here the durable outbox owns every retry. Error texts are passed through
//! [`crate::secret::redact`] because reqwest's errors quote the request URL, which holds the token.

use std::time::Duration;

use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, LinkPreviewOptions, ParseMode, Recipient};
use teloxide::{ApiError, Bot, RequestError};
use url::Url;

use crate::secret::{BotToken, redact};

/// What Telegram's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: remove the delivery from the outbox.
    Sent,
    /// 429: resend the same message to this chat after this long, not before.
    RetryAfter(Duration),
    /// Network error, 5xx, unreadable answer: back off and retry.
    Retry(String),
    /// 403 (blocked, kicked, not a member), chat not found, or the chat's settings forbid the bot
    /// to post ("not enough rights"): park this destination until someone fixes the chat.
    Gone(String),
    /// The group became a supergroup with this id: follow it.
    Migrated(i64),
    /// 400 "can't parse entities": our HTML is wrong (a bug); resend once as plain text.
    BadMarkup(String),
    /// Any other refusal of this message: it can never be sent as is (dead letter).
    Rejected(String),
}

/// How long Telegram may hold a getUpdates call open when there is nothing to say.
pub(crate) const LONG_POLL: Duration = Duration::from_secs(25);

/// Request timeout of the long-poll client: the hold plus room for a slow network. It must exceed
/// [`LONG_POLL`]: teloxide's default client gives up after 17 s (and teloxide-core ignores the
/// payload's timeout hint), so against a server that really holds the poll every quiet poll
/// failed, the retry wait doubled, and an idle bot answered half a minute late.
pub(crate) const LONG_POLL_CLIENT_TIMEOUT: Duration = Duration::from_secs(LONG_POLL.as_secs() + 15);

/// Why the Bot API client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The HTTP client (TLS roots, proxy settings) could not be built; the token is masked.
    #[error("cannot build the HTTP client for Telegram: {0}")]
    Client(String),
}

/// The Bot API client.
#[derive(Clone)]
pub struct TelegramSink {
    bot: Bot,
    /// Same token and API URL, on a client whose timeout fits a held getUpdates.
    updates: Bot,
    link_preview: bool,
}

impl TelegramSink {
    pub fn new(
        token: &BotToken,
        api_url: Option<&Url>,
        link_preview: bool,
    ) -> Result<TelegramSink, SinkError> {
        let build = |timeout: Option<Duration>| {
            let mut settings = teloxide::net::default_reqwest_settings();
            if let Some(timeout) = timeout {
                settings = settings.timeout(timeout);
            }
            let client = settings
                .build()
                .map_err(|e| SinkError::Client(redact(&e.to_string())))?;
            let mut bot = Bot::with_client(token.expose(), client);
            if let Some(url) = api_url {
                bot = bot.set_api_url(url.clone());
            }
            Ok::<_, SinkError>(bot)
        };
        Ok(TelegramSink {
            bot: build(None)?,
            updates: build(Some(LONG_POLL_CLIENT_TIMEOUT))?,
            link_preview,
        })
    }

    /// The teloxide client for sends and short calls (the bot's replies share it).
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// The teloxide client for getUpdates long polls only (see [`LONG_POLL_CLIENT_TIMEOUT`]).
    pub(crate) fn updates_bot(&self) -> &Bot {
        &self.updates
    }

    /// Sends one message; `html` selects HTML parse mode (plain text otherwise).
    pub async fn send(&self, chat: &str, text: &str, html: bool) -> Outcome {
        let mut request = self.bot.send_message(recipient(chat), text);
        if html {
            request = request.parse_mode(ParseMode::Html);
        }
        if !self.link_preview {
            request = request.link_preview_options(no_link_preview());
        }
        match request.await {
            Ok(_) => Outcome::Sent,
            Err(e) => classify_error(&e),
        }
    }
}

/// Link previews off (notices link to press releases whose previews are noise).
pub(crate) fn no_link_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// `@name` or a numeric id.
pub fn recipient(chat: &str) -> Recipient {
    match chat.parse::<i64>() {
        Ok(id) => Recipient::Id(ChatId(id)),
        Err(_) => Recipient::ChannelUsername(chat.to_owned()),
    }
}

/// Maps a teloxide error to what the outbox does about it.
pub(crate) fn classify_error(error: &RequestError) -> Outcome {
    let text = crate::secret::describe(error);
    match error {
        RequestError::RetryAfter(seconds) => Outcome::RetryAfter(seconds.duration()),
        RequestError::MigrateToChatId(chat) => Outcome::Migrated(chat.0),
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Outcome::Retry(text)
        }
        RequestError::Api(api) => classify_api_error(api, text),
    }
}

fn classify_api_error(api: &ApiError, text: String) -> Outcome {
    match api {
        ApiError::BotBlocked
        | ApiError::ChatNotFound
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::UserDeactivated
        | ApiError::NotEnoughRightsToPostMessages
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots => Outcome::Gone(text),
        ApiError::CantParseEntities(_) => Outcome::BadMarkup(text),
        ApiError::Unknown(description) => {
            // Descriptions teloxide does not know (e.g. "Forbidden: bot is not a member of the
            // channel chat") are classified by their prefix, as Telegram documents them.
            let d = description.to_ascii_lowercase();
            if d.starts_with("forbidden")
                || d.contains("chat not found")
                || d.contains("bot was kicked")
                || needs_rights(&d)
            {
                Outcome::Gone(text)
            } else if d.contains("can't parse entities") {
                Outcome::BadMarkup(text)
            } else if d.starts_with("bad request") {
                Outcome::Rejected(text)
            } else {
                // 5xx with a JSON body, "Unauthorized" (bad token: nothing to do but wait for an
                // operator), and anything unexpected: keep the message and retry later.
                Outcome::Retry(text)
            }
        }
        _ if text.to_ascii_lowercase().contains("bad request") => Outcome::Rejected(text),
        _ => Outcome::Retry(text),
    }
}

/// Refusals that a change of the chat's settings cures, not a change of the message: the bot was
/// restricted in a group, may not write in a topic, or is not an administrator of a channel.
/// Telegram words them as "Bad Request", but the message itself is fine. `description` in lower
/// case.
pub(super) fn needs_rights(description: &str) -> bool {
    [
        "not enough rights to send",
        "have no rights to send",
        "need administrator rights",
        "chat_write_forbidden",
        "topic_closed",
        "chat_restricted",
    ]
    .iter()
    .any(|needle| description.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(description: &str) -> Outcome {
        classify_api_error(
            &ApiError::Unknown(description.to_owned()),
            description.to_owned(),
        )
    }

    #[test]
    fn a_chat_that_restricts_the_bot_is_parked_not_a_refused_message() {
        for d in [
            "Bad Request: not enough rights to send text messages to the chat",
            "Bad Request: have no rights to send a message",
            "Bad Request: CHAT_WRITE_FORBIDDEN",
            "Bad Request: TOPIC_CLOSED",
        ] {
            assert!(matches!(unknown(d), Outcome::Gone(_)), "{d}");
        }
        // A message Telegram refuses for what it is: dead letter.
        assert!(matches!(
            unknown("Bad Request: message is too long"),
            Outcome::Rejected(_)
        ));
    }
}
