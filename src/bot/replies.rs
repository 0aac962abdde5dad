//! Sending the bot's answers: in order per chat, paced like notices, without holding up the
//! update loop.
//!
//! Telegram counts an answer to a command like any message to that chat (about one a second in a
//! private chat, twenty a minute in a group). Sent straight from the update loop, a burst of
//! commands drew 429s; paced there, one user's burst would delay everyone else's answers. So each
//! chat with answers waiting has a small worker that sends them in order, each after its turn on
//! the [`Pacer`] the deliverer uses too (answers and notices take turns while both wait). Workers
//! end after a minute without work.
//!
//! Answers are not durable (someone is waiting for them; a lost one is asked again): a 429 pauses
//! every send of the bot for its `retry_after` and the answer is retried, twice at most; a refusal (the user blocked the bot) deactivates the subscriber,
//! other failures are logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, InlineKeyboardMarkup, ParseMode, ReplyMarkup};
use tokio::sync::mpsc;

use crate::deliver::Withdraw;
use crate::deliver::telegram::{Outcome, classify_error, no_link_preview};
use crate::pacer::{Class, Pacer};
use crate::store::Store;

/// How long a chat's worker waits for another answer before it ends.
const IDLE: Duration = Duration::from_secs(60);

/// One answer: Telegram HTML and an optional inline keyboard.
struct Answer {
    html: String,
    keyboard: Option<InlineKeyboardMarkup>,
}

/// What every chat worker needs.
struct Shared {
    telegram: teloxide::Bot,
    pacer: Arc<Pacer>,
    store: Store,
    /// The deliverer drops what waits for a chat that blocked the bot.
    withdraw: mpsc::UnboundedSender<Withdraw>,
}

/// The per-chat answer queues.
#[derive(Clone)]
pub struct Replies {
    shared: Arc<Shared>,
    queues: Arc<Mutex<HashMap<i64, mpsc::UnboundedSender<Answer>>>>,
}

impl Replies {
    pub fn new(
        telegram: teloxide::Bot,
        pacer: Arc<Pacer>,
        store: Store,
        withdraw: mpsc::UnboundedSender<Withdraw>,
    ) -> Replies {
        Replies {
            shared: Arc::new(Shared {
                telegram,
                pacer,
                store,
                withdraw,
            }),
            queues: Arc::default(),
        }
    }

    /// Queues an answer to `chat`; it goes out after the chat's earlier answers.
    pub fn send(&self, chat: i64, html: String, keyboard: Option<InlineKeyboardMarkup>) {
        let mut answer = Answer { html, keyboard };
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queues.get(&chat) {
            match queue.send(answer) {
                Ok(()) => return,
                // The worker ended (idle): start another.
                Err(mpsc::error::SendError(back)) => answer = back,
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(answer).expect("the receiver is here");
        queues.insert(chat, tx);
        tokio::spawn(work(Arc::clone(&self.shared), chat, rx));
    }
}

/// Sends one chat's answers in order until the queue has been idle for [`IDLE`].
async fn work(shared: Arc<Shared>, chat: i64, mut rx: mpsc::UnboundedReceiver<Answer>) {
    loop {
        match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(answer)) => send(&shared, chat, &answer).await,
            Ok(None) => return,
            Err(_) => {
                // Idle: refuse new answers (the sender starts a new worker), send what slipped in.
                rx.close();
                while let Ok(answer) = rx.try_recv() {
                    send(&shared, chat, &answer).await;
                }
                return;
            }
        }
    }
}

async fn send(shared: &Shared, chat: i64, answer: &Answer) {
    for _ in 0..3 {
        shared.pacer.turn(Class::Answer, &chat.to_string()).await;
        let mut request = shared
            .telegram
            .send_message(ChatId(chat), &answer.html)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_link_preview());
        if let Some(keyboard) = &answer.keyboard {
            request = request.reply_markup(ReplyMarkup::InlineKeyboard(keyboard.clone()));
        }
        let outcome = match request.await {
            Ok(_) => return,
            Err(e) => classify_error(&e),
        };
        match outcome {
            // The next turn comes after the pause, for this answer as for every send.
            Outcome::RetryAfter(wait) => shared.pacer.pause(wait),
            Outcome::Gone(reason) => {
                match shared.store.deactivate_subscriber(chat, &reason) {
                    Ok(true) => {
                        tracing::info!(chat, "subscriber deactivated: {reason}");
                        let _ = shared.withdraw.send(Withdraw { chat });
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!("cannot deactivate subscriber {chat}: {e}"),
                }
                return;
            }
            other => {
                tracing::warn!(chat, "cannot answer a command: {other:?}");
                return;
            }
        }
    }
}
