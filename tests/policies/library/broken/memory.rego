# Allocates gigabytes within seconds: a range of fifty million numbers.
package memory

import rego.v1

deny contains "unreachable" if count(numbers.range(1, 50000000)) > 0
