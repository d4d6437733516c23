//! Service-level policies: all staff read them, admins create and change them.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::sla::{self, PolicyInput, PolicyView};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sla-policies", web::get().to(list))
        .route("/sla-policies", web::post().to(create))
        .route("/sla-policies/{id}", web::patch().to(update));
}

#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "sla", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyView>)))]
pub async fn list(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(sla::list_policies(&app, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "sla", security(("bearer" = [])), request_body = PolicyInput,
    responses((status = 201, body = PolicyView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let policy = sla::create_policy(&app, &v, body.into_inner()).await?;
    Ok(super::created(&policy))
}

#[utoipa::path(patch, path = "/api/v1/sla-policies/{id}", tag = "sla", security(("bearer" = [])), request_body = PolicyInput,
    params(("id" = i64, Path)),
    responses((status = 200, description = "the policy; live clocks under it are recomputed", body = PolicyView),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let policy = sla::update_policy(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(policy))
}
