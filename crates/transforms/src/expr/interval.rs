//! `interval` values as PostgreSQL keeps them apart: months (whose length
//! depends on the date they are added to) and microseconds. Days count as
//! 24 hours (the pipeline's clock is UTC, so no day is 23 or 25 hours).

use std::fmt;

use watershed_events::{Date, DateTime, TimeOfDay, Timestamp};

/// A span of months and microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Interval {
    pub months: i64,
    pub micros: i64,
}

const MICROS_PER_SECOND: i64 = 1_000_000;

impl Interval {
    /// Parses PostgreSQL's spelling: `1 minute`, `2 hours 30 minutes`,
    /// `-1 day`, `1.5 seconds`, `10m` (number and unit may touch).
    pub fn parse(text: &str) -> Option<Interval> {
        let mut out = Interval::default();
        let mut words = split_units(text).into_iter();
        let mut any = false;
        while let Some(number) = words.next() {
            let unit = words.next()?;
            let amount: f64 = number.parse().ok()?;
            out = out.add(Interval::of(amount, &unit)?)?;
            any = true;
        }
        any.then_some(out)
    }

    /// `amount` of `unit` (singular or plural, PostgreSQL's abbreviations).
    pub fn of(amount: f64, unit: &str) -> Option<Interval> {
        let micros_per: i64 = match unit.to_ascii_lowercase().as_str() {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => 1,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => 1_000,
            "s" | "sec" | "secs" | "second" | "seconds" => MICROS_PER_SECOND,
            "m" | "min" | "mins" | "minute" | "minutes" => 60 * MICROS_PER_SECOND,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * MICROS_PER_SECOND,
            "d" | "day" | "days" => 86_400 * MICROS_PER_SECOND,
            "w" | "week" | "weeks" => 7 * 86_400 * MICROS_PER_SECOND,
            "mon" | "mons" | "month" | "months" => return Some(months(amount, 1)),
            "y" | "yr" | "yrs" | "year" | "years" => return Some(months(amount, 12)),
            _ => return None,
        };
        let micros = amount * micros_per as f64;
        micros.is_finite().then(|| Interval {
            months: 0,
            micros: micros.round() as i64,
        })
    }

    pub fn add(self, other: Interval) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_add(other.months)?,
            micros: self.micros.checked_add(other.micros)?,
        })
    }

    pub fn negate(self) -> Option<Interval> {
        Some(Interval {
            months: self.months.checked_neg()?,
            micros: self.micros.checked_neg()?,
        })
    }

    /// `micros` since the epoch (a date-time or an instant) moved by this
    /// interval: months first, on the calendar (the 31st of a shorter
    /// month is its last day), then the microseconds.
    pub fn shift(self, micros: i64) -> Option<i64> {
        let moved = if self.months == 0 {
            micros
        } else {
            let DateTime { date, time } = Timestamp::from_micros(micros).to_datetime();
            let month0 = i64::from(date.year) * 12 + i64::from(date.month) - 1 + self.months;
            let year = i32::try_from(month0.div_euclid(12)).ok()?;
            let month = (month0.rem_euclid(12) + 1) as u8;
            let day = date.day.min(days_in_month(year, month));
            let date = Date { year, month, day };
            Timestamp::from_datetime(DateTime {
                date,
                time: TimeOfDay {
                    micros: time.micros,
                },
            })
            .micros
        };
        moved.checked_add(self.micros)
    }
}

fn months(amount: f64, per: i64) -> Interval {
    Interval {
        months: (amount * per as f64).round() as i64,
        micros: 0,
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `10m` → [`10`, `m`]; `2 hours 30 minutes` → [`2`, `hours`, `30`, `minutes`].
fn split_units(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let split = word
            .char_indices()
            .find(|(i, c)| *i > 0 && c.is_ascii_alphabetic())
            .map(|(i, _)| i);
        match split {
            Some(i) if word[..i].parse::<f64>().is_ok() => {
                out.push(word[..i].to_owned());
                out.push(word[i..].to_owned());
            }
            _ => out.push(word.to_owned()),
        }
    }
    out
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.micros as f64 / MICROS_PER_SECOND as f64;
        match self.months {
            0 => write!(f, "{seconds} seconds"),
            m => write!(f, "{m} months {seconds} seconds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_postgresql_spells_them() {
        let minute = 60 * MICROS_PER_SECOND;
        assert_eq!(Interval::parse("1 minute").map(|i| i.micros), Some(minute));
        assert_eq!(Interval::parse("10m").map(|i| i.micros), Some(10 * minute));
        assert_eq!(
            Interval::parse("2 hours 30 minutes").map(|i| i.micros),
            Some(150 * minute)
        );
        assert_eq!(
            Interval::parse("1.5 seconds").map(|i| i.micros),
            Some(1_500_000)
        );
        assert_eq!(
            Interval::parse("-1 day").map(|i| i.micros),
            Some(-86_400_000_000)
        );
        assert_eq!(Interval::parse("1 month").map(|i| i.months), Some(1));
        assert_eq!(Interval::parse("250ms").map(|i| i.micros), Some(250_000));
        assert_eq!(Interval::parse("1 fortnight"), None);
        assert_eq!(Interval::parse(""), None);
        assert_eq!(Interval::parse("5"), None);
    }

    #[test]
    fn a_month_after_the_31st_is_the_last_day_of_the_next_month() {
        let jan31 = Timestamp::from_datetime(DateTime::parse("2024-01-31 10:00:00").unwrap());
        let moved = Interval {
            months: 1,
            micros: 0,
        }
        .shift(jan31.micros)
        .unwrap();
        assert_eq!(
            Timestamp::from_micros(moved).to_datetime(),
            DateTime::parse("2024-02-29 10:00:00").unwrap()
        );
    }
}
