//! Drawing one value of a [`Kind`]: names and e-mails that agree within a
//! row, addresses, prices, timestamps in the configured range with later
//! ones after earlier ones.

use std::fmt::Write;

use fake::locales::{Data, EN};
use watershed_events::{Date, LogicalType};

use crate::cell::Cell;
use crate::codes;
use crate::kind::{Kind, int_bounds, is_char3};
use crate::locale::{Cities, Companies, Locale, Streets, Words, lorem, uk_ua};
use crate::rng::Rng;

/// What the value generators need beyond the column.
#[derive(Debug, Clone)]
pub struct ValueSettings {
    pub locale: Locale,
    /// Timestamps fall in `[from, to)`, seconds since the epoch (UTC).
    pub from_secs: i64,
    pub to_secs: i64,
}

/// What earlier columns of the same row decided.
#[derive(Debug, Default)]
pub struct RowContext {
    /// Indexes of the row's first and last name.
    person: Option<(usize, usize)>,
    /// The latest timestamp so far (seconds).
    last_instant: Option<i64>,
    /// The row's first name-like text (product, category…), for slugs.
    title: Option<String>,
}

impl RowContext {
    /// Forgets the previous row.
    pub fn clear(&mut self) {
        self.person = None;
        self.last_instant = None;
        self.title = None;
    }

    fn person(&mut self, words: &Words, rng: &mut Rng) -> (&'static str, &'static str) {
        let (f, l) = *self.person.get_or_insert_with(|| {
            (
                rng.index(words.first_names.len()),
                rng.index(words.last_names.len()),
            )
        });
        (words.first_names[f], words.last_names[l])
    }
}

/// A value of `kind` for a column of type `logical`.
pub fn generate(
    kind: &Kind,
    logical: &LogicalType,
    settings: &ValueSettings,
    ctx: &mut RowContext,
    rng: &mut Rng,
) -> Cell {
    let words = settings.locale.words();
    match kind {
        Kind::Sequence | Kind::Foreign => Cell::Null,
        Kind::Uuid => Cell::Text(uuid(rng)),
        Kind::Money | Kind::Decimal | Kind::Float => number(kind, logical, rng),
        Kind::Quantity | Kind::Amount | Kind::Int { .. } => integer(kind, logical, rng),
        Kind::Bool { p_true } => Cell::Bool(rng.chance(*p_true)),
        Kind::Instant | Kind::Later | Kind::Date | Kind::Time | Kind::Year => {
            temporal(kind, logical, settings, ctx, rng)
        }
        Kind::Enum(labels) => Cell::Text(labels[rng.index(labels.len())].clone()),
        Kind::Set(labels) => Cell::Text(set_value(labels, rng)),
        Kind::Json => Cell::Json(json(rng)),
        Kind::Bytes(n) => Cell::Bytes((0..*n).map(|_| rng.next_u64() as u8).collect()),
        Kind::Bits(width) => Cell::Text(
            (0..*width)
                .map(|_| if rng.chance(0.5) { '1' } else { '0' })
                .collect(),
        ),
        Kind::CountryCode if is_char3(logical) => {
            Cell::Text(rng.pick(codes::COUNTRIES_ALPHA3).to_owned())
        }
        Kind::Code => Cell::Text(code(logical, rng)),
        Kind::Slug => Cell::Text(match ctx.title.as_deref() {
            Some(title) => slugify(title),
            None => thing(kind, rng),
        }),
        _ => {
            let value = text(kind, words, ctx, rng);
            if ctx.title.is_none() && is_title(kind) {
                ctx.title = Some(value.clone());
            }
            Cell::Text(value)
        }
    }
}

fn is_title(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::FullName | Kind::ProductName | Kind::Label(_) | Kind::Company | Kind::City
    )
}

