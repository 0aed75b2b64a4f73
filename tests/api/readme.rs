//! The README's shell examples run as written: every ```sh block after the first is run, in
//! order, by bash in one directory beside a `tessera serve` started there (as the quickstart
//! says: the server in one shell, the commands in another), with `./target/release/tessera`
//! being the binary under test. Only the port differs: the server listens on an ephemeral one.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::helpers::process::{self, Server, listen_port};

/// The ```sh blocks of a Markdown text, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block in the README");
    blocks
}

/// A command in `dir` with no Tessera setting inherited from the test's environment.
fn clean(cmd: Command, dir: &Path) -> Command {
    let mut cmd = process::clean(cmd);
    cmd.current_dir(dir);
    cmd
}

#[tokio::test]
async fn the_readme_shell_examples_run_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let blocks = shell_blocks(&readme);
    // The first screen: running the server (started below the same way, from its binary) and
    // the test suite (this very run).
    let first: Vec<&str> = blocks[0].lines().collect();
    assert_eq!(
        first.len(),
        2,
        "the first screen has two commands: {first:?}"
    );
    assert!(first[0].starts_with("cargo run --release "), "{first:?}");
    assert!(first[1].starts_with("scripts/test "), "{first:?}");
    assert!(
        blocks.len() >= 4,
        "quickstart, sign-in and admin API examples"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let release = dir.path().join("target").join("release");
    std::fs::create_dir_all(&release).expect("mkdir target/release");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tessera"), release.join("tessera"))
        .expect("symlink the binary");
    let mut serve = clean(Command::new(release.join("tessera")), dir.path());
    serve.env("TESSERA_BIND", "127.0.0.1:0");
    let mut server = Server::start(serve);
    let port = server.wait_for("listen hint", listen_port);
    let addr = format!("127.0.0.1:{port}");

    let script = format!(
        "set -euo pipefail\nshopt -s expand_aliases\n{}\n",
        blocks[1..].join("\n").replace("127.0.0.1:8080", &addr)
    );
    let mut bash = clean(Command::new("bash"), dir.path());
    let out = bash
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's examples failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}\nscript:\n{script}",
        out.status
    );
    // The quickstart ends by introspecting its token; the admin API example searches clients.
    // curl prints no newline after a body, so JSON objects are found wherever they start.
    let answers: Vec<serde_json::Value> = stdout
        .match_indices('{')
        .filter_map(|(at, _)| {
            let mut values = serde_json::Deserializer::from_str(&stdout[at..]).into_iter();
            values.next()?.ok()
        })
        .collect();
    assert!(
        answers
            .iter()
            .any(|a| a["active"] == true && a["aud"] == "https://api.example.com/orders"),
        "the quickstart's token is active: {stdout}"
    );
    assert!(
        answers.iter().any(|a| a["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["name"] == "billing"))),
        "the admin API example finds the billing client: {stdout}"
    );
    // `--password-env TESSERA_PW` works because that variable names no setting: it is ignored,
    // with a warning naming it, and it is the only one.
    let ignored: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("names no setting"))
        .collect();
    assert_eq!(ignored.len(), 1, "{stderr}");
    assert!(ignored[0].contains("variable=TESSERA_PW"), "{stderr}");
}
