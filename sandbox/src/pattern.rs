//! Request matching shared by fault rules and journal queries, so both read a glob the same way.
//!
//! A glob is split on `/`. A `*` inside a segment matches any characters of that one segment
//! (so `/zendesk/acme/api/v2/tickets/*` matches `.../tickets/1001.json`, and `*.json` works
//! too); a segment that is exactly `**` matches any number of segments, including none.

/// `"*"` matches any method; otherwise methods compare case-insensitively.
pub fn method_matches(pattern: &str, method: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(method)
}

/// Whether `path` (without query) matches `glob`.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let glob: Vec<&str> = glob.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments_match(&glob, &path)
}

fn segments_match(glob: &[&str], path: &[&str]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                segment_matches(first.as_bytes(), segment.as_bytes())
                    && segments_match(rest, path_rest)
            }
            None => false,
        },
    }
}

fn segment_matches(pattern: &[u8], segment: &[u8]) -> bool {
    match pattern.split_first() {
        None => segment.is_empty(),
        Some((b'*', rest)) => {
            (0..=segment.len()).any(|skip| segment_matches(rest, &segment[skip..]))
        }
        Some((c, rest)) => segment.first() == Some(c) && segment_matches(rest, &segment[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("/api/v2/conversations/*", "/api/v2/conversations/abc", true),
            (
                "/api/v2/conversations/*",
                "/api/v2/conversations/abc/participants",
                false,
            ),
            (
                "/api/v2/conversations/*/participants/*/attributes",
                "/api/v2/conversations/a/participants/b/attributes",
                true,
            ),
            (
                "/zendesk/*/api/v2/tickets/*.json",
                "/zendesk/acme/api/v2/tickets/1001.json",
                true,
            ),
            (
                "/zendesk/*/api/v2/tickets/*.json",
                "/zendesk/acme/api/v2/tickets/1001",
                false,
            ),
            (
                "/zendesk/acme/**",
                "/zendesk/acme/api/v2/users/me.json",
                true,
            ),
            (
                "/zendesk/acme/**",
                "/zendesk/globex/api/v2/users/me.json",
                false,
            ),
            ("/oauth/token", "/oauth/token", true),
            ("/oauth/token", "/oauth/token/x", false),
        ];
        for (glob, path, expected) in cases {
            assert_eq!(path_matches(glob, path), expected, "{glob} vs {path}");
        }
        assert!(method_matches("*", "PATCH"));
        assert!(method_matches("patch", "PATCH"));
        assert!(!method_matches("GET", "PATCH"));
    }
}
