//! A column's possible values in a fixed order, for a unique key whose
//! random draws keep colliding: ISO codes first where the column holds
//! them, then every other code of the column's length (letters, then
//! letters and digits); integers 1, 2, 3… then 0 and the negatives;
//! decimals likewise in steps of their scale; days from the start of the
//! time range; enum labels and override values in order. Every value fits
//! the column, so scanning the space finds a free one whenever the key
//! has one left.

use watershed_events::{Date, LogicalType};

use crate::cell::Cell;
use crate::codes;
use crate::fill::typed;
use crate::kind::{Kind, int_bounds, is_char3};
use crate::plan::ColumnPlan;
use crate::values::{LOCALES, scaled};

/// Codes are at most this long: 36^12 still fits a `u64`, and longer
/// text is made unique by a suffix instead.
pub const CODE_LIMIT: u32 = 12;

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The values of one column, in the order a unique key tries them.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// `preferred` (real codes), then codes of `len` letters, then of
    /// `len` letters and digits; lower-case when `lower`.
    Codes {
        preferred: &'static [&'static str],
        len: u32,
        lower: bool,
    },
    /// 1 to `hi`, then 0 down to `lo`.
    Ints { lo: i64, hi: i64 },
    /// 1 to `max_units` units of 10^-`scale`, then 0 down to -`max_units`.
    Decimals { scale: u32, max_units: i64 },
    /// Days from `first` (days since the epoch) to 9999-12-31.
    Days { first: i64 },
    /// These values, in order.
    Values(Vec<Cell>),
}

impl Space {
    /// The space of a column of type `logical`; `None` when its values
    /// cannot be listed (timestamps, JSON, bytes).
    pub fn of(column: &ColumnPlan, logical: &LogicalType, from_secs: i64) -> Option<Space> {
        if let Some(values) = column.custom.as_ref().and_then(|o| o.values.as_ref()) {
            let cells = values.iter().map(|(v, _)| typed(v, logical)).collect();
            return Some(Space::Values(cells));
        }
        Some(match logical {
            t if t.is_integer() => {
                let (lo, hi) = int_bounds(t)?;
                Space::Ints { lo, hi }
            }
            LogicalType::Bool => Space::Values(vec![Cell::Bool(false), Cell::Bool(true)]),
            LogicalType::Enum { labels } => {
                Space::Values(labels.iter().map(|l| Cell::Text(l.clone())).collect())
            }
            LogicalType::Decimal { precision, scale } => {
                let scale = u32::from(scale.unwrap_or(0).min(12));
                let digits = u32::from(precision.unwrap_or(18)).clamp(scale.max(1), 18);
                Space::Decimals {
                    scale,
                    max_units: 10i64.pow(digits) - 1,
                }
            }
            LogicalType::Date => Space::Days {
                first: from_secs.div_euclid(86_400),
            },
            LogicalType::Char { length, .. } | LogicalType::Varchar { length, .. } => {
                let len = length.unwrap_or(CODE_LIMIT).min(CODE_LIMIT);
                codes_for(&column.kind, logical, len)?
            }
            LogicalType::Text { .. } => codes_for(&column.kind, logical, CODE_LIMIT)?,
            _ => return None,
        })
    }

    /// How many values the space lists (some may repeat: a preferred code
    /// comes again among the generated ones).
    pub fn len(&self) -> u64 {
        match self {
            Space::Codes { preferred, len, .. } => {
                let letters = 26u64.pow(*len);
                let alnum = 36u64.pow(*len);
                (preferred.len() as u64)
                    .saturating_add(letters)
                    .saturating_add(alnum)
            }
            Space::Ints { lo, hi } => (*hi as i128 - *lo as i128 + 1).min(u64::MAX.into()) as u64,
            Space::Decimals { max_units, .. } => (*max_units as u64) * 2 + 1,
            Space::Days { first } => (MAX_DAY - first).max(0) as u64 + 1,
            Space::Values(values) => values.len() as u64,
        }
    }

