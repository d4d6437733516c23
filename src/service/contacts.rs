//! The registry (anagrafica): search by anything a caller can tell, create,
//! complete during a call, and keep every change in the audit trail.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::Connection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::views::{local, AuditView, ContactAttribute, ContactView, Ref};
use super::{optional_text, App, Viewer};
use crate::domain::contact::{is_known_language, normalise_email, search_key, SearchFields};
use crate::domain::phone;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::store::rows::{ContactFields, ContactRow, NewAudit};
use crate::store::{agents, contacts, DbConn};

/// Contact fields as sent by staff; absent fields are left as they are.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub contract_number: Option<String>,
    /// ISO 639-1, e.g. `it`, `en`, `ru`, `cs`.
    pub language: Option<String>,
    pub notes: Option<String>,
    /// Replaces the contact's addresses.
    pub emails: Option<Vec<String>>,
    /// Replaces the contact's phones; any format, stored as E.164.
    pub phones: Option<Vec<String>>,
    /// The key the client's registry feeds know the contact by (unique; empty clears it).
    pub external_key: Option<String>,
    /// Replaces the custom attributes (card type, points balance…), in this order.
    pub attributes: Option<Vec<ContactAttribute>>,
}

/// A contact as stored plus its addresses, the unit of validation and diffing.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    name: String,
    organisation: String,
    city: String,
    address: String,
    contract_number: Option<String>,
    language: String,
    notes: String,
    emails: Vec<String>,
    phones: Vec<String>,
    external_key: Option<String>,
    attributes: Vec<(String, String)>,
}

impl Record {
    fn empty(language: &str) -> Record {
        Record {
            name: String::new(),
            organisation: String::new(),
            city: String::new(),
            address: String::new(),
            contract_number: None,
            language: language.to_string(),
            notes: String::new(),
            emails: vec![],
            phones: vec![],
            external_key: None,
            attributes: vec![],
        }
    }

    fn load(conn: &mut DbConn, row: &ContactRow) -> AppResult<Record> {
        Ok(Record::of(row, contacts::lists(conn, row.id)?))
    }

    fn of(row: &ContactRow, lists: contacts::Lists) -> Record {
        Record {
            name: row.name.clone(),
            organisation: row.organisation.clone(),
            city: row.city.clone(),
            address: row.address.clone(),
            contract_number: row.contract_number.clone(),
            language: row.language.clone(),
            notes: row.notes.clone(),
            emails: lists.emails,
            phones: lists.phones,
            external_key: row.external_key.clone(),
            attributes: lists.attributes,
        }
    }

