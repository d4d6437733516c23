//! The background jobs' last runs.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::jobs::{self, JobView};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/jobs", web::get().to(status));
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])),
    responses((status = 200, description = "each job's last run, on whichever instance ran it", body = Vec<JobView>), (status = 403, body = Problem)))]
pub async fn status(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(jobs::status(&app, &v).await?))
}
