//! The commands: what each does to the chat's subscription and what it answers. The update
//! loop (`bot/mod.rs`) decides who may run them; topic names are resolved in `bot/topics.rs`.

use std::collections::BTreeSet;

use chrono::{NaiveTime, Utc};
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters, EditMessageTextSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode,
};
use teloxide::utils::command::BotCommands;

use super::topics::{TopicQueryError, resolve_topics};
use std::time::Duration;

use super::{Bot, Session, chat_kind, strs};
use crate::deliver::digest;
use crate::items::format_kst;
use crate::records::Lang;
use crate::store::{ChatKind, StoreError, Subscriber};
use crate::text::{self, TopicLine};

/// The bot's commands as Telegram sends them (`/name args`, or `/name@bot args` in groups).
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start(String),
    Help,
    Topics,
    Subscribe(String),
    Unsubscribe(String),
    Mysubs,
    Recent(String),
    Watch(String),
    Unwatch(String),
    Watches,
    Search(String),
    Digest(String),
    Stop,
    Status,
    Reload,
}

/// Commands a user may send per minute (a burst of as many is fine).
pub const COMMANDS_PER_MINUTE: u32 = 10;
/// `/recent`: default and maximum count.
const RECENT_DEFAULT: usize = 5;
const RECENT_MAX: usize = 20;
/// Digest time when `/digest on` gives none.
const DIGEST_DEFAULT: (u32, u32) = (8, 0);
/// Callback data prefix of a topic toggle button.
const TOGGLE: &str = "t:";

/// Who sent a command, where, and whether they may change this chat's subscriptions.
pub(super) struct Context {
    pub(super) chat: i64,
    pub(super) kind: Option<ChatKind>,
    pub(super) user: Option<u64>,
    pub(super) lang: Lang,
    /// The sender is an administrator of the group (always true in private chats).
    pub(super) may_change: bool,
}

impl Context {
    pub(super) fn private(&self) -> bool {
        self.kind == Some(ChatKind::Private)
    }
}

impl Bot {
    pub(super) async fn execute(&self, command: Command, cx: &Context) -> Result<(), StoreError> {
        let lang = cx.lang;
        match command {
            Command::Start(_) => {
                let kind = cx.kind.unwrap_or(ChatKind::Private);
                let subscriber = self.store.update_subscriber(cx.chat, |current| {
                    Some(match current {
                        Some(mut s) => {
                            if !s.active {
                                s.active = true;
                                s.inactive_reason = None;
                            }
                            s.lang = lang;
                            s
                        }
                        None => Subscriber::new(cx.chat, kind, lang),
                    })
                })?;
                let topics = subscriber.map(|s| s.topics).unwrap_or_default();
                let names: Vec<String> = self
                    .config
                    .borrow()
                    .topics
                    .iter()
                    .map(|t| t.name.clone())
                    .collect();
                let names = strs(&names);
                self.reply(
                    cx.chat,
                    &text::greeting(lang, &names),
                    Some(self.keyboard(&topics)),
                )
                .await;
            }
            Command::Help => {
                self.reply(cx.chat, &text::help(lang, self.is_operator(cx)), None)
                    .await;
            }
            Command::Topics => {
                let topics = self.topics_of(cx.chat)?;
                let lines = self.topic_lines(&topics);
                self.reply(
                    cx.chat,
                    &text::topics(lang, &lines),
                    Some(self.keyboard(&topics)),
                )
                .await;
            }
            Command::Subscribe(args) | Command::Unsubscribe(args) if args.trim().is_empty() => {
                let topics = self.topics_of(cx.chat)?;
                let lines = self.topic_lines(&topics);
                self.reply(cx.chat, &text::subscribe_usage(lang, &lines), None)
                    .await;
            }
            Command::Subscribe(args) => self.change_topics(cx, &args, true).await?,
            Command::Unsubscribe(args) => self.change_topics(cx, &args, false).await?,
            Command::Mysubs => {
                let reply = match self.store.subscriber(cx.chat)? {
                    None => text::not_subscribed(lang),
                    Some(s) => {
                        let names = self.names(&s.topics);
                        text::mysubs(lang, &strs(&names), &strs(&s.watch), s.digest_at)
                    }
                };
                self.reply(cx.chat, &reply, None).await;
            }
            Command::Recent(args) => self.recent(cx, &args).await?,
            Command::Watch(args) => self.watch(cx, &args).await?,
            Command::Unwatch(args) => self.unwatch(cx, &args).await?,
            Command::Watches => self.watches(cx).await?,
            Command::Search(args) => self.search(cx, &args).await?,
            Command::Digest(args) => self.digest(cx, &args).await?,
            Command::Stop => {
                self.store.forget_subscriber(cx.chat)?;
                self.withdraw(cx.chat);
                tracing::info!(chat = cx.chat, "/stop: subscription deleted");
                self.reply(cx.chat, &text::stopped(lang), None).await;
            }
            Command::Status | Command::Reload if !self.is_operator(cx) => {
                tracing::warn!(
                    user = cx.user,
                    chat = cx.chat,
                    "operator command refused: the user is not in telegram.admins"
                );
                self.reply(cx.chat, &text::operators_only(lang), None).await;
            }
            Command::Status => {
                let status = self.status()?;
                self.reply(cx.chat, &text::status(lang, &status), None)
                    .await;
            }
            Command::Reload => {
                let reply = match &self.reloader {
                    None => text::reload_unavailable(lang),
                    Some(reloader) => match reloader.reload("/reload") {
                        Ok(config) => text::reloaded(
                            lang,
                            config.sources.len(),
                            config.enabled_sources().count(),
                            config.topics.len(),
                        ),
                        Err(e) => text::reload_failed(lang, &e.to_string()),
                    },
                };
                self.reply(cx.chat, &reply, None).await;
            }
        }
        Ok(())
    }