    /// Applies and validates input; the record is unchanged on error.
    fn apply(&self, input: &ContactInput) -> AppResult<Record> {
        let mut r = self.clone();
        if let Some(v) = &input.name {
            r.name = optional_text("name", Some(v), 200)?;
        }
        if let Some(v) = &input.organisation {
            r.organisation = optional_text("organisation", Some(v), 200)?;
        }
        if let Some(v) = &input.city {
            r.city = optional_text("city", Some(v), 100)?;
        }
        if let Some(v) = &input.address {
            r.address = optional_text("address", Some(v), 500)?;
        }
        if let Some(v) = &input.contract_number {
            let v = optional_text("contract_number", Some(v), 100)?;
            r.contract_number = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = &input.language {
            let v = v.trim().to_lowercase();
            if !is_known_language(&v) {
                return Err(AppError::invalid(
                    "language",
                    format!("'{v}' is not a two-letter language code"),
                ));
            }
            r.language = v;
        }
        if let Some(v) = &input.notes {
            r.notes = optional_text("notes", Some(v), 10_000)?;
        }
        if let Some(list) = &input.emails {
            let mut out: Vec<String> = Vec::new();
            for e in list {
                let n = normalise_email(e)
                    .map_err(|err| AppError::invalid("emails", err.to_string()))?;
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            r.emails = out;
        }
        if let Some(list) = &input.phones {
            let mut out: Vec<String> = Vec::new();
            for p in list {
                let n = phone::normalise(p)
                    .map_err(|err| AppError::invalid("phones", err.to_string()))?;
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            r.phones = out;
        }
        if let Some(v) = &input.external_key {
            let v = optional_text("external_key", Some(v), 100)?;
            r.external_key = (!v.is_empty()).then_some(v);
        }
        if let Some(list) = &input.attributes {
            let mut out: Vec<(String, String)> = Vec::new();
            for a in list {
                let name = crate::service::required_text("attributes", &a.name, 100)?;
                let value = optional_text(&name, Some(&a.value), 2000)?;
                if out
                    .iter()
                    .any(|(n, _)| n.to_lowercase() == name.to_lowercase())
                {
                    return Err(AppError::invalid(
                        "attributes",
                        format!("the attribute '{name}' is named twice"),
                    ));
                }
                out.push((name, value));
            }
            r.attributes = out;
        }
        Ok(r)
    }

    fn fields(&self, now: NaiveDateTime) -> ContactFields {
        ContactFields {
            name: self.name.clone(),
            organisation: self.organisation.clone(),
            city: self.city.clone(),
            address: self.address.clone(),
            contract_number: self.contract_number.clone(),
            language: self.language.clone(),
            notes: self.notes.clone(),
            search_key: search_key(&SearchFields {
                name: &self.name,
                organisation: &self.organisation,
                city: &self.city,
                address: &self.address,
                contract_number: self.contract_number.as_deref(),
                external_key: self.external_key.as_deref(),
                emails: &self.emails,
                phones: &self.phones,
            }),
            updated_at: now,
            external_key: self.external_key.clone(),
        }
    }

    fn as_json(&self) -> BTreeMap<&'static str, serde_json::Value> {
        BTreeMap::from([
            ("name", json!(self.name)),
            ("organisation", json!(self.organisation)),
            ("city", json!(self.city)),
            ("address", json!(self.address)),
            ("contract_number", json!(self.contract_number)),
            ("language", json!(self.language)),
            ("notes", json!(self.notes)),
            ("emails", json!(self.emails)),
            ("phones", json!(self.phones)),
            ("external_key", json!(self.external_key)),
            (
                "attributes",
                json!(self
                    .attributes
                    .iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect::<Vec<_>>()),
            ),
        ])
    }

    /// `{field: {from, to}}` for every field that changed.
    fn diff(&self, after: &Record) -> serde_json::Value {
        let (a, b) = (self.as_json(), after.as_json());
        let changes: serde_json::Map<String, serde_json::Value> = a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| (k.to_string(), json!({"from": v, "to": b[k]})))
            .collect();
        serde_json::Value::Object(changes)
    }
}

fn email_taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::Conflict {
            code: "email-taken",
            detail: "one of these e-mail addresses, or the external key, already belongs to another contact".into(),
        }
    } else {
        e
    }
}

fn save_record(
    conn: &mut DbConn,
    id: Option<i64>,
    rec: &Record,
    now: NaiveDateTime,
) -> AppResult<i64> {
    let fields = rec.fields(now);
    let (id, fresh) = match id {
        Some(id) => {
            contacts::update(conn, id, &fields)?;
            (id, false)
        }
        None => (contacts::insert(conn, &fields)?, true),
    };
    contacts::set_emails(conn, id, &rec.emails, fresh)?;
    contacts::set_phones(conn, id, &rec.phones, fresh)?;
    contacts::set_attributes(conn, id, &rec.attributes, fresh)?;
    Ok(id)
}

fn audit(
    conn: &mut DbConn,
    id: i64,
    action: &str,
    actor: Option<i64>,
    changes: serde_json::Value,
    now: NaiveDateTime,
) -> AppResult<()> {
    contacts::insert_audit(
        conn,
        &NewAudit {
            entity: "contact".into(),
            entity_id: id,
            action: action.into(),
            actor_agent_id: actor,
            changes: changes.to_string(),
            created_at: now,
        },
    )
}

