//! Housekeeping rules: when a resolved ticket is closed for good, when a
//! customer we wait on gets a reminder, and when we stop waiting and resolve.
//! Days are calendar days of 24 hours (weekends and holidays count).

use chrono::{Duration, NaiveDateTime};

use super::TicketState;

/// The configured limits, in days; 0 turns a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A resolved ticket is closed this long after it was resolved.
    pub auto_close_days: i64,
    /// A ticket waiting on its customer gets a reminder this long after it
    /// started waiting, and again this long after each reminder.
    pub reminder_days: i64,
    /// A ticket waiting on its customer this long is resolved.
    pub auto_resolve_days: i64,
}

/// What is known about one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub state: TicketState,
    pub resolved_at: Option<NaiveDateTime>,
    /// When it last entered `pending_customer` (meaningful in that state only).
    pub waiting_since: NaiveDateTime,
    /// Reminders due since then (sent, or skipped for want of an address).
    pub reminders: i64,
    /// When the last of them was due and handled.
    pub last_reminder_at: Option<NaiveDateTime>,
}

/// What housekeeping should do to a ticket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Nothing,
    Close,
    /// Send reminder number `n` (1, 2, …).
    Remind(i64),
    AutoResolve,
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

impl Rules {
    /// Resolved tickets resolved at or before this instant are due to be closed.
    pub fn close_cutoff(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        (self.auto_close_days > 0).then(|| now - days(self.auto_close_days))
    }

    /// Tickets waiting on the customer since after this instant have nothing
    /// due yet (neither a first reminder nor resolving).
    pub fn waiting_cutoff(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        [self.reminder_days, self.auto_resolve_days]
            .into_iter()
            .filter(|d| *d > 0)
            .min()
            .map(|d| now - days(d))
    }

