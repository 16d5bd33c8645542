//! Step 2 of the pipeline: read the routing directives of a parsed document into the graph
//! model, checking each directive's own arguments and everything local to one type.
//! Cross-type references (sources, joins, root rules) are checked by `validate`.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use async_graphql::{
    Name, Value,
    parser::{
        Pos, Positioned,
        types::{
            ConstDirective, FieldDefinition, InputValueDefinition, ServiceDocument, TypeDefinition,
            TypeKind, TypeSystemDefinition,
        },
    },
};
use reqwest::{Method, header::HeaderName};

use crate::{
    error::Diagnostic,
    model::{
        ArgSpec, AuthRule, BatchSpec, BodyTemplate, CacheHint, CacheScope, EntitySpec, EnumSpec,
        FieldSpec, Graph, InputSpec, ObjectSpec, Resolution, RestSpec, ScalarSpec, SourceName,
        SourcePolicy, SourceSpec, StreamFieldSpec, StreamSpec, SubscriptionSpec,
    },
    template::{Template, VarRoot},
};

/// Directives the engine reads, with where they may appear.
pub const DIRECTIVES: &[(&str, &str)] = &[
    ("source", "`extend schema`"),
    ("rest", "fields and object types"),
    ("key", "object types"),
    ("join", "fields"),
    ("map", "fields"),
    ("cacheControl", "fields and object types"),
    ("authenticated", "fields and object types"),
    ("requiresScopes", "fields and object types"),
    ("fallback", "fields"),
    ("sse", "fields of the subscription type"),
];

/// The arguments `@rest` takes.
const REST_ARGS: &[&str] = &[
    "source", "method", "path", "query", "body", "headers", "select", "key", "match",
];

/// The arguments `@sse` takes: a GET's URL and headers, and which events to carry.
const SSE_ARGS: &[&str] = &["source", "path", "query", "headers", "select", "event"];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_BATCH: usize = 100;

/// The arguments of one directive, read with type checks that report into `diags`.
struct DirectiveArgs<'a> {
    directive: &'a Positioned<ConstDirective>,
}

impl<'a> DirectiveArgs<'a> {
    fn name(&self) -> &str {
        self.directive.node.name.node.as_str()
    }

    fn get(&self, name: &str) -> Option<&'a Positioned<Value>> {
        self.directive
            .node
            .arguments
            .iter()
            .find(|(n, _)| n.node.as_str() == name)
            .map(|(_, v)| v)
    }

    fn pos_of(&self, name: &str) -> Pos {
        self.get(name).map_or(self.directive.pos, |v| v.pos)
    }

    fn string(&self, name: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
        match self.get(name).map(|v| &v.node) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                diags.push(Diagnostic::new(
                    self.pos_of(name),
                    format!("@{}({name}:) must be a string", self.name()),
                ));
                None
            }
        }
    }

    fn required_string(&self, name: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
        let value = self.string(name, diags);
        if value.is_none() && self.get(name).is_none() {
            diags.push(
                Diagnostic::new(
                    self.directive.pos,
                    format!("@{} needs `{name}:`", self.name()),
                )
                .help(format!("add `{name}: \"...\"` to the directive")),
            );
        }
        value
    }

    fn integer(&self, name: &str, diags: &mut Vec<Diagnostic>) -> Option<i64> {
        match self.get(name).map(|v| &v.node) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => {
                diags.push(Diagnostic::new(
                    self.pos_of(name),
                    format!("@{}({name}:) must be an integer", self.name()),
                ));
                None
            }
        }
    }

    /// Checks that only `allowed` arguments are given.
    fn only(&self, allowed: &[&str], diags: &mut Vec<Diagnostic>) {
        for (arg, _) in &self.directive.node.arguments {
            if !allowed.contains(&arg.node.as_str()) {
                diags.push(
                    Diagnostic::new(
                        arg.pos,
                        format!("@{} has no argument `{}`", self.name(), arg.node),
                    )
                    .help(format!("its arguments are: {}", allowed.join(", "))),
                );
            }
        }
    }
}

fn directives<'a>(
    list: &'a [Positioned<ConstDirective>],
    name: &str,
) -> impl Iterator<Item = DirectiveArgs<'a>> {
    list.iter()
        .filter(move |d| d.node.name.node.as_str() == name)
        .map(|directive| DirectiveArgs { directive })
}

