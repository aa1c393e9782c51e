# acme benchmarks (bench/ACME.md): JWS ES256 signatures per second; the
# issuance rate against a local Pebble is driven by bench/acme_bench.sh with
# tests/integration/acme_driver.
add_executable(acme_bench_jws ${CMAKE_CURRENT_LIST_DIR}/acme_jws.c)
target_link_libraries(acme_bench_jws PRIVATE dcv_acme)
