"""HTTP/2 scenarios (#13), driven by h2load (Debian package nghttp2-client):

- `h2`: HTTP/2 over TLS (ALPN h2, ECDSA P-256) with 100 streams per connection
  (`h2load -m 100`) on a few connections, to the HTTP/1.1 origin with upstream
  keep-alive: proxyd vs nginx (`listen ... ssl` + HTTP/2) vs HAProxy
  (`alpn h2,http/1.1`).
- `h2c`: HTTP/2 end to end in clear text: h2load speaks h2c (prior knowledge)
  to the proxy, which speaks h2c to an h2c origin (nginx `listen ... http2`
  without TLS). proxyd uses an `h2c://` server; HAProxy `proto h2`; nginx cannot
  proxy to an HTTP/2 upstream except with `grpc_pass` (its gRPC proxy, which
  carries any request over HTTP/2 with upstream keep-alive), so its row is
  `grpc_pass grpc://`. While `proxyd check` refuses `h2c://`, proxyd's row is
  skipped with the reason in the log and the table's note.

h2load gives no latency percentiles, only min/max/mean: the rows have req/s,
CPU per request and errors."""

import re
import subprocess

import lt_common as c

SCENARIOS = {
    "h2": "HTTP/2 over TLS, h2load -c4 -m100, to the HTTP/1.1 origin",
    "h2c": "h2c client to an h2c upstream, h2load -c4 -m100 (nginx: grpc_pass)",
}
H2_CONNS = 4
H2_STREAMS = 100
# Up to H2_CONNS × H2_STREAMS requests are in flight, each on its own upstream
# connection (HTTP/1.1, and nginx's grpc_pass too, do not multiplex): every
# proxy keeps that many idle, else the pools churn (nginx's usual `keepalive 64`
# closed ~1 connection per request here).
POOL = 512


def run_h2load(ctx, t, path, duration):
    h = ctx.h
    h.alive(t)
    port = getattr(t, "h2_port", t.port)
    url = f"{'https' if t.tls else 'http'}://127.0.0.1:{port}{path}"
    argv = ["timeout", "-k", "5", str(duration + 30), "taskset", "-c", ctx.gen_cpus,
            "h2load", "-t", "1", "-c", str(H2_CONNS), "-m", str(H2_STREAMS), "-D", str(duration), url]
    before = h.cpu_ticks(t.pids())
    r = subprocess.run(argv, capture_output=True, text=True)
    after = h.cpu_ticks(t.pids())
    out = r.stdout
    fin = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                    r"(\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if r.returncode != 0 or not (fin and req and codes):
        raise RuntimeError(f"h2load failed ({r.returncode}): {out[-800:]} {r.stderr[-500:]}")
    # h2load falls back to HTTP/1.1 if ALPN does not agree on h2: that row would
    # measure something else.
    if "Application protocol: h2" not in out and "h2c" not in out:
        raise RuntimeError(f"h2load did not speak HTTP/2 to {t.name}: {out[-800:]}")
    done = int(req.group(3))
    none = {k: None for k in ["50", "75", "90", "99", "99.9", "99.99"]}
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
    return {
        "requests": done, "rps": float(fin.group(2)),
        "p50": None, "p99": None, "p999": None, "pct": none,
        "errors": int(req.group(5)) + int(req.group(6)) + int(req.group(7)),
        "non2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
        "cpu_us_per_req": (after - before) * 1e6 / ctx.h.CLK_TCK / done if done else None,
        "mbps": None, "mean": mean.group(1) if mean else None,
    }


def h2_runs(ctx, ts, path="/small"):
    return ctx.h.interleave(ts, ctx.args.rounds, ctx.warm,
                            lambda name, w: run_h2load(ctx, ts[name], path, 1 if w else ctx.D))


def scenario_h2(ctx):
    cert = ctx.h.make_cert(ctx.tmp, "ecdsa")
    o = ctx.origin_port
    listen, directive = c.nginx_h2(True)
    ts = {
        "proxyd": c.start_proxyd(ctx, "h2", f"""[http.routers.all]
rule = "PathPrefix(`/`)"
service = "origin"
[http.services.origin.loadBalancer]
serversTransport = "pool"
  [[http.services.origin.loadBalancer.servers]]
  url = "http://127.0.0.1:{o}"
[http.serversTransports.pool]
maxIdleConnsPerHost = {POOL}
""", tls=cert),
        "nginx": c.start_nginx(ctx, "h2", f"""  upstream origin {{ server 127.0.0.1:{o}; keepalive {POOL}; }}
  server {{
    listen 127.0.0.1:{{port}}{listen} backlog=4096 default_server;
{directive}    server_name _;
    ssl_certificate {cert[0]};
    ssl_certificate_key {cert[1]};
    ssl_session_cache shared:SSL:10m;
    location / {{
      proxy_pass http://origin;
{c.NGINX_PROXY}    }}
  }}""", tls=True),
        "haproxy": c.start_haproxy(ctx, "h2", "", f"  server o1 127.0.0.1:{o}\n", tls=cert,
                                   bind_extra=" alpn h2,http/1.1"),
    }
    ctx.add("h2", SCENARIOS["h2"], ctx.h.rows_from(h2_runs(ctx, ts)),
            note=f"h2load -t1 -c{H2_CONNS} -m{H2_STREAMS} over TLS 1.3 (ALPN h2, ECDSA P-256) to the proxy; "
                 f"the proxy to the origin: HTTP/1.1 with keep-alive, {POOL} idle connections kept (nginx `keepalive`, "
                 "proxyd `maxIdleConnsPerHost`; HAProxy keeps all by default). nginx `listen … ssl` with HTTP/2 on "
                 "(`http2 on;` from 1.25.1, the `http2` listen parameter before); HAProxy `bind … ssl crt … "
                 "alpn h2,http/1.1`; proxyd's TLS entry point (ALPN `h2`, `http/1.1` by default). h2load gives "
                 "no latency percentiles.")
    c.stop(ctx, ts)


