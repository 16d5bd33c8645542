use async_graphql::{Variables, parser::parse_query};
use serde_json::json;

use super::*;
use crate::{SHOP_SCHEMA, sdl::load_graph};

fn limiter(limits: QueryLimits) -> Limiter {
    let graph = load_graph(std::path::Path::new("shop.graphql"), SHOP_SCHEMA).expect("the shop");
    Limiter::new(limits, &graph)
}

fn summary(query: &str, variables: serde_json::Value) -> Summary {
    let limiter = limiter(QueryLimits::default());
    let document = parse_query(query).expect("parses");
    let variables = Variables::from_json(variables);
    analyze(&limiter.shapes, &document, &variables)[0]
}

#[test]
fn cost_multiplies_down_lists() {
    // users(first: 50): 50 x (the user 1 + orders 5 x (order 1 + payment 1 + user 1)).
    let n_plus_one =
        "{ users(first: 50) { orders(first: 5) { payment { status } user { name } } } }";
    let s = summary(n_plus_one, json!({}));
    assert_eq!(s.cost, 50 * (1 + 5 * 3));
    assert_eq!(s.depth, 4);
    assert_eq!(s.fields, 1);
    // From a variable, and from the argument's default (users: first = 20).
    let s = summary(
        "query($n: Int) { users(first: $n) { id } }",
        json!({"n": 7}),
    );
    assert_eq!(s.cost, 7);
    assert_eq!(summary("{ users { id } }", json!({})).cost, 20);
    // LineItem lists have no slicing argument: the default list size, 10.
    assert_eq!(
        summary("{ order(id: 1) { items { sku } } }", json!({})).cost,
        1 + 10
    );
}

#[test]
fn fragments_count_as_expanded_but_are_walked_once() {
    let query = "query { a: user(id: 1) { ...U } b: user(id: 2) { ...U } }
        fragment U on User { o1: orders(first: 2) { ...O } o2: orders(first: 2) { ...O } }
        fragment O on Order { id user { id } }";
    let s = summary(query, json!({}));
    assert_eq!(s.aliases, 2 + 2 * 2);
    assert_eq!(s.fields, 2);
    assert_eq!(s.depth, 4);
    assert_eq!(s.cost, 2 * (1 + 2 * 2 * (1 + 1)));
    // A cycle is left to validation, not looped on.
    let s = summary(
        "{ user(id: 1) { ...A } } fragment A on User { ...A name }",
        json!({}),
    );
    assert_eq!(s.depth, 2);
}

#[test]
fn each_rule_has_its_code() {
    let limiter = limiter(QueryLimits::default());
    let check = |query: &str| {
        limiter.check_text(query)?;
        let document = parse_query(query).expect("parses");
        limiter
            .check_document(&document, &Variables::default())
            .map(|checked| checked.cost)
    };
    let deep = format!(
        "{{ user(id: 1) {{ {} id {} }} }}",
        "orders { user { ".repeat(8),
        "} } ".repeat(8)
    );
    assert_eq!(check(&deep).unwrap_err().code(), "QUERY_TOO_DEEP");
    let costly = "{ users(first: 1000) { orders(first: 100) { id } } }";
    assert_eq!(check(costly).unwrap_err().code(), "QUERY_TOO_COSTLY");
    let aliases: String = (0..31).map(|i| format!("a{i}: name ")).collect();
    let bomb = format!("{{ user(id: 1) {{ {aliases} }} }}");
    assert_eq!(check(&bomb).unwrap_err().code(), "TOO_MANY_ALIASES");
    let wide: String = (0..21)
        .map(|i| format!("u{i}: user(id: {i}) {{ id }} "))
        .collect();
    let limits = QueryLimits {
        max_aliases: 0,
        ..QueryLimits::default()
    };
    let wide_limiter = super::Limiter::new(
        limits,
        &load_graph(std::path::Path::new("s"), SHOP_SCHEMA).expect("the shop"),
    );
    let document = parse_query(format!("{{ {wide} }}")).expect("parses");
    assert_eq!(
        wide_limiter
            .check_document(&document, &Variables::default())
            .unwrap_err()
            .code(),
        "TOO_MANY_ROOT_FIELDS"
    );
    let tokens = format!("{{ {} }}", "a ".repeat(5_000));
    assert_eq!(check(&tokens).unwrap_err().code(), "TOO_MANY_TOKENS");
    let large = format!("{{ __typename }} #{}", "x".repeat(40_000));
    assert_eq!(check(&large).unwrap_err().code(), "QUERY_TOO_LARGE");
    assert!(
        check("{ users(first: 50) { orders(first: 5) { payment { status } user { name } } } }")
            .is_ok()
    );
}

#[test]
fn only_fields_the_same_for_every_caller_make_a_query_public() {
    let schema = r#"
extend schema @source(name: "shop", url: "http://127.0.0.1:1")
type Query {
  products: [Product!]! @rest(source: "shop", path: "/products") @cacheControl(maxAge: 60, scope: PUBLIC)
  mine: [Product!]! @rest(source: "shop", path: "/users/{$jwt.sub}/products") @cacheControl(maxAge: 60, scope: PUBLIC)
  secret: [Product!]! @authenticated @rest(source: "shop", path: "/secret") @cacheControl(maxAge: 60, scope: PUBLIC)
  user(id: ID!): User @rest(source: "shop", path: "/users/{$args.id}")
}
type Product @key(fields: "sku") @rest(source: "shop", path: "/products", query: {skus: "{$keys}"}) @cacheControl(maxAge: 60, scope: PUBLIC) {
  sku: ID!
  name: String!
  related: Product @join(key: "sku")
}
type User { id: ID! name: String! }
"#;
    let graph = load_graph(std::path::Path::new("s.graphql"), schema).expect("valid");
    let limiter = Limiter::new(QueryLimits::default(), &graph);
    let public = |query: &str| {
        let document = parse_query(query).expect("parses");
        limiter
            .check_document(&document, &Variables::default())
            .expect("within limits")
            .public
    };
    assert!(public(
        "{ products { sku name related { name } } __typename }"
    ));
    assert!(public(
        "query A { products { sku } } query B { __typename }"
    ));
    assert!(public("{ ...F } fragment F on Query { products { name } }"));
    // A call the schema caches per caller, one that reads the token, a guarded field.
    assert!(!public("{ products { sku } user(id: 1) { name } }"));
    assert!(!public("{ mine { sku } }"));
    assert!(!public("{ secret { sku } }"));
    assert!(!public(
        "query A { products { sku } } query B { user(id: 1) { id } }"
    ));
}
