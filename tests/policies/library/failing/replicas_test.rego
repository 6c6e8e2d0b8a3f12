# A test that fails on purpose (the rule warns about one replica): policy test says FAIL.
package main

import rego.v1

test_single_replica_is_fine if count(single({"kind": "Deployment", "metadata": {"name": "x"}, "spec": {}})) == 0
