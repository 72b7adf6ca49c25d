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
    text: &str,
    max_int_digits: Option<u32>,
    buf: &mut BytesMut,
) -> Result<(), CellError> {
    let special = match text {
        "NaN" => Some(NAN),
        "Infinity" => Some(PLUS_INFINITY),
        "-Infinity" => Some(MINUS_INFINITY),
        _ => None,
    };
    if let Some(sign) = special {
        put_header(buf, 0, 0, sign, 0);
        return Ok(());
    }
    let negative = text.starts_with('-');
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let (int, frac) = (int.as_bytes(), frac.as_bytes());
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

/// `int` has no leading zeros; `frac` is the whole fraction (its length
/// is the display scale).
fn put_digits(negative: bool, int: &[u8], frac: &[u8], buf: &mut BytesMut) {
    let digits = Digits::new(int, frac);
    let groups = digits.group_count();
    let first = (0..groups).find(|&g| digits.group(g) != 0);
    let dscale = frac.len() as u16;
    let Some(first) = first else {
        // Zero has no digit groups and is never negative.
        put_header(buf, 0, 0, POSITIVE, dscale);
        return;
    };
    let last = (first..groups)
        .rev()
        .find(|&g| digits.group(g) != 0)
        .unwrap_or(first);
    let weight = digits.int_groups() as i64 - 1 - first as i64;
    let sign = if negative { NEGATIVE } else { POSITIVE };
    put_header(buf, last - first + 1, weight as i16, sign, dscale);
    for g in first..=last {
        buf.put_u16(digits.group(g));
    }
}

fn put_header(buf: &mut BytesMut, ndigits: usize, weight: i16, sign: u16, dscale: u16) {
    buf.put_i16(ndigits as i16);
    buf.put_i16(weight);
    buf.put_u16(sign);
    buf.put_u16(dscale);
}

/// The decimal digits, padded with zeros on the left of the integer part
/// and the right of the fraction so that both split into groups of four
/// at the decimal point.
struct Digits<'a> {
    int: &'a [u8],
    frac: &'a [u8],
    pad_left: usize,
}

impl<'a> Digits<'a> {
    fn new(int: &'a [u8], frac: &'a [u8]) -> Self {
        Self {
            int,
            frac,
            pad_left: (4 - int.len() % 4) % 4,
        }
    }

    fn int_groups(&self) -> usize {
        (self.pad_left + self.int.len()) / 4
    }

    fn group_count(&self) -> usize {
        self.int_groups() + self.frac.len().div_ceil(4)
    }

    fn digit(&self, at: usize) -> u16 {
        let int_end = self.pad_left + self.int.len();
        let byte = if at < self.pad_left {
            b'0'
        } else if at < int_end {
            self.int[at - self.pad_left]
        } else {
            self.frac.get(at - int_end).copied().unwrap_or(b'0')
        };
        u16::from(byte - b'0')
    }

    fn group(&self, g: usize) -> u16 {
        (0..4).fold(0, |acc, i| acc * 10 + self.digit(g * 4 + i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> Vec<i16> {
        let mut buf = BytesMut::new();
        encode_decimal(text, None, &mut buf).unwrap();
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
        assert!(encode_decimal("1e5", None, &mut buf).is_err());
        assert!(encode_decimal("12345.6", Some(4), &mut buf).is_err());
        assert!(encode_decimal("1234.56789", Some(4), &mut buf).is_ok());
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
