//! TABLE_MAP events: which tables are captured, and how to decode their
//! rows (resolved once per table map, cached by table id).

use std::sync::Arc;

use watershed_events::TableName;

use super::StreamState;
use crate::mysql::error::MysqlError;
use crate::mysql::plan::{Resolution, TableDecoder, resolve};
use crate::mysql::tablemap::TableMap;

impl StreamState {
    pub(super) async fn on_table_map(&mut self, data: &[u8]) -> Result<(), MysqlError> {
        // Checked before parsing: most TABLE_MAPs repeat the last one.
        let table_id = data.get(..6).map(|id| {
            id.iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        });
        if table_id.is_some_and(|id| self.maps.get(&id).is_some_and(|m| m == data)) {
            return Ok(());
        }
        let map = TableMap::parse(data).map_err(|e| MysqlError::fatal("decode table map", e.0))?;
        let decoder = if self.filter.matches(&map.schema, &map.table) {
            Some(Arc::new(self.decoder_for(&map).await?))
        } else {
            None
        };
        self.tables.insert(map.table_id, decoder);
        self.maps.insert(map.table_id, data.to_vec());
        Ok(())
    }

    /// Resolves a captured table's map against its known schema, reading
    /// `information_schema` once when the binlog lacks the metadata.
    async fn decoder_for(&mut self, map: &TableMap) -> Result<TableDecoder, MysqlError> {
        let name = TableName::new(Some(&map.schema), &map.table);
        let known = self.schemas.get(&name).await?;
        match resolve(map, known.as_ref(), &self.collations)? {
            Resolution::Known(decoder) => Ok(decoder),
            Resolution::Changed(decoder) => {
                tracing::info!(table = %name, version = decoder.schema.version, "table shape taken from the binlog's metadata");
                self.schemas.set(decoder.schema.clone());
                Ok(decoder)
            }
            Resolution::NeedsCatalog => {
                tracing::info!(table = %name, "binlog_row_metadata is not FULL: reading the table's schema from information_schema");
                let reloaded = self.schemas.reload(&name).await?;
                match resolve(map, reloaded.as_ref(), &self.collations)? {
                    Resolution::Known(decoder) => Ok(decoder),
                    _ => Err(MysqlError::fatal(
                        "decode table map",
                        "the binlog's columns do not match the table's current definition and the binlog \
                         does not carry column names: set binlog_row_metadata=FULL",
                    )
                    .table(&name)),
                }
            }
        }
    }
}
