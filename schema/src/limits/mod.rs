//! Query limits: documents too large, too deep, too costly or too wide are refused before
//! they are validated or run (by the engine's extension, [`crate::extension`]), so an attack query costs a scan
//! and a parse, and no service call. Each rule has its own error code.

mod analyze;
mod tokens;

use async_graphql::{ServerError, Variables, parser::types::ExecutableDocument};

pub use analyze::{Shapes, Summary, analyze};
pub use tokens::count_tokens;

use crate::model::Graph;

/// The limits; 0 turns a rule off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Bytes of the query text, checked before anything else.
    pub max_document_bytes: usize,
    /// Lexical tokens of the query text, counted before parsing.
    pub max_tokens: usize,
    pub max_depth: usize,
    pub max_cost: u64,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// The size assumed for a list field without a slicing argument or default.
    pub default_list_size: u64,
    /// Arguments that bound a list field's size.
    pub slicing_arguments: Vec<String>,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_document_bytes: 32 * 1024,
            max_tokens: 5_000,
            max_depth: 15,
            max_cost: 20_000,
            max_aliases: 30,
            max_root_fields: 20,
            default_list_size: 10,
            slicing_arguments: vec!["first".to_owned(), "last".to_owned(), "limit".to_owned()],
        }
    }
}

/// A broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    DocumentTooLarge { limit: u64, actual: u64 },
    TooManyTokens { limit: u64 },
    TooDeep { limit: u64, actual: u64 },
    TooCostly { limit: u64, actual: u64 },
    TooManyAliases { limit: u64, actual: u64 },
    TooManyRootFields { limit: u64, actual: u64 },
}

impl Violation {
    /// The stable error code (`extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Violation::DocumentTooLarge { .. } => "QUERY_TOO_LARGE",
            Violation::TooManyTokens { .. } => "TOO_MANY_TOKENS",
            Violation::TooDeep { .. } => "QUERY_TOO_DEEP",
            Violation::TooCostly { .. } => "QUERY_TOO_COSTLY",
            Violation::TooManyAliases { .. } => "TOO_MANY_ALIASES",
            Violation::TooManyRootFields { .. } => "TOO_MANY_ROOT_FIELDS",
        }
    }

    fn message(&self) -> String {
        match self {
            Violation::DocumentTooLarge { limit, actual } => {
                format!("the query is {actual} bytes, over the limit of {limit}")
            }
            Violation::TooManyTokens { limit } => {
                format!("the query has more than {limit} tokens")
            }
            Violation::TooDeep { limit, actual } => {
                format!("the query is {actual} levels deep, over the limit of {limit}")
            }
            Violation::TooCostly { limit, actual } => {
                format!("the query's estimated cost is {actual}, over the limit of {limit}")
            }
            Violation::TooManyAliases { limit, actual } => {
                format!("the query uses {actual} aliases, over the limit of {limit}")
            }
            Violation::TooManyRootFields { limit, actual } => {
                format!("the query asks {actual} root fields, over the limit of {limit}")
            }
        }
    }

    fn limit_and_actual(&self) -> (u64, Option<u64>) {
        match *self {
            Violation::TooManyTokens { limit } => (limit, None),
            Violation::DocumentTooLarge { limit, actual }
            | Violation::TooDeep { limit, actual }
            | Violation::TooCostly { limit, actual }
            | Violation::TooManyAliases { limit, actual }
            | Violation::TooManyRootFields { limit, actual } => (limit, Some(actual)),
        }
    }

    pub fn into_error(self) -> ServerError {
        let mut error = ServerError::new(self.message(), None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", self.code());
        let (limit, actual) = self.limit_and_actual();
        extensions.set("limit", limit);
        if let Some(actual) = actual {
            extensions.set("actual", actual);
        }
        error.extensions = Some(extensions);
        error
    }
}

fn over(limit: u64, actual: u64) -> bool {
    limit > 0 && actual > limit
}

/// What checking a document found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The highest estimated cost of the document's operations.
    pub cost: u64,
    /// Every operation reads only data that is the same for every caller.
    pub public: bool,
}

/// The limits, ready to check documents of one graph.
#[derive(Debug)]
pub struct Limiter {
    limits: QueryLimits,
    shapes: Shapes,
}

impl Limiter {
    pub fn new(limits: QueryLimits, graph: &Graph) -> Limiter {
        let shapes = Shapes::new(graph, &limits.slicing_arguments, limits.default_list_size);
        Limiter { limits, shapes }
    }

    /// The checks on the raw text, before parsing.
    pub fn check_text(&self, query: &str) -> Result<(), Violation> {
        let limits = &self.limits;
        if over(limits.max_document_bytes as u64, query.len() as u64) {
            return Err(Violation::DocumentTooLarge {
                limit: limits.max_document_bytes as u64,
                actual: query.len() as u64,
            });
        }
        if limits.max_tokens > 0 && count_tokens(query, limits.max_tokens) > limits.max_tokens {
            return Err(Violation::TooManyTokens {
                limit: limits.max_tokens as u64,
            });
        }
        Ok(())
    }

    /// The checks on the parsed document; on success, the highest cost of its operations
    /// and whether all of them read only public data.
    pub fn check_document(
        &self,
        document: &ExecutableDocument,
        variables: &Variables,
    ) -> Result<Checked, Violation> {
        let limits = &self.limits;
        let mut cost = 0;
        let mut public = true;
        for summary in analyze(&self.shapes, document, variables) {
            if over(limits.max_root_fields as u64, summary.fields as u64) {
                return Err(Violation::TooManyRootFields {
                    limit: limits.max_root_fields as u64,
                    actual: summary.fields as u64,
                });
            }
            if over(limits.max_aliases as u64, summary.aliases as u64) {
                return Err(Violation::TooManyAliases {
                    limit: limits.max_aliases as u64,
                    actual: summary.aliases as u64,
                });
            }
            if over(limits.max_depth as u64, summary.depth as u64) {
                return Err(Violation::TooDeep {
                    limit: limits.max_depth as u64,
                    actual: summary.depth as u64,
                });
            }
            if over(limits.max_cost, summary.cost) {
                return Err(Violation::TooCostly {
                    limit: limits.max_cost,
                    actual: summary.cost,
                });
            }
            cost = cost.max(summary.cost);
            public &= summary.public;
        }
        Ok(Checked { cost, public })
    }
}

#[cfg(test)]
mod tests;
