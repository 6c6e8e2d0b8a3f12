# Helpers shared by the team's rules: a package of its own, in a subdirectory (the loader
# reads policy directories recursively).
package lib.k8s

import rego.v1

workloads := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in workloads

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

containers(obj) := [c |
	some field in ["initContainers", "containers"]
	some c in object.get(pod_spec(obj), field, [])
]

label(obj) := sprintf("%s %s", [obj.kind, obj.metadata.name])
