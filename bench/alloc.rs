//! Heap allocations per request in steady state, counted by a `#[global_allocator]`
//! wrapper around the system allocator. Runs the real worker in-process
//! (`edge::spawn` with its monoio runtime, listener, router, pool and codec, as
//! `app::run` starts it) on 127.0.0.1, plus an allocation-free origin and client on
//! plain std threads, then counts allocations over many requests after a warm-up.
//! A baseline row (the same client straight to the origin) shows the harness itself
//! allocates nothing. Goal: zero per keep-alive request.
//! Run: `cargo bench --bench alloc` (prints a table; no criterion).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proxyd::config::{self, IoDriver};
use proxyd::control::Published;
use proxyd::edge::{self, Event, Spec, driver, listener};
use proxyd::runtime::shutdown::phase;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// Allocations made by the current thread: lets the client's own (connect,
    /// for instance) be taken out of the process-wide count.
    static MINE: Cell<u64> = const { Cell::new(0) };
}

fn count(size: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    BYTES.fetch_add(size as u64, Relaxed);
    let _ = MINE.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` unchanged; counting only touches atomics
// and a thread-local that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's `layout` contract is passed on to `System` as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` came from `System` through this allocator, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARMUP: u64 = 2_000;
const MEASURED: u64 = 20_000;
const ORIGIN_BODY: &[u8] = b"hello, world\n";

/// An origin on std threads: one thread per connection, fixed buffers, a fixed
/// keep-alive response. Allocates only when a connection arrives.
fn origin() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || serve_origin(s));
        }
    });
    addr
}

fn serve_origin(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut resp = [0u8; 128];
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
    resp[..head.len()].copy_from_slice(head);
    resp[head.len()..head.len() + ORIGIN_BODY.len()].copy_from_slice(ORIGIN_BODY);
    let resp = &resp[..head.len() + ORIGIN_BODY.len()];
    let mut buf = [0u8; 16384];
    let mut have = 0;
    loop {
        match s.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        // Requests carry no body here: answer each complete head.
        while let Some(end) = find_head_end(&buf[..have]) {
            if s.write_all(resp).is_err() {
                return;
            }
            buf.copy_within(end..have, 0);
            have -= end;
        }
    }
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Sends one request and reads one whole Content-Length response; no allocation.
fn exchange(s: &mut TcpStream, req: &[u8], buf: &mut [u8]) -> bool {
    s.write_all(req).unwrap();
    let mut have = 0;
    loop {
        let n = s.read(&mut buf[have..]).unwrap();
        assert!(n > 0, "connection closed");
        have += n;
        if let Some(end) = find_head_end(&buf[..have]) {
            let head = &buf[..end];
            let status_ok = head.starts_with(b"HTTP/1.1 200");
            let len = content_length(head).expect("content-length");
            while have < end + len {
                let n = s.read(&mut buf[have..]).unwrap();
                assert!(n > 0, "connection closed in body");
                have += n;
            }
            return status_ok;
        }
    }
}

fn content_length(head: &[u8]) -> Option<usize> {
    for line in head.split(|&b| b == b'\n') {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            let v = std::str::from_utf8(&line[15..]).ok()?.trim();
            return v.parse().ok();
        }
    }
    None
}

