//! The four services' routes, each an [`Endpoint`] list, plus the control routes they share.

pub mod control;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod users;

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    ServiceKind,
    data::Store,
    http::{faults::Faults, stats::RequestStats},
    openapi::Endpoint,
    shutdown::Shutdown,
};

/// Everything a service's handlers may use; handlers take the part they need.
#[derive(Clone)]
pub struct ServiceState {
    pub kind: ServiceKind,
    pub store: Arc<Store>,
    pub stats: Arc<RequestStats>,
    pub faults: Arc<Faults>,
    pub shutdown: Shutdown,
}

impl FromRef<ServiceState> for Arc<Store> {
    fn from_ref(state: &ServiceState) -> Self {
        state.store.clone()
    }
}

impl FromRef<ServiceState> for Arc<RequestStats> {
    fn from_ref(state: &ServiceState) -> Self {
        state.stats.clone()
    }
}

impl FromRef<ServiceState> for Arc<Faults> {
    fn from_ref(state: &ServiceState) -> Self {
        state.faults.clone()
    }
}

impl FromRef<ServiceState> for Shutdown {
    fn from_ref(state: &ServiceState) -> Self {
        state.shutdown.clone()
    }
}

impl FromRef<ServiceState> for ServiceKind {
    fn from_ref(state: &ServiceState) -> Self {
        state.kind
    }
}

/// The client-facing routes of `kind`, followed by the control routes every service has.
pub fn endpoints(kind: ServiceKind) -> Vec<Endpoint<ServiceState>> {
    let mut endpoints = match kind {
        ServiceKind::Users => users::endpoints(),
        ServiceKind::Orders => orders::endpoints(),
        ServiceKind::Payments => payments::endpoints(),
        ServiceKind::Notifications => notifications::endpoints(),
    };
    endpoints.extend(control::endpoints());
    endpoints
}