/// `Gorgeous Steel Chair` as `gorgeous-steel-chair` (Cyrillic
/// transliterated).
fn slugify(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars() {
        let piece = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase().to_string()
        } else {
            uk_ua::transliterate(c).to_owned()
        };
        if piece.is_empty() {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push_str(&piece);
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn text(kind: &Kind, words: &Words, ctx: &mut RowContext, rng: &mut Rng) -> String {
    match kind {
        Kind::FirstName => ctx.person(words, rng).0.to_owned(),
        Kind::LastName => ctx.person(words, rng).1.to_owned(),
        Kind::FullName => {
            let (first, last) = ctx.person(words, rng);
            format!("{first} {last}")
        }
        Kind::Email => email(words, ctx, rng),
        Kind::Username => {
            let (first, last) = ctx.person(words, rng);
            let mut out = latin(first, words);
            out.push_str(&latin(last, words));
            let _ = write!(out, "{}", rng.below(100));
            out
        }
        Kind::Phone => pattern(rng.pick(words.phone_formats), rng),
        Kind::PostalCode => pattern(rng.pick(words.postcode_formats), rng),
        _ => place_or_thing(kind, words, rng),
    }
}

fn place_or_thing(kind: &Kind, words: &Words, rng: &mut Rng) -> String {
    match kind {
        Kind::Street => street(words, rng),
        Kind::City => city(words, rng),
        Kind::State => rng.pick(words.states).to_owned(),
        Kind::Country => rng.pick(words.countries).to_owned(),
        Kind::CountryCode => rng.pick(codes::COUNTRIES_ALPHA2).to_owned(),
        Kind::Company => company(words, rng),
        Kind::Carrier => rng.pick(words.carriers).to_owned(),
        _ => thing(kind, rng),
    }
}

const ADJECTIVES: &[&str] = &[
    "Small",
    "Ergonomic",
    "Rustic",
    "Intelligent",
    "Gorgeous",
    "Incredible",
    "Fantastic",
    "Practical",
    "Sleek",
    "Awesome",
    "Generic",
    "Handcrafted",
    "Handmade",
    "Licensed",
    "Refined",
    "Unbranded",
    "Tasty",
];
const MATERIALS: &[&str] = &[
    "Steel", "Wooden", "Concrete", "Plastic", "Cotton", "Granite", "Rubber", "Metal", "Soft",
    "Fresh", "Frozen", "Linen", "Leather", "Bamboo",
];
const PRODUCTS: &[&str] = &[
    "Chair", "Car", "Computer", "Keyboard", "Mouse", "Bike", "Ball", "Gloves", "Pants", "Shirt",
    "Table", "Shoes", "Hat", "Towels", "Soap", "Tuna", "Chicken", "Fish", "Cheese", "Bacon",
    "Pizza", "Salad", "Sausages", "Chips", "Lamp", "Backpack", "Kettle", "Jacket",
];
const COLOURS: &[&str] = &[
    "black", "white", "red", "blue", "green", "grey", "navy", "beige", "olive", "orange",
];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
/// The currencies most rows use; a unique key goes on to all of ISO 4217.
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "UAH", "PLN", "CHF"];
/// The languages most rows use; a unique key goes on to all of ISO 639-1.
const LANGUAGES: &[&str] = &["en", "uk", "de", "fr", "es", "pl", "it", "pt", "nl", "ja"];
/// Locales, language and country.
#[rustfmt::skip]
pub const LOCALES: &[&str] = &[
    "en_US", "en_GB", "uk_UA", "de_DE", "fr_FR", "es_ES", "pl_PL", "it_IT", "pt_BR", "nl_NL",
    "ja_JP", "de_AT", "fr_CA", "en_AU",
];
const HASH_CHARS: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn thing(kind: &Kind, rng: &mut Rng) -> String {
    match kind {
        Kind::ProductName => format!(
            "{} {} {}",
            rng.pick(ADJECTIVES),
            rng.pick(MATERIALS),
            rng.pick(PRODUCTS)
        ),
        Kind::Label(words) if !words.is_empty() => rng.pick(words).to_owned(),
        Kind::Label(_) => {
            let count = 1 + rng.index(2);
            title_words(rng, count)
        }
        Kind::Slug => {
            let a = rng.pick(lorem());
            format!("{a}-{}", rng.pick(lorem()))
        }
        Kind::Sku => pattern("SKU-########", rng),
        Kind::TrackingNo => pattern("??#########??", rng),
        Kind::Colour => rng.pick(COLOURS).to_owned(),
        Kind::Size => rng.pick(SIZES).to_owned(),
        Kind::Currency => rng.pick(CURRENCIES).to_owned(),
        Kind::LanguageCode => rng.pick(LANGUAGES).to_owned(),
        Kind::Locale => rng.pick(LOCALES).to_owned(),
        Kind::Ip => format!(
            "{}.{}.{}.{}",
            rng.range(1, 223),
            rng.below(256),
            rng.below(256),
            rng.range(1, 254)
        ),
        Kind::Url => format!(
            "https://www.{}.com/{}",
            rng.pick(lorem()),
            rng.pick(lorem())
        ),
        Kind::PasswordHash => {
            let mut out = String::from("$2b$12$");
            out.extend((0..53).map(|_| char::from(HASH_CHARS[rng.index(HASH_CHARS.len())])));
            out
        }
        Kind::Sentence => sentence(rng),
        _ => title_words(rng, 2),
    }
}

/// Upper-case letters filling a `char(n)`, or 8 of them.
fn code(logical: &LogicalType, rng: &mut Rng) -> String {
    let len = match logical {
        LogicalType::Char {
            length: Some(l), ..
        } => *l,
        LogicalType::Varchar {
            length: Some(l), ..
        } => (*l).min(8),
        _ => 8,
    };
    (0..len.min(64))
        .map(|_| char::from(b'A' + rng.below(26) as u8))
        .collect()
}

fn title_words(rng: &mut Rng, count: usize) -> String {
    let mut out = String::new();
    for i in 0..count {
        if i > 0 {
            out.push(' ');
        }
        let word = rng.pick(lorem());
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn sentence(rng: &mut Rng) -> String {
    let count = rng.range(4, 12) as usize;
    let mut out = title_words(rng, 1);
    for _ in 1..count {
        out.push(' ');
        out.push_str(rng.pick(lorem()));
    }
    out.push('.');
    out
}

/// `#` a digit, `^` a digit 1–9, `?` an upper-case letter, `*` a letter or
/// digit; anything else as written.
pub fn pattern(template: &str, rng: &mut Rng) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    template
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + rng.below(10) as u8),
            '^' => char::from(b'1' + rng.below(9) as u8),
            '?' => char::from(b'A' + rng.below(26) as u8),
            '*' => char::from(ALNUM[rng.index(ALNUM.len())]),
            other => other,
        })
        .collect()
}

