//! The public pages: the request form, the confirmation, the tracking page and
//! the rating page. Server-rendered (minijinja, HTML auto-escaped: whatever a
//! citizen typed is shown as text), working without JavaScript; a CSRF token
//! (double-submit cookie), a honeypot field and the per-address rate limit
//! protect every form.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_multipart::Multipart;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::TimeZone;
use futures_util::StreamExt;
use minijinja::{context, Environment};
use rand::RngCore;
use serde::Deserialize;

use super::i18n;
use super::service::{self as public, CallbackRequest, PublicRequest};
use crate::error::AppError;
use crate::intake::AttachmentInput;
use crate::service::App;

const CSRF_COOKIE: &str = "sportello_csrf";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut e = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("form.html", include_str!("templates/form.html")),
            ("done.html", include_str!("templates/done.html")),
            ("track.html", include_str!("templates/track.html")),
            ("rate.html", include_str!("templates/rate.html")),
            ("message.html", include_str!("templates/message.html")),
        ] {
            e.add_template(name, source)
                .expect("page templates are valid");
        }
        e
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(form))
        .route("/form", web::get().to(form))
        .route("/form", web::post().to(send))
        .route("/track/{number}", web::get().to(track))
        .route("/track/{number}/messages", web::post().to(message))
        .route("/track/{number}/callback", web::post().to(callback))
        .route("/rate/{number}", web::get().to(rate))
        .route("/rate/{number}", web::post().to(comment));
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    t: Option<String>,
    score: Option<i32>,
}

struct Page {
    lang: &'static str,
    /// Neither chosen nor asked for by the browser: a ticket's own language may win.
    defaulted: bool,
    csrf: String,
    new_cookie: bool,
}

impl Page {
    fn of(req: &HttpRequest, q: &PageQuery) -> Page {
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok());
        let lang = i18n::pick(q.lang.as_deref(), accept);
        let defaulted = q.lang.is_none() && accept.is_none();
        match req
            .cookie(CSRF_COOKIE)
            .map(|c| c.value().to_string())
            .filter(|v| v.len() == 32)
        {
            Some(csrf) => Page {
                lang,
                defaulted,
                csrf,
                new_cookie: false,
            },
            None => {
                let mut b = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut b);
                Page {
                    lang,
                    defaulted,
                    csrf: hex::encode(b),
                    new_cookie: true,
                }
            }
        }
    }

    fn render(
        &self,
        app: &App,
        req: &HttpRequest,
        status: StatusCode,
        name: &str,
        ctx: minijinja::Value,
    ) -> HttpResponse {
        let other = if self.lang == "it" { "en" } else { "it" };
        let path = req.path();
        let mut query: Vec<String> = req
            .query_string()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .map(str::to_string)
            .collect();
        query.push(format!("lang={other}"));
        let base = context! {
            lang => self.lang,
            t => i18n::texts(self.lang),
            desk => app.config.desk_name.clone(),
            csrf => self.csrf.clone(),
            switch_url => format!("{path}?{}", query.join("&")),
        };
        let html = env()
            .get_template(name)
            .and_then(|t| t.render(context! { ..base, ..ctx }))
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, template = name, "page failed to render");
                "<!doctype html><title>Error</title><p>Error</p>".into()
            });
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8")
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ));
        if self.new_cookie {
            res.cookie(
                Cookie::build(CSRF_COOKIE, self.csrf.clone())
                    .path("/")
                    .http_only(true)
                    .same_site(SameSite::Strict)
                    .finish(),
            );
        }
        res.body(html)
    }

    fn message(&self, app: &App, req: &HttpRequest, status: StatusCode, key: &str) -> HttpResponse {
        let t = i18n::texts(self.lang);
        let ctx =
            context! { heading => t["error_title"], text => t.get(key).copied().unwrap_or(key) };
        self.render(app, req, status, "message.html", ctx)
    }

    /// The form's CSRF token must match the cookie the page set.
    fn check_csrf(&self, req: &HttpRequest, fields: &HashMap<String, String>) -> bool {
        let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
        matches!((cookie, fields.get("csrf")), (Some(c), Some(f)) if c.len() == 32 && c == *f)
    }
}