fn directive<'a>(list: &'a [Positioned<ConstDirective>], name: &str) -> Option<DirectiveArgs<'a>> {
    directives(list, name).next()
}

/// Reports directives the engine does not know.
fn check_known(list: &[Positioned<ConstDirective>], diags: &mut Vec<Diagnostic>) {
    for d in list {
        let name = d.node.name.node.as_str();
        if name != "deprecated" && !DIRECTIVES.iter().any(|(known, _)| *known == name) {
            let known: Vec<String> = DIRECTIVES.iter().map(|(n, _)| format!("@{n}")).collect();
            diags.push(
                Diagnostic::new(d.pos, format!("unknown directive @{name}"))
                    .help(format!("the directives are {}", known.join(", "))),
            );
        }
    }
}

fn path_of(text: &str) -> Vec<String> {
    text.split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_template(text: &str, pos: Pos, diags: &mut Vec<Diagnostic>) -> Option<Template> {
    match Template::parse(text) {
        Ok(template) => Some(template),
        Err(error) => {
            diags.push(Diagnostic::new(pos, error.to_string()));
            None
        }
    }
}

fn body_template(value: &Value, pos: Pos, diags: &mut Vec<Diagnostic>) -> BodyTemplate {
    match value {
        Value::Null => BodyTemplate::Null,
        Value::Boolean(b) => BodyTemplate::Bool(*b),
        Value::Number(n) => BodyTemplate::Number(n.clone()),
        Value::String(s) => {
            parse_template(s, pos, diags).map_or(BodyTemplate::Null, BodyTemplate::Text)
        }
        Value::Enum(name) => BodyTemplate::Text(Template {
            segments: vec![crate::template::Segment::Literal(name.to_string())],
        }),
        Value::List(items) => {
            BodyTemplate::List(items.iter().map(|v| body_template(v, pos, diags)).collect())
        }
        Value::Object(fields) => BodyTemplate::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), body_template(v, pos, diags)))
                .collect(),
        ),
        Value::Binary(_) => {
            diags.push(Diagnostic::new(pos, "a body cannot hold binary values"));
            BodyTemplate::Null
        }
    }
}

