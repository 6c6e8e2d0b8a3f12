package main

import rego.v1

pod := {
	"kind": "Pod",
	"metadata": {"name": "debug"},
	"spec": {
		"containers": [{"name": "shell", "image": "busybox:1.36", "securityContext": {"privileged": true}}],
		"volumes": [{"name": "root", "hostPath": {"path": "/"}}],
	},
}

test_privileged_and_host_path if count(unsafe(pod)) == 2

test_registry_allow_list_from_data if {
	count(foreign(pod)) == 1
	allowed("ghcr.io/myorg/api:1.0")
	not allowed("mongo")
}
