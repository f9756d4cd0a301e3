//! Durations as tfgate reads and writes them: the one parser behind every flag and setting that
//! takes a duration (`--min-age`, `--queue-timeout`, `--queue-lease`, `--github-timeout` and
//! their `.tfgate.toml` keys), and the ways tfgate writes one back.
//!
//! Parsing is humantime's, so every unit it knows works ("90s", "15m", "1h30m", "1h 30m", "2d",
//! "1w", "500ms"), plus a plain number of seconds ("90"). Writing is tfgate's own: humantime
//! writes "1day 2h 3m 4s", and tfgate's messages have always read "3d 4h" (an age, coarse) and
//! "1h30m" (a duration as the flag took it). Pure functions: no clock, no I/O.

use std::time::Duration;

/// A duration as the flags and `.tfgate.toml` take it: a plain number of seconds ("90"), or any
/// of humantime's forms ("90s", "15m", "2h", "1h30m", "1h 30m", "2d", "1w", "500ms").
///
/// Fractions ("1.5h") and signs are refused, as they always were: the forms `--help` shows are
/// whole numbers of a unit, and a value tfgate is unsure of is an error, never a guess.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (e.g. 90s, 15m, 2h, 1h30m)");
    let t = text.trim();
    if t.is_empty() || t.contains(['.', '-']) {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|_| bad())
}

/// A duration in words, coarse enough to read at a glance: "45s", "3m 20s", "2h 14m", "3d 4h".
/// A negative one (a clock that runs ahead) reads as "0s".
pub fn age_words(age: chrono::Duration) -> String {
    let s = age.num_seconds().max(0);
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// `age_words` of a whole number of seconds (how long a step took).
pub fn seconds_words(seconds: u64) -> String {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    age_words(chrono::Duration::try_seconds(seconds).unwrap_or(chrono::Duration::MAX))
}

/// A duration exactly, as the flags take it, so a message can quote a setting back:
/// "15m", "1h30m", "1d2h3m4s", "0s"; below a second, "1s500ms".
pub fn exact_words(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [
        (s / 86_400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
        (u64::from(d.subsec_millis()), "ms"),
    ];
    let text: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if text.is_empty() { "0s".into() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "m", "15x", "1h30", "-5m", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
        for text in ["15m", "1h30m", "1d2h3m4s", "0s", "45s"] {
            assert_eq!(exact_words(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn humantimes_forms_are_taken_too() {
        assert_eq!(parse_duration(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("+90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3 hours"), Ok(Duration::from_secs(3 * 3600)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(exact_words(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(
            parse_duration("1.5h").unwrap_err(),
            "`1.5h` is not a duration (e.g. 90s, 15m, 2h, 1h30m)"
        );
    }

    #[test]
    fn ages_in_words() {
        assert_eq!(age_words(chrono::Duration::seconds(8044)), "2h 14m");
        assert_eq!(age_words(chrono::Duration::seconds(45)), "45s");
        assert_eq!(age_words(chrono::Duration::seconds(200)), "3m 20s");
        assert_eq!(
            age_words(chrono::Duration::seconds(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
        assert_eq!(age_words(chrono::Duration::seconds(-5)), "0s");
        assert_eq!(seconds_words(59), "59s");
        assert_eq!(seconds_words(3599), "59m 59s");
        assert_eq!(seconds_words(3600 + 5 * 60 + 7), "1h 5m");
        assert_eq!(seconds_words(u64::MAX), age_words(chrono::Duration::MAX));
    }
}