    /// `/subscribe` and `/unsubscribe` with topic arguments (or `all`).
    pub(super) async fn change_topics(
        &self,
        cx: &Context,
        args: &str,
        add: bool,
    ) -> Result<(), StoreError> {
        let config = self.config.borrow().clone();
        let chosen = match resolve_topics(&config, args) {
            Ok(chosen) => chosen,
            Err(error) => return self.reply_unknown_topics(cx, &error, true).await,
        };
        let kind = cx.kind.unwrap_or(ChatKind::Private);
        let lang = cx.lang;
        let before = self.topics_of(cx.chat)?;
        let updated = self.store.update_subscriber(cx.chat, |current| {
            let mut s = current.unwrap_or_else(|| Subscriber::new(cx.chat, kind, lang));
            for topic in &chosen {
                if add {
                    s.topics.insert(topic.clone());
                } else {
                    s.topics.remove(topic);
                }
            }
            Some(s)
        })?;
        // What actually changed, and what was asked for but already so.
        let (changed, unchanged): (BTreeSet<String>, BTreeSet<String>) =
            chosen.into_iter().partition(|t| before.contains(t) != add);
        let all = self.names(&updated.map(|s| s.topics).unwrap_or_default());
        let changed = self.names(&changed);
        let unchanged = self.names(&unchanged);
        let (all, changed, unchanged) = (strs(&all), strs(&changed), strs(&unchanged));
        let reply = if add {
            text::subscribed(cx.lang, &changed, &unchanged, &all)
        } else {
            text::unsubscribed(cx.lang, &changed, &unchanged, &all)
        };
        self.reply(cx.chat, &reply, None).await;
        Ok(())
    }

    /// Names the words that are no topic (and those that fit several, with the candidates) and
    /// lists the valid ones. `changes`: the command would have changed the subscription.
    pub(super) async fn reply_unknown_topics(
        &self,
        cx: &Context,
        error: &TopicQueryError,
        changes: bool,
    ) -> Result<(), StoreError> {
        let lines = self.topic_lines(&self.topics_of(cx.chat)?);
        let unknown = strs(&error.unknown);
        let ambiguous: Vec<(String, Vec<String>)> = error
            .ambiguous
            .iter()
            .map(|(word, ids)| (word.clone(), self.names(&ids.iter().cloned().collect())))
            .collect();
        self.reply(
            cx.chat,
            &text::unknown_topics(cx.lang, &unknown, &ambiguous, &lines, changes),
            None,
        )
        .await;
        Ok(())
    }

