//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! cargo-fuzz targets run (`fuzz/checks.rs`), on stable Rust and without libFuzzer. A missing or
//! empty corpus directory fails, so this can never pass by running nothing.
//!
//! Fuzzing itself (minutes per target, outside CI), from the repository root:
//! `cargo fuzz run <target> --sanitizer none` (see fuzz/README.md).

// A test binary: a failed expect is a failed test, with its message.
#![allow(clippy::expect_used)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} is missing: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("corpus directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "corpus directory {} is empty",
        dir.display()
    );
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus inputs failed:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn form_body() {
    replay("form_body", checks::form_body);
}

#[test]
fn basic_credentials() {
    replay("basic_credentials", checks::basic_credentials);
}

#[test]
fn redirect_uri() {
    replay("redirect_uri", checks::redirect_uri);
}

#[test]
fn scope() {
    replay("scope", checks::scope);
}

#[test]
fn pkce() {
    replay("pkce", checks::pkce);
}

#[test]
fn jwt() {
    replay("jwt", checks::jwt);
}

#[test]
fn client_ip() {
    replay("client_ip", checks::client_ip);
}
