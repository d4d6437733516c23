//! The public JSON API for portals: no staff token; the tracking token opens a
//! request. Rate-limited per address; CORS for the configured origins.

use actix_cors::Cors;
use actix_multipart::Multipart;
use actix_web::guard::{self, GuardContext};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Staff;
use crate::channels::phone::callbacks::{self, FreeSlot, SlotQuery};
use crate::channels::web::service::{
    self as public, CallbackBooked, CallbackRequest, NewCallbackRequest, PublicMessageRequest,
    PublicRequest, PublicTicket, RatingView, Submitted,
};
use crate::error::{AppError, Problem};
use crate::service::App;

pub fn cors(origins: &[String]) -> Cors {
    let mut c = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-tracking-token"),
        ])
        .max_age(3600);
    for o in origins {
        c = c.allowed_origin(o);
    }
    c
}

pub fn routes(cfg: &mut web::ServiceConfig, origins: &[String]) {
    cfg.service(
        web::scope("/public")
            .wrap(cors(origins))
            .route("/topics", web::get().to(topics))
            .route(
                "/requests",
                web::post()
                    .guard(guard::fn_guard(is_multipart))
                    .to(submit_multipart),
            )
            .route("/requests", web::post().to(submit))
            .route("/requests/{number}", web::get().to(track))
            .route(
                "/requests/{number}/messages",
                web::post()
                    .guard(guard::fn_guard(is_multipart))
                    .to(message_multipart),
            )
            .route("/requests/{number}/messages", web::post().to(message))
            .route("/requests/{number}/callbacks", web::post().to(callback))
            .route("/callbacks", web::post().to(new_callback))
            .route("/callbacks/slots", web::get().to(callback_slots))
            .route("/requests/{number}/rating", web::post().to(rate)),
    )
    .route("/ratings", web::get().to(ratings));
}

