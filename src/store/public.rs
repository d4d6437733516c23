//! Citizen self-service: tracking tokens (hashed) and ratings.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{public_access, ratings};
use super::DbConn;
use crate::error::AppResult;

pub fn grant(
    conn: &mut DbConn,
    ticket_id: i64,
    token_hash: &str,
    language: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(public_access::table)
        .values((
            public_access::ticket_id.eq(ticket_id),
            public_access::token_hash.eq(token_hash),
            public_access::language.eq(language),
            public_access::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The ticket a tracking token opens.
pub fn ticket_of_token(conn: &mut DbConn, token_hash: &str) -> AppResult<Option<(i64, String)>> {
    Ok(public_access::table
        .filter(public_access::token_hash.eq(token_hash))
        .select((public_access::ticket_id, public_access::language))
        .first(conn)
        .optional()?)
}

pub fn ticket_of_rating_token(
    conn: &mut DbConn,
    token_hash: &str,
) -> AppResult<Option<(i64, String)>> {
    Ok(public_access::table
        .filter(public_access::rating_token_hash.eq(token_hash))
        .select((public_access::ticket_id, public_access::language))
        .first(conn)
        .optional()?)
}

/// The language of a ticket that has public access (`None`: a staff-only ticket).
pub fn language_of(conn: &mut DbConn, ticket_id: i64) -> AppResult<Option<String>> {
    Ok(public_access::table
        .find(ticket_id)
        .select(public_access::language)
        .first(conn)
        .optional()?)
}

pub fn set_rating_token(conn: &mut DbConn, ticket_id: i64, token_hash: &str) -> AppResult<()> {
    diesel::update(public_access::table.find(ticket_id))
        .set(public_access::rating_token_hash.eq(token_hash))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ratings)]
pub struct RatingRow {
    pub id: i64,
    pub ticket_id: i64,
    pub score: i32,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Records (or changes) a ticket's rating.
pub fn rate(
    conn: &mut DbConn,
    ticket_id: i64,
    score: Option<i32>,
    comment: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let existing: Option<i64> = ratings::table
        .filter(ratings::ticket_id.eq(ticket_id))
        .select(ratings::id)
        .first(conn)
        .optional()?;
    match existing {
        Some(id) => {
            if let Some(s) = score {
                diesel::update(ratings::table.find(id))
                    .set((ratings::score.eq(s), ratings::updated_at.eq(now)))
                    .execute(conn)?;
            }
            if let Some(c) = comment {
                diesel::update(ratings::table.find(id))
                    .set((ratings::comment.eq(c), ratings::updated_at.eq(now)))
                    .execute(conn)?;
            }
        }
        None => {
            diesel::insert_into(ratings::table)
                .values((
                    ratings::ticket_id.eq(ticket_id),
                    ratings::score.eq(score.unwrap_or(0)),
                    ratings::comment.eq(comment),
                    ratings::created_at.eq(now),
                    ratings::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn rating_of(conn: &mut DbConn, ticket_id: i64) -> AppResult<Option<RatingRow>> {
    Ok(ratings::table
        .filter(ratings::ticket_id.eq(ticket_id))
        .select(RatingRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn ratings(conn: &mut DbConn, before: Option<i64>, limit: i64) -> AppResult<Vec<RatingRow>> {
    let mut q = ratings::table.select(RatingRow::as_select()).into_boxed();
    if let Some(b) = before {
        q = q.filter(ratings::id.lt(b));
    }
    Ok(q.order(ratings::id.desc()).limit(limit).load(conn)?)
}
