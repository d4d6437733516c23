//! Ticket numbers a citizen can read out on the phone: `2026-000123`.

/// Formats the n-th ticket of a year.
pub fn format(year: i32, seq: i64) -> String {
    format!("{year}-{seq:06}")
}

/// Recognises a ticket number typed by a person (`2026-123`, `2026/000123`, `#2026-000123`)
/// and returns it in canonical form.
pub fn parse(text: &str) -> Option<String> {
    let t = text.trim().trim_start_matches('#');
    let (year, seq) = t.split_once(['-', '/'])?;
    if year.len() != 4 || seq.is_empty() || seq.len() > 9 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let seq: i64 = seq.parse().ok()?;
    (seq > 0).then(|| format(year, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format(2026, 123), "2026-000123");
        assert_eq!(format(2026, 1_234_567), "2026-1234567");
        assert_eq!(parse("#2026-000123").as_deref(), Some("2026-000123"));
        assert_eq!(parse("2026/123").as_deref(), Some("2026-000123"));
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("2026-"), None);
        assert_eq!(parse("26-12"), None);
    }
}
