//! Request templates: `"/users/{$args.id}"`, `"{$keys}"`, `"Bearer {$headers.x-token}"`.
//!
//! A template is parsed once at start-up into literal text and variable references, and
//! rendered per call. Rendering encodes each value for where it lands, so that no value can
//! change the host, add path segments or inject query parameters: in a path a value is one
//! segment (`/` becomes `%2F`, and `.`/`..` are refused), in a query a value is one value
//! (`&`, `=`, `#` encoded).

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a variable refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarRoot {
    /// An argument of the field: `$args.first`.
    Args,
    /// A field of the parent object: `$parent.id`.
    Parent,
    /// A claim of the caller's token: `$jwt.sub`.
    Jwt,
    /// A request header, lower-case: `$headers.x-tenant`.
    Headers,
    /// The batch of keys of a batched call, comma-separated: `$keys`.
    Keys,
    /// The one key of a per-key entity lookup: `$key`.
    Key,
}

/// A variable reference such as `$args.input.userId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Var {
    pub root: VarRoot,
    pub path: Vec<String>,
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = match self.root {
            VarRoot::Args => "$args",
            VarRoot::Parent => "$parent",
            VarRoot::Jwt => "$jwt",
            VarRoot::Headers => "$headers",
            VarRoot::Keys => "$keys",
            VarRoot::Key => "$key",
        };
        f.write_str(root)?;
        for part in &self.path {
            write!(f, ".{part}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Literal(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    pub segments: Vec<Segment>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `{{` in template `{0}`")]
    Unclosed(String),
    #[error(
        "`{{{0}}}` is not a variable: variables start with $args, $parent, $jwt, $headers, $keys or $key"
    )]
    UnknownRoot(String),
    #[error("`{0}` needs a name after it, such as `{0}.id`")]
    MissingPath(String),
    #[error("`{0}` takes no path")]
    UnexpectedPath(String),
}

fn parse_var(text: &str) -> Result<Var, TemplateError> {
    let mut parts = text.split('.');
    let root = match parts.next().unwrap_or_default() {
        "$args" => VarRoot::Args,
        "$parent" => VarRoot::Parent,
        "$jwt" => VarRoot::Jwt,
        "$headers" => VarRoot::Headers,
        "$keys" => VarRoot::Keys,
        "$key" => VarRoot::Key,
        _ => return Err(TemplateError::UnknownRoot(text.to_owned())),
    };
    let path: Vec<String> = parts.map(str::to_owned).collect();
    let takes_path = !matches!(root, VarRoot::Keys | VarRoot::Key);
    if takes_path && (path.is_empty() || path.iter().any(String::is_empty)) {
        return Err(TemplateError::MissingPath(
            text.split('.').next().unwrap_or(text).to_owned(),
        ));
    }
    if !takes_path && !path.is_empty() {
        return Err(TemplateError::UnexpectedPath(
            text.split('.').next().unwrap_or(text).to_owned(),
        ));
    }
    let path = if root == VarRoot::Headers {
        path.into_iter().map(|p| p.to_ascii_lowercase()).collect()
    } else {
        path
    };
    Ok(Var { root, path })
}

impl Template {
    /// Parses `text`; `{` followed by `$` opens a variable, any other `{` is literal.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{$") {
            if start > 0 {
                segments.push(Segment::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Unclosed(text.to_owned()))?;
            segments.push(Segment::Var(parse_var(after[..end].trim())?));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var(v) => Some(v),
            Segment::Literal(_) => None,
        })
    }

    /// The variable, when the template is exactly one variable (`"{$args.input}"`): in a
    /// JSON body such a template keeps the value's JSON type.
    pub fn single_var(&self) -> Option<&Var> {
        match self.segments.as_slice() {
            [Segment::Var(var)] => Some(var),
            _ => None,
        }
    }

    pub fn uses(&self, root: &VarRoot) -> bool {
        self.vars().any(|v| &v.root == root)
    }
}

/// Characters left as they are in an encoded value: RFC 3986 unreserved.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a value as exactly one path segment or one query value.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, VALUE).to_string()
}

