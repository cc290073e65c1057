//! One gRPC health probe (`mode = "grpc"`), as Traefik sends it: the
//! `grpc.health.v1.Health/Check` call with an empty `HealthCheckRequest` (no
//! service name: the server's overall health) to the server's host and port
//! (the check's `port` replaces it; `path`, `method`, `hostname`, `headers`,
//! `status` and `followRedirects` do not apply), bounded by `timeout`, which
//! the server also sees as `grpc-timeout`. Up means HTTP status 200,
//! `grpc-status` 0 and a `HealthCheckResponse` whose `status` is SERVING;
//! anything else is down, the reason in the log line.
//!
//! It goes over proxyd's upstream HTTP/2 client (`http::proxy::h2_stream_slot`):
//! clear text with prior knowledge (h2c), or TLS offering only `h2` in ALPN.
//! The prober thread has its own pool, so a server's connection is kept and
//! the next probe is a new stream on it; a probe that breaks on a kept
//! connection drops it and is tried once more on a fresh one.

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use super::probe::{self, ProbeError, Up};
use super::target::Spec;
use crate::http::proxy::{H2Slot, h2_stream_slot};
use crate::net::h2_body::h2_io_error;
use crate::net::upstream::pool_key;

const PATH: &str = "/grpc.health.v1.Health/Check";
/// One message, not compressed, of length 0: the empty `HealthCheckRequest`.
const EMPTY_REQUEST: &[u8] = &[0; 5];
/// The largest response body read: a `HealthCheckResponse` takes a few bytes.
const MAX_RESPONSE: usize = 1024;
/// `HealthCheckResponse.ServingStatus` values.
const STATUS_NAMES: [&str; 4] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const SERVING: u64 = 1;
/// gRPC's UNIMPLEMENTED status code.
const UNIMPLEMENTED: &str = "12";

/// SERVING, or why the server is down.
pub async fn check(spec: &Spec) -> Result<Up, ProbeError> {
    let addr = probe::address(spec)?;
    let reused = Cell::new(false);
    match probe::bounded(spec, attempt(spec, addr, &reused)).await {
        Err(e) if reused.get() && e.broke() => {
            log::debug!("gRPC health check of {addr}: kept connection: {e}");
            probe::bounded(spec, attempt(spec, addr, &reused)).await
        }
        verdict => verdict,
    }
}

/// Kills the connection of a stream that broke or was dropped mid-way (a
/// timeout), so that the next probe dials afresh.
struct Guard(H2Slot, bool);

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.kill();
        }
    }
}

async fn attempt(spec: &Spec, addr: SocketAddr, reused: &Cell<bool>) -> Result<Up, ProbeError> {
    let key = pool_key(addr, spec.tls.as_deref());
    let slot = h2_stream_slot(key, &spec.transport, spec.tls.as_deref()).await?;
    reused.set(slot.reused);
    let mut guard = Guard(slot, false);
    let verdict = call(spec, &guard.0).await;
    guard.1 = !verdict.as_ref().is_err_and(ProbeError::broke);
    verdict
}

fn h2(e: h2::Error) -> ProbeError {
    ProbeError::Io(h2_io_error(e))
}

async fn call(spec: &Spec, slot: &H2Slot) -> Result<Up, ProbeError> {
    let scheme = if spec.tls.is_some() { "https" } else { "http" };
    let req = http::Request::post(format!("{scheme}://{}{PATH}", spec.authority))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .header("grpc-timeout", grpc_timeout(spec.check.timeout))
        .header(http::header::USER_AGENT, super::target::USER_AGENT)
        .body(())
        .map_err(|e| ProbeError::Grpc(format!("request: {e}")))?;
    let mut sender = slot.send.clone();
    std::future::poll_fn(|cx| sender.poll_ready(cx))
        .await
        .map_err(h2)?;
    let (response, mut send) = sender.send_request(req, false).map_err(h2)?;
    send.send_data(Bytes::from_static(EMPTY_REQUEST), true)
        .map_err(h2)?;
    let (parts, mut body) = response.await.map_err(h2)?.into_parts();
    if parts.status != http::StatusCode::OK {
        return Err(ProbeError::Status(parts.status.as_u16()));
    }
    // A call that fails at once answers with the status in the headers.
    if parts.headers.contains_key("grpc-status") {
        grpc_status(&parts.headers)?;
    }
    let mut message = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(h2)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if message.len() + chunk.len() > MAX_RESPONSE {
            return Err(ProbeError::Grpc(format!(
                "a response above {MAX_RESPONSE} bytes"
            )));
        }
        message.extend_from_slice(&chunk);
    }
    if let Some(trailers) = body.trailers().await.map_err(h2)? {
        grpc_status(&trailers)?;
    } else if !parts.headers.contains_key("grpc-status") {
        return Err(ProbeError::Grpc("no grpc-status in the answer".into()));
    }
    match serving_status(&message).map_err(ProbeError::Grpc)? {
        SERVING => Ok(Up::Serving),
        n => Err(ProbeError::NotServing(
            STATUS_NAMES
                .get(n as usize)
                .map_or(n.to_string(), |s| s.to_string()),
        )),
    }
}

