# Conftest rules that call builtins (sprintf, endswith, regex.match): the engine's own `with`
# crashes on them (regopy 1.5.2); their tests below use `with input as` all the same.
package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	some c in input.spec.template.spec.containers
	not c.resources.limits.memory
	msg := sprintf("container %s has no memory limit", [c.name])
}

deny contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses a latest tag", [c.name])
}

warn contains msg if {
	input.kind == "Deployment"
	not regex.match(`^[a-z][a-z0-9-]*$`, input.metadata.name)
	msg := sprintf("name %s is not a DNS label", [input.metadata.name])
}

violation contains {"msg": msg} if {
	input.kind == "Service"
	input.spec.type == "NodePort"
	msg := "no NodePort services"
}
