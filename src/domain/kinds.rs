//! The closed vocabularies of the help desk, stored as text in the database.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Defines an enum stored as snake_case text, with `as_str`, `parse` and `ALL`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// How a request reached the help desk.
    Channel {
        Phone = "phone",
        Email = "email",
        Web = "web",
        Callback = "callback",
        Staff = "staff",
    }
}

text_enum! {
    /// How the operator closed a call's write-up.
    CallOutcome {
        /// Answered during the call: the ticket is resolved at once (first-contact resolution).
        Resolved = "resolved",
        /// Left open at first level.
        Open = "open",
        /// Escalated to second level or customer care.
        Escalated = "escalated",
    }
}

text_enum! {
    /// The level a queue (group) works at.
    QueueLevel {
        FirstLevel = "first_level",
        SecondLevel = "second_level",
        CustomerCare = "customer_care",
        BackOffice = "back_office",
    }
}

impl QueueLevel {
    /// Where a ticket may be escalated to.
    pub fn is_escalation_target(self) -> bool {
        matches!(self, QueueLevel::SecondLevel | QueueLevel::CustomerCare)
    }
}

text_enum! {
    /// What a staff member is.
    Role {
        /// First level: answers calls and mail, closes or escalates.
        Operator = "operator",
        /// Second level: works the groups they belong to.
        Specialist = "specialist",
        /// The client's customer-care team: works its own groups.
        CustomerCare = "customer_care",
        /// Sees and acts on everything, does not configure.
        Supervisor = "supervisor",
        /// Configures queues, topics and staff; acts like a supervisor.
        Admin = "admin",
    }
}

text_enum! {
    /// What kind of entry an article is.
    ArticleKind {
        /// A message from the customer (mail, web form, portal).
        Inbound = "inbound",
        /// A message sent to the customer.
        Outbound = "outbound",
        /// Staff-only note.
        Note = "note",
        /// The write-up of a phone call.
        Phone = "phone",
    }
}

text_enum! {
    /// Things that happen to a ticket, in its append-only history.
    EventKind {
        Created = "created",
        ArticleAdded = "article_added",
        Assigned = "assigned",
        Unassigned = "unassigned",
        StateChanged = "state_changed",
        Escalated = "escalated",
        HandedBack = "handed_back",
        Resolved = "resolved",
        Closed = "closed",
        Reopened = "reopened",
        Merged = "merged",
        MergedInto = "merged_into",
        Linked = "linked",
        Updated = "updated",
        ContactChanged = "contact_changed",
        EmailSent = "email_sent",
        EmailFailed = "email_failed",
        Delegated = "delegated",
        DelegationAnswered = "delegation_answered",
        CallbackRequested = "callback_requested",
        CallbackAttempted = "callback_attempted",
        CallbackCompleted = "callback_completed",
        CallbackFailed = "callback_failed",
        CallbackCancelled = "callback_cancelled",
        PhoneCall = "phone_call",
        Rated = "rated",
        ServicePointsSent = "service_points_sent",
        /// A service-level clock reached its warning threshold and a rule fired.
        SlaWarning = "sla_warning",
        /// A service-level clock passed its due time and a rule fired.
        SlaBreached = "sla_breached",
        /// A reminder to a customer the ticket waits on (`pending_customer`).
        ReminderSent = "reminder_sent",
        /// A reminder was due but the customer has no e-mail address.
        ReminderSkipped = "reminder_skipped",
    }
}

/// Priority; the numeric value orders claim-next (higher first).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: &'static [Priority] = &[
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn rank(self) -> i32 {
        match self {
            Priority::Low => 1,
            Priority::Normal => 2,
            Priority::High => 3,
            Priority::Urgent => 4,
        }
    }

    pub fn from_rank(rank: i32) -> Option<Self> {
        Priority::ALL.iter().copied().find(|p| p.rank() == rank)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(*p));
        }
        assert!(Priority::Urgent > Priority::Low);
    }

    #[test]
    fn serde_uses_the_stored_text() {
        assert_eq!(
            serde_json::to_string(&QueueLevel::CustomerCare).unwrap(),
            "\"customer_care\""
        );
        assert_eq!(serde_json::to_string(&Priority::High).unwrap(), "\"high\"");
    }
}
