//! A real HTTP server on 127.0.0.1 that serves fixture feeds and pages, with per-path behaviour
//! (conditional requests, POST-only, failures, slowness, oversized and trickled bodies).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// 0 for the first request to this path.
    pub hit: usize,
    /// The query string as sent (still percent-encoded).
    pub query: Option<String>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// What to answer.
#[derive(Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send the body in chunks of this many bytes with `trickle` between them (no Content-Length).
    pub chunked: Option<(usize, Duration)>,
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            ..Reply::default()
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// Requests kept per path for inspection.
const KEPT_REQUESTS: usize = 1000;

#[derive(Default)]
struct State {
    routes: HashMap<String, Handler>,
    /// The first [`KEPT_REQUESTS`] requests per path (a benchmark makes hundreds of thousands).
    requests: HashMap<String, Vec<Req>>,
    hits: HashMap<String, usize>,
}

/// The fixture server. Dropping it does not stop it; tests are short-lived processes.
#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&shared);
                async move { handle(state, method, uri, headers, body).await }
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FeedServer { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), Arc::new(handler));
    }

    /// Serves a fixture file (re-read on every request, so tests can swap content by route).
    pub fn file(&self, path: &str, fixture_name: &str, content_type: &str) {
        let body = fixture(fixture_name);
        let content_type = content_type.to_owned();
        self.route(path, move |_| Reply::ok(&content_type, body.clone()));
    }

    /// Serves bytes the test can change between requests.
    pub fn mutable(&self, path: &str, content_type: &str, initial: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
        let body = Arc::new(Mutex::new(initial));
        let (shared, content_type) = (Arc::clone(&body), content_type.to_owned());
        self.route(path, move |_| {
            Reply::ok(&content_type, shared.lock().unwrap().clone())
        });
        body
    }

    /// Serves fixed bytes.
    pub fn bytes(&self, path: &str, body: Vec<u8>, content_type: &str) {
        let content_type = content_type.to_owned();
        self.route(path, move |_| Reply::ok(&content_type, body.clone()));
    }

    /// How many requests `path` has had.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn requests(&self, path: &str) -> Vec<Req> {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let (handler, req) = {
        let mut state = state.lock().unwrap();
        let handler = state
            .routes
            .get(&path)
            .or_else(|| state.routes.get(uri.path()))
            .cloned();
        let hits = state.hits.entry(uri.path().to_owned()).or_default();
        let hit = *hits;
        *hits += 1;
        let req = Req {
            method,
            headers,
            body: body.to_vec(),
            hit,
            query: uri.query().map(str::to_owned),
        };
        let requests = state.requests.entry(uri.path().to_owned()).or_default();
        if requests.len() < KEPT_REQUESTS {
            requests.push(req.clone());
        }
        (handler, req)
    };
    let Some(handler) = handler else {
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    let reply = handler(&req);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        builder = builder.header(name, value);
    }
    let body = match reply.chunked {
        None => Body::from(reply.body),
        Some((size, pause)) => {
            let chunks: Vec<Vec<u8>> = reply.body.chunks(size.max(1)).map(<[u8]>::to_vec).collect();
            let stream =
                futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
                    let chunk = rest.next()?;
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), rest))
                });
            Body::from_stream(stream)
        }
    };
    builder.body(body).unwrap()
}
