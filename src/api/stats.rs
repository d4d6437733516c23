//! Statistics for supervisors and admins.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::stats::{self, StatsQuery, StatsView};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats", web::get().to(ticket_stats));
}

#[utoipa::path(get, path = "/api/v1/stats", tag = "stats", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = StatsView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn ticket_stats(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(stats::ticket_stats(&app, &v, q.into_inner()).await?))
}
