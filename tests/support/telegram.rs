//! A fake Telegram Bot API server on 127.0.0.1 that behaves like the real one where it matters:
//! `POST /bot<TOKEN>/<Method>` with JSON bodies, getMe, sendMessage with HTML validation and the
//! 4096-character limit, getUpdates, setMyCommands; the sending limits, answered with 429 and
//! `retry_after`; and faults on demand (5xx, 403, chat not found, migration, dropped connections,
//! slowness).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Test token: shaped like a real one, obviously fake.
pub const TOKEN: &str = "4242:fake-test-token-not-a-secret";

/// Limits the server enforces (mirror of `[telegram.limits]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub global_per_second: u32,
    pub group_per_minute: u32,
    pub private_per_second: u32,
}

impl Limits {
    /// Telegram's documented limits.
    pub const REAL: Limits = Limits {
        global_per_second: 30,
        group_per_minute: 20,
        private_per_second: 1,
    };
}

/// A fault to inject into the next sendMessage to a chat (or any chat).
#[derive(Debug, Clone)]
pub enum Fault {
    /// An HTTP 5xx with an HTML body (what nginx in front of the Bot API sends).
    ServerError(u16),
    /// Close the connection without an answer.
    Drop,
    /// 429 with this retry_after.
    TooManyRequests(u64),
    /// Answer after this long.
    Slow(Duration),
    /// 400 can't parse entities (for HTML messages only).
    BadMarkup,
    /// 400 message is too long.
    TooLong,
}

/// How a chat behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatStatus {
    Ok,
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
    /// 403 "Forbidden: bot is not a member of the channel chat" (teloxide: ApiError::Unknown).
    NotMember,
    /// 400 "Bad Request: chat not found".
    NotFound,
    /// 400 "Bad Request: not enough rights to send text messages to the chat": a group that
    /// restricts the bot (teloxide: ApiError::Unknown).
    Restricted,
    /// 400 with migrate_to_chat_id.
    MigratedTo(i64),
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat: String,
    pub text: String,
    pub html: bool,
    /// Visible text (entities decoded, tags removed).
    pub visible: String,
    pub at: Instant,
    pub message_id: i64,
    /// The inline keyboard sent with the message, as edited since.
    pub keyboard: Option<Value>,
}

impl Sent {
    /// The keyboard's buttons: (label, callback data).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let Some(rows) = self
            .keyboard
            .as_ref()
            .and_then(|k| k["inline_keyboard"].as_array())
        else {
            return Vec::new();
        };
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or_default().to_owned(),
                    b["callback_data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// What the bot itself is in a chat (getChatMember with the bot's id), for `check-telegram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotRole {
    /// Administrator; `can_post_messages` as given (channels need it).
    Admin {
        can_post: bool,
    },
    Member,
    /// A restricted member that may not send messages.
    Muted,
    Left,
}

/// The bot's user id (getMe).
pub const BOT_ID: i64 = 4242;

/// A group member's status as getChatMember reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRole {
    Creator,
    Administrator,
    Member,
}

#[derive(Default)]
struct State {
    limits: Option<Limits>,
    /// Telegram's limits without tolerance (see [`TelegramServer::start_strict`]).
    strict: bool,
    /// Strict: every accepted send per chat, for the per-chat windows.
    chat_recent: HashMap<String, VecDeque<Instant>>,
    /// Strict: a bot-wide 429 (the global limit): no send to any chat before this.
    global_deadline: Option<Instant>,
    chats: HashMap<String, ChatStatus>,
    faults: HashMap<String, VecDeque<Fault>>,
    any_faults: VecDeque<Fault>,
    sent: Vec<Sent>,
    last_send: HashMap<String, Instant>,
    recent_global: VecDeque<Instant>,
    /// Per chat: no send may arrive before this (set by a 429).
    retry_deadline: HashMap<String, Instant>,
    too_many: usize,
    violations: Vec<String>,
    requests: Vec<(String, Value)>,
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    members: HashMap<(i64, i64), GroupRole>,
    callback_answers: Vec<(String, Option<String>)>,
    /// Offsets of getUpdates calls (how the client confirms updates).
    offsets: Vec<Option<i64>>,
    /// The bot's role per chat (as `chat_id` is written: "@name" or the id).
    bot_roles: HashMap<String, BotRole>,
    /// getUpdates calls received so far (the newest one is the only one served).
    polls_started: u64,
    /// getUpdates calls the client gave up on (closed the connection) before the answer.
    polls_abandoned: u64,
}

