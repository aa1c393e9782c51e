#!/bin/sh
# Writes tests/unit/acme_fake_certs.h: the keys and certificates of the fake
# CA in test_acme_fake.c, made with the openssl CLI (valid for 100 years, so
# the header is made once and committed; run this again to change them).
#
#   tls_root, tls_cert, tls_key  the fake CA's HTTPS: a root and a server
#                                certificate for 127.0.0.1 and localhost
#   leaf_key                     "our" certificate key (as from finalize)
#   chain_*                      chains the CA may answer with, leaf first,
#                                for chk.example.com + www.chk.example.com:
#     good       leaf (leaf_key) + its intermediate "Fake Intermediate"
#     alt        the same key and names under "Alt Intermediate", issued by
#                "Alt Root X" (the preferred chain of the tests)
#     alt_wrongkey  like alt, for another key (an alternate to pass over)
#     wrongkey   a leaf for another key
#     extra      one SAN more (evil.example.net)
#     missing    one SAN fewer
#     ipsan      the two names and an IP address SAN
#     ca_leaf    the leaf is a CA certificate
#     broken     the leaf followed by an intermediate that did not issue it
#     badsig     a leaf (no AKI) followed by an impostor intermediate with
#                the real one's name and another key
set -eu
out=$(cd "$(dirname "$0")" && pwd)/acme_fake_certs.h
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# ca NAME CN [ISSUER]: a CA certificate, self-signed without ISSUER
ca() {
	key "$1"
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n%s' \
		"${3:+authorityKeyIdentifier=keyid:always
}" > "$1.ext"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	if [ -z "${3:-}" ]; then
		openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 36500 \
			-extfile "$1.ext" -set_serial 1 -out "$1.pem" 2>/dev/null
	else
		openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -days 36500 \
			-extfile "$1.ext" -set_serial 2 -out "$1.pem" 2>/dev/null
	fi
}
# leaf NAME KEY ISSUER SAN [EXTRA-EXTENSIONS]
leaf() {
	printf 'subjectAltName=%s\nauthorityKeyIdentifier=keyid:always\n%s\n' "$4" "${5:-basicConstraints=critical,CA:FALSE}" > "$1.ext"
	openssl req -new -key "$2.key" -subj "/CN=chk.example.com" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -days 36500 \
		-extfile "$1.ext" -set_serial 3 -out "$1.pem" 2>/dev/null
}
names="DNS:chk.example.com,DNS:www.chk.example.com"

ca tls_root "Fake CA TLS Root"
key tls
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n' > tls.ext
openssl req -new -key tls.key -subj "/CN=localhost" -out tls.csr
openssl x509 -req -in tls.csr -CA tls_root.pem -CAkey tls_root.key -days 36500 \
	-extfile tls.ext -set_serial 9 -out tls_cert.pem 2>/dev/null

ca root "Fake Root"
ca inter "Fake Intermediate" root
ca other "Other Intermediate" root
ca altroot "Alt Root X"
ca altinter "Alt Intermediate" altroot
key impostor
openssl req -new -key impostor.key -subj "/CN=Fake Intermediate" -out impostor.csr
printf 'basicConstraints=critical,CA:TRUE\n' > impostor.ext
openssl x509 -req -in impostor.csr -CA root.pem -CAkey root.key -days 36500 \
	-extfile impostor.ext -set_serial 4 -out impostor.pem 2>/dev/null
key leaf
key other_leaf

leaf good leaf inter "$names"
leaf alt leaf altinter "$names"
leaf alt_wrongkey other_leaf altinter "$names"
leaf wrongkey other_leaf inter "$names"
leaf extra leaf inter "$names,DNS:evil.example.net"
leaf missing leaf inter "DNS:chk.example.com"
leaf ipsan leaf inter "$names,IP:192.0.2.1"
leaf ca_leaf leaf inter "$names" "basicConstraints=critical,CA:TRUE"
printf 'subjectAltName=%s\nauthorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n' "$names" > noaki.ext
openssl req -new -key leaf.key -subj "/CN=chk.example.com" -out noaki.csr
openssl x509 -req -in noaki.csr -CA inter.pem -CAkey inter.key -days 36500 \
	-extfile noaki.ext -set_serial 5 -out noaki.pem 2>/dev/null

# emit NAME FILE: the file's text as one C string
emit() {
	printf 'static const char %s[] =\n' "$1"
	sed -e 's/^/\t"/' -e 's/$/\\n"/' "$2"
	printf ';\n\n'
}
# pem NAME FILE: the same as a macro, to build the chains from
pem() {
	printf '#define %s \\\n' "$1"
	sed -e 's/^/\t"/' -e 's/$/\\n" \\/' "$2"
	printf '\t""\n\n'
}
# chain NAME MACRO...: the certificates one after another
chain() {
	n=$1
	shift
	printf 'static const char %s[] = %s;\n' "$n" "$*"
}
{
	printf '/* Made by make_acme_fake_certs.sh (see there); do not edit. */\n'
	printf '#ifndef DCV_TEST_ACME_FAKE_CERTS_H\n#define DCV_TEST_ACME_FAKE_CERTS_H\n\n'
	emit tls_root tls_root.pem
	emit tls_cert tls_cert.pem
	emit tls_key tls.key
	emit leaf_key leaf.key
	for f in inter altinter other impostor good alt alt_wrongkey wrongkey extra \
	         missing ipsan ca_leaf noaki; do
		pem "PEM_$(echo $f | tr a-z A-Z)" "$f.pem"
	done
	chain chain_good PEM_GOOD PEM_INTER
	chain chain_alt PEM_ALT PEM_ALTINTER
	chain chain_alt_wrongkey PEM_ALT_WRONGKEY PEM_ALTINTER
	chain chain_wrongkey PEM_WRONGKEY PEM_INTER
	chain chain_extra PEM_EXTRA PEM_INTER
	chain chain_missing PEM_MISSING PEM_INTER
	chain chain_ipsan PEM_IPSAN PEM_INTER
	chain chain_ca_leaf PEM_CA_LEAF PEM_INTER
	chain chain_broken PEM_GOOD PEM_OTHER
	chain chain_badsig PEM_NOAKI PEM_IMPOSTOR
	printf '\n#endif\n'
} > "$out"
echo "wrote $out"
