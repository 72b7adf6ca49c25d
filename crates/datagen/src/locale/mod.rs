//! Locales: the word lists values are drawn from. en_US takes fake's
//! English data; uk_UA is the built-in Ukrainian dataset ([`uk_ua`]).

pub mod uk_ua;

use fake::locales::{Data, EN};

pub use uk_ua::UkUa;

/// A locale the generator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    EnUs,
    UkUa,
}

impl Locale {
    /// `en_US` or `uk_UA` (also `en`, `uk`, case and `-`/`_` free).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('-', "_").as_str() {
            "en_us" | "en" => Some(Locale::EnUs),
            "uk_ua" | "uk" => Some(Locale::UkUa),
            _ => None,
        }
    }

    /// The word lists of this locale.
    pub fn words(self) -> &'static Words {
        match self {
            Locale::EnUs => &EN_US,
            Locale::UkUa => &UK_UA,
        }
    }
}

/// The lists one locale draws from.
#[derive(Debug)]
pub struct Words {
    pub first_names: &'static [&'static str],
    pub last_names: &'static [&'static str],
    pub cities: Cities,
    pub streets: Streets,
    pub states: &'static [&'static str],
    pub countries: &'static [&'static str],
    pub phone_formats: &'static [&'static str],
    pub postcode_formats: &'static [&'static str],
    pub company: Companies,
    pub carriers: &'static [&'static str],
    /// Whether names need transliterating for e-mail addresses.
    pub latin: bool,
}

/// How a locale makes city names.
#[derive(Debug)]
pub enum Cities {
    /// `<first name><suffix>` or `<prefix> <last name><suffix>` (fake's
    /// English templates).
    Compose {
        prefixes: &'static [&'static str],
        suffixes: &'static [&'static str],
    },
    /// A list of real cities.
    List(&'static [&'static str]),
}

/// How a locale makes street addresses.
#[derive(Debug)]
pub enum Streets {
    /// `<number> <last name> <suffix>`.
    Suffixed(&'static [&'static str]),
    /// `вул. <name>, <number>`.
    Named(&'static [&'static str]),
}

/// How a locale makes company names.
#[derive(Debug)]
pub enum Companies {
    /// `<last name> <suffix>`.
    Suffixed(&'static [&'static str]),
    /// `<form> «<word><word>»`.
    Quoted {
        forms: &'static [&'static str],
        words: &'static [&'static str],
    },
}

static EN_US: Words = Words {
    first_names: EN::NAME_FIRST_NAME,
    last_names: EN::NAME_LAST_NAME,
    cities: Cities::Compose {
        prefixes: EN::ADDRESS_CITY_PREFIX,
        suffixes: EN::ADDRESS_CITY_SUFFIX,
    },
    streets: Streets::Suffixed(EN::ADDRESS_STREET_SUFFIX),
    states: EN::ADDRESS_STATE,
    countries: EN::ADDRESS_COUNTRY,
    phone_formats: &[
        "+1 ###-###-####",
        "(###) ###-####",
        "###-###-####",
        "+1 ### ### ####",
    ],
    postcode_formats: &["#####", "#####-####"],
    company: Companies::Suffixed(EN::COMPANY_SUFFIX),
    carriers: &["UPS", "FedEx", "USPS", "DHL", "OnTrac"],
    latin: true,
};

static UK_UA: Words = Words {
    first_names: UkUa::NAME_FIRST_NAME,
    last_names: UkUa::NAME_LAST_NAME,
    cities: Cities::List(uk_ua::CITIES),
    streets: Streets::Named(uk_ua::STREETS),
    states: UkUa::ADDRESS_STATE,
    countries: UkUa::ADDRESS_COUNTRY,
    phone_formats: UkUa::PHONE_NUMBER_FORMATS,
    postcode_formats: UkUa::ADDRESS_POSTCODE_FORMATS,
    company: Companies::Quoted {
        forms: UkUa::COMPANY_SUFFIX,
        words: uk_ua::COMPANY_WORDS,
    },
    carriers: uk_ua::CARRIERS,
    latin: false,
};

/// Words for filler text, from fake's lorem list.
pub fn lorem() -> &'static [&'static str] {
    EN::LOREM_WORD
}
