//! E-mail: the mailgate for an MTA, the review queue, and mailbox configuration.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Staff;
use crate::channels::email::ingest::{self, Outcome, Source};
use crate::channels::email::mailboxes::{self, MailboxInput, MailboxView};
use crate::channels::email::review::{self, DiscardRequest, InboundView, ReleaseRequest};
use crate::error::{AppError, Problem};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig, max_message: usize) {
    // Raw mail is bigger than JSON: it has its own limit.
    cfg.service(
        web::resource("/inbound/email")
            .app_data(web::PayloadConfig::new(max_message))
            .route(web::post().to(mailgate)),
    )
    .route("/mail/review", web::get().to(review_list))
    .route("/mail/review/{id}", web::get().to(review_get))
    .route("/mail/review/{id}/release", web::post().to(review_release))
    .route("/mail/review/{id}/discard", web::post().to(review_discard))
    .route("/mailboxes", web::get().to(mailbox_list))
    .route("/mailboxes", web::post().to(mailbox_create))
    .route("/mailboxes/{id}", web::patch().to(mailbox_update))
    .route("/mailboxes/{id}/polls", web::get().to(mailbox_polls))
    .route("/mailboxes/{id}/poll", web::post().to(mailbox_poll_now))
    .route("/articles/{id}/original", web::get().to(article_original));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// `ticket`, `quarantined` or `duplicate`.
    pub outcome: String,
    pub inbound_id: i64,
    pub ticket_id: Option<i64>,
    /// A new ticket was opened (false: added to one).
    pub created: bool,
    /// Why the message is in the review queue.
    pub cause: Option<String>,
}

pub fn result_of(o: Outcome) -> IngestResult {
    match o {
        Outcome::Ticket {
            inbound_id,
            ticket_id,
            created,
        } => IngestResult {
            outcome: "ticket".into(),
            inbound_id,
            ticket_id: Some(ticket_id),
            created,
            cause: None,
        },
        Outcome::Quarantined { inbound_id, cause } => IngestResult {
            outcome: "quarantined".into(),
            inbound_id,
            ticket_id: None,
            created: false,
            cause: Some(cause),
        },
        Outcome::Duplicate { inbound_id } => IngestResult {
            outcome: "duplicate".into(),
            inbound_id,
            ticket_id: None,
            created: false,
            cause: None,
        },
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MailgateQuery {
    /// The mailbox (id or name) the MTA received the message for; its queue gets the ticket.
    pub mailbox: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "email", security(("bearer" = [])), params(MailgateQuery),
    request_body(content = String, content_type = "message/rfc822", description = "the raw RFC 5322 message"),
    responses((status = 201, description = "a new ticket", body = IngestResult),
        (status = 200, description = "added to a ticket, quarantined for review, or already ingested", body = IngestResult),
        (status = 413, body = Problem)))]
pub async fn mailgate(
    app: web::Data<App>,
    _staff: Staff,
    q: web::Query<MailgateQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    if body.is_empty() {
        return Err(AppError::invalid(
            "body",
            "send the raw message as the request body",
        ));
    }
    let mailbox = match &q.mailbox {
        Some(m) => Some(mailboxes::find(&app, m).await?),
        None => None,
    };
    let result = result_of(ingest::ingest(&app, mailbox, Source::Mailgate, body.to_vec()).await?);
    Ok(if result.created {
        HttpResponse::Created().json(result)
    } else {
        HttpResponse::Ok().json(result)
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// From the previous page: the last id seen.
    pub cursor: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/mail/review", tag = "email", security(("bearer" = [])), params(ReviewQuery),
    responses((status = 200, body = Vec<InboundView>)))]
pub async fn review_list(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    Ok(HttpResponse::Ok().json(review::list(&app, &v, q.cursor, limit).await?))
}

#[utoipa::path(get, path = "/api/v1/mail/review/{id}", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "with the raw source", body = InboundView), (status = 404, body = Problem)))]
pub async fn review_get(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(review::get(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/mail/review/{id}/release", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ReleaseRequest, responses((status = 200, body = IngestResult), (status = 409, body = Problem)))]
pub async fn review_release(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let req: ReleaseRequest = super::optional_json(&body)?;
    Ok(HttpResponse::Ok().json(result_of(
        review::release(&app, &v, id.into_inner(), req).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/mail/review/{id}/discard", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = DiscardRequest, responses((status = 204), (status = 409, body = Problem)))]
pub async fn review_discard(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let req: DiscardRequest = super::optional_json(&body)?;
    review::discard(&app, &v, id.into_inner(), req).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/mailboxes", tag = "email", security(("bearer" = [])),
    responses((status = 200, body = Vec<MailboxView>), (status = 403, body = Problem)))]
pub async fn mailbox_list(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(mailboxes::list(&app, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/mailboxes", tag = "email", security(("bearer" = [])), request_body = MailboxInput,
    responses((status = 201, body = MailboxView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn mailbox_create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<MailboxInput>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(
        &mailboxes::create(&app, &v, body.into_inner()).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/mailboxes/{id}", tag = "email", security(("bearer" = [])), request_body = MailboxInput,
    params(("id" = i64, Path)), responses((status = 200, body = MailboxView), (status = 403, body = Problem)))]
pub async fn mailbox_update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<MailboxInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(mailboxes::update(&app, &v, id.into_inner(), body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/mailboxes/{id}/polls", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the latest polls, newest first; `gap` marks fetched mail not accounted for", body = Vec<crate::channels::email::imap::PollView>)))]
pub async fn mailbox_polls(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(crate::channels::email::imap::polls(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/mailboxes/{id}/poll", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = crate::channels::email::imap::PollReport), (status = 409, description = "another instance is polling it", body = Problem),
        (status = 503, description = "the IMAP server failed", body = Problem)))]
pub async fn mailbox_poll_now(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    if !v.actor.can_configure() {
        return Err(AppError::forbidden("only admins poll mailboxes by hand"));
    }
    match crate::channels::email::imap::poll(&app, id.into_inner()).await? {
        Some(report) => Ok(HttpResponse::Ok().json(report)),
        None => Err(AppError::conflict(
            "poll-running",
            "this mailbox is being polled right now",
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/articles/{id}/original", tag = "email", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the message as received (message/rfc822), quoted history and all", content_type = "message/rfc822"),
        (status = 404, description = "the article did not come by e-mail", body = Problem)))]
pub async fn article_original(
    app: web::Data<App>,
    _staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = app
        .db
        .read(move |c| crate::store::mail::raw_of_article(c, id))
        .await?
        .ok_or_else(|| AppError::not_found(format!("an e-mail original of article {id}")))?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(raw))
}
