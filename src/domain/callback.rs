//! Callbacks (call me now / call me back): booking into slots of business
//! hours with a capacity, offering to the longest-idle available agent, and
//! what happens after each attempt.

use chrono::{Duration, NaiveDateTime};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::Calendar;

super::kinds::text_enum! {
    /// Where a callback is in its life.
    CallbackState {
        /// Waiting for its due time (first call or a retry).
        Scheduled = "scheduled",
        /// Offered to an agent, who has not accepted yet.
        Offered = "offered",
        /// An agent took it and is calling.
        Accepted = "accepted",
        /// The caller was reached.
        Completed = "completed",
        /// Attempts ran out, or the number is wrong.
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl CallbackState {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CallbackState::Scheduled | CallbackState::Offered | CallbackState::Accepted
        )
    }
}

super::kinds::text_enum! {
    /// How one attempt to call went.
    AttemptOutcome {
        Reached = "reached",
        NoAnswer = "no_answer",
        Busy = "busy",
        WrongNumber = "wrong_number",
    }
}

super::kinds::text_enum! {
    /// Call me now, or call me back at a chosen time.
    CallbackMode {
        Now = "now",
        Later = "later",
    }
}

/// Slots and their capacity.
#[derive(Debug, Clone)]
pub struct SlotRules {
    pub length: Duration,
    pub capacity: i64,
}

/// Where a request lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    /// The slot it counts against.
    pub slot_start: NaiveDateTime,
    /// When it should first be offered to an agent.
    pub due_at: NaiveDateTime,
    /// Booked later than asked (outside hours or a full slot).
    pub moved: bool,
}

/// Books a request wanted at `wanted` (now, for call-me-now) into the first
/// slot that contains or follows it and still has room. `taken` tells how
/// many callbacks a slot (by its start) already holds. `None` when the
/// calendar has no room within its horizon.
pub fn book(
    calendar: &Calendar,
    rules: &SlotRules,
    wanted: NaiveDateTime,
    mut taken: impl FnMut(NaiveDateTime) -> i64,
) -> Option<Booking> {
    calendar
        .slots_from(wanted, rules.length)
        .find(|(start, _)| taken(*start) < rules.capacity)
        .map(|(start, _)| {
            let due_at = start.max(wanted);
            Booking {
                slot_start: start,
                due_at,
                moved: due_at != wanted,
            }
        })
}

/// Free places in the slots from `from` on, for the public listing.
pub fn free_slots(
    calendar: &Calendar,
    rules: &SlotRules,
    from: NaiveDateTime,
    count: usize,
    mut taken: impl FnMut(NaiveDateTime) -> i64,
) -> Vec<(NaiveDateTime, NaiveDateTime, i64)> {
    calendar
        .slots_from(from, rules.length)
        .map(|(s, e)| (s, e, (rules.capacity - taken(s)).max(0)))
        .filter(|(_, _, free)| *free > 0)
        .take(count)
        .collect()
}

/// How often, and how far apart, unanswered callbacks are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: i32,
    /// Wait before the 2nd, 3rd… attempt (the last value repeats).
    pub delays: Vec<Duration>,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Completed,
    /// No more attempts; the reason is the last outcome.
    Failed(AttemptOutcome),
    /// Try again, no earlier than this (in business hours).
    Retry(NaiveDateTime),
}

/// Decides after attempt number `attempt` (1-based) ended with `outcome` at `now`.
pub fn after_attempt(
    policy: &RetryPolicy,
    calendar: &Calendar,
    attempt: i32,
    outcome: AttemptOutcome,
    now: NaiveDateTime,
) -> AfterAttempt {
    match outcome {
        AttemptOutcome::Reached => AfterAttempt::Completed,
        AttemptOutcome::WrongNumber => AfterAttempt::Failed(outcome),
        AttemptOutcome::NoAnswer | AttemptOutcome::Busy => {
            if attempt >= policy.max_attempts {
                return AfterAttempt::Failed(outcome);
            }
            let wait = policy
                .delays
                .get((attempt - 1).max(0) as usize)
                .or(policy.delays.last())
                .copied()
                .unwrap_or_else(|| Duration::minutes(30));
            match calendar.next_open(now + wait) {
                Some(at) => AfterAttempt::Retry(at),
                None => AfterAttempt::Failed(outcome),
            }
        }
    }
}

/// An agent who could take a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: i64,
    /// Available since (idle time is measured from here).
    pub idle_since: NaiveDateTime,
}

/// The longest-idle candidate not in `passed` (agents who let this callback
/// go in the current round); when everybody has passed, a new round starts
/// with the longest idle of all.
pub fn pick_agent(candidates: &[Candidate], passed: &[i64]) -> Option<i64> {
    let longest = |it: &mut dyn Iterator<Item = &Candidate>| {
        it.min_by_key(|c| (c.idle_since, c.agent_id))
            .map(|c| c.agent_id)
    };
    longest(&mut candidates.iter().filter(|c| !passed.contains(&c.agent_id)))
        .or_else(|| longest(&mut candidates.iter()))
}

/// The service level of a callback: business time from when it was due to
/// its first attempt (still running when there was none yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackSla {
    pub due_by: Option<NaiveDateTime>,
    pub business_minutes: i64,
    /// `Some(met)` once the first attempt was made or the deadline passed.
    pub met: Option<bool>,
}

