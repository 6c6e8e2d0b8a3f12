# Images come from the registries data.allowed_registries names (a data file beside it).
package main

import data.lib.k8s
import rego.v1

# docker.io's short names: "mongo" is docker.io/library/mongo, "a/b" is docker.io/a/b
full_name(image) := image if {
	first := split(image, "/")[0]
	regex.match(`[.:]|^localhost$`, first)
	contains(image, "/")
} else := concat("/", ["docker.io", image]) if {
	contains(image, "/")
} else := concat("/", ["docker.io/library", image])

allowed(image) if {
	some prefix in data.allowed_registries
	startswith(full_name(image), prefix)
}

foreign(obj) := {msg |
	some c in k8s.containers(obj)
	not allowed(c.image)
	msg := sprintf("%s: container %s runs %s, not from an allowed registry", [k8s.label(obj), c.name, c.image])
}

deny_registry contains msg if some msg in foreign(input)
