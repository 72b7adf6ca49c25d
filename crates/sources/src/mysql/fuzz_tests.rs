//! Property tests of everything that reads binlog bytes: TABLE_MAP events,
//! rows events with every value layout, MariaDB GTID events, GTID state
//! text and the DDL reader of QUERY events. Events captured from MariaDB
//! (`fixtures/binlog_events.txt`) and events generated with valid layouts
//! (so decoding reaches every column) are mutated; whatever
//! the bytes, a decoder gives values or an error — never a panic, never a
//! row count its input could not hold. `scripts/fuzz` runs them long.

use proptest::prelude::*;
use watershed_testkit::mutate::{apply, apply_text, mutations};

use super::conn::Collations;
use super::ddl::classify;
use super::gtid::{GtidSet, MariaGtid};
use super::plan::{Resolution, resolve};
use super::rows::{self, RowsKind};
use super::tablemap::{TableMap, code};

/// A column of a generated table: its type code, metadata, and the
/// optional metadata that goes with it.
#[derive(Debug, Clone)]
struct Spec {
    kind: u8,
    meta: [u8; 2],
    unsigned: bool,
    collation: u16,
    labels: Vec<&'static str>,
}

const COLLATIONS: [u16; 3] = [45, 63, 8];

fn spec(kind: u8, meta: [u8; 2]) -> Spec {
    Spec {
        kind,
        meta,
        unsigned: false,
        collation: 45,
        labels: Vec::new(),
    }
}

/// Realistic columns of every kind the decoders know.
fn column() -> impl Strategy<Value = Spec> {
    use code::*;
    let fixed = prop_oneof![
        Just(spec(TINY, [0, 0])),
        Just(spec(SHORT, [0, 0])),
        Just(spec(INT24, [0, 0])),
        Just(spec(LONG, [0, 0])),
        Just(spec(LONGLONG, [0, 0])),
        Just(spec(FLOAT, [4, 0])),
        Just(spec(DOUBLE, [8, 0])),
        Just(spec(YEAR, [0, 0])),
        Just(spec(DATE, [0, 0])),
        Just(spec(TIME, [0, 0])),
        Just(spec(DATETIME, [0, 0])),
        Just(spec(TIMESTAMP, [0, 0])),
        Just(spec(JSON, [4, 0])),
    ];
    let sized = prop_oneof![
        (1u8..=65, 0u8..=30).prop_map(|(p, s)| spec(NEWDECIMAL, [p, s.min(p)])),
        (0u8..=6).prop_map(|fsp| spec(TIME2, [fsp, 0])),
        (0u8..=6).prop_map(|fsp| spec(DATETIME2, [fsp, 0])),
        (0u8..=6).prop_map(|fsp| spec(TIMESTAMP2, [fsp, 0])),
        (1u16..=1200).prop_map(|n| spec(VARCHAR, n.to_le_bytes())),
        (1u8..=255).prop_map(|n| spec(STRING, [STRING, n])),
        (0u8..=7, 0u8..=8).prop_map(|(bits, bytes)| spec(BIT, [bits, bytes])),
        (1u8..=4).prop_map(|n| spec(BLOB, [n, 0])),
        proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("é")], 1..4).prop_map(
            |labels| Spec {
                labels,
                ..spec(STRING, [ENUM, 1])
            }
        ),
        proptest::collection::vec(prop_oneof![Just("x"), Just("y"), Just("z")], 1..4).prop_map(
            |labels| Spec {
                labels,
                ..spec(STRING, [SET, 1])
            }
        ),
    ];
    (prop_oneof![fixed, sized], any::<bool>(), 0usize..3).prop_map(|(mut s, unsigned, c)| {
        s.unsigned = unsigned;
        s.collation = COLLATIONS[c];
        s
    })
}

fn lenenc(out: &mut Vec<u8>, n: usize) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        _ => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
    }
}