/// Creates a contact from validated input (inside the caller's transaction).
pub fn create_in(
    conn: &mut DbConn,
    input: &ContactInput,
    actor: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<i64> {
    create_as(conn, input, actor, "created", now)
}

/// [`create_in`], recording the creation in the audit trail as `action`.
pub fn create_as(
    conn: &mut DbConn,
    input: &ContactInput,
    actor: Option<i64>,
    action: &str,
    now: NaiveDateTime,
) -> AppResult<i64> {
    let rec = Record::empty("it").apply(input)?;
    let id = save_record(conn, None, &rec, now)?;
    audit(conn, id, action, actor, Record::empty("").diff(&rec), now)?;
    Ok(id)
}

/// The current attributes of a contact, as input (for merging a feed into them).
pub fn attributes_in(conn: &mut DbConn, id: i64) -> AppResult<Vec<ContactAttribute>> {
    Ok(contacts::attributes(conn, id)?
        .into_iter()
        .map(|(name, value)| ContactAttribute { name, value })
        .collect())
}

/// Applies a change to a contact and records it (inside the caller's transaction).
/// Returns false when nothing changed.
pub fn update_in(
    conn: &mut DbConn,
    id: i64,
    input: &ContactInput,
    actor: Option<i64>,
    action: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let row =
        contacts::find(conn, id)?.ok_or_else(|| AppError::not_found(format!("contact {id}")))?;
    let before = Record::load(conn, &row)?;
    let after = before.apply(input)?;
    if after == before {
        return Ok(false);
    }
    save_record(conn, Some(id), &after, now)?;
    audit(conn, id, action, actor, before.diff(&after), now)?;
    Ok(true)
}

pub fn view_in(conn: &mut DbConn, id: i64, tz: chrono_tz::Tz) -> AppResult<ContactView> {
    let row =
        contacts::find(conn, id)?.ok_or_else(|| AppError::not_found(format!("contact {id}")))?;
    let lists = contacts::lists(conn, row.id)?;
    Ok(view_of(row, lists, tz))
}

/// A contact's view from their row and lists as read.
pub fn view_of(row: ContactRow, lists: contacts::Lists, tz: chrono_tz::Tz) -> ContactView {
    let rec = Record::of(&row, lists);
    ContactView {
        id: row.id,
        name: row.name,
        organisation: row.organisation,
        city: row.city,
        address: row.address,
        contract_number: row.contract_number,
        language: row.language,
        notes: row.notes,
        emails: rec.emails,
        phones: rec.phones,
        external_key: rec.external_key,
        attributes: rec
            .attributes
            .into_iter()
            .map(|(name, value)| ContactAttribute { name, value })
            .collect(),
        created_at: local(row.created_at, tz),
        updated_at: local(row.updated_at, tz),
    }
}

pub async fn create(app: &App, viewer: &Viewer, input: ContactInput) -> AppResult<ContactView> {
    let now = app.clock.now_db();
    let (actor, tz) = (viewer.actor.agent_id, viewer.tz);
    app.db
        .write(move |c| {
            let id = create_in(c, &input, Some(actor), now)?;
            view_in(c, id, tz)
        })
        .await
        .map_err(email_taken)
}

pub async fn update(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: ContactInput,
) -> AppResult<ContactView> {
    let now = app.clock.now_db();
    let (actor, tz) = (viewer.actor.agent_id, viewer.tz);
    app.db
        .write(move |c| {
            update_in(c, id, &input, Some(actor), "updated", now)?;
            view_in(c, id, tz)
        })
        .await
        .map_err(email_taken)
}

pub async fn get(app: &App, viewer: &Viewer, id: i64) -> AppResult<ContactView> {
    let tz = viewer.tz;
    app.db.read(move |c| view_in(c, id, tz)).await
}

/// Finds contacts by name, organisation, city, e-mail, contract number,
/// external key, or a phone number written in any format.
pub async fn search(
    app: &App,
    viewer: &Viewer,
    q: &str,
    limit: i64,
) -> AppResult<Vec<ContactView>> {
    let q = q.trim();
    if q.is_empty() {
        return Err(AppError::invalid("q", "say what to look for"));
    }
    let terms: Vec<String> = if phone::looks_like_phone(q) {
        let digits = match phone::normalise(q) {
            Ok(e164) => e164,
            Err(_) => q
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
        };
        vec![digits]
    } else {
        q.to_lowercase()
            .split_whitespace()
            .take(8)
            .map(str::to_string)
            .collect()
    };
    let tz = viewer.tz;
    let key = q.to_string();
    app.db
        .read(move |c| {
            // An external key (often all digits, like a card number) is found
            // as written, ahead of anything that merely contains the text.
            let mut ids: Vec<i64> = contacts::by_external_key(c, &key)?.into_iter().collect();
            for r in contacts::search(c, &terms, limit)? {
                if !ids.contains(&r.id) {
                    ids.push(r.id);
                }
            }
            ids.truncate(limit as usize);
            ids.into_iter().map(|id| view_in(c, id, tz)).collect()
        })
        .await
}

pub async fn history(app: &App, viewer: &Viewer, id: i64) -> AppResult<Vec<AuditView>> {
    let tz = viewer.tz;
    app.db
        .read(move |c| {
            contacts::find(c, id)?.ok_or_else(|| AppError::not_found(format!("contact {id}")))?;
            let names = agents::names(c)?;
            Ok(contacts::audit(c, "contact", id)?
                .into_iter()
                .map(|a| AuditView {
                    id: a.id,
                    action: a.action,
                    actor: a.actor_agent_id.map(|id| Ref {
                        id,
                        name: names.get(&id).cloned().unwrap_or_default(),
                    }),
                    changes: serde_json::from_str(&a.changes).unwrap_or_default(),
                    created_at: local(a.created_at, tz),
                })
                .collect())
        })
        .await
}

/// Details a channel knows about the person behind a request.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
    pub city: Option<String>,
    pub contract_number: Option<String>,
    pub language: Option<String>,
}

