//! Callbacks for staff: book one on a ticket, see what is due or offered,
//! accept or decline an offer, record attempts, cancel, run the dispatcher,
//! and the callback service-level report.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::channels::phone::callbacks::{
    self, AttemptRequest, CallbackQuery, CallbackReport, CallbackView, CancelRequest,
    DispatchReport, StaffCallbackRequest,
};
use crate::channels::phone::notes::PeriodQuery;
use crate::error::{AppError, Problem};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/callbacks", web::get().to(list))
        .route("/callbacks", web::post().to(create))
        .route("/callbacks/report", web::get().to(report))
        .route("/callbacks/dispatch", web::post().to(dispatch))
        .route("/callbacks/{id}", web::get().to(get))
        .route("/callbacks/{id}/accept", web::post().to(accept))
        .route("/callbacks/{id}/decline", web::post().to(decline))
        .route("/callbacks/{id}/attempts", web::post().to(attempt))
        .route("/callbacks/{id}/cancel", web::post().to(cancel));
}

#[utoipa::path(get, path = "/api/v1/callbacks", tag = "callbacks", security(("bearer" = [])), params(CallbackQuery),
    responses((status = 200, body = Vec<CallbackView>), (status = 422, body = Problem)))]
pub async fn list(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::list(&app, &v, q.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks", tag = "callbacks", security(("bearer" = [])), request_body = StaffCallbackRequest,
    responses((status = 201, body = CallbackView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<StaffCallbackRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(
        &callbacks::create(&app, &v, body.into_inner()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/callbacks/{id}", tag = "callbacks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "with every offer and attempt", body = CallbackView), (status = 404, body = Problem)))]
pub async fn get(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::get(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks/{id}/accept", tag = "callbacks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CallbackView), (status = 409, description = "not offered to you, or the offer ran out", body = Problem)))]
pub async fn accept(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::accept(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks/{id}/decline", tag = "callbacks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "back in the queue, for the next agent", body = CallbackView), (status = 409, body = Problem)))]
pub async fn decline(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::decline(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks/{id}/attempts", tag = "callbacks", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AttemptRequest,
    responses((status = 200, body = CallbackView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn attempt(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<AttemptRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(callbacks::attempt(&app, &v, id.into_inner(), body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks/{id}/cancel", tag = "callbacks", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelRequest,
    responses((status = 200, body = CallbackView), (status = 409, body = Problem)))]
pub async fn cancel(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let body: CancelRequest = super::optional_json(&body)?;
    Ok(HttpResponse::Ok().json(callbacks::cancel(&app, &v, id.into_inner(), body).await?))
}

#[utoipa::path(post, path = "/api/v1/callbacks/dispatch", tag = "callbacks", security(("bearer" = [])),
    responses((status = 200, description = "one dispatcher round, now", body = DispatchReport), (status = 403, body = Problem)))]
pub async fn dispatch(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::dispatch_now(&app, &v).await?))
}

#[utoipa::path(get, path = "/api/v1/callbacks/report", tag = "callbacks", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = CallbackReport), (status = 403, body = Problem)))]
pub async fn report(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::report(&app, &v, q.into_inner()).await?))
}
