//! The topic catalogue: topics (argomento) with subjects (oggetto).

use actix_web::{web, HttpResponse};

use super::{Created, Staff};
use crate::error::{AppError, Problem};
use crate::service::catalogue::{self, SubjectInput, TopicInput};
use crate::service::views::TopicView;
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/topics", web::get().to(list))
        .route("/topics", web::post().to(create))
        .route("/topics/{id}", web::patch().to(update))
        .route("/topics/{id}/subjects", web::post().to(create_subject))
        .route("/subjects/{id}", web::patch().to(update_subject));
}

#[utoipa::path(get, path = "/api/v1/topics", tag = "catalogue", security(("bearer" = [])), responses((status = 200, body = Vec<TopicView>)))]
pub async fn list(app: web::Data<App>, _staff: Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalogue::list_topics(&app, false).await?))
}

#[utoipa::path(post, path = "/api/v1/topics", tag = "catalogue", security(("bearer" = [])), request_body = TopicInput,
    responses((status = 201, body = Created), (status = 403, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<TopicInput>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(&Created {
        id: catalogue::create_topic(&app, &v, body.into_inner()).await?,
    }))
}

#[utoipa::path(patch, path = "/api/v1/topics/{id}", tag = "catalogue", security(("bearer" = [])), request_body = TopicInput,
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<TopicInput>,
) -> Result<HttpResponse, AppError> {
    catalogue::update_topic(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/topics/{id}/subjects", tag = "catalogue", security(("bearer" = [])), request_body = SubjectInput,
    params(("id" = i64, Path)), responses((status = 201, body = Created), (status = 403, body = Problem)))]
pub async fn create_subject(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<SubjectInput>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(&Created {
        id: catalogue::create_subject(&app, &v, id.into_inner(), body.into_inner()).await?,
    }))
}

#[utoipa::path(patch, path = "/api/v1/subjects/{id}", tag = "catalogue", security(("bearer" = [])), request_body = SubjectInput,
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = Problem)))]
pub async fn update_subject(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<SubjectInput>,
) -> Result<HttpResponse, AppError> {
    catalogue::update_subject(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
