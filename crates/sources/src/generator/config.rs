//! The generator's keys in a pipeline file.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use watershed_events::Timestamp;

use super::heartbeat::{DEFAULT_CUSTOMERS, HeartbeatModel};

/// `source: { kind: generator, … }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Which built-in stream to produce.
    pub stream: StreamKind,
    /// Every value derives from the seed and the event's index.
    #[serde(default)]
    pub seed: u64,
    /// Total events across restarts; absent: run until stopped.
    #[serde(default)]
    pub count: Option<u64>,
    /// `unbounded` (default) or `N/s`, `N/min`, `N/h`.
    #[serde(default)]
    pub rate: Rate,
    /// Timestamp of event 0: RFC 3339, or `now` for live demos.
    #[serde(default)]
    pub start_time: StartTime,
    /// Simulated milliseconds between events' timestamps; by default
    /// 1 ms when unbounded, else one over the rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<u64>,
    /// heartbeat: customer ids run from 1 to this.
    #[serde(default = "default_customers")]
    pub customers: u64,
    /// heartbeat: the share of invalid readings (out of range, a missing
    /// field, a timestamp in the future), from 0 to 1, to exercise
    /// validation downstream.
    #[serde(default)]
    pub invalid_fraction: f64,
    /// heartbeat: readings drift slowly per customer, with small noise,
    /// instead of scattering widely.
    #[serde(default)]
    pub drift: bool,
}

fn default_customers() -> u64 {
    DEFAULT_CUSTOMERS
}

impl GeneratorConfig {
    /// The heart-rate model these keys describe (the stream's seed).
    pub fn heartbeat(&self) -> HeartbeatModel {
        HeartbeatModel {
            seed: self.seed,
            customers: self.customers,
            invalid_fraction: self.invalid_fraction,
            drift: self.drift,
        }
    }

    /// Checks the heartbeat keys: key name and problem.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(0.0..=1.0).contains(&self.invalid_fraction) {
            problems.push(("invalid_fraction", "must be between 0 and 1".to_owned()));
        }
        if self.customers == 0 {
            problems.push(("customers", "must be at least 1".to_owned()));
        }
        if self.interval_ms == Some(0) {
            problems.push(("interval_ms", "must be at least 1".to_owned()));
        }
        let shaped =
            self.invalid_fraction != 0.0 || self.drift || self.customers != DEFAULT_CUSTOMERS;
        if self.stream != StreamKind::Heartbeat && shaped {
            problems.push((
                "stream",
                "customers, invalid_fraction and drift apply to stream: heartbeat only".to_owned(),
            ));
        }
        problems
    }
}

/// The built-in streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// event_id, customer_id, ts, heart_rate.
    Heartbeat,
    /// order_id, customer_id, status, amount, created_at.
    Orders,
}

impl StreamKind {
    pub fn table_name(self) -> &'static str {
        match self {
            StreamKind::Heartbeat => "heartbeat",
            StreamKind::Orders => "orders",
        }
    }
}

/// How fast the generator produces events.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Rate {
    #[default]
    Unbounded,
    PerSecond(f64),
}

impl Rate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "unbounded" {
            return Ok(Rate::Unbounded);
        }
        let expected = || format!("invalid rate `{text}`: expected `unbounded` or N/s, N/min, N/h");
        let (count, unit) = text.split_once('/').ok_or_else(expected)?;
        let count: f64 = count.trim().parse().map_err(|_| expected())?;
        let seconds = match unit.trim() {
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(expected()),
        };
        if !(count.is_finite() && count > 0.0) {
            return Err(expected());
        }
        Ok(Rate::PerSecond(count / seconds))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Unbounded => f.write_str("unbounded"),
            Rate::PerSecond(per_second) => write!(f, "{per_second}/s"),
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            PerSecond(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::PerSecond(n) => Rate::parse(&format!("{n}/s")),
            Raw::Text(text) => Rate::parse(&text),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where event timestamps start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartTime {
    At(Timestamp),
    /// The moment the source opens; for live demos, not reproducible.
    Now,
}

impl Default for StartTime {
    /// 2024-01-01T00:00:00Z, so that runs are reproducible by default.
    fn default() -> Self {
        StartTime::At(Timestamp::from_micros(1_704_067_200_000_000))
    }
}

impl<'de> Deserialize<'de> for StartTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "now" {
            return Ok(StartTime::Now);
        }
        Timestamp::parse_rfc3339(&text)
            .map(StartTime::At)
            .map_err(|e| serde::de::Error::custom(format!("{e}, or `now`")))
    }
}

impl Serialize for StartTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StartTime::At(ts) => serializer.collect_str(ts),
            StartTime::Now => serializer.serialize_str("now"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_unit() {
        assert_eq!(Rate::parse("5000/s").unwrap(), Rate::PerSecond(5000.0));
        assert_eq!(Rate::parse("120/min").unwrap(), Rate::PerSecond(2.0));
        assert_eq!(Rate::parse("unbounded").unwrap(), Rate::Unbounded);
        for bad in ["fast", "5000", "0/s", "-1/s", "10/day"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let err = serde_json::from_str::<GeneratorConfig>(r#"{"stream":"heartbeat","cont":5}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `cont`"), "{err}");
    }
}
