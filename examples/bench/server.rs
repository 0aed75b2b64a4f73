//! A release server started as a child process on a free loopback port, and what /proc says
//! about it (resident memory, CPU time). Only servers started here are stopped, by PID.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::Conn;

/// Kernel clock ticks per second in /proc/*/stat (USER_HZ, 100 on every Linux we run on).
const TICKS_PER_SECOND: f64 = 100.0;

/// How to start a server: which binary, which database, and extra environment.
#[derive(Clone)]
pub struct Launch {
    pub bin: PathBuf,
    pub database_url: String,
    pub master_key: String,
    /// `VAR=value` pairs for the server only (e.g. `RUST_LOG=warn`).
    pub env: Vec<(String, String)>,
    /// Where the server's stderr (its log) goes.
    pub log: PathBuf,
}

pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub pid: u32,
    log: PathBuf,
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    pub async fn start(launch: &Launch) -> Result<Self> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::fs::File::create(&launch.log)
            .with_context(|| format!("cannot create {}", launch.log.display()))?;
        let child = Command::new(&launch.bin)
            .arg("serve")
            .env("TESSERA_DATABASE_URL", &launch.database_url)
            .env("TESSERA_MASTER_KEY", &launch.master_key)
            .env("TESSERA_BIND", addr.to_string())
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", launch.bin.display()))?;
        let mut server = Self {
            pid: child.id(),
            child: Some(child),
            addr,
            log: launch.log.clone(),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Waits up to 30 s for `GET /readyz` to answer 200 (a first start generates keys).
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the server exited ({status}); its log:\n{}",
                    self.log_tail(20)
                );
            }
            if let Ok(mut conn) = Conn::open(self.addr).await
                && let Ok(answer) = conn.get("/readyz", &[]).await
                && answer.status.is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the server did not become ready on {}; its log:\n{}",
            self.addr,
            self.log_tail(20)
        )
    }

    /// A `VmRSS` / `VmHWM` … line of /proc/PID/status, in KiB.
    pub fn memory_kib(&self, key: &str) -> Result<u64> {
        proc_status_kib(self.pid, key)
    }

    /// User + system CPU ticks the server has used so far.
    pub fn cpu_ticks(&self) -> Result<u64> {
        process_ticks(&format!("/proc/{}/stat", self.pid))
    }

    /// The last `n` lines of the server's log, colours stripped.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        strip_ansi(&lines[start..].join("\n"))
    }

    /// SIGTERM, then waits: the server drains and flushes its log on the way out. Returns the
    /// log's WARN and ERROR lines (at most 20).
    pub fn stop(mut self) -> Result<Vec<String>> {
        self.terminate()?;
        let text = strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default());
        Ok(text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .take(20)
            .map(str::to_owned)
            .collect())
    }

    fn terminate(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_child(&child);
            rustix::process::kill_process(pid, rustix::process::Signal::TERM)
                .context("cannot signal the server")?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A run that failed half-way must not leave its server behind.
        let _ = self.terminate();
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn proc_status_kib(pid: u32, key: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// utime + stime (fields 14 and 15) of a /proc/…/stat file.
fn process_ticks(path: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(path)?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("field {n} of {path}"))
    };
    Ok(field(14)? + field(15)?)
}

/// (busy, total) jiffies of the whole machine, summed over its CPUs.
fn machine_ticks() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let cpu = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or_default();
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    Ok((busy, busy + get(3) + get(4)))
}

/// CPU use over a measured run, in % of one core: the server, this program (the load
/// generator) and everything else on the machine.
#[derive(Clone, Copy, Default)]
pub struct CpuShare {
    pub server: f64,
    pub generator: f64,
    pub other: f64,
}

impl CpuShare {
    pub fn cell(&self) -> String {
        format!(
            "{:.0} / {:.0} / {:.0}",
            self.server, self.generator, self.other
        )
    }
}

pub struct CpuWindow {
    server_pid: u32,
    server: u64,
    generator: u64,
    machine: (u64, u64),
    started: Instant,
}

impl CpuWindow {
    pub fn start(server: &Server) -> Result<Self> {
        Ok(Self {
            server_pid: server.pid,
            server: server.cpu_ticks()?,
            generator: process_ticks("/proc/self/stat")?,
            machine: machine_ticks()?,
            started: Instant::now(),
        })
    }

    pub fn finish(self) -> Result<CpuShare> {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let server = process_ticks(&format!("/proc/{}/stat", self.server_pid))? - self.server;
        let generator = process_ticks("/proc/self/stat")? - self.generator;
        let (busy, total) = machine_ticks()?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let pct = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds * 100.0;
        let machine_busy = (busy - self.machine.0) as f64
            / ((total - self.machine.1) as f64).max(1.0)
            * cpus
            * 100.0;
        let (server, generator) = (pct(server), pct(generator));
        Ok(CpuShare {
            server,
            generator,
            other: (machine_busy - server - generator).max(0.0),
        })
    }
}

/// Samples the server's VmRSS every 100 ms on its own thread; `stop` gives the largest seen.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(server: &Server) -> Self {
        let (stop, max) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let pid = server.pid;
        let thread = std::thread::spawn({
            let (stop, max) = (stop.clone(), max.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(kib) = proc_status_kib(pid, "VmRSS") {
                        max.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Self {
            stop,
            max,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.max.load(Ordering::Relaxed)
    }
}

/// The 1, 5 and 15 minute load averages, as "a/b/c".
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join("/")
}

/// "N CPUs, model, kernel, memory" for the summary.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let memory = proc_meminfo_kib("MemTotal").unwrap_or_default() as f64 / 1_048_576.0;
    format!(
        "{} CPUs, {model}, kernel {}, {memory:.0} GiB",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel.trim()
    )
}

fn proc_meminfo_kib(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether `path` is an executable file.
pub fn check_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{} is missing (build it first)", path.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        bail!("{} is not an executable", path.display());
    }
    Ok(())
}
