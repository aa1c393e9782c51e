# metrics module: Prometheus registry and /metrics, /healthz, /readyz over
# libmicrohttpd (Debian: libmicrohttpd-dev to build, libmicrohttpd12 to run).
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)
add_library(dcv_metrics STATIC ${CMAKE_CURRENT_LIST_DIR}/metrics.c
            ${CMAKE_CURRENT_LIST_DIR}/metrics_http.c)
target_include_directories(dcv_metrics PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(dcv_metrics PUBLIC dcv_core PkgConfig::MICROHTTPD
                      Threads::Threads m)