pub fn sla(
    calendar: &Calendar,
    target: Duration,
    start: NaiveDateTime,
    first_attempt: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> CallbackSla {
    let due_by = calendar.add_business(start, target);
    let end = first_attempt.unwrap_or(now);
    let business_minutes = calendar.business_between(start, end).num_minutes();
    let met = match (first_attempt, due_by) {
        (Some(at), Some(due)) => Some(at <= due),
        (Some(_), None) => Some(true),
        (None, Some(due)) if now > due => Some(false),
        (None, _) => None,
    };
    CallbackSla {
        due_by,
        business_minutes,
        met,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Week;
    use chrono::TimeZone;

    fn cal() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::Rome,
            Week::parse("mon-fri 09:00-10:00").unwrap(),
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

    fn rules() -> SlotRules {
        SlotRules {
            length: Duration::minutes(30),
            capacity: 2,
        }
    }

    #[test]
    fn booking_within_hours_keeps_the_time() {
        let b = book(&cal(), &rules(), local("2026-11-27 09:10"), |_| 0).unwrap();
        assert_eq!(b.slot_start, local("2026-11-27 09:00"));
        assert_eq!(b.due_at, local("2026-11-27 09:10"));
        assert!(!b.moved);
    }

    #[test]
    fn booking_outside_hours_goes_to_the_next_opening() {
        let b = book(&cal(), &rules(), local("2026-11-27 18:00"), |_| 0).unwrap();
        assert_eq!(b.slot_start, local("2026-11-30 09:00"));
        assert_eq!(b.due_at, local("2026-11-30 09:00"));
        assert!(b.moved);
    }

    #[test]
    fn full_slots_are_skipped() {
        let full = local("2026-11-27 09:00");
        let b = book(&cal(), &rules(), local("2026-11-27 09:10"), |s| {
            if s == full {
                2
            } else {
                1
            }
        })
        .unwrap();
        assert_eq!(b.slot_start, local("2026-11-27 09:30"));
        assert_eq!(b.due_at, local("2026-11-27 09:30"));
        let free = free_slots(&cal(), &rules(), local("2026-11-27 08:00"), 3, |s| {
            if s == full {
                2
            } else {
                1
            }
        });
        assert_eq!(
            free,
            vec![
                (local("2026-11-27 09:30"), local("2026-11-27 10:00"), 1),
                (local("2026-11-30 09:00"), local("2026-11-30 09:30"), 1),
                (local("2026-11-30 09:30"), local("2026-11-30 10:00"), 1),
            ]
        );
    }

    #[test]
    fn retries_follow_the_policy_and_the_calendar() {
        let p = RetryPolicy {
            max_attempts: 3,
            delays: vec![Duration::minutes(15), Duration::minutes(60)],
        };
        let c = cal();
        let now = local("2026-11-27 09:20");
        assert_eq!(
            after_attempt(&p, &c, 1, AttemptOutcome::NoAnswer, now),
            AfterAttempt::Retry(local("2026-11-27 09:35"))
        );
        // One hour later the desk is closed: Monday at opening.
        assert_eq!(
            after_attempt(&p, &c, 2, AttemptOutcome::Busy, now),
            AfterAttempt::Retry(local("2026-11-30 09:00"))
        );
        assert_eq!(
            after_attempt(&p, &c, 3, AttemptOutcome::Busy, now),
            AfterAttempt::Failed(AttemptOutcome::Busy)
        );
        assert_eq!(
            after_attempt(&p, &c, 1, AttemptOutcome::WrongNumber, now),
            AfterAttempt::Failed(AttemptOutcome::WrongNumber)
        );
        assert_eq!(
            after_attempt(&p, &c, 1, AttemptOutcome::Reached, now),
            AfterAttempt::Completed
        );
    }

    #[test]
    fn longest_idle_first_then_a_new_round() {
        let t = local("2026-11-27 09:00");
        let c = [
            Candidate {
                agent_id: 1,
                idle_since: t,
            },
            Candidate {
                agent_id: 2,
                idle_since: t - Duration::minutes(5),
            },
            Candidate {
                agent_id: 3,
                idle_since: t + Duration::minutes(1),
            },
        ];
        assert_eq!(pick_agent(&c, &[]), Some(2));
        assert_eq!(pick_agent(&c, &[2]), Some(1));
        assert_eq!(pick_agent(&c, &[2, 1]), Some(3));
        assert_eq!(pick_agent(&c, &[1, 2, 3]), Some(2));
        assert_eq!(pick_agent(&[], &[]), None);
    }

    #[test]
    fn service_level_in_business_time() {
        let c = cal();
        let start = local("2026-11-27 09:50");
        let target = Duration::minutes(30);
        // Due Monday 09:20: ten minutes on Friday, twenty on Monday.
        let s = sla(&c, target, start, Some(local("2026-11-30 09:15")), start);
        assert_eq!(s.due_by, Some(local("2026-11-30 09:20")));
        assert_eq!(s.business_minutes, 25);
        assert_eq!(s.met, Some(true));
        let s = sla(&c, target, start, None, local("2026-11-30 09:30"));
        assert_eq!(s.met, Some(false));
        assert_eq!(s.business_minutes, 40);
        let s = sla(&c, target, start, None, local("2026-11-28 12:00"));
        assert_eq!(s.met, None);
    }
}
