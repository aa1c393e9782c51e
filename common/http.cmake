# http module: the capped HTTP body reader and the one curl_global_init
# (libcurl), shared by the ACME transport and the PowerDNS provider.
pkg_check_modules(DCV_HTTP_CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(dcv_http STATIC ${CMAKE_CURRENT_LIST_DIR}/http_body.c)
target_include_directories(dcv_http PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(dcv_http PUBLIC PkgConfig::DCV_HTTP_CURL Threads::Threads)
