#!/usr/bin/python3
"""Opens a certificate key sealed by dcvfleet (schemas/certificate.md):
"aesgcm1:" base64url(12-byte nonce || ciphertext || 16-byte tag), AES-256-GCM
under the key-encryption key, the associated data being the name of the
Redis hash it is stored in ("dcv:cert:<domain>").

  certkey.py open --aad AAD [--kek-file F] < sealed   the key, to stdout
  certkey.py vectors FILE                             checks the test vectors

The KEK comes from --kek-file, else DCV_CERT_KEK: 64 hex digits or
base64url of 32 bytes, as the fleet reads it.  Needs python3-cryptography.
Exit status: 0 done, 1 a value that does not open, 2 usage; 4 stdout is a
terminal (a private key is never printed to one).
"""
import base64
import binascii
import json
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "aesgcm1:"


def parse_kek(text):
    """The KEK file's or DCV_CERT_KEK's text as 32 bytes."""
    t = text.strip()
    if len(t) == 64:
        return bytes.fromhex(t)
    raw = base64.b64decode(t + "=" * (-len(t) % 4), altchars=b"-_", validate=True)
    if len(raw) != 32:
        raise ValueError("the KEK must be 32 bytes")
    return raw


def open_sealed(kek, sealed, aad):
    """The plaintext bytes, or InvalidTag (wrong KEK, wrong AAD, altered)."""
    if not sealed.startswith(PREFIX):
        raise ValueError("not a sealed value (no aesgcm1: prefix)")
    b64 = sealed[len(PREFIX):]
    raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=True)
    if len(raw) < 12 + 16:
        raise ValueError("too short")
    return AESGCM(kek).decrypt(raw[:12], raw[12:], aad.encode())


def vectors(path):
    with open(path) as f:
        doc = json.loads("".join(l for l in f if not l.startswith("#")))
    bad = 0
    for name, v in doc["vectors"].items():
        try:
            plain = open_sealed(parse_kek(v["kek"]), v["sealed"], v["aad"]).decode()
        except (InvalidTag, ValueError, binascii.Error):
            plain = None
        print(json.dumps({"name": name, "opened": plain is not None, "plaintext": plain}))
        bad += (plain is None) != ("error" in v) or (plain is not None and plain != v["plaintext"])
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "vectors":
        return vectors(argv[1])
    args = dict(zip(argv[1::2], argv[2::2]))
    if not argv or argv[0] != "open" or len(argv) % 2 != 1 or "--aad" not in args \
            or set(args) - {"--aad", "--kek-file"}:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if os.isatty(sys.stdout.fileno()):
        print("certkey: refusing to print a private key to a terminal", file=sys.stderr)
        return 4
    if "--kek-file" in args:
        with open(args["--kek-file"]) as f:
            kek_text = f.read()
    else:
        kek_text = os.environ.get("DCV_CERT_KEK", "")
    try:
        plain = open_sealed(parse_kek(kek_text), sys.stdin.read().strip(), args["--aad"])
    except (InvalidTag, ValueError, binascii.Error):
        print("certkey: the value does not open (wrong KEK or AAD, or altered)", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(plain)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
