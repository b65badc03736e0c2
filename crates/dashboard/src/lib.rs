//! Stage 5: the HTTP server of a running pipeline: the page and its SVG charts, the JSON
//! API over the live analytics, server-sent events, Prometheus metrics, and health
//! checks, behind credentials and HTTPS when it leaves loopback.
//!
//! It runs on its own thread with a small Tokio runtime, so the pipeline's threads never
//! wait for a client; the consumer only takes the analytics lock for one order at a time.

// The crates below this one, under the names the modules use.
use orderstream_analytics as analytics;
#[cfg(test)]
use orderstream_generate as generate;
use orderstream_model::{self as order, clock};
use orderstream_pipeline::{kafka, sink};
use orderstream_runtime::stats;

mod access;
mod api;
mod charts;
mod error;
mod export;
mod guard;
mod html;
mod lang;
mod live;
mod metrics;
mod page;
mod period;
mod state;
mod tls;
mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::watch;
use tracing::{info, warn};

pub use access::{Access, AccessError};
pub use guard::Limits;
pub use state::{LiveState, SideSinkKind};
pub use tls::{acceptor as tls_acceptor, TlsError};
pub use tokio_rustls::TlsAcceptor;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The runtime or thread could not start.
    #[error("cannot start the HTTP server: {0}")]
    Start(std::io::Error),
}

#[derive(Clone)]
struct AppState {
    live: Arc<LiveState>,
    snapshots: watch::Receiver<Arc<str>>,
}

impl FromRef<AppState> for Arc<LiveState> {
    fn from_ref(app: &AppState) -> Self {
        app.live.clone()
    }
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct DashboardServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl DashboardServer {
    /// Binds `addr` (port 0 picks a free port) and serves `state` within `limits`, to
    /// clients that `access` admits, over HTTPS when given `tls`, until dropped.
    pub fn start(
        addr: &str,
        state: Arc<LiveState>,
        limits: Limits,
        access: Access,
        tls: Option<TlsAcceptor>,
    ) -> Result<Self, DashboardError> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|error| DashboardError::Bind { addr: addr.to_string(), error })?;
        listener.set_nonblocking(true).map_err(DashboardError::Start)?;
        let local = listener.local_addr().map_err(DashboardError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DashboardError::Start)?;
        let (stop, stop_rx) = watch::channel(false);
        let (snap_tx, snap_rx) = watch::channel::<Arc<str>>(Arc::from("{}"));
        if !local.ip().is_loopback() && !access.is_required() {
            warn!(addr = %local, "the HTTP server listens beyond this machine with no credentials: anyone who can reach it reads every order (give --http-token-file or --http-basic-auth-file, or bind 127.0.0.1)");
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let app = router(AppState { live: state.clone(), snapshots: snap_rx })
            .layer(axum::middleware::from_fn_with_state(Arc::new(access), access::check));
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(error) => return warn!(%error, "HTTP server could not start"),
                    };
                    tokio::spawn(live::publish(state, snap_tx, stop_rx.clone()));
                    guard::serve(listener, app, limits, tls, stop_rx).await;
                });
                // Streams still open end with the runtime.
            })
            .map_err(DashboardError::Start)?;
        info!(url = %format!("{scheme}://{local}/"), metrics = %format!("{scheme}://{local}/metrics"),
            max_connections = limits.max_connections, "HTTP API and metrics listening");
        Ok(DashboardServer { addr: local, stop, thread: Some(thread) })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DashboardServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(dashboard_page))
        .route("/api", get(index))
        .route("/chart/{name}", get(chart))
        .route("/api/summary", get(api::summary))
        .route("/api/series", get(api::series))
        .route("/api/ticker", get(api::ticker))
        .route("/api/export", get(api::export))
        .route("/api/orders.csv", get(export::orders_csv))
        .route("/api/view.xlsx", get(export::view_xlsx))
        .route("/api/panel.csv", get(export::panel_csv))
        .route("/orders", get(export::orders_page))
        .route("/api/live", get(live_stream))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(api::not_found)
        .with_state(state)
}

async fn live_stream(State(app): State<AppState>) -> impl IntoResponse {
    live::stream(State((app.live.clone(), app.snapshots.clone()))).await
}

async fn dashboard_page(
    State(state): State<Arc<LiveState>>,
    params: view::Params,
) -> Result<axum::response::Response, api::ApiError> {
    let view = match view::View::parse(&state, &params, &["static"]) {
        Ok(view) => view,
        Err(error) => return Ok(error.page()),
    };
    // `?static=1`: no live stream, so that a headless browser's screenshot finishes.
    let live = !matches!(params.get("static"), Some("1" | "true"));
    let html = page::render(&state, &view, &params, live);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

async fn chart(
    State(state): State<Arc<LiveState>>,
    axum::extract::Path(name): axum::extract::Path<String>,
    params: view::Params,
) -> Result<axum::response::Response, api::ApiError> {
    let view = view::View::parse(&state, &params, &["t", "w"])?;
    let width = api::chart_width(&params)?;
    let Some(chart) = name.strip_suffix(".svg") else {
        return Err(api::ApiError::not_found(format!("no chart {name:?}")));
    };
    let idle = state.is_idle();
    let svg = charts::render(&mut state.analytics(), chart, &view, width, None, idle)
        .ok_or_else(|| api::ApiError::not_found(format!("no chart {name:?}")))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg).into_response())
}

async fn index() -> impl IntoResponse {
    Json(serde_json::json!({
        "service": "orderstream",
        "endpoints": {
            "/": "the live dashboard page; ?range=&from=&to=&region=&category=&g=&lang=&static=1",
            "/chart/{volume,value,value-region,category,region,channel,payment,map}.svg": "the dashboard's charts; the page's parameters and w= (width in px)",
            "/api/summary": "totals and breakdowns; ?range=&from=&to=&region=&category=&top=",
            "/api/series": "totals per window; ?range=&from=&to=&region=&category=",
            "/api/ticker": "the latest orders",
            "/api/export": "a day's CSV rows; ?day=YYYY-MM-DD",
            "/api/orders.csv": "the orders behind the page's figures, from the CSV files; the page's parameters",
            "/api/view.xlsx": "the page's figures as an Excel workbook; the page's parameters",
            "/api/panel.csv": "the figures behind one chart; chart= and the page's parameters",
            "/orders": "the orders behind the page's figures, a hundred a page; the page's parameters and page=",
            "/api/live": "server-sent events with the live snapshot",
            "/metrics": "Prometheus metrics",
            "/healthz": "liveness",
            "/readyz": "readiness (the consumer holds its partitions)"
        }
    }))
}

async fn metrics_text(State(state): State<Arc<LiveState>>) -> impl IntoResponse {
    match metrics::render(&state) {
        Ok(body) => {
            ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn healthz(State(state): State<Arc<LiveState>>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok", "uptime_seconds": state.uptime_secs() }))
}

async fn readyz(State(state): State<Arc<LiveState>>) -> impl IntoResponse {
    let ready = state.is_ready();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "ready": ready })))
}