/// Reads `[{name: "x-api-key", value: "..."}]` into header names and values.
fn header_list(
    args: &DirectiveArgs<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(HeaderName, String, Pos)> {
    let Some(value) = args.get("headers") else {
        return Vec::new();
    };
    let items = match &value.node {
        Value::List(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(&value.node),
        _ => {
            diags.push(Diagnostic::new(
                value.pos,
                "`headers:` must be a list of {name: \"...\", value: \"...\"}",
            ));
            return Vec::new();
        }
    };
    let mut headers = Vec::new();
    for item in items {
        let Value::Object(fields) = item else {
            diags.push(Diagnostic::new(
                value.pos,
                "each header is {name: \"...\", value: \"...\"}",
            ));
            continue;
        };
        let name = fields.get("name").and_then(|v| {
            if let Value::String(s) = v {
                Some(s)
            } else {
                None
            }
        });
        let text = fields.get("value").and_then(|v| {
            if let Value::String(s) = v {
                Some(s)
            } else {
                None
            }
        });
        match (name.map(|n| HeaderName::try_from(n.as_str())), text) {
            (Some(Ok(name)), Some(text)) => headers.push((name, text.clone(), value.pos)),
            (Some(Err(_)), _) => diags.push(Diagnostic::new(
                value.pos,
                format!(
                    "`{}` is not a valid header name",
                    name.map(String::as_str).unwrap_or("")
                ),
            )),
            _ => diags.push(Diagnostic::new(
                value.pos,
                "each header is {name: \"...\", value: \"...\"}",
            )),
        }
    }
    headers
}

fn read_source(args: &DirectiveArgs<'_>, diags: &mut Vec<Diagnostic>) -> Option<SourceSpec> {
    args.only(&["name", "url", "timeout", "maxBatch", "headers"], diags);
    let name = args.required_string("name", diags)?;
    let url = args.required_string("url", diags)?;
    let url = url.trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
        _ => {
            diags.push(
                Diagnostic::new(
                    args.pos_of("url"),
                    format!("source `{name}`: `{url}` is not an http(s) URL"),
                )
                .help("write the service's base URL, such as \"http://127.0.0.1:4001\""),
            );
            return None;
        }
    }
    let timeout = match args.string("timeout", diags) {
        None => DEFAULT_TIMEOUT,
        Some(text) => match humantime::parse_duration(&text) {
            Ok(timeout) if !timeout.is_zero() => timeout,
            _ => {
                diags.push(
                    Diagnostic::new(
                        args.pos_of("timeout"),
                        format!("`{text}` is not a duration"),
                    )
                    .help("write a duration such as \"2s\" or \"500ms\""),
                );
                DEFAULT_TIMEOUT
            }
        },
    };
    let max_batch = match args.integer("maxBatch", diags) {
        None => DEFAULT_MAX_BATCH,
        Some(n) if (1..=10_000).contains(&n) => n as usize,
        Some(n) => {
            diags.push(Diagnostic::new(
                args.pos_of("maxBatch"),
                format!("maxBatch {n} is not between 1 and 10000"),
            ));
            DEFAULT_MAX_BATCH
        }
    };
    let headers = header_list(args, diags)
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect();
    Some(SourceSpec {
        name: SourceName(name.into()),
        url,
        timeout,
        max_batch,
        headers,
        policy: SourcePolicy::default(),
        pos: args.directive.pos,
    })
}

fn read_cache(
    list: &[Positioned<ConstDirective>],
    diags: &mut Vec<Diagnostic>,
) -> Option<CacheHint> {
    let args = directive(list, "cacheControl")?;
    args.only(&["maxAge", "scope"], diags);
    let max_age = match args.integer("maxAge", diags) {
        Some(n) if n >= 0 => Duration::from_secs(n as u64),
        Some(_) => {
            diags.push(Diagnostic::new(
                args.pos_of("maxAge"),
                "maxAge is a number of seconds, 0 or more",
            ));
            Duration::ZERO
        }
        None => Duration::ZERO,
    };
    let scope = match args.get("scope").map(|v| &v.node) {
        None => CacheScope::Private,
        Some(Value::Enum(e)) if e.as_str() == "PUBLIC" => CacheScope::Public,
        Some(Value::Enum(e)) if e.as_str() == "PRIVATE" => CacheScope::Private,
        Some(_) => {
            diags.push(Diagnostic::new(
                args.pos_of("scope"),
                "scope is PUBLIC or PRIVATE",
            ));
            CacheScope::Private
        }
    };
    Some(CacheHint { max_age, scope })
}

fn read_auth(list: &[Positioned<ConstDirective>], diags: &mut Vec<Diagnostic>) -> AuthRule {
    let mut rule = AuthRule::default();
    if let Some(args) = directive(list, "authenticated") {
        args.only(&[], diags);
        rule.authenticated = true;
    }
    if let Some(args) = directive(list, "requiresScopes") {
        args.only(&["scopes"], diags);
        let scopes = match args.get("scopes").map(|v| &v.node) {
            Some(Value::List(outer)) => outer
                .iter()
                .map(|inner| match inner {
                    Value::List(all) => all
                        .iter()
                        .filter_map(|s| {
                            if let Value::String(s) = s {
                                Some(s.clone())
                            } else {
                                None
                            }
                        })
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => Vec::new(),
                })
                .collect(),
            _ => {
                diags.push(
                    Diagnostic::new(
                        args.directive.pos,
                        "@requiresScopes needs `scopes: [[\"scope\", ...], ...]`",
                    )
                    .help("the outer list is OR, each inner list is AND"),
                );
                Vec::new()
            }
        };
        rule.scopes = scopes;
    }
    rule
}

/// What a `@rest` is attached to, which decides the variables it may use.
enum RestOwner<'a> {
    /// A field of `parent` (None for root types).
    Field {
        parent: Option<&'a ObjectFields<'a>>,
        args: &'a [Positioned<InputValueDefinition>],
    },
    /// A type's entity lookup.
    Entity,
}

/// The fields of an object type by GraphQL name, with their JSON paths.
struct ObjectFields<'a> {
    name: &'a str,
    paths: BTreeMap<&'a str, Vec<String>>,
    key: Option<String>,
}