fn start_proxy(origin: SocketAddr) -> (SocketAddr, Arc<AtomicU8>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dynamic = dir.path().join("dynamic.toml");
    std::fs::write(
        &dynamic,
        format!(
            "[http.routers.respond]\nrule = \"Host(`respond.local`)\"\nservice = \"respond\"\n\
             [http.services.respond.respond]\nbody = \"hello, world\\n\"\n\
             [http.routers.whoami]\nrule = \"Host(`whoami.local`)\"\nservice = \"whoami@internal\"\n\
             [http.routers.proxy]\nrule = \"PathPrefix(`/`)\"\nservice = \"origin\"\npriority = 1\n\
             [[http.services.origin.loadBalancer.servers]]\nurl = \"http://{origin}\"\n"
        ),
    )
    .unwrap();
    let static_file = dir.path().join("proxyd.toml");
    std::fs::write(
        &static_file,
        format!(
            "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[providers.file]\nfilename = \"{}\"\n\
             [log]\nlevel = \"ERROR\"\n",
            dynamic.display()
        ),
    )
    .unwrap();
    let cfg = config::load_static(&static_file).unwrap();
    let published = Published::new(config::load_snapshot(&cfg, 1).unwrap());
    let ep = cfg.entry_points[0].clone();
    let mut group = listener::bind_group(&ep.name, ep.address, 1).unwrap();
    let l = group.remove(0);
    let addr = l.local_addr().unwrap();
    let driver = driver::resolve(IoDriver::Auto).unwrap();
    let phase_flag = Arc::new(AtomicU8::new(phase::RUNNING));
    let hub = proxyd::observe::Hub::new(&cfg, 1, phase_flag.clone()).unwrap();
    let (tx, rx) = mpsc::channel();
    edge::spawn(Spec {
        index: 0,
        core: None,
        driver,
        ring_entries: config::DEFAULT_RING_ENTRIES,
        fallback: true,
        listeners: vec![(0, ep, l)],
        published,
        phase: phase_flag.clone(),
        hostname: "bench".into(),
        hub,
        notify: Box::new(move |e| {
            let _ = tx.send(e);
        }),
    })
    .unwrap();
    match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
        Event::Ready { driver, .. } => eprintln!("worker ready, driver={}", driver.name()),
        other => panic!("worker did not start: {other:?}"),
    }
    (addr, phase_flag, dir)
}

struct Row {
    name: &'static str,
    /// Whole process.
    allocs: f64,
    /// Of which the client thread's.
    client: f64,
    bytes: f64,
    rps: f64,
}

/// Warm-up, then counts allocations over `MEASURED` requests on one keep-alive
/// connection (or a new connection per request when `reconnect`).
fn measure(name: &'static str, addr: SocketAddr, host: &str, reconnect: bool) -> Row {
    let close = if reconnect {
        "Connection: close\r\n"
    } else {
        ""
    };
    let req = format!(
        "GET /small HTTP/1.1\r\nHost: {host}\r\nUser-Agent: alloc-bench\r\nAccept: */*\r\n{close}\r\n"
    );
    let req = req.as_bytes();
    let mut buf = vec![0u8; 65536];
    let connect = || {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s
    };
    let mut s = connect();
    let run = |s: &mut TcpStream, n: u64, buf: &mut [u8]| {
        for _ in 0..n {
            if reconnect {
                *s = connect();
            }
            assert!(exchange(s, req, buf), "{name}: non-200 response");
        }
    };
    run(&mut s, WARMUP, &mut buf);
    let (a0, b0, m0) = (
        ALLOCS.load(Relaxed),
        BYTES.load(Relaxed),
        MINE.with(Cell::get),
    );
    let t0 = Instant::now();
    run(&mut s, MEASURED, &mut buf);
    let secs = t0.elapsed().as_secs_f64();
    let (a1, b1, m1) = (
        ALLOCS.load(Relaxed),
        BYTES.load(Relaxed),
        MINE.with(Cell::get),
    );
    Row {
        name,
        allocs: (a1 - a0) as f64 / MEASURED as f64,
        client: (m1 - m0) as f64 / MEASURED as f64,
        bytes: (b1 - b0) as f64 / MEASURED as f64,
        rps: MEASURED as f64 / secs,
    }
}

fn main() {
    let origin = origin();
    let (proxy, phase_flag, _dir) = start_proxy(origin);
    let rows = [
        measure("baseline: client → origin, no proxy", origin, "x", false),
        measure("respond service, keep-alive", proxy, "respond.local", false),
        measure("proxied to origin, keep-alive", proxy, "bench.local", false),
        measure("whoami@internal, keep-alive", proxy, "whoami.local", false),
        measure(
            "respond service, new connection per request",
            proxy,
            "respond.local",
            true,
        ),
        measure(
            "proxied to origin, new connection per request",
            proxy,
            "bench.local",
            true,
        ),
    ];
    println!(
        "\nheap allocations per request, steady state ({WARMUP} warm-up, {MEASURED} measured; whole process)\n"
    );
    println!(
        "| path | allocations/req (all threads) | of which the client's | bytes allocated/req | req/s (1 client, unpinned) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.0} | {:.0} |",
            r.name, r.allocs, r.client, r.bytes, r.rps
        );
    }
    phase_flag.store(phase::ABORT, Relaxed);
}
