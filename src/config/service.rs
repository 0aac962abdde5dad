//! How the daemon runs: the store, HTTP, metrics and logging settings.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::de::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory of the sled database. Relative paths resolve against the current directory;
    /// `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`) takes precedence.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// sled's page cache. sled defaults to 1 GiB, far more than a few thousand keys need.
    #[serde(default = "default_cache", deserialize_with = "de_size")]
    pub cache_size: u64,
    /// Seen keys their source has not listed for this long are pruned (what a source still
    /// lists is never pruned). At least [`MIN_KEEP_SEEN`](super::MIN_KEEP_SEEN).
    #[serde(default = "default_keep_seen", deserialize_with = "de_keep_seen")]
    pub keep_seen: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            cache_size: default_cache(),
            keep_seen: default_keep_seen(),
        }
    }
}

pub(super) fn default_store_path() -> PathBuf {
    PathBuf::from("/var/lib/policy-watch")
}
pub(super) fn default_cache() -> u64 {
    8 * 1024 * 1024
}
pub(super) fn default_keep_seen() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub(crate) connect_timeout: Duration,
    /// Whole-request timeout. MSIT's feed takes ~7 s to the first byte, so keep this ≥ 30 s.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    #[serde(default = "default_max_body", deserialize_with = "de_size")]
    pub max_body: u64,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    #[serde(default = "default_user_agent")]
    pub(crate) user_agent: String,
    /// Upper bound of the exponential backoff after failures; a source is never given up on.
    #[serde(default = "default_max_backoff", deserialize_with = "de_duration")]
    pub(crate) max_backoff: Duration,
    /// Requests in flight to one host at most (sources on the same ministry server wait their
    /// turn instead of hitting it all at once).
    #[serde(default = "default_max_per_host")]
    pub(crate) max_per_host: std::num::NonZeroUsize,
    /// Proxy for every source (`http://`, `https://`, `socks5://`, `socks5h://`; credentials in
    /// the URL are never logged). A source's own `proxy` wins.
    #[serde(default)]
    pub proxy: Option<ProxyUrl>,
}

/// A proxy URL. Its password never appears in logs, errors or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl ProxyUrl {
    /// The URL with its credentials, for the HTTP client only.
    pub(crate) fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        write!(f, "{shown}")
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let url = Url::parse(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid proxy URL: {e}; write it like \"http://proxy.example:3128\" or \"socks5://user:password@127.0.0.1:1080\""
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") || url.host().is_none()
        {
            return Err(serde::de::Error::custom(format!(
                "proxy scheme {:?} is not supported; use http://, https://, socks5:// or socks5h:// with a host",
                url.scheme()
            )));
        }
        // Masked wherever it could show (log lines, error texts), as the bot token is: the
        // credentials as the URL writes them and decoded, alone and with the user name (a short
        // password is masked as part of the longer form).
        if let Some(password) = url.password() {
            let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
            for secret in [password, decoded.as_ref()] {
                crate::secret::register(secret);
                crate::secret::register(&format!("{}:{secret}", url.username()));
            }
        }
        Ok(ProxyUrl(url))
    }
}

pub(super) fn default_max_per_host() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(4).expect("non-zero")
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: default_connect_timeout(),
            timeout: default_timeout(),
            max_body: default_max_body(),
            max_redirects: default_max_redirects(),
            user_agent: default_user_agent(),
            max_backoff: default_max_backoff(),
            max_per_host: default_max_per_host(),
            proxy: None,
        }
    }
}

pub(super) fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
pub(super) fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
pub(super) fn default_max_body() -> u64 {
    10 * 1024 * 1024
}
pub(super) fn default_max_redirects() -> usize {
    5
}
pub(super) fn default_user_agent() -> String {
    format!(
        "policy-watch/{} (Korean AI-semiconductor policy monitor; polls politely)",
        env!("CARGO_PKG_VERSION")
    )
}
pub(super) fn default_max_backoff() -> Duration {
    Duration::from_secs(6 * 3600)
}

/// The optional metrics listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// e.g. "127.0.0.1:9898"; off when absent. Keep it on loopback.
    #[serde(default)]
    pub(crate) listen: Option<std::net::SocketAddr>,
}

/// Logging.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as "info" or "policy_watch=debug"; `RUST_LOG` wins.
    #[serde(default)]
    pub level: Option<String>,
}
