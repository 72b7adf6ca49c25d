//! Kafka Connect's view of one column, as Debezium's MySQL connector
//! writes it: the field's schema (type, logical name, parameters) and the
//! JSON its JsonConverter produces for a value, under the value-encoding
//! options Debezium offers. Checked against records captured from real
//! Debezium (`tests/fixtures/debezium/`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};
use watershed_events::{Column, Date, DateTime, LogicalType, Timestamp, Value};

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalHandling {
    /// Connect's `Decimal`: the unscaled value as big-endian two's
    /// complement bytes.
    #[default]
    Precise,
    String,
    Double,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePrecision {
    /// Micro- or millisecond types by the column's precision.
    #[default]
    AdaptiveTimeMicroseconds,
    /// Connect's millisecond `Date`, `Time` and `Timestamp`; a TIME outside
    /// a day becomes null, as in Debezium.
    Connect,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryHandling {
    /// Connect bytes (base64 in JSON).
    #[default]
    Bytes,
    Base64,
    Hex,
}

/// How values are encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encoding {
    pub decimal: DecimalHandling,
    pub time: TimePrecision,
    pub binary: BinaryHandling,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The field schema Debezium declares for `column`.
pub fn field_schema(column: &Column, encoding: &Encoding) -> Json {
    let (kind, name, parameters) = connect_type(&column.logical_type, encoding);
    let mut field = Map::new();
    field.insert("type".into(), json!(kind));
    field.insert("optional".into(), json!(column.nullable));
    if let Some(name) = name {
        field.insert("name".into(), json!(name));
        field.insert("version".into(), json!(1));
    }
    if let Some(parameters) = parameters {
        field.insert("parameters".into(), parameters);
    }
    if let Some(default) = column
        .default
        .as_deref()
        .and_then(|d| default_value(d, kind))
    {
        field.insert("default".into(), default);
    }
    field.insert("field".into(), json!(column.name));
    Json::Object(field)
}

/// A column default as Debezium declares it, for the literal kinds it
/// converts here: quoted strings and integers (`information_schema` text).
fn default_value(default: &str, kind: &str) -> Option<Json> {
    match kind {
        "string" => {
            let inner = default.strip_prefix('\'')?.strip_suffix('\'')?;
            Some(json!(inner.replace("''", "'")))
        }
        "int16" | "int32" | "int64" => default.parse::<i64>().ok().map(|n| json!(n)),
        _ => None,
    }
}

type ConnectType = (&'static str, Option<&'static str>, Option<Json>);

fn connect_type(logical: &LogicalType, encoding: &Encoding) -> ConnectType {
    use LogicalType as T;
    let plain = |kind| (kind, None, None);
    match logical {
        T::Bool => plain("boolean"),
        T::Int8 | T::UInt8 | T::Int16 => plain("int16"),
        T::UInt16 | T::Int24 | T::UInt24 | T::Int32 => plain("int32"),
        T::UInt32 | T::Int64 | T::UInt64 => plain("int64"),
        T::Float32 => plain("float"),
        T::Float64 => plain("double"),
        T::Decimal { precision, scale } => decimal_type(*precision, *scale, encoding),
        T::Char { .. } | T::Varchar { .. } | T::Text { .. } | T::Uuid => plain("string"),
        T::Binary { .. } | T::Varbinary { .. } | T::Blob => match encoding.binary {
            BinaryHandling::Bytes => plain("bytes"),
            BinaryHandling::Base64 | BinaryHandling::Hex => plain("string"),
        },
        T::Bit { width: 1 } => plain("boolean"),
        T::Bit { width } => (
            "bytes",
            Some("io.debezium.data.Bits"),
            Some(json!({ "length": width.to_string() })),
        ),
        T::Date => ("int32", Some(date_name(encoding)), None),
        T::Time { .. } => match encoding.time {
            TimePrecision::AdaptiveTimeMicroseconds => {
                ("int64", Some("io.debezium.time.MicroTime"), None)
            }
            TimePrecision::Connect => ("int32", Some("org.apache.kafka.connect.data.Time"), None),
        },
        T::DateTime { fsp } => match encoding.time {
            TimePrecision::AdaptiveTimeMicroseconds if *fsp > 3 => {
                ("int64", Some("io.debezium.time.MicroTimestamp"), None)
            }
            TimePrecision::AdaptiveTimeMicroseconds => {
                ("int64", Some("io.debezium.time.Timestamp"), None)
            }
            TimePrecision::Connect => (
                "int64",
                Some("org.apache.kafka.connect.data.Timestamp"),
                None,
            ),
        },
        T::Timestamp { .. } => ("string", Some("io.debezium.time.ZonedTimestamp"), None),
        T::Year => ("int32", Some("io.debezium.time.Year"), None),
        T::Enum { labels } => (
            "string",
            Some("io.debezium.data.Enum"),
            Some(json!({ "allowed": labels.join(",") })),
        ),
        T::Set { labels } => (
            "string",
            Some("io.debezium.data.EnumSet"),
            Some(json!({ "allowed": labels.join(",") })),
        ),
        // MariaDB keeps JSON as text, and Debezium reports it as a plain
        // string there (MySQL's binary JSON would be io.debezium.data.Json).
        T::Json => plain("string"),
        T::Array { .. } => plain("string"),
    }
}

fn date_name(encoding: &Encoding) -> &'static str {
    match encoding.time {
        TimePrecision::AdaptiveTimeMicroseconds => "io.debezium.time.Date",
        TimePrecision::Connect => "org.apache.kafka.connect.data.Date",
    }
}

fn decimal_type(precision: Option<u16>, scale: Option<u16>, encoding: &Encoding) -> ConnectType {
    match encoding.decimal {
        DecimalHandling::Precise => {
            let mut parameters = Map::new();
            parameters.insert("scale".into(), json!(scale.unwrap_or(0).to_string()));
            if let Some(precision) = precision {
                parameters.insert(
                    "connect.decimal.precision".into(),
                    json!(precision.to_string()),
                );
            }
            (
                "bytes",
                Some("org.apache.kafka.connect.data.Decimal"),
                Some(Json::Object(parameters)),
            )
        }
        DecimalHandling::String => ("string", None, None),
        DecimalHandling::Double => ("double", None, None),
    }
}

/// When a value was read: Debezium spells some values differently in a
/// snapshot than in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Snapshot,
    Stream,
}

