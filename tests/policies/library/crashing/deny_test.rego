# The common Conftest form: `deny` evaluated `with input as` a document. With regopy 1.5.2
# this crashes the engine (segmentation fault) when the rule calls a builtin (sprintf).
package main

import rego.v1

test_deny_with_input if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "web", "labels": {"name": "web"}}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:latest", "resources": {"limits": {"cpu": "1"}}}]}}}}
}
