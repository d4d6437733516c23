//! Structured call forms: the fields a topic asks the operator to fill in
//! (a non-target call's city and organisation, a line-quality complaint's
//! failing number…), the rules a form definition must follow, and the checks
//! and normalisation of the values submitted with a ticket.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::kinds::text_enum;
use super::{contact, phone};

text_enum! {
    /// What a form field holds.
    FieldType {
        /// One line of text.
        Text = "text",
        /// Several lines of text.
        Textarea = "textarea",
        /// A phone number, stored in E.164.
        Phone = "phone",
        /// An e-mail address, stored lowercased.
        Email = "email",
        Number = "number",
        /// A calendar date, `YYYY-MM-DD`.
        Date = "date",
        /// One of `options`.
        Choice = "choice",
        Boolean = "boolean",
    }
}

/// One field of a form, as an admin configures it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// Stable key of the value: `[a-z][a-z0-9_]*`, unique in the form.
    pub name: String,
    /// What the operator sees.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Must be given when a ticket is opened.
    #[serde(default)]
    pub required: bool,
    /// The allowed values (`choice` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// Longest value in characters (`text`, `textarea`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Smallest value (`number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (`number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A regular expression the whole value must match (`text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// A field in error: `field` names it (`form[2].options`, `fields.city`), `code` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

impl FieldError {
    fn new(field: impl Into<String>, code: &'static str) -> Self {
        FieldError {
            field: field.into(),
            code,
        }
    }
}

/// A submitted value that passed the checks, normalised and kept with the
/// label and type the form had at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    pub name: String,
    pub label: String,
    pub kind: FieldType,
    /// As text: E.164 phones, lowercase e-mails, `YYYY-MM-DD`, `42`/`3.5`, `true`/`false`.
    pub value: String,
}

pub const MAX_FIELDS: usize = 50;
const MAX_NAME: usize = 50;
const MAX_LABEL: usize = 200;
const MAX_OPTIONS: usize = 100;
const MAX_PATTERN: usize = 500;
/// Longest text when the form sets no `max_length`, and the most it may set.
const TEXT_LIMIT: u32 = 500;
const TEXTAREA_LIMIT: u32 = 10_000;

fn is_slug(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= MAX_NAME
}

fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

fn limit(kind: FieldType) -> u32 {
    if kind == FieldType::Textarea {
        TEXTAREA_LIMIT
    } else {
        TEXT_LIMIT
    }
}