    /// Value `n` (below [`Space::len`]).
    pub fn nth(&self, n: u64) -> Cell {
        match self {
            Space::Codes {
                preferred,
                len,
                lower,
            } => Cell::Text(nth_code(preferred, *len, *lower, n)),
            Space::Ints { lo, hi } => Cell::Int(signed_nth(n, *lo, *hi)),
            Space::Decimals { scale, max_units } => {
                Cell::Num(scaled(signed_nth(n, -max_units, *max_units), *scale))
            }
            Space::Days { first } => {
                Cell::Text(Date::from_days_since_epoch(first + n as i64).to_string())
            }
            Space::Values(values) => values[n as usize].clone(),
        }
    }
}

/// 9999-12-31 in days since the epoch.
const MAX_DAY: i64 = 2_932_896;

/// `n`th of 1..=hi, then 0, -1… down to `lo` (or `lo`.. when 1 is out of
/// range).
fn signed_nth(n: u64, lo: i64, hi: i64) -> i64 {
    if lo >= 1 {
        return lo.saturating_add(n as i64);
    }
    let positives = hi.max(0) as u64;
    if n < positives {
        n as i64 + 1
    } else {
        -((n - positives) as i64)
    }
}

/// The codes a text column of `kind` holds in `len` characters.
fn codes_for(kind: &Kind, logical: &LogicalType, len: u32) -> Option<Space> {
    if len == 0 {
        return None;
    }
    let (list, lower): (&'static [&'static str], bool) = match kind {
        Kind::CountryCode if is_char3(logical) => (codes::COUNTRIES_ALPHA3, false),
        Kind::CountryCode => (codes::COUNTRIES_ALPHA2, false),
        Kind::Currency => (codes::CURRENCIES, false),
        Kind::LanguageCode => (codes::LANGUAGES, true),
        Kind::Locale => (LOCALES, false),
        _ => (&[], false),
    };
    let fits = list
        .first()
        .is_none_or(|c| c.chars().count() <= len as usize);
    Some(Space::Codes {
        preferred: if fits { list } else { &[] },
        len,
        lower,
    })
}

fn nth_code(preferred: &[&str], len: u32, lower: bool, n: u64) -> String {
    if let Some(code) = preferred.get(n as usize) {
        return (*code).to_owned();
    }
    let n = n - preferred.len() as u64;
    let letters = 26u64.pow(len);
    let code = if n < letters {
        code(n, LETTERS, len)
    } else {
        code(n - letters, ALNUM, len)
    };
    if lower {
        code.to_ascii_lowercase()
    } else {
        code
    }
}

/// Code `k` of the `alphabet.len()^len` codes of `len` characters, in a
/// scattered order (`AA, AB, AC…` would look generated).
fn code(k: u64, alphabet: &[u8], len: u32) -> String {
    let base = alphabet.len() as u64;
    let count = base.pow(len);
    // A step coprime to 26^len and 36^len visits every code once.
    let mut x = ((u128::from(k) * 1_000_000_007 + 12_345) % u128::from(count)) as u64;
    (0..len)
        .map(|_| {
            let c = alphabet[(x % base) as usize];
            x /= base;
            char::from(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn codes(len: u32) -> Space {
        Space::Codes {
            preferred: codes::COUNTRIES_ALPHA2,
            len,
            lower: false,
        }
    }

    #[test]
    fn a_code_space_lists_iso_codes_then_every_code_of_its_length() {
        let space = codes(2);
        let all: HashSet<String> = (0..space.len())
            .map(|n| match space.nth(n) {
                Cell::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(all.len(), 36 * 36);
        assert!(all.iter().all(|c| c.len() == 2));
        assert_eq!(space.nth(0), Cell::Text(codes::COUNTRIES_ALPHA2[0].into()));
        let first_letters = space.nth(codes::COUNTRIES_ALPHA2.len() as u64);
        assert!(
            matches!(first_letters, Cell::Text(t) if t.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn integer_spaces_count_up_from_one_then_down_from_zero() {
        let space = Space::Ints { lo: -128, hi: 127 };
        assert_eq!(space.len(), 256);
        let all: HashSet<i64> = (0..256)
            .map(|n| match space.nth(n) {
                Cell::Int(v) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(all.len(), 256);
        assert!(all.iter().all(|v| (-128..=127).contains(v)));
        assert_eq!(space.nth(0), Cell::Int(1));
        let unsigned = Space::Ints { lo: 0, hi: 255 };
        assert_eq!(unsigned.nth(255), Cell::Int(0));
    }
}
