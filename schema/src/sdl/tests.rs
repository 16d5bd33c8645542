//! Each kind of schema mistake gets a positioned diagnostic that says what is wrong.

use std::path::Path;

use super::load_graph;

const SOURCES: &str = "extend schema @source(name: \"users\", url: \"http://127.0.0.1:4001\")\n";

/// The diagnostics for `body` (after the source line), as `line:col message`.
fn errors(body: &str) -> Vec<String> {
    let text = format!("{SOURCES}{body}");
    match load_graph(Path::new("t.graphql"), &text) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .diagnostics
            .iter()
            .map(|d| format!("{}:{} {}", d.pos.line, d.pos.column, d.message))
            .collect(),
    }
}

fn assert_error(body: &str, line: usize, needle: &str) {
    let errors = errors(body);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{line}:")) && e.contains(needle)),
        "expected `{needle}` on line {line}, got {errors:#?}"
    );
}

#[test]
fn a_valid_schema_has_no_errors() {
    let body = r#"
type Query { user(id: ID!): User @rest(source: "users", path: "/users/{$args.id}") }
type User @key(fields: "id") @rest(source: "users", path: "/users", query: {ids: "{$keys}"}) {
  id: ID!
  name: String! @map(path: "profile.name")
  friend: User @join(key: "id")
}
"#;
    assert_eq!(errors(body), Vec::<String>::new());
}

#[test]
fn syntax_errors_have_a_position() {
    assert_error("type Query { user(: User }", 2, "");
}

#[test]
fn unknown_source() {
    assert_error(
        "type Query {\n  a: Int @rest(source: \"userz\", path: \"/a\")\n}",
        3,
        "unknown source `userz`",
    );
}

#[test]
fn template_variable_that_does_not_exist() {
    assert_error(
        "type Query {\n  a(id: ID): Int @rest(source: \"users\", path: \"/a/{$args.x}\")\n}",
        3,
        "no argument `x`",
    );
    assert_error(
        "type Query {\n  a: Int @rest(source: \"users\", path: \"/a/{$argz.x}\")\n}",
        3,
        "is not a variable",
    );
    assert_error(
        "type Query { u: U @rest(source: \"users\", path: \"/u\") }\ntype U { id: ID!\n  n: Int @rest(source: \"users\", path: \"/n/{$parent.nope}\") }",
        4,
        "type U has no field `nope`",
    );
}

#[test]
fn join_key_absent_from_the_parent_type() {
    let body = "type Query { o: Order @rest(source: \"users\", path: \"/o\") }\n\
                type User @key(fields: \"id\") @rest(source: \"users\", path: \"/u\", query: {ids: \"{$keys}\"}) { id: ID! }\n\
                type Order { id: ID!\n user: User @join(key: \"userId\") }";
    assert_error(body, 5, "@join key `userId` is not a field of Order");
}

#[test]
fn missing_key_on_an_entity_used_by_a_join() {
    let body = "type Query { o: Order @rest(source: \"users\", path: \"/o\") }\n\
                type User { id: ID! }\n\
                type Order { userId: ID!\n user: User @join(key: \"userId\") }";
    assert_error(body, 5, "joins User, which has no @key and @rest lookup");
}

#[test]
fn type_mismatch_between_join_and_entity_keys() {
    let body = "type Query { o: Order @rest(source: \"users\", path: \"/o\") }\n\
                type User @key(fields: \"id\") @rest(source: \"users\", path: \"/u\", query: {ids: \"{$keys}\"}) { id: ID! }\n\
                type Order { userId: Boolean!\n user: User @join(key: \"userId\") }";
    assert_error(body, 5, "type mismatch");
}

#[test]
fn duplicate_names() {
    assert_error(
        "type Query { a: Int @rest(source: \"users\", path: \"/a\")\n a: Int @rest(source: \"users\", path: \"/a\") }",
        3,
        "declared twice",
    );
    assert_error(
        "type Query { a: Int @rest(source: \"users\", path: \"/a\") }\ntype Query { b: Int }",
        3,
        "type `Query` is declared twice",
    );
    let twice = "extend schema @source(name: \"users\", url: \"http://127.0.0.1:1\")\ntype Query { a: Int @rest(source: \"users\", path: \"/a\") }";
    assert_error(twice, 2, "source `users` is declared twice");
}

#[test]
fn unknown_types_and_directives() {
    assert_error(
        "type Query { a: Nope @rest(source: \"users\", path: \"/a\") }",
        2,
        "unknown type Nope",
    );
    assert_error(
        "type Query { a: Int @rest(source: \"users\", path: \"/a\") @cache(x: 1) }",
        2,
        "unknown directive @cache",
    );
    assert_error("type Query { a: Int }", 2, "has no @rest");
}