/// gRPC's own timeout header: at most 8 digits and a unit.
fn grpc_timeout(t: Duration) -> String {
    match t.as_millis() {
        ms if ms < 100_000_000 => format!("{ms}m"),
        _ => format!("{}S", t.as_secs().min(99_999_999)),
    }
}

/// The call's `grpc-status` is OK (0).
fn grpc_status(headers: &http::HeaderMap) -> Result<(), ProbeError> {
    let code = headers.get("grpc-status").map(|v| v.as_bytes());
    let text = |n: &str| {
        String::from_utf8_lossy(headers.get(n).map_or(&[][..], |v| v.as_bytes())).into_owned()
    };
    match code {
        Some(b"0") => Ok(()),
        None => Err(ProbeError::Grpc("no grpc-status in the answer".into())),
        Some(c) if c == UNIMPLEMENTED.as_bytes() => Err(ProbeError::Grpc(
            "the server does not implement the gRPC health protocol (grpc-status 12)".into(),
        )),
        Some(_) => Err(ProbeError::Grpc(format!(
            "grpc-status {}: {}",
            text("grpc-status"),
            text("grpc-message")
        ))),
    }
}

/// The `status` field (1) of the one `HealthCheckResponse` message in a
/// response body (5-byte prefix: compressed flag, big-endian length).
fn serving_status(body: &[u8]) -> Result<u64, String> {
    let Some((prefix, mut msg)) = body.split_first_chunk::<5>() else {
        return Err(format!("a response of {} bytes, no message", body.len()));
    };
    if prefix[0] != 0 {
        return Err("a compressed response (proxyd asks for none)".into());
    }
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if msg.len() != len {
        return Err(format!(
            "a message of {len} bytes in {} body bytes",
            msg.len()
        ));
    }
    // proto3: a field left out has its default, UNKNOWN (0).
    let mut status = 0;
    while !msg.is_empty() {
        let key = varint(&mut msg)?;
        let skip = match key & 7 {
            0 => {
                let v = varint(&mut msg)?;
                if key >> 3 == 1 {
                    status = v;
                }
                0
            }
            1 => 8,
            2 => varint(&mut msg)? as usize,
            5 => 4,
            w => return Err(format!("a field of wire type {w}")),
        };
        msg = msg.get(skip..).ok_or("a truncated field")?;
    }
    Ok(status)
}

fn varint(p: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = p.split_first().ok_or("a truncated varint")?;
        *p = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a varint above 64 bits".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serving_status_is_read_from_the_response_message() {
        assert_eq!(serving_status(&[0, 0, 0, 0, 2, 8, 1]), Ok(1));
        assert_eq!(serving_status(&[0, 0, 0, 0, 2, 8, 2]), Ok(2));
        // Left out: UNKNOWN. Unknown fields are skipped.
        assert_eq!(serving_status(&[0, 0, 0, 0, 0]), Ok(0));
        let more = [0, 0, 0, 0, 9, 0x12, 2, b'h', b'i', 8, 1, 0x1d, 0, 0];
        assert!(serving_status(&more).is_err(), "truncated fixed32");
        let more = [0, 0, 0, 0, 11, 0x12, 2, b'h', b'i', 8, 1, 0x1d, 0, 0, 0, 0];
        assert_eq!(serving_status(&more), Ok(1));
        assert!(
            serving_status(&[1, 0, 0, 0, 2, 8, 1]).is_err(),
            "compressed"
        );
        assert!(serving_status(&[0, 0, 0, 0, 3, 8, 1]).is_err(), "short");
        assert!(serving_status(&[0, 0, 0]).is_err());
        assert!(serving_status(&[0, 0, 0, 0, 1, 8]).is_err(), "no value");
        assert_eq!(grpc_timeout(Duration::from_secs(5)), "5000m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
    }

    #[test]
    fn grpc_status_zero_is_the_only_success() {
        let mut h = http::HeaderMap::new();
        assert!(grpc_status(&h).is_err());
        h.insert("grpc-status", "0".parse().unwrap());
        assert!(grpc_status(&h).is_ok());
        h.insert("grpc-status", "12".parse().unwrap());
        let e = grpc_status(&h).unwrap_err().to_string();
        assert!(e.contains("does not implement"), "{e}");
        h.insert("grpc-status", "14".parse().unwrap());
        h.insert("grpc-message", "down".parse().unwrap());
        assert!(
            grpc_status(&h)
                .unwrap_err()
                .to_string()
                .contains("14: down")
        );
    }
}
