/* The replies of queue.h read through accessors (see "struct queue_reply"
 * there): every one safe with NULL and with a reply of any shape. */
#include "queue.h"

#include <hiredis/hiredis.h>

/* struct queue_reply is never defined: a pointer to one is a redisReply
 * seen through the accessors. */
static const redisReply *rr(const struct queue_reply *r)
{
	return (const redisReply *)r;
}

enum queue_reply_kind queue_reply_kind(const struct queue_reply *r)
{
	if (!r)
		return QR_NONE;
	switch (rr(r)->type) {
	case REDIS_REPLY_NIL: return QR_NIL;
	case REDIS_REPLY_INTEGER: return QR_INT;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS: return rr(r)->str ? QR_STRING : QR_NONE;
	case REDIS_REPLY_ARRAY: return QR_ARRAY;
	case REDIS_REPLY_ERROR: return QR_ERROR;
	}
	return QR_NONE;
}

size_t queue_reply_len(const struct queue_reply *r)
{
	return queue_reply_kind(r) == QR_ARRAY && rr(r)->element ? rr(r)->elements : 0;
}

const struct queue_reply *queue_reply_at(const struct queue_reply *r, size_t i)
{
	if (i >= queue_reply_len(r))
		return NULL;
	return (const struct queue_reply *)rr(r)->element[i];
}

bool queue_reply_int(const struct queue_reply *r, long long *v)
{
	if (queue_reply_kind(r) != QR_INT)
		return false;
	*v = rr(r)->integer;
	return true;
}

const char *queue_reply_str(const struct queue_reply *r, size_t *len)
{
	if (queue_reply_kind(r) != QR_STRING)
		return NULL;
	if (len)
		*len = rr(r)->len;
	return rr(r)->str;
}

const char *queue_reply_error(const struct queue_reply *r)
{
	if (queue_reply_kind(r) != QR_ERROR)
		return NULL;
	return rr(r)->str ? rr(r)->str : "";
}

void queue_reply_free(struct queue_reply *r)
{
	if (r)
		freeReplyObject(r);
}

struct queue_reply *queue_reply_parse(const void *buf, size_t len)
{
	redisReader *rd = redisReaderCreate();
	void *r = NULL;

	if (!rd)
		return NULL;
	/* one whole reply, and no byte after it (the reader keeps what it has
	 * not consumed between pos and len) */
	if (redisReaderFeed(rd, buf, len) != REDIS_OK ||
	    redisReaderGetReply(rd, &r) != REDIS_OK || !r || rd->pos < rd->len) {
		if (r)
			freeReplyObject(r);
		r = NULL;
	}
	redisReaderFree(rd);
	return r;
}
