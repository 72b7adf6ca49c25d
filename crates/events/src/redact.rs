//! Keeping passwords out of logs, errors and printed plans.

/// Replaces the password of every `scheme://user:password@host` in `text`
/// with `***`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(['/', ' ', '"', '\'', '\n', '?', '#'])
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at_sign), Some(colon)) if colon < at_sign => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at_sign..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// True for a client setting whose value is a secret (`sasl.password`,
/// `ssl.key.password`, an OAuth token…).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "key.pem", "jaas"]
        .iter()
        .any(|s| key.contains(s))
}

/// Serialises client settings with secret values as `***`, for printed
/// plans (`serialize_with`).
pub fn serialize_redacted<S: serde::Serializer>(
    settings: &std::collections::BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(settings.len()))?;
    for (key, value) in settings {
        let shown = if is_secret_key(key) {
            "***"
        } else {
            value.as_str()
        };
        map.serialize_entry(key, shown)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_settings_are_masked_when_printed() {
        #[derive(serde::Serialize)]
        struct Plan {
            #[serde(serialize_with = "serialize_redacted")]
            properties: std::collections::BTreeMap<String, String>,
        }
        let properties = [("sasl.password", "hunter2"), ("acks", "all")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let text = serde_json::to_string(&Plan { properties }).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"properties":{"acks":"all","sasl.password":"***"}}"#
        );
        assert!(is_secret_key("SSL.KEY.PASSWORD") && !is_secret_key("linger.ms"));
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_urls("connect mysql://app:s3cr@t@db:3306/shop failed"),
            "connect mysql://app:***@db:3306/shop failed"
        );
        assert_eq!(
            redact_urls("postgres://dwh@127.0.0.1/dwh"),
            "postgres://dwh@127.0.0.1/dwh"
        );
        assert_eq!(
            redact_urls("a=\"postgres://u:p@h/d\" b=http://x:1/"),
            "a=\"postgres://u:***@h/d\" b=http://x:1/"
        );
    }
}