/// A getUpdates being held: dropped unanswered means the client closed the connection.
struct HeldPoll {
    state: Arc<Mutex<State>>,
    answered: bool,
}

impl Drop for HeldPoll {
    fn drop(&mut self) {
        if !self.answered
            && let Ok(mut s) = self.state.lock()
        {
            s.polls_abandoned += 1;
        }
    }
}

#[derive(Clone)]
pub struct TelegramServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TelegramServer {
    /// Starts a server that enforces `limits` (None: no limits), with some tolerance for the
    /// jitter of a loaded test machine.
    pub async fn start(limits: Option<Limits>) -> TelegramServer {
        TelegramServer::launch(limits, false).await
    }

    /// Starts a server that enforces `limits` as Telegram does, without tolerance: at most
    /// `global_per_second` sends in any second, `private_per_second` to a private chat in any
    /// second, `group_per_minute` to a group or channel in any minute. Going over the global limit
    /// draws a 429 for the whole bot: a send to any chat before its `retry_after` has passed is
    /// a violation and renews the penalty (as Telegram's flood control does); going over a
    /// chat's limit draws a 429 for that chat, and a send to it before the `retry_after` is a
    /// violation too.
    pub async fn start_strict(limits: Limits) -> TelegramServer {
        TelegramServer::launch(Some(limits), true).await
    }

