/*
 * acme_bench_jws: ES256 JWS signatures per second on one core, exactly as
 * the ACME client makes them (protected header with nonce and kid, payload,
 * base64url, jansson serialisation).  Prints "jws_es256_per_sec N".
 * Usage: acme_bench_jws [seconds]   (default 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	struct crypto_key *k = NULL;
	if (crypto_key_new(CRYPTO_KEY_P256, &k) != CRYPTO_OK)
		return 1;
	const char *payload = "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.com\"}]}";
	long n = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 100; i++) {
			json_t *prot = json_pack("{ssssss}", "nonce", "zmQdHMnCzxAlqF9cBs4eY2zX8JQxUuEy8aq1nBwx1lA",
			                         "url", "https://acme-v02.api.letsencrypt.org/acme/new-order",
			                         "kid", "https://acme-v02.api.letsencrypt.org/acme/acct/123456789");
			json_t *jws = NULL;
			if (crypto_jws(k, NULL, 0, prot, payload, &jws) != CRYPTO_OK)
				return 1;
			char *s = json_dumps(jws, JSON_COMPACT);
			free(s);
			json_decref(jws);
			json_decref(prot);
		}
		n += 100;
		t = now();
	} while (t - t0 < secs);
	printf("jws_es256_per_sec %.0f\n", n / (t - t0));
	crypto_key_free(k);
	return 0;
}
