//! The phone channel: service lines, CTI events, the screen pop, presence.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::channels::phone::notes::{
    self, AcknowledgeRequest, AcknowledgeResult, CallQuery, CallReport, NoteResult, PeriodQuery,
    PhoneNote,
};
use crate::channels::phone::CallView;
use crate::channels::phone::{
    self, CtiEvent, CtiResult, LineInput, LineView, PresenceRequest, PresenceView, ScreenPop,
};
use crate::error::{AppError, Problem};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/lines", web::get().to(lines))
        .route("/lines", web::post().to(create_line))
        .route("/cti/events", web::post().to(cti_event))
        .route("/calls", web::get().to(calls))
        .route("/calls/report", web::get().to(call_report))
        .route("/calls/acknowledge", web::post().to(acknowledge))
        .route("/calls/{id}/context", web::get().to(context))
        .route("/calls/{id}/notes", web::post().to(write_up))
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

#[utoipa::path(post, path = "/api/v1/calls/{id}/notes", tag = "phone", security(("bearer" = [])), params(("id" = i64, Path)), request_body = PhoneNote,
    responses((status = 201, description = "a new ticket for the call", body = NoteResult), (status = 200, description = "a phone note on an existing ticket", body = NoteResult),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn write_up(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<PhoneNote>,
) -> Result<HttpResponse, AppError> {
    let r = notes::write_up(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(if r.created {
        super::created(&r)
    } else {
        HttpResponse::Ok().json(r)
    })
}

#[utoipa::path(get, path = "/api/v1/calls", tag = "phone", security(("bearer" = [])), params(CallQuery),
    responses((status = 200, body = Vec<CallView>), (status = 422, body = Problem)))]
pub async fn calls(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<CallQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(notes::list(&app, &v, q.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/calls/acknowledge", tag = "phone", security(("bearer" = [])), request_body = AcknowledgeRequest,
    responses((status = 200, body = AcknowledgeResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn acknowledge(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<AcknowledgeRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(notes::acknowledge(&app, &v, body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/calls/report", tag = "phone", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = CallReport), (status = 403, body = Problem)))]
pub async fn call_report(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(notes::report(&app, &v, q.into_inner()).await?))
}
