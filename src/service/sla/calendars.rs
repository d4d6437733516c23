//! Business calendars: admins define them, queues follow one (or the desk's
//! calendar from the configuration). A service-level clock counts on the
//! calendar of the queue where it started; notices to a queue's people wait
//! for its opening.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::calendar::{self as cal, Calendar, Week};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::service::views::local;
use crate::service::{App, Viewer};
use crate::store::calendars::{self as store, CalendarRow};
use crate::store::DbConn;

/// The calendar a queue works by: its own, or the desk's.
pub fn of_queue(c: &mut DbConn, desk: &Calendar, queue_id: i64) -> AppResult<Calendar> {
    match store::of_queue(c, queue_id)? {
        Some(row) => to_calendar(&row),
        None => Ok(desk.clone()),
    }
}

/// A clock's calendar: the one it started on (`None`: the desk's).
pub fn of_clock(c: &mut DbConn, desk: &Calendar, calendar_id: Option<i64>) -> AppResult<Calendar> {
    match calendar_id {
        Some(id) => match store::find(c, id)? {
            Some(row) => to_calendar(&row),
            None => Ok(desk.clone()),
        },
        None => Ok(desk.clone()),
    }
}

/// Calendars loaded once for many clocks.
pub struct Cache<'a> {
    desk: &'a Calendar,
    loaded: std::collections::HashMap<i64, Calendar>,
}

impl<'a> Cache<'a> {
    pub fn new(desk: &'a Calendar) -> Cache<'a> {
        Cache {
            desk,
            loaded: Default::default(),
        }
    }

    pub fn get(&mut self, c: &mut DbConn, calendar_id: Option<i64>) -> AppResult<&Calendar> {
        let Some(id) = calendar_id else {
            return Ok(self.desk);
        };
        if !self.loaded.contains_key(&id) {
            let cal = of_clock(c, self.desk, Some(id))?;
            self.loaded.insert(id, cal);
        }
        Ok(&self.loaded[&id])
    }
}

fn to_calendar(row: &CalendarRow) -> AppResult<Calendar> {
    let broken = |e: String| AppError::Internal(format!("calendar {} is unreadable: {e}", row.id));
    Ok(Calendar {
        tz: row.time_zone.parse().map_err(|e| broken(format!("{e}")))?,
        week: Week::parse(&row.hours).map_err(|e| broken(e.to_string()))?,
        italian_holidays: row.italian_holidays,
        holidays: cal::parse_yearly(&row.holidays).map_err(|e| broken(e.to_string()))?,
        closed: cal::parse_dates(&row.closed_days).map_err(|e| broken(e.to_string()))?,
    })
}

/// A calendar as created (`POST`) or changed (`PATCH`: only the fields given).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarInput {
    pub name: Option<String>,
    /// An IANA time zone (default `Europe/Rome`).
    pub time_zone: Option<String>,
    /// Weekly hours, e.g. `mon-fri 08:30-13:00 14:00-17:30; sat 09:00-12:00`,
    /// or `24/7`.
    pub hours: Option<String>,
    /// Italian national holidays are closed (default true; false for 24/7).
    pub italian_holidays: Option<bool>,
    /// Holidays every year as month-day, e.g. `["06-29"]` (a patron saint).
    pub holidays: Option<Vec<String>>,
    /// One-off closures as dates, e.g. `["2026-12-24"]`.
    pub closed_days: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub hours: String,
    pub italian_holidays: bool,
    pub holidays: Vec<String>,
    pub closed_days: Vec<String>,
    /// Open around the clock: notifications are never held.
    pub always_open: bool,
    pub open_now: bool,
    /// When it next opens (now, if open).
    pub next_opening: Option<DateTime<FixedOffset>>,
    /// The queues that follow it.
    pub queue_ids: Vec<i64>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

fn view(
    c: &mut DbConn,
    row: CalendarRow,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<CalendarView> {
    let calendar = to_calendar(&row)?;
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    };
    Ok(CalendarView {
        queue_ids: store::queues_of(c, row.id)?,
        always_open: calendar.is_always_open(),
        open_now: calendar.is_open(now),
        next_opening: calendar.next_open(now).map(|t| local(t, tz)),
        id: row.id,
        holidays: split(&row.holidays),
        closed_days: split(&row.closed_days),
        name: row.name,
        time_zone: row.time_zone,
        hours: row.hours,
        italian_holidays: row.italian_holidays,
        created_at: local(row.created_at, tz),
        updated_at: local(row.updated_at, tz),
    })
}

/// Applies an input, naming every field in error at once.
fn apply(row: &mut CalendarRow, input: &CalendarInput) -> AppResult<()> {
    let mut errors: Vec<(String, String)> = Vec::new();
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name".into(), "required".into()));
        } else if name.chars().count() > 100 {
            errors.push(("name".into(), "too_long".into()));
        }
        row.name = name.to_string();
    }
    if let Some(tz) = &input.time_zone {
        match tz.trim().parse::<chrono_tz::Tz>() {
            Ok(z) => row.time_zone = z.name().to_string(),
            Err(_) => errors.push((
                "time_zone".into(),
                format!("'{tz}' is not a time zone like Europe/Rome"),
            )),
        }
    }
    if let Some(h) = &input.hours {
        match Week::parse(h) {
            Ok(_) => row.hours = h.trim().to_string(),
            Err(e) => errors.push(("hours".into(), e.to_string())),
        }
    }
    if let Some(i) = input.italian_holidays {
        row.italian_holidays = i;
    } else if input.hours.as_deref().map(str::trim) == Some("24/7") {
        // Open around the clock means on holidays too, unless said otherwise.
        row.italian_holidays = false;
    }
    if let Some(days) = &input.holidays {
        match cal::parse_yearly(&days.join(",")) {
            Ok(set) => row.holidays = cal::format_yearly(&set),
            Err(e) => errors.push(("holidays".into(), e.to_string())),
        }
    }
    if let Some(days) = &input.closed_days {
        match cal::parse_dates(&days.join(",")) {
            Ok(set) => row.closed_days = cal::format_dates(&set),
            Err(e) => errors.push(("closed_days".into(), e.to_string())),
        }
    }
    if row.name.is_empty() && !errors.iter().any(|(f, _)| f == "name") {
        errors.push(("name".into(), "required".into()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Fields(errors))
    }
}

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins configure calendars"))
    }
}

