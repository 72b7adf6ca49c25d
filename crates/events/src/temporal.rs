//! Dates and times as the databases store them, without a calendar crate:
//! MySQL allows values no calendar library models (`0000-00-00`, TIME of
//! 838 hours), so these are plain fields with exact text forms.

use std::fmt;

use serde::{Deserialize, Serialize};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {what} `{text}`: expected {expected}")]
pub struct TemporalError {
    what: &'static str,
    text: String,
    expected: &'static str,
}

/// A calendar date. Month and day may be zero (MySQL zero dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// A signed time span in microseconds: a time of day, or a MySQL TIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeOfDay {
    pub micros: i64,
}

/// A date and time without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DateTime {
    pub date: Date,
    pub time: TimeOfDay,
}

/// An instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp {
    pub micros: i64,
}

impl Date {
    /// The date `days` days after 1970-01-01 (proleptic Gregorian).
    pub fn from_days_since_epoch(days: i64) -> Self {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// Days since 1970-01-01; zero months or days count as the first.
    pub fn days_since_epoch(&self) -> i64 {
        let month = i64::from(self.month.max(1));
        let day = i64::from(self.day.max(1));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, TemporalError> {
        let err = || TemporalError {
            what: "date",
            text: text.to_owned(),
            expected: "YYYY-MM-DD",
        };
        let mut parts = text.splitn(3, '-');
        let year = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let month: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let day: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        if month > 12 || day > 31 {
            return Err(err());
        }
        Ok(Self { year, month, day })
    }
}

impl TimeOfDay {
    pub fn from_hms_micro(hours: i64, minutes: i64, seconds: i64, micros: i64) -> Self {
        Self {
            micros: ((hours * 60 + minutes) * 60 + seconds) * MICROS_PER_SECOND + micros,
        }
    }

    /// Parses `[-]HH:MM:SS[.ffffff]`.
    pub fn parse(text: &str) -> Result<Self, TemporalError> {
        let err = || TemporalError {
            what: "time",
            text: text.to_owned(),
            expected: "HH:MM:SS[.ffffff]",
        };
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (hms, fraction) = body.split_once('.').unwrap_or((body, ""));
        let mut parts = hms.splitn(3, ':');
        let mut next = || {
            parts
                .next()
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(err)
        };
        let (hours, minutes, seconds) = (next()?, next()?, next()?);
        if minutes > 59 || seconds > 59 || fraction.len() > 6 {
            return Err(err());
        }
        let micros = if fraction.is_empty() {
            0
        } else {
            let digits: i64 = fraction.parse().map_err(|_| err())?;
            digits * 10_i64.pow(6 - fraction.len() as u32)
        };
        let time = Self::from_hms_micro(hours, minutes, seconds, micros);
        Ok(if negative {
            Self {
                micros: -time.micros,
            }
        } else {
            time
        })
    }
}

impl DateTime {
    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff]`.
    pub fn parse(text: &str) -> Result<Self, TemporalError> {
        let split = text.find(['T', ' ']).ok_or_else(|| TemporalError {
            what: "datetime",
            text: text.to_owned(),
            expected: "YYYY-MM-DD HH:MM:SS[.ffffff]",
        })?;
        Ok(Self {
            date: Date::parse(&text[..split])?,
            time: TimeOfDay::parse(&text[split + 1..])?,
        })
    }
}

impl Timestamp {
    pub fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    pub fn to_datetime(self) -> DateTime {
        let days = self.micros.div_euclid(MICROS_PER_DAY);
        let micros = self.micros.rem_euclid(MICROS_PER_DAY);
        DateTime {
            date: Date::from_days_since_epoch(days),
            time: TimeOfDay { micros },
        }
    }

    pub fn from_datetime(datetime: DateTime) -> Self {
        Self {
            micros: datetime.date.days_since_epoch() * MICROS_PER_DAY + datetime.time.micros,
        }
    }

    /// Parses RFC 3339 (`2024-01-01T00:00:00Z`, `…+02:00`, fractions allowed).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TemporalError> {
        let err = || TemporalError {
            what: "timestamp",
            text: text.to_owned(),
            expected: "RFC 3339, e.g. 2024-01-01T00:00:00Z",
        };
        let (local, offset_micros) = if let Some(local) = text.strip_suffix(['Z', 'z']) {
            (local, 0)
        } else {
            let at = text.rfind(['+', '-']).filter(|&i| i > 10).ok_or_else(err)?;
            let offset = TimeOfDay::parse(&format!("{}:00", &text[at + 1..])).map_err(|_| err())?;
            let sign = if text.as_bytes()[at] == b'-' { -1 } else { 1 };
            (&text[..at], sign * offset.micros)
        };
        if !local.contains('T') && !local.contains('t') {
            return Err(err());
        }
        let datetime = DateTime::parse(&local.replace('t', "T")).map_err(|_| err())?;
        Ok(Self {
            micros: Self::from_datetime(datetime).micros - offset_micros,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let seconds = abs / 1_000_000;
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        write!(f, "{sign}{h:02}:{m:02}:{s:02}")?;
        match abs % 1_000_000 {
            0 => Ok(()),
            fraction => write!(f, ".{fraction:06}"),
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.date, self.time)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC: `2024-01-01T00:00:00.250000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let datetime = self.to_datetime();
        if !(0..=9999).contains(&datetime.date.year) {
            return write!(f, "{}T{}Z", datetime.date, datetime.time);
        }
        // Sinks print one per row and column: digits by hand, not
        // through the formatting machinery (a tenth of a sink's time).
        let mut out = [0u8; 27];
        let date = datetime.date;
        let year = date.year as u32;
        digits(&mut out[0..4], year);
        out[4] = b'-';
        digits(&mut out[5..7], u32::from(date.month));
        out[7] = b'-';
        digits(&mut out[8..10], u32::from(date.day));
        out[10] = b'T';
        let micros = datetime.time.micros as u64;
        let seconds = (micros / 1_000_000) as u32;
        digits(&mut out[11..13], seconds / 3600);
        out[13] = b':';
        digits(&mut out[14..16], seconds / 60 % 60);
        out[16] = b':';
        digits(&mut out[17..19], seconds % 60);
        let fraction = (micros % 1_000_000) as u32;
        let end = if fraction == 0 {
            19
        } else {
            out[19] = b'.';
            digits(&mut out[20..26], fraction);
            26
        };
        out[end] = b'Z';
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&out[..=end]).unwrap_or_default())
    }
}

