//! An h2c (prior knowledge) server on one monoio thread, io_uring driver, for
//! measuring the HTTP/2 codec alone: every stream gets 200, `text/plain` and a
//! body of `--body-bytes` bytes, after its request body (if any) is read.
//! `--impl h2` drives the `h2` crate the way proxyd does (`h2crate`);
//! `--impl monoio-http` uses monoio-http's own h2 server (`monoio_http`).
//! `./run` builds it and loads it with h2load.

use std::net::SocketAddr;
use std::process::exit;

use bytes::Bytes;
use monoio::net::TcpListener;

mod h2crate;
mod monoio_http;

/// The limits proxyd gives every HTTP/2 connection by default (src/http/h2.rs
/// and the entry point's defaults), applied to both sides where they exist.
pub mod limits {
    pub const MAX_STREAMS: u32 = 250;
    pub const MAX_HEADER_LIST: u32 = 1 << 20;
    pub const STREAM_WINDOW: u32 = 256 * 1024;
    pub const CONNECTION_WINDOW: u32 = 1024 * 1024;
    pub const SEND_BUFFER: usize = 64 * 1024;
    pub const CONCURRENT_RESET_STREAMS: usize = 10;
}

/// The response head of every stream: 200, text/plain, its length.
pub fn response(len: usize) -> http::Response<()> {
    http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .header(http::header::CONTENT_LENGTH, len)
        .body(())
        .expect("a static head is valid")
}

/// One stream, for either codec (their stream types are the same shape but
/// not the same types): the request body read and its window released, then
/// the head and the body as DATA frames sent as the client's window allows,
/// as proxyd's `send_all` does.
#[macro_export]
macro_rules! serve_stream {
    ($req:expr, $respond:expr, $body:expr) => {{
        let mut recv = $req.into_body();
        while let Some(Ok(data)) = recv.data().await {
            let _ = recv.flow_control().release_capacity(data.len());
        }
        let mut data: Bytes = $body;
        let head = $crate::response(data.len());
        let Ok(mut send) = $respond.send_response(head, data.is_empty()) else {
            return;
        };
        while !data.is_empty() {
            send.reserve_capacity(data.len());
            let mut cap = send.capacity();
            while cap == 0 {
                cap = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                    Some(Ok(n)) => n,
                    _ => return,
                };
            }
            let chunk = data.split_to(cap.min(data.len()));
            if send.send_data(chunk, data.is_empty()).is_err() {
                return;
            }
        }
    }};
}

/// proxyd's default ring size (workers.ringEntries).
const RING_ENTRIES: u32 = 1024;

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    H2,
    MonoioHttp,
}

struct Args {
    imp: Impl,
    port: u16,
    body_bytes: usize,
    core: Option<usize>,
}

const USAGE: &str = "usage: h2codec --impl h2|monoio-http [--port P] [--body-bytes N] [--core K]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        imp: Impl::H2,
        port: 8080,
        body_bytes: 13,
        core: None,
    };
    let mut imp = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--impl" => {
                imp = Some(match value.as_str() {
                    "h2" => Impl::H2,
                    "monoio-http" => Impl::MonoioHttp,
                    other => return Err(format!("unknown --impl {other}")),
                })
            }
            "--port" => args.port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            "--body-bytes" => args.body_bytes = num(&value)?,
            "--core" => args.core = Some(num(&value)?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    args.imp = imp.ok_or("--impl is required")?;
    Ok(args)
}

/// proxyd's runtime: io_uring with COOP_TASKRUN and TASKRUN_FLAG, timers on
/// (src/edge/driver.rs), a plain ring where the kernel refuses the flags.
fn runtime() -> std::io::Result<monoio::Runtime<monoio::time::TimeDriver<monoio::IoUringDriver>>> {
    let build = |flags: bool| {
        let mut b = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new();
        if flags {
            let mut ring = io_uring::IoUring::builder();
            ring.setup_coop_taskrun().setup_taskrun_flag();
            b = b.uring_builder(ring);
        }
        b.enable_timer().with_entries(RING_ENTRIES).build()
    };
    build(true).or_else(|_| build(false))
}

async fn serve(args: Args) {
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("bind {addr}: {e}");
        exit(1)
    });
    let body = Bytes::from(vec![b'x'; args.body_bytes]);
    loop {
        let Ok((socket, _peer)) = listener.accept().await else {
            continue;
        };
        let _ = socket.set_nodelay(true);
        match args.imp {
            Impl::H2 => h2crate::spawn(socket, body.clone()),
            Impl::MonoioHttp => monoio_http::spawn(socket, body.clone()),
        }
    }
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        exit(2)
    });
    if let Some(k) = args.core {
        let pinned = core_affinity::get_core_ids()
            .and_then(|ids| ids.into_iter().find(|c| c.id == k))
            .is_some_and(core_affinity::set_for_current);
        if !pinned {
            eprintln!("cannot pin to core {k}");
            exit(1);
        }
    }
    let mut rt = runtime().unwrap_or_else(|e| {
        eprintln!("io_uring runtime: {e}");
        exit(1)
    });
    rt.block_on(serve(args));
}
