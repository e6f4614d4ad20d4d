#!/usr/bin/env python3
"""A Core Lightning pyln-proto peer for cross-implementation tests over TCP.

  pyln_peer.py dial NODE_ID HOST PORT   connect to our node, exchange init,
                                        check ping/pong rules, print JSON
  pyln_peer.py listen                   listen on 127.0.0.1 (free port), print
                                        {"node_id", "port"}, serve one peer:
                                        exchange init, answer pings until it
                                        leaves, print JSON

Exits non-zero with a message on any protocol deviation.
"""
import json
import socket
import struct
import sys

from pyln.proto.wire import LightningServerSocket, PrivateKey, connect

REGTEST = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")
INIT, ERROR, PING, PONG = 16, 17, 18, 19


def our_init():
    # gflen 0; flen 2: var_onion_optin (9) and option_static_remotekey (13),
    # optional; networks TLV with the regtest chain.
    features = (1 << 9) | (1 << 13)
    return (struct.pack(">HHHH", INIT, 0, 2, features)
            + bytes([1, 32]) + REGTEST)


def parse_init(msg):
    (typ,) = struct.unpack(">H", msg[:2])
    if typ != INIT:
        raise SystemExit(f"expected init first, got type {typ}")
    (gflen,) = struct.unpack(">H", msg[2:4])
    pos = 4 + gflen
    (flen,) = struct.unpack(">H", msg[pos:pos + 2])
    features = msg[pos + 2:pos + 2 + flen]
    tlvs = msg[pos + 2 + flen:]
    return features.hex(), tlvs.hex()


def ping(num_pong_bytes, ignored=0):
    return struct.pack(">HHH", PING, num_pong_bytes, ignored) + bytes(ignored)


def next_non_ping(lc):
    """Reads messages, answering the peer's own pings, until another arrives."""
    while True:
        msg = lc.read_message()
        (typ,) = struct.unpack(">H", msg[:2])
        if typ == PING:
            (n,) = struct.unpack(">H", msg[2:4])
            if n < 65532:
                lc.send_message(struct.pack(">HH", PONG, n) + bytes(n))
            continue
        return typ, msg


def expect_pong(lc, n):
    typ, msg = next_non_ping(lc)
    if typ != PONG:
        raise SystemExit(f"expected pong, got type {typ}")
    (byteslen,) = struct.unpack(">H", msg[2:4])
    if byteslen != n or len(msg) != 4 + n:
        raise SystemExit(f"pong of {byteslen} bytes, expected {n}")


def dial(node_id, host, port):
    lc = connect(PrivateKey(bytes([0x42] * 32)), bytes.fromhex(node_id), host, int(port))
    # pyln sends a message as two writes; without this, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every round trip.
    lc.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    features, tlvs = parse_init(lc.read_message())
    lc.send_message(our_init())
    lc.send_message(ping(10, 7))
    expect_pong(lc, 10)
    # num_pong_bytes >= 65532: must be ignored; the next pong answers the next ping.
    lc.send_message(ping(65532))
    lc.send_message(struct.pack(">H", 0x8001) + b"unknown odd: ignore me")
    lc.send_message(ping(3))
    expect_pong(lc, 3)
    # Enough messages to rotate keys in both directions (1000 nonces each way).
    for i in range(600):
        lc.send_message(ping(i % 50))
        expect_pong(lc, i % 50)
    print(json.dumps({"ok": True, "their_features": features, "their_tlvs": tlvs}))


def listen():
    key = PrivateKey(bytes([0x43] * 32))
    server = LightningServerSocket(key)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    node_id = key.public_key().serializeCompressed().hex()
    print(json.dumps({"node_id": node_id, "port": server.getsockname()[1]}), flush=True)
    server.settimeout(30)
    lc, _ = server.accept()
    lc.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    features, tlvs = parse_init(lc.read_message())
    lc.send_message(our_init())
    pings = 0
    try:
        while True:
            msg = lc.read_message()
            (typ,) = struct.unpack(">H", msg[:2])
            if typ == PING:
                (n,) = struct.unpack(">H", msg[2:4])
                lc.send_message(struct.pack(">HH", PONG, n) + bytes(n))
                pings += 1
    except (ValueError, OSError, socket.timeout):
        pass  # the peer closed the connection
    if pings == 0:
        raise SystemExit("peer never pinged")
    print(json.dumps({"ok": True, "pings_answered": pings, "their_features": features, "their_tlvs": tlvs}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "dial":
        dial(*sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "listen":
        listen()
    else:
        raise SystemExit(__doc__)
