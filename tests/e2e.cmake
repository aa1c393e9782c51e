# End-to-end tests of the whole product: redis-server, BIND (P, S and the
# resolver R), Pebble and dcv-worker processes on loopback
# (tests/integration/fleet_env.py).
dcv_py_test(fleet_env test_fleet_env.py TIMEOUT 300)
dcv_py_test(e2e test_e2e.py TIMEOUT 1500)
# worker.job_timeout_ms against a nameserver and a CA that never answer.
dcv_py_test(e2e_deadline test_deadline.py TIMEOUT 600)
# The fleet and every dcvctl command as the ACL user of deploy/redis/users.acl.
dcv_py_test(acl test_acl.py TIMEOUT 600)
# Secrets: the Redis password in no message, the KEK required, keys in the
# clear under a KEK refused (redis-server, BIND, Pebble, dcv-worker).
dcv_py_test(secrets test_secrets.py TIMEOUT 600)
# dcvctl cert get|list: the exported files, the key against the leaf, the
# chain against Pebble's root, planted symlinks and directories, a foreign
# --out DIR, unchecked chains, escapes from Redis, a terminal refused.
dcv_py_test(it_cert test_cert.py TIMEOUT 600)
# dcvctl revoke: Pebble revokes (its management interface), the record, the
# certificate hash and the event; keyCompromise re-issues with a new key;
# already revoked, unknown, not the CA's, the CA unreachable.
dcv_py_test(it_revoke test_revoke.py TIMEOUT 600)
# dcvctl console in headless chromium (python3-selenium, chromium-driver).
dcv_py_test(it_console test_console.py TIMEOUT 900)
# The console's pure checks (CSRF, origin, auth, forms) and its escaping.
dcv_unit_test(test_console_guard SOURCES unit/test_console_guard.c
              ${PROJECT_SOURCE_DIR}/workers/console_guard.c
              ${PROJECT_SOURCE_DIR}/workers/console_html.c LIBS dcv_acme)
target_include_directories(test_console_guard PRIVATE ${PROJECT_SOURCE_DIR}/workers)
# dcvctl's text output of values read from Redis (ctl_term_safe).
dcv_unit_test(test_ctl_term SOURCES unit/test_ctl_term.c
              ${PROJECT_SOURCE_DIR}/workers/ctl_term.c)
target_include_directories(test_ctl_term PRIVATE ${PROJECT_SOURCE_DIR}/workers)
# The pipeline through the other TXT providers: the webhook with its example
# receiver updating BIND, exec with deploy/examples/exec/nsupdate-hook,
# PowerDNS (pdns_server) and RFC 2136 to Knot (knotd) holding the
# validation zone.
dcv_py_test(e2e_providers test_e2e_providers.py TIMEOUT 600)
# The same against step-ca as the only CA (tests/integration/stepca_env.py;
# the first run builds step-ca from Debian's Go source, about a minute, into
# build/stepca, tests/stepca/build.sh; "cmake --build build -t stepca" does
# it ahead).
dcv_py_test(it_stepca test_stepca.py TIMEOUT 600)
add_custom_target(stepca
  COMMAND ${PROJECT_SOURCE_DIR}/tests/stepca/build.sh ${PROJECT_BINARY_DIR}/stepca/step-ca
  COMMENT "step-ca for the tests (tests/stepca/build.sh)")
