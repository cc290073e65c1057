"""Helpers the scenario modules (scenarios_mw, scenarios_tls_up, scenarios_h2)
share: start proxyd, nginx or HAProxy from a config text, start an extra origin,
ask `proxyd check` whether a config is accepted, and print a table of free-form
columns. `ctx.h` is the `run` script itself (Target, free_port, run_wrk, ...)."""

import resource
import socket
import ssl
import subprocess
from pathlib import Path

# The location every nginx proxy uses, as in `run`'s write_nginx: keep-alive to the
# upstream, the same forwarded headers as proxyd, no spooling to disk.
NGINX_PROXY = """      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_max_temp_file_size 0;
"""


def nginx_version():
    r = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    v = (r.stderr + r.stdout).split("nginx/", 1)[-1].split()[0]
    return tuple(int(x) for x in v.split(".")[:3])


def nginx_h2(listen_ssl):
    """(listen parameters, server directive) turning HTTP/2 on: `http2 on;` from
    nginx 1.25.1, the `http2` listen parameter before it (Debian 12 has 1.22)."""
    ssl = " ssl" if listen_ssl else ""
    if nginx_version() >= (1, 25, 1):
        return ssl, "    http2 on;\n"
    return f"{ssl} http2", ""


def proxyd_files(ctx, tag, port, dynamic, cores=1, tls=None):
    """Writes proxyd's static and dynamic files; `tls` = (cert, key, pem) serves
    HTTPS on the entry point. Returns the static file."""
    tmp = ctx.tmp
    dyn = tmp / f"proxyd-{tag}.dynamic.toml"
    if tls:
        dynamic += (f'\n[[tls.certificates]]\ncertFile = "{tls[0]}"\nkeyFile = "{tls[1]}"\n'
                    f'[tls.stores.default.defaultCertificate]\ncertFile = "{tls[0]}"\nkeyFile = "{tls[1]}"\n')
    dyn.write_text(dynamic)
    static = tmp / f"proxyd-{tag}.toml"
    tls_ep = "[entryPoints.web.http.tls]\n" if tls else ""
    static.write_text(f"""[entryPoints.web]
address = "127.0.0.1:{port}"
{tls_ep}[providers.file]
filename = "{dyn}"
watch = false
[workers]
cores = {cores}
[log]
level = "INFO"
""")
    return static


def proxyd_check(ctx, static):
    """(accepted, message) from `proxyd check`."""
    r = subprocess.run([str(ctx.proxyd_bin), "check", "--config", str(static)],
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0, (r.stderr + r.stdout).strip()


def start_proxyd(ctx, tag, dynamic, cores=1, cpus=None, tls=None, static=None, port=None):
    if static is None:
        port = ctx.h.free_port()
        static = proxyd_files(ctx, tag, port, dynamic, cores, tls)
    argv = [str(ctx.proxyd_bin), "--config", str(static), "--cores", str(cores)]
    return ctx.h.Target("proxyd", port, ctx.procs, argv, cpus or ctx.proxy_cpus,
                        ctx.tmp / f"proxyd-{tag}.log", "bench.local", tls=tls is not None)


def start_nginx(ctx, tag, http_body, workers=1, cpus=None, tls=False, role="proxy"):
    """nginx with `http_body` inside `http {}`; the body uses `{port}` for its port."""
    port = ctx.h.free_port()
    conf = ctx.tmp / f"nginx-{tag}.conf"
    conf.write_text(f"""# nginx as a {role} (loadtest scenario {tag})
{ctx.h.nginx_common(ctx.tmp, f"nginx-{tag}", workers)}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
{http_body.replace("{port}", str(port))}
}}
""")
    argv = ["nginx", "-p", str(ctx.tmp), "-e", str(ctx.tmp / f"nginx-{tag}.error.log"), "-c", str(conf)]
    return ctx.h.Target("nginx", port, ctx.procs, argv, cpus or ctx.proxy_cpus,
                        ctx.tmp / f"nginx-{tag}.log", "bench.local", tls=tls)


def start_origin(ctx, tag, http_body, tls=False):
    """An extra origin (nginx, one worker, on the generator's core); returns its Target."""
    return start_nginx(ctx, f"origin-{tag}", http_body, 1, ctx.gen_cpus, tls, role="origin")


def start_haproxy(ctx, tag, frontend, backend, threads=1, cpus=None, tls=None, bind_extra="", maxconn=None):
    """HAProxy with `frontend` and `backend` lines (indented) under the defaults of
    `run`'s write_haproxy; `tls` = (cert, key, pem) binds with `ssl crt`."""
    port = ctx.h.free_port()
    conf = ctx.tmp / f"haproxy-{tag}.cfg"
    # HAProxy wants 2 descriptors per connection plus one per server and check.
    maxconn = maxconn or max(1000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200) // 2)
    conf.write_text(f"""# HAProxy (loadtest scenario {tag})
global
  nbthread {threads}
  maxconn {maxconn}
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}{f" ssl crt {tls[2]}" if tls else ""}{bind_extra}
{frontend}  default_backend be
backend be
{backend}""")
    argv = ["haproxy", "-db", "-f", str(conf)]
    return ctx.h.Target("haproxy", port, ctx.procs, argv, cpus or ctx.proxy_cpus,
                        ctx.tmp / f"haproxy-{tag}.log", "bench.local", tls=tls is not None)


def stop(ctx, targets):
    for t in targets.values():
        if t.proc in ctx.procs.procs:
            ctx.procs.stop(t.proc)


def head(t, path, headers=()):
    """One GET over HTTP/1.1 (TLS when the target serves it): (status line,
    {lower-case header: value}, body length)."""
    raw = socket.create_connection(("127.0.0.1", t.port), timeout=5)
    s = raw
    if t.tls:
        c = ssl.create_default_context()
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        s = c.wrap_socket(raw, server_hostname="bench.local")
    extra = "".join(f"{h}\r\n" for h in headers)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench.local\r\n{extra}Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, len(body)


def add_custom(ctx, sid, title, columns, rows, note=""):
    """Prints and records a table of free-form columns (`rows`: lists of cells);
    rows.tsv leaves it out (it is not a per-request table)."""
    out = ["| " + " | ".join(columns) + " |", "|---" + "|---:" * (len(columns) - 1) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    text = "\n".join(out) + (f"\n\n{note}" if note else "")
    print(f"\n## Scenario {sid}: {title}\n\n{text}\n", flush=True)
    ctx.md.append(f"### Scenario {sid}: {title}\n\n{text}\n")
    ctx.results["scenarios"].append({"id": sid, "title": title, "columns": columns, "rows": rows,
                                     "note": note, "custom": True})


def skipped(ctx, sid, title, why):
    ctx.h.log(f"SKIP scenario {sid}: {why}")
    ctx.md.append(f"### Scenario {sid}: {title}\n\nSkipped: {why}\n")
    print(f"\n## Scenario {sid}: {title}\n\nSkipped: {why}\n", flush=True)


def read_tail(path, n=2000):
    return Path(path).read_text(errors="replace")[-n:]
