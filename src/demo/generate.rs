//! What a generated help desk looks like, with no I/O: contacts in four
//! languages, and tickets spread over the last years whose states, articles
//! and history agree with each other (old tickets are mostly closed, the
//! active ones recent). The same seed gives the same rows.

use chrono::{Datelike, Duration, NaiveDateTime};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::words::{people, words};
use crate::domain::calendar::Calendar;
use crate::domain::contact::{search_key, SearchFields};
use crate::domain::escalation::Trigger;
use crate::domain::housekeeping::{Due as Housekeeping, Facts, Rules as HousekeepingRules};
use crate::domain::sla::{self as rules, ClockKind, ClockState, Matcher, Pause, PauseReason};
use crate::domain::EventKind;
use crate::domain::{number, Channel, QueueLevel, TicketState};
use crate::store::bulk::{
    Article, Attachment, Batch, CatalogueRows, ClockEvent, Contact, Cursor, Event, Firing,
    MailThread, SlaClock, Ticket,
};

/// The domain of the help desk's own Message-IDs in generated mail.
const OWN_DOMAIN: &str = "sportello.localhost";

/// How far back generated tickets go.
pub const YEARS: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    It,
    En,
    Ru,
    Cs,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Cs => "cs",
        }
    }
}

/// The language of the n-th generated contact: 60 % Italian, 20 % English,
/// 10 % Russian, 10 % Czech. A pure function of the position, so a ticket
/// speaks its contact's language without looking the contact up.
pub fn language_of(index: u64) -> Lang {
    match index % 20 {
        0..=11 => Lang::It,
        12..=15 => Lang::En,
        16 | 17 => Lang::Ru,
        _ => Lang::Cs,
    }
}

