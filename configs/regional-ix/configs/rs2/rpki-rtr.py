#!/usr/bin/env python3
"""A small RPKI-to-Router cache (RFC 6810 version 0, RFC 8210 version 1) serving a fixed ROA set.

labctl renders it onto FRR route servers (/etc/labctl/rpki-rtr.py) with the lab's ROAs
(/etc/labctl/roas.json) and runs it on 127.0.0.1:3323; bgpd's rpki module connects to it.
The BIRD route servers load the same ROAs as static roa tables. When the ROA file changes the
cache bumps its serial and sends a Serial Notify, so a `labctl push` of new ROAs reaches FRR
without a restart.

Standard library only: it runs inside the lab node image, and is imported by unit tests.
Usage: rpki-rtr.py ROAS.json [--listen 127.0.0.1] [--port 3323]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import selectors
import socket
import struct
import sys

SERIAL_NOTIFY, SERIAL_QUERY, RESET_QUERY, CACHE_RESPONSE = 0, 1, 2, 3
IPV4_PREFIX, IPV6_PREFIX, END_OF_DATA, CACHE_RESET, ERROR_REPORT = 4, 6, 7, 8, 10
REFRESH, RETRY, EXPIRE = 60, 30, 7200
SUPPORTED = (0, 1)


def load_roas(path: str) -> list[tuple[ipaddress._BaseNetwork, int, int]]:
    with open(path) as fh:
        data = json.load(fh)
    out = []
    for roa in data.get("roas", []):
        net = ipaddress.ip_network(roa["prefix"])
        asn = str(roa["asn"]).upper().removeprefix("AS")
        out.append((net, int(roa.get("maxLength", net.prefixlen)), int(asn)))
    return sorted(out, key=lambda r: (r[0].version, r[0], r[1], r[2]))


def pdu_header(version: int, kind: int, session_or_zero: int, length: int) -> bytes:
    return struct.pack("!BBHI", version, kind, session_or_zero, length)


def prefix_pdu(version: int, roa: tuple, announce: bool = True) -> bytes:
    net, max_length, asn = roa
    flags = 1 if announce else 0
    if net.version == 4:
        return pdu_header(version, IPV4_PREFIX, 0, 20) + struct.pack(
            "!BBBB4sI", flags, net.prefixlen, max_length, 0, net.network_address.packed, asn)
    return pdu_header(version, IPV6_PREFIX, 0, 32) + struct.pack(
        "!BBBB16sI", flags, net.prefixlen, max_length, 0, net.network_address.packed, asn)


def end_of_data(version: int, session: int, serial: int) -> bytes:
    if version == 0:
        return pdu_header(version, END_OF_DATA, session, 12) + struct.pack("!I", serial)
    return pdu_header(version, END_OF_DATA, session, 24) + struct.pack("!IIII", serial, REFRESH, RETRY, EXPIRE)


def error_report(version: int, code: int, bad_pdu: bytes, text: str) -> bytes:
    msg = text.encode()
    length = 8 + 4 + len(bad_pdu) + 4 + len(msg)
    return pdu_header(version, ERROR_REPORT, code, length) + struct.pack("!I", len(bad_pdu)) + bad_pdu + \
        struct.pack("!I", len(msg)) + msg


class Cache:
    def __init__(self, path: str):
        self.path = path
        self.session = os.getpid() & 0xFFFF
        self.serial = 1
        self.mtime = self._mtime()
        self.roas = load_roas(path)

    def _mtime(self) -> float:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return 0.0

    def reload_if_changed(self) -> bool:
        mtime = self._mtime()
        if mtime == self.mtime:
            return False
        self.mtime = mtime
        try:
            roas = load_roas(self.path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"rpki-rtr: keeping the old ROAs, cannot read {self.path}: {exc}", file=sys.stderr, flush=True)
            return False
        if roas == self.roas:
            return False
        self.roas = roas
        self.serial = (self.serial + 1) & 0xFFFFFFFF
        print(f"rpki-rtr: {len(roas)} ROAs, serial {self.serial}", file=sys.stderr, flush=True)
        return True

    def full_response(self, version: int) -> bytes:
        body = b"".join(prefix_pdu(version, r) for r in self.roas)
        return pdu_header(version, CACHE_RESPONSE, self.session, 8) + body + end_of_data(version, self.session, self.serial)

    def answer(self, pdu: bytes, version_state: dict) -> tuple[bytes, bool]:
        """The reply to one PDU and whether to close the connection afterwards."""
        version, kind = pdu[0], pdu[1]
        if version not in SUPPORTED:
            return error_report(max(SUPPORTED), 4, pdu, "unsupported protocol version"), True
        version_state.setdefault("version", version)
        if kind == RESET_QUERY:
            return self.full_response(version), False
        if kind == SERIAL_QUERY:
            session, serial = struct.unpack("!H", pdu[2:4])[0], struct.unpack("!I", pdu[8:12])[0]
            if session == self.session and serial == self.serial:
                return pdu_header(version, CACHE_RESPONSE, self.session, 8) + end_of_data(version, self.session, self.serial), False
            return pdu_header(version, CACHE_RESET, 0, 8), False
        if kind == ERROR_REPORT:
            return b"", True
        return error_report(version, 3, pdu, "unsupported PDU type"), False


def serve(path: str, host: str, port: int, pidfile: str = ""):
    cache = Cache(path)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))  # fails when another instance serves: that one stays in charge
    listener.listen(16)
    if pidfile:
        with open(pidfile, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "listener")
    clients: dict[socket.socket, dict] = {}
    print(f"rpki-rtr: serving {len(cache.roas)} ROAs on {host}:{port}", file=sys.stderr, flush=True)
    while True:
        for key, _ in sel.select(timeout=1.0):
            if key.data == "listener":
                conn, _ = listener.accept()
                conn.setblocking(True)
                clients[conn] = {"buf": b""}
                sel.register(conn, selectors.EVENT_READ, clients[conn])
                continue
            conn, state = key.fileobj, key.data
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(conn)
                del clients[conn]
                conn.close()
                continue
            state["buf"] += chunk
            close = False
            while len(state["buf"]) >= 8 and not close:
                length = struct.unpack("!I", state["buf"][4:8])[0]
                if length < 8 or length > 65536:
                    close = True
                    break
                if len(state["buf"]) < length:
                    break
                pdu, state["buf"] = state["buf"][:length], state["buf"][length:]
                reply, close = cache.answer(pdu, state)
                if reply:
                    try:
                        conn.sendall(reply)
                    except OSError:
                        close = True
            if close:
                sel.unregister(conn)
                del clients[conn]
                conn.close()
        if cache.reload_if_changed():
            for conn, state in list(clients.items()):
                version = state.get("version", 1)
                try:
                    conn.sendall(pdu_header(version, SERIAL_NOTIFY, cache.session, 12) + struct.pack("!I", cache.serial))
                except OSError:
                    pass


def main():
    parser = argparse.ArgumentParser(description="Serve a ROA set over RPKI-to-Router (RFC 6810/8210).")
    parser.add_argument("roas", help="ROA file: {\"roas\": [{\"prefix\": ..., \"maxLength\": ..., \"asn\": ...}]}")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3323)
    parser.add_argument("--pidfile", default="", help="write the process id here once listening")
    args = parser.parse_args()
    try:
        serve(args.roas, args.listen, args.port, args.pidfile)
    except OSError as exc:
        print(f"rpki-rtr: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
