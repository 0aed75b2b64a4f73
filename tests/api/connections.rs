//! Connections that take too long are closed (`[server]` settings): half-sent request heads,
//! silent and idle connections, trickling bodies; the number of open connections is capped.
//! Clients here are raw TCP streams, so that a request can be left half-sent.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with};

/// Generous: the server's timeouts in these tests are half a second.
const PATIENCE: Duration = Duration::from_secs(15);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent. Panics if it is still
/// open after [`PATIENCE`].
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the connection is still open after {PATIENCE:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

/// Reads one response head (up to the blank line) and its Content-Length body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("read");
        assert_ne!(n, 0, "closed before a whole response: {text:?}");
        received.extend_from_slice(&buf[..n]);
    }
}

async fn healthz(app: &TestApp) -> u16 {
    tokio::time::timeout(PATIENCE, app.http.get(app.url("/healthz")).send())
        .await
        .expect("/healthz answers in time")
        .expect("GET /healthz")
        .status()
        .as_u16()
}

#[tokio::test]
async fn half_sent_request_heads_are_closed_while_healthz_answers() {
    let app = spawn_app_with(|c| c.server.header_read_timeout_ms = 500).await;
    let mut slow = Vec::new();
    for i in 0..250 {
        let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
        // Every fifth connection says nothing at all; the others stop inside the head.
        if i % 5 != 0 {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await
                .expect("write");
        }
        slow.push(stream);
    }
    assert_eq!(healthz(&app).await, 200, "served while slow clients wait");
    for stream in &mut slow {
        let sent = read_until_closed(stream).await;
        assert!(
            !sent.contains(" 200 "),
            "no response to a half-sent head: {sent}"
        );
    }
    assert_eq!(healthz(&app).await, 200);
}

#[tokio::test]
async fn idle_connections_close_after_the_keep_alive_timeout_not_the_header_timeout() {
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // Waiting for a next request is not reading a head: a kept-alive connection outlives the
    // header timeout (load balancers reuse connections for their own idle time).
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_ms = 200;
        c.server.keep_alive_timeout_ms = 60_000;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
    stream.write_all(request).await.expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(request).await.expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // With nothing to do for the keep-alive timeout, the server closes it.
    let app = spawn_app_with(|c| c.server.keep_alive_timeout_ms = 500).await;
    let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
    stream.write_all(request).await.expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    let app = spawn_app_with(|c| c.server.body_timeout_ms = 500).await;
    let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
              grant_type=",
        )
        .await
        .expect("write");
    let response = read_until_closed(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"invalid_request\""), "{response}");
}

/// A head trickled a byte at a time is still a head: after a first request whose opening `P`
/// came alone (as an HTTP/2 preface would start), the next head must arrive in time too.
#[tokio::test]
async fn a_trickled_head_is_closed_even_after_a_first_request() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_ms = 500;
        c.server.keep_alive_timeout_ms = 60_000;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
    stream.write_all(b"P").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(b"OST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 400"));
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 400].iter())
        {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(PATIENCE, reader.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "a trickled head keeps the connection open: {read:?}"
    );
    trickle.abort();
}

/// The body deadline is for the whole body: a byte every 100 ms (each gap far below the
/// timeout) still ends in 408 once the deadline has passed.
#[tokio::test]
async fn a_trickled_body_is_a_408_too() {
    let app = spawn_app_with(|c| c.server.body_timeout_ms = 500).await;
    let stream = TcpStream::connect(addr(&app)).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        )
        .await
        .expect("write");
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        if received.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    trickle.abort();
    let response = String::from_utf8_lossy(&received);
    assert!(response.starts_with("HTTP/1.1 408"), "{response:?}");
}
