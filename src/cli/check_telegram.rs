//! `policy-watch check-telegram`: prove the Telegram side before the first release goes out —
//! the token works, and the bot may post in every configured destination (a bot that is not a
//! channel's administrator would otherwise learn it from a 403 on the first notice, days later).

use std::process::ExitCode;

use policy_watch::config::Config;
use policy_watch::daemon::{self, EXIT_CONFIG, EXIT_FAILURE};
use policy_watch::deliver::{TelegramSink, recipient};
use teloxide::prelude::Requester;
use teloxide::types::{ChatFullInfo, ChatMemberKind, UserId};
use teloxide::{ApiError, RequestError};

pub fn run(runtime: &tokio::runtime::Runtime, config: &Config, send_test: bool) -> ExitCode {
    let (token, source) = match daemon::telegram_token(config) {
        Ok(Some(found)) => found,
        Ok(None) => {
            eprintln!(
                "error: no Telegram token: set TELOXIDE_TOKEN, telegram.token_file, or systemd's LoadCredential=telegram-token"
            );
            return ExitCode::from(EXIT_CONFIG as u8);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    let from = source.to_string();
    let sink = match super::telegram_sink(config, &token) {
        Ok(sink) => sink,
        Err(code) => return code,
    };
    let problems = runtime.block_on(check(config, &sink, &from, send_test));
    if problems == 0 {
        println!("Telegram: all good");
        ExitCode::SUCCESS
    } else {
        println!("Telegram: {problems} problem(s); fix them before relying on the service");
        ExitCode::from(EXIT_FAILURE as u8)
    }
}

/// Prints a line per check; returns the number of problems.
async fn check(config: &Config, sink: &TelegramSink, from: &str, send_test: bool) -> usize {
    let bot = sink.bot();
    let me = match bot.get_me().await {
        Ok(me) => me,
        Err(e) => {
            let why = match &e {
                RequestError::Api(ApiError::InvalidToken) => format!(
                    "Telegram refused the token from {from} (401 Unauthorized): check it is the whole token @BotFather gave (digits:letters), without quotes or spaces"
                ),
                RequestError::Api(ApiError::Unknown(d)) if d.contains("Unauthorized") => format!(
                    "Telegram refused the token from {from} (401 Unauthorized): check it is the whole token @BotFather gave (digits:letters), without quotes or spaces"
                ),
                other => format!(
                    "cannot reach the Bot API{}: {}",
                    config
                        .telegram
                        .api_url
                        .as_ref()
                        .map(|u| format!(" at {u}"))
                        .unwrap_or_default(),
                    policy_watch::secret::describe(other)
                ),
            };
            println!("FAIL token: {why}");
            return 1;
        }
    };
    let username = me.username.clone().unwrap_or_default();
    println!("ok   token from {from}: bot @{username} (id {})", me.id);
    if config.telegram.destinations.is_empty() {
        println!(
            "note no [[telegram.destination]]: notices go only to people and groups who subscribe through the bot{}",
            if config.telegram.bot {
                ""
            } else {
                " — and telegram.bot = false, so nobody can"
            }
        );
    }
    let mut problems = 0;
    for destination in &config.telegram.destinations {
        let chat = &destination.get_ref().chat;
        match can_post(bot, chat, me.id).await {
            Ok(what) => {
                println!("ok   {chat}: {what}");
                if send_test {
                    let text = format!(
                        "policy-watch: test message from check-telegram (bot @{username}). Notices will arrive here."
                    );
                    match sink.send(chat, &text, false).await {
                        policy_watch::deliver::Outcome::Sent => {
                            println!("ok   {chat}: test message sent")
                        }
                        other => {
                            problems += 1;
                            println!("FAIL {chat}: the test message was refused: {other:?}");
                        }
                    }
                }
            }
            Err(why) => {
                problems += 1;
                println!("FAIL {chat}: {why}");
            }
        }
    }
    problems
}

/// Why the bot cannot post in a destination, with the fix.
#[derive(Debug, thiserror::Error)]
enum CannotPost {
    #[error(
        "Telegram knows no such chat: check the chat id or @name in [[telegram.destination]] (a channel's numeric id starts with -100) and that the bot was added to it"
    )]
    NoSuchChat,
    #[error("cannot look the chat up: {0}")]
    Lookup(String),
    #[error("cannot see the bot's own membership: {0}")]
    Membership(String),
    #[error(
        "channel; the bot is an administrator but may not post: turn on \"Post messages\" in its administrator rights"
    )]
    AdminWithoutPosting,
    #[error(
        "channel; the bot is only a member: make it an administrator with \"Post messages\" (channel settings → Administrators → Add)"
    )]
    OnlyMember,
    #[error("{kind}; the bot is restricted and may not send messages: lift the restriction")]
    Restricted { kind: &'static str },
    #[error("{kind}; the bot is not a member (left or removed): add it{}", if *channel { " as an administrator with \"Post messages\"" } else { "" })]
    NotMember { kind: &'static str, channel: bool },
}

/// Whether the bot may post in `chat`: what it is there, or what is wrong and the fix.
async fn can_post(bot: &teloxide::Bot, chat: &str, me: UserId) -> Result<String, CannotPost> {
    let info: ChatFullInfo = bot.get_chat(recipient(chat)).await.map_err(|e| {
        let text = policy_watch::secret::describe(&e);
        if text.to_ascii_lowercase().contains("chat not found") {
            CannotPost::NoSuchChat
        } else {
            CannotPost::Lookup(text)
        }
    })?;
    let member = bot
        .get_chat_member(recipient(chat), me)
        .await
        .map_err(|e| CannotPost::Membership(policy_watch::secret::describe(&e)))?;
    let channel = info.is_channel();
    let kind = if channel {
        "channel"
    } else if info.is_private() {
        "private chat"
    } else {
        "group"
    };
    match (&member.kind, channel) {
        (ChatMemberKind::Owner(_), _) => Ok(format!("{kind}; the bot owns it")),
        (ChatMemberKind::Administrator(a), true) if a.can_post_messages => {
            Ok("channel; the bot is an administrator allowed to post".to_owned())
        }
        (ChatMemberKind::Administrator(_), true) => Err(CannotPost::AdminWithoutPosting),
        (ChatMemberKind::Administrator(_), false) => {
            Ok(format!("{kind}; the bot is an administrator"))
        }
        (ChatMemberKind::Member(_), true) | (ChatMemberKind::Restricted(_), true) => {
            Err(CannotPost::OnlyMember)
        }
        (ChatMemberKind::Member(_), false) => Ok(format!("{kind}; the bot is a member")),
        (ChatMemberKind::Restricted(r), false) if r.can_send_messages => Ok(format!(
            "{kind}; the bot is a member (restricted, may send messages)"
        )),
        (ChatMemberKind::Restricted(_), false) => Err(CannotPost::Restricted { kind }),
        (ChatMemberKind::Left | ChatMemberKind::Banned(_), _) => {
            Err(CannotPost::NotMember { kind, channel })
        }
    }
}
