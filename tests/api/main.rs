//! All integration tests in one binary: each test starts the real server on an ephemeral port
//! against its own database.

// A test binary: a failed unwrap or expect is a failed test, with its message, in the shared
// helpers as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The 80-line rule is for the server's functions; a scenario test reads top to bottom.
#![allow(clippy::too_many_lines)]

mod access_tokens;
mod admin_api;
mod audit;
mod authorize;
mod bad_input;
mod browser;
mod cache;
mod claims;
mod cli;
mod client_policy;
mod connections;
mod console;
mod deploy;
mod errors;
mod flood;
mod headers;
mod helpers;
mod identity;
mod introspection;
mod keys;
mod limits;
mod logout;
mod logs;
mod metrics;
mod otel;
mod pages;
mod pages_read;
mod readme;
mod refresh;
mod rewrap;
mod sessions;
mod signin;
mod tls;
mod token_check;
mod tokens;
mod used_jtis;
mod users;
