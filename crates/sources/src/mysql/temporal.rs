//! Temporal values in row images: DATE, the MySQL 5.6+ packed TIME2,
//! DATETIME2 and TIMESTAMP2 with their fractions, and the older formats.

use watershed_events::{Date, DateTime, TimeOfDay, Timestamp, Value};

use super::wire::{DecodeError, Reader};

pub(crate) fn packed_date(v: u64) -> Date {
    Date {
        year: (v >> 9) as i32,
        month: ((v >> 5) & 15) as u8,
        day: (v & 31) as u8,
    }
}

/// The unsigned fraction after a DATETIME2 or TIMESTAMP2, in microseconds:
/// 1–2 digits in one byte, 3–4 in two, 5–6 in three.
fn fraction(r: &mut Reader<'_>, fsp: u8) -> Result<i64, DecodeError> {
    let (len, factor) = match fsp {
        0 => (0, 0),
        1 | 2 => (1, 10_000),
        3 | 4 => (2, 100),
        _ => (3, 1),
    };
    Ok(r.be(len)? as i64 * factor)
}

/// TIME2: `hour:10 minute:6 second:6` and the fraction, packed as
/// `(hms << 24) + micros` (negated for negative times) and stored offset
/// by 0x800000 in 3 bytes plus 0–3 fraction bytes. With 1–4 fraction
/// digits a negative fraction borrows from the integer part.
pub(crate) fn time2(r: &mut Reader<'_>, fsp: u8) -> Result<Value, DecodeError> {
    let borrowed = |int_part: i64, frac: i64, modulus: i64| {
        if int_part < 0 && frac != 0 {
            (int_part + 1, frac - modulus)
        } else {
            (int_part, frac)
        }
    };
    let packed = match fsp {
        0 => (r.be(3)? as i64 - 0x80_0000) << 24,
        1 | 2 => {
            let (int_part, frac) = borrowed(r.be(3)? as i64 - 0x80_0000, r.be(1)? as i64, 0x100);
            (int_part << 24) + frac * 10_000
        }
        3 | 4 => {
            let (int_part, frac) = borrowed(r.be(3)? as i64 - 0x80_0000, r.be(2)? as i64, 0x1_0000);
            (int_part << 24) + frac * 100
        }
        _ => r.be(6)? as i64 - 0x8000_0000_0000,
    };
    let abs = packed.unsigned_abs();
    let hms = abs >> 24;
    let (h, m, s) = (
        (hms >> 12) % (1 << 10),
        (hms >> 6) % (1 << 6),
        hms % (1 << 6),
    );
    let time = TimeOfDay::from_hms_micro(h as i64, m as i64, s as i64, (abs & 0xff_ffff) as i64);
    Ok(Value::Time(TimeOfDay {
        micros: packed.signum() * time.micros,
    }))
}

/// DATETIME2: 5 bytes of `year*13+month:17 day:5 hour:5 minute:6 second:6`
/// offset by 0x8000000000, then the fraction.
pub(crate) fn datetime2(r: &mut Reader<'_>, fsp: u8) -> Result<Value, DecodeError> {
    let int_part = r.be(5)? as i64 - 0x80_0000_0000;
    let micros = fraction(r, fsp)?;
    let ymd = int_part >> 17;
    let ym = ymd >> 5;
    let hms = int_part % (1 << 17);
    let date = Date {
        year: (ym / 13) as i32,
        month: (ym % 13) as u8,
        day: (ymd % (1 << 5)) as u8,
    };
    let time = TimeOfDay::from_hms_micro(hms >> 12, (hms >> 6) % (1 << 6), hms % (1 << 6), micros);
    Ok(Value::DateTime(DateTime { date, time }))
}

/// TIMESTAMP2: big-endian seconds since the epoch (UTC), then the fraction.
pub(crate) fn timestamp2(r: &mut Reader<'_>, fsp: u8) -> Result<Value, DecodeError> {
    let seconds = r.be(4)? as i64;
    Ok(seconds_timestamp(seconds, fraction(r, fsp)?))
}

/// Zero seconds is the zero timestamp (`0000-00-00 00:00:00`), which is no
/// instant: it is reported as the zero DATETIME, like the snapshot does.
pub(crate) fn seconds_timestamp(seconds: i64, micros: i64) -> Value {
    if seconds == 0 && micros == 0 {
        return Value::DateTime(DateTime {
            date: Date {
                year: 0,
                month: 0,
                day: 0,
            },
            time: TimeOfDay { micros: 0 },
        });
    }
    Value::Timestamp(Timestamp::from_micros(seconds * 1_000_000 + micros))
}

/// Old TIME: a signed 3-byte `HHMMSS` number.
pub(crate) fn time_old(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let raw = r.le(3)? as i64;
    let value = (raw << 40) >> 40;
    let abs = value.abs();
    let time = TimeOfDay::from_hms_micro(abs / 10_000, abs / 100 % 100, abs % 100, 0);
    Ok(Value::Time(TimeOfDay {
        micros: value.signum() * time.micros,
    }))
}

/// Old DATETIME: the number `YYYYMMDDhhmmss`.
pub(crate) fn datetime_old(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let v = r.le(8)? as i64;
    let (date, time) = (v / 1_000_000, v % 1_000_000);
    Ok(Value::DateTime(DateTime {
        date: Date {
            year: (date / 10_000) as i32,
            month: (date / 100 % 100) as u8,
            day: (date % 100) as u8,
        },
        time: TimeOfDay::from_hms_micro(time / 10_000, time / 100 % 100, time % 100, 0),
    }))
}
