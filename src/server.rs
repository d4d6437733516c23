//! Start-up: open the database, migrate, optionally seed the demo, serve HTTP.

use std::sync::Arc;

use actix_web::{middleware, web, HttpServer};

use crate::channels::email::templates::Templates;
use crate::channels::web::limiter::PublicLimiter;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppResult;
use crate::service::App;
use crate::store::Db;

/// Opens the database and applies pending migrations (never while serving).
pub fn open_and_migrate(config: &Config) -> AppResult<Db> {
    let db = Db::open(&config.database_url, config.pool_size)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(db)
}

/// The application state; fails when a template override is broken.
pub fn app(db: Db, clock: Arc<dyn Clock>, config: Config) -> AppResult<App> {
    let templates = Templates::load(config.template_dir.as_deref())?;
    Ok(App {
        public_limiter: Arc::new(PublicLimiter::per_minute(config.public_rate_per_minute)),
        tokens: Arc::new(crate::service::auth::TokenCache::new(
            config.token_cache_secs,
        )),
        db,
        clock,
        config: Arc::new(config),
        templates: Arc::new(templates),
    })
}

pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let cfg = config.clone();
    let db = tokio::task::spawn_blocking(move || open_and_migrate(&cfg)).await??;
    let state = app(db, Arc::new(SystemClock), config.clone())?;
    if demo {
        let logins = crate::demo::seed(&state).await?;
        crate::demo::print_logins(logins, &config.bind);
    }
    let _jobs = crate::jobs::start(state.clone()).await?;
    let data = web::Data::new(state);
    let api_config = config.clone();
    tracing::info!(bind = %config.bind, database = %config.database_url.redacted(), "Sportello listening");
    println!(
        "Sportello listening on http://{} (database: {})",
        config.bind,
        config.database_url.redacted()
    );
    HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .wrap(middleware::Logger::new("%r %s %Dms"))
            .configure(|c| crate::api::configure(c, &api_config))
    })
    .workers(config.workers)
    .bind(&config.bind)
    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?
    .run()
    .await?;
    Ok(())
}
