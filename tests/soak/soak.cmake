# The soak's CI variant (tests/soak/README.md): 100 domains, 120 scaled
# days of 1 s, the oracle's figures printed.  About 2.5 minutes in the plain
# build.  Not in the sanitizer build: under ASan the workers are several
# times slower, issuance falls behind the scaled calendar (a renewal window
# is 30 s) and the test would measure the sanitizer, not the lifecycle; the
# sanitizer build runs the same workers through it_chaos and it_lifecycle.
if(NOT DCV_SANITIZE)
  add_test(NAME it_soak
    COMMAND ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/soak.py --ci)
  set_tests_properties(it_soak PROPERTIES LABELS "integration;soak"
    TIMEOUT 600
    ENVIRONMENT "DCV_BUILD_DIR=${PROJECT_BINARY_DIR};DCV_SOURCE_DIR=${PROJECT_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()
