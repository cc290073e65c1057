"""Scenarios for the upstream side (#12):

- `up-tls`: HTTPS to the upstream over a keep-alive pool. The origin is nginx
  with `listen ... ssl` (an ECDSA P-256 certificate for bench.local, signed
  by a CA made for the run); the client speaks plain HTTP/1.1 to the proxy. Every proxy checks
  the origin's certificate against that CA and the name bench.local:
  proxyd `serversTransport` `rootCAs` + `serverName`; nginx `proxy_pass https://`
  with `proxy_ssl_verify on`, `proxy_ssl_name`, `proxy_ssl_session_reuse on` and
  `upstream { keepalive 64; }`; HAProxy `ssl verify required ca-file ... sni`
  with `http-reuse always`.
- `hc1k`: active health checks of one service of 1,000 servers at a 1 s
  interval, no client traffic. The servers are 127.0.1.1 ... 127.0.4.250 on
  one port, all reaching one origin bound to 0.0.0.0 (which answers loopback
  clients only). Figures: the proxy's CPU over the window as % of one core
  (from /proc/<pid>/task/*/schedstat, in ns), the probes per second the origin
  logged, and the CPU per probe. HAProxy (`option httpchk`, `check inter 1s`)
  runs in the same windows on its own probe path; nginx has no active health
  checks (only in NGINX Plus), so it has no row."""

import statistics
import subprocess
import time
from pathlib import Path

import lt_common as c

SCENARIOS = {
    "up-tls": "HTTPS to the upstream (keep-alive pool, TLS 1.3, ECDSA P-256), /small and /16k, wrk -c50",
    "hc1k": "active health checks of 1,000 servers every 1 s, no client traffic: CPU % of one core",
}
HC_SERVERS = 1000


def make_ca_and_leaf(tmp):
    """A CA and an ECDSA P-256 leaf for bench.local that it signed. `run`'s
    make_cert is self-signed with CA:TRUE, which rustls (webpki) refuses as a
    server certificate (CaUsedAsEndEntity), where Go accepts it. Returns
    (leaf cert, leaf key, CA cert)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    ca, ca_key = tmp / "up-ca.crt", tmp / "up-ca.key"
    csr, leaf, key = tmp / "up-leaf.csr", tmp / "up-leaf.crt", tmp / "up-leaf.key"
    ext = tmp / "up-leaf.ext"
    ext.write_text("subjectAltName=DNS:bench.local\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    for argv in [
        ["openssl", "req", "-x509", "-nodes", "-days", "2", *ec, "-subj", "/CN=loadtest CA",
         "-keyout", str(ca_key), "-out", str(ca)],
        ["openssl", "req", "-nodes", *ec, "-subj", "/CN=bench.local", "-keyout", str(key), "-out", str(csr)],
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "2", "-extfile", str(ext), "-out", str(leaf)],
    ]:
        subprocess.run(argv, check=True, capture_output=True)
    return leaf, key, ca


def tls_origin(ctx, cert):
    www = ctx.tmp / "www"  # the main origin's static files (16k, 1m)
    return c.start_origin(ctx, "tls", f"""  server {{
    listen 127.0.0.1:{{port}} ssl backlog=4096;
    ssl_certificate {cert[0]};
    ssl_certificate_key {cert[1]};
    ssl_session_cache shared:SSLO:10m;
    ssl_session_tickets on;
    location = /small {{ default_type text/plain; return 200 "hello, world\\n"; }}
    location / {{ root {www}; default_type application/octet-stream; }}
  }}""", tls=True)


def scenario_up_tls(ctx):
    cert = make_ca_and_leaf(ctx.tmp)
    origin = tls_origin(ctx, cert)
    ca = cert[2]
    o = origin.port
    proxyd = c.start_proxyd(ctx, "up-tls", f"""[http.routers.all]
rule = "PathPrefix(`/`)"
service = "origin"
[http.services.origin.loadBalancer]
serversTransport = "tlsup"
  [[http.services.origin.loadBalancer.servers]]
  url = "https://127.0.0.1:{o}"