/// Reads a multipart form: text fields and files, within the configured limits.
pub(crate) async fn read_form(
    app: &App,
    mut payload: Multipart,
) -> Result<(HashMap<String, String>, Vec<AttachmentInput>), AppError> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    let mut total = 0usize;
    let cap = app.config.max_message_bytes;
    while let Some(item) = payload.next().await {
        let mut field =
            item.map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
        let name = field
            .content_disposition()
            .and_then(|d| d.get_name())
            .unwrap_or("")
            .to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let content_type = field
            .content_type()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
            total += chunk.len();
            if total > cap {
                return Err(AppError::PayloadTooLarge(format!(
                    "the form is larger than {cap} bytes"
                )));
            }
            data.extend_from_slice(&chunk);
        }
        match filename {
            Some(f) if !f.is_empty() => files.push(AttachmentInput {
                filename: f,
                content_type,
                data,
            }),
            Some(_) => {}
            None => {
                fields.insert(name, String::from_utf8_lossy(&data).into_owned());
            }
        }
    }
    Ok((fields, files))
}

type Form = (HashMap<String, String>, Vec<AttachmentInput>);

/// What every form post goes through: the rate limit, reading the form within
/// the size limits, and the CSRF check. `Err` is the page to answer with.
async fn accept(
    app: &App,
    req: &HttpRequest,
    page: &Page,
    payload: Multipart,
) -> Result<Form, HttpResponse> {
    if app.public_limiter.check(ip_of(req)).is_err() {
        return Err(page.message(app, req, StatusCode::TOO_MANY_REQUESTS, "too_many"));
    }
    let form = match read_form(app, payload).await {
        Ok(f) => f,
        Err(e) => return Err(page.message(app, req, e.status_code_of(), "error_title")),
    };
    if !page.check_csrf(req, &form.0) {
        return Err(page.message(app, req, StatusCode::FORBIDDEN, "expired"));
    }
    Ok(form)
}

async fn topics_ctx(app: &App) -> Result<minijinja::Value, AppError> {
    let topics = crate::service::catalogue::list_topics(app, true).await?;
    let list: Vec<minijinja::Value> = topics
        .into_iter()
        .map(|t| {
            let subjects: Vec<minijinja::Value> = t
                .subjects
                .into_iter()
                .map(|s| context! { id => s.id, name => s.name })
                .collect();
            context! { id => t.id, name => t.name, subjects => subjects }
        })
        .collect();
    Ok(minijinja::Value::from(list))
}

fn labels(lang: &str) -> HashMap<&'static str, &'static str> {
    let t = i18n::texts(lang);
    [
        ("topic_id", "topic"),
        ("subject_id", "subject"),
        ("name", "name"),
        ("email", "email"),
        ("phone", "phone"),
        ("text", "text"),
        ("attachments", "attachments"),
        ("consent", "consent"),
    ]
    .into_iter()
    .map(|(f, k)| (f, t[k]))
    .collect()
}

async fn form(
    app: web::Data<App>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let ctx = context! { topics => topics_ctx(&app).await?, form => context! {}, err => context! {}, labels => labels(page.lang) };
    Ok(page.render(&app, &req, StatusCode::OK, "form.html", ctx))
}

fn ip_of(req: &HttpRequest) -> std::net::IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

async fn send(
    app: web::Data<App>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let (fields, files) = match accept(&app, &req, &page, payload).await {
        Ok(f) => f,
        Err(answer) => return Ok(answer),
    };
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let request = PublicRequest {
        topic_id: get("topic_id")
            .and_then(|v| v.parse().ok())
            .or_else(|| get("topic_id").map(|_| -1)),
        subject_id: get("subject_id").and_then(|v| v.parse().ok()),
        name: get("name"),
        email: get("email"),
        phone: get("phone"),
        text: fields.get("text").cloned(),
        consent: Some(get("consent").is_some()),
        language: Some(page.lang.to_string()),
        website: get("website"),
        attachments: files,
    };
    match public::submit(&app, request, None).await {
        Ok(Ok(done)) => Ok(page.render(
            &app,
            &req,
            StatusCode::OK,
            "done.html",
            context! { number => done.number, tracking_url => done.tracking_url },
        )),
        Ok(Err(errors)) => {
            let err: HashMap<String, String> = errors
                .iter()
                .rev()
                .map(|e| (e.field.clone(), e.code.clone()))
                .collect();
            let form = context! {
                topic_id => fields.get("topic_id").cloned().unwrap_or_default(),
                subject_id => fields.get("subject_id").cloned().unwrap_or_default(),
                name => fields.get("name").cloned().unwrap_or_default(),
                email => fields.get("email").cloned().unwrap_or_default(),
                phone => fields.get("phone").cloned().unwrap_or_default(),
                text => fields.get("text").cloned().unwrap_or_default(),
                consent => fields.contains_key("consent"),
            };
            let ctx = context! { topics => topics_ctx(&app).await?, form => form, err => err, errors => errors, labels => labels(page.lang) };
            Ok(page.render(
                &app,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                "form.html",
                ctx,
            ))
        }
        Err(AppError::BadRequest(_)) => {
            Ok(page.message(&app, &req, StatusCode::BAD_REQUEST, "error_title"))
        }
        Err(e) => Err(e),
    }
}

