//! The IMAP poller. For each monitored mailbox it walks the folder by UID from
//! where it stopped (never trusting \Seen, never stopping at a batch size),
//! ingests each message, and only after the ticket change is committed marks
//! the message handled on the server (flag or move) and moves its position on.
//! A crash between commit and flag refetches the message next time, and the
//! journal recognises it: no second ticket. A new UIDVALIDITY restarts the
//! walk, and the journal again prevents duplicates. One instance polls a
//! mailbox at a time (a lease in the database).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_imap::Session;
use chrono::Duration;
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use utoipa::ToSchema;

use super::ingest::{self, Outcome, Source};
use crate::error::{AppError, AppResult};
use crate::service::views::local;
use crate::service::{App, Viewer};
use crate::store::mail::{self as mailstore, MailboxRow, PollRow};

const TIMEOUT: StdDuration = StdDuration::from_secs(30);
const CHUNK: usize = 50;
const LEASE_MINUTES: i64 = 10;

pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapStream for T {}

type ImapSession = Session<Box<dyn ImapStream>>;

/// What one poll saw and did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PollReport {
    /// Messages in the folder when the poll started.
    pub server_count: u32,
    /// New messages fetched (past the last UID handled).
    pub fetched: u32,
    /// Tickets opened or extended.
    pub ingested: u32,
    /// Already ingested before (a crash before flagging, or the same mail again).
    pub duplicates: u32,
    /// Put in the review queue.
    pub quarantined: u32,
}

/// Test hooks: stop after committing a message, before flagging it (a crash).
#[derive(Debug, Default, Clone, Copy)]
pub struct Faults {
    pub crash_after_commit: bool,
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    f: impl Future<Output = Result<T, E>>,
) -> AppResult<T> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(AppError::Unavailable(format!("IMAP {what}: {e}"))),
        Err(_) => Err(AppError::Unavailable(format!(
            "IMAP {what}: no answer within {} s",
            TIMEOUT.as_secs()
        ))),
    }
}

fn tls_connector() -> TlsConnector {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn tls(stream: TcpStream, host: &str) -> AppResult<Box<dyn ImapStream>> {
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| AppError::invalid("imap_host", format!("'{host}': {e}")))?;
    let s = timed("TLS handshake", tls_connector().connect(name, stream)).await?;
    Ok(Box::new(s))
}

async fn connect(mb: &MailboxRow) -> AppResult<ImapSession> {
    let host = mb
        .imap_host
        .clone()
        .ok_or_else(|| AppError::invalid("imap_host", "the mailbox has no IMAP host"))?;
    let port = mb
        .imap_port
        .unwrap_or(if mb.imap_tls == "tls" { 993 } else { 143 }) as u16;
    let tcp = timed("connect", TcpStream::connect((host.as_str(), port))).await?;
    let client = match mb.imap_tls.as_str() {
        "tls" => {
            let mut c = async_imap::Client::new(tls(tcp, &host).await?);
            timed("greeting", c.read_response()).await?;
            c
        }
        "starttls" => {
            let mut c = async_imap::Client::new(tcp);
            timed("greeting", c.read_response()).await?;
            timed("STARTTLS", c.run_command_and_check_ok("STARTTLS", None)).await?;
            async_imap::Client::new(tls(c.into_inner(), &host).await?)
        }
        _ => {
            let mut c = async_imap::Client::new(Box::new(tcp) as Box<dyn ImapStream>);
            timed("greeting", c.read_response()).await?;
            c
        }
    };
    let user = mb.imap_user.clone().unwrap_or_default();
    let password = mb.imap_password.clone().unwrap_or_default();
    match tokio::time::timeout(TIMEOUT, client.login(user, password)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err((e, _))) => Err(AppError::Unavailable(format!("IMAP login: {e}"))),
        Err(_) => Err(AppError::Unavailable("IMAP login: no answer".into())),
    }
}

/// Polls one mailbox (by id); `None` when another instance is polling it.
pub async fn poll(app: &App, mailbox_id: i64) -> AppResult<Option<PollReport>> {
    poll_with(app, mailbox_id, Faults::default()).await
}

pub async fn poll_with(
    app: &App,
    mailbox_id: i64,
    faults: Faults,
) -> AppResult<Option<PollReport>> {
    let now = app.clock.now_db();
    let leased = app
        .db
        .write(move |c| {
            mailstore::lease_mailbox(c, mailbox_id, now, now + Duration::minutes(LEASE_MINUTES))
        })
        .await?;
    if !leased {
        return Ok(None);
    }
    let mailbox = app
        .db
        .read(move |c| mailstore::mailbox(c, mailbox_id))
        .await?
        .ok_or_else(|| AppError::not_found(format!("mailbox {mailbox_id}")))?;
    let mut report = PollReport::default();
    let result = walk(app, &mailbox, &mut report, faults).await;
    let finished = app.clock.now_db();
    let error = result.as_ref().err().map(|e| e.to_string());
    let gap = report.fetched != report.ingested + report.duplicates + report.quarantined;
    if let Some(e) = &error {
        tracing::warn!(mailbox = %mailbox.name, error = %e, "mailbox poll failed");
    } else if gap && !faults.crash_after_commit {
        tracing::error!(mailbox = %mailbox.name, ?report, "mailbox poll gap: fetched messages were not all accounted for");
    }
    let row = PollRow {
        id: 0,
        mailbox_id,
        started_at: now,
        finished_at: Some(finished),
        server_count: Some(report.server_count as i64),
        fetched: report.fetched as i64,
        ingested: report.ingested as i64,
        duplicates: report.duplicates as i64,
        quarantined: report.quarantined as i64,
        error,
    };
    app.db
        .write(move |c| {
            mailstore::insert_poll(c, &row)?;
            mailstore::release_mailbox(c, mailbox_id)
        })
        .await?;
    result.map(|_| Some(report))
}

