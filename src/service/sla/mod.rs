//! Service levels: the policies admins configure, and the clocks every ticket
//! runs. [`track`] is called in the transaction of each change to a ticket
//! (intake, the workflow's `Work::finish`, delegation) and starts, pauses,
//! resumes and stops its clocks, writing each step to the clock's history.

pub mod calendars;
pub mod escalation;
mod policies;
mod views;

pub use policies::*;
pub use views::*;

use chrono::{Duration, NaiveDateTime};

use crate::domain::calendar::Calendar;
use crate::domain::sla::{
    self as rules, ClockEventKind, ClockKind, ClockState, Matcher, Pause, PauseReason,
};
use crate::domain::TicketState;
use crate::error::AppResult;
use crate::store::rows::TicketRow;
use crate::store::sla::{
    self as store, ClockChanges, ClockEventRow, ClockRow, NewClock, PolicyRow,
};
use crate::store::DbConn;

pub(crate) fn matcher(r: &PolicyRow) -> Matcher {
    Matcher {
        queue_id: r.queue_id,
        priority: r.priority,
        topic_id: r.topic_id,
    }
}

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
/// `cal` is the desk's calendar: each clock counts on its own (that of the
/// queue where it started, or the desk's).
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
    track_known(c, cal, None, ticket, from, message, reason, None, now)
}