/// `n` in decimal, zero-padded to fill `out`.
fn digits(out: &mut [u8], mut n: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_across_eras() {
        for days in [-800_000, -1, 0, 1, 59, 60, 11_016, 19_723, 2_932_896] {
            let date = Date::from_days_since_epoch(days);
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        assert_eq!(
            Date::from_days_since_epoch(19_723).to_string(),
            "2024-01-01"
        );
    }

    #[test]
    fn timestamps_print_and_parse_rfc3339() {
        let ts = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(ts.micros, 1_704_067_200_000_000);
        let shifted = Timestamp::parse_rfc3339("2024-01-01T02:00:00.5+02:00").unwrap();
        assert_eq!(shifted.micros, ts.micros + 500_000);
        assert_eq!(shifted.to_string(), "2024-01-01T00:00:00.500000Z");
        assert!(Timestamp::parse_rfc3339("2024-01-01").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn mysql_times_beyond_a_day_and_negative_print_exactly() {
        let time = TimeOfDay::parse("-838:59:59.000001").unwrap();
        assert_eq!(time.to_string(), "-838:59:59.000001");
        assert!(TimeOfDay::parse("10:61:00").is_err());
    }

    #[test]
    fn zero_dates_survive() {
        let zero = Date::parse("0000-00-00").unwrap();
        assert_eq!(zero.to_string(), "0000-00-00");
    }
}

#[cfg(test)]
mod printing {
    use super::*;

    #[test]
    fn the_fast_printer_matches_the_general_one() {
        for micros in [
            0,
            1,
            999_999,
            1_704_067_200_000_000,
            1_704_067_200_250_000,
            253_402_300_799_999_999,
            -1,
            -62_135_596_800_000_000,
        ] {
            let ts = Timestamp::from_micros(micros);
            let dt = ts.to_datetime();
            assert_eq!(
                ts.to_string(),
                format!("{}T{}Z", dt.date, dt.time),
                "{micros}"
            );
        }
    }
}
