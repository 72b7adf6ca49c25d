//! Unit tests for the binlog value decoders, with encodings built the way
//! the server builds them.

use watershed_events::{Date, DateTime, TimeOfDay, Timestamp};

use super::*;

fn decode(decoder: &Decoder, bytes: &[u8]) -> Value {
    let mut reader = Reader::new(bytes);
    let value = decoder.decode(&mut reader).unwrap();
    assert!(reader.is_empty(), "{decoder:?} left bytes");
    value
}

fn decimal_text(bytes: &[u8], precision: u8, scale: u8) -> String {
    match decode(&Decoder::Decimal { precision, scale }, bytes) {
        Value::Decimal(d) => d.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decimals_decode_exactly() {
    // MySQL's documented example: 1234567890.1234 as decimal(14,4).
    let positive = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
    assert_eq!(decimal_text(&positive, 14, 4), "1234567890.1234");
    let negative: Vec<u8> = positive.iter().map(|b| !b).collect();
    assert_eq!(decimal_text(&negative, 14, 4), "-1234567890.1234");
    // 0.50 as decimal(10,2): 4 bytes of integer 0, 1 byte of 50.
    assert_eq!(decimal_text(&[0x80, 0, 0, 0, 50], 10, 2), "0.50");
    // -0.00 does not exist: zero stays unsigned.
    assert_eq!(decimal_text(&[0x7f, 0xff, 0xff, 0xff, 0xff], 10, 2), "0.00");
    assert_eq!(decimal_text(&[0x80, 0, 0, 0, 7], 10, 0), "7");
}

/// MySQL's TIME2 encoding (`my_time_packed_to_binary`).
fn time2_bytes(negative: bool, h: i64, m: i64, s: i64, micros: i64, fsp: u8) -> Vec<u8> {
    let hms = (h << 12) | (m << 6) | s;
    let mut packed = (hms << 24) + micros;
    if negative {
        packed = -packed;
    }
    let int_part = packed >> 24;
    let frac = packed % (1 << 24);
    let int3 = ((0x80_0000 + int_part) as u32).to_be_bytes();
    let mut out = int3[1..].to_vec();
    match fsp {
        0 => {}
        1 | 2 => out.push((frac / 10_000) as i8 as u8),
        3 | 4 => out.extend_from_slice(&((frac / 100) as i16).to_be_bytes()),
        _ => {
            let six = ((packed + 0x8000_0000_0000) as u64).to_be_bytes();
            out = six[2..].to_vec();
        }
    }
    out
}

#[test]
fn times_decode_negative_and_beyond_a_day() {
    let cases = [
        (false, 838, 59, 59, 0, 0, "838:59:59"),
        (true, 838, 59, 59, 0, 0, "-838:59:59"),
        (true, 0, 0, 1, 500_000, 1, "-00:00:01.500000"),
        (true, 12, 34, 56, 789_000, 3, "-12:34:56.789000"),
        (false, 12, 34, 56, 789_000, 4, "12:34:56.789000"),
        (true, 1, 2, 3, 456_789, 6, "-01:02:03.456789"),
        (false, 25, 0, 0, 1, 6, "25:00:00.000001"),
        (false, 0, 0, 0, 0, 6, "00:00:00"),
    ];
    for (negative, h, m, s, micros, fsp, expected) in cases {
        let bytes = time2_bytes(negative, h, m, s, micros, fsp);
        let value = decode(&Decoder::Time2 { fsp }, &bytes);
        assert_eq!(
            value,
            Value::Time(TimeOfDay::parse(expected).unwrap()),
            "{expected}"
        );
    }
}

#[test]
fn datetimes_and_timestamps_decode() {
    // 2024-02-29 13:14:15.123456 as DATETIME2(6).
    let ymd: i64 = ((2024 * 13 + 2) << 5) | 29;
    let hms: i64 = (13 << 12) | (14 << 6) | 15;
    let int_part = ((ymd << 17) | hms) as u64 + 0x80_0000_0000;
    let mut bytes = int_part.to_be_bytes()[3..].to_vec();
    bytes.extend_from_slice(&123_456u32.to_be_bytes()[1..]);
    assert_eq!(
        decode(&Decoder::DateTime2 { fsp: 6 }, &bytes),
        Value::DateTime(DateTime::parse("2024-02-29 13:14:15.123456").unwrap())
    );
    // 2024-01-01T00:00:00.25Z as TIMESTAMP2(2).
    let mut bytes = 1_704_067_200u32.to_be_bytes().to_vec();
    bytes.push(25);
    assert_eq!(
        decode(&Decoder::Timestamp2 { fsp: 2 }, &bytes),
        Value::Timestamp(Timestamp::from_micros(1_704_067_200_250_000))
    );
    assert_eq!(
        decode(&Decoder::Timestamp2 { fsp: 0 }, &[0, 0, 0, 0]),
        Value::DateTime(DateTime::parse("0000-00-00 00:00:00").unwrap())
    );
    assert_eq!(
        decode(&Decoder::Date, &[0, 0, 0]),
        Value::Date(Date::parse("0000-00-00").unwrap())
    );
}

#[test]
fn integers_sign_extend_by_width() {
    let int = |width, unsigned, bytes: &[u8]| decode(&Decoder::Int { width, unsigned }, bytes);
    assert_eq!(int(1, false, &[0xff]), Value::Int(-1));
    assert_eq!(int(1, true, &[0xff]), Value::UInt(255));
    assert_eq!(int(3, false, &[0x00, 0x00, 0x80]), Value::Int(-8_388_608));
    assert_eq!(int(8, true, &[0xff; 8]), Value::UInt(u64::MAX));
    assert_eq!(int(8, false, &[0xff; 8]), Value::Int(-1));
}

#[test]
fn strings_decode_by_charset_and_binary_keeps_its_zeros() {
    let text = |codec, bytes: &[u8]| {
        let mut image = vec![bytes.len() as u8];
        image.extend_from_slice(bytes);
        decode(
            &Decoder::Bytes {
                len_bytes: 1,
                text: codec,
                pad_to: None,
            },
            &image,
        )
    };
    assert_eq!(
        text(TextCodec::Latin1, &[0x80, b'a', 0xe9]),
        Value::text("€aé")
    );
    assert_eq!(text(TextCodec::Utf8, "😀".as_bytes()), Value::text("😀"));
    assert_eq!(
        text(TextCodec::Utf16, &[0xd8, 0x3d, 0xde, 0x00]),
        Value::text("😀")
    );
    let padded = Decoder::Bytes {
        len_bytes: 1,
        text: TextCodec::Binary,
        pad_to: Some(4),
    };
    assert_eq!(
        decode(&padded, &[2, 0, 7]),
        Value::Bytes(Arc::from(&[0u8, 7, 0, 0][..]))
    );
    let mut reader = Reader::new(&[2, 0xff, 0xfe]);
    let utf8 = Decoder::Bytes {
        len_bytes: 1,
        text: TextCodec::Utf8,
        pad_to: None,
    };
    assert_eq!(
        utf8.decode(&mut reader),
        Err(DecodeError::Invalid("not UTF-8"))
    );
    assert_eq!(
        utf8.decode(&mut Reader::new(&[5, b'a'])),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn enums_sets_and_bits_decode() {
    let labels: Arc<[Arc<str>]> = ["a", "b", "c"].iter().map(|l| Arc::from(*l)).collect();
    let set = Decoder::Set {
        pack: 1,
        labels: labels.clone(),
    };
    assert_eq!(
        decode(&set, &[0b101]),
        Value::Set(vec![labels[0].clone(), labels[2].clone()])
    );
    assert!(set.decode(&mut Reader::new(&[0b1000])).is_err());
    let enum_decoder = Decoder::Enum {
        pack: 1,
        labels: labels.clone(),
    };
    assert_eq!(decode(&enum_decoder, &[2]), Value::Enum(labels[1].clone()));
    assert_eq!(decode(&enum_decoder, &[0]), Value::Enum(Arc::from("")));
    assert_eq!(
        decode(&Decoder::Bit { width: 64 }, &[0xff; 8]),
        Value::Bit {
            width: 64,
            bits: u64::MAX
        }
    );
    assert_eq!(decode(&Decoder::Year, &[124]), Value::Year(2024));
}

#[test]
fn a_set_with_more_labels_than_bits_decodes_the_first_64() {
    // A damaged TABLE_MAP can list more labels than a set can hold.
    let labels: Arc<[Arc<str>]> = (0..70).map(|i| Arc::from(format!("l{i}"))).collect();
    let set = Decoder::Set {
        pack: 8,
        labels: labels.clone(),
    };
    assert_eq!(
        decode(&set, &[0, 0, 0, 0, 0, 0, 0, 0x80]),
        Value::Set(vec![labels[63].clone()])
    );
}
