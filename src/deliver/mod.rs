//! Delivery: notices leave the durable outbox in order per destination, paced under Telegram's
//! limits, and are removed only once the destination accepted them.
//!
//! One [`Deliverer`] task owns the outbox drain. It keeps the pending deliveries in memory (loaded
//! from the store, refreshed when the ingest stage wakes it), and sends at most one message per
//! destination at a time, so each destination sees its notices in order while different
//! destinations proceed in parallel. Every send waits for its turn on the bot's one `Pacer`
//! (shared with the bot's answers: per chat, over all chats, paused by any 429). Telegram's
//! answers decide what happens next (see [`telegram::Outcome`]).

//!
//! # Layout
//! `drain` the outbox drain ([`Deliverer`]); `telegram` the Bot API sink and what its answers
//! mean; `digest` the daily digests; `attachments` a release's files from its view page.

pub(crate) mod attachments;
pub(crate) mod digest;
mod drain;
pub(crate) mod telegram;

pub use digest::{Digester, SystemClock, TokioClock};
pub use drain::*;
pub use telegram::{Outcome, TelegramSink, recipient};