fn read_rest(
    args: &DirectiveArgs<'_>,
    allowed: &[&str],
    owner: RestOwner<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<RestSpec> {
    args.only(allowed, diags);
    let source = args.required_string("source", diags)?;
    let method = match args.get("method").map(|v| &v.node) {
        None => Method::GET,
        Some(Value::Enum(m)) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) => {
            Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET)
        }
        Some(Value::String(m))
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) =>
        {
            Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET)
        }
        Some(_) => {
            diags.push(Diagnostic::new(
                args.pos_of("method"),
                "method is one of GET, POST, PUT, PATCH, DELETE",
            ));
            Method::GET
        }
    };
    let path_text = args.required_string("path", diags)?;
    if !path_text.starts_with('/') {
        diags.push(
            Diagnostic::new(
                args.pos_of("path"),
                format!("path `{path_text}` must start with `/`"),
            )
            .help("the path is appended to the source's URL, such as \"/users/{$args.id}\""),
        );
    }
    let path = parse_template(&path_text, args.pos_of("path"), diags)?;
    let mut query = Vec::new();
    match args.get("query").map(|v| (&v.node, v.pos)) {
        None | Some((Value::Null, _)) => {}
        Some((Value::Object(fields), pos)) => {
            for (name, value) in fields {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    _ => {
                        diags.push(Diagnostic::new(
                            pos,
                            format!("query parameter `{name}` must be a string template"),
                        ));
                        continue;
                    }
                };
                if let Some(template) = parse_template(&text, pos, diags) {
                    query.push((name.to_string(), template));
                }
            }
        }
        Some((_, pos)) => diags.push(Diagnostic::new(
            pos,
            "`query:` must be an object such as {limit: \"{$args.first}\"}",
        )),
    }
    let body = args
        .get("body")
        .map(|v| body_template(&v.node, v.pos, diags));
    let mut headers = Vec::new();
    for (name, value, pos) in header_list(args, diags) {
        if let Some(template) = parse_template(&value, pos, diags) {
            headers.push((name, template));
        }
    }
    let select = args
        .string("select", diags)
        .map(|s| path_of(&s))
        .unwrap_or_default();

    // Check every variable against what the owner provides.
    let templates: Vec<(&Template, Pos)> = std::iter::once((&path, args.pos_of("path")))
        .chain(query.iter().map(|(_, t)| (t, args.pos_of("query"))))
        .chain(headers.iter().map(|(_, t)| (t, args.pos_of("headers"))))
        .collect();
    let mut body_templates = Vec::new();
    if let Some(body) = &body {
        body.templates(&mut body_templates);
    }
    let uses_keys = templates.iter().any(|(t, _)| t.uses(&VarRoot::Keys));
    for (template, pos) in templates
        .iter()
        .copied()
        .chain(body_templates.iter().map(|t| (*t, args.pos_of("body"))))
    {
        for var in template.vars() {
            let problem = match (&owner, &var.root) {
                (_, VarRoot::Jwt | VarRoot::Headers) => None,
                (RestOwner::Field { args: field_args, .. }, VarRoot::Args) => {
                    let arg = &var.path[0];
                    (!field_args.iter().any(|a| a.node.name.node.as_str() == arg)).then(|| {
                        let have: Vec<&str> = field_args.iter().map(|a| a.node.name.node.as_str()).collect();
                        (
                            format!("`{var}`: the field has no argument `{arg}`"),
                            if have.is_empty() {
                                "declare the argument on the field, or remove the variable".to_owned()
                            } else {
                                format!("the field's arguments are: {}", have.join(", "))
                            },
                        )
                    })
                }
                (RestOwner::Field { parent: Some(parent), .. }, VarRoot::Parent) => {
                    (!parent.paths.contains_key(var.path[0].as_str())).then(|| {
                        (
                            format!("`{var}`: type {} has no field `{}`", parent.name, var.path[0]),
                            "use a field of the parent type (add it to the type if the service returns it)".to_owned(),
                        )
                    })
                }
                (RestOwner::Field { parent: None, .. }, VarRoot::Parent) => Some((
                    format!("`{var}`: root fields have no parent"),
                    "use $args, $jwt or $headers here".to_owned(),
                )),
                (RestOwner::Field { parent, .. }, VarRoot::Keys) => match parent {
                    None => Some((format!("`{var}`: root fields have no parents to batch"), "remove $keys".to_owned())),
                    Some(_) => None,
                },
                (RestOwner::Field { .. }, VarRoot::Key) => Some((
                    "`$key` is for a type's entity lookup".to_owned(),
                    "use $parent.<field> or $keys on a field".to_owned(),
                )),
                (RestOwner::Entity, VarRoot::Keys | VarRoot::Key) => None,
                (RestOwner::Entity, VarRoot::Args | VarRoot::Parent) => Some((
                    format!("`{var}`: a type's lookup only has $keys (or $key), $jwt and $headers"),
                    "look records up by key: path: \"/users\", query: {ids: \"{$keys}\"}".to_owned(),
                )),
            };
            if let Some((message, help)) = problem {
                diags.push(Diagnostic::new(pos, message).help(help));
            }
        }
        if body_templates.iter().any(|t| std::ptr::eq(*t, template))
            && template.uses(&VarRoot::Keys)
        {
            diags.push(Diagnostic::new(
                pos,
                "`$keys` goes in the path or query, not the body",
            ));
        }
    }

    let batch = match (&owner, uses_keys) {
        (
            RestOwner::Field {
                parent: Some(parent),
                ..
            },
            true,
        ) => {
            let key_field = args.string("key", diags).or_else(|| parent.key.clone());
            let match_path = args.string("match", diags).map(|m| path_of(&m));
            if key_field.is_none() {
                diags.push(
                    Diagnostic::new(
                        args.directive.pos,
                        format!(
                            "`$keys` needs the parent's key: type {} has no @key",
                            parent.name
                        ),
                    )
                    .help("add `key: \"id\"` to @rest, or @key(fields: \"id\") to the type"),
                );
            }
            if match_path.is_none() {
                diags.push(
                    Diagnostic::new(
                        args.directive.pos,
                        "`$keys` needs `match:`, the result field naming each item's parent",
                    )
                    .help("for /orders?userIds={$keys}, write match: \"userId\""),
                );
            }
            match (key_field, match_path) {
                (Some(key), Some(match_path)) => match parent.paths.get(key.as_str()) {
                    Some(parent_key) => Some(BatchSpec {
                        parent_key: parent_key.clone(),
                        match_path,
                    }),
                    None => {
                        diags.push(Diagnostic::new(
                            args.pos_of("key"),
                            format!("type {} has no field `{key}`", parent.name),
                        ));
                        None
                    }
                },
                _ => None,
            }
        }
        (RestOwner::Entity, true) => {
            // Entity lookups match on the type's key; the caller fills `match_path` in.
            Some(BatchSpec {
                parent_key: Vec::new(),
                match_path: Vec::new(),
            })
        }
        _ => {
            if args.get("key").is_some() || args.get("match").is_some() {
                diags.push(Diagnostic::new(
                    args.directive.pos,
                    "`key:` and `match:` only apply when the call uses `$keys`",
                ));
            }
            None
        }
    };
    // A spec with errors is still returned, so later checks (its source) report as well;
    // the errors already recorded keep the schema from being served.
    Some(RestSpec {
        source: SourceName(source.into()),
        method,
        route: Arc::from(path_text.as_str()),
        path,
        query,
        body,
        headers,
        select,
        batch,
        pos: args.directive.pos,
    })
}

