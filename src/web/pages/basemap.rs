//! The user's standard base map: `POST /publish/basemap` (signed-in multipart form on the
//! publish page: the GeoJSON as `files`, `approval`, `csrf`), `POST /publish/basemap/remove`,
//! and the JSON API twins `GET`/`POST`/`DELETE /api/v1/basemap` (bearer token for writes).
//!
//! Owns: the handlers only — reading the form, `service::basemap::save` (validation and the
//! atomic store), and switching the maps of every page to the new map (`AppState::set_basemap`).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::datasets::see_other;
use crate::service::basemap::{self, BaseMapStatus};
use crate::web::api::{BearerRefused, BearerUser};
use crate::web::auth::{SignedForm, User};
use crate::web::ctx::PageCtx;
use crate::web::error::WebError;
use crate::web::state::AppState;
use crate::web::upload::{OverUploadLimit, SignedUpload, UploadForm};

/// What maps are drawn on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaseMapView {
    /// `true` when maps are drawn on the user's standard map with its approval number; `false`
    /// for the bundled schematic map, whose figures say "示意图，非标准地图 / schematic, not a
    /// standard map".
    pub standard: bool,
    pub basemap: Option<BaseMapStatus>,
}

impl BaseMapView {
    fn of(state: &AppState) -> BaseMapView {
        let basemap = state.basemap_status();
        BaseMapView {
            standard: basemap.is_some(),
            basemap,
        }
    }
}

/// Validates and stores the form's base map, then draws every map on it.
async fn save(state: &AppState, user: &User, form: UploadForm) -> Result<BaseMapView, WebError> {
    let store = state.store().ok_or(WebError::NoStore)?;
    let approval = form.field("approval").unwrap_or_default().to_owned();
    let file = form.files.into_iter().next().ok_or_else(|| {
        crate::Error::invalid_field("files", "choose the base map's GeoJSON file")
    })?;
    let text = String::from_utf8(file.bytes.to_vec()).map_err(|_| {
        crate::Error::invalid_field("files", format!("{} is not UTF-8 text", file.name))
    })?;
    let (name, actor) = (file.name, user.name.clone());
    let map = {
        let name = name.clone();
        super::super::blocking(move || basemap::save(&store, &text, &name, &approval, &actor))
            .await?
    };
    state.set_basemap(Some((&map, &name)))?;
    Ok(BaseMapView::of(state))
}

/// `POST /publish/basemap`: store the base map, back to the publish page.
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedUpload { user, form }: SignedUpload,
) -> Result<Response, WebError> {
    save(&state, &user, form).await?;
    Ok(see_other(&ctx.url("/publish", &[])))
}

/// `POST /publish/basemap/remove`: maps are schematic again.
pub async fn remove(
    State(state): State<AppState>,
    ctx: PageCtx,
    form: SignedForm,
) -> Result<Response, WebError> {
    forget(&state, &form.user).await?;
    Ok(see_other(&ctx.url("/publish", &[])))
}

async fn forget(state: &AppState, user: &User) -> Result<(), WebError> {
    let store = state.store().ok_or(WebError::NoStore)?;
    let actor = user.name.clone();
    super::super::blocking(move || Ok(store.remove_basemap(&actor)?)).await?;
    state.set_basemap(None)?;
    Ok(())
}

/// What maps are drawn on: the user's standard base map (with its approval number) or the
/// bundled schematic map.
#[utoipa::path(get, path = "/api/v1/basemap", tag = "api",
    responses((status = 200, body = BaseMapView)))]
pub async fn api_get(State(state): State<AppState>) -> Json<BaseMapView> {
    Json(BaseMapView::of(&state))
}

/// Store a standard base map (multipart: the GeoJSON as `files`, `approval`): province
/// polygons matched to the region set by code or name, South China Sea features (lines, or
/// `"inset": true`) for the inset, longitude/latitude (EPSG:4326). Replaces the stored map only
/// when the new one is valid.
#[utoipa::path(post, path = "/api/v1/basemap", tag = "uploads",
    security(("bearer" = [])),
    responses((status = 200, description = "Stored; every map is drawn on it.", body = BaseMapView),
              BearerRefused, OverUploadLimit,
              (status = 422, description = "Invalid map: the message names the feature (index and identifying property) and what is wrong.",
               body = crate::web::error::Problem)))]
pub async fn api_post(
    State(state): State<AppState>,
    BearerUser(user): BearerUser,
    form: UploadForm,
) -> Result<Json<BaseMapView>, WebError> {
    Ok(Json(save(&state, &user, form).await?))
}

/// Remove the stored base map: maps are schematic again.
#[utoipa::path(delete, path = "/api/v1/basemap", tag = "uploads",
    security(("bearer" = [])),
    responses((status = 200, body = BaseMapView), BearerRefused))]
pub async fn api_delete(
    State(state): State<AppState>,
    BearerUser(user): BearerUser,
) -> Result<Json<BaseMapView>, WebError> {
    forget(&state, &user).await?;
    Ok(Json(BaseMapView::of(&state)))
}
