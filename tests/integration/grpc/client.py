"""A gRPC client for proxyd's tests: runs every scenario through TARGET and
prints one "name=result" line each. With --ca CA --name NAME it speaks TLS."""
import argparse
import queue

import grpc

ap = argparse.ArgumentParser()
ap.add_argument("target")
ap.add_argument("--ca")
ap.add_argument("--name")
args = ap.parse_args()

if args.ca:
    creds = grpc.ssl_channel_credentials(open(args.ca, "rb").read())
    opts = [("grpc.ssl_target_name_override", args.name)]
    ch = grpc.secure_channel(args.target, creds, options=opts)
else:
    ch = grpc.insecure_channel(args.target)
ident = lambda b: b


def call(kind, name):
    return getattr(ch, kind)("/test.T/" + name, request_serializer=ident, response_deserializer=ident)


def out(name, value):
    print("%s=%s" % (name, value), flush=True)


out("unary", call("unary_unary", "Unary")(b"hi", timeout=20).decode())
items = [m.decode() for m in call("unary_stream", "ServerStream")(b"5", timeout=20)]
out("server_stream", ",".join(items))
reqs = iter([b"a", b"b", b"c"])
out("bidi", ",".join(m.decode() for m in call("stream_stream", "Bidi")(reqs, timeout=20)))
# Ping-pong: each message waits for the answer to the one before, so the
# request and response streams must flow at the same time.
answers = queue.Queue()


def pingpong():
    for m in [b"a", b"b", b"c"]:
        yield m
        answers.get(timeout=5)


got = []
for m in call("stream_stream", "Bidi")(pingpong(), timeout=20):
    got.append(m.decode())
    answers.put(m)
out("pingpong", ",".join(got))
try:
    call("unary_unary", "Abort")(b"x", timeout=20)
    out("abort", "no error")
except grpc.RpcError as e:
    out("abort", "%s/%s" % (e.code().name, e.details()))
try:
    call("unary_unary", "Slow")(b"x", timeout=0.5)
    out("deadline", "no error")
except grpc.RpcError as e:
    out("deadline", e.code().name)
stream = call("unary_stream", "Forever")(b"", timeout=20)
got = [next(stream) for _ in range(3)]
stream.cancel()
out("cancel", ",".join(m.decode() for m in got))