    async fn launch(limits: Option<Limits>, strict: bool) -> TelegramServer {
        let state = Arc::new(Mutex::new(State {
            limits,
            strict,
            next_message_id: 1,
            next_update_id: 100,
            ..State::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::clone(&state);
        let app = axum::Router::new().route(
            "/{bot}/{method}",
            axum::routing::post(
                move |Path((bot, method)): Path<(String, String)>, body: Bytes| {
                    let state = Arc::clone(&shared);
                    async move { handle(state, bot, method, body).await }
                },
            ),
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TelegramServer { addr, state }
    }

    /// Base URL for `telegram.api_url`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn set_chat(&self, chat: &str, status: ChatStatus) {
        self.state
            .lock()
            .unwrap()
            .chats
            .insert(chat.to_owned(), status);
    }

    /// Queues faults for the next sends to `chat` (or to any chat with `"*"`).
    pub fn fail(&self, chat: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut state = self.state.lock().unwrap();
        if chat == "*" {
            state.any_faults.extend(faults);
        } else {
            state
                .faults
                .entry(chat.to_owned())
                .or_default()
                .extend(faults);
        }
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        let mut state = self.state.lock().unwrap();
        state.faults.clear();
        state.any_faults.clear();
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn sent_to(&self, chat: &str) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.chat == chat).collect()
    }

    /// 429s answered.
    pub fn too_many(&self) -> usize {
        self.state.lock().unwrap().too_many
    }

    /// Sends that arrived before a retry_after had passed.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Every request: (method, JSON body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// What the bot is in `chat` (getChatMember for the bot; default: a member).
    pub fn set_bot_role(&self, chat: &str, role: BotRole) {
        self.state
            .lock()
            .unwrap()
            .bot_roles
            .insert(chat.to_owned(), role);
    }

    /// Queues an update for getUpdates (numbered here when it has no `update_id`). Like
    /// Telegram, the server keeps an update until a getUpdates offset confirms it.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let mut state = self.state.lock().unwrap();
        let id = match update["update_id"].as_i64() {
            Some(id) => id,
            None => {
                let id = state.next_update_id;
                update["update_id"] = json!(id);
                id
            }
        };
        state.next_update_id = state.next_update_id.max(id + 1);
        state.updates.push_back(update);
        id
    }

    /// Updates not yet confirmed by the client.
    /// getUpdates calls received, and those the client abandoned before the answer came.
    pub fn polls(&self) -> (u64, u64) {
        let s = self.state.lock().unwrap();
        (s.polls_started, s.polls_abandoned)
    }

    pub fn unconfirmed_updates(&self) -> usize {
        self.state.lock().unwrap().updates.len()
    }

    /// A user writes `text` to the bot in a private chat (the chat id is the user id).
    pub fn user_says(&self, user: i64, lang: &str, text: &str) -> i64 {
        let chat = json!({"id": user, "type": "private", "first_name": format!("User{user}")});
        self.push_update(json!({"message": message_json(chat, Some(user_json(user, lang)), text)}))
    }

    /// A member `user` writes `text` in group `group` (a supergroup when its id starts -100).
    pub fn member_says(&self, group: i64, user: i64, text: &str) -> i64 {
        let kind = if group.to_string().starts_with("-100") {
            "supergroup"
        } else {
            "group"
        };
        let chat = json!({"id": group, "type": kind, "title": "Test group"});
        self.push_update(json!({"message": message_json(chat, Some(user_json(user, "ko")), text)}))
    }

    /// A channel post (the bot must ignore it).
    pub fn channel_posts(&self, channel: i64, text: &str) -> i64 {
        let chat = json!({"id": channel, "type": "channel", "title": "Some channel"});
        self.push_update(json!({"channel_post": message_json(chat, None, text)}))
    }

    /// `user` edits an earlier message into `text` (the bot must ignore it).
    pub fn user_edits(&self, user: i64, text: &str) -> i64 {
        let chat = json!({"id": user, "type": "private", "first_name": format!("User{user}")});
        let mut message = message_json(chat, Some(user_json(user, "ko")), text);
        message["edit_date"] = json!(1_790_000_100);
        self.push_update(json!({"edited_message": message}))
    }

    /// `user` taps an inline button with `data` under the bot's message `sent`.
    pub fn user_taps(&self, user: i64, sent: &Sent, data: &str) -> i64 {
        // Buttons live in private chats and groups (a -100 id here is a supergroup, not a channel).
        let id: i64 = sent.chat.parse().expect("numeric chat");
        let chat = match id {
            id if id > 0 => json!({"id": id, "type": "private", "first_name": format!("User{id}")}),
            id if sent.chat.starts_with("-100") => {
                json!({"id": id, "type": "supergroup", "title": "Test group"})
            }
            id => json!({"id": id, "type": "group", "title": "Test group"}),
        };
        let mut message = message_json(
            chat,
            Some(
                json!({"id": 4242, "is_bot": true, "first_name": "policy-watch", "username": "policy_watch_test_bot"}),
            ),
            &sent.visible,
        );
        message["message_id"] = json!(sent.message_id);
        message.as_object_mut().unwrap().remove("entities");
        self.push_update(json!({"callback_query": {
            "id": format!("cb{}", sent.message_id * 1000 + user),
            "from": user_json(user, "ko"),
            "message": message,
            "chat_instance": "42",
            "data": data,
        }}))
    }

    /// `user` blocks the bot (a my_chat_member update to "kicked").
    pub fn user_blocks(&self, user: i64) -> i64 {
        self.set_chat(&user.to_string(), ChatStatus::Blocked);
        let chat = json!({"id": user, "type": "private", "first_name": format!("User{user}")});
        let bot = json!({"id": 4242, "is_bot": true, "first_name": "policy-watch", "username": "policy_watch_test_bot"});
        self.push_update(json!({"my_chat_member": {
            "chat": chat,
            "from": user_json(user, "ko"),
            "date": 1_790_000_000,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        }}))
    }

    /// Sets what getChatMember says about `user` in `group` (default: a plain member).
    pub fn set_member(&self, group: i64, user: i64, member: GroupRole) {
        self.state
            .lock()
            .unwrap()
            .members
            .insert((group, user), member);
    }

    /// answerCallbackQuery calls: (callback id, text).
    pub fn callback_answers(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().callback_answers.clone()
    }

    /// Requests of one method (case-insensitive).
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, body)| body)
            .collect()
    }
}

