//! Keeps a panic inside one request from taking down the worker: the connection's
//! future is polled under `catch_unwind`, and a panic becomes a 500 for that client.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

pub struct CatchUnwind<F>(F);

impl<F> CatchUnwind<F> {
    pub fn new(fut: F) -> Self {
        Self(fut)
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved out.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        // The request's state is abandoned after a panic (the connection is closed),
        // so observing it half-updated is not a concern.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