/// The JSON Debezium writes for `value` in a column of type `logical`.
pub fn field_value(
    value: &Value,
    logical: &LogicalType,
    encoding: &Encoding,
    phase: Phase,
) -> Json {
    match value {
        Value::Null | Value::Unchanged => Json::Null,
        Value::Bool(b) => match logical {
            LogicalType::Bool => json!(b),
            _ => json!(i16::from(*b)),
        },
        Value::Int(n) => json!(n),
        // BIGINT UNSIGNED goes out as Connect int64: the high values wrap,
        // as with Debezium's default `bigint.unsigned.handling.mode=long`.
        Value::UInt(n) => json!(*n as i64),
        // Java prints a float's shortest decimal form (3.4E38), not that
        // of the double it widens to.
        Value::Float32(f) => f
            .to_string()
            .parse::<f64>()
            .map_or(Json::Null, |d| json!(d)),
        Value::Float64(f) => json!(f),
        Value::Decimal(d) => decimal_value(d.as_str(), logical, encoding),
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => json!(s.as_ref()),
        Value::Bytes(b) => binary_value(b, encoding),
        Value::Date(d) => json!(d.days_since_epoch()),
        Value::Time(t) => time_value(t.micros, encoding),
        Value::DateTime(dt) => datetime_value(dt, logical, encoding),
        Value::Timestamp(ts) => match phase {
            Phase::Stream => json!(zoned(*ts, fsp_of(logical))),
            Phase::Snapshot => json!(zoned_instant(*ts)),
        },
        Value::Year(y) => json!(y),
        Value::Set(labels) => {
            let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
            json!(labels.join(","))
        }
        Value::Bit { width, bits } => bit_value(*width, *bits),
        Value::Uuid(bytes) => json!(Value::uuid_text(bytes)),
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(|item| field_value(item, logical, encoding, phase))
                .collect(),
        ),
    }
}

