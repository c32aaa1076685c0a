#!/usr/bin/env python3
"""HTTPS test page for the browser tests: requires a client certificate issued
by the test CA and shows its subject.

usage: p11_browser_server.py CERT KEY CA PORTFILE LOGFILE

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening),
handles each connection in its own thread (browsers open several, some idle),
and appends "subject: ..." to LOGFILE for every verified client certificate.
"""
import http.server
import html
import os
import ssl
import sys


def subject_text(cert):
    # getpeercert(): ((('commonName', 'x'),), ...) -> "CN=x, O=y"
    short = {"commonName": "CN", "organizationName": "O", "countryName": "C"}
    parts = []
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            parts.append("%s=%s" % (short.get(k, k), v))
    return ", ".join(parts)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert()
        subj = subject_text(cert) if cert else "none"
        tls = self.connection.version()
        with open(self.server.logfile, "a") as f:
            f.write("subject: %s path: %s tls: %s\n" % (subj, self.path, tls))
        body = ("<!DOCTYPE html><html><head><title>walletkey client certificate"
                "</title></head><body><h1>client certificate</h1>"
                "<p id=\"subject\">subject: %s</p><p id=\"tls\">%s</p>"
                "</body></html>\n" % (html.escape(subj), html.escape(tls))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("server: " + (fmt % args) + "\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # the handshake runs in the connection's thread, not in accept()
        request.settimeout(60)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("server: handshake from %s: %s\n" % (client_address[0], e))
            return
        self.RequestHandlerClass(tls, client_address, self)


def main():
    cert, key, ca, portfile, logfile = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = Server(("127.0.0.1", 0), Handler)
    srv.ctx = ctx
    srv.logfile = logfile
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
