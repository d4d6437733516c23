//! The supervisor view: per queue, the backlog by state and by age, the
//! tickets at risk of breaching their service level and those breached, and
//! the agents with their presence and workload. Supervisors and admins only.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::views::{local, local_opt, Ref};
use super::{App, Viewer};
use crate::domain::calendar::Calendar;
use crate::domain::presence::{self, Presence};
use crate::domain::sla::{ClockKind, ClockState};
use crate::domain::supervisor::{buckets, cutoffs};
use crate::domain::{QueueLevel, TicketState};
use crate::error::{AppError, AppResult};
use crate::store::rows::QueueRow;
use crate::store::sla::SlaFilter;
use crate::store::supervisor as store;
use crate::store::{catalogue, DbConn};

/// How many at-risk and breached tickets each queue lists.
pub const MOST_URGENT: usize = 5;

/// Active tickets by age (now − creation). A ticket exactly on a boundary
/// counts in the older bucket.
#[derive(Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct BacklogByAge {
    pub under_1h: i64,
    #[serde(rename = "1h_4h")]
    pub from_1h_to_4h: i64,
    #[serde(rename = "4h_24h")]
    pub from_4h_to_24h: i64,
    #[serde(rename = "1d_3d")]
    pub from_1d_to_3d: i64,
    #[serde(rename = "3d_7d")]
    pub from_3d_to_7d: i64,
    pub over_7d: i64,
}

impl From<[i64; 6]> for BacklogByAge {
    fn from(b: [i64; 6]) -> Self {
        BacklogByAge {
            under_1h: b[0],
            from_1h_to_4h: b[1],
            from_4h_to_24h: b[2],
            from_1d_to_3d: b[3],
            from_3d_to_7d: b[4],
            over_7d: b[5],
        }
    }
}

/// The active ticket of the queue that has waited longest.
#[derive(Debug, Serialize, ToSchema)]
pub struct OldestTicket {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub created_at: DateTime<FixedOffset>,
    pub age_minutes: i64,
}

/// A ticket at risk or breached, with the clock that puts it there.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaTicket {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub assignee: Option<Ref>,
    /// The clock due first among those in the condition.
    pub clock: ClockKind,
    /// `running`, or `breached` for a clock that stopped late.
    pub clock_state: ClockState,
    pub due_at: Option<DateTime<FixedOffset>>,
    /// Business minutes to the due time; negative once overdue (for a clock
    /// stopped late: how late it stopped).
    pub business_minutes_left: i64,
}

/// The queue's service levels: the same conditions as the ticket list's `sla=` filter.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSla {
    /// Active tickets with a running clock past its warning time, not yet due.
    pub at_risk: i64,
    /// Active tickets with a running clock past due, or a clock that stopped late.
    pub breached: i64,
    /// The at-risk tickets due soonest (at most 5).
    pub most_at_risk: Vec<SlaTicket>,
    /// The breached tickets overdue longest (at most 5).
    pub most_breached: Vec<SlaTicket>,
}

/// An agent of the queue: a member, or someone else who has tickets in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueAgent {
    pub id: i64,
    pub name: String,
    /// False: not a member, but has active tickets of the queue assigned.
    pub member: bool,
    /// As seen now (a wrap-up that has run out is `available`); `offline`
    /// for an agent who never set a presence.
    pub presence: Presence,
    /// Since when; null when no presence was ever set.
    pub since: Option<DateTime<FixedOffset>>,
    pub seconds_in_state: Option<i64>,
    /// Active tickets of this queue assigned to the agent.
    pub assigned_tickets: i64,
}

/// One queue as a supervisor watches it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisorQueueView {
    pub id: i64,
    pub name: String,
    pub level: QueueLevel,
    /// Tickets still needing work: new, open, pending_customer,
    /// pending_third_party, escalated.
    pub active_tickets: i64,
    /// Active tickets nobody has taken.
    pub unassigned: i64,
    /// Active tickets per state (every active state, zero included).
    pub by_state: BTreeMap<String, i64>,
    pub backlog_by_age: BacklogByAge,
    /// Null when the queue has no active ticket.
    pub oldest: Option<OldestTicket>,
    pub sla: QueueSla,
    /// Members first, then others with tickets here; by name.
    pub agents: Vec<QueueAgent>,
}

fn allowed(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_supervise() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "the supervisor view is for supervisors and admins",
        ))
    }
}

/// Every active queue.
pub async fn queues(app: &App, viewer: &Viewer) -> AppResult<Vec<SupervisorQueueView>> {
    allowed(viewer)?;
    let (now, tz, cal) = (app.clock.now_db(), viewer.tz, app.config.calendar());
    app.db
        .read(move |c| {
            let queues: Vec<QueueRow> = catalogue::queues(c)?
                .into_iter()
                .filter(|q| q.active)
                .collect();
            overview(c, queues, None, now, tz, &cal)
        })
        .await
}