fn read_args(args: &[Positioned<InputValueDefinition>]) -> Vec<ArgSpec> {
    args.iter()
        .map(|a| ArgSpec {
            name: a.node.name.node.to_string(),
            description: a.node.description.as_ref().map(|d| d.node.clone()),
            ty: a.node.ty.node.clone(),
            default: a.node.default_value.as_ref().map(|v| v.node.clone()),
        })
        .collect()
}

/// `@fallback(value: ...)`: checked against the field's type by the validator.
fn read_fallback(
    list: &[Positioned<ConstDirective>],
    diags: &mut Vec<Diagnostic>,
) -> Option<async_graphql::Value> {
    let args = directive(list, "fallback")?;
    args.only(&["value"], diags);
    match args.get("value") {
        Some(value) => Some(value.node.clone()),
        None => {
            diags.push(Diagnostic::new(
                args.directive.pos,
                "@fallback needs `value:`, what the field answers when its service fails",
            ));
            None
        }
    }
}

/// The JSON path a field reads from its parent: `@map(path:)` or its own name.
fn field_path(field: &FieldDefinition, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    if let Some(args) = directive(&field.directives, "map") {
        args.only(&["path"], diags);
        if let Some(path) = args.required_string("path", diags) {
            let parts = path_of(&path);
            if parts.is_empty() {
                diags.push(Diagnostic::new(
                    args.pos_of("path"),
                    "@map(path:) cannot be empty",
                ));
            } else {
                return parts;
            }
        }
    }
    vec![field.name.node.to_string()]
}

