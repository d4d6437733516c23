//! Service levels: the policies admins configure, and the clocks every ticket
//! runs. [`track`] is called in the transaction of each change to a ticket
//! (intake, the workflow's `Work::finish`, delegation) and starts, pauses,
//! resumes and stops its clocks, writing each step to the clock's history.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::views::{local, local_opt, Ref};
use super::{App, Viewer};
use crate::domain::calendar::Calendar;
use crate::domain::sla::{
    self as rules, ClockEventKind, ClockKind, ClockState, Matcher, Pause, PauseReason,
};
use crate::domain::{Priority, TicketState};
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::store::rows::TicketRow;
use crate::store::sla::{
    self as store, ClockChanges, ClockEventRow, ClockRow, NewClock, PolicyRow,
};
use crate::store::{catalogue, DbConn};

// ---------------------------------------------------------------- policies

/// A field that may be absent (unchanged), `null` (cleared) or a value.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A service-level policy as created (`POST`) or changed (`PATCH`: only the
/// fields given; `null` clears a matcher or a target).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub name: Option<String>,
    /// Matches tickets of this queue (null: any queue).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub queue_id: Option<Option<i64>>,
    /// Matches tickets of this priority (null: any).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Option<Priority>>,
    /// Matches tickets of this topic (null: any).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub topic_id: Option<Option<i64>>,
    /// Business minutes to the first public answer (null: no target).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub first_response_minutes: Option<Option<i32>>,
    /// Business minutes from each customer message to the next answer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub next_response_minutes: Option<Option<i32>>,
    /// Business minutes to resolution.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub resolution_minutes: Option<Option<i32>>,
    /// Percent of a target after which a clock is at risk (1–100, default 80).
    pub warning_percent: Option<i32>,
    /// Inactive policies are not chosen for new clocks (default true).
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    pub queue_id: Option<i64>,
    pub priority: Option<Priority>,
    pub topic_id: Option<i64>,
    pub first_response_minutes: Option<i32>,
    pub next_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub warning_percent: i32,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

fn policy_view(r: PolicyRow, tz: chrono_tz::Tz) -> PolicyView {
    PolicyView {
        id: r.id,
        name: r.name,
        queue_id: r.queue_id,
        priority: r.priority.and_then(Priority::from_rank),
        topic_id: r.topic_id,
        first_response_minutes: r.first_response_minutes,
        next_response_minutes: r.next_response_minutes,
        resolution_minutes: r.resolution_minutes,
        warning_percent: r.warning_percent,
        active: r.active,
        created_at: local(r.created_at, tz),
        updated_at: local(r.updated_at, tz),
    }
}

/// Targets are at most a business year (250 days of 24 hours).
const MAX_TARGET_MINUTES: i32 = 250 * 24 * 60;

