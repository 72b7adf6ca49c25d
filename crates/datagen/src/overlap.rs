//! Foreign keys that share columns (`(tenant_id, project_id)` and
//! `(tenant_id, assignee_id)`): the second one picks among parent rows
//! that agree with what the first one set, found through an index built
//! on first use.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use crate::cell::Cell;
use crate::table::Pool;

type Fast = BuildHasherDefault<DefaultHasher>;
/// Parent rows by the hash of some of their columns.
type Index = HashMap<u64, Vec<u32>, Fast>;

/// Parent rows by the values of some of their key columns.
#[derive(Debug, Default)]
pub struct Matcher {
    /// By (foreign key, mask of the columns already set).
    indexes: HashMap<(usize, u64), Index, Fast>,
}

/// The hash of `cells` at the positions in `mask`.
fn masked_hash(cells: &[Cell], mask: u64) -> u64 {
    let mut bytes = Vec::with_capacity(32);
    for (i, cell) in cells.iter().enumerate() {
        if mask & (1 << i) != 0 {
            cell.key_bytes(&mut bytes);
        }
    }
    Fast::default().hash_one(&bytes)
}

impl Matcher {
    /// Parent rows of foreign key `fk` whose columns in `mask` equal
    /// `wanted` (the child's values, in key order).
    pub fn candidates(
        &mut self,
        fk: usize,
        mask: u64,
        wanted: &[Cell],
        pool: &Pool,
        parent_rows: u64,
    ) -> &[u32] {
        let index = self.indexes.entry((fk, mask)).or_insert_with(|| {
            let mut index = Index::default();
            let mut cells = Vec::new();
            for row in 0..parent_rows {
                pool.cells(row, &mut cells);
                index
                    .entry(masked_hash(&cells, mask))
                    .or_default()
                    .push(row as u32);
            }
            index
        });
        index
            .get(&masked_hash(wanted, mask))
            .map_or(&[], Vec::as_slice)
    }
}
