//! Service levels: which policy applies to a ticket, and the arithmetic of
//! its clocks in business time. A clock's due time is always recomputed from
//! its start, its target and its pauses, so a changed policy or calendar gives
//! the same answer as if it had been in force from the start.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::Calendar;
use super::kinds::text_enum;

text_enum! {
    /// What a clock measures.
    ClockKind {
        /// From the ticket's arrival to the help desk's first public answer.
        FirstResponse = "first_response",
        /// From a customer's message to the next public answer.
        NextResponse = "next_response",
        /// From arrival (or reopening) to resolution.
        Resolution = "resolution",
    }
}

text_enum! {
    /// Where a clock is.
    ClockState {
        /// Counting business time.
        Running = "running",
        /// Waiting on someone else; not counting.
        Paused = "paused",
        /// Stopped in time.
        Met = "met",
        /// Past its due time (still running, or stopped late).
        Breached = "breached",
        /// Its policy no longer has a target of this kind.
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Why a clock waits.
    PauseReason {
        /// The ticket waits on the customer.
        Customer = "customer",
        /// Work delegated to the back office.
        BackOffice = "back_office",
        /// Waiting on a supplier or another third party.
        ThirdParty = "third_party",
    }
}

text_enum! {
    /// One entry of a clock's history.
    ClockEventKind {
        Started = "started",
        Paused = "paused",
        Resumed = "resumed",
        Stopped = "stopped",
        /// Due and warning times recomputed (its policy changed).
        Recomputed = "recomputed",
    }
}

/// What a policy matches on; `None` matches anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Matcher {
    pub queue_id: Option<i64>,
    /// Priority rank.
    pub priority: Option<i32>,
    pub topic_id: Option<i64>,
}

impl Matcher {
    pub fn matches(&self, queue_id: i64, priority: i32, topic_id: Option<i64>) -> bool {
        self.queue_id.is_none_or(|q| q == queue_id)
            && self.priority.is_none_or(|p| p == priority)
            && self.topic_id.is_none_or(|t| Some(t) == topic_id)
    }

    /// How specific the policy is: a topic weighs more than a queue, a queue
    /// more than a priority, so queue+priority+topic > queue+topic >
    /// priority+topic > topic > queue+priority > queue > priority > catch-all.
    pub fn specificity(&self) -> u8 {
        (self.topic_id.is_some() as u8) * 4
            + (self.queue_id.is_some() as u8) * 2
            + self.priority.is_some() as u8
    }
}

/// The most specific of the matching policies (`(id, matcher)`); among equally
/// specific ones the oldest (lowest id) wins.
pub fn choose(
    policies: &[(i64, Matcher)],
    queue_id: i64,
    priority: i32,
    topic_id: Option<i64>,
) -> Option<i64> {
    policies
        .iter()
        .filter(|(_, m)| m.matches(queue_id, priority, topic_id))
        .max_by_key(|(id, m)| (m.specificity(), std::cmp::Reverse(*id)))
        .map(|(id, _)| *id)
}

/// A pause: from `from` until `to` (`None`: still paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: NaiveDateTime,
    pub to: Option<NaiveDateTime>,
}

/// A clock as its history tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub started_at: NaiveDateTime,
    pub target: Duration,
    /// Percent of the target after which the clock is at risk (1–100).
    pub warning_percent: i32,
    /// In order, not overlapping.
    pub pauses: Vec<Pause>,
    pub stopped_at: Option<NaiveDateTime>,
    pub cancelled: bool,
}

/// The running stretches of a clock up to `until` (an open pause lasts until `until`).
fn running_spans(
    start: NaiveDateTime,
    pauses: &[Pause],
    until: NaiveDateTime,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut spans = Vec::new();
    let mut cursor = start;
    for p in pauses {
        if p.from > cursor {
            spans.push((cursor, p.from.min(until)));
        }
        cursor = cursor.max(p.to.unwrap_or(until));
        if cursor >= until {
            break;
        }
    }
    if cursor < until {
        spans.push((cursor, until));
    }
    spans.retain(|(a, b)| a < b);
    spans
}

