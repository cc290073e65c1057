"""A gRPC server for proxyd's tests: generic handlers over raw bytes (no
protoc). Prints "PORT <n>" once listening on 127.0.0.1. With --tls CERT KEY it
serves TLS (ALPN h2). Cancellations it sees are appended to --events. With
--health FILE it also serves grpc.health.v1.Health/Check, answering the status
named in FILE (SERVING, NOT_SERVING; UNIMPLEMENTED aborts the call), each call
appended to --events as "health request=<bytes> deadline=<yes|no>"."""
import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

ap = argparse.ArgumentParser()
ap.add_argument("--tls", nargs=2)
ap.add_argument("--events", required=True)
ap.add_argument("--health")
args = ap.parse_args()
lock = threading.Lock()


def event(text):
    with lock, open(args.events, "a") as f:
        f.write(text + "\n")


def unary(req, ctx):
    left = ctx.time_remaining()
    deadline = "yes" if left is not None and left < 60 else "no"
    return b"echo:" + req + b" deadline=" + deadline.encode()


def server_stream(req, ctx):
    for i in range(int(req)):
        yield b"item%d" % i


def bidi(reqs, ctx):
    for r in reqs:
        yield b"re:" + r


def abort(req, ctx):
    ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "not for you: " + req.decode())


def slow(req, ctx):
    time.sleep(3)
    return b"late"


def forever(req, ctx):
    ctx.add_callback(lambda: event("forever ended active=%s" % ctx.is_active()))
    i = 0
    while ctx.is_active() and i < 600:
        yield b"tick%d" % i
        i += 1
        time.sleep(0.05)


def health_check(req, ctx):
    left = ctx.time_remaining()
    event("health request=%d deadline=%s" % (len(req), "yes" if left is not None and left < 60 else "no"))
    try:
        want = open(args.health).read().strip()
    except OSError:
        want = "SERVING"
    if want == "UNIMPLEMENTED":
        ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "no health here")
    # HealthCheckResponse { status = 1 (SERVING) | 2 (NOT_SERVING) }, hand-encoded.
    return b"\x08" + bytes([1 if want == "SERVING" else 2])


ident = lambda b: b
handlers = {
    "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
    "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
    "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
    "Abort": grpc.unary_unary_rpc_method_handler(abort, ident, ident),
    "Slow": grpc.unary_unary_rpc_method_handler(slow, ident, ident),
    "Forever": grpc.unary_stream_rpc_method_handler(forever, ident, ident),
}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.T", handlers),))
if args.health:
    check = {"Check": grpc.unary_unary_rpc_method_handler(health_check, ident, ident)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("grpc.health.v1.Health", check),))
if args.tls:
    cert, key = (open(p, "rb").read() for p in args.tls)
    creds = grpc.ssl_server_credentials([(key, cert)])
    port = server.add_secure_port("127.0.0.1:0", creds)
else:
    port = server.add_insecure_port("127.0.0.1:0")
server.start()
print("PORT %d" % port, flush=True)
sys.stdin.read()  # ends when the test closes our stdin
server.stop(0)
