//! Who may do what. Reading is open to all staff (an operator on the phone must
//! see every ticket of the caller); working a ticket depends on its queue.

use super::kinds::{QueueLevel, Role};

/// The signed-in staff member, as the rules need them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub agent_id: i64,
    pub role: Role,
    /// Queues (groups) the agent is a member of.
    pub queues: Vec<i64>,
}

impl Actor {
    pub fn is_member(&self, queue_id: i64) -> bool {
        self.queues.contains(&queue_id)
    }

    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    /// May act on tickets in this queue (assign, reply, escalate, resolve…).
    pub fn can_work(&self, queue_id: i64, level: QueueLevel) -> bool {
        match self.role {
            Role::Supervisor | Role::Admin => true,
            Role::Operator => level == QueueLevel::FirstLevel || self.is_member(queue_id),
            Role::Specialist | Role::CustomerCare => self.is_member(queue_id),
        }
    }

    /// May configure queues, topics, subjects and staff.
    pub fn can_configure(&self) -> bool {
        self.role == Role::Admin
    }

    /// May see the staff list and everyone's workload.
    pub fn can_supervise(&self) -> bool {
        self.sees_everything()
    }

    /// May move a ticket straight to another queue without escalating.
    pub fn can_transfer(&self, from: QueueLevel, to: QueueLevel) -> bool {
        self.sees_everything() || from == to
    }
}

/// A role that can be given a queue's tickets to work.
pub fn role_fits_level(role: Role, level: QueueLevel) -> bool {
    match role {
        Role::Operator => level == QueueLevel::FirstLevel,
        Role::Specialist => matches!(level, QueueLevel::SecondLevel | QueueLevel::BackOffice),
        Role::CustomerCare => level == QueueLevel::CustomerCare,
        Role::Supervisor | Role::Admin => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, queues: &[i64]) -> Actor {
        Actor {
            agent_id: 1,
            role,
            queues: queues.to_vec(),
        }
    }

    #[test]
    fn operators_work_first_level_only() {
        let op = actor(Role::Operator, &[]);
        assert!(op.can_work(1, QueueLevel::FirstLevel));
        assert!(!op.can_work(2, QueueLevel::SecondLevel));
        assert!(!op.can_work(3, QueueLevel::CustomerCare));
    }

    #[test]
    fn specialists_and_care_work_their_own_groups() {
        let sp = actor(Role::Specialist, &[2]);
        assert!(sp.can_work(2, QueueLevel::SecondLevel));
        assert!(!sp.can_work(4, QueueLevel::SecondLevel));
        assert!(!sp.can_work(1, QueueLevel::FirstLevel));
        let cc = actor(Role::CustomerCare, &[3]);
        assert!(cc.can_work(3, QueueLevel::CustomerCare));
        assert!(!cc.can_work(2, QueueLevel::SecondLevel));
    }

    #[test]
    fn only_admins_configure() {
        for role in Role::ALL {
            assert_eq!(actor(*role, &[]).can_configure(), *role == Role::Admin);
        }
        assert!(actor(Role::Supervisor, &[]).can_work(9, QueueLevel::BackOffice));
    }
}
