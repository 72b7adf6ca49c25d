//! Parser and checker tests, one or more per DBML construct, and a
//! property test that no input makes the parser panic.

use proptest::prelude::*;

use super::*;

fn ok(text: &str) -> Document {
    match parse("t.dbml", text) {
        Ok(doc) => doc,
        Err(errors) => panic!("expected no errors, got:\n{errors}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse("t.dbml", text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
    }
}

#[test]
fn a_project_keeps_its_database_type_note_and_custom_settings() {
    let doc = ok(
        "Project shop {\n  database_type: 'PostgreSQL'\n  Note: 'The shop'\n  no_cross_schema_fks: 'true'\n}\n",
    );
    let project = doc.project.as_ref().expect("project");
    assert_eq!(project.name.as_deref(), Some("shop"));
    assert_eq!(project.note.as_deref(), Some("The shop"));
    assert_eq!(doc.project_setting("database_type"), Some("PostgreSQL"));
    assert_eq!(doc.project_setting("no_cross_schema_fks"), Some("true"));
}

#[test]
fn a_table_has_schema_alias_settings_and_typed_columns() {
    let doc = ok(r#"
Table auth.users as U [headercolor: #3498DB, note: 'People'] {
  id int [pk, increment]
  "full name" varchar(255) [not null, unique, note: 'shown']
  price decimal(10, 2) [null, default: 0.5]
  kind "double precision"
  tags text[]
  state auth.state [default: 'new']
  created_at timestamp [default: `now()`]
}
Enum auth.state { new
 done }
"#);
    let table = &doc.tables[0];
    assert_eq!(table.name.to_string(), "auth.users");
    assert_eq!(table.alias.as_ref().map(|a| a.0.as_str()), Some("U"));
    assert_eq!(table.header_color.as_deref(), Some("#3498DB"));
    assert_eq!(table.note.as_deref(), Some("People"));
    let c = &table.columns;
    assert!(c[0].settings.primary_key && c[0].settings.increment);
    assert_eq!(c[1].name, "full name");
    assert_eq!(c[1].data_type.spelled(), "varchar(255)");
    assert_eq!(c[1].settings.not_null, Some(true));
    assert!(c[1].settings.unique);
    assert_eq!(c[2].data_type.args, vec!["10", "2"]);
    assert_eq!(
        c[2].settings.default,
        Some(DefaultValue::Number("0.5".into()))
    );
    assert_eq!(c[3].data_type.name, "double precision");
    assert!(c[4].data_type.array);
    assert_eq!(c[5].data_type.schema.as_deref(), Some("auth"));
    assert_eq!(
        c[6].settings.default,
        Some(DefaultValue::Expression("now()".into()))
    );
}

#[test]
fn primary_key_spelled_out_and_negative_and_boolean_defaults_parse() {
    let doc = ok(
        "table t {\n id int [primary key]\n n int [default: -3]\n b bool [default: false]\n z int [default: null]\n}\n",
    );
    let c = &doc.tables[0].columns;
    assert!(c[0].settings.primary_key);
    assert_eq!(
        c[1].settings.default,
        Some(DefaultValue::Number("-3".into()))
    );
    assert_eq!(c[2].settings.default, Some(DefaultValue::Bool(false)));
    assert_eq!(c[3].settings.default, Some(DefaultValue::Null));
}

#[test]
fn table_notes_come_as_settings_lines_or_blocks() {
    let doc = ok(
        "Table a {\n id int\n Note: 'one'\n}\nTable b {\n id int\n Note {\n '''\n   two\n     lines\n '''\n }\n}\n",
    );
    assert_eq!(doc.tables[0].note.as_deref(), Some("one"));
    assert_eq!(doc.tables[1].note.as_deref(), Some("two\n  lines"));
}

#[test]
fn indexes_are_single_composite_expression_with_settings() {
    let doc = ok(r#"
Table t {
  id int
  a int
  b text
  indexes {
    id [pk]
    (a, b) [unique, name: 'ab', type: btree, note: 'lookup']
    `lower(b)` [type: hash]
    (a, `a * 2`)
    b
  }
}
"#);
    let idx = &doc.tables[0].indexes;
    assert!(idx[0].primary_key);
    assert_eq!(idx[1].column_names(), vec!["a", "b"]);
    assert!(idx[1].unique);
    assert_eq!(idx[1].name.as_deref(), Some("ab"));
    assert_eq!(idx[1].kind.as_deref(), Some("btree"));
    assert_eq!(idx[1].note.as_deref(), Some("lookup"));
    assert_eq!(idx[2].parts, vec![IndexPart::Expression("lower(b)".into())]);
    assert_eq!(idx[3].parts.len(), 2);
    assert_eq!(doc.tables[0].primary_key(), vec!["id"]);
}

#[test]
fn enums_may_be_qualified_and_have_value_notes() {
    let doc = ok("Enum billing.status {\n  paid [note: 'Money received']\n  \"not paid\"\n}\n");
    let e = &doc.enums[0];
    assert_eq!(e.name.to_string(), "billing.status");
    assert_eq!(e.values[0].note.as_deref(), Some("Money received"));
    assert_eq!(e.values[1].name, "not paid");
}

const TWO_TABLES: &str = "Table s.a as A {\n id int [pk]\n x int\n y int\n}\nTable b {\n id int [pk]\n a_id int [ref: > A.id]\n x int\n y int\n}\n";

#[test]
fn refs_come_in_short_long_composite_and_inline_forms() {
    let text = format!(
        "{TWO_TABLES}Ref fk_ab: b.a_id > s.a.id [delete: cascade, update: set null]\nRef {{\n  b.(x, y) - s.a.(x, y)\n}}\nRef: b.id <> s.a.id\nRef: s.a.id < b.x [delete: no action, color: #aabbcc]\n"
    );
    let doc = ok(&text);
    let refs = &doc.refs;
    assert_eq!(refs.len(), 5);
    assert!(refs[0].inline);
    assert_eq!(
        refs[0].right.table.to_string(),
        "s.a",
        "the alias is resolved"
    );
    assert_eq!(refs[1].name.as_deref(), Some("fk_ab"));
    assert_eq!(refs[1].on_delete, Some(RefAction::Cascade));
    assert_eq!(refs[1].on_update, Some(RefAction::SetNull));
    assert_eq!(refs[2].relation, Relation::OneToOne);
    assert_eq!(refs[2].left.columns, vec!["x", "y"]);
    assert_eq!(refs[3].relation, Relation::ManyToMany);
    assert_eq!(refs[4].relation, Relation::OneToMany);
    assert_eq!(refs[4].on_delete, Some(RefAction::NoAction));
}

#[test]
fn table_groups_sticky_notes_and_records_are_kept() {
    let doc = ok(&format!(
        "{TWO_TABLES}TableGroup core [color: #111111, note: 'g'] {{\n  s.a\n  b\n  Note: 'grouped'\n}}\nNote todo {{\n  'remember'\n}}\nRecords b(id, x) {{\n  1, 2\n  2, -3\n}}\nTable c {{\n  id int\n  records {{\n    1\n  }}\n}}\n"
    ));
    assert_eq!(doc.groups[0].tables.len(), 2);
    assert_eq!(doc.groups[0].note.as_deref(), Some("grouped"));
    assert_eq!(doc.notes[0].content, "remember");
    assert_eq!(doc.records[0].rows.len(), 2);
    assert_eq!(doc.records[0].rows[1][1], DefaultValue::Number("-3".into()));
    assert_eq!(doc.records[1].table.name, "c");
}

#[test]
fn partials_are_injected_where_written_and_own_columns_win() {
    let doc = ok(r#"
TablePartial ids { id bigint [pk]
 note text
}
TablePartial stamps [note: 'stamped'] {
  created_at timestamp [not null]
  note varchar(10)
  indexes { created_at }
}
Table t {
  ~ids
  name text
  ~stamps
  created_at date
}
"#);
    let t = &doc.tables[0];
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["id", "note", "name", "created_at"]);
    assert_eq!(
        t.columns[1].data_type.name, "varchar",
        "the later partial wins"
    );
    assert_eq!(
        t.columns[3].data_type.name, "date",
        "the table's own column wins"
    );
    assert_eq!(t.indexes.len(), 1);
    assert_eq!(t.note.as_deref(), Some("stamped"));
}

#[test]
fn comments_and_escaped_strings_are_understood() {
    let doc =
        ok("// top\nTable t { /* inline */\n  id int [note: 'it\\'s \\\\ fine'] // trailing\n}\n");
    assert_eq!(
        doc.tables[0].columns[0].settings.note.as_deref(),
        Some("it's \\ fine")
    );
}

#[test]
fn syntax_errors_give_positions_and_what_was_expected() {
    assert_eq!(
        errors("Table t {\n  id int [pkk]\n}\n"),
        vec![
            "2:11: unknown column setting `pkk`: expected pk, primary key, null, not null, unique, increment, default, note, ref or check"
        ]
    );
    assert_eq!(
        errors("Table t {\n  id\n}\n"),
        vec!["2:5: expected a column type, found the end of the line"]
    );
    assert_eq!(
        errors("Tabel t {}\n"),
        vec![
            "1:1: expected Project, Table, TablePartial, Enum, Ref, TableGroup, Note or Records, found `Tabel`"
        ]
    );
}

#[test]
fn an_unclosed_block_points_at_its_opening_brace() {
    assert_eq!(
        errors("Table a {\n  id int\n"),
        vec!["1:9: this `{` is never closed: expected `}` before the end of the file"]
    );
}

#[test]
fn several_errors_are_reported_in_one_run() {
    let found = errors(
        "Table a {\n  id int [pk\n  x int [bogus]\n}\nEnum e { 'unterminated\n}\nTable b {\n  ok int\n  bad int [default: ]\n}\n",
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found[0].starts_with("2:"));
    assert!(found[1].starts_with("3:"));
    assert!(found[2].starts_with("5:"));
    assert!(found[3].starts_with("9:"));
}

#[test]
fn unknown_references_are_errors() {
    let found = errors(&format!(
        "{TWO_TABLES}Ref: b.nope > s.a.id\nRef: b.x > missing.id\nTable c {{\n  k s.nostate\n  v int [ref: > b.id]\n  ~nothing\n  indexes {{ zz }}\n}}\nTableGroup g {{ ghost }}\n"
    ));
    let joined = found.join("\n");
    for expected in [
        "unknown column `nope` of table `b` in ref",
        "unknown table `missing` in ref",
        "unknown enum `s.nostate`",
        "unknown table partial `nothing`",
        "unknown column `zz` of table `c` in index",
        "unknown table `ghost` in table group `g`",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

#[test]
fn duplicate_names_are_errors() {
    let found = errors(
        "Table a as X {\n id int\n id int\n}\nTable a {\n k int\n}\nTable b as X {\n k int\n}\nEnum e {\n v\n v\n}\nEnum e {\n w\n}\n",
    );
    let joined = found.join("\n");
    for expected in [
        "3:2: column `id` is defined more than once",
        "5:7: table `a` is defined more than once",
        "8:12: alias `X` is defined more than once",
        "13:2: enum value `v` is defined more than once",
        "15:6: enum `e` is defined more than once",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

#[test]
fn composite_refs_need_the_same_number_of_columns() {
    let found = errors(&format!("{TWO_TABLES}Ref: b.(x, y) > s.a.id\n"));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("both sides need the same number"));
}

#[test]
fn rendered_errors_carry_file_line_column_and_a_caret() {
    let Err(errors) = parse("shop.dbml", "Table t {\n  id int [default: ]\n}\n") else {
        panic!("expected an error");
    };
    let text = errors.to_string();
    assert!(
        text.starts_with("shop.dbml:2:20: expected a number"),
        "{text}"
    );
    assert!(
        text.ends_with("  |   id int [default: ]\n  |                    ^"),
        "{text}"
    );
}

proptest! {
    #[test]
    fn the_parser_never_panics_on_arbitrary_text(text in "\\PC*") {
        let _ = parse_and_check(&text);
    }

    #[test]
    fn the_parser_never_panics_on_dbml_like_text(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("Table"), Just("t"), Just("{"), Just("}"), Just("["), Just("]"),
                Just("("), Just(")"), Just(","), Just(":"), Just("."), Just("<>"),
                Just(">"), Just("-"), Just("'''"), Just("'"), Just("\""), Just("`"),
                Just("\n"), Just("pk"), Just("ref"), Just("Ref"), Just("~"), Just("int"),
                Just("Enum"), Just("indexes"), Just("Note"), Just("TablePartial"), Just("#a"),
                Just("default"), Just("1.5"), Just("é"), Just("/*"), Just("//"),
            ],
            0..60,
        )
    ) {
        let text = pieces.join(" ");
        let _ = parse_and_check(&text);
    }

    #[test]
    fn the_parser_never_panics_on_a_cut_and_damaged_real_file(
        cut in 0usize..8000,
        hole in 0usize..8000,
        width in 0usize..40,
    ) {
        let text = include_str!("../../../../examples/schema/shop.dbml");
        let mut damaged: String = text.chars().take(cut).collect();
        let tail: String = text.chars().skip(hole + width).collect();
        damaged.push_str(&tail);
        let _ = parse_and_check(&damaged);
        let _ = super::lint::lint("shop.dbml", &damaged);
    }

    /// A corpus file with a few random edits parses to a document or to
    /// errors with positions, and a document that still parses gives a
    /// model, DDL in both dialects and lint findings without a panic.
    #[test]
    fn mutated_corpus_files_parse_lint_and_generate_or_report_errors(
        pick in any::<proptest::sample::Index>(),
        edits in watershed_testkit::mutate::mutations(),
    ) {
        let (name, text) = &CORPUS[pick.index(CORPUS.len())];
        let text = watershed_testkit::mutate::apply_text(text, &edits);
        let _ = super::lint::lint(name, &text);
        match parse(name, &text) {
            Ok(doc) => {
                let options = crate::ddl::DdlOptions::default();
                let _ = crate::SchemaModel::from_document(&doc, &options);
                for dialect in [crate::ddl::Dialect::Postgres, crate::ddl::Dialect::Mysql] {
                    let _ = crate::ddl::generate(&doc, dialect, &options);
                }
            }
            Err(errors) => prop_assert!(errors.diagnostics.iter().all(|d| d.line > 0)),
        }
    }
}

/// `examples/schema/shop.dbml` and every file of the corpus, by name.
static CORPUS: std::sync::LazyLock<Vec<(String, String)>> = std::sync::LazyLock::new(|| {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/schema");
    let corpus = std::fs::read_dir(examples.join("corpus")).expect("the corpus folder");
    let mut files: Vec<std::path::PathBuf> = corpus
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "dbml"))
        .collect();
    files.push(examples.join("shop.dbml"));
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable DBML file");
            (path.display().to_string(), text)
        })
        .collect()
});
