//! The arithmetic of the supervisor view: which age bucket a waiting ticket
//! falls in, and how counts of tickets "at least this old" (what the store
//! can count in one grouped query) become counts per bucket.

use chrono::{Duration, NaiveDateTime};

/// Where the backlog buckets start, youngest first: under 1 hour, 1–4 hours,
/// 4–24 hours, 1–3 days, 3–7 days, over 7 days. A ticket exactly on a
/// boundary belongs to the older bucket (1 h old is `1h_4h`).
pub fn bucket_starts() -> [Duration; 5] {
    [
        Duration::hours(1),
        Duration::hours(4),
        Duration::hours(24),
        Duration::days(3),
        Duration::days(7),
    ]
}

/// The names of the buckets, in order, as the API shows them.
pub const BUCKET_NAMES: [&str; 6] = ["under_1h", "1h_4h", "4h_24h", "1d_3d", "3d_7d", "over_7d"];

/// The bucket (index into [`BUCKET_NAMES`]) of a ticket this old.
pub fn bucket_of(age: Duration) -> usize {
    bucket_starts().iter().take_while(|s| age >= **s).count()
}

/// The instants a ticket must have been created at or before to be at least
/// as old as each bucket start, at `now`.
pub fn cutoffs(now: NaiveDateTime) -> [NaiveDateTime; 5] {
    bucket_starts().map(|s| now - s)
}

/// Counts per bucket from the total and the counts of tickets at least as old
/// as each bucket start (each no larger than the one before).
pub fn buckets(total: i64, at_least: [i64; 5]) -> [i64; 6] {
    let mut out = [0; 6];
    let mut younger_than_next = total;
    for (i, older) in at_least.iter().enumerate() {
        out[i] = younger_than_next - older;
        younger_than_next = *older;
    }
    out[5] = younger_than_next;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn boundaries_belong_to_the_older_bucket() {
        let m = Duration::minutes;
        let cases = [
            (m(0), "under_1h"),
            (m(59), "under_1h"),
            (m(60), "1h_4h"),
            (m(239), "1h_4h"),
            (m(240), "4h_24h"),
            (Duration::hours(23) + m(59), "4h_24h"),
            (Duration::hours(24), "1d_3d"),
            (Duration::days(3) - m(1), "1d_3d"),
            (Duration::days(3), "3d_7d"),
            (Duration::days(7) - m(1), "3d_7d"),
            (Duration::days(7), "over_7d"),
            (Duration::days(400), "over_7d"),
        ];
        for (age, name) in cases {
            assert_eq!(BUCKET_NAMES[bucket_of(age)], name, "{age}");
        }
    }

    #[test]
    fn a_ticket_created_in_the_future_is_new() {
        // Clocks of two instances may disagree by a little.
        assert_eq!(bucket_of(Duration::seconds(-5)), 0);
    }

    #[test]
    fn cumulative_counts_become_buckets_like_counting_one_by_one() {
        let now = NaiveDate::from_ymd_opt(2026, 3, 9)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let ages: Vec<Duration> = [0, 30, 60, 61, 300, 1440, 1500, 4320, 9999, 10080, 50000]
            .iter()
            .map(|m| Duration::minutes(*m))
            .collect();
        let mut expected = [0i64; 6];
        for a in &ages {
            expected[bucket_of(*a)] += 1;
        }
        // What the store counts: tickets created at or before each cutoff.
        let at_least =
            cutoffs(now).map(|cut| ages.iter().filter(|a| now - **a <= cut).count() as i64);
        assert_eq!(buckets(ages.len() as i64, at_least), expected);
        assert_eq!(expected, [2, 2, 1, 2, 2, 2]);
    }

    #[test]
    fn no_tickets_no_buckets() {
        assert_eq!(buckets(0, [0; 5]), [0; 6]);
    }
}
