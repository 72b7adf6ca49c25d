//! The built-in streams' schemas and rows. Row `i` is a pure function of
//! the seed, the index and the start time: replaying an index range after a
//! crash yields the same rows.

use std::sync::Arc;

use watershed_events::{
    Column, Decimal, LogicalType, Row, TableName, TableSchema, Timestamp, Value,
};

use super::config::StreamKind;
use super::heartbeat::{DEFAULT_CUSTOMERS, HeartbeatModel};

/// The table a stream writes. Heartbeat readings may lack a customer or a
/// rate when the model makes invalid ones, so those columns take NULL then.
pub fn table_schema(stream: StreamKind, model: &HeartbeatModel) -> TableSchema {
    let int64 = |name| Column::new(name, LogicalType::Int64, false);
    let ts = |name| Column::new(name, LogicalType::Timestamp { fsp: 6 }, false);
    let gaps = model.invalid_fraction > 0.0;
    let (columns, key) = match stream {
        StreamKind::Heartbeat => (
            vec![
                int64("event_id"),
                Column::new("customer_id", LogicalType::Int64, gaps),
                ts("ts"),
                Column::new("heart_rate", LogicalType::Int16, gaps),
            ],
            "event_id",
        ),
        StreamKind::Orders => (
            vec![
                int64("order_id"),
                int64("customer_id"),
                Column::new(
                    "status",
                    LogicalType::Enum {
                        labels: labels(&ORDER_STATUSES),
                    },
                    false,
                ),
                Column::new(
                    "amount",
                    LogicalType::Decimal {
                        precision: Some(12),
                        scale: Some(2),
                    },
                    false,
                ),
                ts("created_at"),
            ],
            "order_id",
        ),
    };
    TableSchema {
        name: TableName::new(None, stream.table_name()),
        columns,
        primary_key: vec![key.to_owned()],
        indexes: vec![],
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    }
}

const ORDER_STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];

fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Row `index` of `stream`; `step_micros` is the simulated time between
/// consecutive events. `model` (with the stream's seed) shapes heartbeat
/// readings.
pub fn event_row(
    stream: StreamKind,
    model: &HeartbeatModel,
    index: u64,
    start: Timestamp,
    step_micros: i64,
) -> Row {
    let mut random = EventRandom::new(model.seed, index);
    let id = Value::Int(index as i64 + 1);
    let ts = Timestamp::from_micros(start.micros + index as i64 * step_micros);
    let at = Value::Timestamp(ts);
    match stream {
        StreamKind::Heartbeat => {
            let reading = model.reading(index, ts);
            let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
            vec![
                id,
                int(reading.customer_id),
                Value::Timestamp(reading.ts),
                int(reading.heart_rate),
            ]
        }
        StreamKind::Orders => {
            let customer = random.below(DEFAULT_CUSTOMERS) as i64 + 1;
            let status = match random.below(100) {
                0..40 => 0,
                40..75 => 1,
                75..93 => 2,
                _ => 3,
            };
            let cents = 500 + random.below(49_500) as i128;
            vec![
                id,
                Value::Int(customer),
                Value::Enum(Arc::from(ORDER_STATUSES[status])),
                Value::Decimal(Decimal::from_scaled(cents, 2)),
                at,
            ]
        }
    }
}

/// A tiny counter-based random stream for one event: SplitMix64 over
/// (seed, index, draw). Stateless across events, so any index can be
/// produced without producing the ones before it.
pub(super) struct EventRandom {
    state: u64,
}

impl EventRandom {
    pub(super) fn new(seed: u64, index: u64) -> Self {
        Self {
            state: splitmix64(seed).wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    pub(super) fn below(&mut self, bound: u64) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.state) % bound
    }

    /// A uniform draw in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (splitmix64(self.state) >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub(super) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        Timestamp::from_micros(1_704_067_200_000_000)
    }

    #[test]
    fn rows_depend_only_on_seed_and_index() {
        let a = event_row(
            StreamKind::Heartbeat,
            &HeartbeatModel::new(7),
            1234,
            start(),
            1000,
        );
        let b = event_row(
            StreamKind::Heartbeat,
            &HeartbeatModel::new(7),
            1234,
            start(),
            1000,
        );
        let other_seed = event_row(
            StreamKind::Heartbeat,
            &HeartbeatModel::new(8),
            1234,
            start(),
            1000,
        );
        assert_eq!(a, b);
        assert_ne!(a, other_seed);
        assert_eq!(a[0], Value::Int(1235));
    }

    #[test]
    fn rows_match_their_schema() {
        for stream in [StreamKind::Heartbeat, StreamKind::Orders] {
            let schema = table_schema(stream, &HeartbeatModel::new(1));
            for index in 0..1000 {
                let row = event_row(stream, &HeartbeatModel::new(1), index, start(), 1000);
                assert_eq!(row.len(), schema.columns.len());
            }
        }
    }

    #[test]
    fn heartbeat_rows_are_the_ones_the_stream_always_produced() {
        for index in 0..2_000 {
            let mut random = EventRandom::new(4, index);
            let customer = random.below(DEFAULT_CUSTOMERS);
            let heart_rate = 55 + splitmix64(4 ^ customer) % 30 + random.below(40);
            let row = event_row(
                StreamKind::Heartbeat,
                &HeartbeatModel::new(4),
                index,
                start(),
                1000,
            );
            assert_eq!(row[1], Value::Int(customer as i64 + 1));
            assert_eq!(row[3], Value::Int(heart_rate as i64));
        }
    }

    #[test]
    fn heart_rates_are_plausible() {
        for index in 0..10_000 {
            let row = event_row(
                StreamKind::Heartbeat,
                &HeartbeatModel::new(3),
                index,
                start(),
                1000,
            );
            let Value::Int(rate) = row[3] else {
                panic!("heart_rate is not an int")
            };
            assert!((55..125).contains(&rate), "{rate}");
        }
    }
}
