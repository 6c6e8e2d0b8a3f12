# A test gitops-promote cannot run without the engine's own `with`: two different inputs in
# one test. With regopy 1.5.2 this crashes the engine (SIGSEGV or SIGABRT) when the rule
# calls a builtin (sprintf): the test FAILs with that reason. (One input per test is run
# without `with`: see tests/policies/test_with_input.py.)
package main

import rego.v1

test_deny_with_two_inputs if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "web", "labels": {"name": "web"}}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:latest", "resources": {"limits": {"cpu": "1"}}}]}}}}
	count(deny) == 0 with input as {"kind": "Service", "metadata": {"name": "web"}}
}
