# Errors at run time: a complete rule with two values for one input.
package errors

import rego.v1

kind := input.kind

kind := "always"

deny contains msg if {
	kind
	msg := "unreachable"
}
