# Never returns: a pathological (catastrophic backtracking) regular expression.
package loops

import rego.v1

deny contains msg if {
	regex.match(`^(a+)+$`, concat("", ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b"]))
	msg := "unreachable"
}
