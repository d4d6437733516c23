//! Registry feeds and the points-of-service directory: CSV imports (supervisors
//! and admins), the directory search the operator uses during a call, and
//! mailing the chosen points to the caller from a ticket.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::registry::{self, ImportReport};
use crate::service::service_points::{
    self as points, PointQuery, RegionCount, SendPointsRequest, SentPoints, ServicePointPage,
    ServicePointView,
};
use crate::service::tickets::TicketKey;
use crate::service::App;

/// Registered before the contact routes, so that `/contacts/import` is not taken
/// for an id. Feeds are bigger than JSON: they take the raw-message limit.
pub fn routes(cfg: &mut web::ServiceConfig, max_feed: usize) {
    cfg.service(
        web::resource("/contacts/import")
            .app_data(web::PayloadConfig::new(max_feed))
            .route(web::post().to(import_contacts)),
    )
    .service(
        web::resource("/service-points/import")
            .app_data(web::PayloadConfig::new(max_feed))
            .route(web::post().to(import_points)),
    )
    .route("/service-points/regions", web::get().to(regions))
    .route("/service-points", web::get().to(search))
    .route("/service-points/{id}", web::get().to(get))
    .route(
        "/tickets/{ticket}/service-points/send",
        web::post().to(send),
    );
}

/// Feeds come as `text/csv` (spreadsheets and browsers also say
/// `application/csv`, `application/vnd.ms-excel` or `text/plain`).
fn csv_body(req: &HttpRequest) -> Result<(), AppError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "text/csv" | "application/csv" | "application/vnd.ms-excel" | "text/plain" => Ok(()),
        _ => Err(AppError::UnsupportedMediaType(
            "send the feed as text/csv (UTF-8, header row first)".into(),
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/contacts/import", tag = "registry", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "UTF-8 CSV, `;` or `,` separated, header row first: `external_key` (required), `name`, `organisation`, `email`/`emails`, `phone`/`phones` (several separated by `;`), `city`, `address`, `contract_number`, `language`; any other column is a custom attribute."),
    responses((status = 200, description = "what was created, updated, unchanged and rejected (by line)", body = ImportReport),
        (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_contacts(
    app: web::Data<App>,
    Staff(v): Staff,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    registry::may_import(&v)?;
    csv_body(&req)?;
    let report = registry::import_contacts(&app, Some(v.actor.agent_id), body.to_vec()).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(post, path = "/api/v1/service-points/import", tag = "registry", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "UTF-8 CSV, `;` or `,` separated: `external_key` (required), `name` (required for a new point), `service`, `region`, `province`, `province_code`, `city`, `address`, `postcode`, `opening_hours`, `phone`, `email`, `active`."),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_points(
    app: web::Data<App>,
    Staff(v): Staff,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    registry::may_import(&v)?;
    csv_body(&req)?;
    Ok(HttpResponse::Ok().json(points::import(&app, body.to_vec()).await?))
}

#[utoipa::path(get, path = "/api/v1/service-points", tag = "registry", security(("bearer" = [])), params(PointQuery),
    responses((status = 200, body = ServicePointPage), (status = 422, body = Problem)))]
pub async fn search(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<PointQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(points::search(&app, &v, q.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/service-points/regions", tag = "registry", security(("bearer" = [])),
    responses((status = 200, description = "regions with their provinces and how many active points each has", body = Vec<RegionCount>)))]
pub async fn regions(app: web::Data<App>, _staff: Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(points::regions(&app).await?))
}

#[utoipa::path(get, path = "/api/v1/service-points/{id}", tag = "registry", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ServicePointView), (status = 404, body = Problem)))]
pub async fn get(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(points::get(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/service-points/send", tag = "registry", security(("bearer" = [])),
    params(("ticket" = String, Path, description = "id or number")), request_body = SendPointsRequest,
    responses((status = 201, description = "the mail is queued and recorded on the ticket", body = SentPoints),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn send(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<SendPointsRequest>,
) -> Result<HttpResponse, AppError> {
    let key = TicketKey::parse(&path.into_inner())?;
    Ok(super::created(
        &points::send(&app, &v, key, body.into_inner()).await?,
    ))
}
