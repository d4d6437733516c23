//! Statistics for supervisors: tickets opened in a period by channel, queue,
//! topic and state, with the resolved count and the median first response.
//! Topics marked `in_statistics = false` (non-target calls) count only as `excluded`.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{App, Viewer};
use crate::domain::stats::median;
use crate::error::{AppError, AppResult};
use crate::store::{catalogue, stats};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// First day counted (`YYYY-MM-DD`, the viewer's time zone); default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day counted, included; default today.
    pub to: Option<NaiveDate>,
}

/// A count under a key (a channel, a state).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCount {
    pub key: String,
    pub count: i64,
}

/// A count for a queue or a topic (`id` and `name` null: tickets with no topic).
#[derive(Debug, Serialize, ToSchema)]
pub struct RefCount {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub count: i64,
}

/// Tickets opened in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStats {
    /// Every counted ticket (topics kept out of the statistics left out).
    pub total: i64,
    /// Counted tickets that have been resolved (still resolved, or closed after it).
    pub resolved: i64,
    /// Tickets on topics kept out of the statistics (non-target calls): in no other figure.
    pub excluded: i64,
    /// Median time from opening to the first answer, in seconds, of the counted
    /// tickets that have had one; null when none has.
    pub median_first_response_seconds: Option<i64>,
    pub by_channel: Vec<KeyCount>,
    pub by_state: Vec<KeyCount>,
    pub by_queue: Vec<RefCount>,
    pub by_topic: Vec<RefCount>,
}

/// The help desk's figures for a period; further sections (e.g. phone
/// first-contact resolution) go beside `tickets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// First day counted.
    pub from: NaiveDate,
    /// Last day counted (included).
    pub to: NaiveDate,
    /// The time zone the days are taken in.
    pub time_zone: String,
    pub tickets: TicketStats,
}

/// The UTC instant a local day starts at (the first valid instant when midnight
/// falls in a daylight-saving gap).
fn day_start(day: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..3)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

fn sorted_keys(map: BTreeMap<String, i64>) -> Vec<KeyCount> {
    let mut out: Vec<KeyCount> = map
        .into_iter()
        .map(|(key, count)| KeyCount { key, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out
}

fn sorted_refs(map: BTreeMap<Option<i64>, i64>, names: &BTreeMap<i64, String>) -> Vec<RefCount> {
    let mut out: Vec<RefCount> = map
        .into_iter()
        .map(|(id, count)| RefCount {
            id,
            name: id.and_then(|i| names.get(&i).cloned()),
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
    out
}

pub async fn ticket_stats(app: &App, viewer: &Viewer, q: StatsQuery) -> AppResult<StatsView> {
    if !viewer.actor.can_supervise() {
        return Err(AppError::forbidden(
            "statistics are for supervisors and admins",
        ));
    }
    let tz = viewer.tz;
    let today = app.clock.now().with_timezone(&tz).date_naive();
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(AppError::invalid("from", "from must not be after to"));
    }
    let (start, end) = (day_start(from, tz), day_start(to + Duration::days(1), tz));
    let (counts, resolved, responses, excluded_topics, queues, topics) = app
        .db
        .read(move |c| {
            Ok((
                stats::ticket_counts(c, start, end)?,
                stats::resolved_counts(c, start, end)?,
                stats::first_responses(c, start, end)?,
                stats::excluded_topics(c)?,
                catalogue::queues(c)?,
                catalogue::topics(c)?,
            ))
        })
        .await?;
    let counted = |topic: Option<i64>| topic.is_none_or(|t| !excluded_topics.contains(&t));
    let mut s = TicketStats {
        total: 0,
        resolved: resolved
            .iter()
            .filter(|(t, _)| counted(*t))
            .map(|(_, n)| n)
            .sum(),
        excluded: 0,
        median_first_response_seconds: median(
            responses
                .iter()
                .filter(|(t, _, _)| counted(*t))
                .map(|(_, opened, answered)| (*answered - *opened).num_seconds().max(0))
                .collect(),
        ),
        by_channel: vec![],
        by_state: vec![],
        by_queue: vec![],
        by_topic: vec![],
    };
    let (mut channels, mut states) = (BTreeMap::new(), BTreeMap::new());
    let (mut by_queue, mut by_topic) = (BTreeMap::new(), BTreeMap::new());
    for row in counts {
        if !counted(row.topic_id) {
            s.excluded += row.count;
            continue;
        }
        s.total += row.count;
        *channels.entry(row.channel).or_insert(0) += row.count;
        *states.entry(row.state).or_insert(0) += row.count;
        *by_queue.entry(Some(row.queue_id)).or_insert(0) += row.count;
        *by_topic.entry(row.topic_id).or_insert(0) += row.count;
    }
    let queue_names = queues.into_iter().map(|q| (q.id, q.name)).collect();
    let topic_names = topics.into_iter().map(|t| (t.id, t.name)).collect();
    s.by_channel = sorted_keys(channels);
    s.by_state = sorted_keys(states);
    s.by_queue = sorted_refs(by_queue, &queue_names);
    s.by_topic = sorted_refs(by_topic, &topic_names);
    Ok(StatsView {
        from,
        to,
        time_zone: tz.name().to_string(),
        tickets: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_local_midnight() {
        let rome: Tz = "Europe/Rome".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(day_start(d, rome).to_string(), "2026-06-30 22:00:00");
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(day_start(d, rome).to_string(), "2026-11-30 23:00:00");
    }
}
