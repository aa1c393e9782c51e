# metrics module: registry format, label escaping, histogram math, updates
# from several threads, config section, and the HTTP endpoints on a free
# loopback port.
dcv_unit_test(test_metrics SOURCES unit/test_metrics.c LIBS dcv_metrics)
