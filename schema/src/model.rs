//! The validated graph: what the schema file declares, in the form the builder and the
//! resolvers use. Every reference in it (source, type, field, template variable) has been
//! checked, so resolvers never look anything up that can be missing.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use async_graphql::parser::{
    Pos,
    types::{BaseType, Type},
};
use reqwest::{Method, header::HeaderName};

use crate::template::{Template, VarRoot};

/// The name of a source, as declared by `@source(name:)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceName(pub Arc<str>);

impl SourceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A REST service: `@source(name:, url:, timeout:, maxBatch:, headers:)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: SourceName,
    /// Base URL without a trailing slash.
    pub url: String,
    pub timeout: Duration,
    /// The most keys one batched call carries; larger batches are split.
    pub max_batch: usize,
    /// Headers sent with every call to this source.
    pub headers: Vec<(HeaderName, String)>,
    /// How calls to this source fail over: retries, breaker, concurrency, size.
    pub policy: SourcePolicy,
    pub pos: Pos,
}

/// A source's resilience settings. The defaults suit a service on the same network.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePolicy {
    pub connect_timeout: Duration,
    /// Extra attempts for an idempotent call (GET, HEAD, PUT, DELETE) that found the
    /// service unavailable or answering 500/502/503/504. A timeout is not retried: it has
    /// already cost the whole timeout.
    pub retries: u32,
    /// The first retry waits up to this long (full jitter), doubling up to `retry_backoff_max`.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// Retries allowed as a share of recent calls (over 10 s), so an outage cannot
    /// multiply the load on the service.
    pub retry_budget: f32,
    /// Retries allowed per second whatever the share, so a quiet source can still retry.
    pub retry_budget_min_per_second: u32,
    /// Consecutive failures (timeouts, unavailable, 5xx) that open the circuit; 0 never opens it.
    pub breaker_failures: u32,
    /// How long an open circuit refuses calls before letting a probe through.
    pub breaker_open_for: Duration,
    /// Calls in flight at once; beyond it calls fail fast with `UPSTREAM_OVERLOADED`. 0: no limit.
    pub max_concurrency: usize,
    /// The largest response body accepted.
    pub max_response_bytes: usize,
    /// How long after a cached answer goes stale it may still be served when the service
    /// fails (stale-if-error); zero never serves stale answers.
    pub stale_if_error: Duration,
    /// Concurrent requests' loads of the same endpoint share calls (see
    /// [`crate::fetch::coalesce`]): safe wherever the service answers identical calls alike.
    pub coalesce: bool,
}

impl Default for SourcePolicy {
    fn default() -> Self {
        SourcePolicy {
            connect_timeout: Duration::from_secs(2),
            retries: 2,
            retry_backoff: Duration::from_millis(25),
            retry_backoff_max: Duration::from_millis(500),
            retry_budget: 0.2,
            retry_budget_min_per_second: 10,
            breaker_failures: 10,
            breaker_open_for: Duration::from_secs(5),
            max_concurrency: 512,
            max_response_bytes: 32 * 1024 * 1024,
            stale_if_error: Duration::ZERO,
            coalesce: true,
        }
    }
}

/// Who may share a cached response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheScope {
    /// Only the same caller: the key carries the caller's identity.
    #[default]
    Private,
    /// Any caller.
    Public,
}

/// `@cacheControl(maxAge:, scope:)` on a type or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    pub max_age: Duration,
    pub scope: CacheScope,
}

/// How a batched call's results are shared out among the parents that asked.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSpec {
    /// The JSON path, in the parent, of the value each parent contributes to `$keys`.
    pub parent_key: Vec<String>,
    /// The JSON path, in each result item, of the value that names its parent.
    pub match_path: Vec<String>,
}

/// A REST call: `@rest(source:, method:, path:, query:, body:, headers:, select:, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RestSpec {
    pub source: SourceName,
    pub method: Method,
    /// The path as written in the schema (`/users/{$args.id}`): names the call in traces
    /// and logs without its values.
    pub route: std::sync::Arc<str>,
    pub path: Template,
    /// Query parameters, in order; a parameter whose value is absent or null is left out.
    pub query: Vec<(String, Template)>,
    /// A JSON body whose strings may be templates.
    pub body: Option<BodyTemplate>,
    pub headers: Vec<(HeaderName, Template)>,
    /// Where the wanted value sits in the response (`items` for a page envelope).
    pub select: Vec<String>,
    /// Present when the call uses `$keys`: one call for many parents.
    pub batch: Option<BatchSpec>,
    pub pos: Pos,
}

/// A JSON body template: strings are templates, the rest is literal.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(Template),
    List(Vec<BodyTemplate>),
    Object(Vec<(String, BodyTemplate)>),
}

