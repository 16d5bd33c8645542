//! End-to-end tests over real HTTP on loopback, one module per feature.

mod deploy_compose;
mod engine_cache;
mod engine_coalesce;
mod engine_dashboard;
mod engine_dedup;
mod engine_failures;
mod engine_http;
mod engine_joins;
mod engine_planned;
mod engine_templates;
mod gateway_lifecycle;
mod graphiql_browser;
mod mock_control;
mod mock_notifications;
mod mock_openapi;
mod mock_orders;
mod mock_payments;
mod mock_users;
mod resilience;
mod security_auth;
mod security_http;
mod security_ratelimit;
mod security_requests;
mod shared_redis;
mod subscriptions;
mod telemetry_metrics;
