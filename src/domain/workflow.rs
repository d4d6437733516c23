//! The ticket state machine. Every state change in Sportello is decided here,
//! in one place: services ask `decide` and either get the next state or a
//! refusal that names the current state and what would have been allowed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

super::kinds::text_enum! {
    /// Where a ticket is in its life.
    TicketState {
        /// Just arrived, nobody has touched it.
        New = "new",
        /// Someone is working on it.
        Open = "open",
        /// Waiting for the customer to answer.
        PendingCustomer = "pending_customer",
        /// Waiting for a third party (back office, supplier).
        PendingThirdParty = "pending_third_party",
        /// Sent to second level or customer care, not yet taken there.
        Escalated = "escalated",
        /// Answered; the customer may still come back.
        Resolved = "resolved",
        /// Done for good (it can still be reopened explicitly).
        Closed = "closed",
        /// Folded into another ticket; read-only from now on.
        Merged = "merged",
    }
}

use TicketState::*;

impl TicketState {
    /// The states a ticket may move to from this one.
    pub fn targets(self) -> &'static [TicketState] {
        match self {
            New => &[
                Open,
                PendingCustomer,
                PendingThirdParty,
                Escalated,
                Resolved,
                Closed,
                Merged,
            ],
            Open => &[
                PendingCustomer,
                PendingThirdParty,
                Escalated,
                Resolved,
                Closed,
                Merged,
            ],
            PendingCustomer => &[Open, PendingThirdParty, Escalated, Resolved, Closed, Merged],
            PendingThirdParty => &[Open, PendingCustomer, Escalated, Resolved, Closed, Merged],
            Escalated => &[
                Open,
                PendingCustomer,
                PendingThirdParty,
                Escalated,
                Resolved,
                Closed,
                Merged,
            ],
            Resolved => &[Open, Closed],
            Closed => &[Open],
            Merged => &[],
        }
    }

    pub fn can_become(self, to: TicketState) -> bool {
        self.targets().contains(&to)
    }

    /// Still needs work from the help desk (counts in backlogs, claimable when unassigned).
    pub fn is_active(self) -> bool {
        !matches!(self, Resolved | Closed | Merged)
    }

    /// May be handed out by claim-next.
    pub fn is_claimable(self) -> bool {
        matches!(self, New | Open | Escalated)
    }

    /// The states an agent may set directly; the others have their own operation.
    pub fn is_directly_settable(self) -> bool {
        matches!(self, Open | PendingCustomer | PendingThirdParty)
    }
}

/// What someone wants to do to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Assign,
    PublicReply,
    InternalNote,
    CustomerMessage,
    SetState(TicketState),
    Escalate,
    HandBack,
    Resolve,
    Close,
    Reopen,
    Merge,
    Update,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Assign => "assign",
            Action::PublicReply => "reply",
            Action::InternalNote => "note",
            Action::CustomerMessage => "customer_message",
            Action::SetState(_) => "set_state",
            Action::Escalate => "escalate",
            Action::HandBack => "hand_back",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Merge => "merge",
            Action::Update => "update",
        }
    }

    const LISTED: &'static [Action] = &[
        Action::Assign,
        Action::PublicReply,
        Action::InternalNote,
        Action::Escalate,
        Action::HandBack,
        Action::Resolve,
        Action::Close,
        Action::Reopen,
        Action::Merge,
        Action::Update,
    ];
}

/// A refused action: carries everything the 409 problem needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub current: TicketState,
    pub action: &'static str,
    pub attempted: Option<TicketState>,
    pub allowed_states: Vec<TicketState>,
    pub allowed_actions: Vec<&'static str>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.attempted {
            Some(to) => write!(f, "a {} ticket cannot become {}", self.current, to)?,
            None => write!(
                f,
                "cannot {} a ticket that is {}",
                self.action, self.current
            )?,
        }
        let allowed: Vec<&str> = self.allowed_states.iter().map(|s| s.as_str()).collect();
        if allowed.is_empty() {
            write!(f, "; it cannot change state any more")
        } else {
            write!(
                f,
                "; from {} it may become: {}",
                self.current,
                allowed.join(", ")
            )
        }
    }
}

/// Decides the state a ticket in `current` ends up in after `action`.
pub fn decide(current: TicketState, action: Action) -> Result<TicketState, Refusal> {
    next_state(current, action).ok_or_else(|| refusal(current, action))
}

