//! All integration tests in one binary: each test starts the real server on an ephemeral port
//! against its own database.

mod admin_api;
mod audit;
mod authorize;
mod browser;
mod cache;
mod cli;
mod connections;
mod console;
mod deploy;
mod errors;
mod headers;
mod helpers;
mod introspection;
mod keys;
mod limits;
mod logout;
mod logs;
mod metrics;
mod otel;
mod readme;
mod refresh;
mod rewrap;
mod sessions;
mod signin;
mod tls;
mod tokens;
mod users;
