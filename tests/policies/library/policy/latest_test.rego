package main

import rego.v1

# Fixtures are written out, not built by a function from a string argument: regopy 1.5.2's
# sprintf %s keeps the quotes of a string that comes from a literal through a parameter.
latest := {
	"kind": "Deployment",
	"metadata": {"name": "web", "labels": {"name": "web"}},
	"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:latest"}]}}},
}

untagged := {
	"kind": "StatefulSet",
	"metadata": {"name": "db"},
	"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "registry.local:5000/postgres"}]}}},
}

tagged := {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
}

pinned := {
	"kind": "CronJob",
	"metadata": {"name": "job"},
	"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "nginx@sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"}]}}}}},
}

test_latest_is_denied if count(latest_tag(latest)) == 1

test_untagged_is_denied if count(latest_tag(untagged)) == 1

test_version_tag_passes if count(latest_tag(tagged)) == 0

test_digest_passes if count(latest_tag(pinned)) == 0

test_message_names_the_container if {
	latest_tag(latest) == {"Deployment web: container web uses nginx:latest; pin a version tag or a digest"}
}
