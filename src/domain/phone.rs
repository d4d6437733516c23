//! Phone numbers are stored in E.164 so that `+39 06 1234567`, `0039061234567`
//! and `06-1234567` are one number. Italy is the default region.

use phonenumber::{country, Mode};

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPhone(pub String);

impl std::fmt::Display for InvalidPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' is not a valid phone number", self.0)
    }
}

/// Normalises a number as written by a person or a phone system to E.164.
pub fn normalise(input: &str) -> Result<String, InvalidPhone> {
    let trimmed = input.trim();
    let digits = trimmed.chars().filter(|c| c.is_ascii_digit()).count();
    let allowed = |c: char| c.is_ascii_digit() || " +-./()".contains(c);
    if digits < 5 || !trimmed.chars().all(allowed) {
        return Err(InvalidPhone(input.to_string()));
    }
    let parsed = phonenumber::parse(Some(country::Id::IT), trimmed)
        .map_err(|_| InvalidPhone(input.to_string()))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(InvalidPhone(input.to_string()));
    }
    Ok(parsed.format().mode(Mode::E164).to_string())
}

/// True when the text looks like someone typed a phone number (used by search).
pub fn looks_like_phone(input: &str) -> bool {
    let t = input.trim();
    let digits = t.chars().filter(|c| c.is_ascii_digit()).count();
    digits >= 6
        && t.chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_many_spellings() {
        for written in [
            "+39 06 1234567",
            "0039061234567",
            "06-1234567",
            "06 123 4567",
            "(06) 1234567",
        ] {
            assert_eq!(normalise(written).unwrap(), "+39061234567", "{written}");
        }
    }

    #[test]
    fn mobiles_and_foreign_numbers() {
        assert_eq!(normalise("347 123 4567").unwrap(), "+393471234567");
        assert_eq!(normalise("+7 495 123-45-67").unwrap(), "+74951234567");
        assert_eq!(normalise("+420 601 123 456").unwrap(), "+420601123456");
    }

    #[test]
    fn rubbish_is_refused() {
        for bad in ["", "abc", "12", "06-12x4567", "+39 0"] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_detection() {
        assert!(looks_like_phone("06 1234567"));
        assert!(!looks_like_phone("Rossi"));
        assert!(!looks_like_phone("123"));
    }
}
