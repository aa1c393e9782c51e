# The README's first command: deploy/demo.sh's driver (deploy/demo.py) run
# directly against this build's programs, on the real servers.
dcv_py_test(demo test_demo.py TIMEOUT 300)
