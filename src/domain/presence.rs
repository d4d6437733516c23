//! Agent presence: only agents "available" are offered calls. The CTI moves
//! agents into and out of calls; wrap-up after a call ends by itself.

use chrono::{Duration, NaiveDateTime};

super::kinds::text_enum! {
    /// What an agent is doing.
    Presence {
        Available = "available",
        OnCall = "on_call",
        WrapUp = "wrap_up",
        Away = "away",
        Offline = "offline",
    }
}

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What moves presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceEvent {
    /// The agent chose a state (on_call is the CTI's to set).
    Set(Presence),
    CallAnswered,
    CallEnded,
}

/// The next presence, and until when wrap-up lasts; `None` when the change is refused.
pub fn next(
    current: Presence,
    event: PresenceEvent,
    now: NaiveDateTime,
    wrap_up: Duration,
) -> Option<(Presence, Option<NaiveDateTime>)> {
    match event {
        PresenceEvent::Set(Presence::OnCall) => None,
        PresenceEvent::Set(Presence::WrapUp) => {
            (current == Presence::OnCall).then_some((Presence::WrapUp, Some(now + wrap_up)))
        }
        PresenceEvent::Set(to) => Some((to, None)),
        PresenceEvent::CallAnswered => Some((Presence::OnCall, None)),
        PresenceEvent::CallEnded => match current {
            Presence::OnCall => Some((Presence::WrapUp, Some(now + wrap_up))),
            other => Some((other, None)),
        },
    }
}

/// Presence as seen now: a wrap-up that has run out is available again.
pub fn effective(
    state: Presence,
    wrap_up_until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Presence {
    match (state, wrap_up_until) {
        (Presence::WrapUp, Some(until)) if until <= now => Presence::Available,
        (s, _) => s,
    }
}

/// Presence as seen now and since when: a wrap-up that has run out has been
/// "available" since it ended.
pub fn seen(
    state: Presence,
    since: NaiveDateTime,
    wrap_up_until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> (Presence, NaiveDateTime) {
    let now_state = effective(state, wrap_up_until, now);
    if now_state != state {
        (now_state, wrap_up_until.unwrap_or(since))
    } else {
        (state, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn a_call_cycle() {
        let w = Duration::seconds(60);
        let (s, _) = next(
            Presence::Available,
            PresenceEvent::CallAnswered,
            at(9, 0),
            w,
        )
        .unwrap();
        assert_eq!(s, Presence::OnCall);
        let (s, until) = next(s, PresenceEvent::CallEnded, at(9, 5), w).unwrap();
        assert_eq!((s, until), (Presence::WrapUp, Some(at(9, 6))));
        assert_eq!(effective(s, until, at(9, 5)), Presence::WrapUp);
        assert_eq!(effective(s, until, at(9, 6)), Presence::Available);
        assert_eq!(
            seen(s, at(9, 5), until, at(9, 30)),
            (Presence::Available, at(9, 6))
        );
        assert_eq!(seen(s, at(9, 5), until, at(9, 5)), (s, at(9, 5)));
    }

    #[test]
    fn agents_cannot_claim_to_be_on_a_call() {
        let w = Duration::seconds(60);
        assert_eq!(
            next(
                Presence::Available,
                PresenceEvent::Set(Presence::OnCall),
                at(9, 0),
                w
            ),
            None
        );
        assert_eq!(
            next(
                Presence::Available,
                PresenceEvent::Set(Presence::WrapUp),
                at(9, 0),
                w
            ),
            None
        );
        assert_eq!(
            next(
                Presence::OnCall,
                PresenceEvent::Set(Presence::Away),
                at(9, 0),
                w
            ),
            Some((Presence::Away, None))
        );
        assert_eq!(
            next(Presence::Away, PresenceEvent::CallEnded, at(9, 0), w),
            Some((Presence::Away, None))
        );
    }
}