/// [`track`] with the catalogue the caller already holds in this transaction
/// and the ticket's clocks not yet stopped when it has read them already
/// (`known`; intake reads them with the ticket's lock).
#[allow(clippy::too_many_arguments)]
pub(crate) fn track_known(
    c: &mut DbConn,
    cal: &Calendar,
    catalogue: Option<std::sync::Arc<crate::store::catalogue::Snapshot>>,
    ticket: &TicketRow,
    from: Option<TicketState>,
    message: Message,
    reason: Option<PauseReason>,
    known: Option<Vec<store::ClockRow>>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let to = crate::service::lookup::ticket_state(ticket)?;
    let pause = reason.or(rules::pause_reason(to));
    // A ticket just opened has no clocks yet.
    let mut live = match (from, known) {
        (None, _) => vec![],
        (Some(_), Some(known)) => known,
        (Some(_), None) => store::live_clocks_of(c, &[ticket.id])?,
    };
    let mut found = Lookups { catalogue };
    match from {
        None => {
            let mut clocks = Vec::with_capacity(2);
            for kind in [ClockKind::FirstResponse, ClockKind::Resolution] {
                clocks.extend(new_clock(c, cal, &mut found, ticket, kind, now)?);
            }
            begin(c, cal, &mut live, clocks, OPENING_STEP.1, pause, now)?;
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
                        &mut found,
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
                &mut found,
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

/// The clocks a ticket just opened starts, worked out before they are
/// written, so that they go in with its first article (one statement on
/// PostgreSQL). None when opening it takes more than starting them (a ticket
/// opened waiting on someone; a first message that starts or stops a
/// response clock of its own): then [`track_known`] does it all after the
/// article, as for any other change.
pub(crate) fn opening_clocks(
    c: &mut DbConn,
    cal: &Calendar,
    catalogue: Option<std::sync::Arc<crate::store::catalogue::Snapshot>>,
    ticket: &TicketRow,
    message: Message,
    now: NaiveDateTime,
) -> AppResult<Option<Vec<NewClock>>> {
    let to = crate::service::lookup::ticket_state(ticket)?;
    if rules::pause_reason(to).is_some() {
        return Ok(None);
    }
    let mut found = Lookups { catalogue };
    let mut clocks = Vec::with_capacity(2);
    for kind in [ClockKind::FirstResponse, ClockKind::Resolution] {
        clocks.extend(new_clock(c, cal, &mut found, ticket, kind, now)?);
    }
    let response = clocks.iter().any(|k| {
        k.kind == ClockKind::FirstResponse.as_str() || k.kind == ClockKind::NextResponse.as_str()
    });
    let more = match message {
        Message::AgentReply => response,
        Message::Customer => to.is_active() && !response,
        Message::None => false,
    };
    Ok((!more).then(|| clocks.iter().map(new_of).collect()))
}

/// The first step of the clocks [`opening_clocks`] starts.
pub(crate) const OPENING_STEP: (ClockEventKind, &str) = (ClockEventKind::Started, "created");

/// What starting clocks reads (the policies, the queues' calendars), read
/// once per change and only when a clock starts.
#[derive(Default)]
struct Lookups {
    catalogue: Option<std::sync::Arc<crate::store::catalogue::Snapshot>>,
}

impl Lookups {
    fn get(
        &mut self,
        c: &mut DbConn,
    ) -> AppResult<std::sync::Arc<crate::store::catalogue::Snapshot>> {
        if let Some(s) = &self.catalogue {
            return Ok(s.clone());
        }
        let s = crate::store::catalogue::snapshot(c)?;
        self.catalogue = Some(s.clone());
        Ok(s)
    }
}

/// Starts a clock of `kind` under the policy that fits the ticket now (none
/// when no policy fits or it sets no such target); paused at once when the
/// ticket waits on someone.
#[allow(clippy::too_many_arguments)]
fn start(
    c: &mut DbConn,
    cal: &Calendar,
    found: &mut Lookups,
    live: &mut Vec<ClockRow>,
    ticket: &TicketRow,
    kind: ClockKind,
    why: &str,
    pause: Option<PauseReason>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let clock = new_clock(c, cal, found, ticket, kind, now)?;
    begin(c, cal, live, clock.into_iter().collect(), why, pause, now)
}

/// The clock of `kind` the policy that fits the ticket now would start, with
/// its due and warning times (none when no policy fits or it sets no such
/// target); nothing is written.
fn new_clock(
    c: &mut DbConn,
    cal: &Calendar,
    found: &mut Lookups,
    ticket: &TicketRow,
    kind: ClockKind,
    now: NaiveDateTime,
) -> AppResult<Option<ClockRow>> {
    let catalogue = found.get(c)?;
    let policies = &catalogue.policies;
    let matchers: Vec<(i64, Matcher)> = policies.iter().map(|p| (p.id, matcher(p))).collect();
    let Some(policy) = rules::choose(&matchers, ticket.queue_id, ticket.priority, ticket.topic_id)
        .and_then(|id| policies.iter().find(|p| p.id == id))
    else {
        return Ok(None);
    };
    let Some(target) = target_of(policy, kind) else {
        return Ok(None);
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
        calendar_id: catalogue.queue(ticket.queue_id).and_then(|q| q.calendar_id),
    };
    let status = rules::status(
        &calendars::of_clock(c, cal, clock.calendar_id)?,
        &domain_clock(&clock, &[]),
        now,
    );
    clock.due_at = status.due_at;
    clock.warn_at = status.warn_at;
    Ok(Some(clock))
}

/// Writes clocks [`new_clock`] made, each with its first step (`why`), in
/// one statement; paused at once when the ticket waits on someone.
fn begin(
    c: &mut DbConn,
    cal: &Calendar,
    live: &mut Vec<ClockRow>,
    clocks: Vec<ClockRow>,
    why: &str,
    pause: Option<PauseReason>,
    now: NaiveDateTime,
) -> AppResult<()> {
    if clocks.is_empty() {
        return Ok(());
    }
    let news: Vec<NewClock> = clocks.iter().map(new_of).collect();
    let ids =
        store::insert_clocks_with_event(c, &news, ClockEventKind::Started.as_str(), Some(why))?;
    for (mut clock, id) in clocks.into_iter().zip(ids) {
        clock.id = id;
        if let Some(r) = pause {
            pause_clock(c, cal, &mut clock, r, now)?;
        }
        live.push(clock);
    }
    Ok(())
}

/// A clock [`new_clock`] made, as written.
fn new_of(clock: &ClockRow) -> NewClock {
    NewClock {
        ticket_id: clock.ticket_id,
        policy_id: clock.policy_id,
        kind: clock.kind.clone(),
        target_minutes: clock.target_minutes,
        warning_percent: clock.warning_percent,
        state: clock.state.clone(),
        started_at: clock.started_at,
        due_at: clock.due_at,
        warn_at: clock.warn_at,
        updated_at: clock.updated_at,
        calendar_id: clock.calendar_id,
    }
}

fn target_of(policy: &PolicyRow, kind: ClockKind) -> Option<i32> {
    match kind {
        ClockKind::FirstResponse => policy.first_response_minutes,
        ClockKind::NextResponse => policy.next_response_minutes,
        ClockKind::Resolution => policy.resolution_minutes,
    }
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
    let cal = &calendars::of_clock(c, cal, clock.calendar_id)?;
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
