//! Registry (anagrafica) rules: e-mail normalisation, languages, and the
//! lowercase search key that makes contact search behave the same on both databases.

/// Why an e-mail address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEmail(pub String);

impl std::fmt::Display for InvalidEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' is not a valid e-mail address", self.0)
    }
}

/// Trims and lowercases an address, refusing anything that is not one.
pub fn normalise_email(input: &str) -> Result<String, InvalidEmail> {
    let trimmed = input.trim();
    let parsed: email_address::EmailAddress = trimmed
        .parse()
        .map_err(|_| InvalidEmail(input.to_string()))?;
    // A display name ("Mario <m@x.it>") is not an address; domains need a dot.
    if parsed.email() != trimmed || !parsed.domain().contains('.') {
        return Err(InvalidEmail(input.to_string()));
    }
    Ok(trimmed.to_lowercase())
}

/// Languages the help desk writes to customers in (ISO 639-1).
pub fn is_known_language(code: &str) -> bool {
    code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())
}

/// The fields of a contact that search looks at.
pub struct SearchFields<'a> {
    pub name: &'a str,
    pub organisation: &'a str,
    pub city: &'a str,
    pub address: &'a str,
    pub contract_number: Option<&'a str>,
    /// The key the client's registry feeds use.
    pub external_key: Option<&'a str>,
    pub emails: &'a [String],
    pub phones: &'a [String],
}

/// One lowercase line holding everything a contact can be found by. Phones appear
/// in E.164 and as national digits so that a partial number typed either way matches.
pub fn search_key(f: &SearchFields<'_>) -> String {
    let mut parts: Vec<String> = vec![
        f.name.to_string(),
        f.organisation.to_string(),
        f.city.to_string(),
        f.address.to_string(),
    ];
    if let Some(c) = f.contract_number {
        parts.push(c.to_string());
    }
    if let Some(k) = f.external_key {
        parts.push(k.to_string());
    }
    parts.extend(f.emails.iter().cloned());
    for p in f.phones {
        parts.push(p.clone());
        if let Some(national) = p.strip_prefix("+39") {
            parts.push(national.to_string());
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalise_email("  Mario.Rossi@Example.IT ").unwrap(),
            "mario.rossi@example.it"
        );
        assert_eq!(normalise_email("иван@пример.рф").unwrap(), "иван@пример.рф");
        for bad in [
            "",
            "mario",
            "mario@",
            "@x.it",
            "a b@x.it",
            "Mario <m@x.it>",
            "m@localhost",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_key_is_lowercase_and_has_national_phone() {
        let key = search_key(&SearchFields {
            name: "Ирина Петрова",
            organisation: "ČEZ",
            city: "Roma",
            address: "Via Appia 1",
            contract_number: Some("CN-77"),
            external_key: Some("TES-0042"),
            emails: &["i@x.ru".into()],
            phones: &["+39061234567".into()],
        });
        assert!(key.contains("ирина петрова"));
        assert!(key.contains("čez"));
        assert!(key.contains("cn-77"));
        assert!(key.contains("tes-0042"));
        assert!(key.contains("via appia 1"));
        assert!(key.contains(" 061234567"));
    }
}