#[test]
fn batch_calls_need_a_match_and_a_key() {
    let body = "type Query { u: U @rest(source: \"users\", path: \"/u\") }\n\
                type U { id: ID!\n xs: [Int!]! @rest(source: \"users\", path: \"/x\", query: {ids: \"{$keys}\"}) }";
    let errors = errors(body);
    assert!(
        errors.iter().any(|e| e.contains("has no @key")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("needs `match:`")),
        "{errors:#?}"
    );
}

#[test]
fn bad_source_declarations() {
    let errors = errors("");
    assert!(!errors.is_empty());
    let text = "extend schema @source(name: \"a\", url: \"ftp://x\", timeout: \"soon\")\ntype Query { a: Int @rest(source: \"a\", path: \"a\") }";
    let result = load_graph(Path::new("t.graphql"), text).expect_err("invalid");
    let messages: Vec<&str> = result
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("not an http(s) URL")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("must start with `/`")),
        "{messages:#?}"
    );
}

#[test]
fn fallbacks_must_fit_their_field() {
    let body = |field: &str| {
        format!(
            "enum Tier {{ GOLD SILVER }}\ntype Query {{ u: U @rest(source: \"users\", path: \"/u\") }}\ntype U {{\n  id: ID!\n  {field}\n}}\n"
        )
    };
    assert_error(
        &body("a: Int! @fallback(value: \"zero\")"),
        6,
        "is not a Int",
    );
    assert_error(
        &body("a: Int! @fallback(value: null)"),
        6,
        "null for a non-null",
    );
    assert_error(&body("a: [Int!] @fallback(value: 1)"), 6, "not a list");
    assert_error(&body("a: Tier @fallback(value: BRONZE)"), 6, "not a Tier");
    assert_error(&body("a: U @fallback(value: {id: 1})"), 6, "object field");
    assert_error(&body("a: Int @fallback"), 6, "needs `value:`");
    for fine in [
        "a: Int! @fallback(value: 0)",
        "a: [String!]! @fallback(value: [])",
        "a: Tier @fallback(value: GOLD)",
        "a: Float @fallback(value: null)",
    ] {
        let errors = errors(&body(fine))
            .into_iter()
            .filter(|e| e.contains("fallback"))
            .collect::<Vec<_>>();
        assert!(errors.is_empty(), "{fine}: {errors:?}");
    }
}

const QUERY: &str =
    "type Query { me: User @rest(source: \"users\", path: \"/me\") }\ntype User { id: ID! }\n";

#[test]
fn a_subscription_field_is_fed_by_sse() {
    let body = format!(
        "{QUERY}type Subscription {{\n  changes(id: ID!): User @sse(source: \"users\", path: \"/users/{{$args.id}}/events\", event: \"change\")\n}}\n"
    );
    assert_eq!(errors(&body), Vec::<String>::new());
    let graph = load_graph(Path::new("t.graphql"), &format!("{SOURCES}{body}")).expect("valid");
    let subscription = graph.subscription.expect("a subscription root");
    assert_eq!(subscription.fields[0].stream.event, "change");
}

#[test]
fn sse_mistakes_are_reported_where_they_are() {
    let missing = format!("{QUERY}type Subscription {{\n  changes: User\n}}\n");
    assert_error(&missing, 5, "has no @sse");
    let parent = format!(
        "{QUERY}type Subscription {{\n  changes: User @sse(source: \"users\", path: \"/{{$parent.id}}\")\n}}\n"
    );
    assert_error(&parent, 5, "root fields have no parent");
    let rest = format!(
        "{QUERY}type Subscription {{\n  changes: User @sse(source: \"users\", path: \"/e\") @rest(source: \"users\", path: \"/e\")\n}}\n"
    );
    assert_error(&rest, 5, "@rest does not apply to a subscription field");
    let elsewhere = "type Query { me: User @rest(source: \"users\", path: \"/me\") @sse(source: \"users\", path: \"/e\") }\ntype User { id: ID! }\n";
    assert_error(elsewhere, 2, "@sse is for fields of the subscription type");
    let unknown = format!(
        "{QUERY}type Subscription {{\n  changes: User @sse(source: \"nope\", path: \"/e\", method: POST)\n}}\n"
    );
    assert_error(&unknown, 5, "unknown source");
    assert_error(&unknown, 5, "method");
}
