#!/usr/bin/python3
"""Writes schemas/certificate-vectors.yaml: sealed certificate keys in the
format of schemas/certificate.md, made here with python3-cryptography (an
implementation independent of common/crypto.c) and opened by
tests/unit/test_certstore.c, deploy/examples/node/certkey.js and
deploy/examples/python/certkey.py.

Deterministic (fixed KEKs, nonces and keys), so running it again gives the
same file:  python3 tests/unit/make_certificate_vectors.py > schemas/certificate-vectors.yaml
"""
import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def seal(kek, nonce, plain, aad):
    # AESGCM.encrypt returns ciphertext || 16-byte tag
    return "aesgcm1:" + b64url(nonce + AESGCM(kek).encrypt(nonce, plain.encode(), aad.encode()))


def p256_pem(d):
    k = ec.derive_private_key(d, ec.SECP256R1())
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


KEK1 = bytes(range(32))                      # 000102...1f
KEK2 = bytes(0xA0 + i for i in range(32))    # a0a1...bf
NONCE = [bytes([n] * 12) for n in range(1, 5)]
KEY1, KEY2 = p256_pem(0x1D5E5E71C0FFEE), p256_pem(0xBADC0DE5EED)

vectors = {}


def ok(name, desc, kek_text, kek, nonce, plain, aad):
    vectors[name] = {"description": desc, "kek": kek_text, "aad": aad,
                     "sealed": seal(kek, nonce, plain, aad), "plaintext": plain}


def bad(name, desc, kek_text, sealed, aad):
    vectors[name] = {"description": desc, "kek": kek_text, "aad": aad, "sealed": sealed,
                     "error": "authentication"}


ok("p256", "a P-256 certificate key under the default prefix, KEK as 64 hex digits",
   KEK1.hex(), KEK1, NONCE[0], KEY1, "dcv:cert:shop.example.com")
ok("cluster_prefix_wildcard", "a wildcard domain under a Redis Cluster prefix, KEK as "
   "base64url (no padding)", b64url(KEK2), KEK2, NONCE[1], KEY2, "{dcvx}:cert:*.wild.example.net")
ok("short", "a short plaintext (the format does not care what it seals)",
   KEK1.hex(), KEK1, NONCE[2], "hello", "dcv:cert:a.example.com")
moved = seal(KEK1, NONCE[3], KEY1, "dcv:cert:a.example.com")
bad("wrong_aad", "sealed for dcv:cert:a.example.com, read as dcv:cert:b.example.com "
    "(a value moved to another domain's hash): must fail", KEK1.hex(), moved,
    "dcv:cert:b.example.com")
bad("wrong_kek", "the p256 vector opened with another KEK: must fail", KEK2.hex(),
    vectors["p256"]["sealed"], "dcv:cert:shop.example.com")
raw = bytearray(base64.urlsafe_b64decode(vectors["short"]["sealed"][8:] + "=="))
raw[-1] ^= 1
bad("tampered_tag", "the short vector with one bit of its tag flipped: must fail",
    KEK1.hex(), "aesgcm1:" + b64url(bytes(raw)), "dcv:cert:a.example.com")

print("# Test vectors for the sealed certificate key (schemas/certificate.md),")
print("# made by tests/unit/make_certificate_vectors.py.  The document after")
print("# these comment lines is JSON (itself YAML), so that a reader without a")
print("# YAML parser can drop the lines starting with '#' and JSON.parse the rest.")
print("# A vector with `error` must fail to open (the GCM tag does not verify);")
print("# the others must open to `plaintext` exactly.")
print(json.dumps({"vectors": vectors}, indent=2))
