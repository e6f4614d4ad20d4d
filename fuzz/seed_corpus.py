#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ with inputs taken from the BOLT test vectors.

Run from the repository root: python3 fuzz/seed_corpus.py
Files are named by the SHA-1 of their content, so re-running adds nothing twice.
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
    seed_channel()
    b11 = load("bolt11/invoices.json")
    for case in b11["valid"] + b11["invalid"]:
        save("bolt11_invoice", case["invoice"].encode())


def seed_channel():
    """BOLT 2: one well-formed message of each channel type (a valid point and
    a syntactically valid signature), and operation scripts for the channel
    state machine."""
    point = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    sig = bytes([1]) * 64
    cid = bytes([7]) * 32
    u64 = lambda v: v.to_bytes(8, "big")
    u32 = lambda v: v.to_bytes(4, "big")
    u16 = lambda v: v.to_bytes(2, "big")
    chain = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")
    onion = bytes([0]) + point + bytes(1300) + bytes(32)
    msgs = [
        (0, chain + cid + u64(100000) + u64(0) + u64(546) + u64(10**9) + u64(1000) + u64(1) + u32(253)
            + u16(144) + u16(483) + point * 6 + bytes([1]) + bytes([0, 0, 1, 2, 0x10, 0x00])),
        (1, cid + u64(546) + u64(10**9) + u64(1000) + u64(1) + u32(3) + u16(144) + u16(483) + point * 6
            + bytes([1, 2, 0x10, 0x00])),
        (2, cid + bytes(32) + u16(0) + sig),
        (3, cid + sig),
        (4, cid + point + bytes([1, 8]) + u64(42)),
        (5, cid + u16(22) + bytes([0, 20]) + bytes(20)),
        (6, cid + u64(500) + sig + bytes([1, 16]) + u64(100) + u64(900)),
        (7, cid + u64(0) + u64(5000000) + bytes(32) + u32(500) + onion),
        (8, cid + u64(0) + bytes(32)),
        (9, cid + u64(0) + u16(3) + b"abc"),
        (10, cid + sig + u16(2) + sig + sig),
        (11, cid + bytes(32) + point),
        (12, cid + u32(1000)),
        (13, cid + u64(0) + bytes(32) + u16(0x8000 | 0x4000 | 5)),
        (14, cid + u64(1) + u64(0) + bytes(32) + point),
    ]
    for index, body in msgs:
        save("channel_message", bytes([index]) + body)
    for script in [
        [0, 5, 2, 3, 2, 3, 2, 3, 4, 1, 2, 3, 2, 3, 2, 3],
        [1, 9, 2, 0, 5, 0, 2, 3, 4, 2, 2, 3, 2, 3],
        [0, 1, 0, 2, 0, 3, 2, 3, 2, 3, 4, 0, 4, 1, 4, 2, 2, 3, 2, 3, 2, 3],
        [6, 40, 2, 3, 0, 7, 2, 1, 5, 1, 7, 0, 2, 3],
        [0, 200, 1, 200, 2, 3, 5, 0, 2, 3, 4, 3, 2, 3],
    ]:
        save("channel_state_machine", bytes(script))


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
