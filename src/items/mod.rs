//! Normalised items and the helpers that make them: dedup keys, link normalisation, HTML to
//! text, and the date forms Korean government sites use.
//!
//! Every source kind (feed or list page) produces the same [`Item`], so dedup, classification and
//! delivery never care where an item came from.
//!
//! # Layout
//! `item` the [`Item`] and identities; `keys` dedup keys and links; `text` cleaning, HTML to
//! text and caps; `dates` the date forms and KST.

mod dates;
mod item;
mod keys;
#[cfg(test)]
mod tests;
mod text;

pub use dates::*;
pub use item::*;
pub use keys::*;
pub use text::*;
