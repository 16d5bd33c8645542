//! Switchyard's schema engine: a GraphQL SDL file whose directives route every field to a
//! REST call, turned into an executable `async_graphql::dynamic` schema.
//!
//! The pipeline, one module per step:
//! - [`sdl`]: parse the file, collect the directives into a [`model::Graph`], validate it;
//! - [`build`]: register the types and attach a resolver to every field;
//! - [`resolve`]: what a resolver does: project JSON, call REST, join entities;
//! - [`plan`]: the planned executor: a query planned once per text, its fields answered
//!   by walking JSON without a resolver each (async-graphql's executor runs the rest);
//! - [`fetch`]: talking to services: clients per source, batching loader, response cache;
//! - [`live`]: subscriptions' upstream event streams, one connection shared per stream.

#![forbid(unsafe_code)]

pub mod build;
pub mod caller;
pub mod dedup;
pub mod error;
pub mod extension;
pub mod fetch;
pub mod limits;
pub mod live;
pub mod model;
pub mod observe;
pub mod plan;
pub mod resolve;
pub mod sdl;
pub mod template;

pub use build::{Engine, EngineOptions, SourceOverride};
pub use caller::Caller;
pub use error::{Diagnostic, LoadError, SchemaErrors};

/// The demo shop's schema, as shipped in `schema/examples/shop.graphql`.
pub const SHOP_SCHEMA: &str = include_str!("../examples/shop.graphql");