/// Business time the clock has counted up to `until`.
pub fn counted(
    cal: &Calendar,
    start: NaiveDateTime,
    pauses: &[Pause],
    until: NaiveDateTime,
) -> Duration {
    running_spans(start, pauses, until)
        .into_iter()
        .map(|(a, b)| cal.business_between(a, b))
        .fold(Duration::zero(), |s, d| s + d)
}

/// The instant the clock will have counted `amount` of business time. An open
/// pause is taken to end at `now` (the clock would resume now), so a paused
/// clock shows the earliest its due time can be.
pub fn reach(
    cal: &Calendar,
    start: NaiveDateTime,
    pauses: &[Pause],
    amount: Duration,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let mut left = amount;
    let mut cursor = start;
    for p in pauses {
        if p.from > cursor {
            let here = cal.business_between(cursor, p.from);
            if here >= left && left > Duration::zero() {
                return cal.add_business(cursor, left);
            }
            left -= here;
        }
        cursor = cursor.max(p.to.unwrap_or(now.max(p.from)));
    }
    cal.add_business(cursor, left)
}

/// How a clock stands at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: ClockState,
    pub due_at: Option<NaiveDateTime>,
    pub warn_at: Option<NaiveDateTime>,
    /// Target minus counted business time (negative once breached).
    pub left: Duration,
    /// Running, past the warning threshold, not yet due.
    pub at_risk: bool,
    /// Set once stopped: stopped in time or not.
    pub met: Option<bool>,
}

/// Part `percent` of `target`, to the second.
pub fn warning_amount(target: Duration, percent: i32) -> Duration {
    Duration::seconds(target.num_seconds() * i64::from(percent.clamp(0, 100)) / 100)
}

pub fn status(cal: &Calendar, clock: &Clock, now: NaiveDateTime) -> Status {
    let until = clock.stopped_at.unwrap_or(now);
    let due_at = reach(cal, clock.started_at, &clock.pauses, clock.target, until);
    let warn_at = reach(
        cal,
        clock.started_at,
        &clock.pauses,
        warning_amount(clock.target, clock.warning_percent),
        until,
    );
    let left = clock.target - counted(cal, clock.started_at, &clock.pauses, until);
    let paused = clock.pauses.last().is_some_and(|p| p.to.is_none());
    let late =
        left < Duration::zero() || (left == Duration::zero() && due_at.is_some_and(|d| until > d));
    let met = clock.stopped_at.filter(|_| !clock.cancelled).map(|_| !late);
    let state = if clock.cancelled {
        ClockState::Cancelled
    } else if clock.stopped_at.is_some() {
        if late {
            ClockState::Breached
        } else {
            ClockState::Met
        }
    } else if paused {
        ClockState::Paused
    } else if late {
        ClockState::Breached
    } else {
        ClockState::Running
    };
    let at_risk = state == ClockState::Running && warn_at.is_some_and(|w| now >= w);
    Status {
        state,
        due_at,
        warn_at,
        left,
        at_risk,
        met,
    }
}

