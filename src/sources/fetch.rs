//! HTTP for sources: one shared client, conditional requests, a body cap enforced while
//! streaming, and the server's own hints (Retry-After, Cache-Control) surfaced to the scheduler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

use crate::config::{HttpConfig, HttpMethod, SourceConfig, SourceKind};

/// Why a fetch failed. The scheduler backs off on every variant; `retry_after` overrides the
/// backoff when the server asked for a specific wait.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?} (connect or whole request); the server is slow or unreachable")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP {status}{hint}")]
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        hint: &'static str,
    },
    #[error(
        "response body exceeds the {limit} byte cap (http.max_body); raise the cap if the source is really that large"
    )]
    TooLarge { limit: u64 },
    #[error("request failed: {0}")]
    Request(String),
    /// A source that needs a key (the policy portal's API) has none.
    #[error(transparent)]
    NoKey(#[from] super::briefing::KeyError),
}

impl FetchError {
    /// A failure worth trying again at once: the connection could not be made (refused, reset,
    /// TLS handshake) or was cut before the answer was complete. Not timeouts (the server is
    /// slow: trying again at once makes it slower) nor HTTP statuses.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            FetchError::Connect(_) => true,
            FetchError::Request(text) => {
                let text = text.to_ascii_lowercase();
                [
                    "reset",
                    "handshake",
                    "closed",
                    "broken pipe",
                    "unexpected eof",
                    "incomplete",
                ]
                .iter()
                .any(|w| text.contains(w))
            }
            _ => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub use crate::store::Validators;

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators we sent.
    NotModified { max_age: Option<Duration> },
    /// Boxed: a body with its validators is much larger than the 304 variant.
    Body(Box<Body>),
}

#[derive(Debug)]
pub struct Body {
    /// Raw bytes (decompressed, not decoded: the parser honours the document's own charset).
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Where the response came from after redirects (base for relative links).
    pub(crate) final_url: Url,
    pub(crate) max_age: Option<Duration>,
}

/// The HTTP client shared by every source (connection reuse, one TLS setup), and one per proxy
/// that a source uses.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    http: HttpConfig,
    /// Clients for sources with their own proxy, by proxy URL (made on first use).
    proxied: Arc<Mutex<HashMap<String, reqwest::Client>>>,
    max_body: u64,
    timeout: Duration,
    /// One semaphore per `host:port`, `http.max_per_host` permits each.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    max_per_host: usize,
}

impl Fetcher {
    pub fn new(http: &HttpConfig) -> Result<Fetcher, FetchError> {
        let client = build_client(http, http.proxy.as_ref())?;
        Ok(Fetcher {
            client,
            http: http.clone(),
            proxied: Arc::default(),
            max_body: http.max_body,
            timeout: http.timeout,
            hosts: Arc::default(),
            max_per_host: http.max_per_host.get(),
        })
    }

