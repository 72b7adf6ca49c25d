//! `*` globs over names: tables in `tables:`, `transforms:` and topic
//! patterns all match the same way.

/// `*` matches any run of characters (also none); everything else matches
/// itself. Iterative with one backtrack point, so it never explodes.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches as glob;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("*", ""));
        assert!(glob("tmp_*", "tmp_"));
        assert!(glob("tmp_*", "tmp_orders"));
        assert!(!glob("tmp_*", "orders_tmp_"));
        assert!(glob("*_log", "audit_log"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("orders", "orders"));
        assert!(!glob("orders", "orders2"));
        assert!(glob("shop.shop.*", "shop.shop.orders"));
        assert!(!glob("shop.shop.*", "shop.other.orders"));
    }
}
