"""Scenarios for middlewares with a cost per request (#11):

- `rl`: proxyd `rateLimit` that never limits (average and burst far above the
  offered rate) vs nginx `limit_req` (a zone per client address, `burst` +
  `nodelay`) and HAProxy (a stick table of request rates per source);
- `gz`: a 16 KiB JSON body compressed with gzip, wrk sending
  `Accept-Encoding: gzip`: proxyd `compress` (gzip level 1, its fixed level) vs
  nginx `gzip_comp_level 1` (the baseline, as asked: the same level as proxyd)
  and 6, and HAProxy `compression algo gzip` (libslz, one fixed level);
- `rl2`: proxyd alone with 2 workers, the rateLimit route vs a bare route in the
  same process: the cost of the bucket every worker updates (atomics).

proxyd's rows `(bare)` use a `Host(`bare.local`)` router of the same process
without the middleware, run in the same rounds."""

import json
import random

import lt_common as c

SCENARIOS = {
    "rl": "rateLimit not limiting (average 1,000,000/s) vs nginx limit_req burst nodelay, wrk -c50",
    "gz": "16 KiB JSON gzip-compressed (Accept-Encoding: gzip): proxyd compress vs nginx gzip, wrk -c50",
    "rl2": "2 workers: the process-wide rateLimit route vs a bare route, proxyd only, wrk -c100 -t2",
}

# Far above what one core can offer (~100k requests/s), so nothing is limited,
# but the limiter still does its work per request.
RL_RATE = 1_000_000
RL_BURST = 1_000_000
JSON_SIZE = 16 * 1024


def json_body():
    """A deterministic JSON document of exactly 16 KiB, shaped like an API answer
    (an array of records), so compression ratios are realistic and stable."""
    rnd = random.Random(11)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    items = []
    while True:
        item = {"id": len(items) + 1000, "name": f"{rnd.choice(words)}-{rnd.randrange(10**6)}",
                "email": f"user{rnd.randrange(10**5)}@example.com", "active": rnd.random() < 0.5,
                "score": round(rnd.random() * 100, 3), "tags": rnd.sample(words, 3),
                "created": f"2026-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}T12:00:00Z"}
        if len(json.dumps(items + [item, {"pad": ""}])) > JSON_SIZE:
            break
        items.append(item)
    items.append({"pad": ""})
    items[-1]["pad"] = "x" * (JSON_SIZE - len(json.dumps(items)))
    text = json.dumps(items)
    assert len(text) == JSON_SIZE
    return text


def proxyd_dynamic(origin, middleware):
    """A catch-all router through `middleware` (TOML of `[http.middlewares.mw.*]`)
    and a bare `Host(bare.local)` router, both to one server."""
    return f"""[http.routers.all]
rule = "PathPrefix(`/`)"
service = "origin"
middlewares = ["mw"]
priority = 1
[http.routers.bare]
rule = "Host(`bare.local`)"
service = "origin"
{middleware}
[http.services.origin.loadBalancer]
  [[http.services.origin.loadBalancer.servers]]
  url = "http://127.0.0.1:{origin}"
"""


PROXYD_RL = f"""[http.middlewares.mw.rateLimit]
average = {RL_RATE}
burst = {RL_BURST}
"""


def nginx_server(origin, location_extra="", http_extra=""):
    return f"""{http_extra}  upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{{port}} backlog=4096 default_server;
    server_name _;
    location / {{
{location_extra}      proxy_pass http://origin;
{c.NGINX_PROXY}    }}
  }}"""


def interleaved(ctx, runs_for, path, conns=50, threads=1, cpus=None, headers=()):
    """wrk on every entry of `runs_for` (row name -> Target) in the same rounds;
    rows named `... (bare)` send `Host: bare.local`."""
    h = ctx.h

    def one(name, warm):
        host = "bare.local" if "(bare)" in name else "bench.local"
        return h.run_wrk(runs_for[name], path, 1 if warm else ctx.D, conns, threads, cpus or ctx.gen_cpus,
                         ctx.lua, [f"Host: {host}", *headers])

    return h.interleave(runs_for, ctx.args.rounds, ctx.warm, one)


def scenario_rl(ctx):
    o = ctx.origin_port
    ts = {
        "proxyd": c.start_proxyd(ctx, "rl", proxyd_dynamic(o, PROXYD_RL)),
        "nginx": c.start_nginx(ctx, "rl", nginx_server(
            o, f"      limit_req zone=perip burst={RL_BURST} nodelay;\n",
            f"  limit_req_zone $binary_remote_addr zone=perip:10m rate={RL_RATE}r/s;\n")),
        "haproxy": c.start_haproxy(
            ctx, "rl",
            "  stick-table type ip size 100k expire 30s store http_req_rate(1s)\n"
            "  http-request track-sc0 src\n"
            f"  http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {RL_RATE} }}\n",
            f"  server o1 127.0.0.1:{o}\n"),
    }
    runs_for = {"proxyd": ts["proxyd"], "proxyd (bare)": ts["proxyd"], "nginx": ts["nginx"],
                "haproxy": ts["haproxy"]}
    ctx.add("rl", SCENARIOS["rl"], ctx.h.rows_from(interleaved(ctx, runs_for, "/small")),
            note=f"proxyd `rateLimit` average {RL_RATE:,} burst {RL_BURST:,} (per client address); nginx "
                 f"`limit_req_zone $binary_remote_addr rate={RL_RATE}r/s` + `limit_req burst={RL_BURST} nodelay`; "
                 "HAProxy `stick-table ... store http_req_rate(1s)` + `track-sc0 src` + `deny_status 429`. "
                 "Every request comes from 127.0.0.1: one bucket. `proxyd (bare)`: a route of the same "
                 "process without the middleware.")
    c.stop(ctx, ts)


