//! The configuration file: TOML, validated completely before anything runs.
//!
//! Every error names `file:line:column`, says what is wrong and how to fix it, because the person
//! reading it is usually an operator looking at `journalctl` after a `systemctl reload`. Most checks
//! run *inside* deserialisation (custom `deserialize_with` functions, `de`), so the TOML parser
//! attaches the span of the offending value for free; the few cross-field checks (`load`:
//! duplicate ids, fields that only make sense for one source kind) keep a [`toml::Spanned`] of the
//! value they point at.

mod de;
mod load;
mod schedule;
mod service;
mod sources;
mod telegram;
#[cfg(test)]
mod tests;
mod topics;

pub use load::*;
pub use schedule::*;
pub use service::*;
pub use sources::*;
pub use telegram::*;
pub use topics::*;
