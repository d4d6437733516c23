//! The registry (anagrafica): contacts, their addresses and phones, and the audit trail.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};

use super::rows::{AuditRow, ContactFields, ContactRow, NewAudit};
use super::schema::{audit_log, contact_attributes, contact_emails, contact_phones, contacts};
use super::DbConn;
use crate::domain::search;
use crate::error::AppResult;

pub fn insert(conn: &mut DbConn, fields: &ContactFields) -> AppResult<i64> {
    let values = crate::bound_values!(
        contacts,
        fields,
        [
            name,
            organisation,
            city,
            address,
            contract_number,
            language,
            notes,
            search_key,
            updated_at,
            external_key,
        ]
    );
    Ok(diesel::insert_into(contacts::table)
        .values((values, contacts::created_at.eq(fields.updated_at)))
        .returning(contacts::id)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConn, id: i64, fields: &ContactFields) -> AppResult<()> {
    diesel::update(contacts::table.find(id))
        .set(fields)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<ContactRow>> {
    Ok(contacts::table
        .find(id)
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<ContactRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(ContactRow::as_select())
        .load(conn)?)
}

pub fn emails(conn: &mut DbConn, contact_id: i64) -> AppResult<Vec<String>> {
    Ok(contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .order(contact_emails::id)
        .select(contact_emails::email)
        .load(conn)?)
}

pub fn phones(conn: &mut DbConn, contact_id: i64) -> AppResult<Vec<String>> {
    Ok(contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .order(contact_phones::id)
        .select(contact_phones::phone)
        .load(conn)?)
}

/// A contact's addresses, numbers and attributes, each list in its order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lists {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    /// (name, value)
    pub attributes: Vec<(String, String)>,
}

/// [`emails`], [`phones`] and [`attributes`] of a contact in one query.
/// Its constant columns are bound values, not SQL literals, which would keep
/// diesel from preparing it once per connection.
pub fn lists(conn: &mut DbConn, contact_id: i64) -> AppResult<Lists> {
    let emails = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .select((
            EMAIL.into_sql::<Integer>(),
            contact_emails::email,
            "".into_sql::<Text>(),
            0.into_sql::<Integer>(),
            contact_emails::id,
        ));
    let phones = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .select((
            PHONE.into_sql::<Integer>(),
            contact_phones::phone,
            "".into_sql::<Text>(),
            0.into_sql::<Integer>(),
            contact_phones::id,
        ));
    let attributes = contact_attributes::table
        .filter(contact_attributes::contact_id.eq(contact_id))
        .select((
            ATTRIBUTE.into_sql::<Integer>(),
            contact_attributes::name,
            contact_attributes::value,
            contact_attributes::position,
            contact_attributes::id,
        ));
    // A union is written per backend (diesel's multi-backend connection has none).
    let union = emails.union_all(phones).union_all(attributes);
    let rows: Vec<ListEntry> = match conn {
        DbConn::Postgresql(c) => union.load(c)?,
        DbConn::Sqlite(c) => union.load(c)?,
    };
    Ok(Lists::from_entries(rows))
}

/// One entry of a contact's lists as read: (which list, the value or the
/// attribute's name, the attribute's value, its position, its id).
pub type ListEntry = (i32, String, String, i32, i64);
/// The lists of a [`ListEntry`] (the ticket detail's statement writes them too).
pub const EMAIL: i32 = 0;
pub const PHONE: i32 = 1;
pub const ATTRIBUTE: i32 = 2;

impl Lists {
    /// The lists from their entries in any order (see [`ListEntry`]).
    pub fn from_entries(mut rows: Vec<ListEntry>) -> Lists {
        rows.sort_unstable_by_key(|&(list, _, _, position, id)| (list, position, id));
        let mut out = Lists::default();
        for (list, a, b, _, _) in rows {
            match list {
                EMAIL => out.emails.push(a),
                PHONE => out.phones.push(a),
                _ => out.attributes.push((a, b)),
            }
        }
        out
    }
}

/// (contact_id, email) pairs for many contacts at once.
pub fn emails_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<(i64, String)>> {
    Ok(contact_emails::table
        .filter(contact_emails::contact_id.eq_any(ids))
        .order(contact_emails::id)
        .select((contact_emails::contact_id, contact_emails::email))
        .load(conn)?)
}

pub fn phones_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<(i64, String)>> {
    Ok(contact_phones::table
        .filter(contact_phones::contact_id.eq_any(ids))
        .order(contact_phones::id)
        .select((contact_phones::contact_id, contact_phones::phone))
        .load(conn)?)
}

/// Replaces a contact's list (`fresh`: the contact was just inserted, there is nothing to delete).
pub fn set_emails(
    conn: &mut DbConn,
    contact_id: i64,
    emails: &[String],
    fresh: bool,
) -> AppResult<()> {
    if !fresh {
        diesel::delete(contact_emails::table.filter(contact_emails::contact_id.eq(contact_id)))
            .execute(conn)?;
    }
    for e in emails {
        diesel::insert_into(contact_emails::table)
            .values((
                contact_emails::contact_id.eq(contact_id),
                contact_emails::email.eq(e),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a contact's list (`fresh`: the contact was just inserted, there is nothing to delete).
pub fn set_phones(
    conn: &mut DbConn,
    contact_id: i64,
    phones: &[String],
    fresh: bool,
) -> AppResult<()> {
    if !fresh {
        diesel::delete(contact_phones::table.filter(contact_phones::contact_id.eq(contact_id)))
            .execute(conn)?;
    }
    for p in phones {
        diesel::insert_into(contact_phones::table)
            .values((
                contact_phones::contact_id.eq(contact_id),
                contact_phones::phone.eq(p),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The custom attributes (name, value) of a contact, in their order.
pub fn attributes(conn: &mut DbConn, contact_id: i64) -> AppResult<Vec<(String, String)>> {
    Ok(contact_attributes::table
        .filter(contact_attributes::contact_id.eq(contact_id))
        .order((contact_attributes::position, contact_attributes::id))
        .select((contact_attributes::name, contact_attributes::value))
        .load(conn)?)
}

pub fn set_attributes(
    conn: &mut DbConn,
    contact_id: i64,
    attributes: &[(String, String)],
    fresh: bool,
) -> AppResult<()> {
    if !fresh {
        diesel::delete(
            contact_attributes::table.filter(contact_attributes::contact_id.eq(contact_id)),
        )
        .execute(conn)?;
    }
    for (position, (name, value)) in attributes.iter().enumerate() {
        diesel::insert_into(contact_attributes::table)
            .values((
                contact_attributes::contact_id.eq(contact_id),
                contact_attributes::position.eq(position as i32),
                contact_attributes::name.eq(name),
                contact_attributes::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The contact the client's feeds know by this key.
pub fn by_external_key(conn: &mut DbConn, key: &str) -> AppResult<Option<i64>> {
    Ok(contacts::table
        .filter(contacts::external_key.eq(key))
        .select(contacts::id)
        .first(conn)
        .optional()?)
}

/// The contact's first address that has not bounced.
pub fn working_email(conn: &mut DbConn, contact_id: i64) -> AppResult<Option<String>> {
    Ok(contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .filter(contact_emails::bounced_at.is_null())
        .order(contact_emails::id)
        .select(contact_emails::email)
        .first(conn)
        .optional()?)
}

/// A contact's first working address with its name and language, in one
/// query (what mail to the customer needs).
pub fn mail_recipient(
    conn: &mut DbConn,
    contact_id: i64,
) -> AppResult<Option<(String, String, String)>> {
    Ok(contact_emails::table
        .inner_join(contacts::table)
        .filter(contact_emails::contact_id.eq(contact_id))
        .filter(contact_emails::bounced_at.is_null())
        .order(contact_emails::id)
        .select((contact_emails::email, contacts::name, contacts::language))
        .first(conn)
        .optional()?)
}

/// The contact that owns this (normalised) address, if any.
pub fn by_email(conn: &mut DbConn, email: &str) -> AppResult<Option<i64>> {
    Ok(contact_emails::table
        .filter(contact_emails::email.eq(email))
        .select(contact_emails::contact_id)
        .first(conn)
        .optional()?)
}

/// The contact that has this address, and whether `phone` (normalised) is
/// among its numbers, in one query.
pub fn by_email_with_phone(
    conn: &mut DbConn,
    email: &str,
    phone: &str,
) -> AppResult<Option<(ContactRow, bool)>> {
    let row: Option<(ContactRow, Option<i64>)> = contacts::table
        .inner_join(contact_emails::table.on(contact_emails::contact_id.eq(contacts::id)))
        .left_join(
            contact_phones::table.on(contact_phones::contact_id
                .eq(contacts::id)
                .and(contact_phones::phone.eq(phone))),
        )
        .filter(contact_emails::email.eq(email))
        .select((ContactRow::as_select(), contact_phones::id.nullable()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(c, p)| (c, p.is_some())))
}

/// A contact, and whether `phone` (normalised) is among its numbers, in one query.
pub fn find_with_phone(
    conn: &mut DbConn,
    id: i64,
    phone: &str,
) -> AppResult<Option<(ContactRow, bool)>> {
    let row: Option<(ContactRow, Option<i64>)> = contacts::table
        .left_join(
            contact_phones::table.on(contact_phones::contact_id
                .eq(contacts::id)
                .and(contact_phones::phone.eq(phone))),
        )
        .filter(contacts::id.eq(id))
        .select((ContactRow::as_select(), contact_phones::id.nullable()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(c, p)| (c, p.is_some())))
}

/// Contacts that have this E.164 number, oldest first.
pub fn by_phone(conn: &mut DbConn, phone: &str) -> AppResult<Vec<i64>> {
    Ok(contact_phones::table
        .filter(contact_phones::phone.eq(phone))
        .order(contact_phones::contact_id)
        .select(contact_phones::contact_id)
        .load(conn)?)
}

/// Contacts whose search key contains every term (lowercase, taken literally:
/// LIKE wildcards in it are escaped), oldest first. On SQLite the terms of three
/// characters or more go through the trigram index first (`contacts_fts`); on
/// PostgreSQL the planner uses the `pg_trgm` index for the LIKE itself. The
/// LIKE is the exact test on both; terms too short for trigrams are scanned.
pub fn search(conn: &mut DbConn, terms: &[String], limit: i64) -> AppResult<Vec<ContactRow>> {
    let mut q = contacts::table.select(ContactRow::as_select()).into_boxed();
    if let DbConn::Sqlite(_) = conn {
        let phrases: Vec<String> = terms
            .iter()
            .filter_map(|t| search::trigram_phrase(t))
            .collect();
        if !phrases.is_empty() {
            q = q.filter(
                diesel::dsl::sql::<Bool>(
                    "contacts.id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ",
                )
                .bind::<Text, _>(phrases.join(" "))
                .sql(")"),
            );
        }
    }
    for t in terms {
        q = q.filter(
            contacts::search_key
                .like(search::like_contains(t))
                .escape('\\'),
        );
    }
    Ok(q.order(contacts::id).limit(limit).load(conn)?)
}

pub fn insert_audit(conn: &mut DbConn, entry: &NewAudit) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values(crate::bound_values!(
            audit_log,
            entry,
            [
                entity,
                entity_id,
                action,
                actor_agent_id,
                changes,
                created_at,
            ]
        ))
        .execute(conn)?;
    Ok(())
}

pub fn audit(conn: &mut DbConn, entity: &str, entity_id: i64) -> AppResult<Vec<AuditRow>> {
    Ok(audit_log::table
        .filter(audit_log::entity.eq(entity))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id)
        .select(AuditRow::as_select())
        .load(conn)?)
}