def gzip_check(t, name):
    """The target really compresses: a misconfigured row would measure nothing."""
    status, hdrs, size = c.head(t, "/16k.json", ["Accept-Encoding: gzip"])
    if "200" not in status or hdrs.get("content-encoding") != "gzip":
        raise RuntimeError(f"gz: {name} did not gzip /16k.json: {status} {hdrs}")
    framing = " (chunked framing included)" if "chunked" in hdrs.get("transfer-encoding", "") else ""
    return f"{name} {size:,} bytes{framing}"


def scenario_gz(ctx):
    body = json_body()
    www = ctx.tmp / "www-json"
    www.mkdir(exist_ok=True)
    (www / "16k.json").write_text(body)
    www.chmod(0o755)
    origin = c.start_origin(ctx, "json", f"""  server {{
    listen 127.0.0.1:{{port}} backlog=4096;
    location = /small {{ default_type text/plain; return 200 "hello\\n"; }}
    location = /16k.json {{ root {www}; default_type application/json; }}
  }}""")
    o = origin.port
    gz = ("  gzip on;\n  gzip_comp_level {lvl};\n  gzip_types application/json;\n"
          "  gzip_min_length 1024;\n  gzip_vary on;\n")
    ts = {
        "proxyd": c.start_proxyd(ctx, "gz", proxyd_dynamic(o, "[http.middlewares.mw.compress]\n")),
        "nginx": c.start_nginx(ctx, "gz", nginx_server(o, http_extra=gz.format(lvl=1))),
        "nginx gzip 6": c.start_nginx(ctx, "gz6", nginx_server(o, http_extra=gz.format(lvl=6))),
        "haproxy": c.start_haproxy(ctx, "gz", "  filter compression\n  compression algo gzip\n"
                                              "  compression type application/json\n",
                                   f"  server o1 127.0.0.1:{o}\n"),
    }
    sizes = [gzip_check(t, n) for n, t in ts.items()]
    ctx.h.log("  gz: compressed answers: " + "; ".join(sizes))
    runs_for = {"proxyd": ts["proxyd"], "proxyd (bare)": ts["proxyd"], **{k: v for k, v in ts.items()
                                                                          if k != "proxyd"}}
    rows = ctx.h.rows_from(interleaved(ctx, runs_for, "/16k.json", headers=["Accept-Encoding: gzip"]))
    for r in rows:
        r["mbps"] = ctx.h.summarize(r["runs"], "mbps")
    ctx.add("gz", SCENARIOS["gz"], rows,
            note=f"Body: {JSON_SIZE:,} bytes of JSON (`application/json`, from an origin of its own). "
                 "proxyd `compress` with its defaults: gzip at level 1 (flate2 on zlib-rs, encoders reused per "
                 "worker; proxyd has no level setting, as Traefik). nginx `gzip on; gzip_comp_level 1; gzip_types "
                 "application/json; gzip_min_length 1024; gzip_vary on` (the ×nginx baseline); `nginx gzip 6`: "
                 "the same at level 6. HAProxy `filter compression` + `compression algo gzip` (libslz, which "
                 "has a single level, close to zlib's 1). `proxyd (bare)`: the same body uncompressed "
                 "through a route of the same process without `compress`. Compressed sizes: "
                 + "; ".join(sizes) + ".")
    c.stop(ctx, ts)
    ctx.procs.stop(origin.proc)


def scenario_rl2(ctx):
    p = c.start_proxyd(ctx, "rl2", proxyd_dynamic(ctx.origin_port, PROXYD_RL), cores=2, cpus=ctx.two_cpus)
    runs_for = {"proxyd rateLimit": p, "proxyd (bare)": p}
    rows = ctx.h.rows_from(interleaved(ctx, runs_for, "/small", conns=100, threads=2, cpus=ctx.two_gen), " ×2")
    cpu = {r["target"]: r["cpu_us_per_req"] for r in rows}
    q = ctx.h.ratio(cpu["proxyd rateLimit"], cpu["proxyd (bare)"])
    note = (f"proxyd `--cores 2`; every request is from 127.0.0.1, so both workers update the same bucket. "
            f"CPU per request, rateLimit ÷ bare: **{'—' if q is None else f'{q:.3f}'}**.")
    if ctx.gen_bound_7:
        note += (f" **generator-bound**: this machine has {ctx.ncpu} cores, so wrk and the origin share "
                 "proxyd's 2 cores.")
    ctx.add("rl2", SCENARIOS["rl2"], rows, note=note, extra={"rl_over_bare_cpu": q})
    ctx.procs.stop(p.proc)


def run(ctx, scen):
    for sid, fn in [("rl", scenario_rl), ("gz", scenario_gz), ("rl2", scenario_rl2)]:
        if sid in scen:
            ctx.h.log(f"scenario {sid}")
            fn(ctx)
