//! Turning what a person typed into search terms that both databases treat alike.

/// Splits text into lowercase words (letters and digits in any script).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .take(16)
        .collect()
}

/// An FTS5 query that matches all the words, with no operator injection.
pub fn fts5_query(text: &str) -> Option<String> {
    let w = words(text);
    (!w.is_empty()).then(|| {
        w.iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// A LIKE pattern that finds `term` anywhere, with `\` as the escape character.
pub fn like_contains(term: &str) -> String {
    let mut escaped = String::with_capacity(term.len() + 2);
    escaped.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_any_script() {
        assert_eq!(
            words("Привет, мир! Příliš-žluťoučký 42"),
            vec!["привет", "мир", "příliš", "žluťoučký", "42"]
        );
        assert_eq!(
            fts5_query("a \"OR\" NEAR(b)").unwrap(),
            "\"a\" \"or\" \"near\" \"b\""
        );
        assert_eq!(fts5_query("  ,, "), None);
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_contains("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
