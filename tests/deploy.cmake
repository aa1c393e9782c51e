# deploy/: lint and review checks of the manifests, the Redis ACL against a
# real redis-server, the Dockerfile; --check-config once dcv-worker exists.
dcv_py_test(deploy test_deploy.py TIMEOUT 120)
# The hardening flags of every binary of the build, read off the ELF files.
dcv_py_test(hardening test_hardening.py TIMEOUT 60)
# deploy/monitoring: promtool check and unit tests of the alert rules, the
# metric names of every query, the fleet gauges on a real Redis, and a real
# Prometheus evaluating the rules over a live fleet.
dcv_py_test(monitoring test_monitoring.py TIMEOUT 600)