/// Lower-case ASCII letters of `name` (Cyrillic transliterated).
fn latin(name: &str, words: &Words) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !words.latin {
            out.push_str(uk_ua::transliterate(c));
        }
    }
    out
}

fn email(words: &Words, ctx: &mut RowContext, rng: &mut Rng) -> String {
    let (first, last) = ctx.person(words, rng);
    let domains: &[&str] = if words.latin {
        EN::INTERNET_FREE_EMAIL_PROVIDER
    } else {
        &["ukr.net", "gmail.com", "i.ua", "meta.ua"]
    };
    let mut out = latin(first, words);
    out.push('.');
    out.push_str(&latin(last, words));
    if rng.chance(0.3) {
        let _ = write!(out, "{}", rng.below(100));
    }
    out.push('@');
    out.push_str(rng.pick(domains));
    out
}

fn street(words: &Words, rng: &mut Rng) -> String {
    let number = rng.range(1, 999);
    match &words.streets {
        Streets::Suffixed(suffixes) => format!(
            "{number} {} {}",
            rng.pick(words.last_names),
            rng.pick(suffixes)
        ),
        Streets::Named(names) => format!("вул. {}, {number}", rng.pick(names)),
    }
}

fn city(words: &Words, rng: &mut Rng) -> String {
    match &words.cities {
        Cities::List(cities) => rng.pick(cities).to_owned(),
        Cities::Compose { prefixes, suffixes } => {
            if rng.chance(0.5) {
                format!("{}{}", rng.pick(words.first_names), rng.pick(suffixes))
            } else {
                format!("{} {}", rng.pick(prefixes), rng.pick(words.last_names))
            }
        }
    }
}

fn company(words: &Words, rng: &mut Rng) -> String {
    match &words.company {
        Companies::Suffixed(suffixes) => {
            format!("{} {}", rng.pick(words.last_names), rng.pick(suffixes))
        }
        Companies::Quoted { forms, words: w } => {
            let first = rng.pick(w);
            format!(
                "{} «{first}{}»",
                rng.pick(forms),
                rng.pick(w).to_lowercase()
            )
        }
    }
}

fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// An integer of `kind`, inside what `logical` stores.
fn integer(kind: &Kind, logical: &LogicalType, rng: &mut Rng) -> Cell {
    let (lo, hi) = match kind {
        Kind::Quantity => (1, 10),
        Kind::Amount => (0, 1000),
        Kind::Int { lo, hi } => (*lo, *hi),
        _ => (0, 0),
    };
    let (min, max) = int_bounds(logical).unwrap_or((i64::MIN, i64::MAX));
    let (lo, hi) = (lo.clamp(min, max), hi.clamp(min, max));
    Cell::Int(rng.range(lo, hi))
}

fn set_value(labels: &[String], rng: &mut Rng) -> String {
    let chosen: Vec<&str> = labels
        .iter()
        .filter(|_| rng.chance(0.4))
        .map(String::as_str)
        .collect();
    chosen.join(",")
}

fn json(rng: &mut Rng) -> String {
    format!(
        "{{\"colour\": \"{}\", \"size\": \"{}\", \"tags\": [\"{}\", \"{}\"]}}",
        rng.pick(COLOURS),
        rng.pick(SIZES),
        rng.pick(lorem()),
        rng.pick(lorem())
    )
}

