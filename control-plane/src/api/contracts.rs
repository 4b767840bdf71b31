//! Data contracts attached to assets: `PUT /api/v1/assets/{id}/contract` (editor) validates and
//! attaches one, `GET` shows it with whether the asset met it at its latest collection (viewer),
//! `DELETE` detaches it (editor).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::access::{Read, Write};
use super::error::{ApiResult, ErrorBody};
use crate::contracts::service::{self, AttachedContract, ContractDocument};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_contract, put_contract, delete_contract))
}

/// The contract attached to the asset: its columns, rules (as the checks they run as), service
/// levels and warnings, and `status`: whether the asset met it at its latest collection, with the
/// latest result of each of its checks. 404 when none is attached.
#[utoipa::path(get, path = "/api/v1/assets/{id}/contract", tag = "contracts", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = AttachedContract), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_contract(
    State(state): State<AppState>,
    Read(caller): Read,
    super::ApiPath(id): super::ApiPath<String>,
) -> ApiResult<Json<AttachedContract>> {
    let id = super::parse_asset_id(&id)?;
    Ok(Json(service::get(&state.store.tenant(&caller.tenant), id).await?))
}

/// Attaches a data contract (ODCS v3 or datacontract.com YAML in `document`) to the asset,
/// replacing the one it had; the asset's agent runs it on every collection from its next one on.
/// A document that cannot be run is a 400 whose message is its first error
/// (`document:line:column: key: what was expected`) and whose `details.errors` lists them all.
#[utoipa::path(put, path = "/api/v1/assets/{id}/contract", tag = "contracts", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    request_body = ContractDocument,
    responses((status = 200, body = AttachedContract), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_contract(
    State(state): State<AppState>,
    Write(caller): Write,
    super::ApiPath(id): super::ApiPath<String>,
    super::ApiJson(body): super::ApiJson<ContractDocument>,
) -> ApiResult<Json<AttachedContract>> {
    let id = super::parse_asset_id(&id)?;
    let by = caller.principal.actor();
    Ok(Json(
        service::attach(&state.store.tenant(&caller.tenant), id, &body, &by).await?,
    ))
}

/// Detaches the asset's contract; its agent stops running it at its next collection.
#[utoipa::path(delete, path = "/api/v1/assets/{id}/contract", tag = "contracts", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_contract(
    State(state): State<AppState>,
    Write(caller): Write,
    super::ApiPath(id): super::ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_asset_id(&id)?;
    service::detach(&state.store.tenant(&caller.tenant), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