fn check_unique<'a>(
    names: impl Iterator<Item = (&'a str, Pos)>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
    for (name, pos) in names {
        if let Some(first) = seen.insert(name, pos) {
            diags.push(
                Diagnostic::new(pos, format!("{what} `{name}` is declared twice")).help(format!(
                    "the first is at line {}, column {}",
                    first.line, first.column
                )),
            );
        }
    }
}

/// What every object type is checked for first: known directives, unique field names.
/// Returns the type's name.
fn check_type<'a>(
    def: &'a Positioned<TypeDefinition>,
    fields: &[Positioned<FieldDefinition>],
    diags: &mut Vec<Diagnostic>,
) -> &'a str {
    let name = def.node.name.node.as_str();
    check_known(&def.node.directives, diags);
    check_unique(
        fields.iter().map(|f| (f.node.name.node.as_str(), f.pos)),
        &format!("field {name}."),
        diags,
    );
    name
}

fn read_object(
    def: &Positioned<TypeDefinition>,
    fields: &[Positioned<FieldDefinition>],
    is_root: bool,
    diags: &mut Vec<Diagnostic>,
) -> ObjectSpec {
    let name = check_type(def, fields, diags);
    let mut key = None;
    if let Some(args) = directive(&def.node.directives, "key") {
        args.only(&["fields"], diags);
        if let Some(k) = args.required_string("fields", diags) {
            if fields.iter().any(|f| f.node.name.node.as_str() == k) {
                key = Some(k);
            } else {
                diags.push(
                    Diagnostic::new(
                        args.pos_of("fields"),
                        format!("@key names `{k}`, which is not a field of {name}"),
                    )
                    .help("name one field of the type, such as \"id\""),
                );
            }
        }
    }
    let mut paths = BTreeMap::new();
    let mut projections = Vec::new();
    for field in fields {
        let mut field_diags = Vec::new();
        let path = field_path(&field.node, &mut field_diags);
        paths.insert(field.node.name.node.as_str(), path.clone());
        projections.push(path);
        diags.append(&mut field_diags);
    }
    let parent = ObjectFields {
        name,
        paths,
        key: key.clone(),
    };

    let mut specs = Vec::new();
    for (field, path) in fields.iter().zip(projections) {
        let f = &field.node;
        check_known(&f.directives, diags);
        check_unique(
            f.arguments
                .iter()
                .map(|a| (a.node.name.node.as_str(), a.pos)),
            &format!("argument of {name}.{}", f.name.node),
            diags,
        );
        if let Some(sse) = directive(&f.directives, "sse") {
            diags.push(
                Diagnostic::new(
                    sse.directive.pos,
                    "@sse is for fields of the subscription type",
                )
                .help("declare the stream in `type Subscription { ... }`"),
            );
        }
        let rest = directive(&f.directives, "rest");
        let join = directive(&f.directives, "join");
        let resolution = match (rest, join) {
            (Some(_), Some(join)) => {
                diags.push(Diagnostic::new(
                    join.directive.pos,
                    "a field has @rest or @join, not both",
                ));
                continue;
            }
            (Some(rest), None) => {
                let owner = RestOwner::Field {
                    parent: (!is_root).then_some(&parent),
                    args: &f.arguments,
                };
                let Some(spec) = read_rest(&rest, REST_ARGS, owner, diags) else {
                    continue;
                };
                let has_map = directive(&f.directives, "map").is_some();
                Resolution::Rest {
                    rest: Arc::new(spec),
                    path: if has_map { path } else { Vec::new() },
                }
            }
            (None, Some(join)) => {
                join.only(&["key"], diags);
                let Some(key) = join.required_string("key", diags) else {
                    continue;
                };
                match parent.paths.get(key.as_str()) {
                    Some(key_path) => Resolution::Join {
                        entity: crate::model::named_type(&f.ty.node).to_owned(),
                        key: key_path.clone(),
                    },
                    None => {
                        diags.push(
                            Diagnostic::new(join.pos_of("key"), format!("@join key `{key}` is not a field of {name}"))
                                .help(format!("add `{key}: ID!` to {name} (the service returns it), or join on another field")),
                        );
                        continue;
                    }
                }
            }
            (None, None) => {
                if is_root {
                    diags.push(
                        Diagnostic::new(
                            field.pos,
                            format!("root field {name}.{} has no @rest", f.name.node),
                        )
                        .help("say where it comes from: @rest(source: \"...\", path: \"/...\")"),
                    );
                    continue;
                }
                Resolution::Project { path }
            }
        };
        specs.push(FieldSpec {
            name: f.name.node.to_string(),
            description: f.description.as_ref().map(|d| d.node.clone()),
            ty: f.ty.node.clone(),
            args: read_args(&f.arguments),
            resolution,
            cache: read_cache(&f.directives, diags),
            auth: read_auth(&f.directives, diags),
            fallback: read_fallback(&f.directives, diags),
            pos: field.pos,
        });
    }

    let entity = directive(&def.node.directives, "rest").and_then(|args| {
        let mut spec = read_rest(&args, REST_ARGS, RestOwner::Entity, diags)?;
        let Some(key) = &key else {
            diags.push(
                Diagnostic::new(args.directive.pos, format!("type {name} has @rest but no @key"))
                    .help("add @key(fields: \"id\") so records can be matched to keys"),
            );
            return None;
        };
        let key_path = parent.paths.get(key.as_str()).cloned().unwrap_or_default();
        if let Some(batch) = &mut spec.batch {
            batch.match_path = key_path.clone();
        } else if !spec.path.uses(&VarRoot::Key) && !spec.query.iter().any(|(_, t)| t.uses(&VarRoot::Key)) {
            diags.push(
                Diagnostic::new(args.directive.pos, format!("type {name}'s @rest uses neither $keys nor $key"))
                    .help("batch: query: {ids: \"{$keys}\"}; or one call per key: path: \"/users/{$key}\""),
            );
            return None;
        }
        Some(EntitySpec { key_path, rest: Arc::new(spec) })
    });

    ObjectSpec {
        name: name.to_owned(),
        description: def.node.description.as_ref().map(|d| d.node.clone()),
        fields: specs,
        key,
        entity,
        cache: read_cache(&def.node.directives, diags),
        auth: read_auth(&def.node.directives, diags),
        pos: def.pos,
    }
}