/// Applies an input to a policy row, naming every field in error at once.
fn apply_input(c: &mut DbConn, row: &mut PolicyRow, input: &PolicyInput) -> AppResult<()> {
    let mut errors: Vec<(String, String)> = Vec::new();
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name".into(), "required".into()));
        } else if name.chars().count() > 200 {
            errors.push(("name".into(), "too_long".into()));
        }
        row.name = name.to_string();
    }
    if let Some(q) = input.queue_id {
        if let Some(id) = q {
            if catalogue::queue(c, id)?.is_none() {
                errors.push(("queue_id".into(), "not_found".into()));
            }
        }
        row.queue_id = q;
    }
    if let Some(p) = input.priority {
        row.priority = p.map(Priority::rank);
    }
    if let Some(t) = input.topic_id {
        if let Some(id) = t {
            if catalogue::topic(c, id)?.is_none() {
                errors.push(("topic_id".into(), "not_found".into()));
            }
        }
        row.topic_id = t;
    }
    for (field, value, slot) in [
        (
            "first_response_minutes",
            input.first_response_minutes,
            &mut row.first_response_minutes,
        ),
        (
            "next_response_minutes",
            input.next_response_minutes,
            &mut row.next_response_minutes,
        ),
        (
            "resolution_minutes",
            input.resolution_minutes,
            &mut row.resolution_minutes,
        ),
    ] {
        if let Some(v) = value {
            match v {
                Some(m) if m < 1 => errors.push((field.into(), "below_min".into())),
                Some(m) if m > MAX_TARGET_MINUTES => {
                    errors.push((field.into(), "above_max".into()))
                }
                _ => {}
            }
            *slot = v;
        }
    }
    if let Some(w) = input.warning_percent {
        if w < 1 {
            errors.push(("warning_percent".into(), "below_min".into()));
        } else if w > 100 {
            errors.push(("warning_percent".into(), "above_max".into()));
        }
        row.warning_percent = w;
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    if row.name.is_empty() && !errors.iter().any(|(f, _)| f == "name") {
        errors.push(("name".into(), "required".into()));
    }
    if errors.is_empty()
        && row.first_response_minutes.is_none()
        && row.next_response_minutes.is_none()
        && row.resolution_minutes.is_none()
    {
        errors.push(("resolution_minutes".into(), "no_target".into()));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(())
}

fn matcher(r: &PolicyRow) -> Matcher {
    Matcher {
        queue_id: r.queue_id,
        priority: r.priority,
        topic_id: r.topic_id,
    }
}

/// Two active policies matching exactly the same tickets would make the choice arbitrary.
fn check_unique_match(c: &mut DbConn, row: &PolicyRow) -> AppResult<()> {
    if !row.active {
        return Ok(());
    }
    if let Some(other) = store::active_policies(c)?
        .into_iter()
        .find(|p| p.id != row.id && matcher(p) == matcher(row))
    {
        return Err(AppError::conflict(
            "policy-exists",
            format!(
                "the active policy '{}' already matches the same queue, priority and topic",
                other.name
            ),
        ));
    }
    Ok(())
}

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins configure service levels"))
    }
}

fn name_taken(e: AppError) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("name-taken", "a policy with this name already exists")
    } else {
        e
    }
}

pub async fn list_policies(app: &App, viewer: &Viewer) -> AppResult<Vec<PolicyView>> {
    let tz = viewer.tz;
    let rows = app.db.read(store::policies).await?;
    Ok(rows.into_iter().map(|r| policy_view(r, tz)).collect())
}

pub async fn create_policy(
    app: &App,
    viewer: &Viewer,
    input: PolicyInput,
) -> AppResult<PolicyView> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let row = app
        .db
        .write(move |c| {
            let mut row = PolicyRow {
                id: 0,
                name: String::new(),
                queue_id: None,
                priority: None,
                topic_id: None,
                first_response_minutes: None,
                next_response_minutes: None,
                resolution_minutes: None,
                warning_percent: 80,
                active: true,
                created_at: now,
                updated_at: now,
            };
            apply_input(c, &mut row, &input)?;
            check_unique_match(c, &row)?;
            row.id = store::insert_policy(c, &row)?;
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    Ok(policy_view(row, tz))
}

/// Changes a policy; the clocks it governs that are still live take its new
/// targets, and their due times are recomputed from their history.
pub async fn update_policy(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: PolicyInput,
) -> AppResult<PolicyView> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    let tz = viewer.tz;
    let cal = app.config.calendar();
    let row = app
        .db
        .write(move |c| {
            let mut row = store::policy(c, id)?
                .ok_or_else(|| AppError::not_found(format!("service-level policy {id}")))?;
            apply_input(c, &mut row, &input)?;
            check_unique_match(c, &row)?;
            row.updated_at = now;
            store::update_policy(c, &row)?;
            for mut clock in store::live_clocks_of_policy(c, id)? {
                retarget(c, &cal, &mut clock, &row, now)?;
            }
            Ok(row)
        })
        .await
        .map_err(name_taken)?;
    Ok(policy_view(row, tz))
}

