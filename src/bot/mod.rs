//! The bot's side of Telegram: people and groups subscribe to topics by talking to it.
//!
//! One [`Bot`] task long-polls `getUpdates` and answers commands (see [`Command`]). It owns the
//! `subscribers` tree; the ingest stage reads that tree to fan every new notice out through the
//! durable outbox, so subscribers get the same guarantees and pacing as configured channels.
//! Replies to commands are not durable (they answer a person who is waiting); they are queued
//! per chat and paced with the deliverer's limiters ([`replies`]).
//!
//! Rules worth knowing:
//! - The id of the last handled update is stored, so a restart never handles an update twice
//!   (a topic toggle is not idempotent).
//! - `/start` creates the subscription with no topics and shows the topic buttons: nobody gets
//!   notices they did not choose. New subscribers get only new notices; `/recent` shows history.
//! - In groups only administrators (or an anonymous admin posting as the group) change
//!   subscriptions. Channel posts and edited messages are ignored.
//! - Each user may send [`COMMANDS_PER_MINUTE`] commands a minute (a burst of as many); beyond
//!   that they are told once to slow down and further commands are ignored for a while. Other
//!   users are not affected.

mod replies;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters, GetUpdatesSetters,
    SetMyCommandsSetters,
};
use teloxide::prelude::Requester;
use teloxide::types::{
    AllowedUpdate, BotCommand, CallbackQuery, Chat, ChatId, ChatMemberKind, ChatMemberUpdated,
    InlineKeyboardButton, InlineKeyboardMarkup, Message, UpdateKind, UserId,
};
use teloxide::utils::command::{BotCommands, ParseError};
use teloxide::{ApiError, RequestError};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::daemon::Reloader;
use crate::health::Health;
use crate::deliver::telegram::LONG_POLL;
use crate::deliver::{digest, render};
use crate::items::format_kst;
use crate::outbox::Lang;
use crate::store::{ChatKind, Store, StoreError, Subscriber};
pub use replies::Replies;
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
struct Context {
    chat: i64,
    kind: Option<ChatKind>,
    user: Option<u64>,
    lang: Lang,
    /// The sender is an administrator of the group (always true in private chats).
    may_change: bool,
}

impl Context {
    fn private(&self) -> bool {
        self.kind == Some(ChatKind::Private)
    }
}

pub struct Bot {
    pub telegram: teloxide::Bot,
    /// The same bot on the long-poll client (its timeout exceeds the hold).
    pub updates: teloxide::Bot,
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    /// `/reload`'s path to the config (None: not available in this run).
    pub reloader: Option<Reloader>,
    pub health: Arc<Health>,
    /// Answers, queued per chat and paced with the deliverer's [`crate::deliver::Pacer`].
    pub replies: Replies,
    /// The deliverer's wake-up (a `/digest off` flushes the queue into the outbox).
    pub wake: Arc<Notify>,
}

/// State of the update loop.
struct Session {
    username: String,
    commands: DefaultKeyedRateLimiter<u64>,
    warned: HashMap<u64, Instant>,
    handled: u64,
}

