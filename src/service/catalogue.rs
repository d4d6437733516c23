//! Queues (groups) and the topic catalogue. Everyone reads; admins configure.

use serde::Deserialize;
use utoipa::ToSchema;

use super::lookup::queue_level;
use super::views::{QueueView, SubjectView, TopicView};
use super::{nullable, optional_text, required_text, App, Viewer};
use crate::domain::forms::{self, FormField};
use crate::domain::QueueLevel;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::store::rows::{NewQueue, NewSubject, NewTopic, QueueRow, SubjectRow, TopicRow};
use crate::store::{catalogue, DbConn};

fn must_configure(viewer: &Viewer) -> AppResult<()> {
    if viewer.actor.can_configure() {
        Ok(())
    } else {
        Err(AppError::forbidden("only admins change the configuration"))
    }
}

fn name_taken(e: AppError, what: &str) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict(
            "name-taken",
            format!("a {what} with this name already exists"),
        )
    } else {
        e
    }
}

pub async fn list_queues(app: &App) -> AppResult<Vec<QueueView>> {
    app.db
        .read(|c| {
            let counts = catalogue::ticket_counts(c)?;
            let unassigned = catalogue::unassigned_counts(c)?;
            catalogue::queues(c)?
                .into_iter()
                .map(|q| {
                    let by_state: std::collections::BTreeMap<String, i64> = counts
                        .iter()
                        .filter(|(id, _, _)| *id == q.id)
                        .map(|(_, s, n)| (s.clone(), *n))
                        .collect();
                    let active_tickets = by_state
                        .iter()
                        .filter(|(s, _)| !matches!(s.as_str(), "resolved" | "closed" | "merged"))
                        .map(|(_, n)| n)
                        .sum();
                    Ok(QueueView {
                        id: q.id,
                        level: queue_level(&q)?,
                        name: q.name,
                        description: q.description,
                        email: q.email,
                        active: q.active,
                        calendar_id: q.calendar_id,
                        supervisor_id: q.supervisor_id,
                        active_tickets,
                        unassigned: unassigned
                            .iter()
                            .find(|(id, _)| *id == q.id)
                            .map(|(_, n)| *n)
                            .unwrap_or(0),
                        by_state,
                    })
                })
                .collect()
        })
        .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    pub name: Option<String>,
    pub level: Option<QueueLevel>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
    /// A calendar from `/calendars`; `null` goes back to the desk's calendar.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub calendar_id: Option<Option<i64>>,
    /// The agent (a supervisor or admin) who receives the queue's
    /// service-level notices; `null`: none named.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub supervisor_id: Option<Option<i64>>,
}

/// Checks the calendar and the supervisor given in `input` exist (those
/// left as they were are not checked again: a deactivated supervisor does not
/// block renaming the queue).
fn check_queue_refs(c: &mut DbConn, input: &QueueInput) -> AppResult<()> {
    if let Some(Some(id)) = input.calendar_id {
        if crate::store::calendars::find(c, id)?.is_none() {
            return Err(AppError::invalid(
                "calendar_id",
                format!("calendar {id} does not exist"),
            ));
        }
    }
    if let Some(Some(id)) = input.supervisor_id {
        let agent = crate::store::agents::find(c, id)?.ok_or_else(|| {
            AppError::invalid("supervisor_id", format!("agent {id} does not exist"))
        })?;
        if !matches!(agent.role.as_str(), "supervisor" | "admin") || !agent.active {
            return Err(AppError::invalid(
                "supervisor_id",
                format!("{} is not an active supervisor or admin", agent.email),
            ));
        }
    }
    Ok(())
}

