# The Conftest unit-test forms, each with one `with input as VALUE`.
package main

import rego.v1

web := {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": {"limits": {"memory": "1Gi"}}}]}}}}

test_limit_missing_is_denied if {
	count(deny) == 1 with input as {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}}
}

test_one_line if count(deny) == 2 with input as {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "nginx:latest"}]}}}}

test_old_syntax {
	count(deny) == 0 with input as web
}

# a multi-line literal, with braces and `with input as` in its strings and comments
test_multi_line_literal if {
	count(deny) == 1 with input as {
		"kind": "Deployment",
		"metadata": {"name": "web", "annotations": {"note": "} with input as {\"x\": 1} ["}},  # } ] with input as
		"spec": {"template": {"spec": {"containers": [
			{"name": "web", "image": `nginx:latest`, "resources": {"limits": {"memory": "1Gi"}}},
		]}}},
	}
}

test_message_is_exact if {
	deny == {"container x has no memory limit"} with input as {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}}
}

test_a_variable_of_the_test if {
	doc := {"kind": "Deployment", "metadata": {"name": "db"}, "spec": {"template": {"spec": {"containers": [{"name": "db"}]}}}}
	msgs := deny with input as doc
	count(msgs) == 1
}

test_warn_counts if {
	count(warn) == 1 with input as {"kind": "Deployment", "metadata": {"name": "Web_1"}}
	count(deny) == 0 with input as {"kind": "Deployment", "metadata": {"name": "Web_1"}}
}

test_violation_counts if {
	count(violation) == 1 with input as {"kind": "Service", "spec": {"type": "NodePort"}}; violation == {{"msg": "no NodePort services"}} with input as {"kind": "Service", "spec": {"type": "NodePort"}}
}

test_no_with_at_all if count(web.spec.template.spec.containers) == 1
