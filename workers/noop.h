/* noop: handlers that only move a job along (see noop.c). */
#ifndef DCV_NOOP_H
#define DCV_NOOP_H

#include "worker.h"

extern const struct worker_app noop_app;

#endif
