//! `GET /healthz`: is the database reachable, which one, and are migrations applied.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::service::App;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `migrations_pending`.
    pub status: String,
    /// `sqlite` or `postgresql`.
    pub database: String,
    pub migrations_applied: usize,
    pub migrations_pending: Vec<String>,
    pub latest_migration: Option<String>,
    pub version: String,
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
pub async fn healthz(app: web::Data<App>) -> Result<HttpResponse, AppError> {
    let db = app.db.clone();
    let state = tokio::task::spawn_blocking(move || db.migration_state())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let mut applied = state.applied.clone();
    applied.sort();
    Ok(HttpResponse::Ok().json(Health {
        status: if state.pending.is_empty() {
            "ok"
        } else {
            "migrations_pending"
        }
        .into(),
        database: app.db.backend().name().into(),
        migrations_applied: applied.len(),
        latest_migration: applied.last().cloned(),
        migrations_pending: state.pending,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