async fn track_page(
    app: &App,
    req: &HttpRequest,
    page: &Page,
    number: &str,
    token: &str,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    match public::track(app, number, token).await {
        Ok(ticket) => {
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let own = Page {
                lang: if ticket.language == "en" { "en" } else { "it" },
                csrf: page.csrf.clone(),
                ..*page
            };
            let page = if page.defaulted { &own } else { page };
            Ok(page.render(
                app,
                req,
                status,
                "track.html",
                context! { ticket => ticket, token => token, error => error },
            ))
        }
        Err(AppError::NotFound(_)) => {
            Ok(page.message(app, req, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(e) => Err(e),
    }
}

async fn track(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    track_page(
        &app,
        &req,
        &page,
        &number,
        q.t.as_deref().unwrap_or(""),
        None,
    )
    .await
}

fn back_to_track(number: &str, token: &str, lang: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/track/{number}?t={token}&lang={lang}"),
        ))
        .finish()
}

async fn message(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<PageQuery>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let (fields, files) = match accept(&app, &req, &page, payload).await {
        Ok(f) => f,
        Err(answer) => return Ok(answer),
    };
    let token = q.t.clone().unwrap_or_default();
    let text = fields.get("text").cloned().unwrap_or_default();
    match public::add_message(&app, &number, &token, &text, files).await {
        Ok(_) => Ok(back_to_track(&number, &token, page.lang)),
        Err(AppError::NotFound(_)) => {
            Ok(page.message(&app, &req, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(AppError::Conflict { .. }) => {
            Ok(page.message(&app, &req, StatusCode::CONFLICT, "closed_request"))
        }
        Err(AppError::Invalid { detail, .. }) => {
            track_page(&app, &req, &page, &number, &token, Some(detail)).await
        }
        Err(e) => Err(e),
    }
}

async fn callback(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<PageQuery>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let (fields, _) = match accept(&app, &req, &page, payload).await {
        Ok(f) => f,
        Err(answer) => return Ok(answer),
    };
    let token = q.t.clone().unwrap_or_default();
    let tz = app.config.time_zone;
    let preferred_at = fields
        .get("preferred_at")
        .and_then(|v| chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M").ok())
        .and_then(|local| tz.from_local_datetime(&local).earliest())
        .map(|d| d.fixed_offset());
    let request = CallbackRequest {
        token: None,
        phone: fields.get("phone").cloned().unwrap_or_default(),
        mode: fields.get("mode").cloned().unwrap_or_else(|| "now".into()),
        preferred_at,
        note: None,
    };
    match public::request_callback(&app, &number, &token, request).await {
        Ok(_) => Ok(back_to_track(&number, &token, page.lang)),
        Err(AppError::NotFound(_)) => {
            Ok(page.message(&app, &req, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(AppError::Invalid { detail, .. }) => {
            track_page(&app, &req, &page, &number, &token, Some(detail)).await
        }
        Err(e) => Err(e),
    }
}

async fn rate(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let token = q.t.clone().unwrap_or_default();
    match public::rate(&app, &number, &token, q.score, None).await {
        Ok((score, _)) => Ok(page.render(
            &app,
            &req,
            StatusCode::OK,
            "rate.html",
            context! { score => score, number => number.as_str(), token => token },
        )),
        Err(AppError::NotFound(_)) => {
            Ok(page.message(&app, &req, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(AppError::Invalid { .. }) => {
            Ok(page.message(&app, &req, StatusCode::UNPROCESSABLE_ENTITY, "error_title"))
        }
        Err(e) => Err(e),
    }
}

async fn comment(
    app: web::Data<App>,
    req: HttpRequest,
    number: web::Path<String>,
    q: web::Query<PageQuery>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let page = Page::of(&req, &q);
    let (fields, _) = match accept(&app, &req, &page, payload).await {
        Ok(f) => f,
        Err(answer) => return Ok(answer),
    };
    let token = q.t.clone().unwrap_or_default();
    match public::rate(&app, &number, &token, None, fields.get("comment").cloned()).await {
        Ok((score, _)) => Ok(page.render(
            &app,
            &req,
            StatusCode::OK,
            "rate.html",
            context! { score => score, number => number.as_str(), token => token },
        )),
        Err(AppError::NotFound(_)) => {
            Ok(page.message(&app, &req, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(e) => Err(e),
    }
}
