//! Optional HTTP listener (`[metrics] listen`, off by default; keep it on loopback): `/healthz`
//! answers 200 while the scheduler and the deliverer are alive and 503 otherwise, `/metrics`
//! serves Prometheus text.
//!
//! Recording goes through the `metrics` facade, so the call sites cost nothing when no recorder
//! is installed (the listener off, and in tests that do not ask for it).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::health::Health;
use crate::store::Store;

/// Metric names, in one place.
pub(crate) const FETCHES: &str = "policy_watch_fetches_total";
pub(crate) const FETCH_SECONDS: &str = "policy_watch_fetch_duration_seconds";
pub(crate) const ITEMS_NEW: &str = "policy_watch_items_new_total";
pub(crate) const MATCHED: &str = "policy_watch_items_matched_total";
pub(crate) const SENT: &str = "policy_watch_notices_sent_total";
pub(crate) const SEND_FAILED: &str = "policy_watch_send_failures_total";
pub(crate) const OUTBOX: &str = "policy_watch_outbox_depth";
pub(crate) const LAST_SUCCESS: &str = "policy_watch_source_last_success_timestamp_seconds";
pub(crate) const RELOADS: &str = "policy_watch_config_reloads_total";

/// Content types of the answers: Prometheus' text format, and plain text.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The recorder's outcome is kept for every later caller (a recorder installs once per process),
/// so its error is shared.
static HANDLE: OnceLock<Result<PrometheusHandle, Arc<BuildError>>> = OnceLock::new();

/// Installs the Prometheus recorder once per process.
fn handle() -> Result<PrometheusHandle, Arc<BuildError>> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(FETCH_SECONDS.to_owned()),
                    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
                )
                .map_err(Arc::new)?
                .install_recorder()
                .map_err(Arc::new)
        })
        .clone()
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum MetricsError {
    #[error("cannot set up metrics: {0}")]
    Recorder(#[source] Arc<BuildError>),
    #[error(
        "cannot listen on {addr} for [metrics]: {source}; pick a free port or remove [metrics] listen"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds the listener now (so a taken port fails the start) and serves until `shutdown`.
pub(crate) async fn start(
    listen: SocketAddr,
    health: Arc<Health>,
    store: Store,
    shutdown: CancellationToken,
) -> Result<impl std::future::Future<Output = ()>, MetricsError> {
    let handle = handle().map_err(MetricsError::Recorder)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| MetricsError::Bind {
            addr: listen,
            source,
        })?;
    tracing::info!(
        "metrics on http://{}/metrics, health on /healthz",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let alive_within = health.beat_every() * 4;
    // Two fixed paths on a loopback port: hyper's HTTP/1 connection handling (already in the
    // build for reqwest) is all it takes, without a web framework.
    // (status, content type, body) of the answer to a request.
    let answer = Arc::new(move |request: &Request<hyper::body::Incoming>| {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                TEXT,
                "GET only\n".to_owned(),
            );
        }
        match request.uri().path() {
            "/healthz" if health.alive(alive_within) => (StatusCode::OK, TEXT, "ok\n".to_owned()),
            "/healthz" => (
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "stalled\n".to_owned(),
            ),
            "/metrics" => {
                metrics::gauge!(OUTBOX).set(store.outbox_len() as f64);
                handle.run_upkeep();
                (StatusCode::OK, PROMETHEUS_TEXT, handle.render())
            }
            _ => (
                StatusCode::NOT_FOUND,
                TEXT,
                "not found: try /metrics or /healthz\n".to_owned(),
            ),
        }
    });
    Ok(async move {
        let connections = tokio_util::task::TaskTracker::new();
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("the metrics listener cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let answer = Arc::clone(&answer);
            let shutdown = shutdown.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let (status, content_type, body) = answer(&request);
                    let response = Response::builder()
                        .status(status)
                        .header(hyper::header::CONTENT_TYPE, content_type)
                        .body(Full::new(Bytes::from(body)));
                    async move { response }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(connection);
                let result = tokio::select! {
                    result = connection.as_mut() => result,
                    _ = shutdown.cancelled() => {
                        // Finish the request in progress, then close.
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!("metrics connection: {e}");
                }
            });
        }
        connections.close();
        connections.wait().await;
    })
}

/// Seconds as a histogram sample.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