/// The largest value of a `decimal(p, s)` in units of 10^-s, capped at
/// 1,000 (and at i64).
pub fn decimal_cap(logical: &LogicalType) -> (u32, i64) {
    let (precision, scale) = match logical {
        LogicalType::Decimal { precision, scale } => (precision.unwrap_or(18), scale.unwrap_or(0)),
        LogicalType::Float32 | LogicalType::Float64 => (12, 2),
        _ => (18, 0),
    };
    let scale = u32::from(scale.min(12));
    let digits = u32::from(precision).saturating_sub(scale).min(15);
    let max_units = 10i64.pow(digits + scale) - 1;
    (scale, max_units.min(1000 * 10i64.pow(scale)))
}

fn number(kind: &Kind, logical: &LogicalType, rng: &mut Rng) -> Cell {
    let (scale, cap) = decimal_cap(logical);
    let unit = 10i64.pow(scale);
    let units = if *kind == Kind::Money {
        let value = (rng.unit() * (1000f64).ln()).exp();
        ((value * unit as f64) as i64).clamp(unit.min(cap), cap)
    } else {
        rng.range(0, cap)
    };
    Cell::Num(scaled(units, scale))
}

/// `units` × 10^-`scale` as decimal text.
pub fn scaled(units: i64, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let unit = 10i64.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let unit = unit.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = scale as usize
    )
}

fn temporal(
    kind: &Kind,
    logical: &LogicalType,
    settings: &ValueSettings,
    ctx: &mut RowContext,
    rng: &mut Rng,
) -> Cell {
    let span = (settings.to_secs - settings.from_secs).max(1);
    let secs = match (kind, ctx.last_instant) {
        (Kind::Later, Some(before)) => before + rng.range(60, 30 * 86_400),
        _ => settings.from_secs + rng.range(0, span - 1),
    };
    ctx.last_instant = Some(ctx.last_instant.map_or(secs, |l| l.max(secs)));
    let date = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    Cell::Text(match (kind, logical) {
        (_, LogicalType::Date) | (Kind::Date, _) => date.to_string(),
        (_, LogicalType::Time { .. }) | (Kind::Time, _) => clock,
        (_, LogicalType::Year) | (Kind::Year, _) => date.year.to_string(),
        _ => format!("{date} {clock}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(locale: Locale) -> ValueSettings {
        ValueSettings {
            locale,
            from_secs: 1_700_000_000,
            to_secs: 1_710_000_000,
        }
    }

    fn text_of(cell: Cell) -> String {
        match cell {
            Cell::Text(t) => t,
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn the_email_agrees_with_the_name_in_the_same_row() {
        let mut rng = Rng::new(3);
        let mut ctx = RowContext::default();
        let s = settings(Locale::EnUs);
        let t = LogicalType::Text { charset: None };
        let first = text_of(generate(&Kind::FirstName, &t, &s, &mut ctx, &mut rng));
        let email = text_of(generate(&Kind::Email, &t, &s, &mut ctx, &mut rng));
        let wanted: String = first
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(email.starts_with(&wanted), "{email} vs {first}");
    }

    #[test]
    fn ukrainian_phones_start_with_380_and_emails_are_latin() {
        let mut rng = Rng::new(5);
        let mut ctx = RowContext::default();
        let s = settings(Locale::UkUa);
        let t = LogicalType::Text { charset: None };
        let phone = text_of(generate(&Kind::Phone, &t, &s, &mut ctx, &mut rng));
        assert!(phone.starts_with("+380 "), "{phone}");
        let email = text_of(generate(&Kind::Email, &t, &s, &mut ctx, &mut rng));
        assert!(email.is_ascii(), "{email}");
    }

    #[test]
    fn later_timestamps_are_not_before_earlier_ones() {
        let mut rng = Rng::new(9);
        let s = settings(Locale::EnUs);
        let t = LogicalType::DateTime { fsp: 0 };
        for _ in 0..200 {
            let mut ctx = RowContext::default();
            let created = text_of(generate(&Kind::Instant, &t, &s, &mut ctx, &mut rng));
            let updated = text_of(generate(&Kind::Later, &t, &s, &mut ctx, &mut rng));
            assert!(updated >= created, "{updated} < {created}");
        }
    }

    #[test]
    fn decimals_fit_their_precision_and_scale() {
        let mut rng = Rng::new(1);
        let t = LogicalType::Decimal {
            precision: Some(4),
            scale: Some(2),
        };
        for _ in 0..500 {
            let Cell::Num(n) = number(&Kind::Money, &t, &mut rng) else {
                panic!("not a number")
            };
            let (int, frac) = n.split_once('.').expect("has a scale");
            assert!(int.len() <= 2 && frac.len() == 2, "{n}");
        }
        assert_eq!(scaled(-5, 2), "-0.05");
    }
}