    /// `/recent [topic] [n]`.
    pub(super) async fn recent(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        let mut count = RECENT_DEFAULT;
        let mut words = Vec::new();
        for word in args.split_whitespace() {
            match word.parse::<usize>() {
                Ok(n) => count = n.clamp(1, RECENT_MAX),
                Err(_) => words.push(word),
            }
        }
        let config = self.config.borrow().clone();
        let topic = if words.is_empty() {
            None
        } else {
            match resolve_topics(&config, &words.join(" ")) {
                Ok(topics) if topics.len() == 1 => topics.into_iter().next(),
                Ok(_) => {
                    self.reply(cx.chat, &text::recent_usage(cx.lang), None)
                        .await;
                    return Ok(());
                }
                Err(error) => return self.reply_unknown_topics(cx, &error, false).await,
            }
        };
        let notices = self.store.recent(topic.as_deref(), count)?;
        if notices.is_empty() {
            self.reply(cx.chat, &text::recent_empty(cx.lang), None)
                .await;
            return Ok(());
        }
        let topic_name = topic
            .as_ref()
            .map(|t| self.names(&BTreeSet::from([t.clone()])).remove(0));
        let heading = text::recent_heading_plain(cx.lang, topic_name.as_deref(), notices.len());
        self.reply_list(cx.chat, &heading, notices).await;
        Ok(())
    }

    /// `/digest on [HH:MM] | off`.
    pub(super) async fn digest(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
        let mut words = args.split_whitespace();
        let current = self.store.subscriber(cx.chat)?;
        let Some(current) = current else {
            self.reply(cx.chat, &text::not_subscribed(cx.lang), None)
                .await;
            return Ok(());
        };
        let reply = match (
            words.next().map(str::to_ascii_lowercase).as_deref(),
            words.next(),
        ) {
            (Some("on"), time) => {
                let at = match time {
                    None => NaiveTime::from_hms_opt(DIGEST_DEFAULT.0, DIGEST_DEFAULT.1, 0),
                    Some(t) => NaiveTime::parse_from_str(t, "%H:%M").ok(),
                };
                match at {
                    None => text::digest_bad_time(cx.lang, time.unwrap_or_default()),
                    Some(at) => {
                        digest::switch_on(&self.store, cx.chat, at, Utc::now())?;
                        text::digest_on(cx.lang, at)
                    }
                }
            }
            (Some("off"), None) => {
                if digest::switch_off(&self.store, cx.chat, Utc::now())? > 0 {
                    self.wake.notify_one();
                }
                text::digest_off(cx.lang)
            }
            _ => text::digest_usage(cx.lang, current.digest_at),
        };
        self.reply(cx.chat, &reply, None).await;
        Ok(())
    }

    /// A tap on a topic button: toggle, edit the keyboard in place, answer with a toast.
    pub(super) async fn on_callback(
        &self,
        query: CallbackQuery,
        session: &mut Session,
    ) -> Result<(), StoreError> {
        let lang = Lang::from_code(query.from.language_code.as_deref());
        let Some(message) = &query.message else {
            return Ok(());
        };
        let chat = message.chat();
        let (chat_id, message_id) = (chat.id.0, message.id());
        let answer = |text: Option<String>| {
            let mut request = self.telegram.answer_callback_query(query.id.clone());
            if let Some(text) = text {
                request = request.text(text);
            }
            request
        };
        if session.commands.check_key(&query.from.id.0).is_err() {
            let _ = answer(Some(text::slow_down_plain(lang, 60))).await;
            return Ok(());
        }
        let Some(kind) = chat_kind(chat) else {
            let _ = answer(None).await;
            return Ok(());
        };
        if kind != ChatKind::Private && !self.is_group_admin(chat_id, query.from.id).await {
            let _ = answer(Some(text::group_admins_only(lang))).await;
            return Ok(());
        }
        let Some(topic) = query.data.as_deref().and_then(|d| d.strip_prefix(TOGGLE)) else {
            let _ = answer(None).await;
            return Ok(());
        };
        let config = self.config.borrow().clone();
        let toast = match config.topics.iter().find(|t| t.id.get_ref() == topic) {
            None => text::topic_gone_plain(lang),
            Some(t) => {
                let updated = self.store.update_subscriber(chat_id, |current| {
                    let mut s = current.unwrap_or_else(|| Subscriber::new(chat_id, kind, lang));
                    if !s.topics.remove(topic) {
                        s.topics.insert(topic.to_owned());
                    }
                    Some(s)
                })?;
                let on = updated.is_some_and(|s| s.topics.contains(topic));
                text::toggled_plain(lang, &t.name, on)
            }
        };
        let topics = self.topics_of(chat_id)?;
        // The `/topics` list says which topics are on (✅/▫️ lines): it is edited with the
        // buttons, or it would contradict them. (The `/start` greeting lists no states.)
        let lists_states = message
            .regular_message()
            .and_then(|m| m.text())
            .is_some_and(|t| t.lines().any(|l| l.starts_with('✅') || l.starts_with('▫')));
        let edited = if lists_states {
            let lines = self.topic_lines(&topics);
            self.telegram
                .edit_message_text(ChatId(chat_id), message_id, text::topics(lang, &lines))
                .parse_mode(ParseMode::Html)
                .reply_markup(self.keyboard(&topics))
                .await
                .map(|_| ())
        } else {
            self.telegram
                .edit_message_reply_markup(ChatId(chat_id), message_id)
                .reply_markup(self.keyboard(&topics))
                .await
                .map(|_| ())
        };
        if let Err(e) = edited {
            // "message is not modified" after a double tap is harmless.
            tracing::debug!(
                "cannot update the topic buttons: {}",
                crate::secret::describe(&e)
            );
        }
        if let Err(e) = answer(Some(toast)).await {
            tracing::debug!(
                "cannot answer a button tap: {}",
                crate::secret::describe(&e)
            );
        }
        Ok(())
    }

