//! Tickets: list, read, create, update, and the workflow operations.
//! `{ticket}` is an id (`42`) or a number (`2026-000042`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::tickets::{
    self as svc, ArticleRequest, AssignRequest, CreateTicket, EscalateRequest, LinkRequest,
    ListQuery, MergeRequest, ReasonRequest, ResolveRequest, StateRequest, TicketKey, TicketUpdate,
};
use crate::service::views::{TicketDetail, TicketPage};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets", web::get().to(list))
        .route("/tickets", web::post().to(create))
        .route("/tickets/{ticket}", web::get().to(get))
        .route("/tickets/{ticket}", web::patch().to(update))
        .route("/tickets/{ticket}/articles", web::post().to(add_article))
        .route("/tickets/{ticket}/assign", web::post().to(assign))
        .route("/tickets/{ticket}/state", web::post().to(set_state))
        .route("/tickets/{ticket}/escalate", web::post().to(escalate))
        .route("/tickets/{ticket}/hand-back", web::post().to(hand_back))
        .route("/tickets/{ticket}/resolve", web::post().to(resolve))
        .route("/tickets/{ticket}/close", web::post().to(close))
        .route("/tickets/{ticket}/reopen", web::post().to(reopen))
        .route("/tickets/{ticket}/merge", web::post().to(merge))
        .route("/tickets/{ticket}/links", web::post().to(link))
        .route("/tickets/{ticket}/emails", web::get().to(emails))
        .route("/tickets/{ticket}/delegations", web::get().to(delegations))
        .route("/tickets/{ticket}/delegations", web::post().to(delegate))
        .route("/attachments/{id}", web::get().to(attachment));
}

fn key(path: web::Path<String>) -> Result<TicketKey, AppError> {
    TicketKey::parse(&path.into_inner())
}

fn ok(detail: TicketDetail) -> HttpResponse {
    HttpResponse::Ok().json(detail)
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = TicketPage), (status = 422, body = Problem)))]
pub async fn list(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(svc::list(&app, &v, q.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])), request_body = CreateTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key twice gives the same ticket")),
    responses((status = 201, body = TicketDetail), (status = 200, description = "replay of an idempotency key", body = TicketDetail),
        (status = 422, body = Problem), (status = 413, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    req: HttpRequest,
    body: web::Json<CreateTicket>,
) -> Result<HttpResponse, AppError> {
    let header_key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let (detail, created) = svc::create(&app, &v, body.into_inner(), header_key).await?;
    Ok(if created {
        HttpResponse::Created().json(detail)
    } else {
        HttpResponse::Ok().json(detail)
    })
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}", tag = "tickets", security(("bearer" = [])),
    params(("ticket" = String, Path, description = "id or number")),
    responses((status = 200, body = TicketDetail), (status = 404, body = Problem)))]
pub async fn get(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::get(&app, &v, key(path)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{ticket}", tag = "tickets", security(("bearer" = [])), request_body = TicketUpdate,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<TicketUpdate>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::update(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/articles", tag = "workflow", security(("bearer" = [])), request_body = ArticleRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn add_article(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<ArticleRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::add_article(
        &app,
        &v,
        key(path)?,
        body.into_inner(),
    )
    .await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/assign", tag = "workflow", security(("bearer" = [])), request_body = AssignRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn assign(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::assign(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/state", tag = "workflow", security(("bearer" = [])), request_body = StateRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn set_state(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<StateRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::set_state(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/escalate", tag = "workflow", security(("bearer" = [])), request_body = EscalateRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn escalate(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<EscalateRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::escalate(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/hand-back", tag = "workflow", security(("bearer" = [])), request_body = ReasonRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn hand_back(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::hand_back(
        &app,
        &v,
        key(path)?,
        super::optional_json(&body)?,
    )
    .await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/resolve", tag = "workflow", security(("bearer" = [])), request_body = ResolveRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn resolve(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<ResolveRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::resolve(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/close", tag = "workflow", security(("bearer" = [])), request_body = ReasonRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn close(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::close(
        &app,
        &v,
        key(path)?,
        super::optional_json(&body)?,
    )
    .await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/reopen", tag = "workflow", security(("bearer" = [])), request_body = ReasonRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail), (status = 409, body = Problem)))]
pub async fn reopen(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::reopen(
        &app,
        &v,
        key(path)?,
        super::optional_json(&body)?,
    )
    .await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/merge", tag = "workflow", security(("bearer" = [])), request_body = MergeRequest,
    params(("ticket" = String, Path, description = "the ticket that is folded into `into`")),
    responses((status = 200, description = "the surviving ticket", body = TicketDetail), (status = 409, body = Problem)))]
pub async fn merge(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(
        svc::merge(&app, &v, key(path)?, body.into_inner()).await?
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/links", tag = "workflow", security(("bearer" = [])), request_body = LinkRequest,
    params(("ticket" = String, Path)), responses((status = 200, body = TicketDetail)))]
pub async fn link(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(ok(svc::link(&app, &v, key(path)?, body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/emails", tag = "email", security(("bearer" = [])),
    params(("ticket" = String, Path)), responses((status = 200, body = Vec<crate::service::views::EmailView>)))]
pub async fn emails(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(svc::emails(&app, &v, key(path)?).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{ticket}/delegations", tag = "email", security(("bearer" = [])),
    params(("ticket" = String, Path)), request_body = crate::channels::email::delegation::DelegateRequest,
    responses((status = 201, body = crate::channels::email::delegation::DelegationView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn delegate(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
    body: web::Json<crate::channels::email::delegation::DelegateRequest>,
) -> Result<HttpResponse, AppError> {
    let d = crate::channels::email::delegation::delegate(&app, &v, key(path)?, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(d))
}

#[utoipa::path(get, path = "/api/v1/tickets/{ticket}/delegations", tag = "email", security(("bearer" = [])),
    params(("ticket" = String, Path)), responses((status = 200, body = Vec<crate::channels::email::delegation::DelegationView>)))]
pub async fn delegations(
    app: web::Data<App>,
    Staff(v): Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(crate::channels::email::delegation::list(&app, &v, key(path)?).await?))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, description = "the file"), (status = 404, body = Problem)))]
pub async fn attachment(
    app: web::Data<App>,
    _staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (name, content_type, data) = svc::attachment(&app, id.into_inner()).await?;
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: actix_web::http::header::DispositionType::Attachment,
        parameters: vec![actix_web::http::header::DispositionParam::FilenameExt(
            actix_web::http::header::ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            },
        )],
    };
    // Stored files are served as downloads, never rendered by the browser.
    Ok(HttpResponse::Ok()
        .content_type(
            content_type
                .parse::<mime::Mime>()
                .unwrap_or(mime::APPLICATION_OCTET_STREAM),
        )
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(data))
}
