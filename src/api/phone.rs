//! The phone channel: service lines, CTI events, the screen pop, presence.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::channels::phone::{
    self, CtiEvent, CtiResult, LineInput, LineView, PresenceRequest, PresenceView, ScreenPop,
};
use crate::error::{AppError, Problem};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/lines", web::get().to(lines))
        .route("/lines", web::post().to(create_line))
        .route("/cti/events", web::post().to(cti_event))
        .route("/calls/{id}/context", web::get().to(context))
        .route("/presence", web::get().to(presence_all))
        .route("/presence", web::put().to(presence_set));
}

#[utoipa::path(get, path = "/api/v1/lines", tag = "phone", security(("bearer" = [])), responses((status = 200, body = Vec<LineView>)))]
pub async fn lines(app: web::Data<App>, _staff: Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(phone::lines(&app).await?))
}

#[utoipa::path(post, path = "/api/v1/lines", tag = "phone", security(("bearer" = [])), request_body = LineInput,
    responses((status = 201, body = LineView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_line(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<LineInput>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(
        &phone::create_line(&app, &v, body.into_inner()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cti/events", tag = "phone", security(("bearer" = [])), request_body = CtiEvent,
    responses((status = 200, description = "the call, and the screen pop with an answered event", body = CtiResult), (status = 422, body = Problem)))]
pub async fn cti_event(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<CtiEvent>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(phone::apply_event(&app, &v, body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/calls/{id}/context", tag = "phone", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ScreenPop), (status = 404, body = Problem)))]
pub async fn context(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(phone::screen_pop(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/presence", tag = "phone", security(("bearer" = [])),
    responses((status = 200, body = Vec<PresenceView>), (status = 403, body = Problem)))]
pub async fn presence_all(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(phone::all_presence(&app, &v).await?))
}

#[utoipa::path(put, path = "/api/v1/presence", tag = "phone", security(("bearer" = [])), request_body = PresenceRequest,
    responses((status = 200, body = PresenceView), (status = 409, body = Problem)))]
pub async fn presence_set(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<PresenceRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(phone::set_presence(&app, &v, body.into_inner()).await?))
}
