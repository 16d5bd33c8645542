//! An extension that names the operation for logs and metrics, and gives parsing,
//! validation and execution a span each.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
    },
    parser::types::{ExecutableDocument, OperationType},
};
use tracing::Instrument;

/// The operation a request ran, once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub name: Option<String>,
    pub kind: &'static str,
}

/// Put in a request's data (as `Arc<OperationSlot>`) to learn its operation.
#[derive(Debug, Default)]
pub struct OperationSlot {
    operation: Mutex<Option<Operation>>,
    /// The document's operations by name, between parsing and execution.
    named: Mutex<HashMap<String, &'static str>>,
}

impl OperationSlot {
    pub fn operation(&self) -> Option<Operation> {
        self.operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, operation: Operation) {
        *self
            .operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(operation);
    }
}

fn kind(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

pub struct OperationExtension;

impl ExtensionFactory for OperationExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observe)
    }
}

struct Observe;

#[async_graphql::async_trait::async_trait]
impl Extension for Observe {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let span = tracing::info_span!("graphql.parse", otel.name = "parse");
        let document = next.run(ctx, query, variables).instrument(span).await?;
        if let Some(slot) = ctx.data_opt::<Arc<OperationSlot>>() {
            let mut named = slot.named.lock().unwrap_or_else(PoisonError::into_inner);
            named.clear();
            for (name, operation) in document.operations.iter() {
                match name {
                    Some(name) => {
                        named.insert(name.to_string(), kind(operation.node.ty));
                    }
                    None => slot.set(Operation {
                        name: None,
                        kind: kind(operation.node.ty),
                    }),
                }
            }
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
        let mut known = None;
        if let Some(slot) = ctx.data_opt::<Arc<OperationSlot>>() {
            let named = slot.named.lock().unwrap_or_else(PoisonError::into_inner);
            // Without an operationName, a document's one named operation is the one run.
            let chosen = match operation_name {
                Some(name) => named.get_key_value(name),
                None if named.len() == 1 => named.iter().next(),
                None => None,
            };
            if let Some((name, kind)) = chosen {
                let operation = Operation {
                    name: Some(name.clone()),
                    kind,
                };
                known = Some(operation.clone());
                drop(named);
                slot.set(operation);
            } else {
                known = slot.operation();
            }
        }
        let (name, kind) = known
            .map(|op| (op.name.unwrap_or_default(), op.kind))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "graphql.execute",
            otel.name = %format_args!("{kind} {name}").to_string().trim(),
            graphql.operation.name = %name,
            graphql.operation.type = kind,
        );
        next.run(ctx, operation_name).instrument(span).await
    }
}
