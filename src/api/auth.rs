//! Sign-in, sign-out, integration tokens, and staff accounts.

use actix_web::{web, HttpResponse};

use super::Staff;
use crate::error::AppError;
use crate::service::auth::{
    self, AgentUpdate, ApiTokenRequest, ApiTokenView, LoginRequest, NewAgentRequest, TokenResponse,
};
use crate::service::views::AgentView;
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/token", web::post().to(login))
        .route("/auth/token", web::delete().to(logout))
        .route("/auth/me", web::get().to(me))
        .route("/auth/api-tokens", web::post().to(create_api_token))
        .route("/auth/api-tokens", web::get().to(list_api_tokens))
        .route("/auth/api-tokens/{id}", web::delete().to(revoke_api_token))
        .route("/agents", web::get().to(list_agents))
        .route("/agents", web::post().to(create_agent))
        .route("/agents/{id}", web::patch().to(update_agent));
}

#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::Problem)))]
pub async fn login(
    app: web::Data<App>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(auth::login(&app, body.into_inner()).await?))
}

#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "the token no longer works")))]
pub async fn logout(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    auth::logout(&app, &v).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = AgentView)))]
pub async fn me(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(auth::me(&app, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/api-tokens", tag = "auth", security(("bearer" = [])), request_body = ApiTokenRequest,
    responses((status = 201, body = ApiTokenView)))]
pub async fn create_api_token(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<ApiTokenRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(super::created(
        &auth::create_api_token(&app, &v, body.into_inner()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/auth/api-tokens", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Vec<ApiTokenView>)))]
pub async fn list_api_tokens(
    app: web::Data<App>,
    Staff(v): Staff,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(auth::list_tokens(&app, &v).await?))
}

#[utoipa::path(delete, path = "/api/v1/auth/api-tokens/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_api_token(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    auth::revoke_token(&app, &v, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 403, body = crate::error::Problem)))]
pub async fn list_agents(app: web::Data<App>, Staff(v): Staff) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(auth::list_agents(&app, &v).await?))
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "staff", security(("bearer" = [])), request_body = NewAgentRequest,
    responses((status = 201, body = AgentView), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn create_agent(
    app: web::Data<App>,
    Staff(v): Staff,
    body: web::Json<NewAgentRequest>,
) -> Result<HttpResponse, AppError> {
    if !v.actor.can_configure() {
        return Err(AppError::forbidden("only admins manage staff accounts"));
    }
    Ok(super::created(
        &auth::create_agent(&app, body.into_inner()).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "staff", security(("bearer" = [])), request_body = AgentUpdate,
    params(("id" = i64, Path)), responses((status = 200, body = AgentView), (status = 403, body = crate::error::Problem)))]
pub async fn update_agent(
    app: web::Data<App>,
    Staff(v): Staff,
    id: web::Path<i64>,
    body: web::Json<AgentUpdate>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(auth::update_agent(&app, &v, id.into_inner(), body.into_inner()).await?))
}