/// One queue, active or not.
pub async fn queue(app: &App, viewer: &Viewer, id: i64) -> AppResult<SupervisorQueueView> {
    allowed(viewer)?;
    let (now, tz, cal) = (app.clock.now_db(), viewer.tz, app.config.calendar());
    app.db
        .read(move |c| {
            let q = catalogue::queue(c, id)?
                .ok_or_else(|| AppError::not_found(format!("no queue {id}")))?;
            Ok(overview(c, vec![q], Some(id), now, tz, &cal)?
                .pop()
                .expect("one queue in, one view out"))
        })
        .await
}

/// The views of `queues`; `only` narrows every query to one queue.
fn overview(
    c: &mut DbConn,
    queues: Vec<QueueRow>,
    only: Option<i64>,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
    cal: &Calendar,
) -> AppResult<Vec<SupervisorQueueView>> {
    let mut views: Vec<SupervisorQueueView> = queues.iter().map(empty_view).collect();
    let at: HashMap<i64, usize> = queues.iter().enumerate().map(|(i, q)| (q.id, i)).collect();

    // Counts by state, unassigned, by age, and each queue's oldest creation time.
    let mut at_least: HashMap<i64, [i64; 5]> = HashMap::new();
    let mut oldest: HashMap<i64, NaiveDateTime> = HashMap::new();
    for row in store::backlog(c, only, cutoffs(now))? {
        let Some(&i) = at.get(&row.queue_id) else {
            continue;
        };
        let v = &mut views[i];
        v.active_tickets += row.count;
        v.unassigned += row.unassigned;
        *v.by_state.entry(row.state).or_insert(0) += row.count;
        let sums = at_least.entry(row.queue_id).or_insert([0; 5]);
        for (s, n) in sums.iter_mut().zip(row.at_least) {
            *s += n;
        }
        if let Some(t) = row.oldest_created_at {
            let o = oldest.entry(row.queue_id).or_insert(t);
            *o = (*o).min(t);
        }
    }
    for v in &mut views {
        v.backlog_by_age = buckets(
            v.active_tickets,
            at_least.get(&v.id).copied().unwrap_or_default(),
        )
        .into();
    }
    let queue_ids: Vec<i64> = oldest.keys().copied().collect();
    let instants: Vec<NaiveDateTime> = oldest.values().copied().collect();
    for t in store::active_created_at(c, &queue_ids, &instants)? {
        let (Some(&i), Some(&first)) = (at.get(&t.queue_id), oldest.get(&t.queue_id)) else {
            continue;
        };
        // Ties: the lowest id (the rows come in id order).
        if t.created_at == first && views[i].oldest.is_none() {
            views[i].oldest = Some(OldestTicket {
                id: t.id,
                number: t.number,
                subject: t.subject,
                created_at: local(t.created_at, tz),
                age_minutes: (now - t.created_at).num_minutes(),
            });
        }
    }

    // Service levels: counts, then the few most urgent tickets of each queue.
    for (queue_id, n) in store::sla_counts(c, only, SlaFilter::AtRisk, now)? {
        if let Some(&i) = at.get(&queue_id) {
            views[i].sla.at_risk = n;
        }
    }
    for (queue_id, n) in store::sla_counts(c, only, SlaFilter::Breached, now)? {
        if let Some(&i) = at.get(&queue_id) {
            views[i].sla.breached = n;
        }
    }
    let at_risk = most_urgent(store::condition_clocks(c, only, SlaFilter::AtRisk, now)?);
    let breached = most_urgent(store::condition_clocks(c, only, SlaFilter::Breached, now)?);
    let ids: Vec<i64> = at_risk
        .iter()
        .chain(&breached)
        .map(|k| k.ticket_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let briefs: HashMap<i64, store::TicketBrief> = store::briefs(c, ids)?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let mut calendars = crate::service::sla::calendars::Cache::new(cal);
    for (clocks, breached) in [(at_risk, false), (breached, true)] {
        for k in clocks {
            let cal = calendars.get(c, k.calendar_id)?;
            let (Some(&i), Some(b)) = (at.get(&k.queue_id), briefs.get(&k.ticket_id)) else {
                continue;
            };
            let item = sla_ticket(&k, b, now, tz, cal);
            let sla = &mut views[i].sla;
            if breached {
                sla.most_breached.push(item);
            } else {
                sla.most_at_risk.push(item);
            }
        }
    }

    // Agents: members and anyone with active tickets here, with presence.
    let mut load: HashMap<(i64, i64), (bool, i64)> = HashMap::new();
    for (queue_id, agent_id) in store::members(c, only)? {
        load.insert((queue_id, agent_id), (true, 0));
    }
    for (queue_id, agent_id, n) in store::assigned_counts(c, only)? {
        load.entry((queue_id, agent_id)).or_insert((false, 0)).1 = n;
    }
    load.retain(|(q, _), _| at.contains_key(q));
    let agent_ids: Vec<i64> = load
        .keys()
        .map(|(_, a)| *a)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let agents: HashMap<i64, store::AgentPresence> = store::agents_with_presence(c, agent_ids)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    for ((queue_id, agent_id), (member, assigned)) in load {
        let Some(a) = agents.get(&agent_id) else {
            continue;
        };
        let (state, since) = match &a.presence {
            Some((s, since, until)) => {
                let (state, since) = presence::seen(
                    Presence::parse(s).unwrap_or(Presence::Offline),
                    *since,
                    *until,
                    now,
                );
                (state, Some(since))
            }
            None => (Presence::Offline, None),
        };
        views[at[&queue_id]].agents.push(QueueAgent {
            id: agent_id,
            name: a.name.clone(),
            member,
            presence: state,
            since: local_opt(since, tz),
            seconds_in_state: since.map(|s| (now - s).num_seconds()),
            assigned_tickets: assigned,
        });
    }
    for v in &mut views {
        v.agents.sort_by(|a, b| {
            b.member
                .cmp(&a.member)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    Ok(views)
}

fn empty_view(q: &QueueRow) -> SupervisorQueueView {
    SupervisorQueueView {
        id: q.id,
        name: q.name.clone(),
        level: QueueLevel::parse(&q.level).unwrap_or(QueueLevel::FirstLevel),
        active_tickets: 0,
        unassigned: 0,
        by_state: TicketState::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| (s.as_str().to_string(), 0))
            .collect(),
        backlog_by_age: BacklogByAge::default(),
        oldest: None,
        sla: QueueSla {
            at_risk: 0,
            breached: 0,
            most_at_risk: vec![],
            most_breached: vec![],
        },
        agents: vec![],
    }
}

/// Of clocks in due order, the first of each ticket, at most [`MOST_URGENT`] per queue.
fn most_urgent(clocks: Vec<store::ConditionClock>) -> Vec<store::ConditionClock> {
    let mut seen = HashSet::new();
    let mut per_queue: HashMap<i64, usize> = HashMap::new();
    clocks
        .into_iter()
        .filter(|k| {
            let n = per_queue.entry(k.queue_id).or_insert(0);
            if *n >= MOST_URGENT || !seen.insert(k.ticket_id) {
                return false;
            }
            *n += 1;
            true
        })
        .collect()
}

fn sla_ticket(
    k: &store::ConditionClock,
    b: &store::TicketBrief,
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
    cal: &Calendar,
) -> SlaTicket {
    let stopped_late = k.state == ClockState::Breached.as_str();
    let left = match k.due_at {
        Some(due) if !stopped_late && due > now => cal.business_between(now, due).num_minutes(),
        Some(due) => -cal
            .business_between(due, k.stopped_at.unwrap_or(now))
            .num_minutes(),
        None => 0,
    };
    SlaTicket {
        id: b.id,
        number: b.number.clone(),
        subject: b.subject.clone(),
        assignee: b.assignee.clone().map(|(id, name)| Ref { id, name }),
        clock: ClockKind::parse(&k.kind).unwrap_or(ClockKind::Resolution),
        clock_state: if stopped_late {
            ClockState::Breached
        } else {
            ClockState::Running
        },
        due_at: local_opt(k.due_at, tz),
        business_minutes_left: left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::supervisor::BUCKET_NAMES;

    #[test]
    fn backlog_keys_are_the_bucket_names_in_order() {
        let json = serde_json::to_string(&BacklogByAge::from([1, 2, 3, 4, 5, 6])).unwrap();
        let expected = BUCKET_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("\"{n}\":{}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(json, format!("{{{expected}}}"));
    }

    #[test]
    fn most_urgent_keeps_each_ticket_once_and_a_few_per_queue() {
        let clock = |queue_id, ticket_id| store::ConditionClock {
            queue_id,
            ticket_id,
            kind: "resolution".into(),
            state: "running".into(),
            due_at: None,
            stopped_at: None,
            calendar_id: None,
        };
        let mut clocks = vec![clock(1, 10), clock(1, 10), clock(2, 20)];
        clocks.extend((11..20).map(|t| clock(1, t)));
        let kept: Vec<(i64, i64)> = most_urgent(clocks)
            .iter()
            .map(|k| (k.queue_id, k.ticket_id))
            .collect();
        assert_eq!(kept, [(1, 10), (2, 20), (1, 11), (1, 12), (1, 13), (1, 14)]);
    }
}