// ------------------------------------------------------------------ clocks

/// What a change to a ticket said to the customer, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message {
    None,
    /// A public answer from the help desk (reply, outgoing mail).
    AgentReply,
    /// The customer wrote or called (e-mail, web tracking page, phone note).
    Customer,
}

/// Keeps a ticket's clocks in step with a change, inside its transaction.
/// `from` is the state before the change (`None`: the ticket was just
/// opened); `reason` overrides the pause reason the new state implies (a
/// delegation to the back office).
pub(crate) fn track(
    c: &mut DbConn,
    cal: &Calendar,
    ticket: &TicketRow,
    from: Option<TicketState>,
    message: Message,
    reason: Option<PauseReason>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let to = crate::service::lookup::ticket_state(ticket)?;
    let pause = reason.or(rules::pause_reason(to));
    let mut live = store::live_clocks_of(c, &[ticket.id])?;
    let mut policies: Option<Vec<PolicyRow>> = None;
    match from {
        None => {
            for kind in [ClockKind::FirstResponse, ClockKind::Resolution] {
                start(
                    c,
                    cal,
                    &mut policies,
                    &mut live,
                    ticket,
                    kind,
                    "created",
                    pause,
                    now,
                )?;
            }
        }
        Some(from) if from != to => {
            if !to.is_active() {
                for clock in live.iter_mut() {
                    stop(c, cal, clock, to.as_str(), now)?;
                }
                live.clear();
            } else {
                for clock in live.iter_mut() {
                    let paused = clock.state == ClockState::Paused.as_str();
                    match (paused, pause) {
                        (false, Some(r)) => pause_clock(c, cal, clock, r, now)?,
                        (true, Some(r))
                            if reason.is_some() || rules::pause_reason(from) != Some(r) =>
                        {
                            resume(c, cal, clock, to.as_str(), now)?;
                            pause_clock(c, cal, clock, r, now)?;
                        }
                        (true, None) => resume(c, cal, clock, to.as_str(), now)?,
                        _ => {}
                    }
                }
                if !from.is_active() {
                    start(
                        c,
                        cal,
                        &mut policies,
                        &mut live,
                        ticket,
                        ClockKind::Resolution,
                        "reopened",
                        pause,
                        now,
                    )?;
                }
            }
        }
        Some(_) => {}
    }
    let is_response =
        |k: &str| k == ClockKind::FirstResponse.as_str() || k == ClockKind::NextResponse.as_str();
    match message {
        Message::AgentReply => {
            for clock in live.iter_mut().filter(|k| is_response(&k.kind)) {
                stop(c, cal, clock, "reply", now)?;
            }
        }
        Message::Customer if to.is_active() && !live.iter().any(|k| is_response(&k.kind)) => {
            start(
                c,
                cal,
                &mut policies,
                &mut live,
                ticket,
                ClockKind::NextResponse,
                "customer_message",
                pause,
                now,
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Starts a clock of `kind` under the policy that fits the ticket now (none
/// when no policy fits or it sets no such target); paused at once when the
/// ticket waits on someone.
#[allow(clippy::too_many_arguments)]
fn start(
    c: &mut DbConn,
    cal: &Calendar,
    policies: &mut Option<Vec<PolicyRow>>,
    live: &mut Vec<ClockRow>,
    ticket: &TicketRow,
    kind: ClockKind,
    why: &str,
    pause: Option<PauseReason>,
    now: NaiveDateTime,
) -> AppResult<()> {
    if policies.is_none() {
        *policies = Some(store::active_policies(c)?);
    }
    let policies = policies.as_deref().unwrap_or_default();
    let matchers: Vec<(i64, Matcher)> = policies.iter().map(|p| (p.id, matcher(p))).collect();
    let Some(policy) = rules::choose(&matchers, ticket.queue_id, ticket.priority, ticket.topic_id)
        .and_then(|id| policies.iter().find(|p| p.id == id))
    else {
        return Ok(());
    };
    let Some(target) = target_of(policy, kind) else {
        return Ok(());
    };
    let mut clock = ClockRow {
        id: 0,
        ticket_id: ticket.id,
        policy_id: policy.id,
        kind: kind.as_str().into(),
        target_minutes: target,
        warning_percent: policy.warning_percent,
        state: ClockState::Running.as_str().into(),
        started_at: now,
        due_at: None,
        warn_at: None,
        stopped_at: None,
        updated_at: now,
    };
    let status = rules::status(cal, &domain_clock(&clock, &[]), now);
    clock.due_at = status.due_at;
    clock.warn_at = status.warn_at;
    clock.id = store::insert_clock(
        c,
        &NewClock {
            ticket_id: clock.ticket_id,
            policy_id: clock.policy_id,
            kind: clock.kind.clone(),
            target_minutes: clock.target_minutes,
            warning_percent: clock.warning_percent,
            state: clock.state.clone(),
            started_at: now,
            due_at: clock.due_at,
            warn_at: clock.warn_at,
            updated_at: now,
        },
    )?;
    record(c, &clock, ClockEventKind::Started, Some(why), now)?;
    if let Some(r) = pause {
        pause_clock(c, cal, &mut clock, r, now)?;
    }
    live.push(clock);
    Ok(())
}

fn target_of(policy: &PolicyRow, kind: ClockKind) -> Option<i32> {
    match kind {
        ClockKind::FirstResponse => policy.first_response_minutes,
        ClockKind::NextResponse => policy.next_response_minutes,
        ClockKind::Resolution => policy.resolution_minutes,
    }
}

fn record(
    c: &mut DbConn,
    clock: &ClockRow,
    kind: ClockEventKind,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    store::insert_event(
        c,
        &ClockEventRow {
            id: 0,
            clock_id: clock.id,
            kind: kind.as_str().into(),
            reason: reason.map(str::to_string),
            due_at: clock.due_at,
            at: now,
        },
    )
}

/// The clock as its history tells it, for the domain's arithmetic.
fn domain_clock(row: &ClockRow, events: &[ClockEventRow]) -> rules::Clock {
    let mut pauses: Vec<Pause> = Vec::new();
    for e in events.iter().filter(|e| e.clock_id == row.id) {
        match ClockEventKind::parse(&e.kind) {
            Some(ClockEventKind::Paused) => pauses.push(Pause {
                from: e.at,
                to: None,
            }),
            Some(ClockEventKind::Resumed) => {
                if let Some(p) = pauses.last_mut().filter(|p| p.to.is_none()) {
                    p.to = Some(e.at);
                }
            }
            _ => {}
        }
    }
    rules::Clock {
        started_at: row.started_at,
        target: Duration::minutes(row.target_minutes.into()),
        warning_percent: row.warning_percent,
        pauses,
        stopped_at: row.stopped_at,
        cancelled: row.state == ClockState::Cancelled.as_str(),
    }
}

/// Adds one step to a clock's history and writes the clock as the whole
/// history (this step included) makes it: due and warning times, and the
/// verdict once stopped. The step records the due time it leaves.
fn step(
    c: &mut DbConn,
    cal: &Calendar,
    clock: &mut ClockRow,
    kind: ClockEventKind,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut event = ClockEventRow {
        id: 0,
        clock_id: clock.id,
        kind: kind.as_str().into(),
        reason: reason.map(str::to_string),
        due_at: None,
        at: now,
    };
    let mut events = store::events_of(c, &[clock.id])?;
    events.push(event.clone());
    let status = rules::status(cal, &domain_clock(clock, &events), now);
    clock.due_at = status.due_at;
    clock.warn_at = status.warn_at;
    clock.updated_at = now;
    if clock.state != ClockState::Cancelled.as_str() {
        clock.state = match status.state {
            // A running clock past due stays running until it stops.
            ClockState::Breached if clock.stopped_at.is_none() => ClockState::Running,
            s => s,
        }
        .as_str()
        .into();
    }
    store::update_clock(
        c,
        clock.id,
        &ClockChanges {
            target_minutes: clock.target_minutes,
            warning_percent: clock.warning_percent,
            state: clock.state.clone(),
            due_at: clock.due_at,
            warn_at: clock.warn_at,
            stopped_at: clock.stopped_at,
            updated_at: now,
        },
    )?;
    event.due_at = clock.due_at;
    store::insert_event(c, &event)
}

fn pause_clock(
    c: &mut DbConn,
    cal: &Calendar,
    clock: &mut ClockRow,
    reason: PauseReason,
    now: NaiveDateTime,
) -> AppResult<()> {
    step(
        c,
        cal,
        clock,
        ClockEventKind::Paused,
        Some(reason.as_str()),
        now,
    )
}

fn resume(
    c: &mut DbConn,
    cal: &Calendar,
    clock: &mut ClockRow,
    why: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    step(c, cal, clock, ClockEventKind::Resumed, Some(why), now)
}

fn stop(
    c: &mut DbConn,
    cal: &Calendar,
    clock: &mut ClockRow,
    why: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    // A paused clock's pause ends where the clock stops.
    if clock.state == ClockState::Paused.as_str() {
        resume(c, cal, clock, why, now)?;
    }
    clock.stopped_at = Some(now);
    step(c, cal, clock, ClockEventKind::Stopped, Some(why), now)
}

/// Gives a live clock its policy's current target and warning threshold.
fn retarget(
    c: &mut DbConn,
    cal: &Calendar,
    clock: &mut ClockRow,
    policy: &PolicyRow,
    now: NaiveDateTime,
) -> AppResult<()> {
    let Some(kind) = ClockKind::parse(&clock.kind) else {
        return Ok(());
    };
    match target_of(policy, kind) {
        None => {
            clock.state = ClockState::Cancelled.as_str().into();
            clock.stopped_at = Some(now);
            step(
                c,
                cal,
                clock,
                ClockEventKind::Stopped,
                Some("target_removed"),
                now,
            )
        }
        Some(t) if t != clock.target_minutes || policy.warning_percent != clock.warning_percent => {
            clock.target_minutes = t;
            clock.warning_percent = policy.warning_percent;
            step(
                c,
                cal,
                clock,
                ClockEventKind::Recomputed,
                Some("policy_changed"),
                now,
            )
        }
        Some(_) => Ok(()),
    }
}

// ------------------------------------------------------------------- views

/// One entry of a clock's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaEventView {
    pub kind: ClockEventKind,
    /// Paused: `customer`, `back_office` or `third_party`; started: `created`,
    /// `customer_message`, `reopened`; resumed: the ticket's new state;
    /// stopped: `reply`, `resolved`, `closed`, `merged`, `target_removed`;
    /// recomputed: `policy_changed`.
    pub reason: Option<String>,
    pub at: DateTime<FixedOffset>,
    /// The due time after this step.
    pub due_at: Option<DateTime<FixedOffset>>,
}

/// One service-level clock of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaClockView {
    pub id: i64,
    pub kind: ClockKind,
    pub policy: Ref,
    pub target_minutes: i32,
    pub warning_percent: i32,
    pub started_at: DateTime<FixedOffset>,
    /// For a paused clock: the earliest it can be (were it resumed now).
    pub due_at: Option<DateTime<FixedOffset>>,
    pub warn_at: Option<DateTime<FixedOffset>>,
    pub stopped_at: Option<DateTime<FixedOffset>>,
    /// `running`, `paused`, `met`, `breached` (running past due, or stopped late), `cancelled`.
    pub state: ClockState,
    /// Running, past the warning threshold, not yet due.
    pub at_risk: bool,
    /// Once stopped: whether the target was met.
    pub met: Option<bool>,
    /// Past its due time, stopped or not.
    pub breached: bool,
    /// Target minus the business time counted so far (negative once breached).
    pub business_minutes_left: i64,
    pub history: Vec<SlaEventView>,
}

/// The compact service level of a ticket in lists: its live clock due first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaSummary {
    pub kind: ClockKind,
    /// `running`, `paused` or `breached`.
    pub state: ClockState,
    pub due_at: Option<DateTime<FixedOffset>>,
    pub at_risk: bool,
}

/// The clocks of a ticket with their history, as they stand at `now`.
pub fn clocks_in(
    c: &mut DbConn,
    cal: &Calendar,
    ticket_id: i64,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<Vec<SlaClockView>> {
    let clocks = store::clocks_of(c, ticket_id)?;
    if clocks.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = clocks.iter().map(|k| k.id).collect();
    let events = store::events_of(c, &ids)?;
    let names: std::collections::HashMap<i64, String> = store::policies(c)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    clocks
        .iter()
        .map(|row| {
            let status = rules::status(cal, &domain_clock(row, &events), now);
            let kind = ClockKind::parse(&row.kind)
                .ok_or_else(|| AppError::Internal(format!("clock kind {}", row.kind)))?;
            let breached = status.state == ClockState::Breached
                || (status.state == ClockState::Paused && status.left < Duration::zero());
            Ok(SlaClockView {
                id: row.id,
                kind,
                policy: Ref {
                    id: row.policy_id,
                    name: names.get(&row.policy_id).cloned().unwrap_or_default(),
                },
                target_minutes: row.target_minutes,
                warning_percent: row.warning_percent,
                started_at: local(row.started_at, tz),
                due_at: local_opt(status.due_at, tz),
                warn_at: local_opt(status.warn_at, tz),
                stopped_at: local_opt(row.stopped_at, tz),
                state: status.state,
                at_risk: status.at_risk,
                met: status.met,
                breached,
                business_minutes_left: status.left.num_minutes(),
                history: events
                    .iter()
                    .filter(|e| e.clock_id == row.id)
                    .filter_map(|e| {
                        Some(SlaEventView {
                            kind: ClockEventKind::parse(&e.kind)?,
                            reason: e.reason.clone(),
                            at: local(e.at, tz),
                            due_at: local_opt(e.due_at, tz),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The compact service level of each ticket, from the stored times of its live clocks.
pub fn summaries_in(
    c: &mut DbConn,
    ticket_ids: &[i64],
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> AppResult<std::collections::HashMap<i64, SlaSummary>> {
    let mut out: std::collections::HashMap<i64, (bool, Option<NaiveDateTime>, SlaSummary)> =
        std::collections::HashMap::new();
    if ticket_ids.is_empty() {
        return Ok(Default::default());
    }
    for row in store::live_clocks_of(c, ticket_ids)? {
        let Some(kind) = ClockKind::parse(&row.kind) else {
            continue;
        };
        let paused = row.state == ClockState::Paused.as_str();
        let late = !paused && row.due_at.is_some_and(|d| d < now);
        let summary = SlaSummary {
            kind,
            state: if paused {
                ClockState::Paused
            } else if late {
                ClockState::Breached
            } else {
                ClockState::Running
            },
            due_at: local_opt(row.due_at, tz),
            at_risk: !paused && !late && row.warn_at.is_some_and(|w| w <= now),
        };
        // Running clocks first, then the one due soonest.
        let key = (paused, row.due_at);
        match out.get(&row.ticket_id) {
            Some((p, d, _)) if (*p, *d) <= key => {}
            _ => {
                out.insert(row.ticket_id, (paused, row.due_at, summary));
            }
        }
    }
    Ok(out.into_iter().map(|(k, (_, _, s))| (k, s)).collect())
}
