//! The bot's task: long-polls getUpdates, keeps the last handled update id, and hands each
//! command to its handler.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use teloxide::payloads::{GetUpdatesSetters, SetMyCommandsSetters};
use teloxide::prelude::Requester;
use teloxide::types::{
    AllowedUpdate, BotCommand, Chat, ChatId, ChatMemberKind, ChatMemberUpdated,
    InlineKeyboardMarkup, Message, UpdateKind, UserId,
};
use teloxide::utils::command::{BotCommands, ParseError};
use teloxide::{ApiError, RequestError};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::commands::{COMMANDS_PER_MINUTE, Command, Context};
use super::replies::Replies;
use crate::config::Config;
use crate::deliver::Withdraw;
use crate::deliver::telegram::LONG_POLL;
use crate::health::Health;
use crate::records::Lang;
use crate::reload::Reloader;
use crate::store::{ChatKind, Store, StoreError};
use crate::text;

pub struct Bot {
    pub telegram: teloxide::Bot,
    /// The same bot on the long-poll client (its timeout exceeds the hold).
    pub updates: teloxide::Bot,
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    /// `/reload`'s path to the config (None: not available in this run).
    pub reloader: Option<Reloader>,
    pub health: Arc<Health>,
    /// Answers, queued per chat and paced with the deliverer's `Pacer`.
    pub replies: Replies,
    /// The deliverer's wake-up (a `/digest off` flushes the queue into the outbox).
    pub wake: Arc<Notify>,
    /// Asks the deliverer, which owns the outbox, to drop what waits for a chat.
    pub(crate) withdraw: tokio::sync::mpsc::UnboundedSender<Withdraw>,
}

/// State of the update loop.
pub(super) struct Session {
    pub(super) username: String,
    pub(super) commands: DefaultKeyedRateLimiter<u64>,
    pub(super) warned: HashMap<u64, Instant>,
    pub(super) handled: u64,
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
    pub(super) async fn introduce(&self, shutdown: &CancellationToken) -> Option<String> {
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
    pub(super) fn sync_topics(&mut self) {
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

    pub(super) async fn handle(&self, update: UpdateKind, session: &mut Session) {
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
    pub(super) async fn admit(
        &self,
        user: u64,
        chat: i64,
        lang: Lang,
        session: &mut Session,
    ) -> bool {
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

    pub(super) async fn on_message(
        &self,
        message: Message,
        session: &mut Session,
    ) -> Result<(), StoreError> {
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
            Command::Start(_)
                | Command::Subscribe(_)
                | Command::Unsubscribe(_)
                | Command::Stop
                | Command::Watch(_)
                | Command::Unwatch(_)
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

    pub(super) async fn is_group_admin(&self, chat: i64, user: UserId) -> bool {
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

    pub(super) fn is_operator(&self, context: &Context) -> bool {
        context.user.is_some_and(|user| {
            self.config
                .borrow()
                .telegram
                .admins
                .contains(&(user as i64))
        })
    }

    /// The bot was blocked in a private chat, or removed from a group: deactivate.
    pub(super) fn on_membership(&self, change: ChatMemberUpdated) -> Result<(), StoreError> {
        if matches!(
            change.new_chat_member.kind,
            ChatMemberKind::Left | ChatMemberKind::Banned(_)
        ) && self.store.deactivate_subscriber(
            change.chat.id.0,
            "the bot was blocked or removed from the chat",
        )? {
            tracing::info!(
                chat = change.chat.id.0,
                "the bot was blocked or removed: subscriber deactivated"
            );
            self.withdraw(change.chat.id.0);
        }
        Ok(())
    }

    /// Asks the deliverer to drop what waits for `chat` (it left or blocked the bot).
    pub(super) fn withdraw(&self, chat: i64) {
        // Closed only when the deliverer is gone (shutting down): the outbox keeps the
        // deliveries, and the deliverer drops them at its next start (no subscriber).
        let _ = self.withdraw.send(Withdraw { chat });
    }

    /// Queues an answer in HTML (see [`replies`]: in order per chat, paced, not durable).
    pub(super) async fn reply(
        &self,
        chat: i64,
        html: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) {
        self.replies.send(chat, html.to_owned(), keyboard);
    }

    /// Answers with a list of notices under `heading` (`/recent`, `/search`), in as many
    /// messages as Telegram's length limit needs.
    pub(super) async fn reply_list(
        &self,
        chat: i64,
        heading: &str,
        notices: Vec<crate::records::Notice>,
    ) {
        use crate::render;
        for part in render::split_list(notices, render::utf16_len(heading)) {
            self.reply(chat, &render::notice_list_html(heading, &part), None)
                .await;
        }
    }
}

/// Borrowed views of owned strings, as the `text` functions take them.
pub(super) fn strs<'a>(words: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    words.into_iter().map(String::as_str).collect()
}

pub(super) fn chat_kind(chat: &Chat) -> Option<ChatKind> {
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
pub(super) fn retry_wait(failures: u32) -> Duration {
    crate::backoff::backoff_from(Duration::from_secs(1), failures, Duration::from_secs(300))
}

pub(super) fn log_poll_error(error: &RequestError, failures: u32, wait: Duration) {
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
