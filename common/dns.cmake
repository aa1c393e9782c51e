# The DNS layer: c-ares lookups and checks (dns.c the pure parts,
# dns_engine.c the c-ares engine, dns_check.c the checks over it,
# dns_verdict.c what the answers mean), the CAA check (caa.c, dns_caa.c)
# and the TXT providers (RFC 2136 over ldns, PowerDNS and the webhook
# over libcurl + jansson, exec over posix_spawn).
pkg_check_modules(DCV_DNS_CARES REQUIRED IMPORTED_TARGET libcares)
pkg_check_modules(DCV_DNS_LDNS REQUIRED IMPORTED_TARGET ldns)
pkg_check_modules(DCV_DNS_CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(DCV_DNS_JANSSON REQUIRED IMPORTED_TARGET jansson)

add_library(dcv_dns STATIC
  ${CMAKE_CURRENT_LIST_DIR}/dns.c
  ${CMAKE_CURRENT_LIST_DIR}/dns_check.c
  ${CMAKE_CURRENT_LIST_DIR}/dns_engine.c
  ${CMAKE_CURRENT_LIST_DIR}/dns_verdict.c
  ${CMAKE_CURRENT_LIST_DIR}/caa.c
  ${CMAKE_CURRENT_LIST_DIR}/dns_caa.c
  ${CMAKE_CURRENT_LIST_DIR}/txt_provider.c
  ${CMAKE_CURRENT_LIST_DIR}/txt_rfc2136.c
  ${CMAKE_CURRENT_LIST_DIR}/txt_powerdns.c
  ${CMAKE_CURRENT_LIST_DIR}/txt_webhook.c
  ${CMAKE_CURRENT_LIST_DIR}/txt_exec.c
)
target_include_directories(dcv_dns PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# dcv_metrics: the TXT updates are counted (dcv_dns_provider_requests_total).
target_link_libraries(dcv_dns PUBLIC dcv_core dcv_http dcv_metrics PkgConfig::DCV_DNS_CARES
                      PkgConfig::DCV_DNS_LDNS PkgConfig::DCV_DNS_CURL
                      PkgConfig::DCV_DNS_JANSSON)
