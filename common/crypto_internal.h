/*
 * crypto_internal: what the files of the crypto module share (crypto.c,
 * crypto_x509.c) and nobody else sees: the inside of a key.  The public
 * API is crypto.h, where keys are opaque.
 */
#ifndef DCV_CRYPTO_INTERNAL_H
#define DCV_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

#include "crypto.h"

struct crypto_key {
	EVP_PKEY *pkey;            /* owned */
	enum crypto_key_type type;
};

#endif