fn is_multipart(ctx: &GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn limit(app: &App, req: &HttpRequest) -> Result<(), AppError> {
    let ip = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    app.public_limiter.check(ip)
}

fn token_of(
    req: &HttpRequest,
    body: Option<&str>,
    query: Option<&str>,
) -> Result<String, AppError> {
    req.headers()
        .get("X-Tracking-Token")
        .and_then(|h| h.to_str().ok())
        .or(body)
        .or(query)
        .map(str::to_string)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| AppError::NotFound("no request with this number and link".into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTopic {
    pub id: i64,
    pub name: String,
    pub subjects: Vec<PublicSubject>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSubject {
    pub id: i64,
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/public/topics", tag = "public", responses((status = 200, body = Vec<PublicTopic>)))]
pub async fn topics(app: web::Data<App>) -> Result<HttpResponse, AppError> {
    let list = crate::service::catalogue::list_topics(&app, true).await?;
    let out: Vec<PublicTopic> = list
        .into_iter()
        .map(|t| PublicTopic {
            id: t.id,
            name: t.name,
            subjects: t
                .subjects
                .into_iter()
                .map(|s| PublicSubject {
                    id: s.id,
                    name: s.name,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/public/requests", tag = "public", request_body = PublicRequest,
    responses((status = 201, body = Submitted), (status = 422, description = "every field in error in `errors`", body = Problem),
        (status = 429, body = Problem)))]
pub async fn submit(
    app: web::Data<App>,
    req: HttpRequest,
    body: web::Json<PublicRequest>,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    match public::submit(&app, body.into_inner(), key).await? {
        Ok(s) => Ok(HttpResponse::Created().json(s)),
        Err(errors) => Err(AppError::Fields(
            errors.into_iter().map(|e| (e.field, e.code)).collect(),
        )),
    }
}

/// The same request as multipart/form-data, with files in `attachments`.
pub async fn submit_multipart(
    app: web::Data<App>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let (fields, files) = crate::channels::web::pages::read_form(&app, payload).await?;
    let known = [
        "topic_id",
        "subject_id",
        "name",
        "email",
        "phone",
        "text",
        "consent",
        "language",
        "website",
    ];
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(AppError::invalid(
            unknown,
            format!("unknown field `{unknown}`"),
        ));
    }
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let id = |k: &str| -> Result<Option<i64>, AppError> {
        get(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| AppError::invalid(k, format!("{k} is a number")))
            })
            .transpose()
    };
    let request = PublicRequest {
        topic_id: id("topic_id")?,
        subject_id: id("subject_id")?,
        name: get("name"),
        email: get("email"),
        phone: get("phone"),
        text: fields.get("text").cloned(),
        consent: Some(matches!(
            get("consent").as_deref(),
            Some("true" | "yes" | "on" | "1")
        )),
        language: get("language"),
        website: get("website"),
        attachments: files,
    };
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    match public::submit(&app, request, key).await? {
        Ok(s) => Ok(HttpResponse::Created().json(s)),
        Err(errors) => Err(AppError::Fields(
            errors.into_iter().map(|e| (e.field, e.code)).collect(),
        )),
    }
}

/// A follow-up message as multipart/form-data (`token`, `text`, files in `attachments`).
pub async fn message_multipart(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let (fields, files) = crate::channels::web::pages::read_form(&app, payload).await?;
    let token = token_of(&req, fields.get("token").map(String::as_str), None)?;
    let text = fields.get("text").cloned().unwrap_or_default();
    Ok(HttpResponse::Ok().json(public::add_message(&app, &number, &token, &text, files).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// The tracking token (or send it as `X-Tracking-Token`).
    pub token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/public/requests/{number}", tag = "public", params(("number" = String, Path), TokenQuery),
    responses((status = 200, body = PublicTicket), (status = 404, description = "wrong number or token", body = Problem)))]
pub async fn track(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = token_of(&req, None, q.token.as_deref())?;
    Ok(HttpResponse::Ok().json(public::track(&app, &number, &token).await?))
}

#[utoipa::path(post, path = "/api/v1/public/requests/{number}/messages", tag = "public", params(("number" = String, Path)),
    request_body = PublicMessageRequest, responses((status = 200, body = PublicTicket), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn message(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    body: web::Json<PublicMessageRequest>,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let body = body.into_inner();
    let token = token_of(&req, body.token.as_deref(), None)?;
    Ok(HttpResponse::Ok()
        .json(public::add_message(&app, &number, &token, &body.text, vec![]).await?))
}

#[utoipa::path(post, path = "/api/v1/public/requests/{number}/callbacks", tag = "public", params(("number" = String, Path)),
    request_body = CallbackRequest, responses((status = 200, body = PublicTicket), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn callback(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    body: web::Json<CallbackRequest>,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let body = body.into_inner();
    let token = token_of(&req, body.token.as_deref(), None)?;
    Ok(HttpResponse::Ok().json(public::request_callback(&app, &number, &token, body).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// The token of the rating link in the resolution e-mail.
    pub token: String,
    /// 1 to 5.
    pub score: Option<i32>,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingStored {
    pub score: i32,
}

#[utoipa::path(post, path = "/api/v1/public/requests/{number}/rating", tag = "public", params(("number" = String, Path)),
    request_body = RatingRequest, responses((status = 200, body = RatingStored), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rate(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    body: web::Json<RatingRequest>,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    let body = body.into_inner();
    let (score, _) = public::rate(&app, &number, &body.token, body.score, body.comment).await?;
    Ok(HttpResponse::Ok().json(RatingStored { score }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RatingsQuery {
    pub cursor: Option<i64>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/ratings", tag = "public", security(("bearer" = [])), params(RatingsQuery),
    responses((status = 200, body = Vec<RatingView>)))]
pub async fn ratings(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<RatingsQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    Ok(HttpResponse::Ok().json(public::ratings(&app, v.tz, q.cursor, limit).await?))
}

#[utoipa::path(post, path = "/api/v1/public/callbacks", tag = "public", request_body = NewCallbackRequest,
    responses((status = 201, description = "a new request, with the callback booked in the first free slot", body = CallbackBooked),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn new_callback(
    app: web::Data<App>,
    req: HttpRequest,
    body: web::Json<NewCallbackRequest>,
) -> Result<HttpResponse, AppError> {
    limit(&app, &req)?;
    Ok(super::created(
        &public::request_new_callback(&app, body.into_inner()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/public/callbacks/slots", tag = "public", params(SlotQuery),
    responses((status = 200, description = "the next slots with room, in business hours", body = Vec<FreeSlot>), (status = 422, body = Problem)))]
pub async fn callback_slots(
    app: web::Data<App>,
    q: web::Query<SlotQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(callbacks::free_slots(&app, q.into_inner()).await?))
}
