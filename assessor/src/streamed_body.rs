//! A file rendered on demand and streamed as a request body, never held
//! whole in memory.
//!
//! The report of 100,000 workload statements is tens of megabytes in each
//! format; holding each whole for its PUT was the job's peak memory. Here a
//! file is a deterministic render function ([`Render`]): [`digest`] runs it
//! once to count and hash its bytes (S3 needs the length before the body,
//! the manifest and the checksum header need the SHA-256), and [`stream`]
//! runs it again on a scoped thread that writes into a small bounded channel
//! the request body reads from.
//!
//! Guarantees:
//! - At most about `CHUNK_BYTES * (CHUNKS_IN_FLIGHT + 2)` of the file are
//!   in memory at once, whatever its size.
//! - A render that fails, or that writes another number of bytes than
//!   [`digest`] counted, fails the body, so the request fails rather than
//!   sending a truncated or different file.
//! - A request that stops reading (an error, a refused upload) stops the
//!   render: the channel closes and the render's next write fails.
//! - No deadlock and no dangling borrow: the render thread is scoped and
//!   joined before [`stream`] returns, and [`stream`] blocks its task
//!   (`block_in_place`) so it cannot be cancelled half-way. It needs tokio's
//!   multi-thread runtime, the one the assessor's binary runs.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// Writes a whole file to the writer it is given; must write the same bytes
/// every time it is called.
pub type Render<'a> = dyn Fn(&mut dyn Write) -> io::Result<()> + Sync + 'a;

/// The size of one chunk handed to the request body.
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks rendered ahead of the request.
const CHUNKS_IN_FLIGHT: usize = 2;

/// The length and SHA-256 of what `render` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub len: u64,
    pub sha256: [u8; 32],
}

/// Renders once to count and hash the bytes, keeping none of them.
pub fn digest(render: &Render<'_>) -> io::Result<Digest> {
    struct Hashing {
        len: u64,
        context: aws_lc_rs::digest::Context,
    }
    impl Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.len += buf.len() as u64;
            self.context.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing {
        len: 0,
        context: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
    };
    render(&mut hashing)?;
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(hashing.context.finish().as_ref());
    Ok(Digest {
        len: hashing.len,
        sha256,
    })
}

/// Runs `send` with a body that streams what `render` writes (`len` bytes,
/// as [`digest`] counted) and returns what `send` returned with the
/// render's own outcome. The body cannot be replayed: a caller that retries
/// calls `stream` again, which renders again.
pub fn stream<Fut: Future>(
    render: &Render<'_>,
    len: u64,
    send: impl FnOnce(ByteStream) -> Fut,
) -> (Fut::Output, io::Result<()>) {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
            let renderer = scope.spawn(move || {
                let mut writer = ChunkWriter {
                    tx,
                    buf: Vec::with_capacity(CHUNK_BYTES),
                    written: 0,
                };
                let rendered = render(&mut writer).and_then(|()| writer.finish(len));
                if let Err(e) = &rendered {
                    // The body fails with the render, so the request does
                    // too (ignored when the request has already stopped).
                    let _ = writer
                        .tx
                        .blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
                }
                rendered
            });
            let body = ChannelBody { rx, remaining: len };
            let sent = handle.block_on(send(ByteStream::from_body_1_x(body)));
            let rendered = renderer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the report renderer panicked")));
            (sent, rendered)
        })
    })
}

/// Hands what it is given to the body in chunks of [`CHUNK_BYTES`].
struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    written: u64,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped reading"))
    }

    /// Sends the last chunk once the whole file is written; a length other
    /// than the counted one is an error (a render that is not deterministic).
    fn finish(&mut self, len: u64) -> io::Result<()> {
        if self.written != len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the report rendered {} bytes where {len} were counted",
                    self.written
                ),
            ));
        }
        self.send()
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The request body: the chunks from the channel, of a length known up
/// front (S3 refuses a PUT without `Content-Length`).
struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                if n > self.remaining {
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the report rendered more bytes than were counted",
                    ))));
                }
                self.remaining -= n;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `n` bytes of a repeating pattern, written in odd sizes.
    fn pattern(n: usize) -> impl Fn(&mut dyn Write) -> io::Result<()> + Sync {
        move |w: &mut dyn Write| {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            for piece in data.chunks(7_919) {
                w.write_all(piece)?;
            }
            Ok(())
        }
    }

    #[test]
    fn digest_counts_and_hashes_what_is_rendered() {
        let render = pattern(3 * CHUNK_BYTES + 5);
        let d = digest(&render).unwrap();
        let mut whole = Vec::new();
        render(&mut whole).unwrap();
        assert_eq!(d.len, whole.len() as u64);
        assert_eq!(
            d.sha256.as_slice(),
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &whole).as_ref()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_body_carries_the_rendered_bytes_in_bounded_chunks() {
        let render = pattern(5 * CHUNK_BYTES + 123);
        let d = digest(&render).unwrap();
        let (received, rendered) = stream(&render, d.len, |body| async move {
            assert_eq!(body.size_hint(), (d.len, Some(d.len)));
            body.collect().await.map(|b| b.into_bytes())
        });
        rendered.unwrap();
        let received = received.unwrap();
        let mut whole = Vec::new();
        render(&mut whole).unwrap();
        assert_eq!(received.as_ref(), whole.as_slice());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_that_stops_reading_stops_the_render() {
        let render = pattern(20 * CHUNK_BYTES);
        let len = digest(&render).unwrap().len;
        // The request gives up after the first chunk and drops the body.
        let (first, rendered) = stream(&render, len, |mut body| async move {
            body.next().await.map(|c| c.map(|c| c.len()))
        });
        assert!(matches!(first, Some(Ok(n)) if n >= CHUNK_BYTES));
        let e = rendered.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_or_changed_render_fails_the_body() {
        let failing = |w: &mut dyn Write| {
            w.write_all(&[1u8; CHUNK_BYTES + 1])?;
            Err(io::Error::other("disk on fire"))
        };
        let (received, rendered) = stream(&failing, 2 * CHUNK_BYTES as u64, |body| async move {
            body.collect().await
        });
        assert!(rendered.is_err());
        assert!(received.is_err(), "a failed render must fail the body");

        // Counted 10 bytes, renders 20: never sent as if it were the file.
        let longer = pattern(20);
        let (received, rendered) = stream(&longer, 10, |body| async move { body.collect().await });
        assert_eq!(rendered.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(received.is_err());
    }
}