def h2c_origin(ctx):
    """An nginx origin speaking h2c (prior knowledge) on `h2_port`, and HTTP/1.1 on
    its Target port (nginx before 1.25.1 cannot speak both on one plaintext port)."""
    h2_port = ctx.h.free_port()
    listen, directive = c.nginx_h2(False)
    origin = c.start_origin(ctx, "h2c", f"""  server {{
    listen 127.0.0.1:{{port}} backlog=4096;
    listen 127.0.0.1:{h2_port}{listen} backlog=4096;
{directive}    location = /small {{ default_type text/plain; return 200 "hello, world\\n"; }}
  }}""")
    origin.h2_port = h2_port
    return origin


def scenario_h2c(ctx):
    title = SCENARIOS["h2c"]
    origin = h2c_origin(ctx)
    o = origin.h2_port
    ts = {}
    port = ctx.h.free_port()
    static = c.proxyd_files(ctx, "h2c", port, f"""[http.routers.all]
rule = "PathPrefix(`/`)"
service = "origin"
[http.services.origin.loadBalancer]
serversTransport = "pool"
  [[http.services.origin.loadBalancer.servers]]
  url = "h2c://127.0.0.1:{o}"
[http.serversTransports.pool]
maxIdleConnsPerHost = {POOL}
""")
    ok, msg = c.proxyd_check(ctx, static)
    skip = ""
    if ok:
        ts["proxyd"] = c.start_proxyd(ctx, "h2c", "", static=static, port=port)
    else:
        skip = f"proxyd row skipped: `proxyd check` refuses an `h2c://` server: {msg.splitlines()[-1][:300]}"
        ctx.h.log(f"SKIP scenario h2c, proxyd row: `proxyd check` refuses `h2c://` servers: {msg[-500:]}")
    # nginx: its front listener speaks h2c on h2_port, HTTP/1.1 on port (readiness).
    h2_front = ctx.h.free_port()
    listen, directive = c.nginx_h2(False)
    nginx = c.start_nginx(ctx, "h2c", f"""  upstream origin_h2c {{ server 127.0.0.1:{o}; keepalive {POOL}; }}
  server {{
    listen 127.0.0.1:{{port}} backlog=4096 default_server;
    listen 127.0.0.1:{h2_front}{listen} backlog=4096;
{directive}    server_name _;
    location / {{
      grpc_pass grpc://origin_h2c;
      grpc_set_header Host $http_host;
      grpc_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      grpc_set_header X-Forwarded-Proto $scheme;
      grpc_set_header X-Forwarded-Host $host;
    }}
  }}""")
    nginx.h2_port = h2_front
    ts["nginx"] = nginx
    # HAProxy detects the HTTP/2 preface on a clear-text bind by itself.
    ts["haproxy"] = c.start_haproxy(ctx, "h2c", "", f"  server o1 127.0.0.1:{o} proto h2\n")
    rows = ctx.h.rows_from(h2_runs(ctx, ts))
    for r in rows:
        if r["target"] == "nginx":
            r["label"] = "nginx (grpc_pass)"
    note = (f"h2load -t1 -c{H2_CONNS} -m{H2_STREAMS} in clear text (h2c, prior knowledge) to the proxy; the "
            "proxy to the origin (nginx `listen … http2` without TLS): h2c over kept-alive connections. "
            "proxyd: an `h2c://` server; HAProxy `server … proto h2`; nginx has no HTTP/2 `proxy_pass`, so "
            "it uses `grpc_pass grpc://` (its gRPC proxy, HTTP/2 to the upstream, one request per connection, "
            f"`keepalive {POOL}`; proxyd `maxIdleConnsPerHost = {POOL}`): "
            "what is compared is each proxy's cheapest way to forward HTTP/2 to an HTTP/2 origin.")
    if skip:
        note += f" **{skip}**"
    ctx.add("h2c", title, rows, note=note)
    c.stop(ctx, ts)
    ctx.procs.stop(origin.proc)


def run(ctx, scen):
    for sid, fn in [("h2", scenario_h2), ("h2c", scenario_h2c)]:
        if sid in scen:
            ctx.h.log(f"scenario {sid}")
            fn(ctx)
