//! Every sentence the bot says — answers, and the headings the deliverer puts on digests — in
//! Korean and English. Korean is the default; English is used when a user's Telegram client
//! reports another language.
//!
//! The sentences themselves are in the message catalogues `ko.ftl` and `en.ftl` beside this
//! file (Fluent; loaded by `catalogue`); the functions here pick a message, escape everything
//! that comes from the config or from users, and lay out lines and lists. They return Telegram HTML unless their name
//! ends in `_plain`.

mod catalogue;
mod chat;
mod lists;
mod operator;
mod topics;
mod words;

pub(crate) use chat::*;
pub(crate) use operator::*;
pub(crate) use topics::*;
pub(crate) use words::*;
