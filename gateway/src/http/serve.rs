//! Binding, serving, and stopping with a drain: stop accepting, report not-ready, let
//! in-flight requests finish up to a deadline.

use std::{io, net::SocketAddr, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use super::{AppState, GraphqlState, app};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("the server failed: {0}")]
    Serve(#[source] io::Error),
    #[error("in-flight requests did not finish within {0:?}; exited anyway")]
    DrainTimeout(Duration),
}

/// A gateway serving on its listener.
pub struct RunningGateway {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServeError>>,
    /// The GraphQL side, for reloads.
    graphql: GraphqlState,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Binds `addr` (port 0 picks a free port) and serves `state`'s app until told to stop.
pub async fn start(
    addr: SocketAddr,
    state: AppState,
    drain_timeout: Duration,
) -> Result<RunningGateway, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, mut stopped) = watch::channel(false);
    let readiness = state.readiness.clone();
    let graphql = state.graphql.clone();
    let live = graphql.live.clone();
    let router = app(state);
    let task = tokio::spawn(async move {
        let mut drain_started = stopped.clone();
        let signal = {
            let live = live.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
                readiness.start_draining();
                // Subscriptions never end on their own: end them, so that event streams
                // complete and WebSockets close with "going away".
                live.close_all();
                tracing::info!("draining: no new connections, waiting for in-flight requests");
            }
        };
        // The peer address reaches handlers: the rate limiter tells anonymous clients apart by it.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, service).with_graceful_shutdown(signal);
        let server = std::pin::pin!(server.into_future());
        // Serve until stopped, then give the drain at most `drain_timeout`.
        let mut server = server;
        tokio::select! {
            result = &mut server => return result.map_err(ServeError::Serve),
            _ = drain_started.wait_for(|stop| *stop) => {}
        }
        // Upgraded connections are not the server's to wait for: wait for the sockets too.
        let drained = async {
            let served = server.await;
            live.sockets_closed().await;
            served
        };
        match tokio::time::timeout(drain_timeout, drained).await {
            Ok(result) => result.map_err(ServeError::Serve),
            Err(_) => Err(ServeError::DrainTimeout(drain_timeout)),
        }
    });
    tracing::info!(%addr, "gateway listening");
    Ok(RunningGateway {
        addr,
        stop,
        task,
        graphql,
    })
}

impl RunningGateway {
    /// What requests are served with; [`crate::reload`] replaces its version.
    pub fn state(&self) -> &GraphqlState {
        &self.graphql
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the drain; [`RunningGateway::wait`] resolves when it is over.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Resolves when the server has stopped.
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(ServeError::Serve(io::Error::other(join))),
        }
    }
}