impl Bot {
    /// Answers updates until `shutdown`. Telegram being unreachable is retried with backoff;
    /// nothing here ends the daemon.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let Some(username) = self.introduce(&shutdown).await else {
            return;
        };
        tracing::info!("bot @{username} is answering commands");
        self.sync_topics();
        let mut session = Session {
            username,
            commands: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(COMMANDS_PER_MINUTE).expect("non-zero"),
            )),
            warned: HashMap::new(),
            handled: 0,
        };
        // The next getUpdates confirms everything up to the last handled update, and that id is
        // stored: after a restart Telegram does not send a handled update again.
        let mut last_handled = match self.store.update_offset() {
            Ok(id) => id,
            Err(e) => {
                tracing::error!("cannot read the last handled update from the store: {e}");
                None
            }
        };
        let mut failures = 0u32;
        let mut config_open = true;
        loop {
            let mut request = self
                .updates
                .get_updates()
                .timeout(LONG_POLL.as_secs() as u32)
                .allowed_updates([
                    AllowedUpdate::Message,
                    AllowedUpdate::CallbackQuery,
                    AllowedUpdate::MyChatMember,
                ]);
            if let Some(id) = last_handled {
                request = request.offset(id as i32 + 1);
            }
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = self.config.changed(), if config_open => {
                    match changed {
                        Ok(()) => self.sync_topics(),
                        Err(_) => config_open = false,
                    }
                    continue;
                }
                result = request.into_future() => result,
            };
            let updates = match result {
                Ok(updates) => {
                    failures = 0;
                    updates
                }
                Err(e) => {
                    failures += 1;
                    let wait = retry_wait(failures);
                    log_poll_error(&e, failures, wait);
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    continue;
                }
            };
            for update in updates {
                let id = update.id.0;
                self.handle(update.kind, &mut session).await;
                last_handled = Some(id);
                // Durable before Telegram is told (by the next getUpdates) that it was handled.
                let recorded = self.store.set_update_offset(id);
                if let Err(e) = recorded.and(self.store.flush().await) {
                    tracing::error!("cannot record the handled update in the store: {e}");
                }
            }
        }
    }

    /// getMe (retried until it works) and setMyCommands. Returns the bot's username.
    async fn introduce(&self, shutdown: &CancellationToken) -> Option<String> {
        let mut failures = 0;
        let me = loop {
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                result = self.telegram.get_me().into_future() => match result {
                    Ok(me) => break me,
                    Err(e) => {
                        failures += 1;
                        let wait = retry_wait(failures);
                        log_poll_error(&e, failures, wait);
                        tokio::select! {
                            _ = shutdown.cancelled() => return None,
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            }
        };
        for (lang, code) in [(Lang::Ko, None), (Lang::En, Some("en"))] {
            let commands = text::command_list(lang)
                .into_iter()
                .map(|(c, d)| BotCommand::new(c, d));
            let mut request = self.telegram.set_my_commands(commands);
            if let Some(code) = code {
                request = request.language_code(code);
            }
            if let Err(e) = request.await {
                tracing::warn!(
                    "cannot register the command list with Telegram: {}",
                    crate::secret::describe(&e)
                );
            }
        }
        Some(me.username.clone().unwrap_or_default())
    }

    /// Drops topics the config no longer has from every subscription (at start and on reload).
    fn sync_topics(&mut self) {
        let valid: HashSet<String> = self
            .config
            .borrow_and_update()
            .topics
            .iter()
            .map(|t| t.id.get_ref().clone())
            .collect();
        match self.store.retain_topics(&valid) {
            Ok(0) => {}
            Ok(n) => tracing::info!("{n} subscriptions lost topics that the config removed"),
            Err(e) => tracing::error!("cannot update subscriptions after a config change: {e}"),
        }
    }

    async fn handle(&self, update: UpdateKind, session: &mut Session) {
        session.handled += 1;
        if session.handled.is_multiple_of(1000) {
            session.commands.retain_recent();
            session
                .warned
                .retain(|_, at| at.elapsed() < Duration::from_secs(60));
        }
        let result = match update {
            UpdateKind::Message(message) => self.on_message(message, session).await,
            UpdateKind::CallbackQuery(query) => self.on_callback(query, session).await,
            UpdateKind::MyChatMember(change) => self.on_membership(change),
            // Edited messages, channel posts and the rest are not for us.
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!("cannot handle a Telegram update: {e}");
        }
    }

    /// Whether `user` may send another command now. Tells them once when they may not.
    async fn admit(&self, user: u64, chat: i64, lang: Lang, session: &mut Session) -> bool {
        match session.commands.check_key(&user) {
            Ok(()) => true,
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                let recently = session
                    .warned
                    .get(&user)
                    .is_some_and(|at| at.elapsed() < Duration::from_secs(60));
                if !recently {
                    session.warned.insert(user, Instant::now());
                    tracing::info!(user, "command flood: ignoring this user's commands for now");
                    self.reply(
                        chat,
                        &text::slow_down_plain(lang, wait.as_secs().max(1)),
                        None,
                    )
                    .await;
                }
                false
            }
        }
    }

    async fn on_message(&self, message: Message, session: &mut Session) -> Result<(), StoreError> {
        let chat = &message.chat;
        if let Some(to) = message.migrate_to_chat_id() {
            if self.store.move_subscriber(chat.id.0, to.0)? {
                tracing::info!(
                    "group {} became supergroup {}: its subscription follows",
                    chat.id,
                    to
                );
            }
            return Ok(());
        }
        let Some(kind) = chat_kind(chat) else {
            return Ok(()); // channels
        };
        let Some(text) = message.text() else {
            return Ok(()); // stickers, photos, service messages
        };
        let from = message.from.as_ref();
        let lang = Lang::from_code(from.and_then(|u| u.language_code.as_deref()));
        // An anonymous group admin posts as the group itself.
        let as_group = message
            .sender_chat
            .as_ref()
            .is_some_and(|c| c.id == chat.id);
        let sender = from.map(|u| u.id.0).unwrap_or(chat.id.0.unsigned_abs());
        let mut context = Context {
            chat: chat.id.0,
            kind: Some(kind),
            user: from.map(|u| u.id.0),
            lang,
            may_change: kind == ChatKind::Private || as_group,
        };
        if !text.starts_with('/') {
            if context.private() && self.admit(sender, context.chat, lang, session).await {
                self.reply(context.chat, &text::short_help(lang), None)
                    .await;
            }
            return Ok(());
        }
        let command = match Command::parse(text.trim(), &session.username) {
            Ok(command) => command,
            Err(ParseError::WrongBotName(_)) => return Ok(()), // for another bot in the group
            Err(_) => {
                if context.private() && self.admit(sender, context.chat, lang, session).await {
                    self.reply(context.chat, &text::short_help(lang), None)
                        .await;
                }
                return Ok(());
            }
        };
        if !self.admit(sender, context.chat, lang, session).await {
            return Ok(());
        }
        let changes = matches!(
            &command,
            Command::Start(_) | Command::Subscribe(_) | Command::Unsubscribe(_) | Command::Stop
        ) || matches!(&command, Command::Digest(args) if !args.trim().is_empty());
        if changes && !context.may_change {
            context.may_change = match from {
                Some(user) => self.is_group_admin(context.chat, user.id).await,
                None => false,
            };
            if !context.may_change {
                self.reply(context.chat, &text::group_admins_only(lang), None)
                    .await;
                return Ok(());
            }
        }
        self.execute(command, &context).await
    }

    async fn is_group_admin(&self, chat: i64, user: UserId) -> bool {
        match self.telegram.get_chat_member(ChatId(chat), user).await {
            Ok(member) => member.kind.is_privileged(),
            Err(e) => {
                tracing::warn!(
                    chat,
                    "cannot check whether a group member is an administrator: {}",
                    crate::secret::describe(&e)
                );
                false
            }
        }
    }

    fn is_operator(&self, context: &Context) -> bool {
        context.user.is_some_and(|user| {
            self.config
                .borrow()
                .telegram
                .admins
                .contains(&(user as i64))
        })
    }

    async fn execute(&self, command: Command, cx: &Context) -> Result<(), StoreError> {
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
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
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
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        text::mysubs(lang, &names, s.digest_at)
                    }
                };
                self.reply(cx.chat, &reply, None).await;
            }
            Command::Recent(args) => self.recent(cx, &args).await?,
            Command::Digest(args) => self.digest(cx, &args).await?,
            Command::Stop => {
                let dropped = self.store.forget_subscriber(cx.chat)?;
                tracing::info!(
                    chat = cx.chat,
                    "/stop: subscription deleted, {dropped} pending notices dropped"
                );
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
                        Err(e) => text::reload_failed(lang, &e),
                    },
                };
                self.reply(cx.chat, &reply, None).await;
            }
        }
        Ok(())
    }

    /// `/subscribe` and `/unsubscribe` with topic arguments (or `all`).
    async fn change_topics(&self, cx: &Context, args: &str, add: bool) -> Result<(), StoreError> {
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
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
        let unchanged: Vec<&str> = unchanged.iter().map(String::as_str).collect();
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
    async fn reply_unknown_topics(
        &self,
        cx: &Context,
        error: &TopicQueryError,
        changes: bool,
    ) -> Result<(), StoreError> {
        let lines = self.topic_lines(&self.topics_of(cx.chat)?);
        let unknown: Vec<&str> = error.unknown.iter().map(String::as_str).collect();
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
    async fn recent(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
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
        for part in render::split_list(notices, render::utf16_len(&heading)) {
            self.reply(cx.chat, &render::notice_list_html(&heading, &part), None)
                .await;
        }
        Ok(())
    }

    /// `/digest on [HH:MM] | off`.
    async fn digest(&self, cx: &Context, args: &str) -> Result<(), StoreError> {
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
                        // Today's digest is due only if its time is still ahead.
                        let now = Utc::now();
                        let today = now.with_timezone(&crate::items::kst()).date_naive();
                        self.store.update_subscriber(cx.chat, |s| {
                            s.map(|mut s| {
                                s.digest_at = Some(at);
                                s.last_digest = today.pred_opt();
                                if digest::due_at(&s, now).is_some_and(|due| due <= now) {
                                    s.last_digest = Some(today);
                                }
                                s
                            })
                        })?;
                        text::digest_on(cx.lang, at)
                    }
                }
            }
            (Some("off"), None) => {
                self.store.update_subscriber(cx.chat, |s| {
                    s.map(|mut s| {
                        s.digest_at = None;
                        s
                    })
                })?;
                // What was collected goes out now rather than waiting for a digest time.
                let today = Utc::now().with_timezone(&crate::items::kst()).date_naive();
                let flushed = self.store.make_digest(cx.chat, today, |s, notices| {
                    digest::compose(s, today, notices)
                })?;
                if flushed > 0 {
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
    async fn on_callback(
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
        if let Err(e) = self
            .telegram
            .edit_message_reply_markup(ChatId(chat_id), message_id)
            .reply_markup(self.keyboard(&topics))
            .await
        {
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

    /// The bot was blocked in a private chat, or removed from a group: deactivate.
    fn on_membership(&self, change: ChatMemberUpdated) -> Result<(), StoreError> {
        if matches!(
            change.new_chat_member.kind,
            ChatMemberKind::Left | ChatMemberKind::Banned(_)
        ) && let Some(dropped) = self.store.deactivate_subscriber(
            change.chat.id.0,
            "the bot was blocked or removed from the chat",
        )? {
            tracing::info!(
                chat = change.chat.id.0,
                "the bot was blocked or removed: subscriber deactivated, {dropped} pending notices dropped"
            );
        }
        Ok(())
    }

    fn topics_of(&self, chat: i64) -> Result<BTreeSet<String>, StoreError> {
        Ok(self
            .store
            .subscriber(chat)?
            .map(|s| s.topics)
            .unwrap_or_default())
    }

    /// Display names of topic ids (ids the config no longer has are shown as they are).
    fn names(&self, ids: &BTreeSet<String>) -> Vec<String> {
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

    fn topic_lines(&self, subscribed: &BTreeSet<String>) -> Vec<TopicLine> {
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

    fn keyboard(&self, subscribed: &BTreeSet<String>) -> InlineKeyboardMarkup {
        let config = self.config.borrow();
        InlineKeyboardMarkup::new(config.topics.iter().map(|t| {
            let id = t.id.get_ref();
            vec![InlineKeyboardButton::callback(
                text::toggle_label_plain(&t.name, subscribed.contains(id)),
                format!("{TOGGLE}{id}"),
            )]
        }))
    }

    fn status(&self) -> Result<text::Status, StoreError> {
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
        })
    }

    /// Queues an answer in HTML (see [`replies`]: in order per chat, paced, not durable).
    async fn reply(&self, chat: i64, html: &str, keyboard: Option<InlineKeyboardMarkup>) {
        self.replies.send(chat, html.to_owned(), keyboard);
    }
}

fn chat_kind(chat: &Chat) -> Option<ChatKind> {
    if chat.is_private() {
        Some(ChatKind::Private)
    } else if chat.is_supergroup() {
        Some(ChatKind::Supergroup)
    } else if chat.is_group() {
        Some(ChatKind::Group)
    } else {
        None
    }
}

/// Wait before talking to Telegram again after `failures` failures in a row: 1 s doubling to 5 min.
fn retry_wait(failures: u32) -> Duration {
    crate::backoff::backoff_from(Duration::from_secs(1), failures, Duration::from_secs(300))
}

fn log_poll_error(error: &RequestError, failures: u32, wait: Duration) {
    let text = crate::secret::describe(error);
    let hint = match error {
        RequestError::Api(ApiError::InvalidToken) => {
            " (the token was refused: check TELOXIDE_TOKEN / the token file)"
        }
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
            " (another process is reading this bot's updates: run one policy-watch per token)"
        }
        RequestError::Api(ApiError::Unknown(d)) if d.to_ascii_lowercase().contains("webhook") => {
            " (a webhook is set for this bot: delete it, or set telegram.bot = false)"
        }
        _ => "",
    };
    if failures.is_power_of_two() {
        tracing::warn!(
            failures,
            "cannot get updates from Telegram: {text}{hint}; retrying in {wait:?}"
        );
    } else {
        tracing::debug!(failures, "cannot get updates from Telegram: {text}");
    }
}

/// Why some words of a topic list name no single topic.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TopicQueryError {
    /// Words that name no topic.
    pub unknown: Vec<String>,
    /// Words that fit several topics, with the ids they fit.
    pub ambiguous: Vec<(String, Vec<String>)>,
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

    #[test]
    fn commands_parse_with_and_without_the_bot_name() {
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
