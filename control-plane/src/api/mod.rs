//! The HTTP surface: REST API under `/api/v1`, health and metrics endpoints, and the console's files.
//!
//! Owns routing, request parsing and the error body. Handlers are thin: extract, call one store or
//! service function, map the result. Must not hold SQL or business logic.

pub mod access;
pub mod agents;
mod assets;
mod auth;
mod channels;
mod contracts;
pub mod error;
mod incidents;
mod intelligence;
mod jobs;
mod lineage;
pub mod openapi;
mod roi;
mod routing;
mod scores;
mod slas;
mod system;
pub mod text;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path as PathParams, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::store::ApiStore;
use crate::telemetry::Metrics;
use access::RateLimits;
use error::{ApiError, ErrorCode};

#[derive(Clone)]
pub struct AppState {
    /// Tenant data only through `store.tenant(..)` (row-level security), sign-in lookups through
    /// `store.identity()`; the owner pool is out of reach.
    pub store: ApiStore,
    /// Runs a detection pass for one tenant on request (the only background work the API starts).
    pub detection: crate::monitoring::scan::BackgroundWork,
    pub keys: JwtKeys,
    pub limits: Arc<RateLimits>,
    /// This server's external base URL (for SSO callbacks); `None` uses each request's Host.
    pub public_url: Option<String>,
    /// What `/metrics` serves: this application's own registry.
    pub metrics: Arc<Metrics>,
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
        (name = "jobs", description = "Background jobs: state, attempts, last error"),
        (name = "scores", description = "Quality scores in seven dimensions, with evidence, history and weights"),
        (name = "roi", description = "ROI from data downtime, every figure with its incidents"),
        (name = "slas", description = "SLAs with error budgets over rolling windows"),
        (name = "routing", description = "Routing rules, ownership, escalation and digests: who hears of an incident, and why"),
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
        .merge(jobs::router())
        .merge(scores::router())
        .merge(roi::router())
        .merge(contracts::router())
        .merge(channels::router())
        .merge(incidents::router())
        .merge(routing::router())
        .merge(slas::router())
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(axum::middleware::from_fn(edge));
    with_console(api.merge(system::router()), console_dir)
        .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::http_request_span))
        .with_state(state)
}

/// The outermost layer of the API: refuses a request target with control characters before
/// anything reads it, and turns every error response that is not yet the JSON error body (axum's
/// own rejections: 413 for a body over its limit, 405, a path parameter that does not parse) into
/// one, so every error a client sees has the same shape.
async fn edge(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or("", |target| target.as_str());
    if text::uri_has_control(target) {
        return ApiError::bad_request(
            "the request path or query contains a control character (such as %00)",
            serde_json::Value::Null,
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = axum::body::to_bytes(response.into_body(), 16 * 1024)
        .await
        .map(|body| String::from_utf8_lossy(&body).trim().to_owned())
        .unwrap_or_default();
    let mut error = ApiError::from_status(status, text);
    error.retry_after = retry_after.and_then(|value| value.to_str().ok()?.parse().ok());
    error.into_response()
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

/// `Json` whose rejection is the API's JSON error body, naming the field that was wrong. Text with
/// a NUL character (which PostgreSQL cannot store) is refused here, for every JSON route at once.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_json_content_type);
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with the header `Content-Type: application/json`",
            )
            .with_details(json!({"header": "content-type"})));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::from_status(rejection.status(), rejection.body_text()))?;
        if text::json_has_nul(&body) {
            return Err(ApiError::bad_request(
                "invalid JSON body: text must not contain NUL characters (\\u0000)",
                Value::Null,
            ));
        }
        axum::Json::<T>::from_bytes(&body)
            .map(|axum::Json(value)| ApiJson(value))
            .map_err(json_rejection)
    }
}

/// `Option<ApiJson<T>>`: `None` for a request without a body (no `Content-Type` and nothing
/// sent), else the body read as [`ApiJson`] (so a wrong body is still refused).
impl<T: DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let declared = request.headers().contains_key(header::CONTENT_TYPE);
        let length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if !declared && length.is_none_or(|length| length == 0) {
            let body = Bytes::from_request(request, state)
                .await
                .map_err(|rejection| ApiError::from_status(rejection.status(), rejection.body_text()))?;
            if body.is_empty() {
                return Ok(None);
            }
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with the header `Content-Type: application/json`",
            )
            .with_details(json!({"header": "content-type"})));
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    // axum says "Failed to deserialize the JSON body into the target type: <path>: <what>" or
    // "Failed to parse the request body as JSON: <what>".
    let message = text
        .split_once("target type: ")
        .or_else(|| text.split_once("as JSON: "))
        .map_or(text.as_str(), |(_, rest)| rest)
        .to_owned();
    let field = message
        .split_once(": ")
        .map(|(path, _)| path.to_owned())
        .filter(|path| !path.contains(' '));
    ApiError::bad_request(format!("invalid JSON body: {message}"), json!({"field": field}))
}

/// `Path` whose rejection (a parameter that does not parse, such as a malformed UUID) is the API's
/// JSON error body naming the parameter's expected form.
pub struct ApiPath<T>(pub T);

/// An asset id from the path; 400 naming `id` when it is not a UUID.
pub(super) fn parse_asset_id(id: &str) -> error::ApiResult<uuid::Uuid> {
    parse_id(id, "asset")
}

/// A path id of `what` (asset, channel, ...), or 400 naming `id`.
pub(super) fn parse_id(id: &str, what: &str) -> error::ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_field("id", format!("{what} id `{id}` is not a UUID")))
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        PathParams::<T>::from_request_parts(parts, state)
            .await
            .map(|PathParams(value)| ApiPath(value))
            .map_err(|rejection| {
                let status = rejection.status();
                let text = rejection.body_text();
                let message = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest)
                    .to_owned();
                let mut error = ApiError::from_status(status, format!("invalid path: {message}"));
                if status == StatusCode::BAD_REQUEST {
                    error.details = json!({"path": parts.uri.path()});
                }
                error
            })
    }
}

/// Whether a `Content-Type` names JSON: `application/json` or `application/<x>+json`, any parameters.
fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}
