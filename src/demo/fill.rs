//! `sportello demo generate`: writes generated contacts and tickets in large
//! transactions through the bulk loader, printing progress as it goes.

use std::io::Write as _;
use std::time::Instant;

use chrono::{NaiveDateTime, Timelike};
use chrono_tz::Tz;
use diesel::Connection;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::generate::{self, LevelRule, Levels, Plan, Policy, Routing};
use crate::domain::sla::ClockKind;
use crate::error::{AppError, AppResult};
use crate::service::sla::{calendars, escalation};
use crate::service::App;
use crate::store::bulk::{self, Batch};
use crate::store::{catalogue, DbConn, DbUrl};

/// Tickets per transaction. Merged tickets point back into their own batch,
/// so the same seed gives the same data only with the same batch size.
const BATCH: u64 = 10_000;

/// The most `--tickets` accepts.
pub const MAX_TICKETS: u64 = 100_000_000;

pub struct Summary {
    pub tickets: u64,
    pub contacts: u64,
    pub articles: u64,
    pub seconds: f64,
    /// The database had no staff, so the demo was seeded first.
    pub seeded_demo: bool,
}

/// Fills the database with `tickets` generated tickets and a tenth as many contacts.
pub async fn generate(app: &App, tickets: u64, seed: u64) -> AppResult<Summary> {
    if tickets == 0 || tickets > MAX_TICKETS {
        return Err(AppError::invalid(
            "tickets",
            format!("must be from 1 to {MAX_TICKETS}"),
        ));
    }
    // Tickets need queues and people to work them: bring the demo's if there are none.
    let mut rows = app.db.read(bulk::catalogue).await?;
    let seeded_demo = rows.agents.is_empty();
    if seeded_demo {
        super::seed(app).await?;
        rows = app.db.read(bulk::catalogue).await?;
    }
    let routing =
        Routing::new(&rows).ok_or_else(|| AppError::conflict("no-queue", "no active queue"))?;
    let desk = app.config.calendar();
    let levels = app.db.read(move |c| levels(c, desk)).await?;
    let url = app.config.database_url.clone();
    let now = app
        .clock
        .now_db()
        .with_nanosecond(0)
        .unwrap_or(app.clock.now_db());
    let tz = app.config.time_zone;
    let housekeeping = app.config.housekeeping();
    let mut summary = tokio::task::spawn_blocking(move || {
        fill(
            &url,
            &routing,
            &levels,
            housekeeping,
            now,
            tz,
            tickets,
            seed,
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("generation failed: {e}")))??;
    summary.seeded_demo = seeded_demo;
    Ok(summary)
}

/// The service levels generated tickets get: the active policies, the
/// queues' calendars and the active escalation rules.
fn levels(c: &mut DbConn, desk: crate::domain::calendar::Calendar) -> AppResult<Levels> {
    let cat = catalogue::snapshot(c)?;
    let policies = cat
        .policies
        .iter()
        .map(|p| Policy {
            id: p.id,
            matcher: crate::service::sla::matcher(p),
            first_response_minutes: p.first_response_minutes,
            resolution_minutes: p.resolution_minutes,
            warning_percent: p.warning_percent,
        })
        .collect();
    let mut queue_calendars = std::collections::HashMap::new();
    for q in &cat.queues {
        if let Some(id) = q.calendar_id {
            queue_calendars.insert(q.id, (id, calendars::of_clock(c, &desk, Some(id))?));
        }
    }
    let mut rules = Vec::new();
    for r in crate::store::escalation::rules(c, None)? {
        if !r.active {
            continue;
        }
        let rule = escalation::domain_rule(&r)?;
        rules.push(LevelRule {
            id: r.id,
            queue_id: r.queue_id,
            clock_kind: r.clock_kind.as_deref().and_then(ClockKind::parse),
            on: rule.on,
            actions: escalation::recorded_actions(&rule).into(),
        });
    }
    Ok(Levels::new(policies, queue_calendars, desk, rules))
}

#[allow(clippy::too_many_arguments)]
fn fill(
    url: &DbUrl,
    routing: &Routing,
    levels: &Levels,
    housekeeping: crate::domain::housekeeping::Rules,
    now: NaiveDateTime,
    tz: Tz,
    tickets: u64,
    seed: u64,
) -> AppResult<Summary> {
    let started = Instant::now();
    let mut conn = url.connect()?;
    bulk::fast_session(&mut conn)?;

    let contacts = (tickets / 10).max(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let first_contact_id = conn.transaction::<_, AppError, _>(|c| {
        let cursor = bulk::lock_and_read_cursor(c)?;
        let mut batch = Batch::default();
        for i in 0..contacts {
            let id = cursor.contact + i as i64;
            batch.contacts.push(generate::contact(&mut rng, i, id, now));
            if batch.contacts.len() as u64 == BATCH {
                bulk::write(c, &batch)?;
                batch.contacts.clear();
            }
        }
        bulk::write(c, &batch)?;
        bulk::finish(c, &cursor.counters)?;
        Ok(cursor.contact)
    })?;

    let plan = Plan {
        routing,
        levels,
        housekeeping,
        now,
        total: tickets,
        first_contact_id,
        contacts,
        tz,
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_0F71_C4E7);
    let (mut done, mut articles, mut reported) = (0u64, 0u64, 0u64);
    while done < tickets {
        let end = (done + BATCH).min(tickets);
        articles += conn.transaction::<_, AppError, _>(|c| {
            // Ids and counters are read again per batch: a server may have written meanwhile.
            let mut cursor = bulk::lock_and_read_cursor(c)?;
            let mut batch = Batch::default();
            for i in done..end {
                plan.ticket(&mut rng, i, &mut cursor, &mut batch);
            }
            bulk::write(c, &batch)?;
            bulk::finish(c, &cursor.counters)?;
            Ok(batch.articles.len() as u64)
        })?;
        done = end;
        if done * 10 / tickets > reported || done == tickets {
            reported = done * 10 / tickets;
            let s = started.elapsed().as_secs_f64();
            println!("  {done}/{tickets} tickets, {:.0}/s", done as f64 / s);
            let _ = std::io::stdout().flush();
        }
    }
    bulk::vacuum_analyze(&mut conn)?;
    Ok(Summary {
        tickets,
        contacts,
        articles,
        seconds: started.elapsed().as_secs_f64(),
        seeded_demo: false,
    })
}
