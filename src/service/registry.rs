//! Registry feeds: the client's periodic CSV files create or update contacts
//! by their external key, with custom attributes the screen pop shows. Each
//! row is applied in its own savepoint, so a bad row is reported with its line
//! number and the others are still imported.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::{attributes_in, create_as, update_in, ContactInput};
use super::views::ContactAttribute;
use super::{App, Viewer};
use crate::domain::feed::{self, canonical, Feed, FeedRow};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::store::{contacts, Db, DbConn};

/// Rows per transaction; each row has its own savepoint inside it.
const CHUNK: usize = 200;

/// What an import did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    /// Rows that matched a record and changed nothing.
    pub unchanged: u64,
    /// Rows left out, each with its line in the file (the header is line 1).
    pub rejected: Vec<RejectedRow>,
    /// Columns the importer does not know and left aside.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    /// The column in error (as the header names it), when there is one.
    pub field: Option<String>,
    pub message: String,
}

/// What became of one row.
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Only supervisors and admins load feeds.
pub fn may_import(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.sees_everything() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only supervisors and admins import registry feeds",
        ))
    }
}

/// Reads a feed, refusing the whole file when it cannot be a feed at all.
pub fn read_feed(bytes: &[u8]) -> AppResult<Feed> {
    let feed = feed::read(bytes).map_err(|e| AppError::invalid("file", e.to_string()))?;
    feed.require("external_key")
        .map_err(|e| AppError::invalid("file", e.to_string()))?;
    Ok(feed)
}