fn lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    lenenc(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn meta_len(kind: u8) -> usize {
    use code::*;
    match kind {
        FLOAT | DOUBLE | BLOB | JSON | TIMESTAMP2 | DATETIME2 | TIME2 => 1,
        VARCHAR | NEWDECIMAL | STRING | BIT => 2,
        _ => 0,
    }
}

/// The TABLE_MAP body for `columns` with full metadata.
fn table_map(columns: &[Spec]) -> Vec<u8> {
    let mut out = vec![7, 0, 0, 0, 0, 0, 1, 0];
    out.extend_from_slice(&[2, b'd', b'b', 0, 1, b't', 0]);
    lenenc(&mut out, columns.len());
    out.extend(columns.iter().map(|c| c.kind));
    let mut meta = Vec::new();
    for c in columns {
        meta.extend_from_slice(&c.meta[..meta_len(c.kind)]);
    }
    lenenc_bytes(&mut out, &meta);
    out.extend(std::iter::repeat_n(0xff, columns.len().div_ceil(8)));
    let numeric = columns.iter().filter(|c| {
        matches!(
            c.kind,
            code::TINY
                | code::SHORT
                | code::INT24
                | code::LONG
                | code::LONGLONG
                | code::NEWDECIMAL
                | code::FLOAT
                | code::DOUBLE
                | code::YEAR
        )
    });
    let mut bits = Vec::new();
    for (n, c) in numeric.enumerate() {
        if n % 8 == 0 {
            bits.push(0);
        }
        if c.unsigned {
            *bits.last_mut().unwrap_or(&mut 0) |= 0x80 >> (n % 8);
        }
    }
    out.push(1);
    lenenc_bytes(&mut out, &bits);
    let mut charsets = Vec::new();
    for c in columns.iter().filter(|c| {
        matches!(c.kind, code::STRING | code::VARCHAR | code::BLOB) && c.labels.is_empty()
    }) {
        lenenc(&mut charsets, usize::from(c.collation));
    }
    out.push(3);
    lenenc_bytes(&mut out, &charsets);
    let mut names = Vec::new();
    for (i, _) in columns.iter().enumerate() {
        lenenc_bytes(&mut names, format!("c{i}").as_bytes());
    }
    out.push(4);
    lenenc_bytes(&mut out, &names);
    for (field, kind) in [(6u8, code::ENUM), (5, code::SET)] {
        let mut labels = Vec::new();
        for c in columns
            .iter()
            .filter(|c| c.meta[0] == kind && !c.labels.is_empty())
        {
            lenenc(&mut labels, c.labels.len());
            for label in &c.labels {
                lenenc_bytes(&mut labels, label.as_bytes());
            }
        }
        if !labels.is_empty() {
            out.push(field);
            lenenc_bytes(&mut out, &labels);
        }
    }
    out
}

/// Bytes of a decimal(p, s) in the binlog's packed layout.
fn decimal_size(precision: u8, scale: u8) -> usize {
    const DIGITS: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    let (p, s) = (usize::from(precision), usize::from(scale));
    let integral = p.saturating_sub(s);
    integral / 9 * 4 + DIGITS[integral % 9] + s / 9 * 4 + DIGITS[s % 9]
}

/// `n` bytes of `noise` from `at` on (wrapping), moving `at` past them.
fn noise_bytes(noise: &[u8], at: &mut usize, n: usize) -> Vec<u8> {
    let out = (0..n)
        .map(|k| noise[(*at + k) % noise.len().max(1)])
        .collect();
    *at += n;
    out
}

/// A value of `spec`'s layout, its bytes drawn from `noise` (not empty).
fn value(spec: &Spec, noise: &[u8], at: &mut usize) -> Vec<u8> {
    use code::*;
    let mut take = |n: usize| noise_bytes(noise, at, n);
    let fsp_bytes = |fsp: u8| usize::from(fsp).div_ceil(2);
    match spec.kind {
        TINY | YEAR => take(1),
        SHORT => take(2),
        INT24 | DATE | TIME => take(3),
        LONG | FLOAT | TIMESTAMP => take(4),
        LONGLONG | DOUBLE | DATETIME => take(8),
        NEWDECIMAL => take(decimal_size(spec.meta[0], spec.meta[1])),
        TIME2 => take(3 + fsp_bytes(spec.meta[0])),
        DATETIME2 => take(5 + fsp_bytes(spec.meta[0])),
        TIMESTAMP2 => take(4 + fsp_bytes(spec.meta[0])),
        BIT => take(usize::from(spec.meta[1]) + usize::from(spec.meta[0] > 0)),
        STRING if !spec.labels.is_empty() => take(1),
        VARCHAR | STRING => {
            let len = usize::from(take(1)[0] % 40);
            let max = if spec.kind == VARCHAR {
                usize::from(u16::from_le_bytes(spec.meta))
            } else {
                usize::from(spec.meta[1])
            };
            let mut out = if max > 255 {
                (len as u16).to_le_bytes().to_vec()
            } else {
                vec![len as u8]
            };
            out.extend(take(len));
            out
        }
        BLOB | JSON => {
            let len = usize::from(take(1)[0] % 40);
            let width = usize::from(spec.meta[0]).clamp(1, 4);
            let mut out = (len as u32).to_le_bytes()[..width].to_vec();
            out.extend(take(len));
            out
        }
        _ => take(1),
    }
}

/// A rows event for `columns` with `rows` row images of values from
/// `noise`, NULLs where `nulls` says.
fn rows_event(columns: &[Spec], event_type: u8, rows: usize, noise: &[u8], nulls: u64) -> Vec<u8> {
    let Some((kind, v2)) = RowsKind::of(event_type) else {
        return Vec::new();
    };
    let mut out = vec![7, 0, 0, 0, 0, 0, 1, 0];
    if v2 {
        out.extend_from_slice(&[2, 0]);
    }
    lenenc(&mut out, columns.len());
    let bitmap = vec![0xffu8; columns.len().div_ceil(8)];
    let images = if matches!(kind, RowsKind::Update) {
        2
    } else {
        1
    };
    for _ in 0..images {
        out.extend_from_slice(&bitmap);
    }
    let mut at = 0;
    for row in 0..rows * images {
        let null_bits: Vec<bool> = (0..columns.len())
            .map(|i| nulls >> ((row * 7 + i) % 64) & 1 == 1)
            .collect();
        let mut bytes = vec![0u8; columns.len().div_ceil(8)];
        for (i, null) in null_bits.iter().enumerate() {
            if *null {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        out.extend_from_slice(&bytes);
        for (spec, null) in columns.iter().zip(&null_bits) {
            if !null {
                out.extend(value(spec, noise, &mut at));
            }
        }
    }
    out
}

fn collations() -> Collations {
    Collations::for_tests(&[(45, "utf8mb4", 4), (63, "binary", 1), (8, "latin1", 1)])
}

/// Parses `map`, resolves it and decodes `rows` with it, as the stream
/// does; checks what comes out is bounded by what went in.
fn decode(map: &[u8], rows: &[u8], event_type: u8) {
    let Ok(map) = TableMap::parse(map) else {
        return;
    };
    let Ok(Resolution::Changed(table) | Resolution::Known(table)) =
        resolve(&map, None, &collations())
    else {
        return;
    };
    let Some((kind, v2)) = RowsKind::of(event_type) else {
        return;
    };
    let Ok(event) = rows::parse(rows, kind, v2) else {
        return;
    };
    let mut out = Vec::new();
    if let Ok(count) = rows::decode(&event, &table, &mut out) {
        // Every row image takes at least its NULL bitmap's byte.
        assert!(
            count <= rows.len().max(1) * 8,
            "{count} rows from {} bytes",
            rows.len()
        );
        assert_eq!(out.len(), count);
    }
}

fn event_types() -> impl Strategy<Value = u8> {
    prop_oneof![Just(23u8), Just(24), Just(25), Just(30), Just(31), Just(32)]
}

proptest! {
    #[test]
    fn generated_binlog_events_decode_to_values_or_errors(
        columns in proptest::collection::vec(column(), 1..12),
        event_type in event_types(),
        rows in 1usize..4,
        noise in proptest::collection::vec(any::<u8>(), 1..64),
        nulls in any::<u64>(),
    ) {
        let map = table_map(&columns);
        let rows = rows_event(&columns, event_type, rows, &noise, nulls);
        decode(&map, &rows, event_type);
    }

    #[test]
    fn mutated_binlog_events_decode_to_values_or_errors(
        columns in proptest::collection::vec(column(), 1..8),
        event_type in event_types(),
        noise in proptest::collection::vec(any::<u8>(), 1..32),
        nulls in any::<u64>(),
        map_edits in mutations(),
        rows_edits in mutations(),
        edit_map in any::<bool>(),
    ) {
        let map = table_map(&columns);
        let rows = rows_event(&columns, event_type, 2, &noise, nulls);
        let map = if edit_map { apply(&map, &map_edits) } else { map };
        decode(&map, &apply(&rows, &rows_edits), event_type);
    }

    #[test]
    fn arbitrary_bytes_are_not_a_table_map_or_rows_event_that_panics(
        map in proptest::collection::vec(any::<u8>(), 0..128),
        rows in proptest::collection::vec(any::<u8>(), 0..128),
        event_type in event_types(),
    ) {
        decode(&map, &rows, event_type);
    }

    #[test]
    fn gtid_events_and_gtid_state_text_parse_or_fail(
        data in proptest::collection::vec(any::<u8>(), 0..20),
        edits in mutations(),
    ) {
        let _ = MariaGtid::parse(&data);
        let _ = GtidSet::parse(&apply_text("0-1-30,1-2-4000000000", &edits));
        let _ = GtidSet::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn the_ddl_reader_classifies_any_query_text(
        pick in 0usize..QUERIES.len(),
        edits in mutations(),
        db in "[a-z`\"]{0,6}",
    ) {
        let _ = classify(&apply_text(QUERIES[pick], &edits), &db);
    }
}

/// A TABLE_MAP event, the rows event after it, and that event's type.
type Captured = (Vec<u8>, Vec<u8>, u8);

/// TABLE_MAP and rows events MariaDB logged for the type matrix (every
/// type with its edge values; see `capture_binlog_events` in
/// `tests/mysql/types.rs`): `(table map, rows event, rows event type)`.
static CAPTURED: std::sync::LazyLock<Vec<Captured>> = std::sync::LazyLock::new(|| {
    let events: Vec<(u8, Vec<u8>)> = include_str!("fixtures/binlog_events.txt")
        .lines()
        .filter_map(|line| {
            let (kind, hex) = line.split_once(' ')?;
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            Some((kind.parse().ok()?, bytes))
        })
        .collect();
    events
        .windows(2)
        .filter(|pair| pair[0].0 == TABLE_MAP_EVENT && pair[1].0 != TABLE_MAP_EVENT)
        .map(|pair| (pair[0].1.clone(), pair[1].1.clone(), pair[1].0))
        .collect()
});

/// The TABLE_MAP event's type code.
const TABLE_MAP_EVENT: u8 = 19;

proptest! {
    #[test]
    fn mutated_captured_binlog_events_decode_to_values_or_errors(
        pick in any::<proptest::sample::Index>(),
        map_edits in mutations(),
        rows_edits in mutations(),
        edit_map in any::<bool>(),
    ) {
        let (map, rows, event_type) = &CAPTURED[pick.index(CAPTURED.len())];
        let map = if edit_map { apply(map, &map_edits) } else { map.clone() };
        decode(&map, &apply(rows, &rows_edits), *event_type);
    }
}

#[test]
fn the_captured_events_decode_before_any_mutation() {
    let kinds: Vec<u8> = CAPTURED.iter().map(|(_, _, kind)| *kind).collect();
    assert_eq!(kinds, [23, 24, 25], "a write, an update and a delete");
    let mut changes = 0;
    for (map, rows, event_type) in CAPTURED.iter() {
        let map = TableMap::parse(map).expect("a table map");
        let Ok(Resolution::Changed(table)) = resolve(&map, None, &collations()) else {
            panic!("resolves to a new schema");
        };
        let Some((kind, v2)) = RowsKind::of(*event_type) else {
            panic!("a rows event type");
        };
        let event = rows::parse(rows, kind, v2).expect("a rows event");
        changes += rows::decode(&event, &table, &mut Vec::new()).expect("decodes");
    }
    assert_eq!(changes, 5, "three rows inserted, one updated, one deleted");
}

/// QUERY event texts of the kinds the stream reads.
const QUERIES: &[&str] = &[
    "BEGIN",
    "COMMIT",
    "CREATE TABLE `shop`.`orders` (id int primary key, `note` text DEFAULT 'a''b')",
    "ALTER TABLE orders RENAME COLUMN a TO b, ADD COLUMN c int AFTER b",
    "ALTER TABLE `x`.`y` CHANGE `old` `new` varchar(10) NOT NULL",
    "DROP TABLE IF EXISTS a, `b`.`c` /* generated by server */",
    "RENAME TABLE a TO b, c.d TO e.f",
    "TRUNCATE TABLE t",
    "CREATE INDEX i ON t (a(10), b DESC)",
    "/*!40101 SET NAMES utf8mb4 */",
    "XA START 'x'",
    "SAVEPOINT s1",
];

#[test]
fn generated_events_decode_cleanly_before_any_mutation() {
    // The generators make valid events: if they did not, the properties
    // above would test nothing but the first byte.
    let columns = vec![
        spec(code::LONG, [0, 0]),
        spec(code::VARCHAR, 40u16.to_le_bytes()),
        spec(code::NEWDECIMAL, [10, 2]),
        spec(code::DATETIME2, [6, 0]),
    ];
    let map = TableMap::parse(&table_map(&columns)).expect("table map");
    let Ok(Resolution::Changed(table)) = resolve(&map, None, &collations()) else {
        panic!("resolves to a new schema");
    };
    let noise = [
        1u8, 0, 0, 0, 3, b'a', b'b', b'c', 0x80, 0, 0, 1, 5, 0x99, 0xa3, 0x3c, 0, 0, 0, 0, 0,
    ];
    let rows = rows_event(&columns, 23, 1, &noise, 0);
    let event = rows::parse(&rows, RowsKind::Write, false).expect("rows event");
    let mut out = Vec::new();
    assert_eq!(rows::decode(&event, &table, &mut out).expect("decodes"), 1);
}