fn fsp_of(logical: &LogicalType) -> u8 {
    match logical {
        LogicalType::Time { fsp }
        | LogicalType::DateTime { fsp }
        | LogicalType::Timestamp { fsp } => *fsp,
        _ => 6,
    }
}

fn binary_value(bytes: &[u8], encoding: &Encoding) -> Json {
    match encoding.binary {
        BinaryHandling::Bytes | BinaryHandling::Base64 => json!(STANDARD.encode(bytes)),
        BinaryHandling::Hex => json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

/// BIT(1) is a boolean; wider bit strings are bytes, least significant
/// byte first, as many as the width needs.
fn bit_value(width: u16, bits: u64) -> Json {
    if width == 1 {
        return json!(bits & 1 == 1);
    }
    let len = usize::from(width.div_ceil(8)).min(8);
    json!(STANDARD.encode(&bits.to_le_bytes()[..len]))
}

fn time_value(micros: i64, encoding: &Encoding) -> Json {
    match encoding.time {
        TimePrecision::AdaptiveTimeMicroseconds => json!(micros),
        TimePrecision::Connect if (0..MICROS_PER_DAY).contains(&micros) => json!(micros / 1000),
        TimePrecision::Connect => Json::Null,
    }
}

fn datetime_value(datetime: &DateTime, logical: &LogicalType, encoding: &Encoding) -> Json {
    let micros = Timestamp::from_datetime(*datetime).micros;
    let micro_precision = fsp_of(logical) > 3;
    match encoding.time {
        TimePrecision::AdaptiveTimeMicroseconds if micro_precision => json!(micros),
        _ => json!(micros.div_euclid(1000)),
    }
}

/// `2038-01-19T03:14:07.999999Z`: UTC, with as many fraction digits as
/// the column keeps (Debezium's streaming form).
pub fn zoned(timestamp: Timestamp, fsp: u8) -> String {
    let DateTime { date, time } = timestamp.to_datetime();
    let Date { year, month, day } = date;
    let seconds = time.micros / 1_000_000;
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if fsp > 0 {
        let fraction = format!("{:06}", time.micros % 1_000_000);
        text.push('.');
        text.push_str(&fraction[..usize::from(fsp.min(6))]);
    }
    text.push('Z');
    text
}

/// `1970-01-01T00:00:01Z`: Java's `Instant` form, which snapshot reads
/// use: no fraction when it is zero, else digits in groups of three.
pub fn zoned_instant(timestamp: Timestamp) -> String {
    let micros = timestamp.micros.rem_euclid(1_000_000);
    let whole = zoned(Timestamp::from_micros(timestamp.micros - micros), 0);
    if micros == 0 {
        return whole;
    }
    let digits = if micros % 1000 == 0 { 3 } else { 6 };
    let fraction = format!("{micros:06}");
    format!("{}.{}Z", whole.trim_end_matches('Z'), &fraction[..digits])
}

fn decimal_value(text: &str, logical: &LogicalType, encoding: &Encoding) -> Json {
    match encoding.decimal {
        DecimalHandling::String => json!(text),
        DecimalHandling::Double => text.parse::<f64>().map_or(Json::Null, |f| json!(f)),
        DecimalHandling::Precise => {
            let scale = match logical {
                LogicalType::Decimal { scale, .. } => scale.unwrap_or(0),
                _ => 0,
            };
            unscaled_bytes(text, scale).map_or(Json::Null, |bytes| json!(STANDARD.encode(bytes)))
        }
    }
}

/// The decimal's unscaled value (`text` × 10^scale) as the shortest
/// big-endian two's complement bytes, as `java.math.BigInteger` writes it.
/// `None` for text that is not a finite decimal.
pub fn unscaled_bytes(text: &str, scale: u16) -> Option<Vec<u8>> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut unscaled: String = whole.to_owned();
    let scale = usize::from(scale);
    unscaled.extend(fraction.chars().chain(std::iter::repeat('0')).take(scale));
    if unscaled.is_empty() || !unscaled.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Base 10 to base 256, most significant byte first.
    let mut magnitude: Vec<u8> = Vec::new();
    for digit in unscaled.bytes().map(|b| u32::from(b - b'0')) {
        let mut carry = digit;
        for byte in magnitude.iter_mut().rev() {
            let next = u32::from(*byte) * 10 + carry;
            *byte = (next & 0xff) as u8;
            carry = next >> 8;
        }
        while carry > 0 {
            magnitude.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    Some(twos_complement(magnitude, negative))
}

fn twos_complement(mut magnitude: Vec<u8>, negative: bool) -> Vec<u8> {
    if magnitude.is_empty() {
        return vec![0];
    }
    if negative {
        // Invert and add one.
        let mut carry = true;
        for byte in magnitude.iter_mut().rev() {
            let (sum, overflow) = (!*byte).overflowing_add(u8::from(carry));
            *byte = sum;
            carry = overflow;
        }
        if magnitude[0] & 0x80 == 0 {
            magnitude.insert(0, 0xff);
        }
        // Shortest form: drop leading 0xff bytes the next byte's sign repeats.
        while magnitude.len() > 1 && magnitude[0] == 0xff && magnitude[1] & 0x80 != 0 {
            magnitude.remove(0);
        }
    } else if magnitude[0] & 0x80 != 0 {
        magnitude.insert(0, 0);
    }
    magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    fn precise(text: &str, scale: u16) -> String {
        STANDARD.encode(unscaled_bytes(text, scale).unwrap())
    }

    #[test]
    fn decimals_encode_as_java_big_integers() {
        // Values from the Debezium fixtures.
        assert_eq!(precise("0", 2), "AA==");
        assert_eq!(precise("99999999.99", 2), "AlQL4/8=");
        assert_eq!(precise("-1", 0), "/w==");
        assert_eq!(precise("-128", 0), "gA==");
        assert_eq!(precise("128", 0), "AIA=");
        assert_eq!(precise("-129", 0), "/38=");
        assert!(unscaled_bytes("1e5", 0).is_none());
    }

    #[test]
    fn timestamps_keep_the_columns_fraction_digits() {
        let ts = Timestamp::from_micros(2_147_483_647_999_999);
        assert_eq!(zoned(ts, 6), "2038-01-19T03:14:07.999999Z");
        assert_eq!(
            zoned(Timestamp::from_micros(1_000_000), 0),
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(
            zoned(Timestamp::from_micros(1_000_000), 3),
            "1970-01-01T00:00:01.000Z"
        );
        assert_eq!(
            zoned_instant(Timestamp::from_micros(1_000_000)),
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(
            zoned_instant(Timestamp::from_micros(1_500_000)),
            "1970-01-01T00:00:01.500Z"
        );
        assert_eq!(
            zoned_instant(Timestamp::from_micros(1_000_001)),
            "1970-01-01T00:00:01.000001Z"
        );
    }

    #[test]
    fn bits_are_little_endian_bytes_and_bit1_is_a_boolean() {
        assert_eq!(bit_value(12, 0xfff), json!("/w8="));
        assert_eq!(bit_value(64, u64::MAX), json!("//////////8="));
        assert_eq!(bit_value(1, 1), json!(true));
    }
}
