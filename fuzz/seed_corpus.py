#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ with inputs taken from the BOLT test vectors.

Run from the repository root: python3 fuzz/seed_corpus.py
Files are named by the SHA-1 of their content, so re-running adds nothing twice.

Targets without test vectors (peer_crypt, peer_manager, gossip_graph, router,
chan_utils, monitor_update, kv_codec) are seeded with valid inputs built in
Rust by lightning_fuzz::seeds:
    cargo test -p lightning-fuzz --test seed_corpus -- --ignored
"""
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(ROOT, "..", "..", "shared", "specs", "vectors")


def save(target, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def load(rel):
    with open(os.path.join(VECTORS, rel)) as f:
        return json.load(f)


def main():
    if not os.path.isdir(VECTORS):
        sys.exit(f"vectors not found at {VECTORS}")
    big = load("bolt01/bigsize.json")
    for case in big["decoding"] + big["encoding"]:
        save("bigsize", bytes.fromhex(case["bytes"]))
    tlv = load("bolt01/tlv.json")
    for key in ("decoding_failures", "decoding_successes", "stream_decoding_failures"):
        for case in tlv[key]:
            save("tlv_stream", bytes.fromhex(case["stream"]))
    ext = load("bolt01/message_extension.json")
    for case in ext["valid"] + ext["invalid"]:
        save("wire_message", bytes.fromhex(case["message"]))
    # A few hand-made messages: ping, pong, error, warning, unknown odd/even.
    for hexmsg in ["0012000a0003000000", "00130002 0000", "0011" + "00" * 32 + "0002 6869",
                   "0001" + "00" * 32 + "0000", "8001010203", "8002"]:
        save("wire_message", bytes.fromhex(hexmsg.replace(" ", "")))
    seed_onion()
    b11 = load("bolt11/invoices.json")
    for case in b11["valid"] + b11["invalid"]:
        save("bolt11_invoice", case["invoice"].encode())


def seed_onion():
    """BOLT 4: hop payloads, failure messages and packets, encrypted data."""
    onion = load("bolt04/onion-test.json")
    for i, hop in enumerate(onion["generate"]["hops"]):
        payload = bytes.fromhex(hop["payload"])
        save("onion_peel", payload + bytes(32))
        body = payload[3:] if payload[0] == 0xFD else payload[1:]
        save("hop_payload", bytes([1 if i == 4 else 0]) + body)
    blinded = load("bolt04/blinded-payment-onion-test.json")
    for i, hop in enumerate(blinded["generate"]["full_route"]["hops"]):
        payload = bytes.fromhex(hop["payload"])
        save("onion_peel", payload + bytes(32))
        save("hop_payload", bytes([(1 if i == 4 else 0) | (2 if i > 1 else 0)]) + payload[1:])
    err = load("bolt04/onion-error-test.json")
    save("failure_message", bytes.fromhex(err["generate"]["failure_message"]))
    save("failure_packet", bytes.fromhex(err["errorpacket"]))
    attr = load("bolt04/failure_attribution.json")
    save("failure_message", bytes.fromhex(attr["creation"]["encoded_failure_message"])[:320])
    save("failure_packet", bytes.fromhex(attr["forwarding"][-1]["error_packet"]))
    for hexmsg in ["1007000401020304", "400f00000000000000640000c350", "c0180000000000000000000000000000000000000000000000000000000000000000",
                   "4016fd0201000a", "4016", "100c000000000000006400000", "0063ffee"]:
        data = bytes.fromhex(hexmsg if len(hexmsg) % 2 == 0 else hexmsg + "0")
        save("failure_message", data)
    rb = load("bolt04/route-blinding-test.json")
    for hop in rb["generate"]["hops"]:
        save("encrypted_data_tlv", bytes.fromhex(hop["encoded_tlvs"]))


if __name__ == "__main__":
    main()
