//! Pacing of every message the bot sends — notices and answers alike — under Telegram's limits,
//! with a margin, and the bot-wide pause after a 429.
//!
//! Telegram counts every message of a bot: about 30 a second over all chats, one a second in a
//! private chat, 20 a minute in a group or channel. Riding those limits exactly failed: a little
//! jitter put a 31st message into one second, Telegram answered 429 for the whole bot, and sends
//! to the other chats inside that `retry_after` renewed the penalty until notices stalled. So:
//!
//! - **A margin.** Turns are spaced [`MARGIN`] wider than the limits (28 a second for 30), evenly:
//!   a late network or a busy machine does not push two sends into one of Telegram's windows.
//! - **One queue for the bot.** A single dispatcher hands out turns; a send waits for its turn
//!   and goes right after it. A chat's next turn counts from the turn actually given (not from
//!   when the send was queued), so a notice and an answer to the same person are spaced too.
//! - **A 429 pauses everything.** Telegram's 429 does not say which limit it enforces, so, as
//!   python-telegram-bot's rate limiter does, no turn is given to any chat until `retry_after`
//!   (plus a margin) has passed. With the margin above, a 429 should not happen at all.
//! - **Fair shares.** Answers (someone is waiting for them) and notices (a queue that may hold
//!   thousands after a release) take turns alternately while both wait, so a release to ten
//!   thousand subscribers delays an answer by one turn, and a flood of commands cannot hold back
//!   notices by more than half the budget. Within each class the order is first come, first
//!   served; a send whose chat is not due yet lets the next one of its class go first.
//!
//! The dispatcher is one task ([`Pacer::start`]) that ends when the last [`Pacer`] handle is
//! dropped. governor still limits commands per user in the bot; the per-chat and global spacing
//! here is a queue with priorities and a pause, which a rate-limiter crate does not offer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::config::TelegramLimits;

/// How much wider than Telegram's limits turns are spaced: 1/14 (28 a second for 30, one private
/// message every 1.07 s, a group message every 3.2 s). Enough for the jitter of a loaded machine,
/// small enough that a large fan-out takes at most 1.08× the limits' minimum.
pub(crate) const MARGIN: f64 = 1.0 / 14.0;

/// Extra wait after a 429's `retry_after` (Telegram's seconds are rounded).
pub(crate) const RETRY_AFTER_MARGIN: Duration = Duration::from_millis(250);

/// Chats remembered for their next turn beyond this many are forgotten once due.
const CHATS_KEPT: usize = 4096;

/// Who is sending: they share the budget in alternation (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A notice, digest or alert from the outbox.
    Notice,
    /// The bot's answer to a command.
    Answer,
}

impl Class {
    fn index(self) -> usize {
        match self {
            Class::Notice => 0,
            Class::Answer => 1,
        }
    }
}

/// The spacing of turns, margin included.
#[derive(Debug, Clone, Copy)]
struct Spacing {
    global: Duration,
    group: Duration,
    private: Duration,
}

impl Spacing {
    fn new(limits: &TelegramLimits) -> Spacing {
        let widen = |d: Duration| d.mul_f64(1.0 + MARGIN);
        Spacing {
            global: widen(Duration::from_secs(1) / limits.global_per_second.max(1)),
            group: widen(Duration::from_secs(60) / limits.group_per_minute.max(1)),
            private: widen(Duration::from_secs(1) / limits.private_per_second.max(1)),
        }
    }

    fn chat(&self, chat: &str) -> Duration {
        if is_private(chat) {
            self.private
        } else {
            self.group
        }
    }
}

/// A private chat's id is positive; groups and channels are negative or `@name`.
fn is_private(chat: &str) -> bool {
    chat.parse::<i64>().is_ok_and(|id| id > 0)
}

/// A send waiting for its turn.
struct Waiter {
    chat: String,
    grant: oneshot::Sender<()>,
}

/// What the dispatcher decides from.
struct State {
    queues: [VecDeque<Waiter>; 2],
    /// The class served first at the next turn (alternates while both wait).
    prefer: usize,
    /// Per chat: no turn before this.
    chats: HashMap<String, Instant>,
    next_global: Instant,
    paused_until: Option<Instant>,
    closed: bool,
    stats: PacerStats,
}

/// Counts for logs, metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PacerStats {
    /// Turns given.
    pub(crate) turns: u64,
    /// 429s reported (each paused every send).
    pub(crate) pauses: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
    spacing: Spacing,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The bot's one queue of turns (see the module doc). Shared by the deliverer and the bot's