/// Where a rendered value goes, which decides its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Path,
    Query,
    /// Header values and JSON strings: not URL-encoded (headers refuse CR/LF themselves).
    Raw,
}

/// Why a template could not be rendered for a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("`{0}` has no value")]
    Missing(String),
    #[error("`{0}` cannot be empty, `.` or `..` in a path")]
    DotSegment(String),
}

/// Renders `template`, asking `lookup` for each variable's text. `None` from `lookup` means
/// absent: an error, except that the caller may decide to drop an optional query parameter.
pub fn render(
    template: &Template,
    position: Position,
    mut lookup: impl FnMut(&Var) -> Option<String>,
) -> Result<String, RenderError> {
    let mut out = String::new();
    for segment in &template.segments {
        match segment {
            Segment::Literal(text) => out.push_str(text),
            Segment::Var(var) => {
                let value = lookup(var).ok_or_else(|| RenderError::Missing(var.to_string()))?;
                match position {
                    Position::Path => {
                        if value == "." || value == ".." || value.is_empty() {
                            return Err(RenderError::DotSegment(var.to_string()));
                        }
                        // `$keys` arrive encoded already (comma-separated encoded keys).
                        if var.root == VarRoot::Keys {
                            out.push_str(&value);
                        } else {
                            out.push_str(&encode(&value));
                        }
                    }
                    Position::Query if var.root == VarRoot::Keys => out.push_str(&value),
                    Position::Query => out.push_str(&encode(&value)),
                    Position::Raw => out.push_str(&value),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(text: &str, position: Position, value: &str) -> Result<String, RenderError> {
        let template = Template::parse(text).expect("parses");
        render(&template, position, |_| Some(value.to_owned()))
    }

    #[test]
    fn parses_literals_and_variables() {
        let t = Template::parse("/users/{$args.id}/orders").expect("parses");
        assert_eq!(t.segments.len(), 3);
        assert_eq!(
            t.vars().next().map(ToString::to_string).as_deref(),
            Some("$args.id")
        );
        assert!(
            Template::parse("{$keys}")
                .expect("parses")
                .single_var()
                .is_some()
        );
        assert!(
            Template::parse("{ not a var }")
                .expect("literal braces")
                .vars()
                .next()
                .is_none()
        );
    }

    #[test]
    fn rejects_bad_variables() {
        assert!(matches!(
            Template::parse("/u/{$args.id"),
            Err(TemplateError::Unclosed(_))
        ));
        assert!(matches!(
            Template::parse("/u/{$argz.id}"),
            Err(TemplateError::UnknownRoot(_))
        ));
        assert!(matches!(
            Template::parse("/u/{$args}"),
            Err(TemplateError::MissingPath(_))
        ));
        assert!(matches!(
            Template::parse("/u/{$keys.id}"),
            Err(TemplateError::UnexpectedPath(_))
        ));
    }

    #[test]
    fn path_values_stay_one_segment() {
        for (value, expected) in [
            ("../admin", "/users/..%2Fadmin"),
            ("%2F", "/users/%252F"),
            ("1?admin=true", "/users/1%3Fadmin%3Dtrue"),
            ("1#x", "/users/1%23x"),
            ("a&b", "/users/a%26b"),
            ("a\r\nX-Evil: 1", "/users/a%0D%0AX-Evil%3A%201"),
            ("zoë", "/users/zo%C3%AB"),
        ] {
            assert_eq!(
                render_with("/users/{$args.id}", Position::Path, value).as_deref(),
                Ok(expected),
                "{value}"
            );
        }
        assert!(render_with("/users/{$args.id}", Position::Path, "..").is_err());
        assert!(render_with("/users/{$args.id}", Position::Path, ".").is_err());
    }

    #[test]
    fn query_values_stay_one_value() {
        assert_eq!(
            render_with("{$args.q}", Position::Query, "a&b=c#d").as_deref(),
            Ok("a%26b%3Dc%23d")
        );
    }
}