    pub(super) fn topics_of(&self, chat: i64) -> Result<BTreeSet<String>, StoreError> {
        Ok(self
            .store
            .subscriber(chat)?
            .map(|s| s.topics)
            .unwrap_or_default())
    }

    /// Display names of topic ids (ids the config no longer has are shown as they are).
    pub(super) fn names(&self, ids: &BTreeSet<String>) -> Vec<String> {
        let config = self.config.borrow();
        ids.iter()
            .map(|id| {
                config
                    .topics
                    .iter()
                    .find(|t| t.id.get_ref() == id)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| id.clone())
            })
            .collect()
    }

    pub(super) fn topic_lines(&self, subscribed: &BTreeSet<String>) -> Vec<TopicLine> {
        let config = self.config.borrow();
        config
            .topics
            .iter()
            .map(|t| TopicLine {
                id: t.id.get_ref().clone(),
                name: t.name.clone(),
                hashtag: t.hashtag.clone(),
                subscribed: subscribed.contains(t.id.get_ref()),
            })
            .collect()
    }

    pub(super) fn keyboard(&self, subscribed: &BTreeSet<String>) -> InlineKeyboardMarkup {
        let config = self.config.borrow();
        InlineKeyboardMarkup::new(config.topics.iter().map(|t| {
            let id = t.id.get_ref();
            vec![InlineKeyboardButton::callback(
                text::toggle_label_plain(&t.name, subscribed.contains(id)),
                format!("{TOGGLE}{id}"),
            )]
        }))
    }

    pub(super) fn status(&self) -> Result<text::Status, StoreError> {
        let config = self.config.borrow().clone();
        let mut sources = Vec::new();
        for source in &config.sources {
            let id = source.id();
            let state = self.store.source_state(id)?;
            sources.push(text::SourceStatus {
                id: id.to_owned(),
                name: source.name.clone(),
                enabled: source.enabled,
                last_success: state.last_success.map(format_kst),
                last_error: state.last_error.clone(),
                failures: state.consecutive_failures,
                items_seen: state.items_seen,
                next_poll: source
                    .enabled
                    .then(|| self.health.next_poll(id))
                    .flatten()
                    .map(format_kst),
            });
        }
        let subscribers = self.store.subscribers()?;
        let uptime = (Utc::now() - self.health.started())
            .to_std()
            .unwrap_or_default();
        Ok(text::Status {
            version: env!("CARGO_PKG_VERSION"),
            uptime: humantime::format_duration(Duration::from_secs(uptime.as_secs())).to_string(),
            sources,
            outbox: self.store.outbox_len(),
            dead_letters: self.store.stats()?.dead_letters,
            subscribers_active: subscribers.iter().filter(|s| s.active).count(),
            subscribers_total: subscribers.len(),
            watching: subscribers
                .iter()
                .filter(|s| s.active && !s.watch.is_empty())
                .count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::utils::command::ParseError;

    #[test]
    pub(super) fn commands_parse_with_and_without_the_bot_name() {
        assert_eq!(
            Command::parse("/subscribe 인재 ai_bio", "pw_bot").unwrap(),
            Command::Subscribe("인재 ai_bio".into())
        );
        assert_eq!(
            Command::parse("/topics@pw_bot", "pw_bot").unwrap(),
            Command::Topics
        );
        assert_eq!(
            Command::parse("/start", "pw_bot").unwrap(),
            Command::Start(String::new())
        );
        assert!(matches!(
            Command::parse("/topics@other_bot", "pw_bot"),
            Err(ParseError::WrongBotName(_))
        ));
        assert!(matches!(
            Command::parse("/frobnicate", "pw_bot"),
            Err(ParseError::UnknownCommand(_))
        ));
    }
}