fn one(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A mobile number in E.164, as the app stores it after normalising, drawn
/// from ranges libphonenumber accepts as valid.
fn phone(rng: &mut StdRng, lang: Lang) -> String {
    let (prefix, second, digits): (&str, &[u8], usize) = match lang {
        Lang::It => ("+393", &[2, 3, 4, 8], 8),
        Lang::En => ("+4477", &[1, 2, 3, 4, 5, 6, 7], 7),
        Lang::Ru => ("+79", &[0, 1, 2, 5, 6, 8], 8),
        Lang::Cs => ("+4207", &[2, 3, 7, 9], 7),
    };
    let mut p = String::from(prefix);
    p.push(char::from(b'0' + *pick(rng, second)));
    for _ in 0..digits {
        p.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    p
}

/// The contact at `index` (0-based within this run) with database id `id`.
pub fn contact(rng: &mut StdRng, index: u64, id: i64, now: NaiveDateTime) -> Contact {
    let lang = language_of(index);
    let p = people(lang);
    let fi = rng.gen_range(0..p.first.len());
    let (first, first_ascii) = p.first[fi];
    let (male, female) = *pick(rng, p.last);
    let (last, last_ascii) = if fi < p.male { male } else { female };
    let name = format!("{first} {last}");
    let city = one(rng, p.cities).to_string();
    // The id makes the address unique, as contact_emails requires.
    let email = rng
        .gen_bool(0.9)
        .then(|| format!("{first_ascii}.{last_ascii}.{id}@{}", p.domain));
    let phone = rng.gen_bool(0.8).then(|| phone(rng, lang));
    let emails: Vec<String> = email.iter().cloned().collect();
    let phones: Vec<String> = phone.iter().cloned().collect();
    let key = search_key(&SearchFields {
        name: &name,
        organisation: "",
        city: &city,
        address: "",
        contract_number: None,
        external_key: None,
        emails: &emails,
        phones: &phones,
    });
    let created_at = now - Duration::seconds(rng.gen_range(0..YEARS * 365 * 86_400 + 86_400 * 90));
    Contact {
        id,
        name,
        city,
        language: lang.code(),
        search_key: key,
        email,
        phone,
        created_at,
    }
}

/// Fills `{}` with the thing and `{n}` with a number.
fn fill(template: &str, thing: &str, rng: &mut StdRng) -> String {
    let with_thing = template.replace("{}", thing);
    if with_thing.contains("{n}") {
        with_thing.replace("{n}", &rng.gen_range(2..400).to_string())
    } else {
        with_thing
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The catalogue tickets are routed over, grouped for quick picking.
#[derive(Debug, Clone)]
pub struct Routing {
    queues: Vec<QueueInfo>,
    agents: Vec<i64>,
}

#[derive(Debug, Clone)]
struct QueueInfo {
    id: i64,
    level: QueueLevel,
    members: Vec<i64>,
    topics: Vec<i64>,
}

impl Routing {
    pub fn new(rows: &CatalogueRows) -> Option<Routing> {
        let queues: Vec<QueueInfo> = rows
            .queues
            .iter()
            .map(|(id, level)| QueueInfo {
                id: *id,
                level: QueueLevel::parse(level).unwrap_or(QueueLevel::FirstLevel),
                members: rows
                    .members
                    .iter()
                    .filter(|(q, _)| q == id)
                    .map(|(_, a)| *a)
                    .collect(),
                topics: rows
                    .topics
                    .iter()
                    .filter(|(_, q)| q == id)
                    .map(|(t, _)| *t)
                    .collect(),
            })
            .collect();
        (!queues.is_empty()).then(|| Routing {
            queues,
            agents: rows.agents.clone(),
        })
    }

    /// Most requests land at first level; every queue gets some.
    fn queue(&self, rng: &mut StdRng) -> &QueueInfo {
        let first: Vec<&QueueInfo> = self
            .queues
            .iter()
            .filter(|q| q.level == QueueLevel::FirstLevel)
            .collect();
        if !first.is_empty() && rng.gen_bool(0.5) {
            return first[rng.gen_range(0..first.len())];
        }
        pick(rng, &self.queues)
    }

    fn first_level(&self, rng: &mut StdRng) -> Option<i64> {
        let first: Vec<i64> = self
            .queues
            .iter()
            .filter(|q| q.level == QueueLevel::FirstLevel)
            .map(|q| q.id)
            .collect();
        (!first.is_empty()).then(|| *pick(rng, &first))
    }

    fn member(&self, rng: &mut StdRng, q: &QueueInfo) -> Option<i64> {
        if !q.members.is_empty() {
            Some(*pick(rng, &q.members))
        } else if !self.agents.is_empty() {
            Some(*pick(rng, &self.agents))
        } else {
            None
        }
    }
}

/// What gives generated tickets the service-level clocks intake and the
/// workflow would have run on them, and the escalation rules that would
/// have fired since: a database of a million tickets has their clocks, and
/// a server started on it has no backlog of old breaches to fire.
pub struct Levels {
    policies: Vec<Policy>,
    /// The policies' matchers, by their index in `policies`.
    matchers: Vec<(i64, Matcher)>,
    queue_calendars: std::collections::HashMap<i64, (i64, Calendar)>,
    desk: Calendar,
    rules: Vec<LevelRule>,
}

/// A policy: what it matches on, and its targets.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: i64,
    pub matcher: Matcher,
    pub first_response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub warning_percent: i32,
}

/// An active escalation rule, and the actions a firing records.
#[derive(Debug, Clone)]
pub struct LevelRule {
    pub id: i64,
    pub queue_id: i64,
    /// `None`: clocks of any kind.
    pub clock_kind: Option<ClockKind>,
    pub on: Trigger,
    pub actions: std::sync::Arc<str>,
}

/// What a generated ticket's history says to its clocks.
struct Course {
    ticket_id: i64,
    /// Where it was opened (its clocks' policy and calendar) and where it is now.
    opened_in: i64,
    queue_id: i64,
    priority: i32,
    topic_id: Option<i64>,
    created: NaiveDateTime,
    /// The help desk's first public answer.
    first_reply: Option<NaiveDateTime>,
    /// Since when, and why, it waits on someone.
    paused: Option<(NaiveDateTime, PauseReason)>,
    /// When it stopped being active (resolved or merged), and as what.
    ended: Option<(NaiveDateTime, &'static str)>,
}

impl Levels {
    /// `policies` are the active ones; `queue_calendars` gives the calendar
    /// a queue's clocks count on and its id (queues not there count on the
    /// `desk`'s); `rules` are the active escalation rules.
    pub fn new(
        policies: Vec<Policy>,
        queue_calendars: std::collections::HashMap<i64, (i64, Calendar)>,
        desk: Calendar,
        rules: Vec<LevelRule>,
    ) -> Levels {
        let matchers = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (i as i64, p.matcher))
            .collect();
        Levels {
            policies,
            matchers,
            queue_calendars,
            desk,
            rules,
        }
    }

    /// The first-response and resolution clocks of a ticket, each with its
    /// history, as [`crate::service::sla`] would have written them step by
    /// step; and the firings of the rules whose moment has passed on a clock
    /// still running. Not generated: next-response clocks, and what a
    /// firing did (notices, a raised priority, an escalation); the firing
    /// itself is recorded, so it is not done again.
    fn clocks(&self, t: &Course, now: NaiveDateTime, cursor: &mut Cursor, batch: &mut Batch) {
        // Policies are told apart by index here, so that ties go to the
        // older one as they do by id.
        let Some(i) = rules::choose(&self.matchers, t.opened_in, t.priority, t.topic_id) else {
            return;
        };
        let policy = &self.policies[i as usize];
        let (calendar_id, cal) = match self.queue_calendars.get(&t.opened_in) {
            Some((id, cal)) => (Some(*id), cal),
            None => (None, &self.desk),
        };
        for kind in [ClockKind::FirstResponse, ClockKind::Resolution] {
            let target = match kind {
                ClockKind::FirstResponse => policy.first_response_minutes,
                _ => policy.resolution_minutes,
            };
            let Some(target) = target else { continue };
            let stop = match kind {
                ClockKind::FirstResponse => t
                    .first_reply
                    .filter(|r| t.ended.is_none_or(|(e, _)| *r <= e))
                    .map(|r| (r, "reply"))
                    .or(t.ended),
                _ => t.ended,
            };
            let pause = t.paused.filter(|(at, _)| stop.is_none_or(|(s, _)| *at < s));
            let id = cursor.clock;
            cursor.clock += 1;
            let mut clock = rules::Clock {
                started_at: t.created,
                target: Duration::minutes(target.into()),
                warning_percent: policy.warning_percent,
                pauses: vec![],
                stopped_at: None,
                cancelled: false,
            };
            // Each step records the due time it leaves, as the service does.
            let mut step = |clock: &rules::Clock, kind, reason, at| {
                let status = rules::status(cal, clock, at);
                batch.clock_events.push(ClockEvent {
                    clock_id: id,
                    kind,
                    reason,
                    due_at: status.due_at,
                    at,
                });
                status
            };
            let mut status = step(&clock, "started", Some("created"), t.created);
            let mut updated_at = t.created;
            if let Some((at, reason)) = pause {
                clock.pauses.push(Pause { from: at, to: None });
                status = step(&clock, "paused", Some(reason.as_str()), at);
                updated_at = at;
            }
            if let Some((at, why)) = stop {
                updated_at = at;
                if let Some(p) = clock.pauses.last_mut() {
                    p.to = Some(at);
                    step(&clock, "resumed", Some(why), at);
                }
                clock.stopped_at = Some(at);
                status = step(&clock, "stopped", Some(why), at);
            }
            let state = match status.state {
                ClockState::Breached if clock.stopped_at.is_none() => ClockState::Running,
                s => s,
            };
            if state == ClockState::Running {
                for rule in self
                    .rules
                    .iter()
                    .filter(|r| r.queue_id == t.queue_id && r.clock_kind.is_none_or(|k| k == kind))
                {
                    let moment = match rule.on {
                        Trigger::Warning => status.warn_at,
                        Trigger::Breach => status.due_at,
                    };
                    if let Some(at) = moment.filter(|m| *m <= now) {
                        batch.firings.push(Firing {
                            rule_id: rule.id,
                            clock_id: id,
                            ticket_id: t.ticket_id,
                            fired_at: at,
                            actions: rule.actions.clone(),
                        });
                    }
                }
            }
            batch.clocks.push(SlaClock {
                id,
                ticket_id: t.ticket_id,
                policy_id: policy.id,
                kind: kind.as_str(),
                target_minutes: target,
                warning_percent: policy.warning_percent,
                state: state.as_str(),
                started_at: t.created,
                due_at: status.due_at,
                warn_at: status.warn_at,
                stopped_at: clock.stopped_at,
                updated_at,
                calendar_id,
            });
        }
    }
}

/// Everything a run's tickets share.
pub struct Plan<'a> {
    pub routing: &'a Routing,
    pub levels: &'a Levels,
    /// What housekeeping does to tickets left waiting or resolved.
    pub housekeeping: HousekeepingRules,
    pub now: NaiveDateTime,
    /// Tickets in the whole run, to spread their creation over [`YEARS`].
    pub total: u64,
    /// Where this run's contacts start and how many there are.
    pub first_contact_id: i64,
    pub contacts: u64,
    /// Ticket numbers follow the year in the help desk's time zone.
    pub tz: Tz,
}

/// The state of a ticket of this age: mostly done when old, mixed when recent.
pub fn state_for_age(rng: &mut StdRng, age: Duration) -> TicketState {
    use TicketState::*;
    let table: &[(TicketState, u32)] = if age > Duration::days(60) {
        &[
            (Closed, 880),
            (Resolved, 50),
            (Merged, 10),
            (Open, 20),
            (PendingCustomer, 15),
            (PendingThirdParty, 25),
        ]
    } else if age > Duration::days(14) {
        &[
            (Closed, 520),
            (Resolved, 250),
            (Merged, 20),
            (Open, 60),
            (PendingCustomer, 60),
            (PendingThirdParty, 50),
            (Escalated, 40),
        ]
    } else {
        &[
            (New, 200),
            (Open, 200),
            (PendingCustomer, 110),
            (PendingThirdParty, 70),
            (Escalated, 100),
            (Resolved, 200),
            (Closed, 100),
            (Merged, 20),
        ]
    };
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.gen_range(0..total);
    for (s, w) in table {
        if r < *w {
            return *s;
        }
        r -= w;
    }
    Closed
}

fn channel(rng: &mut StdRng) -> Channel {
    match rng.gen_range(0..100) {
        0..=39 => Channel::Phone,
        40..=69 => Channel::Email,
        70..=84 => Channel::Web,
        85..=89 => Channel::Callback,
        _ => Channel::Staff,
    }
}

fn priority(rng: &mut StdRng) -> i32 {
    match rng.gen_range(0..100) {
        0..=14 => 1,
        15..=79 => 2,
        80..=94 => 3,
        _ => 4,
    }
}

/// When the `index`-th of `total` tickets was created: evenly over the last
/// [`YEARS`], in order, so ids and numbers grow with time.
pub fn created_at(rng: &mut StdRng, index: u64, total: u64, now: NaiveDateTime) -> NaiveDateTime {
    let span = YEARS * 365 * 86_400;
    let position = (index as f64 + rng.gen::<f64>()) / total as f64;
    let seconds = (position * span as f64) as i64;
    now - Duration::seconds(span) + Duration::seconds(seconds.min(span))
}

/// A growing timeline that never passes `now`.
struct Clock {
    at: NaiveDateTime,
    now: NaiveDateTime,
}

impl Clock {
    /// Moves on by up to `max`, but leaves room for `steps_left` more moves before now.
    fn advance(&mut self, rng: &mut StdRng, max: Duration, steps_left: i64) -> NaiveDateTime {
        let room = (self.now - self.at).num_seconds() / (steps_left + 1);
        let step = rng.gen_range(0..=max.num_seconds().min(room).max(0));
        self.at += Duration::seconds(step);
        self.at
    }
}

fn event(
    b: &mut Batch,
    ticket_id: i64,
    kind: &'static str,
    actor: Option<i64>,
    data: serde_json::Value,
    at: NaiveDateTime,
) {
    b.events.push(Event {
        ticket_id,
        kind,
        actor_agent_id: actor,
        data: data.to_string(),
        created_at: at,
    });
}

fn state_changed(
    b: &mut Batch,
    id: i64,
    actor: Option<i64>,
    from: TicketState,
    to: TicketState,
    at: NaiveDateTime,
) {
    event(
        b,
        id,
        "state_changed",
        actor,
        json!({"from": from, "to": to}),
        at,
    );
}

impl Plan<'_> {
    /// The reminders housekeeping sent to a customer waited on since
    /// `since`, each at the moment it fell due; and when it resolved the
    /// ticket for the wait (`None`: still waiting).
    fn waited(&self, batch: &mut Batch, id: i64, since: NaiveDateTime) -> Option<NaiveDateTime> {
        let rules = &self.housekeeping;
        let mut facts = Facts {
            state: TicketState::PendingCustomer,
            resolved_at: None,
            waiting_since: since,
            reminders: 0,
            last_reminder_at: None,
        };
        loop {
            let resolve = (rules.auto_resolve_days > 0)
                .then(|| since + Duration::days(rules.auto_resolve_days));
            let remind = (rules.reminder_days > 0).then(|| {
                facts.last_reminder_at.unwrap_or(since) + Duration::days(rules.reminder_days)
            });
            let next = [resolve, remind]
                .into_iter()
                .flatten()
                .min()
                .filter(|t| *t <= self.now)?;
            match rules.due(&facts, next) {
                Housekeeping::AutoResolve => return Some(next),
                Housekeeping::Remind(n) => {
                    event(
                        batch,
                        id,
                        EventKind::ReminderSent.as_str(),
                        None,
                        json!({"reminder": n, "auto": true}),
                        next,
                    );
                    facts.reminders = n;
                    facts.last_reminder_at = Some(next);
                }
                Housekeeping::Nothing | Housekeeping::Close => return None,
            }
        }
    }

    /// Generates the `index`-th ticket of the run into `batch`, taking its id,
    /// article ids and number from `cursor` and advancing it. A merged ticket
    /// points back to one written before it in the same batch.
    pub fn ticket(&self, rng: &mut StdRng, index: u64, cursor: &mut Cursor, batch: &mut Batch) {
        use TicketState::*;
        let created = created_at(rng, index, self.total, self.now);
        let state = state_for_age(rng, self.now - created);
        let channel = channel(rng);
        let priority = priority(rng);

        let contact_index = rng.gen_range(0..self.contacts.max(1));
        let has_contact = self.contacts > 0 && rng.gen_bool(0.95);
        let contact_id = has_contact.then(|| self.first_contact_id + contact_index as i64);
        let lang = if has_contact {
            language_of(contact_index)
        } else {
            Lang::It
        };
        let w = words(lang);

        let q = self.routing.queue(rng);
        let topic_id = (!q.topics.is_empty() && rng.gen_bool(0.8)).then(|| *pick(rng, &q.topics));
        let escalated_from = (q.level.is_escalation_target() && rng.gen_bool(0.6))
            .then(|| self.routing.first_level(rng))
            .flatten();
        // Only a queue that takes escalations holds an escalated ticket.
        let state = match state {
            Escalated if escalated_from.is_none() => Open,
            s => s,
        };
        let assignee = match state {
            New | Escalated => None,
            Merged => None,
            _ if rng.gen_bool(0.9) => self.routing.member(rng, q),
            _ => None,
        };
        let worker = assignee.or_else(|| self.routing.member(rng, q));

        let id = cursor.ticket;
        cursor.ticket += 1;
        let year = created.and_utc().with_timezone(&self.tz).year();
        let seq = cursor.counters.entry(year).or_insert(0);
        *seq += 1;
        let number = number::format(year, *seq);

        let thing = one(rng, w.things);
        let subject = capitalised(&fill(one(rng, w.subjects), thing, rng));
        let mut clock = Clock {
            at: created,
            now: self.now,
        };

        // The request itself, then replies, customer answers and notes.
        let articles = [1, 1, 1, 2, 2, 2, 3, 3, 4, 5][rng.gen_range(0..10)];
        let by_staff = matches!(channel, Channel::Phone | Channel::Callback | Channel::Staff);
        let creator = if by_staff { worker } else { None };
        event(
            batch,
            id,
            "created",
            creator,
            json!({"number": number, "channel": channel, "queue_id": escalated_from.unwrap_or(q.id), "topic_id": topic_id, "subject_id": null, "contact_id": contact_id}),
            created,
        );
        let mut first_response = None;
        let mut first_reply = None;
        for k in 0..articles {
            let at = if k == 0 {
                created
            } else {
                clock.advance(rng, Duration::hours(30), 4)
            };
            let (kind, public, agent, author_contact, body) = if k == 0 {
                let mut body = fill(one(rng, w.openings), thing, rng);
                for _ in 0..rng.gen_range(1..=3) {
                    body.push(' ');
                    body.push_str(&fill(one(rng, w.details), thing, rng));
                }
                body.push_str("\n\n");
                body.push_str(one(rng, w.closings));
                match channel {
                    Channel::Phone | Channel::Callback => ("phone", false, creator, None, body),
                    Channel::Staff => ("note", false, creator, None, body),
                    _ => ("inbound", true, None, contact_id, body),
                }
            } else if k % 2 == 1 && rng.gen_bool(0.85) {
                (
                    "outbound",
                    true,
                    worker,
                    None,
                    fill(one(rng, w.replies), thing, rng),
                )
            } else if rng.gen_bool(0.3) || contact_id.is_none() {
                (
                    "note",
                    false,
                    worker,
                    None,
                    fill(one(rng, w.notes), thing, rng),
                )
            } else {
                let mut body = fill(one(rng, w.details), thing, rng);
                body.push(' ');
                body.push_str(one(rng, w.closings));
                ("inbound", true, None, contact_id, body)
            };
            if first_response.is_none() && (kind == "outbound" || kind == "phone") {
                first_response = Some(at);
            }
            if first_reply.is_none() && kind == "outbound" {
                first_reply = Some(at);
            }
            let article_id = cursor.article;
            cursor.article += 1;
            // The Message-IDs threading knows: what the customer wrote by
            // e-mail, and what we sent them (the acknowledgement of a
            // request by e-mail or the web form, then public answers).
            if contact_id.is_some() && matches!(channel, Channel::Email | Channel::Web) {
                let mut thread = |message_id: String, direction, created_at| {
                    batch.threads.push(MailThread {
                        message_id,
                        ticket_id: id,
                        direction,
                        created_at,
                    })
                };
                if k == 0 {
                    thread(format!("sportello.{id:x}.ack@{OWN_DOMAIN}"), "out", at);
                }
                match kind {
                    "inbound" if channel == Channel::Email => thread(
                        format!("{id:x}.{article_id:x}@{}", people(lang).domain),
                        "in",
                        at,
                    ),
                    "outbound" => thread(
                        format!("sportello.{id:x}.{article_id:x}@{OWN_DOMAIN}"),
                        "out",
                        at,
                    ),
                    _ => {}
                }
            }
            let attached = kind == "inbound" && rng.gen_bool(0.04);
            if attached {
                let (filename, title) = w.attachment;
                let data = format!("{title}: {number}\n{subject}\n").into_bytes();
                batch.attachments.push(Attachment {
                    article_id,
                    filename: filename.to_string(),
                    content_type: "text/plain",
                    sha256: hex::encode(Sha256::digest(&data)),
                    data,
                    created_at: at,
                });
            }
            batch.articles.push(Article {
                id: article_id,
                ticket_id: id,
                kind,
                public,
                author_agent_id: agent,
                author_contact_id: author_contact,
                body,
                created_at: at,
            });
            event(
                batch,
                id,
                "article_added",
                agent,
                json!({"article_id": article_id, "kind": kind, "channel": channel, "attachments": usize::from(attached)}),
                at,
            );
        }

        // The history that leads to `state`, in the order the workflow allows.
        let mut current = New;
        let mut resolution = None;
        let (mut resolved_at, mut closed_at, mut merged_into) = (None, None, None);
        let (mut paused, mut ended) = (None, None);
        if state != New {
            let at = clock.advance(rng, Duration::hours(2), 3);
            if let Some(from) = escalated_from {
                let level = q.level;
                event(
                    batch,
                    id,
                    "escalated",
                    worker,
                    json!({"from_queue": from, "to_queue": q.id, "level": level, "reason": w.replies[3]}),
                    at,
                );
                state_changed(batch, id, worker, current, Escalated, at);
                current = Escalated;
            }
            if state != Escalated {
                if let Some(a) = assignee {
                    event(
                        batch,
                        id,
                        "assigned",
                        Some(a),
                        json!({"from": null, "to": a}),
                        at,
                    );
                }
                state_changed(batch, id, worker, current, Open, at);
                current = Open;
            }
        }
        match state {
            PendingCustomer | PendingThirdParty => {
                let at = clock.advance(rng, Duration::hours(8), 2);
                state_changed(batch, id, worker, current, state, at);
                paused = rules::pause_reason(state).map(|r| (at, r));
            }
            Resolved | Closed => {
                let at = clock.advance(rng, Duration::days(2), 2);
                let text = one(rng, w.resolutions).to_string();
                state_changed(batch, id, worker, current, Resolved, at);
                event(
                    batch,
                    id,
                    "resolved",
                    worker,
                    json!({"resolution": text}),
                    at,
                );
                resolution = Some(text);
                resolved_at = Some(at);
                ended = Some((at, Resolved.as_str()));
                if state == Closed {
                    // Closed by housekeeping a week later, or by hand sooner.
                    let auto = rng.gen_bool(0.7);
                    let at = clock.advance(rng, Duration::days(if auto { 7 } else { 1 }), 1);
                    state_changed(
                        batch,
                        id,
                        if auto { None } else { worker },
                        Resolved,
                        Closed,
                        at,
                    );
                    let data = if auto {
                        json!({"reason": null, "auto": true})
                    } else {
                        json!({"reason": null})
                    };
                    event(
                        batch,
                        id,
                        "closed",
                        if auto { None } else { worker },
                        data,
                        at,
                    );
                    closed_at = Some(at);
                }
            }
            Merged => {
                // Folded into a ticket written just before it in this batch.
                let before = batch.tickets.len();
                if before > 0 {
                    let target = &batch.tickets[before - 1 - rng.gen_range(0..before.min(50))];
                    let (target_id, target_number) = (target.id, target.number.clone());
                    let at = clock.advance(rng, Duration::hours(4), 1);
                    state_changed(batch, id, worker, current, Merged, at);
                    event(
                        batch,
                        id,
                        "merged_into",
                        worker,
                        json!({"into": target_id, "number": target_number}),
                        at,
                    );
                    merged_into = Some(target_id);
                    ended = Some((at, Merged.as_str()));
                }
            }
            _ => {}
        }
        let mut state = if state == Merged && merged_into.is_none() {
            current
        } else {
            state
        };
        // What housekeeping has done since: reminders to a customer we wait
        // on, resolving after the longest wait, closing what stayed resolved.
        if let (PendingCustomer, Some((since, _))) = (state, paused) {
            if let Some(at) = self.waited(batch, id, since) {
                let days = self.housekeeping.auto_resolve_days;
                let text = crate::service::housekeeping::resolution_text(Some(lang.code()), days);
                state_changed(batch, id, None, PendingCustomer, Resolved, at);
                event(
                    batch,
                    id,
                    "resolved",
                    None,
                    json!({"resolution": text, "auto": true}),
                    at,
                );
                resolution = Some(text);
                resolved_at = Some(at);
                ended = Some((at, Resolved.as_str()));
                clock.at = at;
                state = Resolved;
            }
        }
        if let (Resolved, Some(resolved), Some(cutoff)) =
            (state, resolved_at, self.housekeeping.close_cutoff(self.now))
        {
            if resolved <= cutoff {
                let days = self.housekeeping.auto_close_days;
                let at = resolved + Duration::days(days);
                let reason = crate::service::housekeeping::close_reason(days);
                state_changed(batch, id, None, Resolved, Closed, at);
                event(
                    batch,
                    id,
                    "closed",
                    None,
                    json!({"reason": reason, "auto": true}),
                    at,
                );
                closed_at = Some(at);
                clock.at = at;
                state = Closed;
            }
        }
        self.levels.clocks(
            &Course {
                ticket_id: id,
                opened_in: escalated_from.unwrap_or(q.id),
                queue_id: q.id,
                priority,
                topic_id,
                created,
                first_reply,
                paused,
                ended,
            },
            self.now,
            cursor,
            batch,
        );
        batch.tickets.push(Ticket {
            id,
            number,
            subject,
            channel: channel.as_str(),
            state: state.as_str(),
            priority,
            queue_id: q.id,
            assignee_id: assignee,
            contact_id,
            topic_id,
            escalated_from_queue_id: escalated_from,
            escalation_reason: escalated_from.map(|_| w.replies[3].to_string()),
            resolution,
            merged_into_id: merged_into,
            created_at: created,
            updated_at: clock.at,
            first_response_at: first_response,
            resolved_at,
            closed_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn routing() -> Routing {
        Routing::new(&CatalogueRows {
            queues: vec![
                (1, "first_level".into()),
                (2, "second_level".into()),
                (3, "customer_care".into()),
            ],
            members: vec![(1, 10), (2, 11), (3, 12)],
            topics: vec![(5, 1), (6, 2)],
            agents: vec![10, 11, 12],
        })
        .unwrap()
    }

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    /// The demo's two policies, and rules on the first-level queue: a
    /// warning on first responses and a breach on any clock.
    fn levels() -> Levels {
        let policy = |id, priority, fr, res| Policy {
            id,
            matcher: Matcher {
                queue_id: None,
                priority,
                topic_id: None,
            },
            first_response_minutes: Some(fr),
            resolution_minutes: Some(res),
            warning_percent: 80,
        };
        let rule = |id, clock_kind, on| LevelRule {
            id,
            queue_id: 1,
            clock_kind,
            on,
            actions: "[\"RaisePriority\"]".into(),
        };
        let desk = Calendar::new(
            chrono_tz::Europe::Rome,
            crate::domain::calendar::Week::parse("mon-fri 08:00-18:00").unwrap(),
        );
        Levels::new(
            vec![policy(1, None, 240, 2400), policy(2, Some(4), 30, 480)],
            Default::default(),
            desk,
            vec![
                rule(7, Some(ClockKind::FirstResponse), Trigger::Warning),
                rule(8, None, Trigger::Breach),
            ],
        )
    }

    const HOUSEKEEPING: HousekeepingRules = HousekeepingRules {
        auto_close_days: 7,
        reminder_days: 3,
        auto_resolve_days: 14,
    };

    fn generate(seed: u64, n: u64) -> (Batch, Cursor) {
        let routing = routing();
        let levels = levels();
        let plan = Plan {
            routing: &routing,
            levels: &levels,
            housekeeping: HOUSEKEEPING,
            now: now(),
            total: n,
            first_contact_id: 100,
            contacts: n / 10,
            tz: chrono_tz::Europe::Rome,
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cursor = Cursor {
            contact: 100,
            ticket: 1,
            article: 1,
            clock: 1,
            counters: std::collections::BTreeMap::from([(2026, 30)]),
        };
        let mut batch = Batch::default();
        for i in 0..n {
            plan.ticket(&mut rng, i, &mut cursor, &mut batch);
        }
        (batch, cursor)
    }

    #[test]
    fn same_seed_same_tickets() {
        let (a, _) = generate(7, 300);
        let (b, _) = generate(7, 300);
        let (c, _) = generate(8, 300);
        let subjects = |b: &Batch| {
            b.tickets
                .iter()
                .map(|t| t.subject.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(subjects(&a), subjects(&b));
        assert_ne!(subjects(&a), subjects(&c));
        assert_eq!(a.events.len(), b.events.len());
    }

    #[test]
    fn tickets_are_consistent() {
        let (b, cursor) = generate(1, 3000);
        let now = now();
        let mut numbers = std::collections::HashSet::new();
        for t in &b.tickets {
            assert!(numbers.insert(t.number.clone()), "duplicate {}", t.number);
            assert!(
                t.created_at <= t.updated_at && t.updated_at <= now,
                "{}",
                t.number
            );
            assert!(t.created_at >= now - Duration::days(YEARS * 365));
            let state = TicketState::parse(t.state).unwrap();
            assert_eq!(
                t.resolved_at.is_some(),
                matches!(state, TicketState::Resolved | TicketState::Closed),
                "{}",
                t.state
            );
            assert_eq!(t.closed_at.is_some(), state == TicketState::Closed);
            assert_eq!(t.merged_into_id.is_some(), state == TicketState::Merged);
            if let Some(into) = t.merged_into_id {
                assert!(into < t.id);
            }
            if state == TicketState::Escalated {
                assert!(t.escalated_from_queue_id.is_some() && t.queue_id != 1);
            }
            // The last state change ends where the ticket is.
            let last = b
                .events
                .iter()
                .rfind(|e| e.ticket_id == t.id && e.kind == "state_changed");
            match last {
                None => assert_eq!(state, TicketState::New),
                Some(e) => assert!(
                    e.data.contains(&format!("\"to\":\"{}\"", t.state)),
                    "{} {}",
                    e.data,
                    t.state
                ),
            }
            let articles = b.articles.iter().filter(|a| a.ticket_id == t.id).count();
            assert!((1..=5).contains(&articles));
            // Housekeeping has done what fell due: nothing stays resolved
            // past a week, nobody is waited on past two weeks, and a
            // customer waited on got a reminder every three days.
            if state == TicketState::Resolved {
                assert!(
                    t.resolved_at.unwrap() > now - Duration::days(7),
                    "{}",
                    t.number
                );
            }
            if state == TicketState::PendingCustomer {
                let since = last.unwrap().created_at;
                assert!(since > now - Duration::days(14), "{}", t.number);
                let reminders = b
                    .events
                    .iter()
                    .filter(|e| e.ticket_id == t.id && e.kind == "reminder_sent")
                    .count() as i64;
                assert_eq!(
                    reminders,
                    (now - since).num_seconds() / (3 * 86_400),
                    "{}",
                    t.number
                );
            }
        }
        // Mail of e-mail and web tickets is threaded by its Message-IDs.
        let mut ids = std::collections::HashSet::new();
        for m in &b.threads {
            assert!(ids.insert(m.message_id.clone()), "{}", m.message_id);
            let t = &b.tickets[(m.ticket_id - 1) as usize];
            assert!(matches!(t.channel, "email" | "web") && t.contact_id.is_some());
            assert!(m.direction == "out" || t.channel == "email");
        }
        for t in b.tickets.iter().filter(|t| t.contact_id.is_some()) {
            let has = |d: &str| {
                b.threads
                    .iter()
                    .any(|m| m.ticket_id == t.id && m.direction == d)
            };
            match t.channel {
                "email" => assert!(has("in") && has("out"), "{}", t.number),
                "web" => assert!(has("out") && !has("in"), "{}", t.number),
                _ => assert!(!has("out")),
            }
        }
        let auto = |kind: &str| {
            b.events
                .iter()
                .filter(|e| {
                    e.kind == kind && e.actor_agent_id.is_none() && e.data.contains("\"auto\":true")
                })
                .count()
        };
        assert!(auto("resolved") > 0 && auto("closed") > 0 && auto("reminder_sent") > 0);
        // Numbers continue the existing counter; years follow creation.
        assert!(b.tickets.iter().any(|t| t.number == "2026-000031"));
        assert!(!b.tickets.iter().any(|t| t.number == "2026-000030"));
        assert_eq!(cursor.ticket, 3001);
        assert!(cursor.counters.len() >= 3);
        for s in TicketState::ALL {
            assert!(b.tickets.iter().any(|t| t.state == s.as_str()), "no {s}");
        }
        for c in Channel::ALL {
            assert!(b.tickets.iter().any(|t| t.channel == c.as_str()), "no {c}");
        }
        for q in 1..=3 {
            assert!(b.tickets.iter().any(|t| t.queue_id == q));
        }
        // Active tickets are recent, old ones are mostly done.
        let old: Vec<&Ticket> = b
            .tickets
            .iter()
            .filter(|t| now - t.created_at > Duration::days(365))
            .collect();
        let done = old
            .iter()
            .filter(|t| matches!(t.state, "closed" | "resolved" | "merged"))
            .count();
        assert!(done * 100 / old.len() > 85);
        assert!(b
            .tickets
            .iter()
            .filter(|t| t.state == "new")
            .all(|t| now - t.created_at <= Duration::days(14)));
        assert!(b.articles.iter().any(|a| a.body.contains("stampante")));
        assert!(b.articles.iter().any(|a| a.body.contains("принтер")));
        assert!(!b.attachments.is_empty());
    }

    #[test]
    fn clocks_follow_each_tickets_history() {
        let (b, cursor) = generate(4, 3000);
        let now = now();
        let levels = levels();
        assert_eq!(cursor.clock, b.clocks.len() as i64 + 1);
        let mut fired = std::collections::HashSet::new();
        for f in &b.firings {
            assert!(fired.insert((f.rule_id, f.clock_id)), "fired twice");
        }
        for t in &b.tickets {
            let state = TicketState::parse(t.state).unwrap();
            let clocks: Vec<&SlaClock> = b.clocks.iter().filter(|k| k.ticket_id == t.id).collect();
            let kinds: Vec<&str> = clocks.iter().map(|k| k.kind).collect();
            assert_eq!(kinds, ["first_response", "resolution"], "{}", t.number);
            for k in clocks {
                assert_eq!(k.policy_id, if t.priority == 4 { 2 } else { 1 });
                assert_eq!(k.started_at, t.created_at);
                let steps: Vec<&ClockEvent> = b
                    .clock_events
                    .iter()
                    .filter(|e| e.clock_id == k.id)
                    .collect();
                assert_eq!(steps[0].kind, "started");
                assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));
                let last = steps.last().unwrap();
                assert_eq!(k.updated_at, last.at);
                // The clock is what its history makes it, due time included.
                assert_eq!(k.due_at, last.due_at);
                let clock = rules::Clock {
                    started_at: k.started_at,
                    target: Duration::minutes(k.target_minutes.into()),
                    warning_percent: k.warning_percent,
                    pauses: match steps.iter().find(|e| e.kind == "paused") {
                        Some(p) => vec![Pause {
                            from: p.at,
                            to: steps.iter().find(|e| e.kind == "resumed").map(|e| e.at),
                        }],
                        None => vec![],
                    },
                    stopped_at: k.stopped_at,
                    cancelled: false,
                };
                let status = rules::status(&levels.desk, &clock, last.at);
                assert_eq!((k.due_at, k.warn_at), (status.due_at, status.warn_at));
                match k.stopped_at {
                    Some(at) => {
                        assert_eq!(last.kind, "stopped");
                        assert_eq!(at, last.at);
                        assert_eq!(k.state, status.state.as_str());
                        assert!(matches!(k.state, "met" | "breached"));
                    }
                    None => {
                        assert!(state.is_active(), "{} {}", t.number, t.state);
                        assert_eq!(
                            k.state,
                            if last.kind == "paused" {
                                "paused"
                            } else {
                                "running"
                            }
                        );
                    }
                }
                if !state.is_active() {
                    assert!(k.stopped_at.is_some(), "{} {}", t.number, k.kind);
                }
                if k.kind == "resolution" {
                    let ended = t.resolved_at.or(t.merged_into_id.map(|_| t.updated_at));
                    assert_eq!(k.stopped_at.is_some(), ended.is_some());
                    if let (Some(r), Some(s)) = (t.resolved_at, k.stopped_at) {
                        assert_eq!(r, s);
                    }
                    assert_eq!(
                        k.state == "paused",
                        matches!(
                            state,
                            TicketState::PendingCustomer | TicketState::PendingThirdParty
                        ),
                    );
                }
                // Rules of the ticket's queue have fired on a running clock
                // whose moment passed, and on no other.
                let warned = fired.contains(&(7, k.id));
                let breached = fired.contains(&(8, k.id));
                let running = k.state == "running" && t.queue_id == 1;
                assert_eq!(
                    breached,
                    running && k.due_at.is_some_and(|d| d <= now),
                    "{} {}",
                    t.number,
                    k.kind
                );
                assert_eq!(
                    warned,
                    running && k.kind == "first_response" && k.warn_at.is_some_and(|w| w <= now)
                );
            }
        }
        for state in ["running", "paused", "met", "breached"] {
            assert!(
                b.clocks.iter().any(|k| k.state == state),
                "no {state} clock"
            );
        }
        assert!(fired.iter().any(|(r, _)| *r == 7) && fired.iter().any(|(r, _)| *r == 8));
    }

    #[test]
    fn contacts_speak_four_languages_with_search_keys() {
        let mut rng = StdRng::seed_from_u64(3);
        let contacts: Vec<Contact> = (0..200)
            .map(|i| contact(&mut rng, i, 1000 + i as i64, now()))
            .collect();
        for lang in ["it", "en", "ru", "cs"] {
            assert!(contacts.iter().any(|c| c.language == lang));
        }
        for c in &contacts {
            assert!(c.search_key.contains(&c.name.to_lowercase()));
            if let Some(p) = &c.phone {
                assert!(p.starts_with('+') && p[1..].chars().all(|d| d.is_ascii_digit()));
                assert_eq!(
                    crate::domain::phone::normalise(p).as_deref(),
                    Ok(p.as_str()),
                    "{p}"
                );
                assert!(c.search_key.contains(p.as_str()));
            }
            if let Some(e) = &c.email {
                assert_eq!(
                    crate::domain::contact::normalise_email(e).as_deref(),
                    Ok(e.as_str())
                );
            }
        }
        let emails: std::collections::HashSet<_> =
            contacts.iter().filter_map(|c| c.email.clone()).collect();
        assert_eq!(
            emails.len(),
            contacts.iter().filter(|c| c.email.is_some()).count()
        );
    }
}
