//! Tessera: an OAuth 2.0 / OpenID Connect authorization server.

pub mod app;
pub mod auditor;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod log_writer;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod oidc;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod terminal;
pub mod tls;

pub use app::App;
pub use clock::{SystemClock, TestClock};
pub use config::Config;
