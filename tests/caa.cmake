# CAA check (common/caa.c, common/dns_caa.c): unit tests of RDATA parsing
# and evaluation, and an integration test against a real named through
# caa_driver.
dcv_unit_test(test_caa SOURCES unit/test_caa.c LIBS dcv_dns)

add_executable(caa_driver integration/caa_driver.c)
target_link_libraries(caa_driver PRIVATE dcv_dns)

dcv_py_test(caa_bind test_caa_bind.py TIMEOUT 180)
