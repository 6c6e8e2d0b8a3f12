# A warning, not a failure: one replica has no redundancy (a warn_* rule).
package main

import rego.v1

single(obj) := {msg |
	obj.kind in {"Deployment", "StatefulSet"}
	object.get(obj.spec, "replicas", 1) < 2
	msg := sprintf("%s %s runs a single replica", [obj.kind, obj.metadata.name])
}

warn_replicas contains msg if some msg in single(input)
