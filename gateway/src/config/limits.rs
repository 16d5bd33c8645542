//! `[limits]`: how big a request may be. Every limit is on by default; 0 turns one off.

use serde::{Deserialize, Serialize};
use switchyard_schema::limits::QueryLimits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Bytes of an HTTP request body (`REQUEST_TOO_LARGE`, HTTP 413).
    #[serde(default = "default_body_bytes")]
    pub max_body_bytes: usize,
    /// Operations in one batched request, a JSON array of requests (`BATCH_TOO_LARGE`).
    /// 0 refuses batches.
    #[serde(default = "default_batch")]
    pub max_batch: usize,
    /// Bytes of the query text (`QUERY_TOO_LARGE`).
    #[serde(default = "default_document_bytes")]
    pub max_document_bytes: usize,
    /// Lexical tokens of the query text, counted before parsing (`TOO_MANY_TOKENS`).
    #[serde(default = "default_tokens")]
    pub max_tokens: usize,
    /// Levels of nested fields (`QUERY_TOO_DEEP`).
    #[serde(default = "default_depth")]
    pub max_depth: usize,
    /// Estimated cost: 1 per object field, times the sizes of the lists above it
    /// (`QUERY_TOO_COSTLY`). See docs/security.md.
    #[serde(default = "default_cost")]
    pub max_cost: u64,
    /// Aliased fields in the operation, fragments expanded (`TOO_MANY_ALIASES`).
    #[serde(default = "default_aliases")]
    pub max_aliases: usize,
    /// Fields at the operation's top level (`TOO_MANY_ROOT_FIELDS`).
    #[serde(default = "default_root_fields")]
    pub max_root_fields: usize,
    /// The size the cost assumes for a list without a slicing argument or default.
    #[serde(default = "default_list_size")]
    pub default_list_size: u64,
    /// Arguments that bound a list's size, for the cost.
    #[serde(default = "default_slicing")]
    pub slicing_arguments: Vec<String>,
}

fn default_body_bytes() -> usize {
    1024 * 1024
}

fn default_batch() -> usize {
    10
}

fn default_document_bytes() -> usize {
    QueryLimits::default().max_document_bytes
}

fn default_tokens() -> usize {
    QueryLimits::default().max_tokens
}

fn default_depth() -> usize {
    QueryLimits::default().max_depth
}

fn default_cost() -> u64 {
    QueryLimits::default().max_cost
}

fn default_aliases() -> usize {
    QueryLimits::default().max_aliases
}

fn default_root_fields() -> usize {
    QueryLimits::default().max_root_fields
}

fn default_list_size() -> u64 {
    QueryLimits::default().default_list_size
}

fn default_slicing() -> Vec<String> {
    QueryLimits::default().slicing_arguments
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: default_body_bytes(),
            max_batch: default_batch(),
            max_document_bytes: default_document_bytes(),
            max_tokens: default_tokens(),
            max_depth: default_depth(),
            max_cost: default_cost(),
            max_aliases: default_aliases(),
            max_root_fields: default_root_fields(),
            default_list_size: default_list_size(),
            slicing_arguments: default_slicing(),
        }
    }
}

impl LimitsConfig {
    /// The limits the engine checks on each operation.
    pub fn query_limits(&self) -> QueryLimits {
        QueryLimits {
            max_document_bytes: self.max_document_bytes,
            max_tokens: self.max_tokens,
            max_depth: self.max_depth,
            max_cost: self.max_cost,
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
            default_list_size: self.default_list_size,
            slicing_arguments: self.slicing_arguments.clone(),
        }
    }
}
