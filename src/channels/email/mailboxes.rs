//! Monitored mailboxes: configured by admins; the IMAP password is write-only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::contact::normalise_email;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::service::{optional_text, required_text, App, Viewer};
use crate::store::catalogue;
use crate::store::mail::{self as mailstore, MailboxFields, MailboxRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxView {
    pub id: i64,
    pub name: String,
    /// The address customers write to (and our Reply-To).
    pub address: String,
    /// `intake` (citizens, customers) or `delegation` (back-office replies).
    pub purpose: String,
    /// Delegation mailboxes: who may open back-office tasks by writing to it.
    pub authorised_senders: Vec<String>,
    pub queue_id: i64,
    pub imap_host: Option<String>,
    pub imap_port: Option<i32>,
    /// `tls`, `starttls` or `none`.
    pub imap_tls: String,
    pub imap_user: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub has_password: bool,
    pub folder: String,
    /// `flag` (mark \Seen and a Sportello keyword) or `move` (to `processed_folder`).
    pub processed_action: String,
    pub processed_folder: Option<String>,
    pub active: bool,
    pub last_uid: i64,
}

pub fn view(m: MailboxRow) -> MailboxView {
    MailboxView {
        id: m.id,
        name: m.name,
        address: m.address,
        purpose: m.purpose,
        authorised_senders: m
            .authorised_senders
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        queue_id: m.queue_id,
        imap_host: m.imap_host,
        imap_port: m.imap_port,
        imap_tls: m.imap_tls,
        imap_user: m.imap_user,
        has_password: m.imap_password.is_some(),
        folder: m.folder,
        processed_action: m.processed_action,
        processed_folder: m.processed_folder,
        active: m.active,
        last_uid: m.last_uid,
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxInput {
    pub name: Option<String>,
    pub address: Option<String>,
    pub purpose: Option<String>,
    pub queue_id: Option<i64>,
    pub imap_host: Option<String>,
    pub imap_port: Option<i32>,
    pub imap_tls: Option<String>,
    pub imap_user: Option<String>,
    /// Write-only.
    pub imap_password: Option<String>,
    pub folder: Option<String>,
    pub processed_action: Option<String>,
    pub processed_folder: Option<String>,
    pub active: Option<bool>,
    /// Delegation mailboxes: second-level senders who may open back-office tasks by mail.
    pub authorised_senders: Option<Vec<String>>,
}

fn fields_of(m: &MailboxRow) -> MailboxFields {
    MailboxFields {
        name: m.name.clone(),
        address: m.address.clone(),
        purpose: m.purpose.clone(),
        queue_id: m.queue_id,
        imap_host: m.imap_host.clone(),
        imap_port: m.imap_port,
        imap_tls: m.imap_tls.clone(),
        imap_user: m.imap_user.clone(),
        imap_password: m.imap_password.clone(),
        folder: m.folder.clone(),
        processed_action: m.processed_action.clone(),
        processed_folder: m.processed_folder.clone(),
        authorised_senders: m.authorised_senders.clone(),
        active: m.active,
    }
}

fn apply(f: &mut MailboxFields, i: &MailboxInput) -> AppResult<()> {
    if let Some(v) = &i.name {
        f.name = required_text("name", v, 100)?;
    }
    if let Some(v) = &i.address {
        f.address = normalise_email(v).map_err(|e| AppError::invalid("address", e.to_string()))?;
    }
    if let Some(v) = &i.purpose {
        if v != "intake" && v != "delegation" {
            return Err(AppError::invalid(
                "purpose",
                "purpose is 'intake' or 'delegation'",
            ));
        }
        f.purpose = v.clone();
    }
    if let Some(v) = i.queue_id {
        f.queue_id = v;
    }
    if let Some(v) = &i.imap_host {
        let v = optional_text("imap_host", Some(v), 255)?;
        f.imap_host = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = i.imap_port {
        if !(1..=65535).contains(&v) {
            return Err(AppError::invalid("imap_port", "a port is 1 to 65535"));
        }
        f.imap_port = Some(v);
    }
    if let Some(v) = &i.imap_tls {
        if !matches!(v.as_str(), "tls" | "starttls" | "none") {
            return Err(AppError::invalid(
                "imap_tls",
                "imap_tls is 'tls', 'starttls' or 'none'",
            ));
        }
        f.imap_tls = v.clone();
    }
    if let Some(v) = &i.imap_user {
        f.imap_user = Some(required_text("imap_user", v, 255)?);
    }
    if let Some(v) = &i.imap_password {
        f.imap_password = Some(v.clone());
    }
    if let Some(v) = &i.folder {
        f.folder = required_text("folder", v, 255)?;
    }
    if let Some(v) = &i.processed_action {
        if !matches!(v.as_str(), "flag" | "move") {
            return Err(AppError::invalid(
                "processed_action",
                "processed_action is 'flag' or 'move'",
            ));
        }
        f.processed_action = v.clone();
    }
    if let Some(v) = &i.processed_folder {
        let v = optional_text("processed_folder", Some(v), 255)?;
        f.processed_folder = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = i.active {
        f.active = v;
    }
    if let Some(list) = &i.authorised_senders {
        let checked: Result<Vec<String>, AppError> = list
            .iter()
            .map(|a| {
                normalise_email(a)
                    .map_err(|e| AppError::invalid("authorised_senders", e.to_string()))
            })
            .collect();
        f.authorised_senders = checked?.join(",");
    }
    if f.processed_action == "move" && f.processed_folder.is_none() {
        return Err(AppError::invalid(
            "processed_folder",
            "moving processed mail needs a processed_folder",
        ));
    }
    Ok(())
}

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins configure mailboxes"))
    }
}

fn taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("name-taken", "a mailbox with this name already exists")
    } else {
        e
    }
}

pub async fn list(app: &App, viewer: &Viewer) -> AppResult<Vec<MailboxView>> {
    must_configure(viewer)?;
    Ok(app
        .db
        .read(mailstore::mailboxes)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

pub async fn create(app: &App, viewer: &Viewer, input: MailboxInput) -> AppResult<MailboxView> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    app.db
        .write(move |c| {
            let queue_id = input
                .queue_id
                .ok_or_else(|| AppError::invalid("queue_id", "queue_id is required"))?;
            catalogue::queue(c, queue_id)?.ok_or_else(|| {
                AppError::invalid("queue_id", format!("queue {queue_id} does not exist"))
            })?;
            let mut f = MailboxFields {
                name: String::new(),
                address: String::new(),
                purpose: "intake".into(),
                queue_id,
                imap_host: None,
                imap_port: None,
                imap_tls: "tls".into(),
                imap_user: None,
                imap_password: None,
                folder: "INBOX".into(),
                processed_action: "flag".into(),
                processed_folder: None,
                authorised_senders: String::new(),
                active: true,
            };
            apply(&mut f, &input)?;
            if f.name.is_empty() || f.address.is_empty() {
                return Err(AppError::invalid(
                    if f.name.is_empty() { "name" } else { "address" },
                    "name and address are required",
                ));
            }
            let id = mailstore::insert_mailbox(c, &f, now)?;
            mailstore::mailbox(c, id)?
                .map(view)
                .ok_or_else(|| AppError::not_found("mailbox"))
        })
        .await
        .map_err(taken)
}

pub async fn update(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: MailboxInput,
) -> AppResult<MailboxView> {
    must_configure(viewer)?;
    app.db
        .write(move |c| {
            let row = mailstore::mailbox(c, id)?
                .ok_or_else(|| AppError::not_found(format!("mailbox {id}")))?;
            let mut f = fields_of(&row);
            apply(&mut f, &input)?;
            catalogue::queue(c, f.queue_id)?
                .ok_or_else(|| AppError::invalid("queue_id", "no such queue"))?;
            mailstore::update_mailbox(c, id, &f)?;
            mailstore::mailbox(c, id)?
                .map(view)
                .ok_or_else(|| AppError::not_found("mailbox"))
        })
        .await
        .map_err(taken)
}

/// A mailbox named by id or name (mailgate, import).
pub async fn find(app: &App, key: &str) -> AppResult<MailboxRow> {
    let k = key.to_string();
    app.db
        .read(move |c| match k.parse::<i64>() {
            Ok(id) => mailstore::mailbox(c, id),
            Err(_) => mailstore::mailbox_by_name(c, &k),
        })
        .await?
        .ok_or_else(|| AppError::invalid("mailbox", format!("no mailbox '{key}'")))
}