fn user_json(user: i64, lang: &str) -> Value {
    json!({"id": user, "is_bot": false, "first_name": format!("User{user}"), "language_code": lang})
}

fn message_json(chat: Value, from: Option<Value>, text: &str) -> Value {
    let mut message = json!({"message_id": 1, "date": 1_790_000_000, "chat": chat, "text": text});
    if let Some(from) = from {
        message["from"] = from;
    }
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        message["entities"] =
            json!([{"type": "bot_command", "offset": 0, "length": command.encode_utf16().count()}]);
    }
    message
}

fn api_error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// A `chat_id` as text: "@name", or the id.
fn chat_id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn chat_json(chat: &str) -> Value {
    match chat.parse::<i64>() {
        Ok(id) if id > 0 => json!({"id": id, "type": "private", "first_name": "Tester"}),
        Ok(id) if chat.starts_with("-100") => {
            json!({"id": id, "type": "channel", "title": "Test channel"})
        }
        Ok(id) => json!({"id": id, "type": "group", "title": "Test group"}),
        Err(_) => {
            json!({"id": -1009999999999i64, "type": "channel", "title": "Named channel", "username": chat.trim_start_matches('@')})
        }
    }
}

fn is_private(chat: &str) -> bool {
    chat.parse::<i64>().is_ok_and(|id| id > 0)
}

