//! `mask: fake`: the pipeline's masks draw realistic values (a name, an
//! e-mail, a phone number, a city) from the same generators as
//! `watershed gen`, chosen by the column's name and table exactly as there.
//! The seed is the keyed hash of the original value, so one person always
//! gets the same fake name, in every table and run.

use std::sync::Arc;

use watershed_events::{Column, LogicalType, TableSchema, Value};
use watershed_transforms::mask::{FakeFn, Faker};

use crate::cell::Cell;
use crate::kind::detect;
use crate::locale::Locale;
use crate::rng::Rng;
use crate::values::{RowContext, ValueSettings, generate};

/// The generators, in one locale.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenFaker {
    pub locale: Locale,
}

impl Faker for GenFaker {
    fn column(&self, table: &TableSchema, column: &Column) -> Result<FakeFn, String> {
        let length = match &column.logical_type {
            LogicalType::Text { .. } => None,
            LogicalType::Varchar { length, .. } | LogicalType::Char { length, .. } => *length,
            other => {
                return Err(format!(
                    "`fake` makes text, and `{}` is {other:?}: use hash, redact or null",
                    column.name
                ));
            }
        };
        let kind = detect(&table.name.name, column, false);
        let logical = column.logical_type.clone();
        let settings = ValueSettings {
            locale: self.locale,
            from_secs: 0,
            to_secs: 86_400,
        };
        Ok(Arc::new(move |seed| {
            let mut rng = Rng::new(seed);
            let mut row = RowContext::default();
            let mut text = match generate(&kind, &logical, &settings, &mut row, &mut rng) {
                Cell::Text(text) | Cell::Num(text) | Cell::Json(text) => text,
                Cell::Int(n) => n.to_string(),
                other => {
                    let mut out = Vec::new();
                    other.write_plain(&mut out);
                    String::from_utf8_lossy(&out).into_owned()
                }
            };
            if let Some(n) = length
                && let Some((cut, _)) = text.char_indices().nth(n as usize)
            {
                text.truncate(cut);
            }
            Value::text(&text)
        }))
    }
}

#[cfg(test)]
mod tests {
    use watershed_events::TableName;
    use watershed_transforms::mask::BoundMask;

    use super::*;

    fn customers() -> TableSchema {
        TableSchema {
            name: TableName::new(Some("shop"), "customers"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new("full_name", LogicalType::Text { charset: None }, true),
                Column::new(
                    "email",
                    LogicalType::Varchar {
                        length: Some(12),
                        charset: None,
                    },
                    true,
                ),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: None,
        }
    }

    #[test]
    fn the_same_person_always_gets_the_same_fake_of_the_columns_kind() {
        let table = customers();
        let name = BoundMask::fake(
            GenFaker::default()
                .column(&table, &table.columns[1])
                .unwrap(),
        );
        let ann = name.apply(&Value::text("Ann Smith"), b"k");
        assert_eq!(ann, name.apply(&Value::text("Ann Smith"), b"k"));
        assert_ne!(ann, name.apply(&Value::text("Bob Jones"), b"k"));
        assert_ne!(ann, name.apply(&Value::text("Ann Smith"), b"another key"));
        let Value::Text(fake) = &ann else {
            panic!("{ann:?}")
        };
        assert!(fake.contains(' ') && fake.as_ref() != "Ann Smith", "{fake}");
        assert_eq!(name.apply(&Value::Null, b"k"), Value::Null);

        let email = BoundMask::fake(
            GenFaker::default()
                .column(&table, &table.columns[2])
                .unwrap(),
        );
        let Value::Text(fake) = email.apply(&Value::text("ann@example.com"), b"k") else {
            panic!("text")
        };
        assert!(fake.chars().count() <= 12, "{fake}");
        let error = GenFaker::default()
            .column(&table, &table.columns[0])
            .err()
            .unwrap();
        assert!(error.contains("`fake` makes text"), "{error}");
    }
}
