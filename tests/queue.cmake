# The queue runtime: pure logic (cmocka) and the real thing against a real
# redis-server (pytest).
dcv_unit_test(test_dname SOURCES unit/test_dname.c)
# The one secret-file reader (EAB key, TSIG secret, API key, KEK).
dcv_unit_test(test_secret SOURCES unit/test_secret.c)
dcv_unit_test(test_cfg SOURCES unit/test_cfg.c)
dcv_unit_test(test_job SOURCES unit/test_job.c)
dcv_unit_test(test_queue_url SOURCES unit/test_queue_url.c)
dcv_unit_test(test_script_args SOURCES unit/test_script_args.c)
# The accessors of a reply from the server (hostile shapes included).
dcv_unit_test(test_queue_reply SOURCES unit/test_queue_reply.c)
dcv_unit_test(test_backoff SOURCES unit/test_backoff.c LIBS dcv_worker_lib)
# The runtime's decision: an outcome to the commit that settles its entry.
dcv_unit_test(test_plan SOURCES unit/test_plan.c LIBS dcv_worker_lib)
# A domain write with more fields than it carries fails, never drops some.
dcv_unit_test(test_domain_rec SOURCES unit/test_domain_rec.c
              ${PROJECT_SOURCE_DIR}/workers/domain_rec.c LIBS dcv_worker_lib)
dcv_py_test(it_queue test_queue.py TIMEOUT 900)
dcv_unit_test(test_log SOURCES unit/test_log.c LIBS dcv_acme)
# Prints a Lua script's source, so that a test runs it directly.
add_executable(dcv-script integration/script_source.c)
target_link_libraries(dcv-script PRIVATE dcv_core)
dcv_py_test(it_tenant test_tenant.py TIMEOUT 900)
# Each Lua script of common/lua/ run directly (EVALSHA) on a real Redis.
dcv_py_test(it_scripts test_scripts.py TIMEOUT 300)
# The runtime as a library, started and stopped twice in one process.
add_executable(dcv-runtime-driver integration/runtime_driver.c)
target_link_libraries(dcv-runtime-driver PRIVATE dcv_worker_lib)
dcv_py_test(it_runtime test_runtime.py TIMEOUT 300)
