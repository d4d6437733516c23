//! Escalation rules: what happens when a service-level clock of a ticket in a
//! queue reaches its warning threshold or its due time. A rule fires once per
//! clock (the store enforces it); this module decides which steps a firing
//! takes, in which order, and when people may be told.

use chrono::NaiveDateTime;

use super::calendar::Calendar;
use super::kinds::text_enum;
use super::sla::ClockKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

text_enum! {
    /// When a rule fires.
    Trigger {
        /// The clock passed its warning threshold (at risk).
        Warning = "warning",
        /// The clock passed its due time (breached).
        Breach = "breach",
    }
}

/// A rule as the domain needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub on: Trigger,
    /// Only clocks of this kind (`None`: any clock).
    pub clock_kind: Option<ClockKind>,
    pub notify_assignee: bool,
    pub notify_supervisor: bool,
    pub raise_priority: bool,
    /// The queue to escalate to.
    pub escalate_to: Option<i64>,
}

/// Who is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Assignee,
    Supervisor,
}

/// One thing a firing does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Notify(Recipient),
    RaisePriority,
    Escalate(i64),
}

impl Rule {
    /// The rule does something.
    pub fn has_action(&self) -> bool {
        self.notify_assignee
            || self.notify_supervisor
            || self.raise_priority
            || self.escalate_to.is_some()
    }

    /// The steps of a firing, in order: the assignee is told before an
    /// escalation takes the ticket from them; the priority is raised before
    /// the ticket lands in the next queue, so it is claimed first there; the
    /// supervisor hears last, when the notice can say what was done.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        if self.notify_assignee {
            steps.push(Step::Notify(Recipient::Assignee));
        }
        if self.raise_priority {
            steps.push(Step::RaisePriority);
        }
        if let Some(q) = self.escalate_to {
            steps.push(Step::Escalate(q));
        }
        if self.notify_supervisor {
            steps.push(Step::Notify(Recipient::Supervisor));
        }
        steps
    }
}

/// Why a rule fired, as the ticket's history says it.
pub fn reason(on: Trigger, kind: ClockKind, due_local: &str) -> String {
    let target = match kind {
        ClockKind::FirstResponse => "first response",
        ClockKind::NextResponse => "next response",
        ClockKind::Resolution => "resolution",
    };
    match on {
        Trigger::Warning => format!("{target} target at risk: due {due_local}"),
        Trigger::Breach => format!("{target} target breached: was due {due_local}"),
    }
}

/// When a notice to people may go out: now if the calendar is open (a 24/7
/// calendar always is), else at its next opening, so nobody gets an
/// escalation e-mail at midnight.
pub fn notice_time(calendar: &Calendar, now: NaiveDateTime) -> NaiveDateTime {
    calendar.next_open(now).unwrap_or(now).max(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Week;
    use chrono::TimeZone;

    fn rule() -> Rule {
        Rule {
            on: Trigger::Breach,
            clock_kind: None,
            notify_assignee: false,
            notify_supervisor: false,
            raise_priority: false,
            escalate_to: None,
        }
    }

    /// A UTC instant from a Rome wall-clock time.
    fn rome(s: &str) -> NaiveDateTime {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Rome
            .from_local_datetime(&t)
            .unwrap()
            .naive_utc()
    }

    fn calendar(hours: &str) -> Calendar {
        Calendar::new(chrono_tz::Europe::Rome, Week::parse(hours).unwrap())
    }

    #[test]
    fn steps_tell_the_assignee_before_escalating_and_the_supervisor_last() {
        let all = Rule {
            notify_assignee: true,
            notify_supervisor: true,
            raise_priority: true,
            escalate_to: Some(7),
            ..rule()
        };
        assert_eq!(
            all.steps(),
            vec![
                Step::Notify(Recipient::Assignee),
                Step::RaisePriority,
                Step::Escalate(7),
                Step::Notify(Recipient::Supervisor),
            ]
        );
        assert!(rule().steps().is_empty());
        assert!(!rule().has_action());
        assert!(all.has_action());
    }

    #[test]
    fn notices_wait_for_the_next_opening() {
        let office = calendar("mon-fri 09:00-18:00");
        // Friday 23:40 → Monday 09:00.
        assert_eq!(
            notice_time(&office, rome("2026-03-06 23:40")),
            rome("2026-03-09 09:00")
        );
        // Open: now.
        assert_eq!(
            notice_time(&office, rome("2026-03-09 10:15")),
            rome("2026-03-09 10:15")
        );
        // Easter Monday 2026 (6 April) is a national holiday.
        assert_eq!(
            notice_time(&office, rome("2026-04-05 20:00")),
            rome("2026-04-07 09:00")
        );
        // A 24/7 queue is told at once, even at midnight on Christmas.
        let mut always = calendar("24/7");
        always.italian_holidays = false;
        assert_eq!(
            notice_time(&always, rome("2026-12-25 00:05")),
            rome("2026-12-25 00:05")
        );
    }

    #[test]
    fn reasons_name_the_target() {
        assert_eq!(
            reason(Trigger::Warning, ClockKind::FirstResponse, "10:48"),
            "first response target at risk: due 10:48"
        );
        assert_eq!(
            reason(Trigger::Breach, ClockKind::Resolution, "2026-03-02 12:00"),
            "resolution target breached: was due 2026-03-02 12:00"
        );
    }
}
