//! Text at the edge of the API: every name, e-mail address, query value and path segment a client
//! sends is checked here before it reaches a service or the database. PostgreSQL refuses NUL in
//! text (that used to surface as a 500), control characters in names confuse every reader, and
//! unbounded names cost every page that lists them.

use serde_json::json;

use super::error::{ApiError, ApiResult};

/// `value` for the field `name`: `min..=max` characters, no control characters. The error names
/// the field and what was expected.
pub fn field<'a>(name: &str, value: &'a str, min: usize, max: usize) -> ApiResult<&'a str> {
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            format!("{name} must not contain control characters (such as NUL, tab or newline)"),
            json!({"field": name}),
        ));
    }
    let chars = value.chars().count();
    if chars < min || chars > max {
        let expected = if min == 0 {
            format!("at most {max} characters")
        } else {
            format!("{min} to {max} characters")
        };
        return Err(ApiError::bad_request(
            format!("{name} must have {expected}, got {chars}"),
            json!({"field": name}),
        ));
    }
    Ok(value)
}

/// `wanted` as a path on this server, or `None` when a browser could take it to another origin:
/// it must start with one `/`, and neither it nor its percent-decoded form may hold control
/// characters, white space, `\`, or a second leading `/` (browsers strip tabs and newlines and
/// read `\` as `/`, so `/\t/evil.example` and `/\evil.example` are other hosts). What remains is
/// resolved against a placeholder origin and must stay on it.
pub fn same_origin_path(wanted: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(wanted).decode_utf8().ok()?;
    for form in [wanted, decoded.as_ref()] {
        let mut chars = form.chars();
        if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
            return None;
        }
        if form
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return None;
        }
    }
    let origin = url::Url::parse("http://cwic.invalid/").ok()?;
    let joined = origin.join(wanted).ok()?;
    if joined.origin() != origin.origin() {
        return None;
    }
    let mut path = joined.path().to_owned();
    if let Some(query) = joined.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = joined.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    Some(path)
}

/// Whether a JSON document holds a NUL character in any string or key (`\u0000`, the only way
/// JSON can carry one). A linear scan that follows strings and escapes, so `"\\u0000"` (a
/// backslash, then text) does not count.
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if bytes.get(i + 1) == Some(&b'u')
                    && bytes
                        .get(i + 2..i + 6)
                        .is_some_and(|hex| hex.iter().all(|&b| b == b'0'))
                {
                    return true;
                }
                i += 1; // skip the escaped character
            }
            0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether a request target's path or query holds a percent-encoded control character
/// (`%00`–`%1F`, `%7F`) or a raw one.
pub fn uri_has_control(target: &str) -> bool {
    let bytes = target.as_bytes();
    bytes.iter().any(|b| b.is_ascii_control())
        || bytes.windows(3).any(|w| {
            w[0] == b'%' && {
                let hex = |b: u8| (b as char).to_digit(16);
                matches!((hex(w[1]), hex(w[2])), (Some(high), Some(low)) if high * 16 + low < 0x20 || high * 16 + low == 0x7f)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_origin() {
        for evil in [
            "/\t/evil.example/phish",
            "/%09/evil.example/phish",
            "//evil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "",
        ] {
            assert_eq!(same_origin_path(evil), None, "{evil:?} accepted");
        }
        assert_eq!(same_origin_path("/").as_deref(), Some("/"));
        assert_eq!(
            same_origin_path("/assets?id=3#top").as_deref(),
            Some("/assets?id=3#top")
        );
        assert_eq!(same_origin_path("/a/../b").as_deref(), Some("/b"));
    }

    #[test]
    fn nul_is_found_in_json_strings_only_when_it_is_one() {
        assert!(json_has_nul(br#"{"email": "a\u0000@b"}"#));
        assert!(json_has_nul(br#"{"a\u0000": 1}"#));
        assert!(!json_has_nul(br#"{"sql": "a \\u0000 b"}"#));
        assert!(!json_has_nul(br#"{"sql": "tab\there \u0041"}"#));
        assert!(json_has_nul(b"{\"raw\": \"a\0b\"}"));
    }

    #[test]
    fn control_characters_in_targets_are_found_encoded_or_raw() {
        assert!(uri_has_control("/api/v1/assets?q=%00"));
        assert!(uri_has_control("/api/v1/assets?q=a%1fb"));
        assert!(uri_has_control("/api/v1/assets/%7F"));
        assert!(!uri_has_control("/api/v1/assets?q=%20caf%C3%A9"));
    }

    #[test]
    fn fields_have_bounds_and_no_control_characters() {
        assert!(field("name", "", 1, 100).is_err());
        assert!(field("name", &"x".repeat(101), 1, 100).is_err());
        assert!(field("name", "a\0b", 1, 100).is_err());
        assert_eq!(field("name", "ci token", 1, 100).unwrap(), "ci token");
    }
}
