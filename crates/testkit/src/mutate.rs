//! Mutated inputs for the property tests that feed decoders and parsers
//! bytes from outside the process: a real sample (a binlog event, a
//! Debezium record, a DBML or pipeline file) changed by a few random
//! edits (bits flipped, bytes set, cut, doubled or removed), as a fuzzer
//! would. Seeded from real samples, the edits reach deep into a format
//! that arbitrary bytes would fail at the first byte.
//!
//! The suite runs each property with proptest's default case count;
//! `PROPTEST_CASES=1000000` (see `scripts/fuzz`) makes it a long run.

use proptest::prelude::*;

/// One edit of a sample. Positions are taken modulo the sample's length
/// at the time of the edit, so any edit applies to any sample.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        byte: u8,
    },
    /// Sets a byte to a value that tends to matter to a format: 0, 0xff,
    /// 0xfe, 0xfc, 0x80, 0x7f, a quote, a brace, a colon, a newline.
    SetInteresting {
        at: usize,
        pick: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// Repeats `len` bytes starting at `at` right after themselves.
    Duplicate {
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
}

const INTERESTING: &[u8] = &[
    0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x80, 0x7f, b'"', b'\'', b'{', b'}', b'[', b']', b':', b',',
    b'\n', b'\\', b'-', b'0', b'9',
];

/// A few edits (one to eight).
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(at, pick)| Mutation::SetInteresting { at, pick }),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ];
    proptest::collection::vec(one, 1..8)
}

/// `sample` with `edits` applied in order.
pub fn apply(sample: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut out = sample.to_vec();
    for edit in edits {
        let len = out.len();
        let at = |i: usize| if len == 0 { 0 } else { i % len };
        match edit {
            Mutation::FlipBit { at: i, bit } if len > 0 => out[at(*i)] ^= 1 << bit,
            Mutation::SetByte { at: i, byte } if len > 0 => out[at(*i)] = *byte,
            Mutation::SetInteresting { at: i, pick } if len > 0 => {
                out[at(*i)] = INTERESTING[pick % INTERESTING.len()];
            }
            Mutation::Insert { at: i, bytes } => {
                let i = if len == 0 { 0 } else { i % (len + 1) };
                out.splice(i..i, bytes.iter().copied());
            }
            Mutation::Remove { at: i, len: n } if len > 0 => {
                let start = at(*i);
                out.drain(start..(start + n).min(len));
            }
            Mutation::Duplicate { at: i, len: n } if len > 0 => {
                let start = at(*i);
                let copy = out[start..(start + n).min(len)].to_vec();
                let end = start + copy.len();
                out.splice(end..end, copy);
            }
            Mutation::Truncate { at: i } => out.truncate(at(*i)),
            _ => {}
        }
    }
    out
}

/// `sample` with `edits` applied, as text (invalid UTF-8 replaced), for
/// text formats read as `&str`.
pub fn apply_text(sample: &str, edits: &[Mutation]) -> String {
    String::from_utf8_lossy(&apply(sample.as_bytes(), edits)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edit_applies_to_any_sample_even_an_empty_one() {
        let edits = vec![
            Mutation::FlipBit { at: 5, bit: 0 },
            Mutation::SetByte { at: 9, byte: 1 },
            Mutation::SetInteresting { at: 2, pick: 3 },
            Mutation::Insert {
                at: 100,
                bytes: vec![7, 7],
            },
            Mutation::Remove { at: 1, len: 63 },
            Mutation::Duplicate { at: 0, len: 2 },
            Mutation::Truncate { at: 3 },
        ];
        assert_eq!(apply(b"", &edits), [7]);
        assert_eq!(apply(b"abc", &edits[..1]), b"abb");
        assert_eq!(
            apply(b"abc", &[Mutation::Duplicate { at: 1, len: 5 }]),
            b"abcbc"
        );
        assert_eq!(apply(b"abc", &[Mutation::Remove { at: 4, len: 1 }]), b"ac");
        assert_eq!(
            apply(
                b"ab",
                &[Mutation::Insert {
                    at: 2,
                    bytes: vec![b'x']
                }]
            ),
            b"abx"
        );
    }
}
