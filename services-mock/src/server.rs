//! Serving one service: its router with the shared layers, bound to an address.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Json, Router, middleware, routing::get};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{
    ServiceKind,
    data::Store,
    http::{
        access_log, error,
        faults::{FaultConfig, Faults},
        stats::{self, RequestStats},
    },
    openapi,
    services::{self, ServiceState},
    shutdown::{self, ShutdownTrigger},
};

/// How long `stop` waits for open requests before cutting them off.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The router of one service, with its counters, fault knobs and access log.
pub fn router(state: ServiceState) -> Router {
    let endpoints = services::endpoints(state.kind);
    let document = Arc::new(openapi::document(state.kind, &endpoints));
    let mut router = Router::new();
    for endpoint in endpoints {
        router = router.route(endpoint.path, endpoint.handler);
    }
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .fallback(error::no_route)
        // Innermost first: faults act on the handler alone, so a faulted request is still
        // counted and logged like any other.
        .layer(middleware::from_fn_with_state(
            (state.faults.clone(), state.shutdown.clone()),
            crate::http::faults::inject_faults,
        ))
        .layer(middleware::from_fn_with_state(
            state.stats.clone(),
            stats::count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.kind,
            access_log::log_request,
        ))
        .with_state(state)
}

/// A service running on its own listener. Dropping it stops it at once.
#[derive(Debug)]
pub struct RunningService {
    kind: ServiceKind,
    addr: SocketAddr,
    trigger: ShutdownTrigger,
    task: JoinHandle<io::Result<()>>,
}

/// Starts `kind` on `addr` (port 0 picks a free port) over `store`.
pub async fn start_service(
    kind: ServiceKind,
    addr: SocketAddr,
    store: Arc<Store>,
    faults: FaultConfig,
) -> io::Result<RunningService> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (trigger, shutdown) = shutdown::channel();
    let state = ServiceState {
        kind,
        store,
        stats: Arc::new(RequestStats::default()),
        faults: Arc::new(Faults::new(faults)),
        shutdown: shutdown.clone(),
    };
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.wait_owned())
            .await
    });
    tracing::info!(service = kind.name(), %addr, "service listening");
    Ok(RunningService {
        kind,
        addr,
        trigger,
        task,
    })
}

impl RunningService {
    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, ends streams and hung requests, and waits briefly for the rest.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        if tokio::time::timeout(STOP_GRACE, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }

    /// Resolves when the server ends on its own (it only does on an accept error).
    pub async fn wait(&mut self) -> io::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(io::Error::other(join)),
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        self.trigger.trigger();
        self.task.abort();
    }
}
