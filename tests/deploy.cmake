# deploy/: lint and review checks of the manifests, the Redis ACL against a
# real redis-server, the Dockerfile; --check-config once dcv-worker exists.
dcv_py_test(deploy test_deploy.py TIMEOUT 120)