/// The subscription root: every field is fed by `@sse`, and may say who may subscribe.
fn read_subscription(
    def: &Positioned<TypeDefinition>,
    fields: &[Positioned<FieldDefinition>],
    diags: &mut Vec<Diagnostic>,
) -> SubscriptionSpec {
    let name = check_type(def, fields, diags);
    let type_auth = read_auth(&def.node.directives, diags);
    let mut specs = Vec::new();
    for field in fields {
        let f = &field.node;
        check_known(&f.directives, diags);
        for other in ["rest", "join", "map", "fallback", "cacheControl"] {
            if let Some(args) = directive(&f.directives, other) {
                diags.push(
                    Diagnostic::new(
                        args.directive.pos,
                        format!("@{other} does not apply to a subscription field"),
                    )
                    .help(
                        "a subscription field is fed by @sse; its events' fields resolve as usual",
                    ),
                );
            }
        }
        let Some(sse) = directive(&f.directives, "sse") else {
            diags.push(
                Diagnostic::new(
                    field.pos,
                    format!("subscription field {name}.{} has no @sse", f.name.node),
                )
                .help("say which event stream feeds it: @sse(source: \"...\", path: \"/...\", event: \"...\")"),
            );
            continue;
        };
        let owner = RestOwner::Field {
            parent: None,
            args: &f.arguments,
        };
        let Some(rest) = read_rest(&sse, SSE_ARGS, owner, diags) else {
            continue;
        };
        let event = sse
            .string("event", diags)
            .unwrap_or_else(|| "message".to_owned());
        let mut auth = read_auth(&f.directives, diags);
        auth.require(&type_auth);
        specs.push(StreamFieldSpec {
            name: f.name.node.to_string(),
            description: f.description.as_ref().map(|d| d.node.clone()),
            ty: f.ty.node.clone(),
            args: read_args(&f.arguments),
            stream: StreamSpec {
                rest: Arc::new(rest),
                event,
            },
            auth,
            pos: field.pos,
        });
    }
    SubscriptionSpec {
        name: name.to_owned(),
        description: def.node.description.as_ref().map(|d| d.node.clone()),
        fields: specs,
        pos: def.pos,
    }
}