    /// Waits for a turn at `url`'s host (the wait does not count against the timeout).
    async fn host_turn(&self, url: &Url) -> Option<OwnedSemaphorePermit> {
        let key = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(
                hosts
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host))),
            )
        };
        semaphore.acquire_owned().await.ok()
    }

    /// Fetches a source once, conditionally when validators are known.
    pub async fn fetch(
        &self,
        source: &SourceConfig,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        if *source.kind.get_ref() == SourceKind::BriefingApi {
            // The API's request carries the key and the days asked for; its answers have no
            // validators worth sending back.
            let key = super::briefing::service_key(source)?;
            let url = super::briefing::request_url(&source.url, &key, chrono::Utc::now());
            return self.fetch_url(source, &url, &Validators::default()).await;
        }
        self.fetch_url(source, &source.url, validators).await
    }

    /// [`Fetcher::fetch`] of another URL of the source (a further page of a list). A connection
    /// reset or a failed TLS handshake is tried again within the poll (twice, after 0.5 s and
    /// 2 s) before it counts as a failure: some ministry firewalls reset many connections.
    pub(crate) async fn fetch_url(
        &self,
        source: &SourceConfig,
        url: &Url,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let client = self.client_for(source)?;
        let _turn = self.host_turn(url).await;
        let mut attempt = 0;
        loop {
            match self.fetch_once(&client, source, url, validators).await {
                Err(e) if e.is_transient() && attempt < RETRY_WAITS.len() => {
                    tracing::debug!(source = %source.id(), "{e}; trying again");
                    tokio::time::sleep(RETRY_WAITS[attempt]).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// The client for a source: its own proxy's, or the shared one.
    fn client_for(&self, source: &SourceConfig) -> Result<reqwest::Client, FetchError> {
        let Some(proxy) = &source.proxy else {
            return Ok(self.client.clone());
        };
        let mut proxied = self.proxied.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = proxied.get(proxy.expose().as_str()) {
            return Ok(client.clone());
        }
        let client = build_client(&self.http, Some(proxy))?;
        proxied.insert(proxy.expose().to_string(), client.clone());
        Ok(client)
    }

    async fn fetch_once(
        &self,
        client: &reqwest::Client,
        source: &SourceConfig,
        url: &Url,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut request = match source.method {
            HttpMethod::Get => client.get(url.clone()),
            HttpMethod::Post => {
                let request = client.post(url.clone());
                match &source.form {
                    Some(form) => request.form(form.get_ref()),
                    None => request.header(header::CONTENT_LENGTH, 0),
                }
            }
        };
        request = request.header(
            header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
        );
        if let Some(etag) = validators
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let max_age = max_age(&headers);
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified { max_age });
        }
        // The policy portal's gateway answers its errors (an unregistered key, the quota) with
        // a 4xx and an XML body that names them: read it, the parser says what it means.
        let gateway_error =
            *source.kind.get_ref() == SourceKind::BriefingApi && status.is_client_error();
        if !status.is_success() && !gateway_error {
            let hint = match status.as_u16() {
                405 => " (method not allowed: this source may need method = \"POST\" or \"GET\")",
                404 | 410 => " (the URL is gone: check the source's url in the config)",
                403 => " (forbidden: the server refuses this client)",
                429 | 503 => " (the server asks to slow down)",
                _ => "",
            };
            return Err(FetchError::Status {
                status,
                retry_after: retry_after(&headers),
                hint,
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(Box::new(Body {
            bytes,
            content_type: header_string(&headers, header::CONTENT_TYPE),
            validators: Validators {
                body_hash: None,
                etag: header_string(&headers, header::ETAG),
                last_modified: header_string(&headers, header::LAST_MODIFIED),
            },
            final_url: response.url().clone(),
            max_age,
        })))
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else if e.is_connect() {
            FetchError::Connect(crate::secret::describe(&e.without_url()))
        } else {
            FetchError::Request(crate::secret::describe(&e.without_url()))
        }
    }
}

/// Waits before the retries of a reset connection within one poll.
const RETRY_WAITS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

fn build_client(
    http: &HttpConfig,
    proxy: Option<&crate::config::ProxyUrl>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(http.user_agent.clone())
        .connect_timeout(http.connect_timeout)
        .timeout(http.timeout)
        .redirect(reqwest::redirect::Policy::limited(http.max_redirects))
        .gzip(true)
        .brotli(true)
        .deflate(true);
    if let Some(proxy) = proxy {
        let proxy = reqwest::Proxy::all(proxy.expose().as_str()).map_err(|e| {
            FetchError::Request(format!(
                "cannot use the proxy {proxy}: {}",
                crate::secret::describe(&e.without_url())
            ))
        })?;
        builder = builder.proxy(proxy);
    }
    builder
        .build()
        .map_err(|e| FetchError::Request(crate::secret::describe(&e)))
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Retry-After as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Cache-Control max-age (or no-store/no-cache as zero).
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').find_map(|directive| {
        let directive = directive.trim();
        directive
            .strip_prefix("max-age=")
            .and_then(|s| s.trim_matches('"').parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}
