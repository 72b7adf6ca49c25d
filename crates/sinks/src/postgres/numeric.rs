//! PostgreSQL's binary `numeric` encoding, built from exact decimal text:
//! base-10000 digit groups, a weight, a sign and a display scale. Nothing
//! passes through floating point, so a 65-digit decimal arrives whole.

use bytes::{BufMut, BytesMut};

use super::encode::CellError;

const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PLUS_INFINITY: u16 = 0xD000;
const MINUS_INFINITY: u16 = 0xF000;
/// The largest display scale the wire format allows.
const MAX_DSCALE: usize = 0x3FFF;

/// Writes decimal text (`[-+]digits[.digits]`, `NaN`, `Infinity`,
/// `-Infinity`) as a binary numeric. With `max_int_digits` (precision minus
/// scale of the column), a value with more integer digits is refused here,
/// naming the limit, rather than failing inside COPY.
pub(crate) fn encode_decimal(
    text: &[u8],
    max_int_digits: Option<u32>,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    let special = match text {
        b"NaN" => Some(NAN),
        b"Infinity" => Some(PLUS_INFINITY),
        b"-Infinity" => Some(MINUS_INFINITY),
        _ => None,
    };
    if let Some(sign) = special {
        put_header(buf, 0, 0, sign, 0);
        return Ok(());
    }
    let (negative, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
        Some(point) => (&unsigned[..point], &unsigned[point + 1..]),
        None => (unsigned, &[][..]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return Err(CellError::BadDecimal);
    }
    let significant = int.iter().position(|&d| d != b'0').unwrap_or(int.len());
    let int = &int[significant..];
    if max_int_digits.is_some_and(|max| int.len() > max as usize) {
        return Err(CellError::OutOfRange { value: "decimal" });
    }
    if frac.len() > MAX_DSCALE {
        return Err(CellError::OutOfRange { value: "decimal" });
    }
    put_digits(negative, int, frac, buf);
    Ok(())
}

/// Writes an integer as a binary numeric (for `numeric(20,0)` holding
/// unsigned 64-bit values).
pub(crate) fn encode_integer(negative: bool, magnitude: u64, buf: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = magnitude;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let int = &digits[at..];
    let int = if int == b"0" { &int[1..] } else { int };
    put_digits(negative, int, b"", buf);
}

/// Groups of a decimal this short are gathered on the stack (65 digits,
/// MySQL's maximum, make at most 18).
const STACK_GROUPS: usize = 20;

/// `int` has no leading zeros; `frac` is the whole fraction (its length
/// is the display scale).
fn put_digits(negative: bool, int: &[u8], frac: &[u8], buf: &mut BytesMut) {
    let count = int.len().div_ceil(4) + frac.len().div_ceil(4);
    if count <= STACK_GROUPS {
        let mut groups = [0; STACK_GROUPS];
        fill_groups(int, frac, &mut groups[..count]);
        let mut out = [0; 8 + 2 * STACK_GROUPS];
        let len = write_numeric(negative, int, frac, &groups[..count], &mut out);
        buf.put_slice(&out[..len]);
    } else {
        let mut groups = vec![0; count];
        fill_groups(int, frac, &mut groups);
        let mut out = vec![0; 8 + 2 * count];
        let len = write_numeric(negative, int, frac, &groups, &mut out);
        buf.put_slice(&out[..len]);
    }
}

/// The base-10000 digits: the integer part grouped by four from the
/// decimal point (its first group takes what is left over), then the
/// fraction's groups, the last one padded with zeros on the right.
fn fill_groups(int: &[u8], frac: &[u8], groups: &mut [u16]) {
    const SCALE: [u16; 5] = [1, 1000, 100, 10, 1];
    let mut g = 0;
    let mut start = 0;
    let mut end = match int.len() % 4 {
        0 => int.len().min(4),
        short => short,
    };
    while start < int.len() {
        groups[g] = group(&int[start..end]);
        g += 1;
        (start, end) = (end, end + 4);
    }
    for chunk in frac.chunks(4) {
        groups[g] = group(chunk) * SCALE[chunk.len()];
        g += 1;
    }
}

/// Up to four decimal digits as one base-10000 digit.
fn group(digits: &[u8]) -> u16 {
    digits
        .iter()
        .fold(0, |acc, &d| acc * 10 + u16::from(d - b'0'))
}

/// Writes the header and the groups between the first and the last
/// non-zero one into `out`; returns the length written.
fn write_numeric(negative: bool, int: &[u8], frac: &[u8], groups: &[u16], out: &mut [u8]) -> usize {
    let dscale = frac.len() as u16;
    let Some(first) = groups.iter().position(|&g| g != 0) else {
        // Zero has no digit groups and is never negative.
        write_header(out, 0, 0, POSITIVE, dscale);
        return 8;
    };
    let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
    let weight = int.len().div_ceil(4) as i64 - 1 - first as i64;
    let sign = if negative { NEGATIVE } else { POSITIVE };
    let digits = &groups[first..=last];
    write_header(out, digits.len(), weight as i16, sign, dscale);
    for (slot, g) in out[8..].chunks_exact_mut(2).zip(digits) {
        slot.copy_from_slice(&g.to_be_bytes());
    }
    8 + 2 * digits.len()
}

fn write_header(out: &mut [u8], ndigits: usize, weight: i16, sign: u16, dscale: u16) {
    out[0..2].copy_from_slice(&(ndigits as i16).to_be_bytes());
    out[2..4].copy_from_slice(&weight.to_be_bytes());
    out[4..6].copy_from_slice(&sign.to_be_bytes());
    out[6..8].copy_from_slice(&dscale.to_be_bytes());
}

fn put_header(buf: &mut BytesMut, ndigits: usize, weight: i16, sign: u16, dscale: u16) {
    buf.put_i16(ndigits as i16);
    buf.put_i16(weight);
    buf.put_u16(sign);
    buf.put_u16(dscale);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> Vec<i16> {
        let mut buf = BytesMut::new();
        encode_decimal(text.as_bytes(), None, &mut buf).unwrap();
        buf.chunks(2)
            .map(|pair| i16::from_be_bytes([pair[0], pair[1]]))
            .collect()
    }

    #[test]
    fn groups_split_at_the_decimal_point() {
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(encoded("12345.678"), vec![3, 1, 0, 3, 1, 2345, 6780]);
        assert_eq!(encoded("-0.0001"), vec![1, -1, 0x4000, 4, 1]);
        assert_eq!(encoded("0.00001"), vec![1, -2, 0, 5, 1000]);
        assert_eq!(encoded("10000"), vec![1, 1, 0, 0, 1]);
        assert_eq!(encoded("-12.50"), vec![2, 0, 0x4000, 2, 12, 5000]);
    }

    #[test]
    fn zero_keeps_its_scale_and_loses_its_sign() {
        assert_eq!(encoded("0"), vec![0, 0, 0, 0]);
        assert_eq!(encoded("-0.000"), vec![0, 0, 0, 3]);
        assert_eq!(encoded("000.10"), vec![1, -1, 0, 2, 1000]);
    }

    #[test]
    fn sixty_five_digits_survive() {
        let text = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        let digits = encoded(&text);
        assert_eq!(&digits[..4], &[17, 8, 0, 30]);
        assert_eq!(digits[4], 999);
        assert!(digits[5..].iter().all(|&g| g == 9999 || g == 9900));
    }

    #[test]
    fn special_values_and_bad_text() {
        assert_eq!(encoded("NaN"), vec![0, 0, 0xC000u16 as i16, 0]);
        assert_eq!(encoded("-Infinity"), vec![0, 0, 0xF000u16 as i16, 0]);
        let mut buf = BytesMut::new();
        assert!(encode_decimal(b"1e5", None, &mut buf).is_err());
        assert!(encode_decimal(b"12345.6", Some(4), &mut buf).is_err());
        assert!(encode_decimal(b"1234.56789", Some(4), &mut buf).is_ok());
    }

    /// The straightforward digit-by-digit encoding the grouped writer
    /// replaced, kept as the reference it must match.
    fn reference(text: &str) -> Vec<u8> {
        let negative = text.starts_with('-');
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let int = int.trim_start_matches('0').as_bytes();
        let frac = frac.as_bytes();
        let pad_left = (4 - int.len() % 4) % 4;
        let int_groups = (pad_left + int.len()) / 4;
        let count = int_groups + frac.len().div_ceil(4);
        let digit = |at: usize| {
            let byte = if at < pad_left {
                b'0'
            } else if at < pad_left + int.len() {
                int[at - pad_left]
            } else {
                frac.get(at - pad_left - int.len()).copied().unwrap_or(b'0')
            };
            u16::from(byte - b'0')
        };
        let groups: Vec<u16> = (0..count)
            .map(|g| (0..4).fold(0, |acc, i| acc * 10 + digit(g * 4 + i)))
            .collect();
        let mut buf = BytesMut::new();
        let dscale = frac.len() as u16;
        let Some(first) = groups.iter().position(|&g| g != 0) else {
            put_header(&mut buf, 0, 0, POSITIVE, dscale);
            return buf.to_vec();
        };
        let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
        let weight = int_groups as i64 - 1 - first as i64;
        let sign = if negative { NEGATIVE } else { POSITIVE };
        put_header(&mut buf, last - first + 1, weight as i16, sign, dscale);
        for g in &groups[first..=last] {
            buf.put_u16(*g);
        }
        buf.to_vec()
    }

    #[test]
    fn grouped_digits_match_the_digit_by_digit_encoding() {
        let ints = [
            "",
            "0",
            "7",
            "12",
            "123",
            "1234",
            "12345",
            "10000",
            "100000000",
            "900000001",
            "1234567890123456",
            "12345678901234567",
            "10000000000000000000",
        ];
        let fracs = [
            None,
            Some(""),
            Some("0"),
            Some("5"),
            Some("05"),
            Some("0001"),
            Some("00001"),
            Some("12345678"),
            Some("000000009"),
            Some("10000"),
            Some("1234567890123456"),
            Some("12345678901234567"),
            Some("00000000000000000001"),
        ];
        for sign in ["", "-", "+"] {
            for int in ints {
                for frac in fracs {
                    let text = match frac {
                        Some(frac) => format!("{sign}{int}.{frac}"),
                        None => format!("{sign}{int}"),
                    };
                    let mut buf = BytesMut::new();
                    if encode_decimal(text.as_bytes(), None, &mut buf).is_ok() {
                        assert_eq!(buf.to_vec(), reference(&text), "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn unsigned_integers_become_numerics() {
        let mut buf = BytesMut::new();
        encode_integer(false, u64::MAX, &mut buf);
        let groups: Vec<i16> = buf
            .chunks(2)
            .map(|p| i16::from_be_bytes([p[0], p[1]]))
            .collect();
        // 1844 6744 0737 0955 1615
        assert_eq!(groups, vec![5, 4, 0, 0, 1844, 6744, 737, 955, 1615]);
        let mut zero = BytesMut::new();
        encode_integer(false, 0, &mut zero);
        assert_eq!(&zero[..], &[0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