fn apply_queue(row: &mut QueueRow, input: &QueueInput) -> AppResult<()> {
    if let Some(c) = input.calendar_id {
        row.calendar_id = c;
    }
    if let Some(s) = input.supervisor_id {
        row.supervisor_id = s;
    }
    if let Some(n) = &input.name {
        row.name = required_text("name", n, 100)?;
    }
    if let Some(l) = input.level {
        row.level = l.as_str().into();
    }
    if let Some(d) = &input.description {
        row.description = optional_text("description", Some(d), 2000)?;
    }
    if let Some(e) = &input.email {
        row.email = if e.trim().is_empty() {
            None
        } else {
            Some(
                crate::domain::contact::normalise_email(e)
                    .map_err(|err| AppError::invalid("email", err.to_string()))?,
            )
        };
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    Ok(())
}

pub async fn create_queue(app: &App, viewer: &Viewer, input: QueueInput) -> AppResult<i64> {
    must_configure(viewer)?;
    let level = input
        .level
        .ok_or_else(|| AppError::invalid("level", "level is required"))?;
    let mut row = QueueRow {
        id: 0,
        name: String::new(),
        level: level.as_str().into(),
        description: String::new(),
        email: None,
        active: true,
        created_at: app.clock.now_db(),
        calendar_id: None,
        supervisor_id: None,
    };
    apply_queue(&mut row, &input)?;
    if row.name.is_empty() {
        return Err(AppError::invalid("name", "name is required"));
    }
    app.db
        .write(move |c| {
            check_queue_refs(c, &input)?;
            catalogue::insert_queue(
                c,
                &NewQueue {
                    name: row.name,
                    level: row.level,
                    description: row.description,
                    email: row.email,
                    active: row.active,
                    created_at: row.created_at,
                    calendar_id: row.calendar_id,
                    supervisor_id: row.supervisor_id,
                },
            )
        })
        .await
        .map_err(|e| name_taken(e, "queue"))
}

pub async fn update_queue(app: &App, viewer: &Viewer, id: i64, input: QueueInput) -> AppResult<()> {
    must_configure(viewer)?;
    app.db
        .write(move |c| {
            let mut row = catalogue::queue(c, id)?
                .ok_or_else(|| AppError::not_found(format!("queue {id}")))?;
            apply_queue(&mut row, &input)?;
            check_queue_refs(c, &input)?;
            catalogue::update_queue(c, &row)
        })
        .await
        .map_err(|e| name_taken(e, "queue"))
}

fn subject_view(s: SubjectRow) -> SubjectView {
    SubjectView {
        id: s.id,
        topic_id: s.topic_id,
        name: s.name,
        queue_id: s.queue_id,
        info_script: s.info_script,
        active: s.active,
    }
}

/// A topic's call form (empty when it has none).
pub fn form_of(topic: &TopicRow) -> AppResult<Vec<FormField>> {
    match &topic.form {
        None => Ok(vec![]),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            AppError::Internal(format!("the form of topic {} is unreadable: {e}", topic.id))
        }),
    }
}

/// The catalogue; `public_only` gives what the web form offers.
pub async fn list_topics(app: &App, public_only: bool) -> AppResult<Vec<TopicView>> {
    app.db
        .read(move |c| {
            let cat = catalogue::snapshot(c)?;
            cat.topics
                .iter()
                .filter(|t| !public_only || (t.public && t.active))
                .map(|t| {
                    Ok(TopicView {
                        form: form_of(t)?,
                        in_statistics: t.in_statistics,
                        subjects: cat
                            .subjects
                            .iter()
                            .filter(|s| s.topic_id == t.id && (!public_only || s.active))
                            .cloned()
                            .map(subject_view)
                            .collect(),
                        id: t.id,
                        name: t.name.clone(),
                        queue_id: t.queue_id,
                        info_script: t.info_script.clone(),
                        public: t.public,
                        active: t.active,
                    })
                })
                .collect()
        })
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicInput {
    pub name: Option<String>,
    /// The queue new tickets on this topic go to.
    pub queue_id: Option<i64>,
    pub info_script: Option<String>,
    pub public: Option<bool>,
    pub active: Option<bool>,
    /// The call form operators fill in on tickets of this topic, in order;
    /// `[]` removes it. Checked: unique slug names, options only for `choice`…
    pub form: Option<Vec<FormField>>,
    /// False keeps the topic's tickets out of the statistics (reported only as `excluded`).
    pub in_statistics: Option<bool>,
}

fn existing_queue(c: &mut DbConn, field: &str, id: i64) -> AppResult<()> {
    catalogue::queue(c, id)?
        .map(|_| ())
        .ok_or_else(|| AppError::invalid(field, format!("queue {id} does not exist")))
}

fn apply_topic(c: &mut DbConn, row: &mut TopicRow, input: &TopicInput) -> AppResult<()> {
    if let Some(n) = &input.name {
        row.name = required_text("name", n, 200)?;
    }
    if let Some(q) = input.queue_id {
        existing_queue(c, "queue_id", q)?;
        row.queue_id = q;
    }
    if let Some(s) = &input.info_script {
        row.info_script = optional_text("info_script", Some(s), 20_000)?;
    }
    if let Some(p) = input.public {
        row.public = p;
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    if let Some(form) = &input.form {
        let form = forms::check_definition(form)?;
        row.form = if form.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&form)
                    .map_err(|e| AppError::Internal(format!("form not serialisable: {e}")))?,
            )
        };
    }
    if let Some(s) = input.in_statistics {
        row.in_statistics = s;
    }
    Ok(())
}

