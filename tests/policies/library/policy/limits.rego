# Every container sets resources.limits (v1 syntax).
package main

import data.lib.k8s
import rego.v1

missing_limits(obj) := {msg |
	some c in k8s.containers(obj)
	not c.resources.limits
	msg := sprintf("%s: container %s has no resources.limits", [k8s.label(obj), c.name])
}

deny contains msg if some msg in missing_limits(input)