/// Validated contact details: e-mail and phone normalised.
#[derive(Debug, Clone)]
pub struct CheckedDetails {
    input: ContactDetails,
    email: Option<String>,
    phone: Option<String>,
}

pub fn check_details(d: &ContactDetails) -> AppResult<CheckedDetails> {
    let email = d
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            normalise_email(e).map_err(|err| AppError::invalid("contact.email", err.to_string()))
        })
        .transpose()?;
    let phone = d
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            phone::normalise(p).map_err(|err| AppError::invalid("contact.phone", err.to_string()))
        })
        .transpose()?;
    // Validate the remaining fields the same way the registry does.
    Record::empty("it").apply(&as_input(d, None, None))?;
    Ok(CheckedDetails {
        input: d.clone(),
        email,
        phone,
    })
}

fn as_input(
    d: &ContactDetails,
    email: Option<Vec<String>>,
    phones: Option<Vec<String>>,
) -> ContactInput {
    ContactInput {
        name: d.name.clone(),
        organisation: d.organisation.clone(),
        city: d.city.clone(),
        address: None,
        contract_number: d.contract_number.clone(),
        language: d.language.clone(),
        notes: None,
        emails: email,
        phones,
        external_key: None,
        attributes: None,
    }
}

/// Finds the contact behind a request (by e-mail, then by a phone only one
/// contact has), completing missing data; or creates one. `None` when the
/// request carries no details at all.
pub fn match_or_create(
    conn: &mut DbConn,
    d: &CheckedDetails,
    actor: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<Option<i64>> {
    // Two requests from one new address at the same moment (a double click,
    // a mail and the web form) both find nobody and both add the address; on
    // PostgreSQL the later one meets the unique key once the first commits.
    // Its write runs under a savepoint, so it is undone alone and the second
    // look finds the contact the first one made. SQLite's writes take turns,
    // so there the first look already sees it. Most requests find their
    // contact complete and write nothing: they pay for no savepoint.
    let racing = matches!(conn, DbConn::Postgresql(_));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let change = match plan_contact(conn, d)? {
            ContactPlan::Done(id) => return Ok(id),
            ContactPlan::Write(change) => change,
        };
        let write = |c: &mut DbConn| match change.as_ref() {
            ContactWrite::Complete(id, fill) => {
                update_in(c, *id, fill, actor, "completed_by_intake", now).map(|_| Some(*id))
            }
            ContactWrite::Create(input) => create_in(c, input, actor, now).map(Some),
        };
        let written = if racing {
            conn.transaction(write)
        } else {
            write(conn)
        };
        match written {
            Err(e) if racing && attempt == 1 && is_unique_violation(&e) => continue,
            other => return other,
        }
    }
}

