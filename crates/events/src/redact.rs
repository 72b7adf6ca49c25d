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

#[cfg(test)]
mod tests {
    use super::*;

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
