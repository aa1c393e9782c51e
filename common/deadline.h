/*
 * deadline: the time limit of one job (worker.job_timeout_ms), shared by
 * every DNS lookup, HTTP request and DNS UPDATE its handler makes.
 *
 * A deadline is a time of CLOCK_MONOTONIC in milliseconds (tv_sec * 1000 +
 * tv_nsec / 1000000), the unit of dns_set_deadline(), acme_set_deadline()
 * and txt_set_deadline(); 0 means none.  A call that would outlast it is
 * given only what is left, and one that would start after it is not made,
 * so a customer's server that never answers holds a worker thread no
 * longer than the job's deadline.
 */
#ifndef DCV_DEADLINE_H
#define DCV_DEADLINE_H

/* The current time of CLOCK_MONOTONIC in milliseconds. */
long long deadline_now_ms(void);

/* How long a call may take: LIMIT_MS, cut to what is left before DEADLINE
 * (0: no deadline, LIMIT_MS itself).  0 or less when it has passed. */
long long deadline_left(long long deadline, long long limit_ms);

#endif
