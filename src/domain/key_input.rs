//! Rules for what people type when they create or edit a key.

use super::Invalid;

pub const DAY: i64 = 86_400;

/// A key name: trimmed, 1–100 characters, no control characters. Unique per workspace, ignoring case.
pub fn key_name(input: &str) -> Result<String, Invalid> {
    let name = input.trim();
    if name.is_empty() {
        return Err(Invalid::new("name", "Enter a name for the key."));
    }
    if name.chars().count() > 100 {
        return Err(Invalid::new("name", "A key name has at most 100 characters."));
    }
    super::name::refuse_invisible("name", "A key name", name)?;
    Ok(name.to_owned())
}

pub fn description(input: &str) -> Result<String, Invalid> {
    let text = input.trim();
    if text.chars().count() > 500 {
        return Err(Invalid::new("description", "A description has at most 500 characters."));
    }
    Ok(text.to_owned())
}

/// The identifying field's value, required when the key type has one (its label names it).
pub fn identifier(input: &str, label: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(label) = label else { return Ok(None) };
    let value = input.trim();
    if value.is_empty() {
        return Err(Invalid::new("identifier", format!("Enter the {label}.")));
    }
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(Invalid::new("identifier", format!("The {label} has at most 200 printable characters.")));
    }
    Ok(Some(value.to_owned()))
}

/// The start (00:00 UTC) of a `YYYY-MM-DD` date, as Unix seconds.
pub fn parse_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok().map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// When a key expires: never, a preset number of days from now, or the end (23:59:59 UTC) of a date.
/// A moment already past is refused, and so is one beyond `max_lifetime_days` when a maximum is set.
pub fn expiry(choice: &str, date: &str, now: i64, max_lifetime_days: Option<i64>) -> Result<Option<i64>, Invalid> {
    let invalid = |m: String| Err(Invalid::new("expires", m));
    let at = match choice.trim() {
        "never" | "" => None,
        "date" => {
            let Some(start) = parse_date(date) else {
                return invalid("Enter the expiry date as YYYY-MM-DD.".into());
            };
            let end = start + DAY - 1;
            if end <= now {
                return invalid("The expiry date is in the past. Choose a later date.".into());
            }
            Some(end)
        }
        days => match days.parse::<i64>() {
            Ok(d @ 1..=3650) => Some(now + d * DAY),
            _ => return invalid("Choose when the key expires.".into()),
        },
    };
    if let Some(max) = max_lifetime_days {
        match at {
            None => return invalid(format!("Keys must expire within {max} days.")),
            Some(t) if t > now + max * DAY => {
                return invalid(format!("Keys must expire within {max} days."));
            }
            Some(_) => {}
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18

    #[test]
    fn presets_count_days_from_now() {
        assert_eq!(expiry("30", "", NOW, None), Ok(Some(NOW + 30 * DAY)));
        assert_eq!(expiry("never", "", NOW, None), Ok(None));
        assert!(expiry("0", "", NOW, None).is_err());
        assert!(expiry("soon", "", NOW, None).is_err());
    }

    #[test]
    fn a_date_means_the_end_of_that_day_and_must_be_in_the_future() {
        let end = expiry("date", "2027-01-31", NOW, None);
        assert_eq!(end, Ok(Some(1_801_439_999)));
        let past = expiry("date", "2020-01-01", NOW, None).err().map(|e| e.message);
        assert_eq!(past.as_deref(), Some("The expiry date is in the past. Choose a later date."));
        assert!(expiry("date", "31/01/2027", NOW, None).is_err());
    }

    #[test]
    fn the_maximum_lifetime_is_enforced() {
        assert!(expiry("never", "", NOW, Some(90)).is_err());
        assert!(expiry("365", "", NOW, Some(90)).is_err());
        assert!(expiry("90", "", NOW, Some(90)).is_ok());
    }

    #[test]
    fn the_identifying_field_is_required_only_when_the_type_has_one() {
        assert_eq!(identifier("  ", None), Ok(None));
        assert!(identifier(" ", Some("Application EUI")).is_err_and(|e| e.message == "Enter the Application EUI."));
        assert_eq!(identifier(" 70B3D5 ", Some("Application EUI")), Ok(Some("70B3D5".into())));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(key_name("  billing sync "), Ok("billing sync".into()));
        assert!(key_name("").is_err());
        assert!(key_name(&"k".repeat(101)).is_err());
    }
}
