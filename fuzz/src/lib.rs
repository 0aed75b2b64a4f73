//! The fuzz targets' logic as a library, so that `tests/fuzz_corpus.rs` in the main package can
//! replay the committed corpus with the very same checks on stable Rust.

#[path = "../checks.rs"]
mod checks;

pub use checks::*;
