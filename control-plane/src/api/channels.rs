//! Notification channels: `POST /api/v1/channels` (admin), `GET /api/v1/channels` (viewer),
//! `POST /api/v1/channels/{id}/test` (editor). Secrets are written, never returned.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::access::{Manage, Read, Write};
use super::error::{ApiResult, ErrorBody};
use crate::channels::service::{self, Channel, ChannelList, NewChannel, TestDelivery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(test_channel))
}

/// The tenant's channels, by name; no secret is ever shown (`secret_set` says one is stored).
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", security(("bearer" = ["viewer"])),
    responses((status = 200, body = ChannelList), (status = 403, body = ErrorBody)))]
async fn list_channels(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<ChannelList>> {
    Ok(Json(service::list(&state.store.tenant(&caller.tenant)).await?))
}

/// Creates a channel: `{"kind": "webhook", "name": "...", "url": "https://...", "secret": "..."}`.
/// A webhook POSTs JSON signed with `X-Cwic-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`. 400 naming the field that is wrong, 409 when the name is taken.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", security(("bearer" = ["admin"])),
    request_body = NewChannel,
    responses((status = 201, body = Channel), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_channel(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiJson(input): super::ApiJson<NewChannel>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let by = caller.principal.actor();
    let channel = service::create(&state.store.tenant(&caller.tenant), input, &by).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Sends a test message through the channel now and says what the receiver answered
/// (`delivered: false` with the reason when it did not take it).
#[utoipa::path(post, path = "/api/v1/channels/{id}/test", tag = "channels", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Channel id")),
    responses((status = 200, body = TestDelivery), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn test_channel(
    State(state): State<AppState>,
    Write(caller): Write,
    super::ApiPath(id): super::ApiPath<String>,
) -> ApiResult<Json<TestDelivery>> {
    let id = super::parse_id(&id, "channel")?;
    Ok(Json(
        service::send_test(&state.store.tenant(&caller.tenant), id, Utc::now()).await?,
    ))
}
