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
    b11 = load("bolt11/invoices.json")
    for case in b11["valid"] + b11["invalid"]:
        save("bolt11_invoice", case["invoice"].encode())


if __name__ == "__main__":
    main()
