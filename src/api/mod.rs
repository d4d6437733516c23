//! The staff API (actix-web, JSON under `/api/v1`). Handlers are thin: they
//! parse, authenticate, call one service function and map its result. Every
//! error, including the ones actix raises while reading a request, leaves as
//! RFC 7807 problem+json.

pub mod auth;
pub mod callbacks;
pub mod catalogue;
pub mod contacts;
pub mod docs;
pub mod health;
pub mod housekeeping;
pub mod jobs;
pub mod mail;
pub mod phone;
pub mod public;
pub mod queues;
pub mod registry;
pub mod sla;
pub mod stats;
pub mod supervisor;
pub mod tickets;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::error::AppError;
use crate::service::{App, Viewer};

/// The signed-in staff member; extracting it answers 401 without a valid token.
pub struct Staff(pub Viewer);

impl FromRequest for Staff {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App>>().cloned();
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let app = app.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            let header = header.ok_or_else(|| {
                AppError::Unauthorized("send 'Authorization: Bearer <token>'".into())
            })?;
            let token = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    AppError::Unauthorized(
                        "the Authorization header must be 'Bearer <token>'".into(),
                    )
                })?;
            crate::service::auth::authenticate(&app, token)
                .await
                .map(Staff)
        })
    }
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            AppError::PayloadTooLarge(format!("the body is {length} bytes; the limit is {limit}"))
        }
        JsonPayloadError::Overflow { limit } => {
            AppError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            AppError::UnsupportedMediaType("send the body as application/json".into())
        }
        JsonPayloadError::Deserialize(de) if de.is_data() => AppError::Invalid {
            field: field_of(&de.to_string()),
            detail: de.to_string(),
        },
        JsonPayloadError::Deserialize(de) => {
            AppError::BadRequest(format!("the body is not valid JSON: {de}"))
        }
        other => AppError::BadRequest(other.to_string()),
    };
    e.into()
}

/// serde names the offending field in backticks ("unknown field `colour`").
fn field_of(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// A JSON body that may be left out (an empty body means all defaults), but
/// that is refused like any other when it is there and wrong.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &web::Bytes,
) -> Result<T, AppError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|de| {
        if de.is_data() {
            AppError::Invalid {
                field: field_of(&de.to_string()),
                detail: de.to_string(),
            }
        } else {
            AppError::BadRequest(format!("the body is not valid JSON: {de}"))
        }
    })
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        QueryPayloadError::Deserialize(de) => de.to_string(),
        other => other.to_string(),
    };
    AppError::Invalid {
        field: field_of(&detail),
        detail: format!("bad query parameter: {detail}"),
    }
    .into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::NotFound(format!("no such resource ({err})")).into()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Registers every route; used by `serve` and by the tests alike.
pub fn configure(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    let max_body = config.max_body_bytes;
    let max_message = config.max_message_bytes;
    let origins = config.cors_origins.clone();
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body)
            .error_handler(json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::PayloadConfig::default().limit(max_body))
    .route("/healthz", web::get().to(health::healthz))
    // Before the docs page, whose pattern would match it too.
    .route(docs::DOCS_OPENAPI_URL, web::get().to(docs::openapi_json))
    .service(docs::swagger())
    .service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(docs::openapi_json))
            .configure(auth::routes)
            .configure(tickets::routes)
            .configure(queues::routes)
            .configure(|c| registry::routes(c, max_message))
            .configure(contacts::routes)
            .configure(catalogue::routes)
            .configure(|c| mail::routes(c, max_message))
            .configure(|c| public::routes(c, &origins))
            .configure(phone::routes)
            .configure(callbacks::routes)
            .configure(jobs::routes)
            .configure(housekeeping::routes)
            .configure(stats::routes)
            .configure(sla::routes)
            .configure(supervisor::routes)
            .default_service(web::to(not_found)),
    )
    .configure(crate::channels::web::pages::routes)
    .default_service(web::to(not_found));
}

/// 201 Created with the resource.
pub fn created<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}
