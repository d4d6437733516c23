//! The directory of points of service (places where a card's services can be
//! used). Region, province, city and service are matched on folded keys built
//! in Rust, so both databases compare them the same way.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::service_points;
use super::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_points)]
pub struct ServicePointRow {
    pub id: i64,
    pub external_key: String,
    pub name: String,
    pub service: String,
    pub region: String,
    pub province: String,
    pub province_code: String,
    pub city: String,
    pub address: String,
    pub postcode: String,
    pub opening_hours: String,
    pub phone: String,
    pub email: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Everything an import writes; the keys are derived by the service.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = service_points)]
pub struct ServicePointFields {
    pub external_key: String,
    pub name: String,
    pub service: String,
    pub region: String,
    pub province: String,
    pub province_code: String,
    pub city: String,
    pub address: String,
    pub postcode: String,
    pub opening_hours: String,
    pub phone: String,
    pub email: String,
    pub active: bool,
    pub region_key: String,
    pub province_key: String,
    pub city_key: String,
    pub service_key: String,
    pub search_key: String,
    pub updated_at: NaiveDateTime,
}

/// What the operator filters by; keys already folded, patterns LIKE-escaped.
#[derive(Debug, Default, Clone)]
pub struct PointFilter {
    pub region_key: Option<String>,
    /// (folded name, upper-case code): either matches.
    pub province: Option<(String, String)>,
    pub city_key: Option<String>,
    pub service_like: Option<String>,
    pub words_like: Vec<String>,
}

/// The filtered query, boxed, written once for the count and the page.
macro_rules! filtered {
    ($f:expr) => {{
        let f: &PointFilter = $f;
        let mut q = service_points::table
            .filter(service_points::active.eq(true))
            .into_boxed();
        if let Some(r) = &f.region_key {
            q = q.filter(service_points::region_key.eq(r.clone()));
        }
        if let Some((name, code)) = &f.province {
            q = q.filter(
                service_points::province_key
                    .eq(name.clone())
                    .or(service_points::province_code.eq(code.clone())),
            );
        }
        if let Some(c) = &f.city_key {
            q = q.filter(service_points::city_key.eq(c.clone()));
        }
        if let Some(s) = &f.service_like {
            q = q.filter(service_points::service_key.like(s.clone()).escape('\\'));
        }
        for w in &f.words_like {
            q = q.filter(service_points::search_key.like(w.clone()).escape('\\'));
        }
        q
    }};
}

pub fn search(
    conn: &mut DbConn,
    f: &PointFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(i64, Vec<ServicePointRow>)> {
    let total: i64 = filtered!(f).select(count_star()).first(conn)?;
    let rows = filtered!(f)
        .order((
            service_points::region_key,
            service_points::province_key,
            service_points::city_key,
            service_points::name,
            service_points::id,
        ))
        .limit(limit)
        .offset(offset)
        .select(ServicePointRow::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<ServicePointRow>> {
    Ok(service_points::table
        .find(id)
        .select(ServicePointRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<ServicePointRow>> {
    Ok(service_points::table
        .filter(service_points::id.eq_any(ids))
        .select(ServicePointRow::as_select())
        .load(conn)?)
}

/// The point a feed knows by this key, with the fields an import compares.
pub fn by_key(conn: &mut DbConn, key: &str) -> AppResult<Option<ServicePointFields>> {
    Ok(service_points::table
        .filter(service_points::external_key.eq(key))
        .select(ServicePointFields::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, fields: &ServicePointFields) -> AppResult<i64> {
    Ok(diesel::insert_into(service_points::table)
        .values((fields, service_points::created_at.eq(fields.updated_at)))
        .returning(service_points::id)
        .get_result(conn)?)
}

pub fn update_by_key(conn: &mut DbConn, fields: &ServicePointFields) -> AppResult<()> {
    diesel::update(
        service_points::table.filter(service_points::external_key.eq(&fields.external_key)),
    )
    .set(fields)
    .execute(conn)?;
    Ok(())
}

/// One (region, province) of the active points and how many there are.
#[derive(Debug, Clone, Queryable)]
pub struct PlaceCount {
    pub region_key: String,
    pub region: String,
    pub province_key: String,
    pub province: String,
    pub province_code: String,
    pub count: i64,
}

pub fn places(conn: &mut DbConn) -> AppResult<Vec<PlaceCount>> {
    Ok(service_points::table
        .filter(service_points::active.eq(true))
        .group_by((
            service_points::region_key,
            service_points::region,
            service_points::province_key,
            service_points::province,
            service_points::province_code,
        ))
        .select((
            service_points::region_key,
            service_points::region,
            service_points::province_key,
            service_points::province,
            service_points::province_code,
            count_star(),
        ))
        .order((service_points::region_key, service_points::province_key))
        .load(conn)?)
}
