# acme module tests: unit tests of the pure parsers, crypto and the client
# against a loopback fake CA (libmicrohttpd); the account store against a
# real redis-server; the whole client against a real Pebble (pytest).
pkg_check_modules(ACME_TEST_MHD REQUIRED IMPORTED_TARGET libmicrohttpd)

# The capped HTTP body reader both HTTP clients share.
dcv_unit_test(test_http_body SOURCES unit/test_http_body.c LIBS dcv_http)
dcv_unit_test(test_crypto SOURCES unit/test_crypto.c LIBS dcv_acme)
# the sealed certificate key against schemas/certificate-vectors.yaml
dcv_unit_test(test_certstore SOURCES unit/test_certstore.c LIBS dcv_acme)
dcv_unit_test(test_acme_parse SOURCES unit/test_acme_parse.c LIBS dcv_acme)
# a CA's capabilities from its directory (common/ca_caps.h)
dcv_unit_test(test_ca_caps SOURCES unit/test_ca_caps.c LIBS dcv_acme)
dcv_unit_test(test_acme_fake SOURCES unit/test_acme_fake.c
              LIBS dcv_acme dcv_worker_lib PkgConfig::ACME_TEST_MHD)

# The CLI the pytest files drive; it also carries dcvctl's account command.
add_executable(acme_driver integration/acme_driver.c
               ${PROJECT_SOURCE_DIR}/workers/ctl_account.c
               ${PROJECT_SOURCE_DIR}/workers/ca_cfg.c ${PROJECT_SOURCE_DIR}/workers/ca_health.c)
target_include_directories(acme_driver PRIVATE ${PROJECT_SOURCE_DIR}/workers)
target_link_libraries(acme_driver PRIVATE dcv_acme)

dcv_py_test(acme_pebble test_acme_pebble.py TIMEOUT 300)
dcv_py_test(acme_account test_acme_account.py TIMEOUT 300)
