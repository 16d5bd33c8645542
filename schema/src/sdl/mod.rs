//! The schema file, from text to a validated [`Graph`]: parse -> collect -> validate.

pub mod collect;
pub mod validate;

use std::path::Path;

use async_graphql::parser::{self, types::ServiceDocument};

use crate::{
    error::{Diagnostic, SchemaErrors},
    model::Graph,
};

/// Step 1: GraphQL syntax.
fn parse(text: &str) -> Result<ServiceDocument, Diagnostic> {
    parser::parse_schema(text).map_err(|error| {
        let pos = error.positions().next().unwrap_or_default();
        let message = error
            .to_string()
            .lines()
            .next()
            .unwrap_or("syntax error")
            .to_owned();
        Diagnostic::new(pos, message).help("the file must be GraphQL SDL")
    })
}

/// Parses, collects and validates `text`, read from `file` (named in errors).
pub fn load_graph(file: &Path, text: &str) -> Result<Graph, SchemaErrors> {
    let fail = |diagnostics| SchemaErrors {
        file: file.to_owned(),
        diagnostics,
    };
    let document = parse(text).map_err(|d| fail(vec![d]))?;
    let (graph, mut diagnostics) = collect::collect(&document);
    validate::validate(&graph, &mut diagnostics);
    if diagnostics.is_empty() {
        Ok(graph)
    } else {
        diagnostics.sort_by_key(|d| (d.pos.line, d.pos.column));
        diagnostics.dedup();
        Err(fail(diagnostics))
    }
}

#[cfg(test)]
mod tests;