async fn handle(state: Arc<Mutex<State>>, bot: String, method: String, body: Bytes) -> Response {
    if bot != format!("bot{TOKEN}") {
        return api_error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return api_error(StatusCode::BAD_REQUEST, "Bad Request: invalid JSON", None),
        }
    };
    state
        .lock()
        .unwrap()
        .requests
        .push((method.clone(), body.clone()));
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(
            json!({"id": 4242, "is_bot": true, "first_name": "policy-watch", "username": "policy_watch_test_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false}),
        ),
        "setmycommands" | "deletewebhook" => ok(json!(true)),
        "answercallbackquery" => {
            let mut s = state.lock().unwrap();
            s.callback_answers.push((
                body["callback_query_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body["text"].as_str().map(str::to_owned),
            ));
            ok(json!(true))
        }
        "getchat" => {
            let chat = chat_id_text(&body["chat_id"]);
            if state.lock().unwrap().chats.get(&chat) == Some(&ChatStatus::NotFound) {
                return api_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
            }
            // The fields Bot API 9 always sends (teloxide requires them).
            let mut info = chat_json(&chat);
            info["accepted_gift_types"] = json!({"unlimited_gifts": false, "limited_gifts": false,
                "unique_gifts": false, "premium_subscription": false});
            info["max_reaction_count"] = json!(11);
            ok(info)
        }
        "getchatmember" if body["user_id"].as_i64() == Some(BOT_ID) => {
            let chat = chat_id_text(&body["chat_id"]);
            let s = state.lock().unwrap();
            if s.chats.get(&chat) == Some(&ChatStatus::NotFound) {
                return api_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
            }
            let user = json!({"id": BOT_ID, "is_bot": true, "first_name": "policy-watch", "username": "policy_watch_test_bot"});
            ok(
                match s.bot_roles.get(&chat).copied().unwrap_or(BotRole::Member) {
                    BotRole::Admin { can_post } => json!({"user": user, "status": "administrator",
                    "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true,
                    "can_change_info": false, "can_post_messages": can_post, "can_edit_messages": false,
                    "can_delete_messages": false, "can_manage_video_chats": false,
                    "can_invite_users": false, "can_restrict_members": false, "can_promote_members": false}),
                    BotRole::Member => json!({"user": user, "status": "member"}),
                    BotRole::Muted => json!({"user": user, "status": "restricted", "until_date": 0,
                    "is_member": true, "can_send_messages": false, "can_send_audios": false,
                    "can_send_documents": false, "can_send_photos": false, "can_send_videos": false,
                    "can_send_video_notes": false, "can_send_voice_notes": false, "can_send_polls": false,
                    "can_send_other_messages": false, "can_add_web_page_previews": false,
                    "can_change_info": false, "can_invite_users": false, "can_pin_messages": false,
                    "can_manage_topics": false}),
                    BotRole::Left => json!({"user": user, "status": "left"}),
                },
            )
        }
        "getchatmember" => {
            let chat = body["chat_id"].as_i64().unwrap_or(0);
            let user = body["user_id"].as_i64().unwrap_or(0);
            let member = state.lock().unwrap().members.get(&(chat, user)).copied();
            let user = json!({"id": user, "is_bot": false, "first_name": format!("User{user}")});
            ok(match member.unwrap_or(GroupRole::Member) {
                GroupRole::Creator => {
                    json!({"user": user, "status": "creator", "is_anonymous": false})
                }
                GroupRole::Administrator => json!({"user": user, "status": "administrator",
                    "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true,
                    "can_change_info": true, "can_delete_messages": true, "can_manage_video_chats": true,
                    "can_invite_users": true, "can_restrict_members": true, "can_promote_members": false}),
                GroupRole::Member => json!({"user": user, "status": "member"}),
            })
        }
        "editmessagereplymarkup" => {
            let chat = match &body["chat_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let id = body["message_id"].as_i64().unwrap_or(0);
            let mut s = state.lock().unwrap();
            let sent = match message_to_edit(&mut s, &chat, id) {
                Ok(sent) => sent,
                Err(refused) => return refused,
            };
            if sent.keyboard.as_ref() == Some(&body["reply_markup"]) {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            sent.keyboard = Some(body["reply_markup"].clone());
            ok(
                json!({"message_id": id, "date": 1_790_000_000, "chat": chat_json(&chat), "text": sent.text.clone()}),
            )
        }
        "editmessagetext" => {
            let chat = chat_id_text(&body["chat_id"]);
            let id = body["message_id"].as_i64().unwrap_or(0);
            let text = body["text"].as_str().unwrap_or_default().to_owned();
            let html = body["parse_mode"].as_str() == Some("HTML");
            let visible = match visible_text(&text, html) {
                Ok(visible) => visible,
                Err(refused) => return refused,
            };
            let mut s = state.lock().unwrap();
            let sent = match message_to_edit(&mut s, &chat, id) {
                Ok(sent) => sent,
                Err(refused) => return refused,
            };
            let keyboard = body.get("reply_markup").cloned();
            if sent.text == text && sent.keyboard == keyboard {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            sent.text = text.clone();
            sent.visible = visible;
            sent.html = html;
            sent.keyboard = keyboard;
            ok(
                json!({"message_id": id, "date": 1_790_000_000, "chat": chat_json(&chat), "text": text}),
            )
        }
        "getupdates" => {
            // Held for the whole timeout when there is nothing to say, as Telegram does: a
            // client whose HTTP timeout is shorter than the hold abandons every quiet poll.
            let timeout = body["timeout"].as_u64().unwrap_or(0);
            let deadline = Instant::now() + Duration::from_secs(timeout);
            let offset = body["offset"].as_i64();
            let poll = {
                let mut s = state.lock().unwrap();
                s.offsets.push(offset);
                s.polls_started += 1;
                s.polls_started
            };
            let mut held = HeldPoll {
                state: Arc::clone(&state),
                answered: false,
            };
            loop {
                let updates: Option<Vec<Value>> = {
                    let mut s = state.lock().unwrap();
                    if s.polls_started != poll {
                        // Like Telegram: a newer getUpdates ends this one with a conflict.
                        held.answered = true;
                        return api_error(
                            StatusCode::CONFLICT,
                            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                            None,
                        );
                    }
                    // Like Telegram: an offset confirms (forgets) every update below it.
                    if let Some(offset) = offset {
                        s.updates
                            .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    }
                    (!s.updates.is_empty() || Instant::now() >= deadline)
                        .then(|| s.updates.iter().cloned().collect())
                };
                if let Some(updates) = updates {
                    held.answered = true;
                    return ok(Value::Array(updates));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "sendmessage" => send_message(state, body).await,
        _ => api_error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

/// A 429 with retry_after; any send to `chat` before it passes is recorded as a violation.
fn too_many_requests(s: &mut State, chat: &str, now: Instant, secs: u64) -> Response {
    s.too_many += 1;
    s.retry_deadline
        .insert(chat.to_owned(), now + Duration::from_secs(secs));
    api_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Too Many Requests: retry after {secs}"),
        Some(json!({"retry_after": secs})),
    )
}

async fn send_message(state: Arc<Mutex<State>>, body: Value) -> Response {
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: chat_id is empty",
                None,
            );
        }
    };
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    let html = body["parse_mode"].as_str() == Some("HTML");

    let fault = {
        let mut s = state.lock().unwrap();
        let fault = s.faults.get_mut(&chat).and_then(VecDeque::pop_front);
        fault.or_else(|| s.any_faults.pop_front())
    };
    if let Some(Fault::Slow(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let now = Instant::now();
    let mut s = state.lock().unwrap();
    // A send before the retry_after we gave is a violation of the Bot API's rules.
    if let Some(deadline) = s.retry_deadline.get(&chat).copied()
        && now < deadline
    {
        let early = deadline - now;
        s.violations
            .push(format!("{chat}: sent {early:?} before retry_after passed"));
    }
    if s.strict
        && let Some(response) = strict_flood_control(&mut s, &chat, now)
    {
        return response;
    }
    match fault {
        Some(Fault::ServerError(code)) => {
            return (
                StatusCode::from_u16(code).unwrap(),
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response();
        }
        Some(Fault::Drop) => {
            drop(s);
            // Panicking inside the handler makes the server close the connection unanswered.
            panic!("fake Telegram: dropping the connection as asked");
        }
        Some(Fault::TooManyRequests(secs)) => return too_many_requests(&mut s, &chat, now, secs),
        Some(Fault::BadMarkup) if html => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0",
                None,
            );
        }
        Some(Fault::TooLong) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: message is too long",
                None,
            );
        }
        _ => {}
    }
    match s.chats.get(&chat).cloned().unwrap_or(ChatStatus::Ok) {
        ChatStatus::Ok => {}
        ChatStatus::Blocked => {
            return api_error(
                StatusCode::FORBIDDEN,
                "Forbidden: bot was blocked by the user",
                None,
            );
        }
        ChatStatus::NotMember => {
            return api_error(
                StatusCode::FORBIDDEN,
                "Forbidden: bot is not a member of the channel chat",
                None,
            );
        }
        ChatStatus::NotFound => {
            return api_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
        }
        ChatStatus::Restricted => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: not enough rights to send text messages to the chat",
                None,
            );
        }
        ChatStatus::MigratedTo(id) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(json!({"migrate_to_chat_id": id})),
            );
        }
    }
    let visible = match visible_text(&text, html) {
        Ok(visible) => visible,
        Err(refused) => return refused,
    };
    if visible.encode_utf16().count() > 4096 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is too long",
            None,
        );
    }
    if text.trim().is_empty() {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message text is empty",
            None,
        );
    }
    // Limits: per chat (an even spacing, with half an interval of tolerance for the jitter of a
    // loaded test machine) and global (20 % tolerance); strict: see `strict_limits`.
    if s.strict {
        if let Some(response) = strict_limits(&mut s, &chat, now) {
            return response;
        }
    } else if let Some(limits) = s.limits {
        let interval = if is_private(&chat) {
            Duration::from_secs(1) / limits.private_per_second
        } else {
            Duration::from_secs(60) / limits.group_per_minute
        };
        let too_soon = s
            .last_send
            .get(&chat)
            .is_some_and(|last| now.duration_since(*last) < interval.mul_f64(0.5));
        while s
            .recent_global
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            s.recent_global.pop_front();
        }
        let global_full =
            s.recent_global.len() as u32 >= limits.global_per_second + limits.global_per_second / 5;
        if too_soon || global_full {
            return too_many_requests(&mut s, &chat, now, interval.as_secs().max(1));
        }
    }
    s.last_send.insert(chat.clone(), now);
    s.recent_global.push_back(now);
    if s.strict {
        s.chat_recent
            .entry(chat.clone())
            .or_default()
            .push_back(now);
    }
    let id = s.next_message_id;
    s.next_message_id += 1;
    let keyboard = body.get("reply_markup").cloned();
    s.sent.push(Sent {
        chat: chat.clone(),
        text: text.clone(),
        html,
        visible,
        at: now,
        message_id: id,
        keyboard,
    });
    ok(json!({"message_id": id, "date": 1_790_000_000, "chat": chat_json(&chat), "text": text}))
}

