//! The help desk's rules on their own, with criterion: business-calendar
//! arithmetic, a service-level clock's status from its history, the workflow's
//! decisions, phone-number normalisation and search terms. No I/O; these are
//! the calculations every intake, list and SLA check repeats.
//!
//!     cargo bench --bench domain

use chrono::{Duration, NaiveDate, NaiveDateTime};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sportello::domain::calendar::{Calendar, Week};
use sportello::domain::sla::{status, Clock, Pause};
use sportello::domain::workflow::{decide, Action};
use sportello::domain::{phone, search, TicketState};

fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

fn office() -> Calendar {
    let mut c = Calendar::new(
        chrono_tz::Europe::Rome,
        Week::parse("mon-fri 08:30-13:00 14:00-17:30; sat 09:00-12:00").unwrap(),
    );
    c.holidays = sportello::domain::calendar::parse_yearly("12-01").unwrap();
    c
}

fn calendar(c: &mut Criterion) {
    let cal = office();
    c.bench_function("calendar: add 8 business hours (over a weekend)", |b| {
        b.iter(|| cal.add_business(black_box(at(6, 15, 0)), Duration::hours(8)))
    });
    c.bench_function("calendar: add 40 business hours", |b| {
        b.iter(|| cal.add_business(black_box(at(2, 9, 0)), Duration::hours(40)))
    });
    c.bench_function("calendar: business time over a month", |b| {
        b.iter(|| cal.business_between(black_box(at(2, 9, 0)), black_box(at(31, 18, 0))))
    });
    c.bench_function("calendar: next opening from Saturday night", |b| {
        b.iter(|| cal.next_open(black_box(at(7, 23, 0))))
    });
}

fn sla(c: &mut Criterion) {
    let cal = office();
    let clock = Clock {
        started_at: at(2, 9, 0),
        target: Duration::hours(16),
        warning_percent: 80,
        pauses: vec![
            Pause {
                from: at(2, 11, 0),
                to: Some(at(3, 10, 0)),
            },
            Pause {
                from: at(4, 9, 30),
                to: Some(at(4, 15, 0)),
            },
            Pause {
                from: at(5, 10, 0),
                to: None,
            },
        ],
        stopped_at: None,
        cancelled: false,
    };
    c.bench_function("sla: a clock's status from a history with 3 pauses", |b| {
        b.iter(|| status(&cal, black_box(&clock), black_box(at(6, 12, 0))))
    });
}

fn rules(c: &mut Criterion) {
    c.bench_function("workflow: every action from every state", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for s in TicketState::ALL {
                for a in [
                    Action::Assign,
                    Action::PublicReply,
                    Action::CustomerMessage,
                    Action::Escalate,
                    Action::Resolve,
                    Action::Close,
                    Action::Reopen,
                ] {
                    allowed += decide(black_box(*s), a).is_ok() as u32;
                }
            }
            allowed
        })
    });
    c.bench_function("phone: normalise an Italian number", |b| {
        b.iter(|| phone::normalise(black_box("0039 0577 12 34 56")))
    });
    c.bench_function("search: words and FTS5 query of a Russian phrase", |b| {
        b.iter(|| {
            let text = black_box("Не работает принтер в бухгалтерии");
            (search::words(text), search::fts5_query(text))
        })
    });
}

criterion_group!(benches, calendar, sla, rules);
criterion_main!(benches);
