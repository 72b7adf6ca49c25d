//! The heart-rate reading model, shared by the pipeline's `generator`
//! source (`stream: heartbeat`) and `watershed gen events heartbeat`: each
//! customer has a resting rate (55–84 bpm); readings scatter around it,
//! optionally drift slowly over time, and a configurable share is invalid
//! (out of range, a missing field, a timestamp in the future) to exercise
//! validation. Reading `i` is a pure function of the seed and `i`.

use watershed_events::Timestamp;

use super::streams::{EventRandom, splitmix64};

/// The customers a stream draws from unless told otherwise.
pub const DEFAULT_CUSTOMERS: u64 = 10_000;

/// How one stream of readings behaves. [`HeartbeatModel::new`] gives the
/// generator source's historic readings (no drift, no invalid ones).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartbeatModel {
    pub seed: u64,
    /// Customer ids run from 1 to `customers`.
    pub customers: u64,
    /// The share of invalid readings, 0.0 to 1.0.
    pub invalid_fraction: f64,
    /// Slow per-customer drift (±10 bpm over tens of minutes) plus small
    /// noise, instead of wide uniform noise.
    pub drift: bool,
}

/// What makes a reading invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// A heart rate no body has (0 or 300 and around).
    OutOfRange,
    /// `heart_rate` or `customer_id` is missing.
    MissingField,
    /// The timestamp lies days after the moment it was taken.
    FutureTimestamp,
}

/// One reading; `None` fields are missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// 1-based, the reading's index + 1.
    pub event_id: i64,
    pub customer_id: Option<i64>,
    pub ts: Timestamp,
    pub heart_rate: Option<i64>,
    /// Why it is invalid, if it is.
    pub invalid: Option<Invalid>,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl HeartbeatModel {
    /// The generator source's model: valid readings, no drift.
    pub fn new(seed: u64) -> Self {
        HeartbeatModel {
            seed,
            customers: DEFAULT_CUSTOMERS,
            invalid_fraction: 0.0,
            drift: false,
        }
    }

    /// The resting rate of customer `customer` (0-based), 55–84 bpm.
    pub fn resting(&self, customer: u64) -> u64 {
        55 + splitmix64(self.seed ^ customer) % 30
    }

    /// Reading `index`, taken at `ts`.
    pub fn reading(&self, index: u64, ts: Timestamp) -> Reading {
        let mut random = EventRandom::new(self.seed, index);
        let customer = random.below(self.customers.max(1));
        let resting = self.resting(customer);
        let heart_rate = if self.drift {
            let noise = random.below(11) as i64 - 5;
            resting as i64 + 12 + self.drift_bpm(customer, ts) + noise
        } else {
            (resting + random.below(40)) as i64
        };
        let mut reading = Reading {
            event_id: index as i64 + 1,
            customer_id: Some(customer as i64 + 1),
            ts,
            heart_rate: Some(heart_rate),
            invalid: None,
        };
        // Only drawn when asked for, so the valid stream is unchanged.
        if self.invalid_fraction > 0.0 && random.unit() < self.invalid_fraction {
            spoil(&mut reading, &mut random);
        }
        reading
    }

    /// A slow wave per customer: ±10 bpm, a period of 20–80 minutes.
    fn drift_bpm(&self, customer: u64, ts: Timestamp) -> i64 {
        let hash = splitmix64(self.seed.rotate_left(7) ^ customer);
        let period_secs = 1_200.0 + (hash % 3_600) as f64;
        let phase = (hash >> 20) as f64 / (1u64 << 44) as f64 * std::f64::consts::TAU;
        let secs = ts.micros as f64 / 1e6;
        (10.0 * (secs / period_secs * std::f64::consts::TAU + phase).sin()).round() as i64
    }
}

/// Makes `reading` invalid in one of the three ways.
fn spoil(reading: &mut Reading, random: &mut EventRandom) {
    let kind = match random.below(3) {
        0 => Invalid::OutOfRange,
        1 => Invalid::MissingField,
        _ => Invalid::FutureTimestamp,
    };
    match kind {
        Invalid::OutOfRange => {
            reading.heart_rate = Some(if random.below(2) == 0 {
                0
            } else {
                300 + random.below(20) as i64
            });
        }
        Invalid::MissingField if random.below(4) == 0 => reading.customer_id = None,
        Invalid::MissingField => reading.heart_rate = None,
        Invalid::FutureTimestamp => {
            let days = 1 + random.below(30) as i64;
            reading.ts = Timestamp::from_micros(reading.ts.micros + days * MICROS_PER_DAY);
        }
    }
    reading.invalid = Some(kind);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: u64) -> Timestamp {
        Timestamp::from_micros(1_704_067_200_000_000 + index as i64 * 1_000_000)
    }

    #[test]
    fn drifting_readings_stay_plausible_and_move_slowly() {
        let mut model = HeartbeatModel::new(5);
        model.drift = true;
        model.customers = 1;
        let rates: Vec<i64> = (0..3_600)
            .map(|i| model.reading(i, at(i)).heart_rate.unwrap_or_default())
            .collect();
        assert!(rates.iter().all(|r| (40..=120).contains(r)), "{rates:?}");
        let minute_means: Vec<i64> = rates
            .chunks(60)
            .map(|c| c.iter().sum::<i64>() / 60)
            .collect();
        let steps = minute_means.windows(2).map(|w| (w[1] - w[0]).abs());
        assert!(steps.clone().all(|s| s <= 4), "{minute_means:?}");
        let spread =
            minute_means.iter().max().unwrap_or(&0) - minute_means.iter().min().unwrap_or(&0);
        assert!(spread >= 5, "the rate drifts: {minute_means:?}");
    }

    #[test]
    fn the_invalid_share_is_close_to_the_requested_fraction() {
        let mut model = HeartbeatModel::new(9);
        model.invalid_fraction = 0.2;
        let readings: Vec<Reading> = (0..20_000).map(|i| model.reading(i, at(i))).collect();
        let invalid = readings.iter().filter(|r| r.invalid.is_some()).count();
        assert!((3_600..4_400).contains(&invalid), "{invalid}");
        for kind in [
            Invalid::OutOfRange,
            Invalid::MissingField,
            Invalid::FutureTimestamp,
        ] {
            assert!(readings.iter().any(|r| r.invalid == Some(kind)), "{kind:?}");
        }
        let bad_range = readings
            .iter()
            .filter(|r| r.invalid == Some(Invalid::OutOfRange));
        assert!(
            bad_range
                .clone()
                .all(|r| matches!(r.heart_rate, Some(0) | Some(300..)))
        );
    }

    #[test]
    fn no_invalid_fraction_leaves_every_reading_valid_and_unchanged() {
        let plain = HeartbeatModel::new(3);
        let mut spoilable = plain;
        spoilable.invalid_fraction = 0.5;
        let mut same = 0;
        for i in 0..1_000 {
            let a = plain.reading(i, at(i));
            assert!(a.invalid.is_none());
            let b = spoilable.reading(i, at(i));
            if b.invalid.is_none() {
                assert_eq!(a, b, "valid readings are the same readings");
                same += 1;
            }
        }
        assert!(same > 300, "{same}");
    }
}
