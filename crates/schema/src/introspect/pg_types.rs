//! PostgreSQL type names, as `format_type()` prints them, to logical
//! types. Names with no logical type (`inet`, `interval`, `timetz`, …)
//! give `None`; the caller keeps them as text and records the name.

use watershed_events::LogicalType;

/// The logical type of a `format_type()` spelling.
pub(super) fn logical_type(formatted: &str) -> Option<LogicalType> {
    use LogicalType::*;
    if let Some(element) = formatted.strip_suffix("[]") {
        return Some(Array {
            element: Box::new(logical_type(element)?),
        });
    }
    let (base, args) = split(formatted);
    let first = args.first().copied();
    let fsp = || first.map_or(6, |p| p.min(6) as u8);
    Some(match base.as_str() {
        "boolean" => Bool,
        "smallint" => Int16,
        "integer" => Int32,
        "bigint" => Int64,
        "real" => Float32,
        "double precision" => Float64,
        "numeric" => Decimal {
            precision: first.map(|p| p as u16),
            scale: args.get(1).map(|s| *s as u16),
        },
        "character" => Char {
            length: first.or(Some(1)),
            charset: None,
        },
        "character varying" => Varchar {
            length: first,
            charset: None,
        },
        "text" => Text { charset: None },
        "bytea" => Blob,
        "date" => Date,
        "time without time zone" => Time { fsp: fsp() },
        "timestamp without time zone" => DateTime { fsp: fsp() },
        "timestamp with time zone" => Timestamp { fsp: fsp() },
        "json" | "jsonb" => Json,
        "uuid" => Uuid,
        "bit" | "bit varying" => Bit {
            width: first.map_or(1, |w| w as u16),
        },
        _ => return None,
    })
}

/// `timestamp(3) without time zone` → (`timestamp without time zone`, [3]).
fn split(formatted: &str) -> (String, Vec<u32>) {
    let Some(open) = formatted.find('(') else {
        return (formatted.to_owned(), Vec::new());
    };
    let Some(close) = formatted[open..].find(')').map(|c| open + c) else {
        return (formatted.to_owned(), Vec::new());
    };
    let args = formatted[open + 1..close]
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let base = format!("{}{}", &formatted[..open], &formatted[close + 1..]);
    (base, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_spellings_become_logical_types() {
        use LogicalType::*;
        assert_eq!(
            logical_type("timestamp(3) without time zone"),
            Some(DateTime { fsp: 3 })
        );
        assert_eq!(
            logical_type("timestamp with time zone"),
            Some(Timestamp { fsp: 6 })
        );
        assert_eq!(
            logical_type("numeric(10,2)"),
            Some(Decimal {
                precision: Some(10),
                scale: Some(2)
            })
        );
        assert_eq!(
            logical_type("character varying(255)[]"),
            Some(Array {
                element: Box::new(Varchar {
                    length: Some(255),
                    charset: None
                })
            })
        );
        assert_eq!(logical_type("inet"), None);
    }
}