/// Applies `apply` to every row, each in its own savepoint; a row whose
/// data is refused is reported, a failing database stops the import.
pub fn run_rows<F>(db: &Db, feed: &Feed, report: &mut ImportReport, mut apply: F) -> AppResult<()>
where
    F: FnMut(&mut DbConn, &FeedRow) -> AppResult<Outcome>,
{
    let width = feed.columns.len();
    for chunk in feed.rows.chunks(CHUNK) {
        db.write_blocking(|c| {
            for row in chunk {
                if row.cells.len() > width {
                    report.rejected.push(RejectedRow {
                        line: row.line,
                        field: None,
                        message: format!(
                            "the row has {} cells; the header has {width} columns",
                            row.cells.len()
                        ),
                    });
                    continue;
                }
                match c.transaction(|c| apply(c, row)) {
                    Ok(Outcome::Created) => report.created += 1,
                    Ok(Outcome::Updated) => report.updated += 1,
                    Ok(Outcome::Unchanged) => report.unchanged += 1,
                    Err(e) => {
                        let (field, message) = match e {
                            AppError::Invalid { field, detail } => (field, detail),
                            AppError::Fields(list) => (
                                list.first().map(|(f, _)| f.clone()),
                                list.iter()
                                    .map(|(f, c)| format!("{f}: {c}"))
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            ),
                            AppError::Conflict { detail, .. } => (None, detail),
                            e if is_unique_violation(&e) => (
                                None,
                                "a value that must be unique already belongs to another record"
                                    .to_string(),
                            ),
                            other => return Err(other),
                        };
                        report.rejected.push(RejectedRow {
                            line: row.line,
                            field,
                            message,
                        });
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// The standard contact columns (canonical names) and the attributes.
struct ContactColumns {
    key: usize,
    standard: Vec<(usize, &'static str)>,
    attributes: Vec<(usize, String)>,
    /// canonical field name used by validation → the header's label.
    labels: HashMap<&'static str, String>,
}

const STANDARD: &[(&str, &str)] = &[
    ("name", "name"),
    ("organisation", "organisation"),
    ("organization", "organisation"),
    ("email", "emails"),
    ("emails", "emails"),
    ("phone", "phones"),
    ("phones", "phones"),
    ("city", "city"),
    ("address", "address"),
    ("contract_number", "contract_number"),
    ("language", "language"),
];

fn contact_columns(feed: &Feed) -> AppResult<ContactColumns> {
    let key = feed
        .require("external_key")
        .map_err(|e| AppError::invalid("file", e.to_string()))?;
    let mut cols = ContactColumns {
        key,
        standard: vec![],
        attributes: vec![],
        labels: HashMap::from([("external_key", feed.columns[key].clone())]),
    };
    for (i, label) in feed.columns.iter().enumerate() {
        if i == key {
            continue;
        }
        let name = canonical(label);
        match STANDARD.iter().find(|(c, _)| *c == name) {
            Some((_, field)) => {
                if cols.standard.iter().any(|(_, f)| f == field) {
                    return Err(AppError::invalid(
                        "file",
                        format!("the header row has two columns for {field}"),
                    ));
                }
                cols.standard.push((i, field));
                cols.labels.insert(field, label.clone());
            }
            None => cols.attributes.push((i, label.clone())),
        }
    }
    Ok(cols)
}

/// Creates or updates the contact of one row. An empty cell leaves the value
/// as it is; e-mails and phones in the file are added to the ones the contact
/// has (operators may have completed them during a call); attributes in the
/// file replace those of the same name and the others are kept.
fn import_contact(
    c: &mut DbConn,
    cols: &ContactColumns,
    row: &FeedRow,
    actor: Option<i64>,
    now: NaiveDateTime,
) -> AppResult<Outcome> {
    let key = row.cell(cols.key);
    if key.is_empty() {
        return Err(AppError::invalid(
            "external_key",
            "the external key is empty",
        ));
    }
    let existing = contacts::by_external_key(c, key)?;
    let mut input = ContactInput {
        external_key: Some(key.to_string()),
        ..Default::default()
    };
    for (i, field) in &cols.standard {
        let cell = row.cell(*i);
        if cell.is_empty() {
            continue;
        }
        let value = Some(cell.to_string());
        match *field {
            "name" => input.name = value,
            "organisation" => input.organisation = value,
            "city" => input.city = value,
            "address" => input.address = value,
            "contract_number" => input.contract_number = value,
            "language" => input.language = value,
            "emails" | "phones" => {
                let mut list = match existing {
                    Some(id) if *field == "emails" => contacts::emails(c, id)?,
                    Some(id) => contacts::phones(c, id)?,
                    None => vec![],
                };
                list.extend(feed::several(cell));
                if *field == "emails" {
                    input.emails = Some(list);
                } else {
                    input.phones = Some(list);
                }
            }
            _ => {}
        }
    }
    let given: Vec<(&String, &str)> = cols
        .attributes
        .iter()
        .map(|(i, name)| (name, row.cell(*i)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !given.is_empty() {
        let mut attributes = match existing {
            Some(id) => attributes_in(c, id)?,
            None => vec![],
        };
        for (name, value) in given {
            // Matched as validation compares names: regardless of case.
            match attributes
                .iter_mut()
                .find(|a| a.name.to_lowercase() == name.to_lowercase())
            {
                Some(a) => a.value = value.to_string(),
                None => attributes.push(ContactAttribute {
                    name: name.clone(),
                    value: value.to_string(),
                }),
            }
        }
        input.attributes = Some(attributes);
    }
    let result = match existing {
        Some(id) => update_in(c, id, &input, actor, "imported", now).map(|changed| {
            if changed {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            }
        }),
        None => create_as(c, &input, actor, "imported", now).map(|_| Outcome::Created),
    };
    result.map_err(|e| match e {
        AppError::Invalid { field, detail } => AppError::Invalid {
            field: field.map(|f| {
                cols.labels
                    .iter()
                    .find(|(k, _)| **k == f)
                    .map(|(_, label)| label.clone())
                    .unwrap_or(f)
            }),
            detail,
        },
        e if is_unique_violation(&e) && violates(&e, "external_key") => AppError::Invalid {
            field: cols.labels.get("external_key").cloned(),
            detail: "another import created this key at the same moment; import the row again"
                .into(),
        },
        e if is_unique_violation(&e) => AppError::Invalid {
            field: cols.labels.get("emails").cloned(),
            detail: "an e-mail address in this row already belongs to another contact".into(),
        },
        other => other,
    })
}

/// True when a database error names this column (both backends' messages do).
fn violates(e: &AppError, column: &str) -> bool {
    matches!(e, AppError::Database(diesel::result::Error::DatabaseError(_, info))
        if info.message().contains(column)
            || info.constraint_name().is_some_and(|c| c.contains(column)))
}

/// Imports a contacts feed (`actor` None: the command line).
pub async fn import_contacts(
    app: &App,
    actor: Option<i64>,
    bytes: Vec<u8>,
) -> AppResult<ImportReport> {
    let feed = read_feed(&bytes)?;
    let cols = contact_columns(&feed)?;
    let now = app.clock.now_db();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut report = ImportReport::default();
        run_rows(&db, &feed, &mut report, |c, row| {
            import_contact(c, &cols, row, actor, now)
        })?;
        Ok(report)
    })
    .await
    .map_err(|e| AppError::Internal(format!("import task failed: {e}")))?
}
