//! What a column holds, guessed from its type, name, table and note:
//! a person's name, an e-mail, a price, a later timestamp… The guess only
//! chooses among values the type can store.

use watershed_events::{Column, LogicalType};

/// The kind of value a column gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// 1, 2, 3… (auto-increment and integer primary keys).
    Sequence,
    /// Copied from a parent row (a foreign key column).
    Foreign,
    Uuid,
    FirstName,
    LastName,
    FullName,
    Username,
    Email,
    Phone,
    Street,
    City,
    State,
    Country,
    /// ISO 3166-1 alpha-2 (alpha-3 in a `char(3)`).
    CountryCode,
    /// ISO 639-1, lower-case.
    LanguageCode,
    /// `en_GB`, `uk_UA`…
    Locale,
    /// Upper-case letters, as long as a `char(n)` (at most 8 otherwise).
    Code,
    PostalCode,
    Company,
    ProductName,
    /// A short name from a vocabulary (categories, roles, departments),
    /// or title-cased filler words when the slice is empty.
    Label(&'static [&'static str]),
    /// Lower-case words joined by `-`, unique by a suffix.
    Slug,
    Sku,
    Carrier,
    TrackingNo,
    Colour,
    Size,
    /// ISO 4217.
    Currency,
    Ip,
    Url,
    PasswordHash,
    /// Filler sentences.
    Sentence,
    /// Money: log-uniform between 1 and 1,000.
    Money,
    /// Small counts: 1..=10.
    Quantity,
    /// Stock levels and weights: 0..=1000.
    Amount,
    /// An integer in the range.
    Int {
        lo: i64,
        hi: i64,
    },
    /// A decimal in the type's range, at most 1,000.
    Decimal,
    Float,
    Bool {
        p_true: f64,
    },
    /// A timestamp or date in the configured range.
    Instant,
    /// A timestamp at or after the row's previous one (updated_at,
    /// shipped_at, expires_at…).
    Later,
    Date,
    Time,
    Year,
    Enum(Vec<String>),
    Set(Vec<String>),
    Json,
    Bytes(usize),
    Bits(u16),
    /// Random words, for text nothing else fits.
    Words,
}

/// The kind for `column` of table `table` (its unqualified name).
pub fn detect(table: &str, column: &Column, sequence: bool) -> Kind {
    if sequence {
        return Kind::Sequence;
    }
    let name = column.name.to_ascii_lowercase();
    let t = &column.logical_type;
    match t {
        LogicalType::Bool => Kind::Bool {
            p_true: if has_any(&name, &["succeeded", "active", "enabled", "verified"]) {
                0.85
            } else {
                0.5
            },
        },
        LogicalType::Enum { labels } => Kind::Enum(labels.clone()),
        LogicalType::Set { labels } => Kind::Set(labels.clone()),
        LogicalType::Uuid => Kind::Uuid,
        LogicalType::Json => Kind::Json,
        LogicalType::Date => Kind::Date,
        LogicalType::Time { .. } => Kind::Time,
        LogicalType::Year => Kind::Year,
        LogicalType::DateTime { .. } | LogicalType::Timestamp { .. } => timestamp_kind(&name),
        LogicalType::Binary { length } | LogicalType::Varbinary { length } => {
            Kind::Bytes(length.unwrap_or(16).min(32) as usize)
        }
        LogicalType::Blob => Kind::Bytes(32),
        LogicalType::Bit { width } => Kind::Bits(*width),
        LogicalType::Float32 | LogicalType::Float64 => Kind::Float,
        LogicalType::Decimal { .. } if is_money(&name) => Kind::Money,
        LogicalType::Decimal { .. } => Kind::Decimal,
        LogicalType::Char { length, .. } | LogicalType::Varchar { length, .. } => {
            text_kind(table, &name, column.comment.as_deref(), *length)
        }
        LogicalType::Text { .. } => text_kind(table, &name, column.comment.as_deref(), None),
        LogicalType::Array { .. } => Kind::Words,
        _ if t.is_integer() => integer_kind(&name),
        _ => Kind::Words,
    }
}

fn has_any(name: &str, words: &[&str]) -> bool {
    words.iter().any(|w| name.contains(w))
}

fn is_money(name: &str) -> bool {
    has_any(
        name,
        &[
            "price", "amount", "total", "cost", "balance", "salary", "fee", "revenue",
        ],
    )
}

fn timestamp_kind(name: &str) -> Kind {
    let later = [
        "updated",
        "modified",
        "shipped",
        "delivered",
        "expires",
        "ended",
        "closed",
        "completed",
        "finished",
        "paid_at",
        "cancelled",
        "refunded",
        "last_",
    ];
    if has_any(name, &later) {
        Kind::Later
    } else {
        Kind::Instant
    }
}

