//! A request body that, if the component answers without reading all of it (a 413 for an
//! oversized body, a 401 before the body matters), is read to its end and discarded after
//! the answer, up to a bound. A client that writes its whole body before it reads (Python's
//! `urllib`, many HTTP libraries) would otherwise meet a closed connection, a broken pipe or
//! a reset, instead of the answer.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The most a request body is drained by after its answer.
pub const MAX_DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// The longest a drain waits for the client to send the rest.
pub const MAX_DRAIN_TIME: Duration = Duration::from_secs(10);

/// `inner`, drained on drop when not read to its end.
#[derive(Debug)]
pub struct DrainOnDrop<B: Body<Data = Bytes> + Send + Unpin + 'static> {
    inner: Option<B>,
    ended: bool,
}

impl<B: Body<Data = Bytes> + Send + Unpin + 'static> DrainOnDrop<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Self {
            inner: Some(inner),
            ended: false,
        }
    }
}

impl<B: Body<Data = Bytes> + Send + Unpin + 'static> Body for DrainOnDrop<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl<B: Body<Data = Bytes> + Send + Unpin + 'static> Drop for DrainOnDrop<B> {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if self.ended || inner.is_end_stream() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let drain = async {
                let mut read = 0u64;
                while let Some(Ok(frame)) =
                    std::future::poll_fn(|cx| Pin::new(&mut inner).poll_frame(cx)).await
                {
                    if let Some(data) = frame.data_ref() {
                        read += data.len() as u64;
                        if read > MAX_DRAIN_BYTES {
                            break;
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(MAX_DRAIN_TIME, drain).await;
        });
    }
}
