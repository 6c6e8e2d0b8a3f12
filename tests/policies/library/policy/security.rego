# No privileged container, no hostPath volume: violation rules returning objects.
package main

import data.lib.k8s
import rego.v1

unsafe(obj) := {v |
	some c in k8s.containers(obj)
	c.securityContext.privileged == true
	v := {"msg": sprintf("%s: container %s is privileged", [k8s.label(obj), c.name]), "details": {"container": c.name}}
} | {v |
	some vol in object.get(k8s.pod_spec(obj), "volumes", [])
	vol.hostPath
	v := {"msg": sprintf("%s: volume %s mounts the host path %s", [k8s.label(obj), vol.name, vol.hostPath.path]), "details": {"volume": vol.name}}
}

violation contains v if some v in unsafe(input)