    /// Decides what is due. Resolving wins over a reminder due at the same
    /// time; the next reminder counts from the last one, so a job that was
    /// down never sends two in a row.
    pub fn due(&self, f: &Facts, now: NaiveDateTime) -> Due {
        match f.state {
            TicketState::Resolved => match (self.close_cutoff(now), f.resolved_at) {
                (Some(cutoff), Some(at)) if at <= cutoff => Due::Close,
                _ => Due::Nothing,
            },
            TicketState::PendingCustomer => {
                if self.auto_resolve_days > 0
                    && f.waiting_since + days(self.auto_resolve_days) <= now
                {
                    return Due::AutoResolve;
                }
                if self.reminder_days > 0 {
                    let from = f.last_reminder_at.unwrap_or(f.waiting_since);
                    if from + days(self.reminder_days) <= now {
                        return Due::Remind(f.reminders + 1);
                    }
                }
                Due::Nothing
            }
            _ => Due::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    const RULES: Rules = Rules {
        auto_close_days: 7,
        reminder_days: 3,
        auto_resolve_days: 14,
    };

    fn resolved(on: NaiveDateTime) -> Facts {
        Facts {
            state: TicketState::Resolved,
            resolved_at: Some(on),
            waiting_since: on,
            reminders: 0,
            last_reminder_at: None,
        }
    }

    fn waiting(since: NaiveDateTime, reminders: i64, last: Option<NaiveDateTime>) -> Facts {
        Facts {
            state: TicketState::PendingCustomer,
            resolved_at: None,
            waiting_since: since,
            reminders,
            last_reminder_at: last,
        }
    }

    #[test]
    fn resolved_is_closed_at_the_limit_not_before() {
        let f = resolved(at(2, 10));
        assert_eq!(RULES.due(&f, at(9, 9)), Due::Nothing);
        assert_eq!(
            RULES.due(&f, at(9, 10) - Duration::microseconds(1)),
            Due::Nothing
        );
        assert_eq!(RULES.due(&f, at(9, 10)), Due::Close, "exactly 7 days");
        assert_eq!(RULES.due(&f, at(20, 0)), Due::Close);
        let off = Rules {
            auto_close_days: 0,
            ..RULES
        };
        assert_eq!(off.due(&f, at(30, 0)), Due::Nothing);
        assert_eq!(off.close_cutoff(at(30, 0)), None);
        assert_eq!(RULES.close_cutoff(at(9, 10)), Some(at(2, 10)));
    }

    #[test]
    fn other_states_have_nothing_due() {
        for state in [
            TicketState::New,
            TicketState::Open,
            TicketState::PendingThirdParty,
            TicketState::Escalated,
            TicketState::Closed,
            TicketState::Merged,
        ] {
            let f = Facts {
                state,
                ..waiting(at(1, 0), 0, None)
            };
            assert_eq!(RULES.due(&f, at(31, 0)), Due::Nothing, "{state}");
        }
        // A resolved ticket without a resolution time (never in practice) is left alone.
        let f = Facts {
            resolved_at: None,
            ..resolved(at(1, 0))
        };
        assert_eq!(RULES.due(&f, at(31, 0)), Due::Nothing);
    }

    #[test]
    fn reminders_every_three_days_then_resolve_at_fourteen() {
        let since = at(2, 10);
        assert_eq!(RULES.due(&waiting(since, 0, None), at(5, 9)), Due::Nothing);
        assert_eq!(
            RULES.due(&waiting(since, 0, None), at(5, 10)),
            Due::Remind(1),
            "exactly 3 days"
        );
        // Sent a little late: the second counts from the first.
        let first = at(5, 12);
        assert_eq!(
            RULES.due(&waiting(since, 1, Some(first)), at(8, 11)),
            Due::Nothing
        );
        assert_eq!(
            RULES.due(&waiting(since, 1, Some(first)), at(8, 12)),
            Due::Remind(2)
        );
        // Reminders 3 and 4 on the 11th and 14th; the 16th at 10:00 is 14 days.
        assert_eq!(
            RULES.due(&waiting(since, 4, Some(at(14, 12))), at(16, 9)),
            Due::Nothing
        );
        assert_eq!(
            RULES.due(&waiting(since, 4, Some(at(14, 12))), at(16, 10)),
            Due::AutoResolve
        );
    }

    #[test]
    fn a_job_that_was_down_sends_one_reminder_not_a_burst() {
        let since = at(2, 10);
        assert_eq!(
            RULES.due(&waiting(since, 0, None), at(12, 0)),
            Due::Remind(1)
        );
        assert_eq!(
            RULES.due(&waiting(since, 1, Some(at(12, 0))), at(12, 0)),
            Due::Nothing
        );
    }

    #[test]
    fn resolving_wins_over_a_reminder_due_at_the_same_time() {
        let rules = Rules {
            reminder_days: 7,
            ..RULES
        };
        let since = at(1, 0);
        let f = waiting(since, 1, Some(at(8, 0)));
        assert_eq!(rules.due(&f, at(15, 0)), Due::AutoResolve);
        // Long overdue with no reminder sent at all: resolve, do not remind.
        assert_eq!(
            RULES.due(&waiting(since, 0, None), at(20, 0)),
            Due::AutoResolve
        );
    }

    #[test]
    fn disabled_rules() {
        let since = at(1, 0);
        let no_reminders = Rules {
            reminder_days: 0,
            ..RULES
        };
        assert_eq!(
            no_reminders.due(&waiting(since, 0, None), at(14, 23)),
            Due::Nothing
        );
        assert_eq!(
            no_reminders.due(&waiting(since, 0, None), at(15, 0)),
            Due::AutoResolve
        );
        assert_eq!(no_reminders.waiting_cutoff(at(15, 0)), Some(at(1, 0)));
        let no_resolve = Rules {
            auto_resolve_days: 0,
            ..RULES
        };
        // Reminders go on every three days for as long as it waits.
        assert_eq!(
            no_resolve.due(&waiting(since, 9, Some(at(28, 0))), at(31, 0)),
            Due::Remind(10)
        );
        let nothing = Rules {
            auto_close_days: 0,
            reminder_days: 0,
            auto_resolve_days: 0,
        };
        assert_eq!(
            nothing.due(&waiting(since, 0, None), at(31, 0)),
            Due::Nothing
        );
        assert_eq!(nothing.waiting_cutoff(at(31, 0)), None);
        assert_eq!(RULES.waiting_cutoff(at(5, 0)), Some(at(2, 0)));
    }
}
