//! Business calendars: weekly opening hours (several ranges a day) in a time
//! zone, Italian national holidays (Easter Monday computed) plus extra closed
//! days. Instants are UTC `NaiveDateTime`s as stored; opening hours are local
//! wall-clock times, so arithmetic stays right across daylight-saving changes.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// How far ahead a search for opening hours goes before giving up.
const HORIZON_DAYS: i64 = 800;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// Opening hours for each weekday (Monday first), as local times.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Week([Vec<(NaiveTime, NaiveTime)>; 7]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoursError(String);

impl Week {
    /// Parses `mon-fri 09:00-13:00 14:00-18:00; sat 09:00-12:00`. Days not
    /// named are closed; `24/7` is always open.
    pub fn parse(text: &str) -> Result<Week, HoursError> {
        let text = text.trim();
        let mut week = Week::default();
        if text == "24/7" {
            for day in week.0.iter_mut() {
                day.push((NaiveTime::MIN, end_of_day()));
            }
            return Ok(week);
        }
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut words = part.split_whitespace();
            let days = words.next().unwrap_or_default();
            let indices = parse_days(days)?;
            let mut ranges = Vec::new();
            for range in words {
                let (a, b) = range.split_once('-').ok_or_else(|| {
                    HoursError(format!("'{range}' is not a range like 09:00-13:00"))
                })?;
                let (a, b) = (parse_time(a)?, parse_time(b)?);
                if a >= b {
                    return Err(HoursError(format!("'{range}' ends before it starts")));
                }
                ranges.push((a, b));
            }
            if ranges.is_empty() {
                return Err(HoursError(format!("'{part}' gives no hours")));
            }
            for i in indices {
                week.0[i].extend(ranges.iter().copied());
                week.0[i].sort();
                if week.0[i].windows(2).any(|w| w[0].1 > w[1].0) {
                    return Err(HoursError(format!("overlapping hours on {}", DAYS[i].0)));
                }
            }
        }
        if week.0.iter().all(Vec::is_empty) {
            return Err(HoursError("the calendar is never open".into()));
        }
        Ok(week)
    }

    /// `24/7`: every day from midnight to midnight.
    pub fn is_always_open(&self) -> bool {
        self.0
            .iter()
            .all(|r| r.len() == 1 && r[0].0 == NaiveTime::MIN && r[0].1 == end_of_day())
    }

    pub fn ranges(&self, day: Weekday) -> &[(NaiveTime, NaiveTime)] {
        &self.0[day.num_days_from_monday() as usize]
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, ranges) in self.0.iter().enumerate() {
            if ranges.is_empty() {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            f.write_str(DAYS[i].0)?;
            for (a, b) in ranges {
                let end = if *b == end_of_day() {
                    "24:00".to_string()
                } else {
                    b.format("%H:%M").to_string()
                };
                write!(f, " {}-{end}", a.format("%H:%M"))?;
            }
        }
        Ok(())
    }
}

fn parse_days(text: &str) -> Result<Vec<usize>, HoursError> {
    let index = |d: &str| {
        DAYS.iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(d))
            .ok_or_else(|| HoursError(format!("'{d}' is not a day (mon, tue, … sun)")))
    };
    let mut out = Vec::new();
    for item in text.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                if a > b {
                    return Err(HoursError(format!("'{item}' runs backwards")));
                }
                out.extend(a..=b);
            }
            None => out.push(index(item)?),
        }
    }
    Ok(out)
}

/// `24:00`: a range ending at midnight.
fn end_of_day() -> NaiveTime {
    NaiveTime::from_hms_opt(23, 59, 59).expect("valid time")
}

fn parse_time(text: &str) -> Result<NaiveTime, HoursError> {
    if text == "24:00" {
        return Ok(end_of_day());
    }
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| HoursError(format!("'{text}' is not a time like 09:30")))
}

/// Easter Sunday (Gregorian), by the anonymous computus.
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("easter is a date")
}

/// The Italian national holidays (feste nazionali) of a date's year.
pub fn is_italian_holiday(date: NaiveDate) -> bool {
    const FIXED: [(u32, u32); 10] = [
        (1, 1),   // Capodanno
        (1, 6),   // Epifania
        (4, 25),  // Liberazione
        (5, 1),   // Festa del lavoro
        (6, 2),   // Festa della Repubblica
        (8, 15),  // Ferragosto
        (11, 1),  // Ognissanti
        (12, 8),  // Immacolata
        (12, 25), // Natale
        (12, 26), // Santo Stefano
    ];
    FIXED.contains(&(date.month(), date.day())) || date == easter(date.year()) + Duration::days(1)
}

