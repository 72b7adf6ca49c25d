//! What the sink can write into a target column: the column's PostgreSQL
//! type, resolved once per table from the catalog (oid and modifier), as
//! a small enum that the per-cell encoder matches on.

use postgres_types::{Kind as PgKind, Type};

/// A target column's type as far as encoding is concerned, with the limits
/// its modifier sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p,s)` allows `p - s` integer digits; `numeric` any.
    Numeric {
        max_int_digits: Option<u32>,
    },
    /// `text`, `varchar(n)`, `char(n)`, `name`.
    Text {
        max_chars: Option<usize>,
    },
    Bytea,
    Date,
    Time,
    Interval,
    Timestamp,
    Timestamptz,
    Json,
    Jsonb,
    Uuid,
    /// `bit(n)` and `bit varying(n)`.
    Bits {
        max_bits: Option<u32>,
    },
    /// A one-dimensional array of `element`, whose type oid is written
    /// into every array value.
    Array {
        element: Box<Kind>,
        element_oid: u32,
    },
}

impl Kind {
    /// The kind for a column of type `ty` with modifier `typmod` (-1 for
    /// none); `None` for types the sink cannot write.
    pub(crate) fn of(ty: &Type, typmod: i32) -> Option<Self> {
        let modifier = (typmod >= 0).then_some(typmod);
        let kind = match *ty {
            Type::BOOL => Kind::Bool,
            Type::INT2 => Kind::Int2,
            Type::INT4 => Kind::Int4,
            Type::INT8 => Kind::Int8,
            Type::FLOAT4 => Kind::Float4,
            Type::FLOAT8 => Kind::Float8,
            Type::NUMERIC => Kind::Numeric {
                max_int_digits: modifier.map(|m| {
                    let m = (m - 4) as u32;
                    (m >> 16).saturating_sub(m & 0xffff)
                }),
            },
            Type::TEXT | Type::NAME => Kind::Text { max_chars: None },
            Type::VARCHAR | Type::BPCHAR => Kind::Text {
                max_chars: modifier.map(|m| (m - 4).max(0) as usize),
            },
            Type::BYTEA => Kind::Bytea,
            Type::DATE => Kind::Date,
            Type::TIME => Kind::Time,
            Type::INTERVAL => Kind::Interval,
            Type::TIMESTAMP => Kind::Timestamp,
            Type::TIMESTAMPTZ => Kind::Timestamptz,
            Type::JSON => Kind::Json,
            Type::JSONB => Kind::Jsonb,
            Type::UUID => Kind::Uuid,
            Type::BIT | Type::VARBIT => Kind::Bits {
                max_bits: modifier.map(|m| m as u32),
            },
            _ => return Self::array(ty, typmod),
        };
        Some(kind)
    }

    fn array(ty: &Type, typmod: i32) -> Option<Self> {
        let PgKind::Array(element) = ty.kind() else {
            return None;
        };
        let element_kind = Self::of(element, typmod)?;
        if matches!(element_kind, Kind::Array { .. }) {
            return None;
        }
        Some(Kind::Array {
            element: Box::new(element_kind),
            element_oid: element.oid(),
        })
    }

    /// How the kind reads in an error message.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Int2 => "smallint",
            Kind::Int4 => "integer",
            Kind::Int8 => "bigint",
            Kind::Float4 => "real",
            Kind::Float8 => "double precision",
            Kind::Numeric { .. } => "numeric",
            Kind::Text { .. } => "text",
            Kind::Bytea => "bytea",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::Interval => "interval",
            Kind::Timestamp => "timestamp",
            Kind::Timestamptz => "timestamptz",
            Kind::Json => "json",
            Kind::Jsonb => "jsonb",
            Kind::Uuid => "uuid",
            Kind::Bits { .. } => "bit varying",
            Kind::Array { .. } => "array",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_become_limits() {
        // numeric(10,2): typmod = (10 << 16 | 2) + 4
        assert_eq!(
            Kind::of(&Type::NUMERIC, (10 << 16 | 2) + 4),
            Some(Kind::Numeric {
                max_int_digits: Some(8)
            })
        );
        assert_eq!(
            Kind::of(&Type::VARCHAR, 24),
            Some(Kind::Text {
                max_chars: Some(20)
            })
        );
        assert_eq!(
            Kind::of(&Type::VARBIT, 5),
            Some(Kind::Bits { max_bits: Some(5) })
        );
        assert_eq!(
            Kind::of(&Type::TEXT_ARRAY, -1),
            Some(Kind::Array {
                element: Box::new(Kind::Text { max_chars: None }),
                element_oid: Type::TEXT.oid(),
            })
        );
        assert_eq!(Kind::of(&Type::POINT, -1), None);
    }
}
