//! Staff accounts and sign-in: argon2 password hashes, opaque bearer tokens
//! stored as SHA-256 hashes (a token has 256 random bits, so a fast hash is enough).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use chrono_tz::Tz;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::lookup::agent_role;
use super::views::{local, AgentView};
use super::{required_text, App, Viewer};
use crate::domain::access::{role_fits_level, Actor};
use crate::domain::contact::normalise_email;
use crate::domain::Role;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::store::rows::{AgentRow, NewAgent, NewApiToken};
use crate::store::{agents, catalogue, DbConn};

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checked against when the e-mail is unknown, so both failures take as long.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("spt_{}", hex::encode(bytes))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a bearer token for an agent and returns it; only its hash is stored.
pub fn mint_token(
    conn: &mut DbConn,
    agent_id: i64,
    kind: &str,
    name: &str,
    now: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
) -> AppResult<(i64, String)> {
    let token = new_token();
    let id = agents::insert_token(
        conn,
        &NewApiToken {
            agent_id,
            token_hash: token_hash(&token),
            kind: kind.into(),
            name: name.into(),
            created_at: now,
            expires_at,
        },
    )?;
    Ok((id, token))
}

pub fn check_password_rules(password: &str) -> AppResult<()> {
    if password.chars().count() < 8 {
        return Err(AppError::invalid(
            "password",
            "password must be at least 8 characters",
        ));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid("password", "password is too long"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: String,
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub agent: AgentView,
}

fn agent_view(row: &AgentRow, queue_ids: Vec<i64>) -> AppResult<AgentView> {
    Ok(AgentView {
        id: row.id,
        email: row.email.clone(),
        name: row.name.clone(),
        role: agent_role(row)?,
        active: row.active,
        time_zone: row.time_zone.clone(),
        queue_ids,
    })
}

/// E-mail and password → a session token.
pub async fn login(app: &App, req: LoginRequest) -> AppResult<TokenResponse> {
    let email = req.email.trim().to_lowercase();
    let now = app.clock.now_db();
    let ttl = app.config.session_ttl_hours;
    let tz = app.config.time_zone;
    let agent = app
        .db
        .read(move |c| agents::find_by_email(c, &email))
        .await?;
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || match &agent {
        Some(a) if a.active => verify_password(&password, &a.password_hash).then(|| a.clone()),
        _ => {
            verify_password(&password, dummy_hash());
            None
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let agent = ok.ok_or_else(|| AppError::Unauthorized("wrong e-mail or password".into()))?;
    let expires = now + Duration::hours(ttl);
    let agent_id = agent.id;
    let (token, queues) = app
        .db
        .write(move |c| {
            let (_, token) = mint_token(c, agent_id, "session", "sign-in", now, Some(expires))?;
            Ok((token, agents::queues_of(c, agent_id)?))
        })
        .await?;
    let tz = agent
        .time_zone
        .as_deref()
        .and_then(|t| t.parse::<Tz>().ok())
        .unwrap_or(tz);
    Ok(TokenResponse {
        token,
        token_type: "Bearer".into(),
        expires_at: Some(local(expires, tz)),
        agent: agent_view(&agent, queues)?,
    })
}

/// Bearer tokens found valid in the last few seconds
/// ([`Config::token_cache_secs`](crate::config::Config::token_cache_secs)),
/// so that a client sending request after request (a mail gateway, an
/// integration, a busy agent's screen) is not looked up in the database for
/// each. A token still expires on time (its expiry is kept with it); any
/// change this instance makes to a token or an agent forgets every entry
/// at once; another instance's change is seen once the entry is older than
/// the cache's lifetime.
pub struct TokenCache {
    ttl: std::time::Duration,
    state: std::sync::Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// Bumped by [`TokenCache::forget_all`]: a lookup that began before
    /// does not store what it read.
    generation: u64,
    entries: std::collections::HashMap<String, Cached>,
}

struct Cached {
    viewer: Viewer,
    expires_at: Option<NaiveDateTime>,
    checked: std::time::Instant,
}

impl TokenCache {
    /// Entries kept at most; past it the cache starts again empty.
    const CAPACITY: usize = 4096;

    pub fn new(ttl_secs: u64) -> TokenCache {
        TokenCache {
            ttl: std::time::Duration::from_secs(ttl_secs),
            state: Default::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, hash: &str, now: NaiveDateTime) -> Option<Viewer> {
        let state = self.state();
        let c = state.entries.get(hash)?;
        let fresh = c.checked.elapsed() < self.ttl && c.expires_at.is_none_or(|e| e > now);
        fresh.then(|| c.viewer.clone())
    }

    fn generation(&self) -> u64 {
        self.state().generation
    }

    fn remember(&self, hash: String, c: Cached, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= Self::CAPACITY {
            state.entries.clear();
        }
        state.entries.insert(hash, c);
    }

    /// Forgets every token: called after any change to a token or an agent.
    pub fn forget_all(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.clear();
    }
}

/// A bearer token → the staff member, or 401.
pub async fn authenticate(app: &App, token: &str) -> AppResult<Viewer> {
    let hash = token_hash(token.trim());
    let now = app.clock.now_db();
    if let Some(viewer) = app.tokens.get(&hash, now) {
        return Ok(viewer);
    }
    // The lifetime counts from before the read: what it found may be older
    // than its answer.
    let (generation, asked) = (app.tokens.generation(), std::time::Instant::now());
    let default_tz = app.config.time_zone;
    let key = hash.clone();
    let (viewer, expires_at) = app
        .db
        .read(move |c| {
            let (tok, agent, queues) = agents::find_token(c, &key, now)?.ok_or_else(|| {
                AppError::Unauthorized("the token is unknown, expired or revoked".into())
            })?;
            let viewer = Viewer {
                actor: Actor {
                    agent_id: agent.id,
                    role: agent_role(&agent)?,
                    queues,
                },
                name: agent.name.clone(),
                email: agent.email.clone(),
                tz: agent
                    .time_zone
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(default_tz),
                token_id: tok.id,
            };
            Ok((viewer, tok.expires_at))
        })
        .await?;
    let cached = Cached {
        viewer: viewer.clone(),
        expires_at,
        checked: asked,
    };
    app.tokens.remember(hash, cached, generation);
    Ok(viewer)
}

pub async fn logout(app: &App, viewer: &Viewer) -> AppResult<()> {
    let (agent, token) = (viewer.actor.agent_id, viewer.token_id);
    let now = app.clock.now_db();
    app.db
        .write(move |c| agents::revoke_token(c, agent, token, now).map(|_| ()))
        .await?;
    app.tokens.forget_all();
    Ok(())
}

pub async fn me(app: &App, viewer: &Viewer) -> AppResult<AgentView> {
    let id = viewer.actor.agent_id;
    app.db
        .read(move |c| {
            let row = agents::find(c, id)?.ok_or_else(|| AppError::not_found("agent"))?;
            agent_view(&row, agents::queues_of(c, id)?)
        })
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenRequest {
    /// What the token is for, e.g. "CTI integration".
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub created_at: DateTime<FixedOffset>,
    pub expires_at: Option<DateTime<FixedOffset>>,
    /// Shown once, when the token is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A long-lived token for an integration, acting as the signed-in agent.
pub async fn create_api_token(
    app: &App,
    viewer: &Viewer,
    req: ApiTokenRequest,
) -> AppResult<ApiTokenView> {
    let name = required_text("name", &req.name, 100)?;
    let now = app.clock.now_db();
    let agent_id = viewer.actor.agent_id;
    let n = name.clone();
    let (id, token) = app
        .db
        .write(move |c| mint_token(c, agent_id, "integration", &n, now, None))
        .await?;
    Ok(ApiTokenView {
        id,
        name,
        kind: "integration".into(),
        created_at: local(now, viewer.tz),
        expires_at: None,
        token: Some(token),
    })
}

pub async fn list_tokens(app: &App, viewer: &Viewer) -> AppResult<Vec<ApiTokenView>> {
    let (id, tz) = (viewer.actor.agent_id, viewer.tz);
    let rows = app.db.read(move |c| agents::tokens_of(c, id)).await?;
    Ok(rows
        .into_iter()
        .map(|t| ApiTokenView {
            id: t.id,
            name: t.name,
            kind: t.kind,
            created_at: local(t.created_at, tz),
            expires_at: t.expires_at.map(|e| local(e, tz)),
            token: None,
        })
        .collect())
}

pub async fn revoke_token(app: &App, viewer: &Viewer, token_id: i64) -> AppResult<()> {
    let id = viewer.actor.agent_id;
    let now = app.clock.now_db();
    let found = app
        .db
        .write(move |c| agents::revoke_token(c, id, token_id, now))
        .await?;
    app.tokens.forget_all();
    if found {
        Ok(())
    } else {
        Err(AppError::not_found(format!("token {token_id}")))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    #[serde(default)]
    pub queue_ids: Vec<i64>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub queue_ids: Option<Vec<i64>>,
    pub time_zone: Option<String>,
}

fn check_time_zone(tz: Option<&str>) -> AppResult<()> {
    match tz {
        Some(t) if t.parse::<Tz>().is_err() => Err(AppError::invalid(
            "time_zone",
            format!("unknown time zone '{t}'"),
        )),
        _ => Ok(()),
    }
}

fn check_queues(conn: &mut DbConn, role: Role, queue_ids: &[i64]) -> AppResult<()> {
    for q in queue_ids {
        let queue = catalogue::queue(conn, *q)?
            .ok_or_else(|| AppError::invalid("queue_ids", format!("queue {q} does not exist")))?;
        let level = super::lookup::queue_level(&queue)?;
        if !role_fits_level(role, level) {
            return Err(AppError::invalid(
                "queue_ids",
                format!("a {role} cannot be a member of '{}' ({level})", queue.name),
            ));
        }
    }
    Ok(())
}

/// Creates a staff account (the CLI's `agent add` and the admin API).
pub async fn create_agent(app: &App, req: NewAgentRequest) -> AppResult<AgentView> {
    let email =
        normalise_email(&req.email).map_err(|e| AppError::invalid("email", e.to_string()))?;
    let name = required_text("name", &req.name, 200)?;
    check_password_rules(&req.password)?;
    check_time_zone(req.time_zone.as_deref())?;
    let pw = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let now = app.clock.now_db();
    let role = req.role;
    let queue_ids = req.queue_ids.clone();
    let tz = req.time_zone.clone();
    let result = app
        .db
        .write(move |c| {
            check_queues(c, role, &queue_ids)?;
            let id = agents::insert(
                c,
                &NewAgent {
                    email,
                    name,
                    role: role.as_str().into(),
                    password_hash: hash,
                    active: true,
                    time_zone: tz,
                    created_at: now,
                },
            )?;
            agents::set_queues(c, id, &queue_ids)?;
            let row = agents::find(c, id)?.ok_or_else(|| AppError::not_found("agent"))?;
            agent_view(&row, queue_ids)
        })
        .await;
    match result {
        Err(e) if is_unique_violation(&e) => Err(AppError::conflict(
            "agent-exists",
            "an agent with this e-mail already exists",
        )),
        other => other,
    }
}

pub async fn list_agents(app: &App, viewer: &Viewer) -> AppResult<Vec<AgentView>> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "only supervisors and admins see the staff list",
        ));
    }
    app.db
        .read(|c| {
            let members = agents::all_memberships(c)?;
            agents::list(c)?
                .iter()
                .map(|a| {
                    agent_view(
                        a,
                        members
                            .iter()
                            .filter(|(ag, _)| *ag == a.id)
                            .map(|(_, q)| *q)
                            .collect(),
                    )
                })
                .collect()
        })
        .await
}

pub async fn update_agent(
    app: &App,
    viewer: &Viewer,
    id: i64,
    req: AgentUpdate,
) -> AppResult<AgentView> {
    if !viewer.actor.can_configure() {
        return Err(AppError::forbidden("only admins manage staff accounts"));
    }
    check_time_zone(req.time_zone.as_deref())?;
    let hash = match &req.password {
        Some(pw) => {
            check_password_rules(pw)?;
            let pw = pw.clone();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&pw))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))??,
            )
        }
        None => None,
    };
    let name = req
        .name
        .as_deref()
        .map(|n| required_text("name", n, 200))
        .transpose()?;
    let updated = app
        .db
        .write(move |c| {
            let row =
                agents::find(c, id)?.ok_or_else(|| AppError::not_found(format!("agent {id}")))?;
            let role = req.role.unwrap_or(agent_role(&row)?);
            let queue_ids = match &req.queue_ids {
                Some(q) => q.clone(),
                None => agents::queues_of(c, id)?,
            };
            check_queues(c, role, &queue_ids)?;
            let tz = req.time_zone.clone().or(row.time_zone.clone());
            agents::update(
                c,
                id,
                name.as_deref().unwrap_or(&row.name),
                role.as_str(),
                req.active.unwrap_or(row.active),
                tz.as_deref(),
            )?;
            agents::set_queues(c, id, &queue_ids)?;
            if let Some(h) = &hash {
                agents::set_password(c, id, h)?;
            }
            let row = agents::find(c, id)?.ok_or_else(|| AppError::not_found("agent"))?;
            agent_view(&row, queue_ids)
        })
        .await;
    // Deactivated, another role or other queues: its tokens are read anew.
    app.tokens.forget_all();
    updated
}