/// When a help desk is open.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub tz: Tz,
    pub week: Week,
    /// Italian national holidays are closed days.
    pub italian_holidays: bool,
    /// Holidays every year, as (month, day): a patron saint's day.
    pub holidays: BTreeSet<(u32, u32)>,
    /// One-off closures (local dates).
    pub closed: BTreeSet<NaiveDate>,
}

/// Parses one-off closed days: `2026-12-24, 2026-12-31`.
pub fn parse_dates(text: &str) -> Result<BTreeSet<NaiveDate>, HoursError> {
    list(text)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| HoursError(format!("'{d}' is not a date like 2026-12-24")))
        })
        .collect()
}

/// Parses yearly holidays as month-day: `06-29, 12-07`.
pub fn parse_yearly(text: &str) -> Result<BTreeSet<(u32, u32)>, HoursError> {
    list(text)
        .map(|d| {
            // 2024 is a leap year, so 02-29 is accepted.
            NaiveDate::parse_from_str(&format!("2024-{d}"), "%Y-%m-%d")
                .map(|x| (x.month(), x.day()))
                .map_err(|_| HoursError(format!("'{d}' is not a month and day like 06-29")))
        })
        .collect()
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|d| !d.is_empty())
}

/// Writes yearly holidays back as `06-29, 12-07`.
pub fn format_yearly(days: &BTreeSet<(u32, u32)>) -> String {
    days.iter()
        .map(|(m, d)| format!("{m:02}-{d:02}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes closed days back as `2026-12-24, 2026-12-31`.
pub fn format_dates(days: &BTreeSet<NaiveDate>) -> String {
    days.iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Calendar {
    pub fn new(tz: Tz, week: Week) -> Calendar {
        Calendar {
            tz,
            week,
            italian_holidays: true,
            holidays: BTreeSet::new(),
            closed: BTreeSet::new(),
        }
    }

    /// Open around the clock, every day of the year.
    pub fn is_always_open(&self) -> bool {
        self.week.is_always_open()
            && !self.italian_holidays
            && self.holidays.is_empty()
            && self.closed.is_empty()
    }

    pub fn is_closed_day(&self, date: NaiveDate) -> bool {
        self.closed.contains(&date)
            || self.holidays.contains(&(date.month(), date.day()))
            || (self.italian_holidays && is_italian_holiday(date))
    }

    fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self.tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.naive_utc(),
            chrono::LocalResult::Ambiguous(a, _) => a.naive_utc(),
            // In a spring-forward gap: the first instant after it.
            chrono::LocalResult::None => self.to_utc(local + Duration::hours(1)),
        }
    }

    /// The opening intervals (UTC) of one local date, in order.
    fn intervals_on(&self, date: NaiveDate) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        if self.is_closed_day(date) {
            return vec![];
        }
        self.week
            .ranges(date.weekday())
            .iter()
            .map(|(a, b)| {
                let end = if *b == end_of_day() {
                    self.to_utc((date + Duration::days(1)).and_time(NaiveTime::MIN))
                } else {
                    self.to_utc(date.and_time(*b))
                };
                (self.to_utc(date.and_time(*a)), end)
            })
            .filter(|(a, b)| a < b)
            .collect()
    }

    /// Opening intervals that end after `from`, clipped to start no earlier than it.
    pub fn intervals_from(
        &self,
        from: NaiveDateTime,
    ) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        let first = self.tz.from_utc_datetime(&from).date_naive() - Duration::days(1);
        (0..HORIZON_DAYS)
            .flat_map(move |i| self.intervals_on(first + Duration::days(i)))
            .filter(move |(_, b)| *b > from)
            .map(move |(a, b)| (a.max(from), b))
    }

    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        self.intervals_from(at).next().is_some_and(|(a, _)| a == at)
    }

    /// `at` when open, else the next opening.
    pub fn next_open(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        self.intervals_from(at).next().map(|(a, _)| a)
    }

    /// The instant `amount` of business time after `from`.
    pub fn add_business(&self, from: NaiveDateTime, amount: Duration) -> Option<NaiveDateTime> {
        let mut left = amount;
        for (a, b) in self.intervals_from(from) {
            if b - a >= left {
                return Some(a + left);
            }
            left -= b - a;
        }
        None
    }

    /// Business time between two instants (zero when `to` is not after `from`).
    pub fn business_between(&self, from: NaiveDateTime, to: NaiveDateTime) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        for (a, b) in self.intervals_from(from) {
            if a >= to {
                break;
            }
            total += b.min(to) - a;
        }
        total
    }

    /// Slots of `length` within opening hours, from the one containing
    /// `from` on; each slot starts at an opening or where the previous ended.
    pub fn slots_from(
        &self,
        from: NaiveDateTime,
        length: Duration,
    ) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        let first = self.tz.from_utc_datetime(&from).date_naive() - Duration::days(1);
        (0..HORIZON_DAYS)
            .flat_map(move |i| self.intervals_on(first + Duration::days(i)))
            .flat_map(move |(a, b)| {
                let mut slots = Vec::new();
                let mut s = a;
                while s < b {
                    let e = (s + length).min(b);
                    slots.push((s, e));
                    s = e;
                }
                slots
            })
            .filter(move |(_, e)| *e > from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome(week: &str) -> Calendar {
        Calendar::new(chrono_tz::Europe::Rome, Week::parse(week).unwrap())
    }

    /// A UTC instant from a Rome wall-clock time.
    fn local(s: &str) -> NaiveDateTime {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Rome
            .from_local_datetime(&t)
            .earliest()
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn parses_and_prints_weeks() {
        let w = Week::parse("mon-fri 09:00-13:00 14:00-18:00; sat 09:00-12:00").unwrap();
        assert_eq!(w.ranges(Weekday::Tue).len(), 2);
        assert_eq!(w.ranges(Weekday::Sun).len(), 0);
        assert_eq!(
            w.to_string(),
            "mon 09:00-13:00 14:00-18:00; tue 09:00-13:00 14:00-18:00; wed 09:00-13:00 14:00-18:00; thu 09:00-13:00 14:00-18:00; fri 09:00-13:00 14:00-18:00; sat 09:00-12:00"
        );
        assert_eq!(Week::parse(&w.to_string()).unwrap(), w);
        for bad in [
            "",
            "mon",
            "xyz 09:00-10:00",
            "mon 10:00-09:00",
            "mon 9-10",
            "fri-mon 09:00-10:00",
            "mon 09:00-12:00 11:00-13:00",
        ] {
            assert!(Week::parse(bad).is_err(), "{bad}");
        }
        assert!(!rome("24/7").is_open(local("2026-12-25 03:00")));
        let mut always = rome("24/7");
        always.italian_holidays = false;
        assert!(always.is_open(local("2026-12-25 03:00")));
        assert_eq!(
            always.business_between(local("2026-12-25 00:00"), local("2026-12-27 00:00")),
            Duration::hours(48)
        );
    }

    #[test]
    fn easter_and_holidays() {
        assert_eq!(easter(2024), NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        assert_eq!(easter(2025), NaiveDate::from_ymd_opt(2025, 4, 20).unwrap());
        assert_eq!(easter(2026), NaiveDate::from_ymd_opt(2026, 4, 5).unwrap());
        assert_eq!(easter(2027), NaiveDate::from_ymd_opt(2027, 3, 28).unwrap());
        assert!(is_italian_holiday(
            NaiveDate::from_ymd_opt(2026, 4, 6).unwrap()
        ));
        assert!(is_italian_holiday(
            NaiveDate::from_ymd_opt(2026, 6, 2).unwrap()
        ));
        assert!(!is_italian_holiday(
            NaiveDate::from_ymd_opt(2026, 4, 7).unwrap()
        ));
    }

    #[test]
    fn opening_and_next_opening() {
        let c = rome("mon-fri 09:00-13:00 14:00-18:00");
        // Friday 27 November 2026.
        assert!(c.is_open(local("2026-11-27 09:00")));
        assert!(!c.is_open(local("2026-11-27 13:30")));
        assert_eq!(
            c.next_open(local("2026-11-27 13:30")),
            Some(local("2026-11-27 14:00"))
        );
        // Friday evening → Monday morning.
        assert_eq!(
            c.next_open(local("2026-11-27 18:00")),
            Some(local("2026-11-30 09:00"))
        );
        // Monday 7 December, then the Immacolata on Tuesday 8.
        assert_eq!(
            c.next_open(local("2026-12-07 19:00")),
            Some(local("2026-12-09 09:00"))
        );
        let mut closed = c.clone();
        closed
            .closed
            .insert(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(
            closed.next_open(local("2026-11-27 18:00")),
            Some(local("2026-12-01 09:00"))
        );
    }

    #[test]
    fn business_arithmetic() {
        let c = rome("mon-fri 09:00-13:00 14:00-18:00");
        // 2 h from Friday 17:00 = 1 h Friday + 1 h Monday.
        let due = c
            .add_business(local("2026-11-27 17:00"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, local("2026-11-30 10:00"));
        assert_eq!(
            c.business_between(local("2026-11-27 17:00"), due),
            Duration::hours(2)
        );
        // Across lunch.
        assert_eq!(
            c.add_business(local("2026-11-26 12:30"), Duration::minutes(60)),
            Some(local("2026-11-26 14:30"))
        );
        // Starting outside hours counts from the opening.
        assert_eq!(
            c.add_business(local("2026-11-28 10:00"), Duration::minutes(30)),
            Some(local("2026-11-30 09:30"))
        );
        assert_eq!(
            c.business_between(local("2026-11-27 18:00"), local("2026-11-30 08:00")),
            Duration::zero()
        );
    }

    #[test]
    fn daylight_saving_changes() {
        let c = rome("mon-sun 08:00-20:00");
        let mut c = c;
        c.italian_holidays = false;
        // Clocks go forward on Sunday 29 March 2026: 8 local hours is still 8 business hours.
        let due = c
            .add_business(local("2026-03-28 16:00"), Duration::hours(8))
            .unwrap();
        assert_eq!(due, local("2026-03-29 12:00"));
        // And back on Sunday 25 October 2026.
        let due = c
            .add_business(local("2026-10-24 16:00"), Duration::hours(8))
            .unwrap();
        assert_eq!(due, local("2026-10-25 12:00"));
        // The intervals are 12 real hours on both days.
        let on = |d: &str| {
            let day = local(&format!("{d} 00:00"));
            let (a, b) = c.intervals_from(day).next().unwrap();
            b - a
        };
        assert_eq!(on("2026-03-29"), Duration::hours(12));
        assert_eq!(on("2026-10-25"), Duration::hours(12));
    }

    #[test]
    fn slots_follow_opening_hours() {
        let c = rome("mon-fri 09:00-10:00 14:00-14:45");
        let slots: Vec<_> = c
            .slots_from(local("2026-11-27 09:40"), Duration::minutes(30))
            .take(4)
            .collect();
        assert_eq!(
            slots,
            vec![
                (local("2026-11-27 09:30"), local("2026-11-27 10:00")),
                (local("2026-11-27 14:00"), local("2026-11-27 14:30")),
                (local("2026-11-27 14:30"), local("2026-11-27 14:45")),
                (local("2026-11-30 09:00"), local("2026-11-30 09:30")),
            ]
        );
    }

    #[test]
    fn never_open_calendars_end_searches() {
        let mut c = rome("mon 09:00-10:00");
        c.closed = (0..HORIZON_DAYS)
            .map(|i| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(i))
            .collect();
        assert_eq!(c.next_open(local("2026-01-01 00:00")), None);
        assert_eq!(
            c.add_business(local("2026-01-01 00:00"), Duration::hours(1)),
            None
        );
    }

    #[test]
    fn yearly_holidays_and_one_off_closures() {
        assert_eq!(
            parse_yearly(" 12-01, 06-29,02-29 ").unwrap(),
            [(2, 29), (6, 29), (12, 1)].into_iter().collect()
        );
        assert!(parse_yearly("13-01").is_err());
        assert!(parse_yearly("06/29").is_err());
        assert_eq!(
            format_yearly(&parse_yearly("12-01,06-29").unwrap()),
            "06-29, 12-01"
        );
        assert!(parse_dates("2026-02-30").is_err());
        assert_eq!(
            format_dates(&parse_dates("2026-12-31,2026-12-24").unwrap()),
            "2026-12-24, 2026-12-31"
        );
        // Siena closes for Sant'Ansano on 1 December, every year: Tuesday
        // 1 December 2026 goes to Wednesday.
        let mut siena = rome("mon-fri 09:00-18:00");
        siena.holidays = parse_yearly("12-01").unwrap();
        assert_eq!(
            siena.next_open(local("2026-11-30 18:30")),
            Some(local("2026-12-02 09:00"))
        );
        assert_eq!(
            siena.add_business(local("2027-11-30 17:00"), Duration::hours(2)),
            Some(local("2027-12-02 10:00"))
        );
    }

    #[test]
    fn only_a_calendar_open_every_minute_is_always_open() {
        let mut always = rome("24/7");
        assert!(always.week.is_always_open());
        // National holidays still close it.
        assert!(!always.is_always_open());
        always.italian_holidays = false;
        assert!(always.is_always_open());
        assert!(rome("mon-sun 00:00-24:00").week.is_always_open());
        assert!(!rome("mon-sat 00:00-24:00").week.is_always_open());
        assert!(!rome("mon-fri 09:00-18:00").week.is_always_open());
    }
}
