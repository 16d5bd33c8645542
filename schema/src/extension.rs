//! The engine's one async-graphql extension. async-graphql runs every extension's hook for
//! every field, each through a boxed future even when the extension does nothing there:
//! three extensions cost the N+1 benchmark 13 % of its throughput against one. So the
//! engine's request-level work lives here, behind one extension:
//!
//! - parse: the host's admission check (the gateway's rate limit), the query limits, the
//!   operation's name and kind for logs and metrics, a span;
//! - validate: a span;
//! - execute: a span named after the operation, and the errors of failed fields; a query
//!   the planner has a plan for runs on the planned executor ([`crate::plan`]);
//! - resolve: null propagation ([`crate::resolve::nulls`]).

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
        NextValidation, ResolveInfo,
    },
    parser::types::{ExecutableDocument, OperationType},
};

use crate::plan::{DocumentPlan, Planner};
use tracing::Instrument;

use crate::{
    dedup::{InFlight, OperationKey, Turn, copy},
    limits::{Limiter, Violation},
    observe::Operation,
    resolve::{
        RequestData,
        nulls::{self, FieldFailures},
    },
};

/// The host's say on letting a request in, asked once per operation.
#[async_graphql::async_trait::async_trait]
pub trait Admission: Send + Sync {
    /// Whether the decision needs the query's estimated cost; it is then asked after
    /// parsing (with the cost), else before (with none).
    fn weighs_cost(&self) -> bool;
    /// `Ok` lets the operation run; an error refuses it (and is its only error).
    async fn admit(
        &self,
        ctx: &ExtensionContext<'_>,
        data: &RequestData,
        cost: Option<u64>,
    ) -> Result<(), ServerError>;
}

/// Builds the per-request extension.
pub struct EngineExtension {
    pub limiter: Arc<Limiter>,
    pub admission: Option<Arc<dyn Admission>>,
    /// Identical queries executing now, when deduplication is on.
    pub in_flight: Option<Arc<InFlight>>,
    /// Query plans, when the planned executor is on.
    pub planner: Option<Arc<Planner>>,
}

impl ExtensionFactory for EngineExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            limiter: self.limiter.clone(),
            admission: self.admission.clone(),
            in_flight: self.in_flight.clone(),
            planner: self.planner.clone(),
            planned: Mutex::new(None),
            text: Mutex::new(None),
            failures: FieldFailures::default(),
        })
    }
}

struct PerRequest {
    limiter: Arc<Limiter>,
    admission: Option<Arc<dyn Admission>>,
    in_flight: Option<Arc<InFlight>>,
    planner: Option<Arc<Planner>>,
    /// The document's plan and the variables it runs with, kept from parsing.
    planned: Mutex<Option<(Arc<DocumentPlan>, Variables)>>,
    /// The query text and variables, and whether the query reads only public data, kept
    /// from parsing for the deduplication key.
    text: Mutex<Option<(String, String, bool)>>,
    failures: FieldFailures,
}

/// The deduplication scope of queries that read only public data. No caller's scope looks
/// like it: they are `anonymous` or a hash with a one-letter prefix.
const PUBLIC_SCOPE: &str = "*public*";

/// A subscription sent where one answer is expected (a plain POST or GET).
fn needs_stream() -> ServerError {
    let mut error = ServerError::new(
        "a subscription needs a streaming transport: a WebSocket (graphql-transport-ws) \
         or a request with `Accept: text/event-stream`",
        None,
    );
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "STREAMING_REQUIRED");
    error.extensions = Some(extensions);
    error
}

