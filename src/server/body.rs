//! A request body with one deadline for all of it. tower-http's body timeout restarts with
//! every frame, so a client sending a byte every few seconds would never reach it; this one
//! counts from the moment the request head was received.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// The body was not received by its deadline (`TESSERA_SERVER__BODY_TIMEOUT_MS`).
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

pub(super) struct Deadline {
    body: Incoming,
    deadline: Instant,
    /// Made at the first read, so requests whose body is never read cost no timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    pub(super) fn new(body: Incoming, deadline: Instant) -> Self {
        Self {
            body,
            deadline,
            sleep: None,
        }
    }
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
