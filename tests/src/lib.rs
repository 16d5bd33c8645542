//! The testkit: boots the demo services (and the gateway) in-process on ephemeral loopback
//! ports and talks to them over real HTTP.

#![forbid(unsafe_code)]

pub mod recorder;
pub mod redis;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
pub use switchyard_mock::ServiceKind;
use switchyard_mock::{ClusterConfig, DatasetSize, FaultConfig, MockCluster};

/// Every request a test makes gives up after this long, so a bug cannot hang the suite.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON HTTP client with a bounded timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("the HTTP client builds")
}

/// A status and a JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Builds the services to start.
#[derive(Debug, Clone)]
pub struct ServicesBuilder {
    config: ClusterConfig,
}

impl ServicesBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    pub fn size(mut self, size: DatasetSize) -> Self {
        self.config.size = size;
        self
    }

    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.config.faults = faults;
        self
    }

    pub fn only(mut self, kinds: &[ServiceKind]) -> Self {
        self.config.services = kinds.to_vec();
        self
    }

    pub async fn start(self) -> Services {
        let cluster = MockCluster::start(self.config)
            .await
            .expect("the mock services start");
        Services {
            cluster,
            client: client(),
        }
    }
}

/// The demo services, running on ephemeral ports.
pub struct Services {
    pub cluster: MockCluster,
    pub client: reqwest::Client,
}

impl Services {
    /// All four services, the full demo data set, seed 42.
    pub fn builder() -> ServicesBuilder {
        ServicesBuilder {
            config: ClusterConfig::ephemeral(),
        }
    }

    pub async fn start() -> Services {
        Services::builder().start().await
    }

    pub fn url(&self, kind: ServiceKind) -> String {
        self.cluster.url(kind).expect("the service runs")
    }

    /// Sends `method` to `path` of `kind`, with a JSON body when given.
    pub async fn call(
        &self,
        kind: ServiceKind,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url(kind)));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service answers");
        reply(response).await
    }

    pub async fn get(&self, kind: ServiceKind, path: &str) -> Reply {
        self.call(kind, Method::GET, path, None).await
    }

    pub async fn post(&self, kind: ServiceKind, path: &str, body: Value) -> Reply {
        self.call(kind, Method::POST, path, Some(body)).await
    }

    /// A gateway serving `schema` over these services, with `config` (its listen address
    /// and the sources' URLs are set here).
    pub async fn gateway(
        &self,
        schema: &str,
        mut config: switchyard::config::Config,
    ) -> switchyard::RunningGateway {
        config.server.listen = "127.0.0.1:0".parse().expect("an address");
        for kind in ServiceKind::ALL {
            let declared = schema.contains(&format!("name: \"{}\"", kind.name()));
            if let Some(url) = self.cluster.url(kind).filter(|_| declared) {
                let entry = config.sources.entry(kind.name().to_owned()).or_default();
                entry.url = Some(url);
            }
        }
        switchyard::start_from_sdl(&config, std::path::Path::new("test.graphql"), schema)
            .await
            .expect("the gateway starts")
    }

    /// The service's `/__stats`.
    pub async fn stats(&self, kind: ServiceKind) -> Value {
        self.get(kind, "/__stats").await.body
    }

    /// Requests counted by `kind` since the last reset.
    pub async fn total_requests(&self, kind: ServiceKind) -> u64 {
        self.stats(kind).await["total"]
            .as_u64()
            .expect("total is a number")
    }

    /// Zeroes every service's counters.
    pub async fn reset_stats(&self) {
        for kind in ServiceKind::ALL {
            if self.cluster.service(kind).is_some() {
                let reply = self.call(kind, Method::POST, "/__stats/reset", None).await;
                assert_eq!(reply.status, StatusCode::OK);
            }
        }
    }

    /// Changes the fault knobs of `kind` through `POST /__faults`.
    pub async fn set_faults(&self, kind: ServiceKind, faults: Value) -> Reply {
        self.post(kind, "/__faults", faults).await
    }
}

/// Reads a response into a [`Reply`].
/// The value of `series` in a Prometheus text exposition.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("the body arrives");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// The services plus a gateway serving a schema over them.
pub struct Stack {
    pub services: Services,
    pub gateway: switchyard::RunningGateway,
    pub client: reqwest::Client,
}

/// Builds a [`Stack`].
pub struct StackBuilder {
    services: ServicesBuilder,
    schema: String,
    config: switchyard::config::Config,
}

impl StackBuilder {
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = schema.to_owned();
        self
    }

    pub fn services(mut self, services: ServicesBuilder) -> Self {
        self.services = services;
        self
    }

    /// Changes the gateway config before start (the sources are pointed at the services).
    pub fn config(mut self, change: impl FnOnce(&mut switchyard::config::Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Every request makes its own upstream calls: for tests that count one request's
    /// calls while others run (coalescing would share them). After [`StackBuilder::schema`].
    pub fn without_coalescing(self) -> Self {
        let declared: Vec<ServiceKind> = ServiceKind::ALL
            .into_iter()
            .filter(|kind| self.schema.contains(&format!("name: \"{}\"", kind.name())))
            .collect();
        self.config(|config| {
            for kind in declared {
                config
                    .sources
                    .entry(kind.name().to_owned())
                    .or_default()
                    .coalesce = Some(false);
            }
        })
    }

    pub async fn start(self) -> Stack {
        let services = self.services.start().await;
        let gateway = services.gateway(&self.schema, self.config).await;
        Stack {
            services,
            gateway,
            client: client(),
        }
    }
}

impl Stack {
    /// The four services and a gateway serving the demo shop schema.
    pub fn builder() -> StackBuilder {
        StackBuilder {
            services: Services::builder(),
            schema: switchyard_schema::SHOP_SCHEMA.to_owned(),
            config: switchyard::config::Config::default(),
        }
    }

    pub async fn start() -> Stack {
        Stack::builder().start().await
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.gateway.url())
    }

    /// POSTs a GraphQL request with extra headers.
    pub async fn graphql_with(&self, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.post(self.graphql_url()).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send().await.expect("the gateway answers")).await
    }

    /// POSTs `query` with no variables.
    pub async fn query(&self, query: &str) -> Reply {
        self.graphql_with(serde_json::json!({ "query": query }), &[])
            .await
    }

    /// GETs `path` of the gateway (`/ready`, `/metrics`) as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(format!("{}{path}", self.gateway.url()))
            .send()
            .await
            .expect("the gateway answers")
            .text()
            .await
            .expect("a body")
    }

    /// The value of one series of the gateway's `/metrics`, named with its labels as
    /// exposed (`switchyard_redis_up`, `switchyard_upstream_retries_total{source="orders"}`).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        metric_value(&self.get_text("/metrics").await, series)
    }

    /// GETs `path` of the gateway as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let text = self.get_text(path).await;
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"))
    }

    /// Requests per service since the last reset, in [`ServiceKind::ALL`] order.
    pub async fn upstream_counts(&self) -> [u64; 4] {
        let mut counts = [0; 4];
        for (i, kind) in ServiceKind::ALL.into_iter().enumerate() {
            counts[i] = self.services.total_requests(kind).await;
        }
        counts
    }
}

/// The dashboard query of the schema engine issue.
pub const DASHBOARD: &str = "{ user(id: 7) { name orders(first: 10) { total payment { status } } unreadNotificationCount notifications(first: 5) { message } } }";
