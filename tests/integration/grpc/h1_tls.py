"""An HTTPS HTTP/1.1 server for proxyd's tests: ALPN offers ALPN (comma
separated), and each answer is "alpn=<the protocol the handshake agreed>".
Prints "PORT <n>"; runs until its stdin closes."""
import http.server
import ssl
import sys
import threading

cert, key, alpn = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(alpn.split(","))


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("alpn=%s" % self.connection.selected_alpn_protocol()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("PORT %d" % srv.server_address[1], flush=True)
sys.stdin.read()