impl BodyTemplate {
    /// The templates among the body's strings, into `out`.
    pub fn templates<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            BodyTemplate::Text(t) => out.push(t),
            BodyTemplate::List(items) => items.iter().for_each(|b| b.templates(out)),
            BodyTemplate::Object(fields) => fields.iter().for_each(|(_, b)| b.templates(out)),
            BodyTemplate::Null | BodyTemplate::Bool(_) | BodyTemplate::Number(_) => {}
        }
    }
}

impl RestSpec {
    /// Every template of the call: path, query values, headers and body strings.
    pub fn templates(&self) -> Vec<&Template> {
        let mut templates: Vec<&Template> = std::iter::once(&self.path)
            .chain(self.query.iter().map(|(_, t)| t))
            .chain(self.headers.iter().map(|(_, t)| t))
            .collect();
        if let Some(body) = &self.body {
            body.templates(&mut templates);
        }
        templates
    }

    /// Whether any template of the call reads `root`.
    pub fn uses(&self, root: &VarRoot) -> bool {
        self.templates().iter().any(|t| t.uses(root))
    }
}

/// How a field gets its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// From the parent's JSON, at `path` (the field name unless `@map(path:)` says otherwise).
    Project { path: Vec<String> },
    /// From a REST call; `path` (from `@map`) then picks the value inside the result.
    Rest {
        rest: Arc<RestSpec>,
        path: Vec<String>,
    },
    /// Through the entity lookup of `entity`, with the key at `key` in the parent's JSON.
    Join { entity: String, key: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArgSpec {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub default: Option<async_graphql::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub args: Vec<ArgSpec>,
    pub resolution: Resolution,
    pub cache: Option<CacheHint>,
    pub auth: AuthRule,
    /// `@fallback(value:)`: what a non-critical field answers when its service fails.
    pub fallback: Option<async_graphql::Value>,
    pub pos: Pos,
}

/// `@authenticated` / `@requiresScopes(scopes: [[String!]!]!)`: who may read a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRule {
    pub authenticated: bool,
    /// Any one inner list (OR), all of whose scopes (AND) the caller must hold.
    pub scopes: Vec<Vec<String>>,
}

impl AuthRule {
    pub fn is_open(&self) -> bool {
        !self.authenticated && self.scopes.is_empty()
    }

    /// Adds `other`'s requirements to this rule's: a caller must then meet both (a field's
    /// rule and its type's).
    pub fn require(&mut self, other: &AuthRule) {
        self.authenticated |= other.authenticated;
        self.scopes.extend(other.scopes.iter().cloned());
    }
}

/// An entity's batch (or per-key) lookup, used by `@join`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySpec {
    /// The key field, as JSON path in the entity's records.
    pub key_path: Vec<String>,
    pub rest: Arc<RestSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    /// `@key(fields:)`: the field that identifies a record.
    pub key: Option<String>,
    pub entity: Option<EntitySpec>,
    pub cache: Option<CacheHint>,
    pub auth: AuthRule,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumSpec {
    pub name: String,
    pub description: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<ArgSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScalarSpec {
    pub name: String,
    pub description: Option<String>,
}

/// `@sse(source:, path:, query:, headers:, event:, select:)` on a subscription field: the
/// field's events come from a server-sent-events stream. The stream's URL is a `@rest`
/// template (GET, no body, no batching); `select` picks the value inside each event's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    pub rest: Arc<RestSpec>,
    /// The SSE event type carried (`event:` lines); others are ignored. Default `message`,
    /// the type of events that name none.
    pub event: String,
}

/// A field of the subscription root: each upstream event becomes one result.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFieldSpec {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub args: Vec<ArgSpec>,
    pub stream: StreamSpec,
    /// The field's own rule combined with its type's is checked at subscribe time.
    pub auth: AuthRule,
    pub pos: Pos,
}

/// The subscription root type: every field a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSpec {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<StreamFieldSpec>,
    pub pos: Pos,
}

/// The whole validated graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub sources: BTreeMap<SourceName, SourceSpec>,
    pub query: String,
    pub mutation: Option<String>,
    /// Kept apart from `objects`: its fields are streams, never parents of other fields.
    pub subscription: Option<SubscriptionSpec>,
    pub objects: BTreeMap<String, ObjectSpec>,
    pub enums: BTreeMap<String, EnumSpec>,
    pub inputs: BTreeMap<String, InputSpec>,
    pub scalars: BTreeMap<String, ScalarSpec>,
}

/// The named type at the bottom of a (list / non-null) type.
pub fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// True when the type is a list at its outer level (ignoring non-null).
pub fn is_list(ty: &Type) -> bool {
    matches!(ty.base, BaseType::List(_))
}

pub const BUILTIN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];