pub async fn create_topic(app: &App, viewer: &Viewer, input: TopicInput) -> AppResult<i64> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    let queue_id = input
        .queue_id
        .ok_or_else(|| AppError::invalid("queue_id", "queue_id is required"))?;
    app.db
        .write(move |c| {
            let mut row = TopicRow {
                id: 0,
                name: String::new(),
                queue_id,
                info_script: String::new(),
                public: true,
                active: true,
                created_at: now,
                form: None,
                in_statistics: true,
            };
            apply_topic(c, &mut row, &input)?;
            if row.name.is_empty() {
                return Err(AppError::invalid("name", "name is required"));
            }
            catalogue::insert_topic(
                c,
                &NewTopic {
                    name: row.name,
                    queue_id: row.queue_id,
                    info_script: row.info_script,
                    public: row.public,
                    active: row.active,
                    created_at: now,
                    form: row.form,
                    in_statistics: row.in_statistics,
                },
            )
        })
        .await
        .map_err(|e| name_taken(e, "topic"))
}

pub async fn update_topic(app: &App, viewer: &Viewer, id: i64, input: TopicInput) -> AppResult<()> {
    must_configure(viewer)?;
    app.db
        .write(move |c| {
            let mut row = catalogue::topic(c, id)?
                .ok_or_else(|| AppError::not_found(format!("topic {id}")))?;
            apply_topic(c, &mut row, &input)?;
            catalogue::update_topic(c, &row)
        })
        .await
        .map_err(|e| name_taken(e, "topic"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    pub name: Option<String>,
    /// Routes this subject to another queue than its topic's; null to follow the topic.
    pub queue_id: Option<i64>,
    pub info_script: Option<String>,
    pub active: Option<bool>,
}

fn apply_subject(c: &mut DbConn, row: &mut SubjectRow, input: &SubjectInput) -> AppResult<()> {
    if let Some(n) = &input.name {
        row.name = required_text("name", n, 200)?;
    }
    if let Some(q) = input.queue_id {
        existing_queue(c, "queue_id", q)?;
        row.queue_id = Some(q);
    }
    if let Some(s) = &input.info_script {
        row.info_script = optional_text("info_script", Some(s), 20_000)?;
    }
    if let Some(a) = input.active {
        row.active = a;
    }
    Ok(())
}

pub async fn create_subject(
    app: &App,
    viewer: &Viewer,
    topic_id: i64,
    input: SubjectInput,
) -> AppResult<i64> {
    must_configure(viewer)?;
    let now = app.clock.now_db();
    app.db
        .write(move |c| {
            catalogue::topic(c, topic_id)?
                .ok_or_else(|| AppError::not_found(format!("topic {topic_id}")))?;
            let mut row = SubjectRow {
                id: 0,
                topic_id,
                name: String::new(),
                queue_id: None,
                info_script: String::new(),
                active: true,
                created_at: now,
            };
            apply_subject(c, &mut row, &input)?;
            if row.name.is_empty() {
                return Err(AppError::invalid("name", "name is required"));
            }
            catalogue::insert_subject(
                c,
                &NewSubject {
                    topic_id,
                    name: row.name,
                    queue_id: row.queue_id,
                    info_script: row.info_script,
                    active: row.active,
                    created_at: now,
                },
            )
        })
        .await
        .map_err(|e| name_taken(e, "subject of this topic"))
}

pub async fn update_subject(
    app: &App,
    viewer: &Viewer,
    id: i64,
    input: SubjectInput,
) -> AppResult<()> {
    must_configure(viewer)?;
    app.db
        .write(move |c| {
            let mut row = catalogue::subject(c, id)?
                .ok_or_else(|| AppError::not_found(format!("subject {id}")))?;
            apply_subject(c, &mut row, &input)?;
            catalogue::update_subject(c, &row)
        })
        .await
        .map_err(|e| name_taken(e, "subject of this topic"))
}
