//! Sends due outbox entries over SMTP (lettre), or into .eml files when no SMTP
//! server is configured (the demo). Failed attempts are retried with
//! exponential backoff; after the configured number the entry is marked failed
//! and the failure is recorded on the ticket.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::config::Config;
use crate::domain::EventKind;
use crate::error::{AppError, AppResult};
use crate::intake;
use crate::service::App;
use crate::store::outbox::{self, OutboxRow};
use crate::store::rows::NewEvent;
use crate::store::tickets;

/// Entries claimed per run (held for `outbox_lease_secs`).
const BATCH: i64 = 50;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn from_config(config: &Config) -> AppResult<Mailer> {
        match &config.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        AppError::invalid(
                            "smtp_url",
                            format!("SPORTELLO_SMTP_URL is not usable: {e}"),
                        )
                    })?
                    .timeout(Some(StdDuration::from_secs(20)))
                    .build();
                Ok(Mailer::Smtp(transport))
            }
            None => {
                std::fs::create_dir_all(&config.mail_dir).map_err(|e| {
                    AppError::Internal(format!(
                        "cannot create the mail folder {}: {e}",
                        config.mail_dir.display()
                    ))
                })?;
                Ok(Mailer::Files(AsyncFileTransport::<Tokio1Executor>::new(
                    &config.mail_dir,
                )))
            }
        }
    }

    async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Files(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

#[derive(Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Errors that no retry can fix (a malformed address): the entry fails at once.
struct Permanent(String);

fn build(row: &OutboxRow, files: Vec<(String, String, Vec<u8>)>) -> Result<Message, Permanent> {
    let addr = |a: &str| {
        a.parse()
            .map_err(|e| Permanent(format!("bad address '{a}': {e}")))
    };
    let mut b = Message::builder()
        .from(addr(&row.from_address)?)
        .to(addr(&row.to_address)?)
        .subject(row.subject.clone())
        .message_id(Some(format!("<{}>", row.message_id)));
    if let Some(r) = &row.reply_to {
        b = b.reply_to(addr(r)?);
    }
    if let Some(irt) = &row.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    if !row.refs.is_empty() {
        b = b.references(
            row.refs
                .split_whitespace()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if row.auto_submitted {
        b = b.header(AutoSubmitted("auto-replied".into()));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(row.body.clone());
    let message = if files.is_empty() {
        b.singlepart(text)
    } else {
        let mut mixed = MultiPart::mixed().singlepart(text);
        for (name, ctype, data) in files {
            let ct = ContentType::parse(&ctype)
                .unwrap_or(ContentType::parse("application/octet-stream").expect("valid"));
            mixed = mixed.singlepart(Attachment::new(name).body(data, ct));
        }
        b.multipart(mixed)
    };
    message.map_err(|e| Permanent(e.to_string()))
}

/// Delay before attempt `n + 1` after `n` failures: 30 s, 1 min, 2 min… capped at 1 h.
pub fn backoff(failures: i32) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << failures.clamp(0, 20));
    Duration::seconds(secs.min(3600))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends what is due now, batch after batch until the outbox has nothing
/// more due (or half a lease has gone by, so a run never outlives the mail it
/// holds); safe to run on several instances at once.
pub async fn send_due(app: &App, mailer: &Mailer) -> AppResult<SendReport> {
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs((app.config.outbox_lease_secs / 2).max(1) as u64);
    let mut report = SendReport::default();
    loop {
        let claimed = send_batch(app, mailer, &mut report).await?;
        if claimed < BATCH as usize || started.elapsed() >= budget {
            return Ok(report);
        }
    }
}

/// How long a sent message may wait to be recorded with the next ones: the
/// mail a crash could send twice is at most what went out in this time.
const RECORD_WITHIN: StdDuration = StdDuration::from_millis(200);

/// Claims and sends one batch; returns how many rows it claimed. Sent
/// messages are recorded together (one transaction for what went out within
/// [`RECORD_WITHIN`], a whole batch when the mail goes to files), failures one
/// by one as they happen.
async fn send_batch(app: &App, mailer: &Mailer, report: &mut SendReport) -> AppResult<usize> {
    let now = app.clock.now_db();
    let lease = now + Duration::seconds(app.config.outbox_lease_secs);
    let rows = app
        .db
        .write(move |c| outbox::claim_due(c, now, lease, BATCH))
        .await?;
    let claimed = rows.len();
    let mut sent = Unrecorded::default();
    for row in rows {
        let files = match row.article_id {
            Some(a) => {
                app.db
                    .read(move |c| tickets::attachment_files(c, a))
                    .await?
            }
            None => vec![],
        };
        let result = match build(&row, files) {
            Ok(message) => mailer.send(message).await.map_err(|e| (e, false)),
            Err(Permanent(e)) => Err((e, true)),
        };
        let now = app.clock.now_db();
        match result {
            Ok(()) => {
                report.sent += 1;
                sent.push(&row, now);
                if sent.due() {
                    sent.record(app).await?;
                }
            }
            Err((error, permanent)) => {
                // What went out before it is recorded first, in order.
                sent.record(app).await?;
                let attempts = row.attempts + 1;
                let max = app.config.outbox_max_attempts;
                let retry_at = (!permanent && attempts < max).then(|| now + backoff(row.attempts));
                if retry_at.is_some() {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
                tracing::warn!(outbox_id = row.id, attempts, %error, "sending mail failed");
                app.db
                    .write(move |c| {
                        outbox::mark_attempt_failed(c, row.id, &error, retry_at)?;
                        if let (None, Some(t)) = (retry_at, row.ticket_id) {
                            intake::event(
                                c,
                                t,
                                EventKind::EmailFailed,
                                None,
                                json!({"outbox_id": row.id, "to": row.to_address, "kind": row.kind, "attempts": attempts, "error": error}),
                                now,
                            )?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
    }
    sent.record(app).await?;
    Ok(claimed)
}

/// Messages sent and not yet marked in the outbox, with their tickets' events.
#[derive(Default)]
struct Unrecorded {
    ids: Vec<i64>,
    events: Vec<NewEvent>,
    since: Option<std::time::Instant>,
}

impl Unrecorded {
    fn push(&mut self, row: &OutboxRow, now: chrono::NaiveDateTime) {
        self.ids.push(row.id);
        if let Some(t) = row.ticket_id {
            self.events.push(NewEvent {
                ticket_id: t,
                kind: EventKind::EmailSent.as_str().into(),
                actor_agent_id: None,
                data: json!({"outbox_id": row.id, "to": row.to_address, "kind": row.kind})
                    .to_string(),
                created_at: now,
            });
        }
        self.since.get_or_insert_with(std::time::Instant::now);
    }

    fn due(&self) -> bool {
        self.since.is_some_and(|t| t.elapsed() >= RECORD_WITHIN)
    }

    async fn record(&mut self, app: &App) -> AppResult<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let (ids, events) = (
            std::mem::take(&mut self.ids),
            std::mem::take(&mut self.events),
        );
        self.since = None;
        let now = app.clock.now_db();
        app.db
            .write(move |c| {
                outbox::mark_sent(c, &ids, now)?;
                tickets::insert_events(c, &events)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(12), Duration::hours(1));
        assert_eq!(backoff(100), Duration::hours(1));
    }
}
