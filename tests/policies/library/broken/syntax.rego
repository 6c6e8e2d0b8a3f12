package syntax

deny contains msg if {
	msg :=
