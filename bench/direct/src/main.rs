//! `switchyard-direct`: the benchmark's floor. For each scenario it makes the fewest REST
//! calls that can answer it, as concurrently as their dependencies allow, and writes the
//! same JSON the gateway returns. It knows its queries by operation name and parses no
//! GraphQL: whatever the gateway spends beyond this is the gateway's own cost.

mod scenarios;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};

/// The direct baseline server of `bench/run`.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:4190")]
    listen: SocketAddr,
    #[arg(long, default_value = "http://127.0.0.1:4101")]
    users: String,
    #[arg(long, default_value = "http://127.0.0.1:4102")]
    orders: String,
    #[arg(long, default_value = "http://127.0.0.1:4103")]
    payments: String,
    #[arg(long, default_value = "http://127.0.0.1:4104")]
    notifications: String,
}

/// The services' base URLs and one pooled HTTP client.
pub struct Upstreams {
    pub client: reqwest::Client,
    pub users: String,
    pub orders: String,
    pub payments: String,
    pub notifications: String,
}

impl Upstreams {
    /// GET `base` + `path_and_query` as JSON.
    pub async fn get(&self, base: &str, path_and_query: &str) -> anyhow::Result<Value> {
        let url = format!("{base}{path_and_query}");
        let response = self.client.get(&url).send().await?.error_for_status()?;
        Ok(response.json().await?)
    }

    /// POST a JSON body to `base` + `path`.
    pub async fn post(&self, base: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{base}{path}");
        let response = self
            .client
            .post(&url)
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    operation_name: Option<String>,
    #[serde(default)]
    variables: Value,
}

async fn graphql(
    State(upstreams): State<Arc<Upstreams>>,
    Json(request): Json<Request>,
) -> Response {
    let name = request.operation_name.as_deref().unwrap_or("");
    match scenarios::run(&upstreams, name, &request.variables).await {
        Ok(data) => Json(json!({ "data": data })).into_response(),
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "errors": [{ "message": format!("{error:#}") }] })),
        )
            .into_response(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let upstreams = Arc::new(Upstreams {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        users: args.users,
        orders: args.orders,
        payments: args.payments,
        notifications: args.notifications,
    });
    let app = Router::new()
        .route("/graphql", post(graphql))
        .with_state(upstreams);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    axum::serve(listener, app).await?;
    Ok(())
}
