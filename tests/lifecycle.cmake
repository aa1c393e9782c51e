# The domain lifecycle over time: offboard-check's decisions (pure, unit),
# the rate limiter under a burst of onboarding, and the whole fleet under
# crashes (tests/integration/test_ratelimit.py, test_chaos.py; real Redis,
# BIND, Pebble and dcv-worker processes).
dcv_unit_test(test_offboard SOURCES unit/test_offboard.c LIBS dcv_worker_lib dcv_acme)
dcv_py_test(it_ratelimit test_ratelimit.py TIMEOUT 900)
dcv_py_test(it_chaos test_chaos.py TIMEOUT 1200)
dcv_py_test(it_lifecycle test_lifecycle.py TIMEOUT 900)
dcv_py_test(it_multica test_multica.py TIMEOUT 900)
# The one list of states and events against the documentation.
dcv_unit_test(test_lifecycle_names SOURCES unit/test_lifecycle_names.c)
# The stages' pure decisions (workers/*_policy.c), row by row of the
# tables of schemas/lifecycle.md.
dcv_unit_test(test_verify_cname SOURCES unit/test_verify_cname.c LIBS dcv_stage_policy)
dcv_unit_test(test_create_order SOURCES unit/test_create_order.c LIBS dcv_stage_policy)
dcv_unit_test(test_ca_choice SOURCES unit/test_ca_choice.c LIBS dcv_stage_policy)
dcv_unit_test(test_ca_cfg SOURCES unit/test_ca_cfg.c ${PROJECT_SOURCE_DIR}/workers/ca_cfg.c
              LIBS dcv_stage_policy)
dcv_unit_test(test_provision_txt SOURCES unit/test_provision_txt.c LIBS dcv_stage_policy)
dcv_unit_test(test_finalize SOURCES unit/test_finalize.c LIBS dcv_stage_policy)
