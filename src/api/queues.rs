//! Queues (also reachable as `/groups`): counts, a queue's tickets, claim-next, admin configuration.

use actix_web::{web, HttpResponse};

use super::{Created, Staff};
use crate::error::{AppError, Problem};
use crate::service::catalogue::{self, QueueInput};
use crate::service::tickets::{self as tickets_svc, ListQuery};
use crate::service::views::{QueueView, TicketDetail, TicketPage};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    for base in ["/queues", "/groups"] {
        cfg.route(base, web::get().to(list))
            .route(base, web::post().to(create))
            .route(&format!("{base}/{{id}}"), web::patch().to(update))
            .route(
                &format!("{base}/{{id}}/tickets"),
                web::get().to(queue_tickets),
            )
            .route(&format!("{base}/{{id}}/claim"), web::post().to(claim));
    }
}

#[utoipa::path(get, path = "/api/v1/queues", tag = "queues", security(("bearer" = [])), responses((status = 200, body = Vec<QueueView>)))]
pub async fn list(app: web::Data<App>, _staff: Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalogue::list_queues(&app).await?))
}

#[utoipa::path(post, path = "/api/v1/queues", tag = "queues", security(("bearer" = [])), request_body = QueueInput,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<QueueInput>,
) -> Result<HttpResponse, AppError> {
    let id = catalogue::create_queue(&app, &v, body.into_inner()).await?;
    Ok(super::created(&Created { id }))
}

#[utoipa::path(patch, path = "/api/v1/queues/{id}", tag = "queues", security(("bearer" = [])), request_body = QueueInput,
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<QueueInput>,
) -> Result<HttpResponse, AppError> {
    catalogue::update_queue(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/queues/{id}/tickets", tag = "queues", security(("bearer" = [])),
    params(("id" = i64, Path), ListQuery), responses((status = 200, body = TicketPage)))]
pub async fn queue_tickets(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let mut q = q.into_inner();
    q.queue = Some(id.into_inner().to_string());
    if q.state.is_none() {
        q.state = Some("active".into());
    }
    Ok(HttpResponse::Ok().json(tickets_svc::list(&app, &v, q).await?))
}

#[utoipa::path(post, path = "/api/v1/queues/{id}/claim", tag = "queues", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the ticket now assigned to you", body = TicketDetail),
        (status = 204, description = "nothing to claim"), (status = 403, body = Problem)))]
pub async fn claim(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(
        match tickets_svc::claim_next(&app, &v, id.into_inner()).await? {
            Some(t) => HttpResponse::Ok().json(t),
            None => HttpResponse::NoContent().finish(),
        },
    )
}
