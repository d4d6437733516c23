//! Housekeeping by hand: one run now, with what it did.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::housekeeping::{self, HousekeepingReport};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/housekeeping/run", web::post().to(run_housekeeping));
}

#[utoipa::path(post, path = "/api/v1/housekeeping/run", tag = "jobs", security(("bearer" = [])),
    responses((status = 200, description = "one housekeeping run, now: resolved tickets closed, reminders, tickets resolved", body = HousekeepingReport),
        (status = 403, body = Problem)))]
pub async fn run_housekeeping(
    app: web::Data<App>,
    Staff(v): Staff,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(housekeeping::run_now(&app, &v).await?))
}
