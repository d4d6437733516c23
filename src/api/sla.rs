//! Service levels: policies, business calendars and escalation rules (all
//! staff read them, admins create and change them), and the check that fires
//! the rules (supervisors may run it at once).

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::{AppError, Problem};
use crate::service::sla::calendars::{self, CalendarInput, CalendarView};
use crate::service::sla::escalation::{self, CheckReport, RuleInput, RuleView};
use crate::service::sla::{self, PolicyInput, PolicyView};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sla-policies", web::get().to(list))
        .route("/sla-policies", web::post().to(create))
        .route("/sla-policies/{id}", web::patch().to(update))
        .route("/calendars", web::get().to(list_calendars))
        .route("/calendars", web::post().to(create_calendar))
        .route("/calendars/{id}", web::get().to(get_calendar))
        .route("/calendars/{id}", web::patch().to(update_calendar))
        .route("/escalation-rules", web::get().to(list_rules))
        .route("/escalation-rules", web::post().to(create_rule))
        .route("/escalation-rules/{id}", web::patch().to(update_rule))
        .route("/sla/check", web::post().to(check));
}

#[utoipa::path(get, path = "/api/v1/calendars", tag = "sla", security(("bearer" = [])),
    responses((status = 200, description = "the calendars queues can follow (a queue without one follows the desk's)", body = Vec<CalendarView>)))]
pub async fn list_calendars(
    app: web::Data<App>,
    Staff(v): Staff,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(calendars::list_calendars(&app, &v).await?))
}

#[utoipa::path(get, path = "/api/v1/calendars/{id}", tag = "sla", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CalendarView), (status = 404, body = Problem)))]
pub async fn get_calendar(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(calendars::get_calendar(&app, &v, id.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/v1/calendars", tag = "sla", security(("bearer" = [])), request_body = CalendarInput,
    responses((status = 201, body = CalendarView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_calendar(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<CalendarInput>,
) -> Result<HttpResponse, AppError> {
    let calendar = calendars::create_calendar(&app, &v, body.into_inner()).await?;
    Ok(super::created(&calendar))
}

#[utoipa::path(patch, path = "/api/v1/calendars/{id}", tag = "sla", security(("bearer" = [])), request_body = CalendarInput,
    params(("id" = i64, Path)),
    responses((status = 200, body = CalendarView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_calendar(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<CalendarInput>,
) -> Result<HttpResponse, AppError> {
    let calendar = calendars::update_calendar(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(calendar))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct RulesQuery {
    /// Only this queue's rules.
    pub queue_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/escalation-rules", tag = "sla", security(("bearer" = [])), params(RulesQuery),
    responses((status = 200, body = Vec<RuleView>)))]
pub async fn list_rules(
    app: web::Data<App>,
    Staff(v): Staff,
    q: web::Query<RulesQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(escalation::list_rules(&app, &v, q.queue_id).await?))
}

#[utoipa::path(post, path = "/api/v1/escalation-rules", tag = "sla", security(("bearer" = [])), request_body = RuleInput,
    responses((status = 201, body = RuleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_rule(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<RuleInput>,
) -> Result<HttpResponse, AppError> {
    let rule = escalation::create_rule(&app, &v, body.into_inner()).await?;
    Ok(super::created(&rule))
}

#[utoipa::path(patch, path = "/api/v1/escalation-rules/{id}", tag = "sla", security(("bearer" = [])), request_body = RuleInput,
    params(("id" = i64, Path)),
    responses((status = 200, description = "the rule; it does not fire again on clocks it already acted on", body = RuleView),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_rule(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<RuleInput>,
) -> Result<HttpResponse, AppError> {
    let rule = escalation::update_rule(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(rule))
}

#[utoipa::path(post, path = "/api/v1/sla/check", tag = "sla", security(("bearer" = [])),
    responses((status = 200, description = "runs the service-level check now (it also runs on its schedule)", body = CheckReport),
        (status = 403, body = Problem)))]
pub async fn check(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    if !v.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors run the service-level check",
        ));
    }
    Ok(HttpResponse::Ok().json(escalation::check(&app).await?))
}

#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "sla", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyView>)))]
pub async fn list(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(sla::list_policies(&app, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "sla", security(("bearer" = [])), request_body = PolicyInput,
    responses((status = 201, body = PolicyView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let policy = sla::create_policy(&app, &v, body.into_inner()).await?;
    Ok(super::created(&policy))
}

#[utoipa::path(patch, path = "/api/v1/sla-policies/{id}", tag = "sla", security(("bearer" = [])), request_body = PolicyInput,
    params(("id" = i64, Path)),
    responses((status = 200, description = "the policy; live clocks under it are recomputed", body = PolicyView),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let policy = sla::update_policy(&app, &v, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(policy))
}
