//! The HTTP surface: REST API under `/api/v1`, health and metrics endpoints, and the console's files.
//!
//! Owns routing, request parsing and the error body. Handlers are thin: extract, call one store or
//! service function, map the result. Must not hold SQL or business logic.

mod assets;
pub mod error;
mod intelligence;
mod lineage;
mod system;
pub mod tenant;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse};
use cwic_shared::TenantId;
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::ingest::IngestStats;
use crate::store::Store;
use error::{ApiError, ErrorCode};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub default_tenant: Option<TenantId>,
    pub ingest_stats: Arc<IngestStats>,
}

/// Builds the whole router: API, system endpoints, then the console for every other path.
pub fn router(state: AppState, console_dir: &Path) -> Router {
    let api = Router::new()
        .merge(assets::router())
        .merge(lineage::router())
        .merge(intelligence::router())
        .merge(system::router())
        .route("/api/{*rest}", axum::routing::any(unknown_api_route));
    with_console(api, console_dir)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn unknown_api_route() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such API route")
}

/// Serves the built console (single-page app: unknown paths get `index.html`), or a page that says
/// how to build it when `console_dir` has no build.
fn with_console(router: Router<AppState>, console_dir: &Path) -> Router<AppState> {
    let index = console_dir.join("index.html");
    if index.is_file() {
        router.fallback_service(ServeDir::new(console_dir).fallback(ServeFile::new(index)))
    } else {
        let message = format!(
            "<!doctype html><title>CWIC</title><h1>CWIC control plane</h1>\
             <p>The console is not built at <code>{}</code>. Build it with \
             <code>npm --prefix console ci &amp;&amp; npm --prefix console run build</code>, \
             or use the API at <a href=\"/api/v1/assets\">/api/v1/assets</a>.</p>",
            console_dir.display()
        );
        router.fallback(move || async move { Html(message).into_response() })
    }
}

/// `Query` whose rejection is the API's JSON error body naming what was wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::bad_request(
                    rejection.body_text().to_lowercase(),
                    json!({"query": parts.uri.query().unwrap_or_default()}),
                )
            })
    }
}

/// `Json` whose rejection is the API's JSON error body, naming the field that was wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| ApiJson(value))
            .map_err(|rejection| {
                let text = rejection.body_text();
                // axum prefixes "Failed to deserialize the JSON body into the target type: <path>: ..."
                let message = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest)
                    .to_owned();
                let field = message
                    .split_once(": ")
                    .map(|(path, _)| path.to_owned())
                    .filter(|path| !path.contains(' '));
                ApiError::bad_request(format!("invalid JSON body: {message}"), json!({"field": field}))
            })
    }
}