/// Strict mode: a send inside a bot-wide or per-chat `retry_after` is refused again, and a
/// bot-wide one renews the penalty (the violation itself is recorded by the caller for the
/// chat's deadline, here for the bot's).
fn strict_flood_control(s: &mut State, chat: &str, now: Instant) -> Option<Response> {
    if let Some(deadline) = s.global_deadline
        && now < deadline
    {
        let early = deadline - now;
        s.violations.push(format!(
            "{chat}: sent {early:?} before the bot-wide retry_after passed"
        ));
        return Some(bot_wide_429(s, now, 2));
    }
    if s.retry_deadline.get(chat).is_some_and(|d| now < *d) {
        s.too_many += 1;
        return Some(api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests: retry after 1",
            Some(json!({"retry_after": 1})),
        ));
    }
    None
}

/// A 429 for the whole bot: no send to any chat before `secs` have passed.
fn bot_wide_429(s: &mut State, now: Instant, secs: u64) -> Response {
    s.too_many += 1;
    s.global_deadline = Some(now + Duration::from_secs(secs));
    api_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Too Many Requests: retry after {secs}"),
        Some(json!({"retry_after": secs})),
    )
}

/// Strict mode: Telegram's limits counted over sliding windows, no tolerance.
fn strict_limits(s: &mut State, chat: &str, now: Instant) -> Option<Response> {
    let limits = s.limits?;
    let second = Duration::from_secs(1);
    while s
        .recent_global
        .front()
        .is_some_and(|t| now.duration_since(*t) >= second)
    {
        s.recent_global.pop_front();
    }
    if s.recent_global.len() as u32 >= limits.global_per_second {
        return Some(bot_wide_429(s, now, 1));
    }
    let (window, allowed) = if is_private(chat) {
        (second, limits.private_per_second)
    } else {
        (Duration::from_secs(60), limits.group_per_minute)
    };
    let recent = s.chat_recent.entry(chat.to_owned()).or_default();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        recent.pop_front();
    }
    if recent.len() as u32 >= allowed {
        let free_at = *recent.front().expect("full") + window;
        let secs = (free_at - now).as_secs_f64().ceil().max(1.0) as u64;
        return Some(too_many_requests(s, chat, now, secs));
    }
    None
}

/// The text a message shows: HTML parsed as Telegram parses it, or Telegram's refusal.
#[allow(clippy::result_large_err)] // the refusal is the handler's answer as it is
fn visible_text(text: &str, html: bool) -> Result<String, Response> {
    if !html {
        return Ok(text.to_owned());
    }
    super::telegram_html::validate(text).map_err(|e| {
        api_error(
            StatusCode::BAD_REQUEST,
            &format!("Bad Request: can't parse entities: {e}"),
            None,
        )
    })
}

/// The message an edit names, or Telegram's answer when there is none.
#[allow(clippy::result_large_err)] // the refusal is the handler's answer as it is
fn message_to_edit<'s>(s: &'s mut State, chat: &str, id: i64) -> Result<&'s mut Sent, Response> {
    s.sent
        .iter_mut()
        .find(|m| m.chat == chat && m.message_id == id)
        .ok_or_else(|| {
            api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: message to edit not found",
                None,
            )
        })
}