/// answers behind an `Arc`; dropping the last handle ends the dispatcher.
pub struct Pacer {
    shared: Arc<Shared>,
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_one();
    }
}

impl Pacer {
    /// Starts the dispatcher on the current tokio runtime.
    pub fn start(limits: &TelegramLimits) -> Arc<Pacer> {
        let now = Instant::now();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queues: [VecDeque::new(), VecDeque::new()],
                prefer: Class::Answer.index(),
                chats: HashMap::new(),
                next_global: now,
                paused_until: None,
                closed: false,
                stats: PacerStats::default(),
            }),
            changed: Notify::new(),
            spacing: Spacing::new(limits),
        });
        tokio::spawn(dispatch(Arc::clone(&shared)));
        Arc::new(Pacer { shared })
    }

    /// Waits for a turn to send one message to `chat`; send it right away. Dropping the future
    /// gives the place up (nothing is consumed).
    pub async fn turn(&self, class: Class, chat: &str) {
        let (grant, granted) = oneshot::channel();
        {
            let mut state = self.shared.lock();
            if state.closed {
                return;
            }
            state.queues[class.index()].push_back(Waiter {
                chat: chat.to_owned(),
                grant,
            });
        }
        self.shared.changed.notify_one();
        // An error means the dispatcher is gone (the pacer is being dropped): nothing to wait for.
        let _ = granted.await;
    }

    /// Telegram answered 429 with `retry_after`: no turn for any chat before it has passed.
    pub fn pause(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after + RETRY_AFTER_MARGIN;
        {
            let mut state = self.shared.lock();
            state.stats.pauses += 1;
            state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        }
        self.shared.changed.notify_one();
    }

    pub fn stats(&self) -> PacerStats {
        self.shared.lock().stats
    }
}

/// What the dispatcher does next.
enum Step {
    /// A turn was given; look again at once.
    Granted,
    /// Nothing can be given before this (or before something changes).
    Wait(Option<Instant>),
    Stop,
}

/// Gives turns until the pacer is dropped.
async fn dispatch(shared: Arc<Shared>) {
    loop {
        // Registered before looking, so a change made while deciding is not missed.
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match next_turn(&shared, Instant::now()) {
            Step::Granted => continue,
            Step::Stop => return,
            Step::Wait(Some(at)) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = &mut changed => {}
                }
            }
            Step::Wait(None) => changed.await,
        }
    }
}

