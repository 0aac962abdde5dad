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
}

#[derive(Default)]
struct State {
    limits: Option<Limits>,
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
    next_message_id: i64,
}

#[derive(Clone)]
pub struct TelegramServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TelegramServer {
    /// Starts a server that enforces `limits` (None: no limits).
    pub async fn start(limits: Option<Limits>) -> TelegramServer {
        let state = Arc::new(Mutex::new(State {
            limits,
            next_message_id: 1,
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

    /// Queues an update for getUpdates.
    pub fn push_update(&self, update: Value) {
        self.state.lock().unwrap().updates.push_back(update);
    }
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
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}),
        ),
        "setmycommands" | "deletewebhook" | "answercallbackquery" => ok(json!(true)),
        "getupdates" => {
            let timeout = body["timeout"].as_u64().unwrap_or(0).min(1);
            let deadline = Instant::now() + Duration::from_secs(timeout);
            loop {
                let updates: Vec<Value> = state.lock().unwrap().updates.drain(..).collect();
                if !updates.is_empty() || Instant::now() >= deadline {
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
        ChatStatus::MigratedTo(id) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(json!({"migrate_to_chat_id": id})),
            );
        }
    }
    let visible = if html {
        match super::telegram_html::validate(&text) {
            Ok(visible) => visible,
            Err(e) => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad Request: can't parse entities: {e}"),
                    None,
                );
            }
        }
    } else {
        text.clone()
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
    // loaded test machine) and global (20 % tolerance).
    if let Some(limits) = s.limits {
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
    let id = s.next_message_id;
    s.next_message_id += 1;
    s.sent.push(Sent {
        chat: chat.clone(),
        text: text.clone(),
        html,
        visible,
        at: now,
    });
    ok(json!({"message_id": id, "date": 1_790_000_000, "chat": chat_json(&chat), "text": text}))
}