fn next_state(current: TicketState, action: Action) -> Option<TicketState> {
    match action {
        Action::Assign => match current {
            New | Escalated => Some(Open),
            Closed | Merged => None,
            other => Some(other),
        },
        Action::PublicReply => match current {
            New | Escalated => Some(Open),
            Merged => None,
            other => Some(other),
        },
        Action::InternalNote | Action::Update => (current != Merged).then_some(current),
        Action::CustomerMessage => match current {
            PendingCustomer | Resolved | Closed => Some(Open),
            Merged => None,
            other => Some(other),
        },
        Action::SetState(to) => {
            (to.is_directly_settable() && (to == current || current.can_become(to))).then_some(to)
        }
        Action::Escalate => current.can_become(Escalated).then_some(Escalated),
        Action::HandBack => matches!(
            current,
            Escalated | Open | PendingCustomer | PendingThirdParty
        )
        .then_some(Open),
        Action::Resolve => current.can_become(Resolved).then_some(Resolved),
        Action::Close => current.can_become(Closed).then_some(Closed),
        Action::Reopen => matches!(current, Resolved | Closed).then_some(Open),
        Action::Merge => current.can_become(Merged).then_some(Merged),
    }
}

fn refusal(current: TicketState, action: Action) -> Refusal {
    let allowed_actions = Action::LISTED
        .iter()
        .copied()
        .filter(|a| *a != action && next_state(current, *a).is_some())
        .map(Action::name)
        .collect();
    Refusal {
        current,
        action: action.name(),
        attempted: match action {
            Action::SetState(to) => Some(to),
            _ => None,
        },
        allowed_states: current.targets().to_vec(),
        allowed_actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_is_terminal() {
        assert!(Merged.targets().is_empty());
        for a in Action::LISTED {
            assert!(decide(Merged, *a).is_err(), "{a:?} on merged");
        }
    }

    #[test]
    fn every_listed_target_is_reachable_by_some_action() {
        let actions = [
            Action::Assign,
            Action::Escalate,
            Action::Resolve,
            Action::Close,
            Action::Reopen,
            Action::Merge,
            Action::SetState(PendingCustomer),
            Action::SetState(PendingThirdParty),
            Action::SetState(Open),
            Action::HandBack,
        ];
        for from in TicketState::ALL {
            for to in from.targets() {
                assert!(
                    actions.iter().any(|a| decide(*from, *a) == Ok(*to)),
                    "{from} -> {to} has no operation"
                );
            }
        }
    }

    #[test]
    fn no_action_leaves_the_table() {
        let mut actions = Action::LISTED.to_vec();
        actions.push(Action::CustomerMessage);
        actions.extend(TicketState::ALL.iter().map(|s| Action::SetState(*s)));
        for from in TicketState::ALL {
            for a in &actions {
                if let Ok(to) = decide(*from, *a) {
                    assert!(to == *from || from.can_become(to), "{a:?}: {from} -> {to}");
                }
            }
        }
    }

    #[test]
    fn customer_message_reopens_resolved_and_pending() {
        assert_eq!(decide(Resolved, Action::CustomerMessage), Ok(Open));
        assert_eq!(decide(PendingCustomer, Action::CustomerMessage), Ok(Open));
        assert_eq!(
            decide(PendingThirdParty, Action::CustomerMessage),
            Ok(PendingThirdParty)
        );
        assert_eq!(decide(New, Action::CustomerMessage), Ok(New));
    }

    #[test]
    fn special_states_need_their_own_operation() {
        assert!(decide(Open, Action::SetState(Resolved)).is_err());
        assert!(decide(Open, Action::SetState(Escalated)).is_err());
        assert_eq!(
            decide(Open, Action::SetState(PendingCustomer)),
            Ok(PendingCustomer)
        );
    }

    #[test]
    fn refusal_names_current_and_allowed() {
        let r = decide(Closed, Action::Resolve).unwrap_err();
        assert_eq!(r.current, Closed);
        assert_eq!(r.allowed_states, vec![Open]);
        assert!(r.allowed_actions.contains(&"reopen"));
        assert!(!r.allowed_actions.contains(&"resolve"));
        assert!(r.to_string().contains("closed"));
    }

    #[test]
    fn claiming_an_escalated_ticket_opens_it() {
        assert_eq!(decide(Escalated, Action::Assign), Ok(Open));
        assert_eq!(decide(PendingCustomer, Action::Assign), Ok(PendingCustomer));
        assert!(decide(Closed, Action::Assign).is_err());
    }
}
