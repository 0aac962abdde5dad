//! Subscribing by talking to the bot: the whole daemon in-process, a feed on 127.0.0.1, the fake
//! Bot API server's getUpdates, a real sled store.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use policy_watch::deliver::{Digester, TokioClock};
use policy_watch::records::{Lang, Payload};
use policy_watch::store::{ChatKind, Store, Subscriber};
use support::feeds::{FeedServer, Reply};
use support::telegram::{GroupRole, Limits, Sent, TelegramServer};
use support::*;

const TOPICS: &str = r##"
[[topic]]
id = "chips"
name = "AI반도체 (NPU·AI칩)"
hashtag = "#AI반도체"
keywords = ["AI반도체", "NPU"]

[[topic]]
id = "bio"
name = "AI 바이오"
hashtag = "#AI바이오"
keywords = ["AI 신약", "AI 바이오"]

[[topic]]
id = "talent"
name = "AI·반도체 인재 양성"
hashtag = "#인재양성"
keywords = ["AI 인재", "반도체 인재"]
"##;

const ADMIN: i64 = 777;
const POLL: Duration = Duration::from_millis(300);

/// A feed whose items the test changes while the daemon polls it. Each item is dated a minute
/// after the one published before it, and keeps its date.
struct Feed {
    server: FeedServer,
    items: Arc<Mutex<Vec<(String, String, i64)>>>,
}

impl Feed {
    async fn start(initial: &[(&str, &str)]) -> Feed {
        let server = FeedServer::start().await;
        let items = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&items);
        server.route("/rss.xml", move |_| {
            Reply::ok(
                "application/rss+xml",
                rss_feed_dated(&shared.lock().unwrap()),
            )
        });
        let feed = Feed { server, items };
        for (guid, title) in initial {
            feed.publish(guid, title);
        }
        feed
    }

    /// Adds an item at the top of the feed.
    fn publish(&self, guid: &str, title: &str) {
        let mut items = self.items.lock().unwrap();
        let minute = items.len() as i64;
        items.insert(0, (guid.to_owned(), title.to_owned(), minute));
    }
}

/// A fake Telegram server, a feed, and a config file pointing at both; a store directory.
struct World {
    tg: TelegramServer,
    feed: Feed,
    path: PathBuf,
    state: StateDir,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(limits: Option<Limits>, initial: &[(&str, &str)]) -> World {
        World::with(TelegramServer::start(limits).await, initial).await
    }

    /// Against a server that applies Telegram's limits without tolerance.
    async fn strict(initial: &[(&str, &str)]) -> World {
        World::with(TelegramServer::start_strict(Limits::REAL).await, initial).await
    }

    async fn with(tg: TelegramServer, initial: &[(&str, &str)]) -> World {
        let feed = Feed::start(initial).await;
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &feed, &tg, TOPICS);
        World {
            tg,
            feed,
            path,
            state: StateDir::new(),
            _dir: dir,
        }
    }

    /// The daemon, polling the feed every [`POLL`].
    fn start(&self) -> Daemon {
        Daemon::start(&self.path, &self.state, poll_every(POLL))
    }
}