fn name_taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("name-taken", "a calendar with this name already exists")
    } else {
        e
    }
}

pub async fn list_calendars(app: &App, viewer: &Viewer) -> AppResult<Vec<CalendarView>> {
    let (now, tz) = (app.clock.now_db(), viewer.tz);
    app.db
        .read(move |c| {
            store::all(c)?
                .into_iter()
                .map(|r| view(c, r, now, tz))
                .collect()
        })
        .await
}

pub async fn get_calendar(app: &App, viewer: &Viewer, id: i64) -> AppResult<CalendarView> {
    let (now, tz) = (app.clock.now_db(), viewer.tz);
    app.db
        .read(move |c| {
            let row =
                store::find(c, id)?.ok_or_else(|| AppError::not_found(format!("calendar {id}")))?;
            view(c, row, now, tz)
        })
        .await
}

pub async fn create_calendar(
    app: &App,
    viewer: &Viewer,
    input: CalendarInput,
) -> AppResult<CalendarView> {
    must_configure(viewer)?;
    let (now, tz) = (app.clock.now_db(), viewer.tz);
    let mut row = CalendarRow {
        id: 0,
        name: String::new(),
        time_zone: app.config.time_zone.name().to_string(),
        hours: app.config.business_hours.to_string(),
        italian_holidays: true,
        holidays: String::new(),
        closed_days: String::new(),
        created_at: now,
        updated_at: now,
    };
    apply(&mut row, &input)?;
    app.db
        .write(move |c| {
            row.id = store::insert(c, &row)?;
            view(c, row, now, tz)
        })
        .await
        .map_err(name_taken)
}

/// Changes a calendar; the live clocks counting on it are recomputed from
/// their history (a `recomputed` step, reason `calendar_changed`).
pub async fn update_calendar(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: CalendarInput,
) -> AppResult<CalendarView> {
    must_configure(viewer)?;
    let (now, tz, desk) = (app.clock.now_db(), viewer.tz, app.config.calendar());
    app.db
        .write(move |c| {
            let mut row =
                store::find(c, id)?.ok_or_else(|| AppError::not_found(format!("calendar {id}")))?;
            apply(&mut row, &input)?;
            row.updated_at = now;
            store::update(c, &row)?;
            // Tickets are locked first, in order, as every change to a ticket does.
            let live = crate::store::sla::live_clocks_on_calendar(c, id)?;
            let mut tickets: Vec<i64> = live.iter().map(|k| k.ticket_id).collect();
            tickets.sort_unstable();
            tickets.dedup();
            for t in tickets {
                crate::store::tickets::lock(c, t)?;
            }
            for mut clock in crate::store::sla::live_clocks_on_calendar(c, id)? {
                super::step(
                    c,
                    &desk,
                    &mut clock,
                    crate::domain::sla::ClockEventKind::Recomputed,
                    Some("calendar_changed"),
                    now,
                )?;
            }
            view(c, row, now, tz)
        })
        .await
        .map_err(name_taken)
}
