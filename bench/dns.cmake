# DNS delegation-check benchmark (bench/DNS.md): dns_bench is driven by
# bench/dns_bench.py against a local named, beside dnsperf.
add_executable(dns_bench ${CMAKE_CURRENT_LIST_DIR}/dns_bench.c)
target_link_libraries(dns_bench PRIVATE dcv_dns)
