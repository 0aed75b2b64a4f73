//! The `tessera` binary as a child process: a command that inherits none of the test's Tessera
//! configuration, and a running server whose output lines are read as they come.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `cmd` with no Tessera setting inherited from the test's environment (`TESSERA_*`,
/// `DATABASE_URL`, `RUST_LOG`): the child sees only what the test sets on it.
pub fn clean(mut cmd: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env_remove("DATABASE_URL").env_remove("RUST_LOG");
    cmd
}

/// `tessera <args>` (the binary this test run built), with no inherited Tessera configuration.
pub fn tessera(args: &[&str]) -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_tessera")));
    cmd.args(args);
    cmd
}

/// A running `tessera serve` (or any child), killed on drop if a test fails before stopping it.
pub struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `cmd` reading its stderr (stdout is discarded).
    pub fn start(mut cmd: Command) -> Self {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera serve");
        Self::reading(child)
    }

    /// Starts `cmd` with no stdin, reading every line it prints on stdout and stderr.
    pub fn start_all_output(mut cmd: Command) -> Self {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera serve");
        Self::reading(child)
    }

    fn reading(mut child: Child) -> Self {
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            forward_lines(stdout, tx.clone());
        }
        let stderr = child.stderr.take().expect("piped stderr");
        forward_lines(stderr, tx);
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to 20 s) for a line for which `find` returns a value.
    pub fn wait_for<T>(&mut self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = find(&line);
                    self.seen.push(line);
                    if let Some(v) = found {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no {what} in the output; exit status {:?}; output so far:\n{}",
                    self.child.try_wait(),
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits (up to 20 s) for the `listening` event; returns its address.
    pub fn wait_for_address(&mut self) -> String {
        self.wait_for("listening event", listening_addr)
    }

    /// Sends SIGTERM and waits (up to 10 s) for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tessera did not exit within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line received until the streams close (after the process exited).
    pub fn rest_of_output(&mut self) -> Vec<String> {
        self.drain();
        self.seen.clone()
    }

    fn drain(&mut self) {
        // The readers end at end of file; then the channel disconnects.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
    }

    /// Sends SIGTERM, expects a clean exit and returns every line read.
    pub fn stop(mut self) -> Vec<String> {
        let status = self.terminate();
        assert!(status.success(), "exit status after SIGTERM: {status}");
        self.drain();
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Keeps draining `stream` for the life of the process, so that it never blocks on a full pipe.
fn forward_lines(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
}

/// The address of the `listening` event, in the JSON or the text log format.
pub fn listening_addr(line: &str) -> Option<String> {
    if let Ok(event) = serde_json::from_str::<serde_json::Value>(line) {
        return (event["fields"]["message"] == "listening")
            .then(|| event["fields"]["addr"].as_str().map(str::to_owned))
            .flatten();
    }
    if !line.contains(" listening ") {
        return None;
    }
    let rest = line.split(" addr=").nth(1)?;
    Some(rest.split_whitespace().next()?.to_owned())
}

/// The port in the hint `serve` prints while no client exists.
pub fn listen_port(line: &str) -> Option<u16> {
    let rest = line.split("Tessera listens on http://127.0.0.1:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