/// The pause reason a ticket state implies, if it waits on someone.
pub fn pause_reason(state: super::TicketState) -> Option<PauseReason> {
    match state {
        super::TicketState::PendingCustomer => Some(PauseReason::Customer),
        super::TicketState::PendingThirdParty => Some(PauseReason::ThirdParty),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Week;
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;

    fn cal() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::Rome,
            Week::parse("mon-fri 09:00-13:00 14:00-18:00").unwrap(),
        )
    }

    fn local(s: &str) -> NaiveDateTime {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Rome
            .from_local_datetime(&t)
            .earliest()
            .unwrap()
            .naive_utc()
    }

    fn clock(start: &str, minutes: i64, pauses: &[(&str, Option<&str>)]) -> Clock {
        Clock {
            started_at: local(start),
            target: Duration::minutes(minutes),
            warning_percent: 80,
            pauses: pauses
                .iter()
                .map(|(a, b)| Pause {
                    from: local(a),
                    to: b.map(local),
                })
                .collect(),
            stopped_at: None,
            cancelled: false,
        }
    }

    #[test]
    fn most_specific_policy_wins() {
        let m = |q, p, t| Matcher {
            queue_id: q,
            priority: p,
            topic_id: t,
        };
        let policies = [
            (1, m(None, None, None)),
            (2, m(Some(10), None, None)),
            (3, m(Some(10), Some(3), None)),
            (4, m(None, None, Some(7))),
            (5, m(Some(10), Some(3), Some(7))),
            (6, m(Some(10), None, None)),
        ];
        assert_eq!(choose(&policies, 10, 3, Some(7)), Some(5));
        assert_eq!(choose(&policies, 10, 2, Some(7)), Some(4));
        assert_eq!(choose(&policies, 10, 3, None), Some(3));
        // Two equally specific: the older one.
        assert_eq!(choose(&policies, 10, 1, None), Some(2));
        assert_eq!(choose(&policies, 11, 1, None), Some(1));
        assert_eq!(choose(&policies[1..], 11, 1, None), None);
    }

    #[test]
    fn weekend_counts_no_time() {
        // Friday 27 November 2026 17:00, 4 business hours: 1 h Friday, 3 h Monday.
        let c = clock("2026-11-27 17:00", 240, &[]);
        let s = status(&cal(), &c, local("2026-11-30 09:00"));
        assert_eq!(s.due_at, Some(local("2026-11-30 12:00")));
        // 80 % = 192 min: 1 h Friday + 132 min Monday.
        assert_eq!(s.warn_at, Some(local("2026-11-30 11:12")));
        assert_eq!(s.left, Duration::minutes(180));
        assert_eq!(s.state, ClockState::Running);
        assert!(!s.at_risk);
        let s = status(&cal(), &c, local("2026-11-30 11:30"));
        assert!(s.at_risk);
        let s = status(&cal(), &c, local("2026-11-30 12:01"));
        assert_eq!(s.state, ClockState::Breached);
        assert_eq!(s.left, Duration::minutes(-1));
    }

    #[test]
    fn holidays_count_no_time() {
        // Monday 7 December 17:00, 2 h: 1 h Monday, the Immacolata on Tuesday, 1 h Wednesday.
        let c = clock("2026-12-07 17:00", 120, &[]);
        let s = status(&cal(), &c, local("2026-12-07 17:00"));
        assert_eq!(s.due_at, Some(local("2026-12-09 10:00")));
    }

    #[test]
    fn a_pause_across_a_night_adds_only_business_time() {
        // Started Tuesday 10:00 with 8 h; paused Tuesday 17:00 to Wednesday 10:00:
        // 1 h Tuesday + 1 h Wednesday of business time paused.
        let c = clock(
            "2026-11-24 10:00",
            480,
            &[("2026-11-24 17:00", Some("2026-11-25 10:00"))],
        );
        let s = status(&cal(), &c, local("2026-11-25 10:00"));
        // Without the pause: Wednesday 10:00; with it: 2 business hours later.
        assert_eq!(s.due_at, Some(local("2026-11-25 12:00")));
        assert_eq!(s.left, Duration::minutes(480 - 360));
        // Still paused at Wednesday 10:00: due as if resumed now, time left frozen.
        let open = clock("2026-11-24 10:00", 480, &[("2026-11-24 17:00", None)]);
        let s = status(&cal(), &open, local("2026-11-25 10:00"));
        assert_eq!(s.state, ClockState::Paused);
        assert_eq!(s.due_at, Some(local("2026-11-25 12:00")));
        assert_eq!(s.left, Duration::minutes(480 - 360));
        assert!(!s.at_risk);
    }

    #[test]
    fn a_pause_after_the_due_time_does_not_move_it() {
        let c = clock(
            "2026-11-24 10:00",
            60,
            &[("2026-11-24 12:00", Some("2026-11-24 16:00"))],
        );
        let s = status(&cal(), &c, local("2026-11-24 17:00"));
        assert_eq!(s.due_at, Some(local("2026-11-24 11:00")));
        assert_eq!(s.state, ClockState::Breached);
    }

    #[test]
    fn stopping_decides_met_or_breached() {
        let mut c = clock("2026-11-24 10:00", 60, &[]);
        c.stopped_at = Some(local("2026-11-24 11:00"));
        let s = status(&cal(), &c, local("2026-11-30 10:00"));
        assert_eq!((s.state, s.met), (ClockState::Met, Some(true)));
        c.stopped_at = Some(local("2026-11-24 11:01"));
        let s = status(&cal(), &c, local("2026-11-30 10:00"));
        assert_eq!((s.state, s.met), (ClockState::Breached, Some(false)));
        // Stopped after the due time, even with no business time past it: breached.
        let mut c = clock("2026-11-27 17:00", 60, &[]);
        c.stopped_at = Some(local("2026-11-28 10:00"));
        let s = status(&cal(), &c, local("2026-11-30 10:00"));
        assert_eq!(s.due_at, Some(local("2026-11-27 18:00")));
        assert_eq!(s.state, ClockState::Breached);
    }

    #[test]
    fn pause_reasons_follow_the_ticket_state() {
        use crate::domain::TicketState;
        assert_eq!(
            pause_reason(TicketState::PendingCustomer),
            Some(PauseReason::Customer)
        );
        assert_eq!(pause_reason(TicketState::Open), None);
    }

    /// A random instant in 2026 and a random list of ordered pauses after it.
    fn scenario() -> impl Strategy<Value = (NaiveDateTime, i64, Vec<(i64, i64)>)> {
        (
            0i64..(300 * 24 * 60),
            1i64..(5 * 9 * 60),
            proptest::collection::vec((0i64..3000, 1i64..3000), 0..4),
        )
            .prop_map(|(offset, target, gaps)| {
                let base = NaiveDate::from_ymd_opt(2026, 1, 2)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap();
                (base + Duration::minutes(offset), target, gaps)
            })
    }

    fn pauses_from(start: NaiveDateTime, gaps: &[(i64, i64)]) -> Vec<Pause> {
        let mut t = start;
        gaps.iter()
            .map(|(run, pause)| {
                let from = t + Duration::minutes(*run);
                t = from + Duration::minutes(*pause);
                Pause { from, to: Some(t) }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn due_time_falls_in_opening_hours((start, target, gaps) in scenario()) {
            let c = cal();
            let pauses = pauses_from(start, &gaps);
            let now = pauses.last().and_then(|p| p.to).unwrap_or(start);
            let due = reach(&c, start, &pauses, Duration::minutes(target), now).unwrap();
            // Within an opening interval, or at its very end (a closing time).
            prop_assert!(c.is_open(due - Duration::seconds(1)), "due {due}");
            prop_assert!(due > start);
        }

        #[test]
        fn pausing_never_makes_the_due_time_earlier((start, target, gaps) in scenario()) {
            let c = cal();
            let target = Duration::minutes(target);
            let pauses = pauses_from(start, &gaps);
            let now = pauses.last().and_then(|p| p.to).unwrap_or(start);
            let mut previous = reach(&c, start, &[], target, now).unwrap();
            for n in 1..=pauses.len() {
                let due = reach(&c, start, &pauses[..n], target, now).unwrap();
                prop_assert!(due >= previous, "{n} pauses: {due} < {previous}");
                previous = due;
            }
            // And the due time is exactly when the counted time reaches the target.
            prop_assert_eq!(counted(&c, start, &pauses, previous), target);
        }
    }
}
