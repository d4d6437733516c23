//! The supervisor view of the queues (supervisors and admins).

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::supervisor::{self, SupervisorQueueView};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/supervisor/queues", web::get().to(queues))
        .route("/supervisor/queues/{id}", web::get().to(queue));
}

#[utoipa::path(get, path = "/api/v1/supervisor/queues", tag = "supervisor", security(("bearer" = [])),
    responses((status = 200, description = "every active queue: backlog by state and age, service levels, agents", body = Vec<SupervisorQueueView>),
        (status = 403, body = Problem)))]
pub async fn queues(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(supervisor::queues(&app, &v).await?))
}

#[utoipa::path(get, path = "/api/v1/supervisor/queues/{id}", tag = "supervisor", security(("bearer" = [])),
    params(("id" = i64, Path, description = "queue id")),
    responses((status = 200, body = SupervisorQueueView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn queue(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(supervisor::queue(&app, &v, id.into_inner()).await?))
}
