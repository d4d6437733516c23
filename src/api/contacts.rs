//! The registry: search, create, update ("complete the data"), history, tickets.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::contacts::{self, ContactInput};
use crate::service::tickets::{self as tickets_svc, ListQuery};
use crate::service::views::{AuditView, ContactView, TicketPage};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts", web::get().to(search))
        .route("/contacts", web::post().to(create))
        .route("/contacts/{id}", web::get().to(get))
        .route("/contacts/{id}", web::patch().to(update))
        .route("/contacts/{id}/history", web::get().to(history))
        .route("/contacts/{id}/tickets", web::get().to(tickets));
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Name, organisation, city, e-mail, contract number, external key, or a phone number in any format.
    pub q: String,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = Vec<ContactView>), (status = 422, body = Problem)))]
pub async fn search(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    Ok(HttpResponse::Ok().json(contacts::search(&app, &v, &q.q, limit).await?))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])), request_body = ContactInput,
    responses((status = 201, body = ContactView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<ContactInput>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(
        &contacts::create(&app, &v, body.into_inner()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ContactView), (status = 404, body = Problem)))]
pub async fn get(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(contacts::get(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), request_body = ContactInput,
    params(("id" = i64, Path)), responses((status = 200, body = ContactView), (status = 422, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<ContactInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(contacts::update(&app, &v, id.into_inner(), body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}/history", tag = "contacts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditView>)))]
pub async fn history(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(contacts::history(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}/tickets", tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path), ListQuery), responses((status = 200, body = TicketPage)))]
pub async fn tickets(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    contacts::get(&app, &v, id).await?;
    let mut q = q.into_inner();
    q.contact = Some(id);
    Ok(HttpResponse::Ok().json(tickets_svc::list(&app, &v, q).await?))
}
