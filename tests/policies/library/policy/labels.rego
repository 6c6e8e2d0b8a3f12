# Workloads carry the labels data.required_labels names (the OLD syntax: deny[msg] { ... },
# in the same package as the v1 rules).
package main

import data.lib.k8s

missing_labels(obj) = {msg |
	k8s.workloads[obj.kind]
	label := data.required_labels[_]
	not obj.metadata.labels[label]
	msg := sprintf("%s has no label %s", [k8s.label(obj), label])
}

deny[msg] {
	missing_labels(input)[msg]
}
