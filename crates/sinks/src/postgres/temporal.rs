//! Dates and times in PostgreSQL's binary format: days or microseconds
//! since 2000-01-01, and MySQL TIME (±838 hours) as an interval of
//! microseconds. Zero dates have no PostgreSQL form and are reported as
//! such, for the writer to decide between NULL and an error.

use bytes::{BufMut, BytesMut};
use watershed_events::{Date, DateTime, Value};

use super::cell_error::CellError;
use super::encode::{mismatch, out_of_range};
use super::kind::Kind;

/// Days from 1970-01-01 (our epoch) to 2000-01-01 (PostgreSQL's).
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * MICROS_PER_DAY;

pub(crate) fn encode_temporal(
    value: &Value,
    kind: &Kind,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    match (value, kind) {
        (Value::Date(date), Kind::Date) => {
            let days = pg_days(date)?;
            buf.put_i32(i32::try_from(days).map_err(|_| out_of_range(value))?);
        }
        (Value::Time(time), Kind::Interval) => {
            buf.put_i64(time.micros);
            buf.put_i32(0); // days
            buf.put_i32(0); // months
        }
        (Value::Time(time), Kind::Time) if (0..=MICROS_PER_DAY).contains(&time.micros) => {
            buf.put_i64(time.micros);
        }
        (Value::DateTime(datetime), Kind::Timestamp | Kind::Timestamptz) => {
            buf.put_i64(pg_micros(datetime)?);
        }
        (Value::Timestamp(ts), Kind::Timestamp | Kind::Timestamptz) => {
            buf.put_i64(ts.micros - PG_EPOCH_MICROS);
        }
        (Value::Time(_), Kind::Time) => return Err(out_of_range(value)),
        _ => return Err(mismatch(value, kind)),
    }
    Ok(())
}

fn pg_days(date: &Date) -> Result<i64, CellError> {
    if date.month == 0 || date.day == 0 {
        return Err(CellError::ZeroDate);
    }
    Ok(date.days_since_epoch() - PG_EPOCH_DAYS)
}

fn pg_micros(datetime: &DateTime) -> Result<i64, CellError> {
    Ok(pg_days(&datetime.date)? * MICROS_PER_DAY + datetime.time.micros)
}

#[cfg(test)]
mod tests {
    use watershed_events::{TimeOfDay, Timestamp};

    use super::*;

    fn bytes(value: &Value, kind: &Kind) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_temporal(value, kind, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn dates_and_instants_count_from_2000() {
        let date = Value::Date(Date::parse("2000-01-02").unwrap());
        assert_eq!(bytes(&date, &Kind::Date), 1i32.to_be_bytes());
        let epoch = Value::Timestamp(Timestamp::from_micros(0));
        assert_eq!(
            bytes(&epoch, &Kind::Timestamptz),
            (-PG_EPOCH_MICROS).to_be_bytes()
        );
    }

    #[test]
    fn zero_dates_are_refused_with_their_own_error() {
        let mut buf = BytesMut::new();
        let zero = Value::Date(Date::parse("0000-00-00").unwrap());
        assert_eq!(
            encode_temporal(&zero, &Kind::Date, &mut buf).err(),
            Some(CellError::ZeroDate)
        );
        let zero_day = Value::Date(Date::parse("2024-03-00").unwrap());
        assert_eq!(
            encode_temporal(&zero_day, &Kind::Date, &mut buf).err(),
            Some(CellError::ZeroDate)
        );
    }

    #[test]
    fn negative_times_become_intervals() {
        let time = Value::Time(TimeOfDay::parse("-838:59:59.000001").unwrap());
        let mut expected = (-3_020_399_000_001i64).to_be_bytes().to_vec();
        expected.extend([0; 8]);
        assert_eq!(bytes(&time, &Kind::Interval), expected);
    }
}
