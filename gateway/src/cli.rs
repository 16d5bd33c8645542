//! The command line: `serve`, `demo`, `check`, `print-schema`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "A GraphQL gateway over REST services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the graph declared in the schema file.
    Serve(ConfigArgs),
    /// Run the four demo services and the gateway in one process (4001-4004 and 4000).
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Validate the config and the schema file; exit non-zero with readable errors.
    Check(ConfigArgs),
    /// Print the public SDL (routing directives stripped), as introspection shows it.
    PrintSchema(ConfigArgs),
    /// Mint a development token signed with the configured HMAC secret.
    Token(TokenArgs),
    /// Exit 0 when the gateway at `--url` answers its health check (for container health
    /// checks, where there is no shell or curl).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    #[arg(long, default_value = "http://127.0.0.1:4000/health")]
    pub url: String,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The token's subject (`sub`), e.g. a user id.
    #[arg(long)]
    pub sub: String,
    /// A scope to grant; repeat for several.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// How long the token is valid, e.g. `1h`, `30m`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
    /// An extra claim, `name=value` (the value is parsed as JSON when it can be).
    #[arg(long = "claim", value_parser = parse_claim)]
    pub claims: Vec<(String, serde_json::Value)>,
    /// Sign with the demo's secret (tokens for `switchyard demo`) instead of the config's.
    #[arg(long, conflicts_with = "config")]
    pub demo: bool,
    /// The TOML config file whose [[auth.issuers]] holds the secret.
    #[arg(short, long, env = "SWITCHYARD_CONFIG")]
    pub config: Option<PathBuf>,
}

fn parse_claim(text: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: a claim is `name=value`"))?;
    let value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The TOML config file. Without it, defaults and `SWITCHYARD_*` variables apply.
    #[arg(short, long, env = "SWITCHYARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// The schema file, overriding `schema.path` of the config.
    #[arg(short, long)]
    pub schema: Option<PathBuf>,
    /// The listen address, overriding `server.listen` of the config.
    #[arg(short, long)]
    pub listen: Option<SocketAddr>,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The gateway's address; the services take the next four ports.
    #[arg(short, long, default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Export traces over OTLP/HTTP to this collector, e.g. `http://127.0.0.1:4318` (a
    /// Jaeger all-in-one).
    #[arg(long)]
    pub otlp: Option<String>,
}
