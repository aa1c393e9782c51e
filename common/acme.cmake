# acme module: the ACME client (RFC 8555), its HTTP transport, the crypto
# wrapper over OpenSSL 3 and the fleet-shared account store in Redis.
pkg_check_modules(ACME_CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(ACME_SSL REQUIRED IMPORTED_TARGET libssl libcrypto)
pkg_check_modules(ACME_JANSSON REQUIRED IMPORTED_TARGET jansson)

add_library(dcv_acme STATIC
  ${CMAKE_CURRENT_LIST_DIR}/acme.c
  ${CMAKE_CURRENT_LIST_DIR}/acme_cert.c
  ${CMAKE_CURRENT_LIST_DIR}/acme_opts.c
  ${CMAKE_CURRENT_LIST_DIR}/acme_parse.c
  ${CMAKE_CURRENT_LIST_DIR}/acme_http.c
  ${CMAKE_CURRENT_LIST_DIR}/crypto.c
  ${CMAKE_CURRENT_LIST_DIR}/crypto_seal.c
  ${CMAKE_CURRENT_LIST_DIR}/crypto_x509.c
  ${CMAKE_CURRENT_LIST_DIR}/account.c
  ${CMAKE_CURRENT_LIST_DIR}/certstore.c
  ${CMAKE_CURRENT_LIST_DIR}/ca_caps.c
)
target_include_directories(dcv_acme PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(dcv_acme PUBLIC dcv_core dcv_http PkgConfig::ACME_CURL
                      PkgConfig::ACME_SSL PkgConfig::ACME_JANSSON)
