# A rolling restart of the fleet under load, and the backend integration
# examples of deploy/examples (node and python) against a real redis-server.
dcv_py_test(it_rolling test_rolling.py TIMEOUT 600)
dcv_py_test(it_examples test_examples.py TIMEOUT 300)
# The same examples against a live fleet (Redis, BIND, Pebble, dcv-worker).
dcv_py_test(it_examples_live test_examples_live.py TIMEOUT 300)