/// What intake must do about a request's contact.
enum ContactPlan {
    /// Nothing to write: the contact (or none) is known in full.
    Done(Option<i64>),
    Write(Box<ContactWrite>),
}

enum ContactWrite {
    /// The contact, and what the request adds that it lacked.
    Complete(i64, ContactInput),
    /// Nobody matches: a new contact.
    Create(ContactInput),
}

/// Matches a request's contact by e-mail, then by a phone number only one
/// contact has; reads nothing more when the contact is complete.
fn plan_contact(conn: &mut DbConn, d: &CheckedDetails) -> AppResult<ContactPlan> {
    let phone = d.phone.as_deref().unwrap_or("");
    // Found by its address, the contact has it; else nobody has it.
    let mut found = match &d.email {
        Some(e) => contacts::by_email_with_phone(conn, e, phone)?,
        None => None,
    };
    let email_known = found.is_some();
    if found.is_none() && !phone.is_empty() {
        if let [owner] = contacts::by_phone(conn, phone)?[..] {
            found = contacts::find_with_phone(conn, owner, phone)?;
        }
    }
    match found {
        Some((row, phone_known)) => {
            let id = row.id;
            // Complete the registry with what the request told us that it
            // lacked; the lists are read only when something is missing.
            let mut fill = ContactInput::default();
            if let Some(e) = d.email.as_ref().filter(|_| !email_known) {
                let mut emails = contacts::emails(conn, id)?;
                if !emails.contains(e) {
                    emails.push(e.clone());
                    fill.emails = Some(emails);
                }
            }
            if let Some(p) = d.phone.as_ref().filter(|_| !phone_known) {
                let mut phones = contacts::phones(conn, id)?;
                if !phones.contains(p) {
                    phones.push(p.clone());
                    fill.phones = Some(phones);
                }
            }
            if row.name.is_empty() {
                fill.name = d.input.name.clone();
            }
            if row.contract_number.is_none() {
                fill.contract_number = d.input.contract_number.clone();
            }
            // Most requests come from a contact the registry knows in full:
            // nothing to complete, nothing more to read.
            let complete = fill.emails.is_none()
                && fill.phones.is_none()
                && fill.name.is_none()
                && fill.contract_number.is_none();
            Ok(if complete {
                ContactPlan::Done(Some(id))
            } else {
                ContactPlan::Write(Box::new(ContactWrite::Complete(id, fill)))
            })
        }
        None => {
            let has_any = d.email.is_some()
                || d.phone.is_some()
                || d.input
                    .name
                    .as_deref()
                    .is_some_and(|n| !n.trim().is_empty());
            if !has_any {
                return Ok(ContactPlan::Done(None));
            }
            Ok(ContactPlan::Write(Box::new(ContactWrite::Create(
                as_input(
                    &d.input,
                    d.email.clone().map(|e| vec![e]),
                    d.phone.clone().map(|p| vec![p]),
                ),
            ))))
        }
    }
}