/// Gives the turn that is due at `now`, if any.
fn next_turn(shared: &Shared, now: Instant) -> Step {
    let mut state = shared.lock();
    if state.closed {
        return Step::Stop;
    }
    // A waiter that gave up stays queued until it comes up: its turn is then not used (below).
    if state.queues.iter().all(VecDeque::is_empty) {
        return Step::Wait(None);
    }
    if let Some(until) = state.paused_until {
        if until > now {
            return Step::Wait(Some(until));
        }
        state.paused_until = None;
    }
    if state.next_global > now {
        return Step::Wait(Some(state.next_global));
    }
    // The preferred class first; within a class the first waiter whose chat is due.
    let mut earliest: Option<Instant> = None;
    for class in [state.prefer, 1 - state.prefer] {
        let mut found = None;
        for (i, waiter) in state.queues[class].iter().enumerate() {
            match state.chats.get(&waiter.chat) {
                Some(at) if *at > now => earliest = Some(earliest.map_or(*at, |e| e.min(*at))),
                _ => {
                    found = Some(i);
                    break;
                }
            }
        }
        let Some(i) = found else { continue };
        let waiter = state.queues[class].remove(i).expect("found above");
        if waiter.grant.send(()).is_err() {
            // Given up meanwhile: the turn is not used.
            return Step::Granted;
        }
        let spacing = shared.spacing;
        state.next_global = now + spacing.global;
        if state.chats.len() >= CHATS_KEPT {
            state.chats.retain(|_, at| *at > now);
        }
        state
            .chats
            .insert(waiter.chat.clone(), now + spacing.chat(&waiter.chat));
        state.prefer = 1 - class;
        state.stats.turns += 1;
        return Step::Granted;
    }
    Step::Wait(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(global: u32, group: u32, private: u32) -> TelegramLimits {
        TelegramLimits {
            global_per_second: global,
            group_per_minute: group,
            private_per_second: private,
        }
    }

    /// Turns for `sends` (class, chat), queued in that order; returns the instants each was given.
    async fn turns(pacer: &Arc<Pacer>, sends: &[(Class, &str)]) -> Vec<(usize, Instant)> {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (class, chat)) in sends.iter().enumerate() {
            let pacer = Arc::clone(pacer);
            let (class, chat) = (*class, chat.to_string());
            tasks.spawn(async move {
                pacer.turn(class, &chat).await;
                (i, Instant::now())
            });
            // Queued in this order.
            tokio::task::yield_now().await;
        }
        let mut given = tasks.join_all().await;
        given.sort_by_key(|(_, at)| *at);
        given
    }

    #[tokio::test(start_paused = true)]
    async fn turns_keep_a_margin_under_the_global_limit() {
        let pacer = Pacer::start(&limits(30, 20, 1));
        let chats: Vec<String> = (1..=90).map(|i| i.to_string()).collect();
        let sends: Vec<(Class, &str)> = chats.iter().map(|c| (Class::Notice, c.as_str())).collect();
        let given = turns(&pacer, &sends).await;
        let times: Vec<Instant> = given.iter().map(|(_, at)| *at).collect();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_secs(1) / 30,
                "{:?}",
                pair[1] - pair[0]
            );
        }
        // Any one second holds at most 28 turns (30 less the margin).
        for (i, start) in times.iter().enumerate() {
            let within = times[i..]
                .iter()
                .take_while(|t| **t - *start < Duration::from_secs(1))
                .count();
            assert!(within <= 28, "{within} turns within a second");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_chat_is_spaced_from_its_last_turn_not_from_its_request() {
        let pacer = Pacer::start(&limits(30, 20, 1));
        // Two sends to one private chat queued at once, and a group's.
        let given = turns(
            &pacer,
            &[
                (Class::Notice, "5"),
                (Class::Answer, "5"),
                (Class::Notice, "-100"),
            ],
        )
        .await;
        let at = |i: usize| given.iter().find(|(j, _)| *j == i).unwrap().1;
        assert!(
            at(1) - at(0) >= Duration::from_secs(1),
            "private chat: one a second"
        );
        // The group was not held up by the private chat's wait.
        assert!(at(2) < at(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_chat() {
        let pacer = Pacer::start(&limits(30, 20, 1));
        turns(&pacer, &[(Class::Notice, "1")]).await;
        let paused_at = Instant::now();
        pacer.pause(Duration::from_secs(3));
        let given = turns(&pacer, &[(Class::Notice, "2"), (Class::Answer, "3")]).await;
        for (_, at) in given {
            assert!(
                at - paused_at >= Duration::from_secs(3),
                "a turn inside retry_after"
            );
        }
        assert_eq!(pacer.stats().pauses, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_and_notices_alternate_while_both_wait() {
        let pacer = Pacer::start(&limits(30, 20, 1));
        let notices: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        let answers: Vec<String> = (101..=105).map(|i| i.to_string()).collect();
        let mut sends: Vec<(Class, &str)> = notices
            .iter()
            .map(|c| (Class::Notice, c.as_str()))
            .collect();
        sends.extend(answers.iter().map(|c| (Class::Answer, c.as_str())));
        let given = turns(&pacer, &sends).await;
        let order: Vec<usize> = given.iter().map(|(i, _)| *i).collect();
        // The five answers, queued after twenty notices, are among the first ten turns.
        let answer_places: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, i)| **i >= 20)
            .map(|(place, _)| place)
            .collect();
        assert!(answer_places.iter().all(|p| *p < 11), "{order:?}");
        // Notices keep their order.
        let notice_order: Vec<usize> = order.iter().copied().filter(|i| *i < 20).collect();
        assert_eq!(notice_order, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_that_gives_up_uses_no_turn() {
        let pacer = Pacer::start(&limits(1, 20, 1));
        turns(&pacer, &[(Class::Notice, "1")]).await;
        // The next global turn is a second away: a waiter that leaves before it uses nothing.
        let gone =
            tokio::time::timeout(Duration::from_millis(100), pacer.turn(Class::Notice, "2")).await;
        assert!(gone.is_err());
        let started = Instant::now();
        turns(&pacer, &[(Class::Notice, "3")]).await;
        assert!(Instant::now() - started <= Duration::from_millis(1100));
        assert_eq!(pacer.stats().turns, 2);
    }
}
