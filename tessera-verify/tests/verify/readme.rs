//! The README's example of this crate is the example program the build compiles.

#[test]
fn the_readme_example_is_the_compiled_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = readme
        .split_once("## Verifying tokens in your services\n")
        .expect("the README section")
        .1;
    let block = section
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .expect("a rust block in the section")
        .0;
    let example = std::fs::read_to_string(root.join("examples/protected_service.rs")).unwrap();
    assert_eq!(block, example);
}
