//! Counting a document's lexical tokens before parsing it, so a document of a million
//! tokens costs a linear scan with no allocation instead of a parse.

/// The number of GraphQL tokens in `text`, counting stops past `stop` (the result is then
/// `stop + 1`). Whitespace, commas and comments are not tokens; a string, a name, a number
/// and each punctuator are one.
pub fn count_tokens(text: &str, stop: usize) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            // The UTF-8 byte order mark is ignored like whitespace.
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                i += 3;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                // A name or a number (with its sign, fraction and exponent).
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                    && !bytes[i..].starts_with(b"...")
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        count += 1;
        if count > stop {
            return count;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::count_tokens;

    #[test]
    fn counts_graphql_tokens() {
        assert_eq!(count_tokens("{ __typename }", 100), 3);
        assert_eq!(
            count_tokens("query Q($id: ID!) { user(id: $id) { name } }", 100),
            21
        );
        assert_eq!(count_tokens("# only a comment\n , ,", 100), 0);
        assert_eq!(count_tokens(r#"{ f(a: "x y \" z", b: -1.5e3) }"#, 100), 11);
        assert_eq!(count_tokens("{ ...F } fragment F on Q { a }", 100), 11);
        assert_eq!(count_tokens("{ f(s: \"\"\"a \"b\" c\"\"\") }", 100), 8);
    }

    #[test]
    fn stops_early() {
        let huge = "{ a }".repeat(1_000_000);
        assert_eq!(count_tokens(&huge, 10), 11);
    }
}
