#!/bin/sh
# uacme challenge hook for the issuance benchmark (bench/issuance.py,
# bench/ISSUANCE.md): DNS-01 through CNAME delegation and RFC 2136.
#
#   uacme-hook.sh METHOD TYPE IDENT TOKEN AUTH
#
# begin:       reads the CNAME at _acme-challenge.IDENT from the local named,
#              checks that its target lies in the validation zone, and adds
#              the TXT AUTH there with nsupdate (TSIG key from a key file).
# done/failed: deletes that TXT again.
# Any other challenge type is declined (exit 1), so uacme picks dns-01.
#
# Environment (set by issuance.py):
#   ISSUANCE_DNS_PORT   port of the named on 127.0.0.1
#   ISSUANCE_ZONE       the validation zone (e.g. validation.test)
#   ISSUANCE_KEYFILE    BIND key clause file for nsupdate -k (mode 0600);
#                       the secret never appears on a command line.
#   ISSUANCE_TTL        TTL of the TXT (default 60)
set -eu

[ $# -eq 5 ] || { echo "usage: $0 method type ident token auth" >&2; exit 85; }
method=$1 type=$2 ident=$3 auth=$5
port=${ISSUANCE_DNS_PORT:?}
zone=${ISSUANCE_ZONE:?}
keyfile=${ISSUANCE_KEYFILE:?}
ttl=${ISSUANCE_TTL:-60}

[ "$type" = dns-01 ] || exit 1
case $method in begin | done | failed) ;; *) echo "$0: bad method $method" >&2; exit 1 ;; esac

name=${ident#\*.}
target=$(dig @127.0.0.1 -p "$port" +short +time=2 +tries=2 "_acme-challenge.$name." CNAME | tail -n 1)
case $target in
"") echo "$0: no CNAME at _acme-challenge.$name" >&2; exit 1 ;;
*.) ;;
*) target=$target. ;;
esac
case $target in
*."$zone".) ;;
*) echo "$0: _acme-challenge.$name points to $target, outside $zone" >&2; exit 1 ;;
esac

if [ "$method" = begin ]; then
	op="update add $target $ttl TXT \"$auth\""
else
	op="update delete $target TXT \"$auth\""
fi
printf 'server 127.0.0.1 %s\nzone %s\n%s\nsend\n' "$port" "$zone" "$op" |
	nsupdate -k "$keyfile" -t 5
