//! The HTTP surface: REST API under `/api/v1`, health and metrics endpoints, and the console's files.
//!
//! Owns routing, request parsing and the error body. Handlers are thin: extract, call one store or
//! service function, map the result. Must not hold SQL or business logic.

pub mod access;
pub mod agents;
mod assets;
mod auth;
pub mod error;
mod intelligence;
mod lineage;
mod system;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::ingest::IngestStats;
use crate::store::Store;
use access::RateLimits;
use error::{ApiError, ErrorCode};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub keys: JwtKeys,
    pub limits: Arc<RateLimits>,
    /// This server's external base URL (for SSO callbacks); `None` uses each request's Host.
    pub public_url: Option<String>,
    pub ingest_stats: Arc<IngestStats>,
    /// The broker, for commands to agents; `None` when serving without one.
    pub nats: Option<async_nats::Client>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CWIC control plane API",
        description = "Every route under /api/v1 except sign-in needs `Authorization: Bearer <token>`: an \
                       access token from POST /api/v1/auth/login or an API token. The role a route needs \
                       is the scope of its `bearer` security requirement (viewer < editor < admin < owner). \
                       Errors are `{code, message, details}`."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Sign-in, refresh, logout"),
        (name = "access", description = "Members, API tokens, audit log"),
        (name = "assets", description = "Observed tables and their metric history"),
        (name = "lineage", description = "Column-level lineage, impact and time travel"),
        (name = "agents", description = "Agents, enrollment tokens and agent config"),
        (name = "intelligence", description = "Anomalies with feedback, forecasts, early warnings, root causes"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The API's routes together with the OpenAPI document generated from the same handlers, so a
/// route cannot exist without being documented (and checked by the authorization test).
pub fn api() -> (Router<AppState>, OpenApiDocument) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(agents::router())
        .merge(intelligence::router())
        .merge(assets::router())
        .merge(lineage::router())
        .split_for_parts()
}

/// Builds the whole router: API (behind authentication, rate limits and audit), the OpenAPI
/// document and its offline docs page, system endpoints, then the console for every other path.
pub fn router(state: AppState, console_dir: &Path) -> Router {
    let (api, openapi) = api();
    // The docs page (Swagger UI, bundled in the binary: works offline) also serves the document.
    let docs = SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", openapi);
    let api = api
        .merge(Router::from(docs))
        .route("/api/{*rest}", axum::routing::any(unknown_api_route))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard));
    with_console(api.merge(system::router()), console_dir)
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