fn integer_kind(name: &str) -> Kind {
    if is_money(name) {
        Kind::Int { lo: 1, hi: 1000 }
    } else if has_any(name, &["quantity", "qty", "_no", "count", "number"]) {
        Kind::Quantity
    } else if has_any(name, &["stock", "weight", "grams", "size", "duration"]) {
        Kind::Amount
    } else if name.contains("age") {
        Kind::Int { lo: 18, hi: 90 }
    } else if has_any(name, &["rating", "stars", "score"]) {
        Kind::Int { lo: 1, hi: 5 }
    } else if name.contains("year") {
        Kind::Int { lo: 1990, hi: 2025 }
    } else {
        Kind::Int { lo: 1, hi: 100_000 }
    }
}

/// People-like tables, whose `name` is a person's full name.
fn is_people(table: &str) -> bool {
    has_any(
        table,
        &[
            "user", "customer", "person", "people", "employee", "author", "patient", "member",
            "student", "contact", "staff", "driver", "doctor", "account",
        ],
    )
}

/// Name fragments of text columns and what they hold, first match wins.
const TEXT_RULES: &[(&[&str], Kind)] = &[
    (&["email", "e_mail"], Kind::Email),
    (&["phone", "mobile", "tel"], Kind::Phone),
    (&["first_name", "firstname", "given_name"], Kind::FirstName),
    (
        &["last_name", "lastname", "surname", "family_name"],
        Kind::LastName,
    ),
    (
        &["full_name", "fullname", "display_name", "contact_name"],
        Kind::FullName,
    ),
    (
        &["username", "user_name", "login", "nickname", "handle"],
        Kind::Username,
    ),
    (
        &["password", "hash", "digest", "token", "secret"],
        Kind::PasswordHash,
    ),
    (&["uuid", "guid"], Kind::Uuid),
    (&["ip_addr", "ip_address", "ipaddr"], Kind::Ip),
    (&["url", "website", "link", "homepage"], Kind::Url),
    (&["country_code", "country_iso"], Kind::CountryCode),
    (&["country"], Kind::Country),
    (&["language", "lang_code"], Kind::LanguageCode),
    (&["locale"], Kind::Locale),
    (&["line1", "address", "street"], Kind::Street),
    (&["city", "town"], Kind::City),
    (&["state", "region", "province"], Kind::State),
    (&["postal", "zip", "postcode"], Kind::PostalCode),
    (
        &["company", "employer", "organization", "organisation"],
        Kind::Company,
    ),
    (&["currency"], Kind::Currency),
    (&["sku"], Kind::Sku),
    (&["slug"], Kind::Slug),
    (&["carrier"], Kind::Carrier),
    (&["tracking"], Kind::TrackingNo),
    (&["colour", "color"], Kind::Colour),
    (&["size"], Kind::Size),
    (
        &[
            "description",
            "note",
            "comment",
            "reason",
            "bio",
            "body",
            "content",
            "message",
            "summary",
        ],
        Kind::Sentence,
    ),
];

fn text_kind(table: &str, name: &str, note: Option<&str>, length: Option<u32>) -> Kind {
    let table = table.to_ascii_lowercase();
    let short = length.is_some_and(|l| l <= 3);
    if let Some((_, kind)) = TEXT_RULES.iter().find(|(words, _)| has_any(name, words)) {
        return match kind {
            // A country in three characters or fewer is its code.
            Kind::Country if short => Kind::CountryCode,
            kind => kind.clone(),
        };
    }
    if short && (name == "base" || name == "quote") {
        return Kind::Currency;
    }
    if name == "code" || name.ends_with("_code") || name == "iso" {
        return code_kind(&table);
    }
    if name == "status" || name == "state" {
        return Kind::Enum(vec!["active".into(), "inactive".into(), "pending".into()]);
    }
    if name == "name" || name == "title" || name.ends_with("_name") {
        return name_kind(&table);
    }
    match note.map(str::to_ascii_lowercase) {
        Some(n) if n.contains("iso 3166") => Kind::CountryCode,
        Some(n) if n.contains("iso 4217") => Kind::Currency,
        _ => Kind::Words,
    }
}

/// Names of shop categories.
#[rustfmt::skip]
pub const CATEGORIES: &[&str] = &[
    "Electronics", "Computers", "Phones", "Books", "Music", "Movies", "Games", "Toys", "Baby",
    "Clothing", "Shoes", "Jewelry", "Beauty", "Health", "Grocery", "Home", "Garden", "Tools",
    "Automotive", "Sports", "Outdoors", "Kitchen", "Furniture", "Pet Supplies", "Office",
];
/// Names of roles.
#[rustfmt::skip]
pub const ROLES: &[&str] = &[
    "admin", "editor", "viewer", "author", "moderator", "support", "billing", "owner",
    "developer", "analyst", "auditor", "guest",
];
/// Names of departments and teams.
#[rustfmt::skip]
pub const DEPARTMENTS: &[&str] = &[
    "Engineering", "Sales", "Marketing", "Finance", "Legal", "Support", "Operations",
    "Human Resources", "Product", "Design", "Research", "Logistics", "Procurement",
];

