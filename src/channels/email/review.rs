//! The review queue: messages that could not or must not become tickets on
//! their own (malformed, robots, bounces, loops, rejected). Any agent can list
//! and read them, release one into a ticket, or discard it.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ingest::{self, Outcome, Release};
use super::parse;
use crate::error::{AppError, AppResult};
use crate::service::tickets::TicketKey;
use crate::service::views::local;
use crate::service::{App, Viewer};
use crate::store::mail::{self as mailstore, InboundRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct InboundView {
    pub id: i64,
    pub mailbox_id: Option<i64>,
    /// `imap`, `mailgate` or `import`.
    pub source: String,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// `received`, `ingested`, `quarantined`, `released` or `discarded`.
    pub status: String,
    /// Why it is in review: `malformed`, `auto_reply`, `bounce`, `loop`, `rejected`.
    pub cause: Option<String>,
    pub detail: Option<String>,
    pub ticket_id: Option<i64>,
    pub size: i64,
    pub sha256: String,
    pub received_at: DateTime<FixedOffset>,
    /// The message as received (lossless for UTF-8; other bytes shown as U+FFFD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

fn view(r: InboundRow, viewer: &Viewer, raw: Option<Vec<u8>>) -> InboundView {
    InboundView {
        id: r.id,
        mailbox_id: r.mailbox_id,
        source: r.source,
        message_id: r.message_id,
        from: r.from_address,
        subject: r.subject,
        status: r.status,
        cause: r.cause,
        detail: r.detail,
        ticket_id: r.ticket_id,
        size: r.size,
        sha256: r.sha256,
        received_at: local(r.received_at, viewer.tz),
        raw: raw.map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
}

pub async fn list(
    app: &App,
    viewer: &Viewer,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<InboundView>> {
    let rows = app
        .db
        .read(move |c| mailstore::inbound_in_state(c, "quarantined", before, limit))
        .await?;
    Ok(rows.into_iter().map(|r| view(r, viewer, None)).collect())
}

pub async fn get(app: &App, viewer: &Viewer, id: i64) -> AppResult<InboundView> {
    let (row, raw) = app
        .db
        .read(move |c| {
            let row = mailstore::inbound(c, id)?
                .ok_or_else(|| AppError::not_found(format!("inbound message {id}")))?;
            Ok((row, mailstore::inbound_raw(c, id)?))
        })
        .await?;
    Ok(view(row, viewer, raw))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Add the message to this ticket (id or number) instead of threading it as usual.
    pub ticket: Option<String>,
}

async fn quarantined(app: &App, id: i64) -> AppResult<InboundRow> {
    let row = app
        .db
        .read(move |c| mailstore::inbound(c, id))
        .await?
        .ok_or_else(|| AppError::not_found(format!("inbound message {id}")))?;
    if row.status != "quarantined" {
        return Err(AppError::conflict(
            "not-in-review",
            format!("message {id} is {}, not in review", row.status),
        ));
    }
    Ok(row)
}

/// Turns a reviewed message into a ticket (or an article of one).
pub async fn release(
    app: &App,
    _viewer: &Viewer,
    id: i64,
    req: ReleaseRequest,
) -> AppResult<Outcome> {
    let row = quarantined(app, id).await?;
    let into = match &req.ticket {
        Some(t) => {
            let key = TicketKey::parse(t.trim())
                .map_err(|_| AppError::invalid("ticket", format!("'{t}' is not a ticket")))?;
            Some(
                app.db
                    .read(move |c| key.resolve(c))
                    .await
                    .map_err(|_| AppError::invalid("ticket", "no such ticket"))?,
            )
        }
        None => None,
    };
    let (raw, mailbox) = app
        .db
        .read(move |c| {
            let raw = mailstore::inbound_raw(c, id)?.unwrap_or_default();
            let mb = match row.mailbox_id {
                Some(m) => mailstore::mailbox(c, m)?,
                None => None,
            };
            Ok((raw, mb))
        })
        .await?;
    let parsed = parse::parse(&raw).ok_or_else(|| {
        AppError::conflict(
            "unreadable",
            "this message cannot be read as e-mail; discard it or import a corrected copy",
        )
    })?;
    let release = match into {
        Some(t) => Release::Into(t),
        None => Release::Force,
    };
    let key = format!("release:{id}");
    ingest::process(app, id, mailbox, Some(parsed), key, release).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardRequest {
    pub reason: Option<String>,
}

pub async fn discard(app: &App, viewer: &Viewer, id: i64, req: DiscardRequest) -> AppResult<()> {
    let row = quarantined(app, id).await?;
    let now = app.clock.now_db();
    let detail = format!(
        "discarded by {}{}",
        viewer.name,
        req.reason
            .as_deref()
            .map(|r| format!(": {}", r.trim()))
            .unwrap_or_default()
    );
    app.db
        .write(move |c| {
            mailstore::mark_inbound(
                c,
                id,
                &mailstore::InboundMark {
                    status: "discarded",
                    cause: row.cause.as_deref(),
                    detail: Some(&detail),
                    ticket_id: row.ticket_id,
                    article_id: None,
                    from: row.from_address.as_deref(),
                    subject: row.subject.as_deref(),
                    at: now,
                },
            )
        })
        .await
}