/// Reads a parsed document into a graph, with every local problem found.
pub fn collect(doc: &ServiceDocument) -> (Graph, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut graph = Graph {
        sources: BTreeMap::new(),
        query: "Query".to_owned(),
        mutation: None,
        subscription: None,
        objects: BTreeMap::new(),
        enums: BTreeMap::new(),
        inputs: BTreeMap::new(),
        scalars: BTreeMap::new(),
    };
    let mut roots: (Option<Name>, Option<Name>, Option<Name>) = (None, None, None);
    let type_names = doc.definitions.iter().filter_map(|d| match d {
        TypeSystemDefinition::Type(t) if !t.node.extend => {
            Some((t.node.name.node.as_str(), t.node.name.pos))
        }
        _ => None,
    });
    check_unique(type_names, "type", &mut diags);

    // Roots first, so objects know whether they are one.
    for definition in &doc.definitions {
        if let TypeSystemDefinition::Schema(schema) = definition {
            check_known(&schema.node.directives, &mut diags);
            for args in directives(&schema.node.directives, "source") {
                if let Some(source) = read_source(&args, &mut diags) {
                    if let Some(first) = graph.sources.get(&source.name) {
                        diags.push(
                            Diagnostic::new(
                                source.pos,
                                format!("source `{}` is declared twice", source.name),
                            )
                            .help(format!("the first is at line {}", first.pos.line)),
                        );
                    } else {
                        graph.sources.insert(source.name.clone(), source);
                    }
                }
            }
            if let Some(query) = &schema.node.query {
                roots.0 = Some(query.node.clone());
            }
            if let Some(mutation) = &schema.node.mutation {
                roots.1 = Some(mutation.node.clone());
            }
            if let Some(subscription) = &schema.node.subscription {
                roots.2 = Some(subscription.node.clone());
            }
        }
    }
    if let Some(query) = roots.0 {
        graph.query = query.to_string();
    }
    let declared = |name: &str| {
        doc.definitions.iter().any(
            |d| matches!(d, TypeSystemDefinition::Type(t) if t.node.name.node.as_str() == name),
        )
    };
    graph.mutation = roots
        .1
        .map(|m| m.to_string())
        .or_else(|| declared("Mutation").then(|| "Mutation".to_owned()));
    let subscription = roots
        .2
        .map(|s| s.to_string())
        .or_else(|| declared("Subscription").then(|| "Subscription".to_owned()));

    for definition in &doc.definitions {
        let TypeSystemDefinition::Type(def) = definition else {
            continue;
        };
        let t = &def.node;
        let name = t.name.node.to_string();
        if t.extend {
            diags.push(
                Diagnostic::new(def.pos, format!("`extend type {name}` is not supported"))
                    .help("declare every field in the type itself"),
            );
            continue;
        }
        let is_root = name == graph.query || Some(&name) == graph.mutation.as_ref();
        let description = t.description.as_ref().map(|d| d.node.clone());
        if Some(&name) == subscription.as_ref() {
            match &t.kind {
                TypeKind::Object(object) => {
                    graph.subscription = Some(read_subscription(def, &object.fields, &mut diags));
                }
                _ => diags.push(Diagnostic::new(
                    def.pos,
                    format!("the subscription root {name} must be an object type"),
                )),
            }
            continue;
        }
        match &t.kind {
            TypeKind::Object(object) => {
                let spec = read_object(def, &object.fields, is_root, &mut diags);
                graph.objects.insert(name, spec);
            }
            TypeKind::Enum(e) => {
                let values = e
                    .values
                    .iter()
                    .map(|v| v.node.value.node.to_string())
                    .collect();
                graph.enums.insert(
                    name.clone(),
                    EnumSpec {
                        name,
                        description,
                        values,
                    },
                );
            }
            TypeKind::InputObject(input) => {
                graph.inputs.insert(
                    name.clone(),
                    InputSpec {
                        name,
                        description,
                        fields: read_args(&input.fields),
                    },
                );
            }
            TypeKind::Scalar => {
                graph
                    .scalars
                    .insert(name.clone(), ScalarSpec { name, description });
            }
            TypeKind::Interface(_) | TypeKind::Union(_) => {
                diags.push(Diagnostic::new(
                    def.pos,
                    format!("{name}: interfaces and unions are not supported yet"),
                ));
            }
        }
    }
    (graph, diags)
}
