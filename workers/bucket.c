/* Rate-limit bucket names; see bucket.h. */
#include "bucket.h"

#include <stdio.h>

#include "dname.h"

const char *bucket_name(const char *ca, const char *kind, const char *name,
                        char *buf, size_t len)
{
	snprintf(buf, len, "%.255s:%s%s%.255s", ca, kind, name ? ":" : "",
	         name ? dname_base(name) : "");
	return buf;
}
