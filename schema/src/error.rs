//! Schema file errors: each with a position in the file, what is wrong and how to mend it.

use std::{fmt, path::PathBuf};

pub use async_graphql::parser::Pos;

/// One problem in the schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Everything wrong with one schema file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SchemaErrors {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.diagnostics.len();
        writeln!(
            f,
            "{} error{} in {}",
            count,
            if count == 1 { "" } else { "s" },
            self.file.display()
        )?;
        for d in &self.diagnostics {
            writeln!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                d.pos.line,
                d.pos.column,
                d.message
            )?;
            if let Some(help) = &d.help {
                writeln!(f, "  help: {help}")?;
            }
        }
        Ok(())
    }
}

/// Why a schema could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The io error is part of the message, not a `source`: error chains (`{:#}`) would
    /// print it twice.
    #[error("cannot read schema file {file}: {error}")]
    Read {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] SchemaErrors),
    #[error("the config overrides source `{name}`, which the schema does not declare (its sources: {})", known.join(", "))]
    UnknownSource { name: String, known: Vec<String> },
    #[error("cannot build the schema: {0}")]
    Build(String),
}
