//! The verifier against a real Tessera started in-process (and, for sender-constrained tokens
//! Tessera does not issue yet, against a small JWKS server of the tests' own), each behind a
//! real axum service on an ephemeral port.

// A test binary: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod algorithms;
mod bound;
mod exchange;
mod hostile;
mod issuer;
mod keys;
mod mtls;
mod readme;
mod support;
mod tokens;