fn kind(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let data = ctx.data_opt::<RequestData>();
        let admission = self.admission.as_ref().zip(data);
        if let Some((admission, data)) = admission
            && !admission.weighs_cost()
        {
            admission.admit(ctx, data, None).await?;
        }
        let span = tracing::info_span!("graphql.parse", otel.name = "parse");
        let checked = async {
            self.limiter
                .check_text(query)
                .map_err(Violation::into_error)?;
            let document = next.run(ctx, query, variables).await?;
            let checked = self
                .limiter
                .check_document(&document, variables)
                .map_err(Violation::into_error)?;
            Ok::<_, ServerError>((document, checked))
        }
        .instrument(span)
        .await;
        if let Some((admission, data)) = admission
            && admission.weighs_cost()
        {
            // A document refused by the query limits still counts, as one request.
            let cost = checked.as_ref().map_or(0, |(_, checked)| checked.cost);
            admission.admit(ctx, data, Some(cost)).await?;
        }
        let (document, checked) = checked?;
        if let Some(planner) = &self.planner {
            let plan = planner.plan(query, &document).await;
            *self.planned.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((plan, variables.clone()));
        }
        if self.in_flight.is_some() {
            let variables = serde_json::to_string(variables).unwrap_or_default();
            *self.text.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((query.to_owned(), variables, checked.public));
        }
        if let Some(data) = data {
            let operations: Vec<Operation> = document
                .operations
                .iter()
                .map(|(name, op)| Operation {
                    name: name.map(|n| n.to_string()),
                    kind: kind(op.node.ty),
                })
                .collect();
            data.stats.set_operations(operations);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let span = tracing::info_span!("graphql.validate", otel.name = "validate");
        next.run(ctx).instrument(span).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let data = ctx.data_opt::<RequestData>();
        let operation = data.and_then(|data| data.stats.choose_operation(operation_name));
        let (name, kind) = operation
            .map(|op| (op.name.unwrap_or_default(), op.kind))
            .unwrap_or_default();
        // A subscription's events hold their field errors back (see `EventErrors`).
        let held = match (kind, data) {
            ("subscription", Some(data)) => match &data.streaming {
                Some(held) => Some(held.clone()),
                None => return Response::from_errors(vec![needs_stream()]),
            },
            _ => None,
        };
        let span = tracing::info_span!(
            "graphql.execute",
            otel.name = %format_args!("{kind} {name}").to_string().trim(),
            graphql.operation.name = %name,
            graphql.operation.type = kind,
            switchyard.executor = tracing::field::Empty,
        );
        // Only queries share: a mutation or subscription always runs on its own.
        let key = match (&self.in_flight, data) {
            (Some(_), Some(data)) if kind == "query" => self
                .text
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .map(|(query, variables, public)| OperationKey {
                    // A query of public data answers everyone alike: any caller may share.
                    scope: if public {
                        Arc::from(PUBLIC_SCOPE)
                    } else {
                        Arc::from(data.caller.scope.as_str())
                    },
                    operation: operation_name.map(str::to_owned),
                    query,
                    variables,
                }),
            _ => None,
        };
        let leader = match (key, &self.in_flight) {
            (Some(key), Some(in_flight)) => match in_flight.turn(key) {
                Turn::Lead(leader) => Some(leader),
                Turn::Wait(answer) => {
                    if let Ok(answer) = answer.await {
                        if let Some(data) = data {
                            data.stats.shared_answer();
                        }
                        return copy(&answer);
                    }
                    // The execution waited on was dropped: run our own.
                    None
                }
            },
            _ => None,
        };
        // A query with a plan runs on the planned executor; anything else on async-graphql's.
        let planned = self
            .planned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .filter(|_| kind == "query")
            .and_then(|(plan, variables)| match plan.operation(operation_name) {
                Ok(operation) => Some((operation.clone(), variables)),
                Err(reason) => {
                    tracing::trace!(%reason, "query not planned");
                    None
                }
            });
        let mut response = match (planned, data) {
            (Some((operation, variables)), Some(data)) => {
                span.record("switchyard.executor", "planned");
                crate::plan::execute(&operation, &variables, data)
                    .instrument(span)
                    .await
            }
            _ => {
                span.record("switchyard.executor", "async-graphql");
                next.run(ctx, operation_name).instrument(span).await
            }
        };
        nulls::finish(&self.failures, &mut response);
        // Before sharing it: requests that share the answer are told what it stood on.
        if let (Some(data), None) = (data, &held) {
            data.stats.flag(&mut response);
        }
        if let Some(leader) = leader {
            leader.finish(&response);
        }
        if let Some(held) = held {
            held.hold(&mut response);
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        nulls::resolve(&self.failures, ctx, info, next).await
    }
}