/// Checks a form definition and returns it tidied (labels and options trimmed).
/// An empty list is no form.
pub fn check_definition(fields: &[FormField]) -> Result<Vec<FormField>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if fields.len() > MAX_FIELDS {
        errors.push(FieldError::new("form", "too_many_fields"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let at = |what: &str| format!("form[{i}].{what}");
        let mut f = f.clone();
        if !is_slug(&f.name) {
            errors.push(FieldError::new(at("name"), "invalid_name"));
        } else if !seen.insert(f.name.clone()) {
            errors.push(FieldError::new(at("name"), "duplicate_name"));
        }
        f.label = f.label.trim().to_string();
        if f.label.is_empty() {
            errors.push(FieldError::new(at("label"), "required"));
        } else if f.label.chars().count() > MAX_LABEL {
            errors.push(FieldError::new(at("label"), "too_long"));
        }
        match (&mut f.options, f.kind) {
            (Some(options), FieldType::Choice) => {
                for o in options.iter_mut() {
                    *o = o.trim().to_string();
                }
                let distinct: std::collections::HashSet<&String> = options.iter().collect();
                if options.is_empty() {
                    errors.push(FieldError::new(at("options"), "required"));
                } else if options.len() > MAX_OPTIONS
                    || options
                        .iter()
                        .any(|o| o.is_empty() || o.chars().count() > MAX_LABEL)
                {
                    errors.push(FieldError::new(at("options"), "invalid_options"));
                } else if distinct.len() != options.len() {
                    errors.push(FieldError::new(at("options"), "duplicate_option"));
                }
            }
            (None, FieldType::Choice) => errors.push(FieldError::new(at("options"), "required")),
            (Some(_), _) => errors.push(FieldError::new(at("options"), "not_for_type")),
            (None, _) => {}
        }
        if let Some(m) = f.max_length {
            if !matches!(f.kind, FieldType::Text | FieldType::Textarea) {
                errors.push(FieldError::new(at("max_length"), "not_for_type"));
            } else if m == 0 || m > limit(f.kind) {
                errors.push(FieldError::new(at("max_length"), "out_of_range"));
            }
        }
        for (what, bound) in [("min", f.min), ("max", f.max)] {
            match bound {
                Some(_) if f.kind != FieldType::Number => {
                    errors.push(FieldError::new(at(what), "not_for_type"))
                }
                Some(b) if !b.is_finite() => errors.push(FieldError::new(at(what), "not_a_number")),
                _ => {}
            }
        }
        if let (Some(lo), Some(hi)) = (f.min, f.max) {
            if lo > hi {
                errors.push(FieldError::new(at("min"), "min_above_max"));
            }
        }
        if let Some(p) = &f.pattern {
            if f.kind != FieldType::Text {
                errors.push(FieldError::new(at("pattern"), "not_for_type"));
            } else if p.is_empty() || p.len() > MAX_PATTERN || compile(p).is_err() {
                errors.push(FieldError::new(at("pattern"), "invalid_pattern"));
            }
        }
        out.push(f);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Checks the values submitted for a form (a JSON object keyed by field name)
/// and returns them normalised, in the form's order. With `require_all`
/// (a new ticket) required fields must be there; null and blank count as absent.
pub fn check_values(
    form: &[FormField],
    values: &Value,
    require_all: bool,
) -> Result<Vec<FieldValue>, Vec<FieldError>> {
    let empty = serde_json::Map::new();
    let object = match values {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err(vec![FieldError::new("fields", "not_an_object")]),
    };
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|k| !form.iter().any(|f| &f.name == *k))
        .map(|k| FieldError::new(format!("fields.{k}"), "unknown_field"))
        .collect();
    let mut out = Vec::new();
    for f in form {
        let given = object.get(&f.name).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        let Some(v) = given else {
            if f.required && require_all {
                errors.push(FieldError::new(format!("fields.{}", f.name), "required"));
            }
            continue;
        };
        match check_value(f, v) {
            Ok(value) => out.push(FieldValue {
                name: f.name.clone(),
                label: f.label.clone(),
                kind: f.kind,
                value,
            }),
            Err(code) => errors.push(FieldError::new(format!("fields.{}", f.name), code)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn check_value(f: &FormField, v: &Value) -> Result<String, &'static str> {
    let text = || match v {
        Value::String(s) => Ok(s.trim().to_string()),
        _ => Err("not_text"),
    };
    match f.kind {
        FieldType::Text | FieldType::Textarea => {
            // Contract and reference numbers are often sent as JSON numbers.
            let s = match v {
                Value::Number(n) => n.to_string(),
                _ => text()?,
            };
            let max = f.max_length.unwrap_or_else(|| limit(f.kind));
            if s.chars().count() > max as usize {
                return Err("too_long");
            }
            if f.kind == FieldType::Text && s.contains(['\n', '\r']) {
                return Err("not_one_line");
            }
            if let Some(p) = &f.pattern {
                let re = compile(p).map_err(|_| "invalid_pattern")?;
                if !re.is_match(&s) {
                    return Err("pattern_mismatch");
                }
            }
            Ok(s)
        }
        FieldType::Phone => phone::normalise(&text()?).map_err(|_| "invalid_phone"),
        FieldType::Email => contact::normalise_email(&text()?).map_err(|_| "invalid_email"),
        FieldType::Number => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or("not_a_number")?;
            if f.min.is_some_and(|lo| n < lo) {
                return Err("below_min");
            }
            if f.max.is_some_and(|hi| n > hi) {
                return Err("above_max");
            }
            Ok(format_number(n))
        }
        FieldType::Date => {
            let s = text()?;
            match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                Ok(d) if s.len() == 10 => Ok(d.format("%Y-%m-%d").to_string()),
                _ => Err("invalid_date"),
            }
        }
        FieldType::Choice => {
            let s = text()?;
            let options = f.options.as_deref().unwrap_or_default();
            if options.contains(&s) {
                Ok(s)
            } else {
                Err("not_an_option")
            }
        }
        FieldType::Boolean => match v {
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err("not_a_boolean"),
        },
    }
}

/// `42` rather than `42.0`; other numbers as Rust prints them.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A stored value as JSON: numbers and booleans typed, everything else text.
pub fn json_value(kind: FieldType, stored: &str) -> Value {
    match kind {
        FieldType::Number => {
            if let Ok(i) = stored.parse::<i64>() {
                Value::from(i)
            } else {
                stored
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(stored.into()))
            }
        }
        FieldType::Boolean => match stored {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.into()),
        },
        _ => Value::String(stored.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: FieldType, required: bool) -> FormField {
        FormField {
            name: name.into(),
            label: format!("  {name} label "),
            kind,
            required,
            options: None,
            max_length: None,
            min: None,
            max: None,
            pattern: None,
        }
    }

    fn codes(r: Result<Vec<FieldValue>, Vec<FieldError>>) -> Vec<(String, &'static str)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn def_codes(fields: &[FormField]) -> Vec<(String, &'static str)> {
        check_definition(fields)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn complaint() -> Vec<FormField> {
        let mut kind = field("kind", FieldType::Choice, false);
        kind.options = Some(vec!["sito".into(), "volantino".into()]);
        let mut contract = field("contract", FieldType::Text, false);
        contract.pattern = Some("[A-Z]{2,4}-[0-9-]+".into());
        contract.max_length = Some(20);
        let mut count = field("count", FieldType::Number, false);
        count.min = Some(1.0);
        count.max = Some(10.0);
        check_definition(&[
            field("failing_number", FieldType::Phone, true),
            field("email", FieldType::Email, false),
            field("when", FieldType::Date, false),
            field("notes", FieldType::Textarea, false),
            field("urgent", FieldType::Boolean, false),
            kind,
            contract,
            count,
        ])
        .unwrap()
    }

    #[test]
    fn a_good_definition_is_tidied() {
        let form = complaint();
        assert_eq!(form[0].label, "failing_number label");
        assert_eq!(form.len(), 8);
        assert!(check_definition(&[]).unwrap().is_empty());
    }

    #[test]
    fn definition_json_round_trips() {
        let form: Vec<FormField> = serde_json::from_value(json!([
            {"name": "city", "label": "Città", "type": "text"},
            {"name": "kind", "label": "Tipo", "type": "choice", "required": true, "options": ["a", "b"]}
        ]))
        .unwrap();
        assert_eq!(form[1].kind, FieldType::Choice);
        assert!(form[1].required && !form[0].required);
        let back = serde_json::to_value(&form).unwrap();
        assert_eq!(
            back[0],
            json!({"name": "city", "label": "Città", "type": "text", "required": false})
        );
        assert!(serde_json::from_value::<Vec<FormField>>(
            json!([{"name": "a", "label": "A", "type": "colour"}])
        )
        .is_err());
        assert!(serde_json::from_value::<Vec<FormField>>(
            json!([{"name": "a", "label": "A", "type": "text", "colour": 1}])
        )
        .is_err());
    }

    #[test]
    fn bad_definitions_name_the_field_in_error() {
        let mut bad_name = field("City", FieldType::Text, false);
        bad_name.label = " ".into();
        assert_eq!(
            def_codes(&[bad_name]),
            vec![
                ("form[0].name".to_string(), "invalid_name"),
                ("form[0].label".to_string(), "required")
            ]
        );
        for name in ["", "1a", "_a", "a-b", "città", &"a".repeat(51)] {
            assert_eq!(
                def_codes(&[field(name, FieldType::Text, false)])[0].1,
                "invalid_name",
                "{name}"
            );
        }
        let twice = [
            field("city", FieldType::Text, false),
            field("city", FieldType::Phone, false),
        ];
        assert_eq!(
            def_codes(&twice),
            vec![("form[1].name".to_string(), "duplicate_name")]
        );
        let mut opts = field("city", FieldType::Text, false);
        opts.options = Some(vec!["a".into()]);
        assert_eq!(def_codes(&[opts])[0].1, "not_for_type");
        let no_opts = field("kind", FieldType::Choice, false);
        assert_eq!(
            def_codes(&[no_opts])[0],
            ("form[0].options".into(), "required")
        );
        let mut empty_opts = field("kind", FieldType::Choice, false);
        empty_opts.options = Some(vec![]);
        assert_eq!(def_codes(&[empty_opts])[0].1, "required");
        let mut dup_opts = field("kind", FieldType::Choice, false);
        dup_opts.options = Some(vec!["a".into(), " a".into()]);
        assert_eq!(def_codes(&[dup_opts])[0].1, "duplicate_option");
        let mut blank_opt = field("kind", FieldType::Choice, false);
        blank_opt.options = Some(vec!["a".into(), "  ".into()]);
        assert_eq!(def_codes(&[blank_opt])[0].1, "invalid_options");
        let mut bad_re = field("code", FieldType::Text, false);
        bad_re.pattern = Some("([a-z".into());
        assert_eq!(
            def_codes(&[bad_re])[0],
            ("form[0].pattern".into(), "invalid_pattern")
        );
        let mut re_on_phone = field("tel", FieldType::Phone, false);
        re_on_phone.pattern = Some("[0-9]+".into());
        assert_eq!(def_codes(&[re_on_phone])[0].1, "not_for_type");
        let mut range = field("n", FieldType::Number, false);
        range.min = Some(5.0);
        range.max = Some(1.0);
        assert_eq!(
            def_codes(&[range])[0],
            ("form[0].min".into(), "min_above_max")
        );
        let mut min_on_text = field("t", FieldType::Text, false);
        min_on_text.min = Some(1.0);
        assert_eq!(
            def_codes(&[min_on_text])[0],
            ("form[0].min".into(), "not_for_type")
        );
        let mut len_on_date = field("d", FieldType::Date, false);
        len_on_date.max_length = Some(3);
        assert_eq!(def_codes(&[len_on_date])[0].1, "not_for_type");
        let mut huge = field("t", FieldType::Text, false);
        huge.max_length = Some(100_000);
        assert_eq!(def_codes(&[huge])[0].1, "out_of_range");
        let many: Vec<FormField> = (0..=MAX_FIELDS)
            .map(|i| field(&format!("f{i}"), FieldType::Text, false))
            .collect();
        assert_eq!(def_codes(&many)[0], ("form".into(), "too_many_fields"));
    }

    #[test]
    fn values_are_normalised_in_form_order() {
        let values = check_values(
            &complaint(),
            &json!({
                "count": "3",
                "contract": "MPS-2021-7777",
                "kind": "sito",
                "urgent": true,
                "notes": "  riga uno\nriga due  ",
                "when": "2026-11-03",
                "email": " Anna.Bruni@Example.IT ",
                "failing_number": "0039 06 123 4567",
            }),
            true,
        )
        .unwrap();
        let got: Vec<(&str, &str)> = values
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("failing_number", "+39061234567"),
                ("email", "anna.bruni@example.it"),
                ("when", "2026-11-03"),
                ("notes", "riga uno\nriga due"),
                ("urgent", "true"),
                ("kind", "sito"),
                ("contract", "MPS-2021-7777"),
                ("count", "3"),
            ]
        );
        assert_eq!(values[0].label, "failing_number label");
        assert_eq!(values[0].kind, FieldType::Phone);
    }

    #[test]
    fn optional_fields_may_be_left_out_or_blank() {
        let values = check_values(
            &complaint(),
            &json!({"failing_number": "06 1234567", "email": "", "when": null}),
            true,
        )
        .unwrap();
        assert_eq!(values.len(), 1);
    }

    #[test]
    fn required_fields_only_when_asked() {
        assert_eq!(
            codes(check_values(&complaint(), &json!({}), true)),
            vec![("fields.failing_number".to_string(), "required")]
        );
        assert_eq!(
            codes(check_values(
                &complaint(),
                &json!({"failing_number": "  "}),
                true
            )),
            vec![("fields.failing_number".to_string(), "required")]
        );
        assert_eq!(
            codes(check_values(&complaint(), &Value::Null, true))[0].1,
            "required"
        );
        assert!(check_values(&complaint(), &json!({}), false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn every_kind_of_bad_value_is_named() {
        let cases = [
            (
                json!({"failing_number": "06-12x4567"}),
                "fields.failing_number",
                "invalid_phone",
            ),
            (
                json!({"failing_number": 61234567}),
                "fields.failing_number",
                "not_text",
            ),
            (json!({"email": "mario@"}), "fields.email", "invalid_email"),
            (json!({"when": "03/11/2026"}), "fields.when", "invalid_date"),
            (json!({"when": "2026-02-30"}), "fields.when", "invalid_date"),
            (json!({"when": "2026-1-3"}), "fields.when", "invalid_date"),
            (json!({"kind": "radio"}), "fields.kind", "not_an_option"),
            (json!({"urgent": "yes"}), "fields.urgent", "not_a_boolean"),
            (json!({"count": "tre"}), "fields.count", "not_a_number"),
            (json!({"count": 0}), "fields.count", "below_min"),
            (json!({"count": 10.5}), "fields.count", "above_max"),
            (json!({"count": true}), "fields.count", "not_a_number"),
            (
                json!({"contract": "mps-1"}),
                "fields.contract",
                "pattern_mismatch",
            ),
            (
                json!({"contract": "ABCDE-1"}),
                "fields.contract",
                "pattern_mismatch",
            ),
            (
                json!({"contract": format!("MPS-{}", "1".repeat(20))}),
                "fields.contract",
                "too_long",
            ),
            (
                json!({"contract": "MPS-1\nMPS-2"}),
                "fields.contract",
                "not_one_line",
            ),
            (json!({"notes": ["a"]}), "fields.notes", "not_text"),
            (
                json!({"notes": "x".repeat(10_001)}),
                "fields.notes",
                "too_long",
            ),
            (json!({"colour": "red"}), "fields.colour", "unknown_field"),
        ];
        for (mut values, field, code) in cases {
            if values.get("failing_number").is_none() {
                values["failing_number"] = json!("06 1234567");
            }
            assert_eq!(
                codes(check_values(&complaint(), &values, true)),
                vec![(field.to_string(), code)],
                "{values}"
            );
        }
        assert_eq!(
            codes(check_values(&complaint(), &json!(["a"]), true)),
            vec![("fields".to_string(), "not_an_object")]
        );
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let errors = codes(check_values(
            &complaint(),
            &json!({"email": "x", "when": "ieri", "colour": 1}),
            true,
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
    }

    #[test]
    fn numbers_and_text_numbers() {
        let mut n = field("n", FieldType::Number, false);
        n.min = Some(-5.0);
        let mut t = field("t", FieldType::Text, false);
        t.max_length = Some(10);
        let form = check_definition(&[n, t]).unwrap();
        let v = check_values(&form, &json!({"n": -2.5, "t": 12345}), true).unwrap();
        assert_eq!(v[0].value, "-2.5");
        assert_eq!(v[1].value, "12345");
        assert_eq!(json_value(FieldType::Number, "-2.5"), json!(-2.5));
        assert_eq!(json_value(FieldType::Number, "42"), json!(42));
        assert_eq!(json_value(FieldType::Boolean, "false"), json!(false));
        assert_eq!(
            json_value(FieldType::Phone, "+39061234567"),
            json!("+39061234567")
        );
        assert_eq!(format_number(7.0), "7");
    }
}
