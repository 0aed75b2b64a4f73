//! Where log lines go: request threads append each formatted line to a shared buffer, and one
//! background thread writes the buffer out when a line has waited [`FLUSH_INTERVAL`] or as soon
//! as [`FLUSH_BYTES`] have built up.
//!
//! Why not `tracing-appender`'s non-blocking writer: it hands every line to its thread through a
//! channel, and its thread drains the channel faster than lines arrive, so nearly every line has
//! to wake it (a futex call and a context switch per request). At full load on two cores that
//! hand-off cost more than formatting the line (BENCHMARKS.md, "Where the time goes"). Here a
//! line costs a mutex and a copy; the thread is woken once per interval or per `FLUSH_BYTES`.
//!
//! Nothing is dropped: a writer that finds [`MAX_PENDING`] bytes already waiting blocks until the
//! thread has written them (the back-pressure of tracing-appender's lossless mode). Dropping the
//! [`FlushGuard`] writes out what is left and stops the thread.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait before it is written out.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// Written out at once when this much is waiting.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// Writers wait when this much has not been written yet (the output is stuck or slow).
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the first line arrives in an empty buffer, when `FLUSH_BYTES` is
    /// reached and at close.
    wake: Condvar,
    /// Signalled after each write-out, for writers waiting on `MAX_PENDING`.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave the buffer half-updated in a way that
        // matters more than losing the log: keep logging.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` handed to the fmt layer.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Writes out what is left and stops the writer thread when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer sending lines to `out` from a background thread, and the guard that flushes it.
pub fn batched<W: Write + Send + 'static>(out: W) -> std::io::Result<(BatchWriter, FlushGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn({
            let shared = shared.clone();
            move || write_out(&shared, out)
        })?;
    Ok((
        BatchWriter {
            shared: shared.clone(),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_out<W: Write>(shared: &Shared, mut out: W) {
    let mut spare = Vec::with_capacity(FLUSH_BYTES);
    loop {
        let mut pending = shared.lock();
        while pending.lines.is_empty() && !pending.closed {
            pending = shared
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // A line is waiting: give others until the deadline to join it.
        let deadline = Instant::now() + FLUSH_INTERVAL;
        while pending.lines.len() < FLUSH_BYTES && !pending.closed {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            pending = shared
                .wake
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut pending.lines, &mut spare);
        let closed = pending.closed;
        drop(pending);
        shared.room.notify_all();
        // A failing stderr has nowhere to report to; the lines are dropped rather than
        // blocking every request behind them.
        let _ = out.write_all(&spare).and_then(|()| out.flush());
        spare.clear();
        if spare.capacity() > 4 * FLUSH_BYTES {
            spare.shrink_to(FLUSH_BYTES);
        }
        if closed && shared.lock().lines.is_empty() {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        self.shared.room.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One formatted line on its way to the buffer.
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let shared = self.0;
        let mut pending = shared.lock();
        while pending.lines.len() >= MAX_PENDING && !pending.closed {
            pending = shared
                .room
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let before = pending.lines.len();
        pending.lines.extend_from_slice(line);
        let after = pending.lines.len();
        drop(pending);
        if before == 0 || (before < FLUSH_BYTES && after >= FLUSH_BYTES) {
            shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read while the writer holds it.
    #[derive(Clone, Default)]
    struct Output(Arc<Mutex<Vec<u8>>>);

    impl Write for Output {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("output").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Output {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("output").clone()).expect("utf-8")
        }
    }

    #[test]
    fn a_line_is_written_within_the_interval_and_everything_at_drop() {
        let out = Output::default();
        let (writer, guard) = batched(out.clone()).expect("writer");
        writer.make_writer().write_all(b"first\n").expect("write");
        let deadline = Instant::now() + Duration::from_secs(5);
        while out.text().is_empty() {
            assert!(Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(out.text(), "first\n");
        writer.make_writer().write_all(b"second\n").expect("write");
        drop(guard);
        assert_eq!(out.text(), "first\nsecond\n");
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_and_none_is_lost() {
        let out = Output::default();
        let (writer, guard) = batched(out.clone()).expect("writer");
        std::thread::scope(|s| {
            for t in 0..4 {
                let writer = writer.clone();
                s.spawn(move || {
                    for i in 0..20_000 {
                        // The fmt layer hands over each line in one write, as here.
                        let line = format!("thread {t} line {i} {}\n", "x".repeat(40));
                        writer
                            .make_writer()
                            .write_all(line.as_bytes())
                            .expect("write");
                    }
                });
            }
        });
        drop(guard);
        let text = out.text();
        assert_eq!(text.lines().count(), 80_000);
        for t in 0..4 {
            let mine: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            assert_eq!(mine.len(), 20_000);
            // One thread's lines keep their order.
            for (i, line) in mine.iter().enumerate() {
                assert!(line.starts_with(&format!("thread {t} line {i} ")), "{line}");
            }
        }
    }
}
