//! The HTTP surface of a running pipeline: `/health`, `/ready`, `/metrics`
//! (Prometheus text) and `/api/status`. [`app`] builds the router without a
//! socket so tests can call it directly; [`serve`] runs it until shutdown.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use watershed_pipeline::{Metrics, Progress, Shutdown};

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: String,
    pub run_id: String,
    pub metrics: Arc<Metrics>,
    pub progress: Arc<Progress>,
    pub started: Instant,
}

/// The router, independent of any socket.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` fires, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}

async fn health() -> &'static str {
    "ok\n"
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.progress.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: source or sink not open\n",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn status(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    let progress = &state.progress;
    axum::Json(serde_json::json!({
        "pipeline": state.pipeline,
        "run_id": state.run_id,
        "ready": progress.is_ready(),
        "rows_read": progress.rows_read(),
        "rows_committed": progress.rows_committed(),
        "batches": progress.batches(),
        "lag_seconds": progress.lag_seconds(),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
    }))
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn state() -> AppState {
        AppState {
            pipeline: "hb".into(),
            run_id: "r1".into(),
            metrics: Metrics::new("hb"),
            progress: Arc::new(Progress::default()),
            started: Instant::now(),
        }
    }

    async fn get(state: AppState, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = app(state).oneshot(request).await.expect("response");
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn health_is_ok_and_ready_waits_for_the_pipeline() {
        assert_eq!(get(state(), "/health").await.0, StatusCode::OK);
        assert_eq!(
            get(state(), "/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn metrics_are_prometheus_text() {
        let state = state();
        state.metrics.add_rows("heartbeat", "insert", "out", 3);
        let (status, body) = get(state, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("# TYPE watershed_rows counter"), "{body}");
        assert!(body.contains(r#"watershed_rows_total{pipeline="hb",table="heartbeat",op="insert",direction="out"} 3"#), "{body}");
    }

    #[tokio::test]
    async fn status_reports_progress_as_json() {
        let (status, body) = get(state(), "/api/status").await;
        assert_eq!(status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["pipeline"], "hb");
        assert_eq!(json["rows_committed"], 0);
    }
}
