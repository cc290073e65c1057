//! [`Compressing`] driven by a [`Relay`] over a body already read whole:
//! how many writes reach the client and what they hold.

use std::io::Read;
use std::time::Instant;

use super::Compressing;
use crate::http::body::{Relay, RelayError, Sink};
use crate::http::codec::BodyKind;
use crate::middleware::compress::{EncoderPool, Encoding};

/// Records each write the client would get.
#[derive(Default)]
struct Writes(Vec<Vec<u8>>);

impl Sink for &mut Writes {
    async fn write(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.0.push(buf[..len].to_vec());
        Ok(())
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        std::future::pending()
    }
}

fn runtime() -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .unwrap()
}

/// A JSON-like body that compresses as the benchmark's does.
fn body() -> Vec<u8> {
    (0..400)
        .flat_map(|i| {
            format!("{{\"id\":{i},\"name\":\"alpha-{}\"}},", i * 7919 % 1000).into_bytes()
        })
        .collect()
}

/// Relays `body` (all of it buffered, as when it came with the head) through
/// a gzip `Compressing` whose `out` holds `head`; the writes made.
fn relay_whole(head: &[u8], body: &[u8], chunked: bool) -> Writes {
    let mut writes = Writes::default();
    runtime().block_on(async {
        let pool = EncoderPool::default();
        let mut out = head.to_vec();
        let encoder = pool.take(Encoding::Gzip).unwrap();
        let mut sink = Compressing::new(&mut writes, encoder, chunked, &mut out);
        let relay = Relay {
            kind: BodyKind::Length(body.len() as u64),
            dechunk: true,
            read_timeout: None,
            write_timeout: None,
        };
        let mut buf = body.to_vec();
        // A real upstream socket, never read: the whole body is in `buf`.
        let l = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut src = monoio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        relay.run(&mut src, &mut buf, &mut sink).await.unwrap();
        sink.finish(None).await.unwrap();
        let body_bytes: usize = sink.sent as usize;
        drop(sink);
        assert_eq!(
            body_bytes + head.len(),
            writes.0.iter().map(Vec::len).sum::<usize>()
        );
    });
    writes
}

fn gunzip(wire: &[u8]) -> Vec<u8> {
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(wire)
        .read_to_end(&mut back)
        .unwrap();
    back
}

/// The payload of a chunked body (sizes in hex, each chunk CRLF-ended).
fn dechunk(mut wire: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    loop {
        let eol = wire.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&wire[..eol]).unwrap(), 16).unwrap();
        if size == 0 {
            assert_eq!(&wire[eol..], b"\r\n\r\n", "the last chunk ends the body");
            return payload;
        }
        payload.extend_from_slice(&wire[eol + 2..eol + 2 + size]);
        assert_eq!(&wire[eol + 2 + size..eol + 4 + size], b"\r\n");
        wire = &wire[eol + 4 + size..];
    }
}

#[test]
fn whole_compressed_body_goes_in_one_write_with_its_head() {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let body = body();
    let writes = relay_whole(head, &body, true);
    assert_eq!(writes.0.len(), 1, "head, body and trailer in one write");
    let wire = &writes.0[0];
    assert!(wire.starts_with(head));
    let gz = dechunk(&wire[head.len()..]);
    assert_eq!(gunzip(&gz), body);
}

#[test]
fn whole_body_ends_the_stream_without_a_flush_block() {
    let body = body();
    let writes = relay_whole(b"", &body, false);
    assert_eq!(writes.0.len(), 1, "the body and the trailer in one write");
    let gz = &writes.0[0];
    assert_eq!(gunzip(gz), body);
    // A sync flush would leave an empty stored block (00 00 ff ff) before
    // the final one.
    assert!(!gz.windows(4).any(|w| w == [0, 0, 0xff, 0xff]));
}

#[test]
fn pieces_are_flushed_as_they_come_and_the_trailer_goes_with_the_last() {
    let body = body();
    let mut writes = Writes::default();
    runtime().block_on(async {
        let pool = EncoderPool::default();
        let mut out = Vec::new();
        let encoder = pool.take(Encoding::Gzip).unwrap();
        let mut sink = Compressing::new(&mut writes, encoder, false, &mut out);
        let (first, rest) = body.split_at(body.len() / 2);
        sink.write(&mut first.to_vec(), first.len(), None)
            .await
            .unwrap();
        sink.write_last(&mut rest.to_vec(), rest.len(), None)
            .await
            .unwrap();
        sink.finish(None).await.unwrap();
    });
    assert_eq!(writes.0.len(), 2, "nothing left for finish to send");
    // The first piece alone decodes to its bytes (a sync flush).
    let mut part = Vec::new();
    let mut d = flate2::write::GzDecoder::new(&mut part);
    std::io::Write::write_all(&mut d, &writes.0[0]).unwrap();
    std::io::Write::flush(&mut d).unwrap();
    drop(d);
    assert_eq!(part, &body[..body.len() / 2]);
    assert_eq!(gunzip(&writes.0.concat()), body);
}

/// Records how many encoders its pool kept at each write.
struct KeptAtWrite<'a>(&'a EncoderPool, Vec<usize>);

impl Sink for &mut KeptAtWrite<'_> {
    async fn write(
        &mut self,
        _buf: &mut Vec<u8>,
        _len: usize,
        _deadline: Option<Instant>,
    ) -> Result<(), RelayError> {
        self.1.push(self.0.kept());
        Ok(())
    }

    fn watch(&self) -> impl std::future::Future<Output = ()> {
        std::future::pending()
    }
}

#[test]
fn encoder_is_back_in_the_pool_before_the_last_send() {
    let pool = EncoderPool::default();
    let mut seen = KeptAtWrite(&pool, Vec::new());
    runtime().block_on(async {
        let mut out = Vec::new();
        let encoder = pool.take(Encoding::Gzip).unwrap();
        let mut sink = Compressing::new(&mut seen, encoder, true, &mut out);
        let piece = body();
        sink.write(&mut piece.clone(), piece.len(), None)
            .await
            .unwrap();
        sink.write_last(&mut piece.clone(), piece.len(), None)
            .await
            .unwrap();
        sink.finish(None).await.unwrap();
    });
    // Held while the body goes on; given back (hot) before the last send.
    assert_eq!(seen.1, [0, 1]);
}
