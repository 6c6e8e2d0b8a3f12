# No mutable tags: every container names a version tag or a digest (v1 syntax).
package main

import data.lib.k8s
import rego.v1

# The rule is a function of the object, so that the tests can call it directly (the Conftest
# form `count(deny) == 1 with input as {...}` works too: see conftest_style/).
latest_tag(obj) := {msg |
	some c in k8s.containers(obj)
	not contains(c.image, "@")
	mutable(c.image)
	msg := sprintf("%s: container %s uses %s; pin a version tag or a digest", [k8s.label(obj), c.name, c.image])
}

mutable(image) if endswith(image, ":latest")

mutable(image) if not contains(last_segment(image), ":")

last_segment(image) := parts[count(parts) - 1] if parts := split(image, "/")

deny contains msg if some msg in latest_tag(input)