[http.serversTransports.tlsup]
serverName = "bench.local"
rootCAs = ["{ca}"]
""")
    nginx = c.start_nginx(ctx, "up-tls", f"""  upstream origin_tls {{ server 127.0.0.1:{o}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{{port}} backlog=4096 default_server;
    server_name _;
    location / {{
      proxy_pass https://origin_tls;
      proxy_ssl_session_reuse on;
      proxy_ssl_server_name on;
      proxy_ssl_name bench.local;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate {ca};
{c.NGINX_PROXY}    }}
  }}""")
    haproxy = c.start_haproxy(ctx, "up-tls", "", f"  server o1 127.0.0.1:{o} ssl verify required ca-file {ca} "
                                                 "sni str(bench.local) verifyhost bench.local\n")
    ts = {"proxyd": proxyd, "nginx": nginx, "haproxy": haproxy}
    for path, label in [("/small", "small body"), ("/16k", "16 KiB body")]:
        rows = ctx.h.rows_from(ctx.wrk_runs(ts, path))
        for r in rows:
            r["mbps"] = ctx.h.summarize(r["runs"], "mbps")
        ctx.add(f"up-tls-{path.strip('/')}", f"HTTPS to the upstream, keep-alive pool, {label}, wrk -c50", rows,
                note="Client → proxy: plain HTTP/1.1 keep-alive; proxy → origin: TLS (nginx origin, "
                     "ECDSA P-256, session cache and tickets on), certificate (signed by a CA made for the run) verified for bench.local. "
                     "proxyd `serversTransport` with `rootCAs` + `serverName`; nginx `proxy_pass https://` + "
                     "`proxy_ssl_session_reuse on` + `proxy_ssl_verify on` + `upstream { keepalive 64; }`; "
                     "HAProxy `ssl verify required ca-file … sni str(bench.local)` + `http-reuse always`.")
    c.stop(ctx, ts)
    ctx.procs.stop(origin.proc)


def hc_addresses():
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(HC_SERVERS)]


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in ns (schedstat: finer than clock ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            pass  # a thread that just exited
    return total


def hc_targets(ctx, port):
    addrs = hc_addresses()
    servers = "".join(f'  [[http.services.origin.loadBalancer.servers]]\n  url = "http://{a}:{port}"\n'
                      for a in addrs)
    proxyd = c.start_proxyd(ctx, "hc1k", f"""[http.routers.all]
rule = "PathPrefix(`/`)"
service = "origin"
[http.services.origin.loadBalancer]
  [http.services.origin.loadBalancer.healthCheck]
  path = "/health-proxyd"
  interval = "1s"
  timeout = "3s"
{servers}""")
    lines = "".join(f"  server s{i} {a}:{port}\n" for i, a in enumerate(addrs))
    haproxy = c.start_haproxy(ctx, "hc1k", "", "  option httpchk GET /health-haproxy\n"
                                               "  default-server check inter 1s fall 3 rise 2\n" + lines,
                              maxconn=1000)
    return {"proxyd": proxyd, "haproxy": haproxy}


def scenario_hc1k(ctx):
    log = ctx.tmp / "hc-access.log"
    log.touch()
    origin = c.start_origin(ctx, "hc", f"""  server {{
    listen 0.0.0.0:{{port}} backlog=4096;
    allow 127.0.0.0/8;
    deny all;
    location = /small {{ default_type text/plain; return 200 "hello, world\\n"; }}
    location /health {{ access_log {log}; default_type text/plain; return 200 "ok\\n"; }}
  }}""")
    ts = hc_targets(ctx, origin.port)
    window = max(10, 2 * ctx.D)
    ctx.h.log(f"  hc1k: letting the first probes pass, then {ctx.args.rounds} window(s) of {window} s")
    time.sleep(3)
    samples = {n: [] for n in ts}
    for r in range(ctx.args.rounds):
        text = log.read_text(errors="replace")
        before = {n: (cpu_ns(t.proc.pid), text.count(f"/health-{n} ")) for n, t in ts.items()}
        t0 = time.monotonic()
        time.sleep(window)
        secs = time.monotonic() - t0
        text = log.read_text(errors="replace")
        for n, t in ts.items():
            ctx.h.alive(t)
            ns = cpu_ns(t.proc.pid) - before[n][0]
            probes = text.count(f"/health-{n} ") - before[n][1]
            s = {"core_pct": ns / secs / 1e7, "probes_per_s": probes / secs,
                 "us_per_probe": ns / 1000 / probes if probes else None}
            samples[n].append(s)
            ctx.h.log(f"  round {r + 1} {n:8s} {s['core_pct']:.2f}% of a core, {s['probes_per_s']:,.0f} probes/s")
    down = Path(ts["proxyd"].logf).read_text(errors="replace").count(" DOWN")
    rows = []
    for n, ss in samples.items():
        def med(k):
            vals = [s[k] for s in ss if s[k] is not None]
            return statistics.median(vals) if vals else None
        pct, rate, per = med("core_pct"), med("probes_per_s"), med("us_per_probe")
        rows.append([n, f"{pct:.2f}%", f"{rate:,.0f}", "—" if per is None else f"{per:.1f}"])
    c.add_custom(ctx, "hc1k", SCENARIOS["hc1k"],
                 ["target", "CPU, % of one core", "probes/s seen by the origin", "CPU µs per probe"], rows,
                 note=f"{HC_SERVERS} servers (127.0.1.1 … 127.0.4.250, one origin port), interval 1 s, "
                      f"medians of {ctx.args.rounds} window(s) of {window} s with no client traffic; "
                      f"1,000 probes/s expected. proxyd keeps one connection per server (the next probe goes on it); "
                      f"HAProxy opens one per check. proxyd: `healthCheck` "
                      f"`path`, `interval = \"1s\"`, `timeout = \"3s\"` (one probing thread per process); "
                      f"DOWN transitions in its log: {down}. HAProxy: `option httpchk GET …` + `check inter "
                      f"1s`. nginx has no active health checks (NGINX Plus only).",
                 )
    c.stop(ctx, ts)
    ctx.procs.stop(origin.proc)


def run(ctx, scen):
    for sid, fn in [("up-tls", scenario_up_tls), ("hc1k", scenario_hc1k)]:
        if sid in scen:
            ctx.h.log(f"scenario {sid}")
            fn(ctx)
