//! A REST service that records every request it receives and answers from a closure: for
//! tests that must see exactly what the gateway sent, or must answer something odd.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::Request,
    http::{HeaderValue, StatusCode},
    response::IntoResponse,
};
use serde_json::Value;

/// One received request: method, the raw path-and-query as it arrived on the wire, and
/// its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: axum::http::HeaderMap,
}

type Responder = dyn Fn(&str) -> (StatusCode, Value) + Send + Sync;

/// The running recorder.
pub struct Recorder {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts on an ephemeral loopback port; `respond` gets the path-and-query.
    pub async fn start(
        respond: impl Fn(&str) -> (StatusCode, Value) + Send + Sync + 'static,
    ) -> Recorder {
        Recorder::start_with_headers(&[], respond).await
    }

    /// Like [`Recorder::start`], with `headers` on every response.
    pub async fn start_with_headers(
        headers: &[(&'static str, &'static str)],
        respond: impl Fn(&str) -> (StatusCode, Value) + Send + Sync + 'static,
    ) -> Recorder {
        let headers: Arc<[(&'static str, &'static str)]> = headers.into();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let respond: Arc<Responder> = Arc::new(respond);
        let log = requests.clone();
        let app = Router::new().fallback(move |request: Request| {
            let log = log.clone();
            let respond = respond.clone();
            let headers = headers.clone();
            async move {
                let uri = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                log.lock().expect("not poisoned").push(Recorded {
                    method: request.method().to_string(),
                    uri: uri.clone(),
                    headers: request.headers().clone(),
                });
                let (status, body) = respond(&uri);
                let mut response = (status, Json(body)).into_response();
                for (name, value) in headers.iter() {
                    response
                        .headers_mut()
                        .insert(*name, HeaderValue::from_static(value));
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A gateway serving `schema`, in which `RECORDER` stands for this recorder's URL.
    pub async fn gateway(&self, schema: &str) -> switchyard::RunningGateway {
        self.gateway_with(schema, |_| {}).await
    }

    /// Like [`Recorder::gateway`], with `change` applied to the config first.
    pub async fn gateway_with(
        &self,
        schema: &str,
        change: impl FnOnce(&mut switchyard::config::Config),
    ) -> switchyard::RunningGateway {
        let mut config = switchyard::config::Config::default();
        change(&mut config);
        config.server.listen = "127.0.0.1:0".parse().expect("an address");
        let schema = schema.replace("RECORDER", &self.url());
        switchyard::start_from_sdl(&config, std::path::Path::new("t.graphql"), &schema)
            .await
            .expect("starts")
    }

    /// POSTs a GraphQL request body to `gateway`.
    pub async fn post(gateway: &switchyard::RunningGateway, body: &Value) -> crate::Reply {
        let response = crate::client()
            .post(format!("{}/graphql", gateway.url()))
            .json(body)
            .send()
            .await
            .expect("answers");
        crate::reply(response).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("not poisoned").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
