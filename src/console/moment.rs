//! Times as people read them: "3 days ago", "in 29 days", one line, with the exact UTC time on hover and in
//! the `datetime` attribute for screen readers and scripts.

use std::fmt;

use crate::clock::{format_rfc3339, format_time};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A `<time>` element, written unescaped by Askama (`HtmlSafe`): everything in it is built here from numbers.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    at: i64,
    now: i64,
    /// Within this many seconds ahead, the time is marked `soon` (a key about to expire).
    soon_within: i64,
}

impl Moment {
    pub fn new(at: i64, now: i64) -> Self {
        Self { at, now, soon_within: 0 }
    }

    /// Marks the time when it falls between now and `days` ahead, or when it has passed.
    pub fn deadline(at: i64, now: i64, days: i64) -> Self {
        Self { at, now, soon_within: days.max(0) * DAY }
    }

    /// "3 days ago", "in 29 days", "just now".
    pub fn relative(&self) -> String {
        let delta = self.at - self.now;
        let span = delta.unsigned_abs() as i64;
        if span < MINUTE {
            return "just now".to_owned();
        }
        let (n, unit) = match span {
            s if s < HOUR => (s / MINUTE, "minute"),
            s if s < DAY => (s / HOUR, "hour"),
            s if s < 45 * DAY => (s / DAY, "day"),
            s if s < 365 * DAY => ((s + 15 * DAY) / (30 * DAY), "month"),
            s => (s / (365 * DAY), "year"),
        };
        let plural = if n == 1 { "" } else { "s" };
        if delta < 0 { format!("{n} {unit}{plural} ago") } else { format!("in {n} {unit}{plural}") }
    }

    fn class(&self) -> &'static str {
        match self.soon_within {
            0 => "",
            _ if self.at <= self.now => " class=\"past\"",
            w if self.at - self.now <= w => " class=\"soon\"",
            _ => "",
        }
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exact = format_time(self.at);
        write!(
            f,
            "<time datetime=\"{}\" title=\"{exact}\"{}>{}<span class=\"visually-hidden\"> ({exact})</span></time>",
            format_rfc3339(self.at),
            self.class(),
            self.relative()
        )
    }
}

impl askama::filters::HtmlSafe for Moment {}

/// An optional time: the moment, or a word for its absence ("Never").
#[derive(Debug, Clone)]
pub enum MaybeMoment {
    At(Moment),
    Absent(&'static str),
}

impl MaybeMoment {
    pub fn new(at: Option<i64>, now: i64, absent: &'static str) -> Self {
        at.map_or(Self::Absent(absent), |t| Self::At(Moment::new(t, now)))
    }
}

impl fmt::Display for MaybeMoment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::At(m) => m.fmt(f),
            Self::Absent(word) => write!(f, "<span class=\"muted\">{word}</span>"),
        }
    }
}

impl askama::filters::HtmlSafe for MaybeMoment {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_as_people_say_them() {
        let now = 1_800_000_000;
        assert_eq!(Moment::new(now - 20, now).relative(), "just now");
        assert_eq!(Moment::new(now - 5 * MINUTE, now).relative(), "5 minutes ago");
        assert_eq!(Moment::new(now + HOUR, now).relative(), "in 1 hour");
        assert_eq!(Moment::new(now - 3 * DAY, now).relative(), "3 days ago");
        assert_eq!(Moment::new(now + 29 * DAY + HOUR, now).relative(), "in 29 days");
        assert_eq!(Moment::new(now + 90 * DAY, now).relative(), "in 3 months");
        assert_eq!(Moment::new(now - 800 * DAY, now).relative(), "2 years ago");
    }

    #[test]
    fn the_element_carries_the_exact_time_and_marks_deadlines() {
        let now = 1_800_000_000;
        let html = Moment::deadline(now + 2 * DAY, now, 7).to_string();
        assert!(html.starts_with("<time datetime=\"2027-01-17T"), "{html}");
        assert!(
            html.contains("title=\"2027-01-17 ") && html.contains("class=\"soon\"") && html.contains(">in 2 days<")
        );
        assert!(!Moment::deadline(now + 30 * DAY, now, 7).to_string().contains("class=\"soon\""));
        assert!(Moment::deadline(now - DAY, now, 7).to_string().contains("class=\"past\""));
        assert_eq!(MaybeMoment::new(None, now, "Never").to_string(), "<span class=\"muted\">Never</span>");
    }
}