async fn walk(
    app: &App,
    mb: &MailboxRow,
    report: &mut PollReport,
    faults: Faults,
) -> AppResult<()> {
    let mut session = connect(mb).await?;
    let selected = timed("SELECT", session.select(&mb.folder)).await?;
    report.server_count = selected.exists;
    let uidvalidity = selected.uid_validity.unwrap_or(0);
    let mut last_uid = if mb.uidvalidity == Some(uidvalidity as i64) {
        mb.last_uid as u32
    } else {
        0
    };
    if mb.uidvalidity.is_some() && mb.uidvalidity != Some(uidvalidity as i64) {
        tracing::warn!(mailbox = %mb.name, "UIDVALIDITY changed: walking the folder again (the journal prevents duplicates)");
    }
    let found = timed(
        "UID SEARCH",
        session.uid_search(format!("UID {}:*", last_uid + 1)),
    )
    .await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last_uid).collect();
    uids.sort_unstable();
    for chunk in uids.chunks(CHUNK) {
        let set = chunk
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let fetches: Vec<_> = timed("UID FETCH", async {
            let stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let mut messages: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .collect();
        messages.sort_by_key(|(u, _)| *u);
        for (uid, raw) in messages {
            report.fetched += 1;
            let outcome = ingest::ingest(
                app,
                Some(mb.clone()),
                Source::Imap { uid, uidvalidity },
                raw,
            )
            .await?;
            match outcome {
                Outcome::Ticket { .. } => report.ingested += 1,
                Outcome::Duplicate { .. } => report.duplicates += 1,
                Outcome::Quarantined { .. } => report.quarantined += 1,
            }
            if faults.crash_after_commit {
                return Ok(());
            }
            mark_handled(&mut session, mb, uid).await?;
            last_uid = uid;
            let (id, v) = (mb.id, uidvalidity as i64);
            app.db
                .write(move |c| mailstore::set_position(c, id, v, uid as i64))
                .await?;
        }
    }
    if uids.is_empty() && mb.uidvalidity != Some(uidvalidity as i64) {
        let (id, v) = (mb.id, uidvalidity as i64);
        app.db
            .write(move |c| mailstore::set_position(c, id, v, last_uid as i64))
            .await?;
    }
    let _ = timed("LOGOUT", session.logout()).await;
    Ok(())
}

async fn mark_handled(session: &mut ImapSession, mb: &MailboxRow, uid: u32) -> AppResult<()> {
    match (mb.processed_action.as_str(), &mb.processed_folder) {
        ("move", Some(folder)) => timed("UID MOVE", session.uid_mv(uid.to_string(), folder)).await,
        _ => {
            timed("UID STORE", async {
                let stream = session
                    .uid_store(uid.to_string(), "+FLAGS (\\Seen $Sportello)")
                    .await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await?;
            Ok(())
        }
    }
}

/// Polls every active mailbox that has an IMAP server.
pub async fn poll_all(app: &App) -> AppResult<()> {
    let mailboxes = app.db.read(mailstore::mailboxes).await?;
    for mb in mailboxes
        .into_iter()
        .filter(|m| m.active && m.imap_host.is_some())
    {
        if let Err(e) = poll(app, mb.id).await {
            tracing::warn!(mailbox = %mb.name, error = %e, "poll failed; retried at the next run");
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PollView {
    pub started_at: chrono::DateTime<chrono::FixedOffset>,
    pub server_count: Option<i64>,
    pub fetched: i64,
    pub ingested: i64,
    pub duplicates: i64,
    pub quarantined: i64,
    /// True when fetched messages are not all accounted for.
    pub gap: bool,
    pub error: Option<String>,
}

/// The latest polls of a mailbox, newest first.
pub async fn polls(app: &App, viewer: &Viewer, mailbox_id: i64) -> AppResult<Vec<PollView>> {
    let tz = viewer.tz;
    let rows = app
        .db
        .read(move |c| mailstore::polls_of(c, mailbox_id, 50))
        .await?;
    Ok(rows
        .into_iter()
        .map(|p| PollView {
            started_at: local(p.started_at, tz),
            server_count: p.server_count,
            gap: p.error.is_none() && p.fetched != p.ingested + p.duplicates + p.quarantined,
            fetched: p.fetched,
            ingested: p.ingested,
            duplicates: p.duplicates,
            quarantined: p.quarantined,
            error: p.error,
        })
        .collect())
}
