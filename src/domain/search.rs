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

/// Fewest characters a substring needs for a trigram index (SQLite FTS5
/// `tokenize='trigram'`, PostgreSQL `pg_trgm`) to narrow the search: shorter
/// ones are found by scanning.
pub const TRIGRAM_MIN_CHARS: usize = 3;

/// An FTS5 phrase that a trigram table matches wherever `term` occurs as a
/// substring (ignoring case), or None when the term is too short for trigrams
/// (or holds a NUL, which no FTS5 string can). A candidate filter: the exact
/// test stays the LIKE pattern.
pub fn trigram_phrase(term: &str) -> Option<String> {
    (term.chars().count() >= TRIGRAM_MIN_CHARS && !term.contains('\0'))
        .then(|| format!("\"{}\"", term.replace('"', "\"\"")))
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
    fn trigram_phrases_quote_and_need_three_characters() {
        assert_eq!(trigram_phrase("ab"), None);
        assert_eq!(trigram_phrase("жук").unwrap(), "\"жук\"");
        assert_eq!(
            trigram_phrase("say \"hi\" 50%").unwrap(),
            "\"say \"\"hi\"\" 50%\""
        );
        assert_eq!(trigram_phrase("a\0b"), None);
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_contains("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
