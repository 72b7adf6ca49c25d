//! Unit tests for [`super`].

use super::*;

fn column(kind: u8, name: Option<&str>) -> MapColumn {
    MapColumn {
        kind,
        meta: [0, 0],
        nullable: true,
        unsigned: Some(false),
        collation: None,
        name: name.map(str::to_owned),
        labels: None,
    }
}

fn map(columns: Vec<MapColumn>) -> TableMap {
    TableMap {
        table_id: 1,
        schema: "db".into(),
        table: "t".into(),
        columns,
        primary_key: Some(vec![0]),
    }
}

fn known() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::new(Some("db"), "t"),
        columns: vec![
            Column::new("id", LogicalType::Int32, false),
            Column::new("doc", LogicalType::Json, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 4,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

#[test]
fn a_matching_table_map_keeps_the_known_schema() {
    let map = map(vec![
        column(code::LONG, Some("id")),
        MapColumn {
            meta: [4, 0],
            ..column(code::BLOB, Some("doc"))
        },
    ]);
    let Resolution::Known(decoder) = resolve(&map, Some(&known()), &Collations::default()).unwrap()
    else {
        panic!("not known")
    };
    assert!(Arc::ptr_eq(&decoder.schema, &known()) || *decoder.schema == *known());
    assert!(matches!(
        decoder.decoders[1],
        Decoder::Bytes {
            text: TextCodec::Json,
            ..
        }
    ));
}

#[test]
fn an_older_shape_becomes_the_next_version_from_the_binlog() {
    let map = map(vec![column(code::LONG, Some("id"))]);
    let Resolution::Changed(decoder) =
        resolve(&map, Some(&known()), &Collations::default()).unwrap()
    else {
        panic!("not changed")
    };
    assert_eq!(decoder.schema.version, 5);
    assert_eq!(decoder.schema.columns.len(), 1);
    assert_eq!(decoder.schema.primary_key, ["id"]);
}

#[test]
fn without_names_a_mismatch_needs_the_catalog() {
    let map = map(vec![column(code::LONG, None)]);
    assert!(matches!(
        resolve(&map, Some(&known()), &Collations::default()).unwrap(),
        Resolution::NeedsCatalog
    ));
    let unsigned = map_with_unsigned();
    assert!(matches!(
        resolve(&unsigned, Some(&known()), &Collations::default()).unwrap(),
        Resolution::NeedsCatalog
    ));
}

fn map_with_unsigned() -> TableMap {
    map(vec![
        MapColumn {
            unsigned: Some(true),
            ..column(code::LONG, None)
        },
        column(code::BLOB, None),
    ])
}