/// The `code` of a table: ISO codes in tables of countries, currencies
/// and languages.
fn code_kind(table: &str) -> Kind {
    if table.contains("countr") {
        Kind::CountryCode
    } else if table.contains("currenc") {
        Kind::Currency
    } else if has_any(table, &["language", "lang"]) {
        Kind::LanguageCode
    } else {
        Kind::Code
    }
}

fn name_kind(table: &str) -> Kind {
    if table.contains("countr") {
        Kind::Country
    } else if is_people(table) {
        Kind::FullName
    } else if has_any(table, &["product", "item", "article", "goods"]) {
        Kind::ProductName
    } else if has_any(
        table,
        &["compan", "brand", "vendor", "supplier", "merchant", "org"],
    ) {
        Kind::Company
    } else if has_any(table, &["cit", "warehouse", "store", "shop", "location"]) {
        Kind::City
    } else if has_any(table, &["categor", "genre", "section"]) {
        Kind::Label(CATEGORIES)
    } else if has_any(table, &["role", "permission", "group"]) {
        Kind::Label(ROLES)
    } else if has_any(table, &["department", "team", "division", "unit"]) {
        Kind::Label(DEPARTMENTS)
    } else {
        Kind::Label(&[])
    }
}

/// Whether the column is `char(3)`, where a country code is alpha-3.
pub fn is_char3(logical: &LogicalType) -> bool {
    matches!(
        logical,
        LogicalType::Char {
            length: Some(3),
            ..
        }
    )
}

/// The smallest and largest value an integer type stores (`None` for
/// other types). Unsigned 64-bit stops at `i64::MAX`.
pub fn int_bounds(logical: &LogicalType) -> Option<(i64, i64)> {
    use LogicalType::*;
    Some(match logical {
        Int8 => (i8::MIN.into(), i8::MAX.into()),
        Int16 => (i16::MIN.into(), i16::MAX.into()),
        Int24 => (-(1 << 23), (1 << 23) - 1),
        Int32 => (i32::MIN.into(), i32::MAX.into()),
        Int64 => (i64::MIN, i64::MAX),
        UInt8 => (0, u8::MAX.into()),
        UInt16 => (0, u16::MAX.into()),
        UInt24 => (0, (1 << 24) - 1),
        UInt32 => (0, u32::MAX.into()),
        UInt64 => (0, i64::MAX),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(table: &str, name: &str, t: LogicalType) -> Kind {
        detect(table, &Column::new(name, t, true), false)
    }

    fn varchar() -> LogicalType {
        LogicalType::Varchar {
            length: Some(100),
            charset: None,
        }
    }

    #[test]
    fn names_types_and_tables_choose_realistic_kinds() {
        assert_eq!(kind("users", "email", varchar()), Kind::Email);
        assert_eq!(kind("users", "name", varchar()), Kind::FullName);
        assert_eq!(kind("products", "name", varchar()), Kind::ProductName);
        assert_eq!(kind("brands", "name", varchar()), Kind::Company);
        assert_eq!(
            kind("orders", "updated_at", LogicalType::DateTime { fsp: 0 }),
            Kind::Later
        );
        let price = LogicalType::Decimal {
            precision: Some(10),
            scale: Some(2),
        };
        assert_eq!(kind("products", "price", price), Kind::Money);
        assert_eq!(
            kind("items", "quantity", LogicalType::Int32),
            Kind::Quantity
        );
    }

    fn char(length: u32) -> LogicalType {
        LogicalType::Char {
            length: Some(length),
            charset: None,
        }
    }

    #[test]
    fn short_codes_of_countries_currencies_and_languages_are_iso_codes() {
        assert_eq!(kind("countries", "code", char(2)), Kind::CountryCode);
        assert_eq!(kind("countries", "name", varchar()), Kind::Country);
        assert_eq!(kind("addresses", "country", char(2)), Kind::CountryCode);
        assert_eq!(kind("addresses", "country", varchar()), Kind::Country);
        assert_eq!(kind("currencies", "code", char(3)), Kind::Currency);
        assert_eq!(kind("rates", "base", char(3)), Kind::Currency);
        assert_eq!(kind("users", "language", char(2)), Kind::LanguageCode);
        assert_eq!(kind("languages", "code", char(2)), Kind::LanguageCode);
        assert_eq!(kind("users", "locale", char(5)), Kind::Locale);
        assert_eq!(kind("departments", "code", char(4)), Kind::Code);
        assert_eq!(
            kind("addresses", "postal_code", varchar()),
            Kind::PostalCode
        );
    }
}
