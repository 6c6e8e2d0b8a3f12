# Crashes regopy 1.5.2 (segmentation fault) as soon as the package is compiled: `with input`
# on a rule that calls a builtin.
package crash

import rego.v1

name_of(x) := sprintf("%v", [x.metadata.name])

probe := name_of(input)

deny contains msg if {
	probe with input as {"metadata": {"name": "a"}}
	msg := "unreachable"
}
