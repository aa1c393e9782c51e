# DNS layer: unit tests of the pure parts, and integration tests against
# real named (BIND 9.18) and pdns_server started by tests/integration.
dcv_unit_test(test_dns_parse SOURCES unit/test_dns_parse.c LIBS dcv_dns)
dcv_unit_test(test_dns_cfg SOURCES unit/test_dns_cfg.c LIBS dcv_dns)
dcv_unit_test(test_dns_verdict SOURCES unit/test_dns_verdict.c LIBS dcv_dns)
dcv_unit_test(test_txt_answer SOURCES unit/test_txt_answer.c LIBS dcv_dns)
# The webhook and exec providers: signature vectors, URL rule, classification;
# exec with real /bin/sh programs (arguments, exit codes, timeout, stderr).
dcv_unit_test(test_txt_hooks SOURCES unit/test_txt_hooks.c LIBS dcv_dns)

add_executable(dns_driver integration/dns_driver.c)
target_link_libraries(dns_driver PRIVATE dcv_dns)

dcv_py_test(dns_bind test_dns_bind.py TIMEOUT 300)
dcv_py_test(dns_powerdns test_dns_powerdns.py TIMEOUT 120)
# The webhook provider against a scripted receiver and the example receiver.
dcv_py_test(dns_hooks test_dns_hooks.py TIMEOUT 180)
