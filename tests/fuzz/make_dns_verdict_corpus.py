#!/usr/bin/python3
"""Writes the seed corpora of the DNS verdict harnesses
(fuzz_dns_verdict_{delegation,propagation,pointing}.c) into
corpus/dns_verdict_<kind>/: one file per case of the unit tests
(tests/unit/test_dns_verdict.c), in the input format of
dns_verdict_fuzz.h (a flags byte, then length-prefixed DNS messages).

    python3 tests/fuzz/make_dns_verdict_corpus.py
"""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
Q = "_acme-challenge.www.example.com"
WANT = "www.example.com.validation.test"
A, NS, CNAME, SOA, TXT, AAAA = 1, 2, 5, 6, 16, 28


def name(n):
    out = b""
    for label in n.split(".") if n else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rdata):
    return name(owner) + struct.pack(">HHIH", rtype, 1, 300, len(rdata)) + rdata


def cname(owner, target, rtype=CNAME):
    return rr(owner, rtype, name(target))


def txt(owner, *strings):
    return rr(owner, TXT, b"".join(bytes([len(s)]) + s for s in strings))


def addr(owner, text):
    ip = ipaddress.ip_address(text)
    return rr(owner, A if ip.version == 4 else AAAA, ip.packed)


def msg(qname, qtype, an=(), ns=(), rcode=0, aa=True):
    flags = 0x8000 | (0x0400 if aa else 0) | rcode
    head = struct.pack(">HHHHHH", 0x1234, flags, 1, len(an), len(ns), 0)
    return head + name(qname) + struct.pack(">HH", qtype, 1) + b"".join(an) + b"".join(ns)


def seed(flags, *msgs):
    return bytes([flags]) + b"".join(struct.pack(">H", len(m)) + m for m in msgs)


def chain(start, names):
    out, cur = [], start
    for n in names:
        out.append(cname(cur, n))
        cur = n
    return out


AUTH, WANT_FROM_MSG, ZONE_FROM_MSG, PREV = 1, 2, 4, 8
DEPTH8 = 7 << 5

DELEGATION = {
    "match": seed(AUTH | WANT_FROM_MSG | DEPTH8, msg(Q, TXT, [cname(Q, WANT)])),
    "match_prev": seed(AUTH | WANT_FROM_MSG | PREV | DEPTH8,
                       msg(Q, TXT, [cname(Q, WANT)]), msg(Q, TXT, [cname(Q, WANT)])),
    "different": seed(AUTH | DEPTH8, msg(Q, TXT, [cname(Q, "elsewhere.www.example.com")])),
    "nxdomain": seed(AUTH, msg(Q, TXT, rcode=3)),
    "nodata": seed(AUTH, msg(Q, TXT)),
    "txt": seed(AUTH, msg(Q, TXT, [txt(Q, b"a\"b\n\x01\xff")])),
    "ns_delegated": seed(AUTH, msg(Q, TXT, ns=[cname(Q, "ns.other.net", NS)], aa=False)),
    "lame": seed(AUTH, msg(Q, TXT, aa=False)),
    "servfail": seed(AUTH, msg(Q, TXT, rcode=2), msg(Q, TXT, rcode=5)),
    "loop": seed(AUTH | DEPTH8, msg(Q, TXT, [cname(Q, "a.example.com"), cname("a.example.com", Q)])),
    "follow_match": seed(AUTH | DEPTH8, msg(Q, TXT, [cname(Q, "hop.other.net")]),
                         msg("hop.other.net", CNAME, [cname("hop.other.net", "t.validation.test")], aa=False)),
    "follow_end": seed(AUTH | DEPTH8, msg(Q, TXT, [cname(Q, "hop.other.net")]),
                       msg("hop.other.net", CNAME, aa=False)),
    "follow_loop": seed(AUTH | DEPTH8, msg(Q, TXT, [cname(Q, "a.other.net")]),
                        msg("a.other.net", CNAME, [cname("a.other.net", "b.other.net")], aa=False),
                        msg("b.other.net", CNAME, [cname("b.other.net", "a.other.net")], aa=False)),
    "too_long": seed(AUTH | (3 << 5), msg(Q, TXT, chain(Q, [f"h{i}.example.com" for i in range(10)]))),
    "zone_from_authority": seed(AUTH | ZONE_FROM_MSG | DEPTH8,
                                msg(Q, TXT, [cname(Q, "x.example.com")],
                                    ns=[cname("example.com", "ns.example.com", SOA)])),
    "two_vantages": seed(AUTH | WANT_FROM_MSG | DEPTH8, msg(Q, TXT, [cname(Q, WANT)]),
                         msg(Q, TXT, [cname(Q, "x.www.example.com")])),
}

V = "tok-1"
PQ = "www.example.com.validation.test"
PROPAGATION = {
    "match": seed(AUTH | WANT_FROM_MSG, msg(PQ, TXT, [txt(PQ, b"other"), txt(PQ, V.encode())])),
    "different": seed(AUTH, msg(PQ, TXT, [txt(PQ, b"a"), txt(PQ, b"b")])),
    "cut": seed(AUTH, msg(PQ, TXT, [txt(PQ, b"v" * 255, b"vvv")])),
    "nul": seed(AUTH, msg(PQ, TXT, [txt(PQ, b"tok\0more")])),
    "nxdomain_nodata": seed(AUTH, msg(PQ, TXT, rcode=3), msg(PQ, TXT)),
    "lame": seed(AUTH, msg(PQ, TXT, [txt(PQ, b"tok")], aa=False)),
    "resolver": seed(0, msg(PQ, TXT, [txt(PQ, b"tok")], aa=False)),
    "too_many": seed(AUTH, msg(PQ, TXT, [txt(PQ, b"other")] * 32 + [txt(PQ, b"tok")])),
    "chain": seed(AUTH | 4, msg(PQ, TXT, [cname(PQ, "x.validation.test"), txt("x.validation.test", b"tok")])),
    "loop": seed(AUTH, msg(PQ, TXT, [cname(PQ, PQ)])),
    "servfail": seed(AUTH, msg(PQ, TXT, rcode=2)),
}

D = "www.example.com"
POINTING = {
    "range_v4": seed(0, msg(D, A, [addr(D, "203.0.113.7")])),
    "range_v6_chain": seed(1, msg(D, AAAA, [cname(D, "lb.example.org"), addr("lb.example.org", "2001:db8:cafe::9")])),
    "suffix": seed(0, msg(D, A, [cname(D, "x.cdn.example.net"), addr("x.cdn.example.net", "192.0.2.1")])),
    "suffix_itself": seed(0, msg(D, A, [cname(D, "cdn.example.net"), addr("cdn.example.net", "192.0.2.1")])),
    "elsewhere": seed(0, msg(D, A, [addr(D, "198.51.100.1")]), msg(D, AAAA, [addr(D, "2001:db8::1")])),
    "nxdomain": seed(0, msg(D, A, rcode=3), msg(D, AAAA, rcode=3)),
    "servfail": seed(0, msg(D, A, rcode=2), msg(D, AAAA)),
    "other_type": seed(2, msg(D, TXT, [addr(D, "203.0.113.7")])),
}


def main():
    for kind, seeds in (("delegation", DELEGATION), ("propagation", PROPAGATION),
                        ("pointing", POINTING)):
        d = os.path.join(HERE, "corpus", f"dns_verdict_{kind}")
        os.makedirs(d, exist_ok=True)
        for n, data in seeds.items():
            with open(os.path.join(d, n), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
