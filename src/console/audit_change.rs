//! An audit event's change as people read it: one `field: before → after` pair per changed field, times as
//! dates, durations in words, lists joined. The raw JSON stays in the CSV export.

use serde_json::{Map, Value};

use crate::clock::format_time;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub field: String,
    /// None: the field was added.
    pub before: Option<String>,
    /// None: the field was removed.
    pub after: Option<String>,
}

/// The pairs that differ between `before` and `after` (JSON objects as the services record them; anything
/// else is shown whole under "value").
pub fn pairs(before: Option<&str>, after: Option<&str>) -> Vec<Pair> {
    let parse = |s: Option<&str>| -> Map<String, Value> {
        match s.map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(m))) => m,
            Some(Ok(other)) => Map::from_iter([("value".to_owned(), other)]),
            Some(Err(_)) => Map::from_iter([("value".to_owned(), Value::String(s.unwrap_or_default().to_owned()))]),
            None => Map::new(),
        }
    };
    let (b, a) = (parse(before), parse(after));
    let mut fields: Vec<&String> = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))).collect();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| b.get(*f) != a.get(*f))
        .map(|f| Pair { field: label(f), before: b.get(f).map(|v| show(f, v)), after: a.get(f).map(|v| show(f, v)) })
        .collect()
}

fn label(field: &str) -> String {
    field.strip_suffix("_id").or_else(|| field.strip_suffix("_secs")).unwrap_or(field).replace('_', " ")
}

fn show(field: &str, value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Number(n) => match n.as_i64() {
            Some(t) if field.ends_with("_at") || field == "expires" => format_time(t),
            Some(s) if field.ends_with("_secs") => duration(s),
            Some(id) if field.ends_with("_id") => format!("#{id}"),
            _ => n.to_string(),
        },
        Value::String(s) if s.is_empty() => "(empty)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(|v| show(field, v)).collect::<Vec<_>>().join(", "),
        Value::Object(_) => value.to_string(),
    }
}

fn duration(secs: i64) -> String {
    match secs {
        0 => "none".to_owned(),
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_show_with_times_and_durations_in_words() {
        let before = r#"{"name":"billing","expires_at":1803956611,"roles":["Read"],"editable":true}"#;
        let after =
            r#"{"name":"billing","expires_at":null,"roles":["Read","Lock"],"editable":false,"overlap_secs":86400}"#;
        // Fields in name order (as serde_json keeps them), then those only the change added.
        let p = pairs(Some(before), Some(after));
        assert_eq!(
            p,
            vec![
                Pair { field: "editable".into(), before: Some("yes".into()), after: Some("no".into()) },
                Pair {
                    field: "expires at".into(),
                    before: Some("2027-03-02 03:03 UTC".into()),
                    after: Some("none".into())
                },
                Pair { field: "roles".into(), before: Some("Read".into()), after: Some("Read, Lock".into()) },
                Pair { field: "overlap".into(), before: None, after: Some("1 day".into()) },
            ]
        );
    }

    #[test]
    fn ids_and_odd_values_are_still_shown() {
        let p = pairs(None, Some(r#"{"owner_id":7}"#));
        assert_eq!(p, vec![Pair { field: "owner".into(), before: None, after: Some("#7".into()) }]);
        let p = pairs(Some("not json"), None);
        assert_eq!(p, vec![Pair { field: "value".into(), before: Some("not json".into()), after: None }]);
    }
}