/// Writes the config file: one feed, the three topics, Telegram at the fake server.
fn write_config(dir: &Path, feed: &Feed, tg: &TelegramServer, topics: &str) -> PathBuf {
    let path = dir.join("policy-watch.toml");
    let text = format!(
        "[http]\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\n\n{}\n[telegram]\napi_url = \"{}\"\nadmins = [{ADMIN}]\n\n{topics}",
        feed_source("msit", &feed.server.url("/rss.xml"), ""),
        tg.url()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn chat(user: i64) -> String {
    user.to_string()
}

/// Waits for the `n`-th message (1-based) the bot sent to `chat`.
async fn nth_reply(tg: &TelegramServer, chat: &str, n: usize) -> Sent {
    eventually(&format!("message #{n} to {chat}"), || {
        tg.sent_to(chat).get(n - 1).cloned()
    })
    .await
}

/// Waits until the feed item titled `title` is in the history and nothing waits in the outbox:
/// every delivery it caused has been made.
async fn settled(store: &Store, title: &str) {
    eventually(&format!("{title} recorded and delivered"), || {
        let seen = store
            .recent(None, 50)
            .unwrap()
            .iter()
            .any(|n| n.item.title == title);
        (seen && store.outbox_len() == 0).then_some(())
    })
    .await;
}

fn topics_of(store: &Store, chat: i64) -> Option<BTreeSet<String>> {
    store.subscriber(chat).unwrap().map(|s| s.topics)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn titles_received(tg: &TelegramServer, chat: &str, title: &str) -> usize {
    tg.sent_to(chat)
        .iter()
        .filter(|s| s.visible.contains(title))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_conversation_decides_who_gets_which_notice() {
    let world = World::new(None, &[("old", "NPU 옛 소식 (기준선)")]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    let (alice, bob) = (1001, 1002);

    // /start: greeting and a keyboard of every topic, none chosen.
    tg.user_says(alice, "ko", "/start");
    let greeting = nth_reply(tg, &chat(alice), 1).await;
    assert!(
        greeting.visible.contains("policy-watch"),
        "{}",
        greeting.visible
    );
    let buttons = greeting.buttons();
    assert_eq!(buttons.len(), 3, "{buttons:?}");
    assert!(buttons.iter().all(|(label, _)| label.starts_with("▫️")));
    assert_eq!(topics_of(&store, alice), Some(set(&[])));

    // Tap a topic: subscribed, keyboard edited in place, toast.
    tg.user_taps(alice, &greeting, "t:chips");
    eventually("the keyboard to show chips chosen", || {
        let message = tg.sent_to(&chat(alice)).into_iter().next()?;
        message
            .buttons()
            .iter()
            .any(|(label, data)| data == "t:chips" && label.starts_with("✅"))
            .then_some(())
    })
    .await;
    assert_eq!(topics_of(&store, alice), Some(set(&["chips"])));
    let answers = tg.callback_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].1.as_deref(), Some("구독: AI반도체 (NPU·AI칩)"));

    // By Korean name (with a space in it).
    tg.user_says(alice, "ko", "/subscribe AI 바이오");
    let reply = nth_reply(tg, &chat(alice), 2).await;
    assert!(
        reply.visible.contains("구독했습니다: AI 바이오"),
        "{}",
        reply.visible
    );
    assert_eq!(topics_of(&store, alice), Some(set(&["chips", "bio"])));

    // An unknown topic changes nothing and lists the valid ones.
    tg.user_says(alice, "ko", "/subscribe talent 양자컴퓨터");
    let reply = nth_reply(tg, &chat(alice), 3).await;
    assert!(
        reply.visible.contains("모르는 주제입니다: 양자컴퓨터"),
        "{}",
        reply.visible
    );
    for id in ["chips", "bio", "talent"] {
        assert!(reply.visible.contains(id), "{}", reply.visible);
    }
    assert_eq!(topics_of(&store, alice), Some(set(&["chips", "bio"])));

    tg.user_says(alice, "ko", "/mysubs");
    let reply = nth_reply(tg, &chat(alice), 4).await;
    assert!(
        reply.visible.contains("AI반도체 (NPU·AI칩)") && reply.visible.contains("AI 바이오"),
        "{}",
        reply.visible
    );
    assert!(!reply.visible.contains("인재"), "{}", reply.visible);

    // Bob starts but chooses nothing. Edited messages and channel posts are not answered.
    tg.user_says(bob, "ko", "/start");
    nth_reply(tg, &chat(bob), 1).await;
    tg.user_edits(alice, "/help");
    tg.channel_posts(-1001234, "/help");

    // New items: one on a chosen topic, one on another topic.
    feed.publish("n1", "NPU 국산화 지원 사업 공고");
    feed.publish("n2", "반도체 인재 1만 명 양성 계획");
    settled(&store, "NPU 국산화 지원 사업 공고").await;
    settled(&store, "반도체 인재 1만 명 양성 계획").await;
    let to_alice = tg.sent_to(&chat(alice));
    assert_eq!(
        titles_received(tg, &chat(alice), "NPU 국산화 지원 사업 공고"),
        1
    );
    assert_eq!(titles_received(tg, &chat(alice), "반도체 인재 1만 명"), 0);
    assert_eq!(
        titles_received(tg, &chat(alice), "옛 소식"),
        0,
        "no backlog"
    );
    assert_eq!(to_alice.len(), 5, "4 replies and 1 notice: {to_alice:#?}");
    assert_eq!(tg.sent_to(&chat(bob)).len(), 1, "bob chose nothing");

    // /recent shows the history, newest first, including what alice did not subscribe to.
    tg.user_says(alice, "ko", "/recent 2");
    let reply = nth_reply(tg, &chat(alice), 6).await;
    assert!(reply.visible.contains("최근 알림 2건"), "{}", reply.visible);
    let npu = reply.visible.find("NPU 국산화").expect("npu listed");
    let talent = reply
        .visible
        .find("반도체 인재 1만")
        .expect("talent listed");
    assert!(talent < npu, "newest first: {}", reply.visible);
    assert!(
        !reply.visible.contains("옛 소식"),
        "only 2: {}",
        reply.visible
    );
    tg.user_says(alice, "ko", "/recent chips");
    let reply = nth_reply(tg, &chat(alice), 7).await;
    assert!(
        reply.visible.contains("옛 소식") && !reply.visible.contains("인재 1만"),
        "{}",
        reply.visible
    );

    // /stop: forgotten, and no more notices.
    tg.user_says(alice, "ko", "/stop");
    let reply = nth_reply(tg, &chat(alice), 8).await;
    assert!(
        reply.visible.contains("모든 구독을 해지"),
        "{}",
        reply.visible
    );
    assert_eq!(store.subscriber(alice).unwrap(), None);
    feed.publish("n3", "AI반도체 실증 사업 2차 공고");
    settled(&store, "AI반도체 실증 사업 2차 공고").await;
    assert_eq!(tg.sent_to(&chat(alice)).len(), 8, "nothing after /stop");

    // The command list was registered in Korean and English.
    let registered = tg.calls("setMyCommands");
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert!(registered.iter().any(|r| r["language_code"] == "en"));
    assert!(registered[0]["commands"].to_string().contains("subscribe"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_groups_only_administrators_change_subscriptions() {
    let world = World::new(None, &[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    let (group, admin, member) = (-1005005005, 11, 12);
    let group_chat = group.to_string();
    tg.set_member(group, admin, GroupRole::Administrator);
    tg.set_member(group, member, GroupRole::Member);

    tg.member_says(group, member, "/subscribe AI반도체");
    let refusal = nth_reply(tg, &group_chat, 1).await;
    assert!(
        refusal.visible.contains("그룹 관리자만"),
        "{}",
        refusal.visible
    );
    assert_eq!(store.subscriber(group).unwrap(), None);

    // Anyone may look at the topics; only an administrator's tap changes them.
    tg.member_says(group, member, "/topics");
    let keyboard = nth_reply(tg, &group_chat, 2).await;
    tg.user_taps(member, &keyboard, "t:chips");
    eventually("the refusal toast", || {
        tg.callback_answers()
            .iter()
            .any(|(_, text)| text.as_deref().is_some_and(|t| t.contains("관리자만")))
            .then_some(())
    })
    .await;
    assert_eq!(store.subscriber(group).unwrap(), None);

    // Commands for another bot, unknown commands and chatter: silence in groups.
    tg.member_says(group, admin, "/topics@some_other_bot");
    tg.member_says(group, member, "/frobnicate");
    tg.member_says(group, member, "좋은 아침입니다");
    tg.member_says(group, admin, "/subscribe@policy_watch_test_bot AI반도체");
    let reply = nth_reply(tg, &group_chat, 3).await;
    assert!(reply.visible.contains("구독했습니다"), "{}", reply.visible);
    assert_eq!(topics_of(&store, group), Some(set(&["chips"])));
    let subscriber = store.subscriber(group).unwrap().unwrap();
    assert_eq!(subscriber.kind, ChatKind::Supergroup);

    tg.user_taps(admin, &keyboard, "t:talent");
    eventually("the admin's tap", || {
        (topics_of(&store, group) == Some(set(&["chips", "talent"]))).then_some(())
    })
    .await;

    feed.publish("g1", "NPU 팹리스 협업 공고");
    settled(&store, "NPU 팹리스 협업 공고").await;
    assert_eq!(titles_received(tg, &group_chat, "NPU 팹리스 협업 공고"), 1);
    assert_eq!(
        tg.sent_to(&group_chat).len(),
        4,
        "{:#?}",
        tg.sent_to(&group_chat)
    );

    // In a private chat, chatter and unknown commands get a short help.
    tg.user_says(member, "ko", "안녕하세요");
    tg.user_says(member, "en", "/frobnicate");
    let first = nth_reply(tg, &chat(member), 1).await;
    let second = nth_reply(tg, &chat(member), 2).await;
    assert!(first.visible.contains("/help"), "{}", first.visible);
    assert!(
        second.visible.contains("I only understand commands"),
        "{}",
        second.visible
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_who_blocks_the_bot_is_deactivated_and_start_brings_them_back() {
    let world = World::new(None, &[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    let (quiet, loud) = (2001, 2002);
    for user in [quiet, loud] {
        tg.user_says(user, "ko", "/subscribe chips");
        nth_reply(tg, &chat(user), 1).await;
    }

    // One blocks the bot and Telegram says so (my_chat_member); the other is found blocked
    // only when a notice is refused with 403.
    tg.user_blocks(quiet);
    eventually("quiet deactivated", || {
        store
            .subscriber(quiet)
            .unwrap()
            .filter(|s| !s.active)
            .map(|_| ())
    })
    .await;
    tg.set_chat(&chat(loud), support::telegram::ChatStatus::Blocked);
    feed.publish("b1", "AI반도체 수요기업 모집");
    settled(&store, "AI반도체 수요기업 모집").await;
    let loud_state = store.subscriber(loud).unwrap().unwrap();
    assert!(!loud_state.active, "403 deactivates");
    assert!(loud_state.inactive_reason.unwrap().contains("blocked"));
    let attempts_to_quiet = tg
        .calls("sendMessage")
        .iter()
        .filter(|b| b["chat_id"] == quiet)
        .count();
    assert_eq!(
        attempts_to_quiet, 1,
        "only the reply: no send after the block"
    );

    // While inactive nothing is queued for them.
    feed.publish("b2", "NPU 성능 평가 결과");
    settled(&store, "NPU 성능 평가 결과").await;

    // Unblocked and /start: active again, topics kept, new notices arrive.
    tg.set_chat(&chat(loud), support::telegram::ChatStatus::Ok);
    tg.user_says(loud, "ko", "/start");
    nth_reply(tg, &chat(loud), 2).await;
    let back = store.subscriber(loud).unwrap().unwrap();
    assert!(back.active);
    assert_eq!(back.topics, set(&["chips"]));
    feed.publish("b3", "AI반도체 글로벌 진출 지원");
    settled(&store, "AI반도체 글로벌 진출 지원").await;
    let received: Vec<String> = tg
        .sent_to(&chat(loud))
        .into_iter()
        .map(|s| s.visible)
        .collect();
    assert_eq!(received.len(), 3, "{received:#?}");
    assert!(received[2].contains("AI반도체 글로벌 진출 지원"));
    assert!(
        !received.iter().any(|r| r.contains("NPU 성능 평가")),
        "nothing from the blocked time"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_restart_and_no_update_is_handled_twice() {
    let world = World::new(None, &[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let user = 3001;

    let daemon = world.start();
    tg.user_says(user, "ko", "/start");
    let greeting = nth_reply(tg, &chat(user), 1).await;
    let tap = tg.user_taps(user, &greeting, "t:bio");
    eventually("the tap handled", || {
        (tg.callback_answers().len() == 1).then_some(())
    })
    .await;
    daemon.stop().await;

    let daemon = world.start();
    let store = daemon.store.clone();
    assert_eq!(topics_of(&store, user), Some(set(&["bio"])));
    // Telegram delivers an update again when its confirmation was lost: it must not toggle back.
    let mut again = tg.requests().len();
    let replayed = serde_json::json!({"update_id": tap, "callback_query": {
        "id": "replayed", "from": {"id": user, "is_bot": false, "first_name": "U"},
        "message": {"message_id": greeting.message_id, "date": 1_790_000_000,
                    "chat": {"id": user, "type": "private", "first_name": "U"}, "text": "x"},
        "chat_instance": "1", "data": "t:bio"}});
    tg.push_update(replayed);
    eventually("the replay confirmed", || {
        (tg.unconfirmed_updates() == 0).then_some(())
    })
    .await;
    assert_eq!(topics_of(&store, user), Some(set(&["bio"])));
    assert_eq!(
        tg.callback_answers().len(),
        1,
        "the replay was not answered"
    );
    again = tg.requests()[again..]
        .iter()
        .filter(|(m, _)| m.eq_ignore_ascii_case("editMessageReplyMarkup"))
        .count();
    assert_eq!(again, 0);

    feed.publish("r1", "AI 신약 개발 플랫폼 착수");
    settled(&store, "AI 신약 개발 플랫폼 착수").await;
    assert_eq!(
        titles_received(tg, &chat(user), "AI 신약 개발 플랫폼 착수"),
        1
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_are_refused_to_others_and_reload_drops_removed_topics() {
    let world = World::new(None, &[]).await;
    let tg = &world.tg;
    let daemon = world.start();
    let store = daemon.store.clone();
    let user = 4001;

    tg.user_says(user, "ko", "/subscribe talent chips");
    nth_reply(tg, &chat(user), 1).await;
    for command in ["/status", "/reload"] {
        tg.user_says(user, "ko", command);
    }
    let first = nth_reply(tg, &chat(user), 2).await;
    let second = nth_reply(tg, &chat(user), 3).await;
    for refusal in [&first, &second] {
        assert!(
            refusal.visible.contains("운영자 전용"),
            "{}",
            refusal.visible
        );
    }

    tg.user_says(ADMIN, "en", "/status");
    let status = nth_reply(tg, &chat(ADMIN), 1).await;
    for expected in [
        "policy-watch",
        "msit",
        "last success",
        "next poll",
        "outbox 0",
        "subscribers 1 active",
    ] {
        assert!(
            status.visible.contains(expected),
            "{expected}: {}",
            status.visible
        );
    }
    assert!(!status.visible.contains(support::telegram::TOKEN));
    assert!(!status.visible.contains("fake-test-token"));

    // A broken config is refused with its position; the running config stays.
    let good = std::fs::read_to_string(&world.path).unwrap();
    std::fs::write(
        &world.path,
        good.replace("keywords = [\"AI 인재\"", "keywords = [AI 인재\""),
    )
    .unwrap();
    tg.user_says(ADMIN, "ko", "/reload");
    let refused = nth_reply(tg, &chat(ADMIN), 2).await;
    assert!(
        refused.visible.contains("적용하지 않았습니다"),
        "{}",
        refused.visible
    );
    assert!(
        refused.visible.contains("policy-watch.toml:"),
        "{}",
        refused.visible
    );
    assert_eq!(topics_of(&store, user), Some(set(&["chips", "talent"])));

    // The talent topic is removed: dropped from subscriptions without a word to the user.
    let without_talent = good[..good.find("[[topic]]\nid = \"talent\"").unwrap()].to_owned();
    std::fs::write(&world.path, without_talent).unwrap();
    tg.user_says(ADMIN, "ko", "/reload");
    let reloaded = nth_reply(tg, &chat(ADMIN), 3).await;
    assert!(
        reloaded.visible.contains("주제 2개"),
        "{}",
        reloaded.visible
    );
    eventually("talent dropped", || {
        (topics_of(&store, user) == Some(set(&["chips"]))).then_some(())
    })
    .await;
    assert_eq!(
        tg.sent_to(&chat(user)).len(),
        3,
        "no message about the removal"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_flood_is_limited_for_that_user_only() {
    // Telegram's real limits: answers to one chat are paced like notices (one a second in a
    // private chat), so a burst of commands draws no 429, and other users are answered at once.
    let world = World::strict(&[]).await;
    let tg = &world.tg;
    let daemon = world.start();
    let (flooder, other) = (5001, 5002);
    for _ in 0..25 {
        tg.user_says(flooder, "ko", "/help");
    }
    tg.user_says(other, "en", "/help");
    let help = nth_reply(tg, &chat(other), 1).await;
    assert!(help.visible.contains("Commands"), "{}", help.visible);
    assert!(
        tg.sent_to(&chat(flooder)).len() < 5,
        "the other user did not wait for the flooder's answers"
    );
    let expected = policy_watch::bot::COMMANDS_PER_MINUTE as usize + 1;
    eventually("the flooder's paced answers", || {
        (tg.sent_to(&chat(flooder)).len() >= expected).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let replies = tg.sent_to(&chat(flooder));
    let helps = replies
        .iter()
        .filter(|r| r.visible.contains("명령어"))
        .count();
    let warnings = replies
        .iter()
        .filter(|r| r.visible.contains("너무 많습니다"))
        .count();
    assert_eq!(
        helps,
        policy_watch::bot::COMMANDS_PER_MINUTE as usize,
        "{replies:#?}"
    );
    assert_eq!(warnings, 1, "told once: {replies:#?}");
    assert_eq!(
        tg.too_many(),
        0,
        "answers were not paced: {:?}",
        tg.violations()
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_for_300_subscribers_reaches_each_once_within_the_limits() {
    let world = World::strict(&[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    {
        let store = world.state.open();
        for user in 10_000..10_300 {
            let mut s = Subscriber::new(user, ChatKind::Private, Lang::Ko);
            s.topics.insert("chips".into());
            store.update_subscriber(user, |_| Some(s.clone())).unwrap();
        }
        // One more who chose another topic.
        let mut other = Subscriber::new(20_000, ChatKind::Private, Lang::Ko);
        other.topics.insert("bio".into());
        store
            .update_subscriber(20_000, |_| Some(other.clone()))
            .unwrap();
    }
    let daemon = world.start();
    let store = daemon.store.clone();
    eventually("the baseline", || {
        store.source_state("msit").unwrap().baselined.then_some(())
    })
    .await;
    feed.publish("f1", "AI반도체 팬아웃 시험 공지");
    settled(&store, "AI반도체 팬아웃 시험 공지").await;
    for user in 10_000..10_300 {
        assert_eq!(
            titles_received(tg, &chat(user), "AI반도체 팬아웃 시험 공지"),
            1,
            "subscriber {user}"
        );
    }
    assert_eq!(tg.sent_to("20000").len(), 0);
    assert_eq!(tg.too_many(), 0, "paced under the limits");
    assert!(tg.violations().is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_subscribers_and_a_hundred_users_at_once_draw_no_429() {
    // Telegram's limits applied strictly: 30 a second in any second, a bot-wide 429 renewed by
    // every send inside it. Three releases to 100 subscribers while 100 other people each send
    // three commands: 600 messages, none refused, every one arriving once.
    let world = World::strict(&[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let subscribers = 10_000..10_100;
    {
        let store = world.state.open();
        for user in subscribers.clone() {
            let mut s = Subscriber::new(user, ChatKind::Private, Lang::Ko);
            s.topics.insert("chips".into());
            store.update_subscriber(user, |_| Some(s.clone())).unwrap();
        }
    }
    let daemon = world.start();
    let store = daemon.store.clone();
    eventually("the baseline", || {
        store.source_state("msit").unwrap().baselined.then_some(())
    })
    .await;
    let titles = ["AI반도체 소식 가", "NPU 소식 나", "AI반도체 소식 다"];
    for (i, title) in titles.iter().enumerate() {
        feed.publish(&format!("r{i}"), title);
    }
    let users = 20_000..20_100;
    for user in users.clone() {
        tg.user_says(user, "ko", "/start");
        tg.user_says(user, "ko", "/subscribe bio");
        tg.user_says(user, "ko", "/mysubs");
    }
    eventually_within("every notice and answer", Duration::from_secs(180), || {
        let notices_done = subscribers
            .clone()
            .all(|u| titles.iter().all(|t| titles_received(tg, &chat(u), t) >= 1));
        let answers_done = users.clone().all(|u| tg.sent_to(&chat(u)).len() >= 3);
        (notices_done && answers_done && store.outbox_len() == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for user in subscribers {
        for title in titles {
            assert_eq!(
                titles_received(tg, &chat(user), title),
                1,
                "{user}: {title}"
            );
        }
        assert_eq!(tg.sent_to(&chat(user)).len(), 3, "subscriber {user}");
    }
    for user in users {
        let answers = tg.sent_to(&chat(user));
        assert_eq!(answers.len(), 3, "user {user}: {answers:#?}");
        assert!(
            answers[2].visible.contains("AI 바이오"),
            "{}",
            answers[2].visible
        );
    }
    assert!(tg.violations().is_empty(), "{:?}", tg.violations());
    assert_eq!(
        tg.too_many(),
        0,
        "paced under Telegram's limits: no 429 at all"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_off_sends_what_was_collected_as_one_message() {
    let world = World::new(None, &[]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    let user = 6001;
    tg.user_says(user, "ko", "/subscribe all");
    nth_reply(tg, &chat(user), 1).await;
    tg.user_says(user, "ko", "/digest on 23:59");
    let reply = nth_reply(tg, &chat(user), 2).await;
    assert!(reply.visible.contains("매일 23:59"), "{}", reply.visible);
    tg.user_says(user, "ko", "/digest at noon");
    let usage = nth_reply(tg, &chat(user), 3).await;
    assert!(
        usage.visible.contains("사용법") && usage.visible.contains("23:59"),
        "{}",
        usage.visible
    );

    feed.publish("d1", "NPU 설계 지원 공고");
    feed.publish("d2", "AI 신약 후보 물질 발굴");
    eventually("both queued for the digest", || {
        (store.digest_queue(user).unwrap().len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        tg.sent_to(&chat(user)).len(),
        3,
        "collected, not sent one by one"
    );

    tg.user_says(user, "ko", "/digest off");
    // The answer and the digest (an outbox delivery) may arrive in either order.
    nth_reply(tg, &chat(user), 5).await;
    let digest = tg.sent_to(&chat(user))[3..]
        .iter()
        .find(|m| m.visible.contains("요약 —"))
        .cloned()
        .expect("the digest");
    assert!(digest.html);
    assert!(digest.visible.contains("요약 — 2건"), "{}", digest.visible);
    let first = digest.visible.find("NPU 설계 지원 공고").expect("listed");
    let second = digest
        .visible
        .find("AI 신약 후보 물질 발굴")
        .expect("listed");
    assert!(first < second, "oldest first");
    assert!(
        digest.text.contains("href=\"https://f.example/d1\""),
        "{}",
        digest.text
    );
    assert!(store.digest_queue(user).unwrap().is_empty());
    daemon.stop().await;
}

fn notice(title: &str, topic: &str) -> policy_watch::records::Notice {
    policy_watch::records::Notice {
        source_id: "msit".into(),
        source_name: "보도자료".into(),
        ministry: "과학기술정보통신부".into(),
        item: policy_watch::items::Item::new(
            Some(title),
            title,
            Some(url::Url::parse("https://f.example/x").unwrap()),
            None,
            None,
        ),
        topics: vec![policy_watch::classify::TopicMatch {
            id: topic.into(),
            name: topic.into(),
            hashtag: format!("#{topic}").into(),
            keywords: vec![],
        }],
        seen_at: chrono::Utc::now(),
        watched: vec![],
        attachments: vec![],
        files_page: None,
    }
}

/// Queues a notice for `chat`'s digest the way the ingest stage does.
fn queue_for_digest(store: &Store, chat: i64, title: &str) {
    let entry = policy_watch::store::PollEntry {
        key: format!("g:{title}"),
        title_key: None,
        deliveries: vec![],
        digests: vec![(chat, notice(title, "chips"))],
        archive: None,
        baseline: false,
    };
    let report = store
        .commit_poll(
            "msit",
            &[entry],
            &Default::default(),
            &Default::default(),
            &Default::default(),
            None,
        )
        .unwrap();
    assert_eq!(report.digested, 1);
}

fn digests_in_outbox(store: &Store) -> Vec<policy_watch::records::Digest> {
    store
        .outbox_iter()
        .map(|e| e.unwrap().1.payload)
        .filter_map(|p| match p {
            Payload::Digest(d) => Some(d),
            _ => None,
        })
        .collect()
}

// Paused time: a day passes in milliseconds; the digest clock follows tokio's.
#[tokio::test(start_paused = true)]
async fn a_daily_digest_is_made_once_at_its_time() {
    use chrono::TimeZone;
    let state = StateDir::new();
    let store = state.open();
    let user = 7001;
    let kst = policy_watch::items::kst();
    let mut s = Subscriber::new(user, ChatKind::Private, Lang::Ko);
    s.topics.insert("chips".into());
    s.digest_at = chrono::NaiveTime::from_hms_opt(9, 0, 0);
    s.last_digest = chrono::NaiveDate::from_ymd_opt(2026, 11, 25);
    store.update_subscriber(user, |_| Some(s.clone())).unwrap();
    queue_for_digest(&store, user, "AI반도체 소식 하나");
    queue_for_digest(&store, user, "AI반도체 소식 둘");

    let start = kst
        .with_ymd_and_hms(2026, 11, 26, 8, 58, 0)
        .unwrap()
        .to_utc();
    let digester = Digester {
        store: store.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
        clock: Arc::new(TokioClock::starting_at(start)),
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(digester.run(shutdown.clone()));

    tokio::time::sleep(Duration::from_secs(90)).await; // 08:59:30
    assert!(digests_in_outbox(&store).is_empty(), "not before 09:00");
    tokio::time::sleep(Duration::from_secs(60)).await; // 09:00:30
    let made = digests_in_outbox(&store);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].notices.len(), 2);
    assert_eq!(
        made[0].day,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    );
    assert!(store.digest_queue(user).unwrap().is_empty());

    // A notice after the digest waits for tomorrow's; a day without one sends nothing.
    queue_for_digest(&store, user, "AI반도체 소식 셋");
    tokio::time::sleep(Duration::from_secs(23 * 3600)).await; // 08:00:30 the next day
    assert_eq!(digests_in_outbox(&store).len(), 1);
    tokio::time::sleep(Duration::from_secs(3600)).await; // 09:00:30
    let made = digests_in_outbox(&store);
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].notices.len(), 1);
    assert_eq!(made[1].notices[0].item.title, "AI반도체 소식 셋");
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(digests_in_outbox(&store).len(), 2, "no empty digest");
    shutdown.cancel();
    task.await.unwrap();
}

/// The real binary, with a token and no configured destination: the bot alone is the reason to
/// run. `/reload` goes through the same path as SIGHUP; SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_subscribers_without_any_configured_destination() {
    use support::process::{signal, stderr_lines, wait_exit};
    let tg = TelegramServer::start(None).await;
    let feed = Feed::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &feed, &tg, TOPICS);
    let mut child = support::process::policy_watch(["run", "--config", path.to_str().unwrap()])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("TELOXIDE_TOKEN", support::telegram::TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let logs = stderr_lines(&mut child);

    tg.user_says(8001, "ko", "/subscribe 인재");
    let reply = nth_reply(&tg, "8001", 1).await;
    assert!(
        reply.visible.contains("구독했습니다: AI·반도체 인재 양성"),
        "{}",
        reply.visible
    );

    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("name = \"AI 바이오\"", "name = \"AI 바이오헬스\""),
    )
    .unwrap();
    tg.user_says(ADMIN, "ko", "/reload");
    let reloaded = nth_reply(&tg, &chat(ADMIN), 1).await;
    assert!(
        reloaded.visible.contains("설정을 다시 읽었습니다"),
        "{}",
        reloaded.visible
    );
    tg.user_says(8001, "ko", "/topics");
    let topics = nth_reply(&tg, "8001", 2).await;
    assert!(
        topics.visible.contains("AI 바이오헬스"),
        "the reloaded name: {}",
        topics.visible
    );

    signal(&child, "-TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(15)), Some(0));
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("is answering commands"), "{logs}");
    assert!(logs.contains("/reload: reloading"), "{logs}");
    assert!(!logs.contains("fake-test-token"), "{logs}");
}

/// The fake server holds each getUpdates for its whole timeout when nothing happens, as Telegram
/// does. A bot whose HTTP client gives up before the hold ends abandons every quiet poll, backs
/// off, and answers late; this one keeps one poll open and answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_bot_keeps_its_long_poll_open_and_answers_at_once() {
    let world = World::new(None, &[]).await;
    let tg = &world.tg;
    let daemon = world.start();
    eventually("the first long poll", || (tg.polls().0 >= 1).then_some(())).await;
    // Longer than teloxide's default client timeout (17 s), shorter than the hold (25 s).
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (started, abandoned) = tg.polls();
    assert_eq!(abandoned, 0, "the client gave up on a held long poll");
    assert_eq!(started, 1, "one long poll covers 20 idle seconds");
    let asked = std::time::Instant::now();
    tg.user_says(6001, "en", "/help");
    let help = nth_reply(tg, &chat(6001), 1).await;
    assert!(help.visible.contains("Commands"), "{}", help.visible);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "an idle bot answered after {:?}",
        asked.elapsed()
    );
    daemon.stop().await;
}

/// Each command answers what it did: several topics in any order, a word that fits several
/// topics (with the candidates), topics not subscribed, an unknown /recent topic (nothing to
/// "change"), an impossible digest time, an overlong argument; the greeting names the
/// configured topics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_say_what_they_did() {
    let world = World::new(None, &[]).await;
    let tg = &world.tg;
    let daemon = world.start();
    let store = daemon.store.clone();
    let user = 6101;
    let c = chat(user);

    tg.user_says(user, "ko", "/start");
    let greeting = nth_reply(tg, &c, 1).await.visible;
    assert!(
        greeting.contains("AI 바이오") && !greeting.contains("이니셔티브"),
        "{greeting}"
    );

    tg.user_says(user, "ko", "/subscribe AI반도체 인재");
    let reply = nth_reply(tg, &c, 2).await.visible;
    assert!(reply.contains("구독했습니다"), "{reply}");
    assert_eq!(topics_of(&store, user), Some(set(&["chips", "talent"])));

    tg.user_says(user, "ko", "/subscribe 반도체");
    let reply = nth_reply(tg, &c, 3).await.visible;
    assert!(
        reply.contains("여러 주제에 해당합니다")
            && reply.contains("AI반도체 (NPU·AI칩)")
            && reply.contains("AI·반도체 인재 양성"),
        "{reply}"
    );
    assert!(!reply.contains("모르는 주제"), "{reply}");

    tg.user_says(user, "ko", "/unsubscribe bio talent");
    let reply = nth_reply(tg, &c, 4).await.visible;
    assert!(
        reply.contains("구독을 해지했습니다: AI·반도체 인재 양성"),
        "{reply}"
    );
    assert!(
        reply.contains("구독하고 있지 않던 주제입니다: AI 바이오"),
        "{reply}"
    );
    assert_eq!(topics_of(&store, user), Some(set(&["chips"])));

    tg.user_says(user, "ko", "/recent 우주");
    let reply = nth_reply(tg, &c, 5).await.visible;
    assert!(reply.contains("모르는 주제입니다: 우주"), "{reply}");
    assert!(
        !reply.contains("바꾸지 않았습니다"),
        "/recent changes nothing: {reply}"
    );

    tg.user_says(user, "ko", "/digest on 25:00");
    let reply = nth_reply(tg, &c, 6).await.visible;
    assert!(reply.contains("25:00: 시각을 읽을 수 없습니다"), "{reply}");

    let long = format!("/subscribe {}", "우주항공 ".repeat(1500));
    tg.user_says(user, "ko", &long);
    let reply = nth_reply(tg, &c, 7).await.visible;
    assert!(
        reply.contains("모르는 주제입니다") && reply.chars().count() < 1500,
        "{reply}"
    );
    daemon.stop().await;
}

/// Waits until the item titled `title` is in the archive (matched or not) and nothing waits in
/// the outbox.
async fn archived(store: &Store, title: &str) {
    eventually(&format!("{title} archived and delivered"), || {
        let seen = store
            .archived(100)
            .unwrap()
            .iter()
            .any(|n| n.item.title == title);
        (seen && store.outbox_len() == 0).then_some(())
    })
    .await;
}

/// The messages to `chat` that are notices (not answers): they carry the feed's links.
fn notices_to(tg: &TelegramServer, chat: &str) -> Vec<Sent> {
    tg.sent_to(chat)
        .into_iter()
        .filter(|s| s.text.contains("https://f.example/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_words_bring_any_item_containing_them_to_that_chat_once() {
    let world = World::new(None, &[("old", "퓨리오사 옛 소식 (기준선)")]).await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    let (alice, bob, carol) = (4101, 4102, 4103);

    // Alice watches two words (one with odd spacing) and takes a topic; Bob only the topic.
    tg.user_says(alice, "ko", "/watch 퓨리오사 \"리벨 리온\"");
    let reply = nth_reply(tg, &chat(alice), 1).await;
    assert!(
        reply.visible.contains("등록했습니다: 퓨리오사, 리벨 리온"),
        "{}",
        reply.visible
    );
    assert!(reply.visible.contains("(2/20)"), "{}", reply.visible);
    tg.user_says(alice, "ko", "/subscribe chips");
    nth_reply(tg, &chat(alice), 2).await;
    tg.user_says(bob, "ko", "/subscribe chips");
    nth_reply(tg, &chat(bob), 1).await;
    // Carol watches a word on a daily digest: it waits in her queue.
    tg.user_says(carol, "ko", "/watch 리벨리온");
    nth_reply(tg, &chat(carol), 1).await;
    tg.user_says(carol, "ko", "/digest on 23:59");
    nth_reply(tg, &chat(carol), 2).await;

    // An item of no topic with Alice's word reaches Alice alone, saying why.
    feed.publish("w1", "퓨리오사, 차세대 서버 출시 행사 개최");
    archived(&store, "퓨리오사, 차세대 서버 출시 행사 개최").await;
    let to_alice = notices_to(tg, &chat(alice));
    assert_eq!(to_alice.len(), 1, "{to_alice:#?}");
    assert!(
        to_alice[0].visible.contains("👀 퓨리오사"),
        "{}",
        to_alice[0].visible
    );
    assert!(notices_to(tg, &chat(bob)).is_empty());
    assert!(notices_to(tg, &chat(carol)).is_empty());
    assert!(
        store.recent(None, 10).unwrap().is_empty(),
        "an item of no topic is no /recent notice"
    );

    // On Alice's topic and with both her words: once, with the topic and the words; Bob gets
    // it for the topic, without Alice's words; Carol's copy waits for her digest.
    feed.publish("w2", "리벨리온·퓨리오사 NPU 양산 협력");
    archived(&store, "리벨리온·퓨리오사 NPU 양산 협력").await;
    let to_alice = notices_to(tg, &chat(alice));
    assert_eq!(to_alice.len(), 2, "{to_alice:#?}");
    let both = &to_alice[1].visible;
    assert!(
        both.contains("#AI반도체") && both.contains("👀 리벨 리온, 퓨리오사"),
        "{both}"
    );
    let to_bob = notices_to(tg, &chat(bob));
    assert_eq!(to_bob.len(), 1);
    assert!(!to_bob[0].visible.contains("👀"), "{}", to_bob[0].visible);
    let queued = store.digest_queue(carol).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].watched, vec!["리벨리온".to_owned()]);
    assert!(notices_to(tg, &chat(carol)).is_empty());

    // /mysubs and /watches show the words.
    tg.user_says(alice, "ko", "/mysubs");
    let reply = nth_reply(tg, &chat(alice), 3 + 2).await;
    assert!(
        reply.visible.contains("내 키워드") && reply.visible.contains("• 퓨리오사"),
        "{}",
        reply.visible
    );

    // A restart keeps the words.
    drop(store);
    daemon.stop().await;
    let daemon = world.start();
    let store = daemon.store.clone();
    feed.publish("w3", "퓨리오사 신규 투자 유치");
    archived(&store, "퓨리오사 신규 투자 유치").await;
    assert_eq!(notices_to(tg, &chat(alice)).len(), 3);
    tg.user_says(ADMIN, "en", "/status");
    let status = nth_reply(tg, &chat(ADMIN), 1).await.visible;
    assert!(status.contains("· 2 with watch words"), "{status}");

    // /unwatch by another spelling; then nothing more for that word.
    let before = tg.sent_to(&chat(alice)).len();
    tg.user_says(alice, "ko", "/unwatch 퓨리 오사");
    let reply = nth_reply(tg, &chat(alice), before + 1).await;
    assert!(
        reply.visible.contains("해지했습니다: 퓨리오사") && reply.visible.contains("(1/20)"),
        "{}",
        reply.visible
    );
    feed.publish("w4", "퓨리오사 해외 법인 설립");
    archived(&store, "퓨리오사 해외 법인 설립").await;
    assert_eq!(notices_to(tg, &chat(alice)).len(), 3, "unwatched");
    tg.user_says(alice, "ko", "/unwatch all");
    let reply = nth_reply(tg, &chat(alice), before + 2).await;
    assert!(
        reply.visible.contains("해지했습니다: 리벨 리온"),
        "{}",
        reply.visible
    );
    assert!(store.subscriber(alice).unwrap().unwrap().watch.is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_words_are_refused_with_reasons() {
    // 60 items of history, a third of them about 반도체: enough to call 반도체 too common.
    let history: Vec<(String, String)> = (0..60)
        .map(|i| {
            let title = if i % 3 == 0 {
                format!("반도체 수출 동향 {i}호")
            } else {
                format!("지역 과학관 행사 안내 {i}호")
            };
            (format!("h{i}"), title)
        })
        .collect();
    let history: Vec<(&str, &str)> = history
        .iter()
        .map(|(g, t)| (g.as_str(), t.as_str()))
        .collect();
    let tg = &TelegramServer::start(None).await;
    let feed = Feed::start(&history).await;
    let dir = tempfile::tempdir().unwrap();
    let topics = format!("[bot]\nmax_watch_words = 3\n\n{TOPICS}");
    let path = write_config(dir.path(), &feed, tg, &topics);
    let state = StateDir::new();
    let daemon = Daemon::start(&path, &state, poll_every(POLL));
    let store = daemon.store.clone();
    eventually("the baseline archived", || {
        (store.archived(100).unwrap().len() == 60).then_some(())
    })
    .await;
    let (user, group, member) = (4201, -1004204204, 4202);

    tg.user_says(user, "ko", "/watch 칩 AI -- 반도체 퓨리오사");
    let reply = nth_reply(tg, &chat(user), 1).await.visible;
    for expected in [
        "✗ 칩 — 1자입니다. 2–40자로 써 주세요",
        "✗ AI — 너무 짧습니다",
        "✗ -- — 글자나 숫자가 없습니다",
        "✗ 반도체 — 너무 흔합니다. 최근 소식 60건 중 33%",
        "등록했습니다: 퓨리오사",
    ] {
        assert!(reply.contains(expected), "{expected:?} in {reply}");
    }
    assert_eq!(
        store.subscriber(user).unwrap().unwrap().watch,
        BTreeSet::from(["퓨리오사".to_owned()])
    );

    // The limit (3 here): the fourth is refused, and a word already watched is said so.
    tg.user_says(user, "en", "/watch 리벨리온 모아팹 딥엑스 \"퓨리 오사\"");
    let reply = nth_reply(tg, &chat(user), 2).await.visible;
    assert!(
        reply.contains("Now watching: 리벨리온, 모아팹")
            && reply.contains("Already watched: 퓨리오사")
            && reply.contains("✗ 딥엑스 — a chat may watch 3 words"),
        "{reply}"
    );
    assert_eq!(store.subscriber(user).unwrap().unwrap().watch.len(), 3);

    // In a group only administrators change watch words; anyone may list them.
    tg.set_member(group, member, GroupRole::Member);
    tg.member_says(group, member, "/watch 퓨리오사");
    let reply = nth_reply(tg, &group.to_string(), 1).await.visible;
    assert!(reply.contains("그룹 관리자만"), "{reply}");
    assert_eq!(store.subscriber(group).unwrap(), None);
    tg.member_says(group, member, "/watches");
    let reply = nth_reply(tg, &group.to_string(), 2).await.visible;
    assert!(reply.contains("등록한 키워드가 없습니다"), "{reply}");
    drop(store);
    daemon.stop().await;

    // Watch words turned off: /watch is refused and stored words bring nothing.
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "max_watch_words = 3",
        "max_watch_words = 3\nwatch_words = false",
    );
    std::fs::write(&path, text).unwrap();
    let daemon = Daemon::start(&path, &state, poll_every(POLL));
    let store = daemon.store.clone();
    tg.user_says(user, "ko", "/watch 딥엑스");
    let reply = nth_reply(tg, &chat(user), 3).await.visible;
    assert!(reply.contains("키워드 알림을 쓸 수 없습니다"), "{reply}");
    feed.publish("off", "퓨리오사 신제품 발표");
    archived(&store, "퓨리오사 신제품 발표").await;
    assert!(notices_to(tg, &chat(user)).is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_items_of_no_topic_newest_first_and_respects_n() {
    let world = World::new(
        None,
        &[
            ("q1", "양자 컴퓨팅 연구센터 개소"),
            ("q2", "우주항공 정책 설명회"),
            ("q3", "양자암호 통신망 구축 착수"),
        ],
    )
    .await;
    let (tg, feed) = (&world.tg, &world.feed);
    let daemon = world.start();
    let store = daemon.store.clone();
    archived(&store, "양자암호 통신망 구축 착수").await;
    feed.publish("q4", "양자 센서 실증 사업 공고");
    archived(&store, "양자 센서 실증 사업 공고").await;
    let user = 4301;

    // Newest first, only as many as asked, matched topic or not.
    tg.user_says(user, "ko", "/search 양자 2");
    let reply = nth_reply(tg, &chat(user), 1).await.visible;
    assert!(reply.contains("검색 \"양자\" — 최신 2건"), "{reply}");
    let sensor = reply.find("양자 센서").expect("newest listed");
    let crypto = reply.find("양자암호").expect("second listed");
    assert!(sensor < crypto, "{reply}");
    assert!(!reply.contains("연구센터"), "only 2: {reply}");

    // Default count, spacing ignored: "양자 암호" finds 양자암호.
    tg.user_says(user, "ko", "/search 양자 암호");
    let reply = nth_reply(tg, &chat(user), 2).await.visible;
    assert!(
        reply.contains("최신 1건") && reply.contains("양자암호 통신망"),
        "{reply}"
    );

    // Nothing found, and no query at all.
    tg.user_says(user, "ko", "/search 핵융합");
    let reply = nth_reply(tg, &chat(user), 3).await.visible;
    assert!(
        reply.contains("\"핵융합\"이(가) 들어간 소식이 없습니다"),
        "{reply}"
    );
    tg.user_says(user, "en", "/search");
    let reply = nth_reply(tg, &chat(user), 4).await.visible;
    assert!(reply.contains("Usage: /search"), "{reply}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_words_are_read_as_items_are_and_every_command_is_answered() {
    let tg = &TelegramServer::start(None).await;
    let feed = &Feed::start(&[("m1", "모아 팹 착공식 개최"), ("m2", "반도체 수출 동향")]).await;
    let dir = tempfile::tempdir().unwrap();
    let topics = format!("[classify]\nanchors = [\"AI\", \"반도체\"]\n\n{TOPICS}");
    let path = write_config(dir.path(), feed, tg, &topics);
    let state = StateDir::new();
    let daemon = Daemon::start(&path, &state, poll_every(POLL));
    let store = daemon.store.clone();
    archived(&store, "반도체 수출 동향").await;
    let user = 4401;

    // A zero-width space copied with a word is dropped, as it is from items; a word of nothing
    // else is refused, naming what it held; with under 50 items archived the initiative's own
    // broad words are refused all the same.
    tg.user_says(
        user,
        "ko",
        "/watch 퓨리\u{200B}오사 \u{200B}\u{2060} 반도체",
    );
    let reply = nth_reply(tg, &chat(user), 1).await.visible;
    for expected in [
        "등록했습니다: 퓨리오사",
        "✗ U+200B U+2060 — 보이지 않는 문자뿐입니다",
        "✗ 반도체 — 너무 흔합니다. 이 봇이 보내는 소식 대부분에",
    ] {
        assert!(reply.contains(expected), "{expected:?} in {reply}");
    }
    assert_eq!(
        store.subscriber(user).unwrap().unwrap().watch,
        BTreeSet::from(["퓨리오사".to_owned()])
    );
    feed.publish("w1", "퓨리오사 신제품 발표");
    let notice = eventually("the watched item", || notices_to(tg, &chat(user)).pop()).await;
    assert!(notice.visible.contains("퓨리오사 신제품 발표"));

    // The longest argument Telegram allows still gets an answer that Telegram accepts.
    let long_word = "가".repeat(4000);
    tg.user_says(user, "ko", &format!("/watch {long_word}"));
    let reply = nth_reply(tg, &chat(user), 3).await.visible;
    assert!(reply.contains("…"), "the echo is cut: {reply}");
    assert!(reply.encode_utf16().count() <= 4096);
    let many = "낱말 ".repeat(1300);
    tg.user_says(user, "ko", &format!("/unwatch {many}"));
    let reply = nth_reply(tg, &chat(user), 4).await.visible;
    assert!(reply.encode_utf16().count() <= 4096, "{reply}");
    tg.user_says(user, "ko", &format!("/search {long_word}"));
    let reply = nth_reply(tg, &chat(user), 5).await.visible;
    assert!(reply.contains("…") && reply.encode_utf16().count() <= 4096);

    // Several words: every one, in any order; "quotes" keep a phrase in its order.
    tg.user_says(user, "ko", "/search 착공식 모아");
    let reply = nth_reply(tg, &chat(user), 6).await.visible;
    assert!(reply.contains("모아 팹 착공식 개최"), "{reply}");
    tg.user_says(user, "ko", "/search 착공식 퓨리오사");
    let reply = nth_reply(tg, &chat(user), 7).await.visible;
    assert!(
        reply.contains("들어간 소식이 없습니다"),
        "every word, not any: {reply}"
    );
    tg.user_says(user, "ko", "/search \"착공식 모아\"");
    let reply = nth_reply(tg, &chat(user), 8).await.visible;
    assert!(
        reply.contains("들어간 소식이 없습니다"),
        "a phrase in order: {reply}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topics_list_follows_a_button_tap() {
    let world = World::new(None, &[]).await;
    let tg = &world.tg;
    let daemon = world.start();
    let user = 4501;
    tg.user_says(user, "ko", "/topics");
    let list = nth_reply(tg, &chat(user), 1).await;
    assert!(
        list.visible.contains("▫️ AI반도체 (NPU·AI칩)"),
        "{}",
        list.visible
    );
    tg.user_taps(user, &list, "t:chips");
    let edited = eventually("the list edited", || {
        let now = tg.sent_to(&chat(user))[0].clone();
        now.visible
            .contains("✅ AI반도체 (NPU·AI칩)")
            .then_some(now)
    })
    .await;
    assert!(
        edited.visible.contains("▫️ AI 바이오"),
        "{}",
        edited.visible
    );
    assert!(
        edited
            .buttons()
            .iter()
            .any(|(label, _)| label == "✅ AI반도체 (NPU·AI칩)"),
        "{:?}",
        edited.buttons()
    );
    daemon.stop().await;
}
