"""CODEOWNERS evaluated as GitHub does, and the ownership gate built on it.

The answers of the tables come from GitHub's documentation ("About code owners": its example
CODEOWNERS file, the comment above each rule saying what it owns, and the "Syntax exceptions"
that do not work in CODEOWNERS: ``\\#`` escapes, ``!`` negation, ``[ ]`` ranges; the CODEOWNERS
errors API's "The pattern ``/`` will never match anything"), plus the rules a hostile later line
uses to take production back.
"""

from __future__ import annotations

import pytest

from gitops_promote.config.model import App, Config, Environment, Settings
from gitops_promote.plan.gates.ownership import (
    BEGIN,
    END,
    control_files,
    most_protected,
    owner_rule,
    ownership_gate,
    parse,
    render_block,
)

# (rule line, path, the owners GitHub gives the path; None: the rule does not match it)
RULE_CASES: list[tuple[str, str, tuple[str, ...] | None]] = [
    # "These owners will be the default owners for everything in the repo."
    ("* @global-owner1 @global-owner2", "README.md", ("@global-owner1", "@global-owner2")),
    ("* @global-owner1 @global-owner2", "a/b/c.txt", ("@global-owner1", "@global-owner2")),
    # "*.js @js-owner #This is an inline comment." (the comment is no owner)
    ("*.js @js-owner #This is an inline comment.", "app.js", ("@js-owner",)),
    ("*.js @js-owner #This is an inline comment.", "src/lib/app.js", ("@js-owner",)),
    ("*.js @js-owner", "app.jsx", None),
    ("*.go docs@example.com", "cmd/main.go", ("docs@example.com",)),
    ("*.txt @octo-org/octocats", "notes/todo.txt", ("@octo-org/octocats",)),
    # "owns any files in the build/logs directory at the root ... and any of its subdirectories"
    ("/build/logs/ @doctocat", "build/logs/today.log", ("@doctocat",)),
    ("/build/logs/ @doctocat", "build/logs/2026/today.log", ("@doctocat",)),
    ("/build/logs/ @doctocat", "src/build/logs/today.log", None),
    # "docs/* will match docs/getting-started.md but not docs/build-app/troubleshooting.md"
    ("docs/* docs@example.com", "docs/getting-started.md", ("docs@example.com",)),
    ("docs/* docs@example.com", "docs/build-app/troubleshooting.md", None),
    # "owns any file in an apps directory anywhere in your repository"
    ("apps/ @octocat", "apps/web/index.js", ("@octocat",)),
    ("apps/ @octocat", "src/apps/web/index.js", ("@octocat",)),
    # "owns any file in the /docs directory in the root ... and any of its subdirectories"
    ("/docs/ @doctocat", "docs/a.md", ("@doctocat",)),
    ("/docs/ @doctocat", "docs/deep/er/a.md", ("@doctocat",)),
    ("/docs/ @doctocat", "src/docs/a.md", None),
    ("/scripts/ @doctocat @octocat", "scripts/deploy.sh", ("@doctocat", "@octocat")),
    # "owns any file in a /logs directory such as /build/logs, /scripts/logs, /deeply/nested/logs"
    ("**/logs @octocat", "build/logs/a.log", ("@octocat",)),
    ("**/logs @octocat", "scripts/logs/a.log", ("@octocat",)),
    ("**/logs @octocat", "deeply/nested/logs/a.log", ("@octocat",)),
    ("**/logs @octocat", "logs/a.log", ("@octocat",)),
    ("/apps/github @doctocat", "apps/github/a.rb", ("@doctocat",)),
    ("/apps/github @doctocat", "apps/gitlab/a.rb", None),
    # a rule without owners still matches: it removes ownership
    ("/apps/github", "apps/github/a.rb", ()),
    # syntax exceptions: GitHub skips such a line, it owns nothing
    ("!/apps/ @octocat", "apps/a.rb", None),
    ("[ab]pps/ @octocat", "apps/a.rb", None),
    ("\\#notes.txt @octocat", "#notes.txt", None),
    ("/ @octocat", "README.md", None),  # "The pattern / will never match anything"
    # how a later line takes production back
    ("*.yaml @x", "apps/api/overlays/production/kustomization.yaml", ("@x",)),
    ("/apps/** @x", "apps/api/overlays/production/kustomization.yaml", ("@x",)),
    ("**/production/ @x", "apps/api/overlays/production/kustomization.yaml", ("@x",)),
    ("/apps/*/overlays/production/", "apps/api/overlays/production/patch.yaml", ()),
    (
        "/apps/*/overlays/production/ @o/oncall",
        "apps/api/overlays/production/a/b.yaml",
        ("@o/oncall",),
    ),
    ("/apps/*/overlays/production/ @o/oncall", "apps/api/overlays/production-eu/k.yaml", None),
    ("/apps/*/overlays/production/ @o/oncall", "apps/api/overlays/staging/k.yaml", None),
    ("/promotion.yaml @o/oncall", "promotion.yaml", ("@o/oncall",)),
    ("/promotion.yaml @o/oncall", "sub/promotion.yaml", None),
    ("promotion.yaml @x", "sub/promotion.yaml", ("@x",)),
    ("/my\\ apps/ @o/oncall", "my apps/k.yaml", ("@o/oncall",)),
]


@pytest.mark.parametrize(("line", "path", "owners"), RULE_CASES)
def test_one_rule(line: str, path: str, owners: tuple[str, ...] | None) -> None:
    """One CODEOWNERS rule gives ``path`` the owners GitHub documents (None: no match)."""
    rule = owner_rule(parse(line), path)
    assert (rule.owners if rule else None) == owners


# (CODEOWNERS text, path, the owners GitHub gives it): the last matching rule wins
FILE_CASES: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("* @global\n*.js @js-owner\n", "src/app.js", ("@js-owner",)),
    ("* @global\n*.js @js-owner\n", "README.md", ("@global",)),
    ("*.js @js-owner\n* @global\n", "src/app.js", ("@global",)),
    # "owns any file in /apps except /apps/github, as its owners are left empty"
    ("/apps/ @octocat\n/apps/github\n", "apps/github/a.rb", ()),
    ("/apps/ @octocat\n/apps/github\n", "apps/web/a.rb", ("@octocat",)),
    # "... except /apps/github, as this subdirectory has its own code owner @doctocat"
    ("/apps/ @octocat\n/apps/github @doctocat\n", "apps/github/a.rb", ("@doctocat",)),
    ("# a comment\n\n   \n/x/ @a\n", "x/y", ("@a",)),
    ("/x/ @a\n!/x/y @b\n", "x/y", ("@a",)),  # the skipped line does not win
]


@pytest.mark.parametrize(("text", "path", "owners"), FILE_CASES)
def test_last_matching_rule_wins(text: str, path: str, owners: tuple[str, ...] | None) -> None:
    """A whole CODEOWNERS text: the last valid matching rule decides, even without owners."""
    rule = owner_rule(parse(text), path)
    assert (rule.owners if rule else None) == owners


def test_parse_keeps_line_numbers_and_skips_comments() -> None:
    """Rules carry their 1-based line; comments and blank lines are not rules."""
    rules = parse("# c\n\n*.js @a @b # inline\n!x @c\n")
    assert [(r.line, r.pattern, r.owners, r.valid) for r in rules] == [
        (3, "*.js", ("@a", "@b"), True),
        (4, "!x", ("@c",), False),
    ]


DEV = Environment(name="dev", path="apps/{app}/overlays/dev")
STAGING = Environment(
    name="staging", path="apps/{app}/overlays/staging", mode="pull-request", owners=("@o/seniors",)
)
PROD = Environment(
    name="production",
    path="apps/{app}/overlays/production",
    mode="pull-request",
    owners=("@o/oncall",),
)
CONFIG = Config(
    (DEV, STAGING, PROD),
    (App(name="api", image="ghcr.io/o/api"),),
    settings=Settings(state_file="versions.json"),
)
BLOCK = "\n".join(render_block(CONFIG)) + "\n"
PROD_FILE = "apps/api/overlays/production/kustomization.yaml"


def test_block_covers_the_control_files() -> None:
    """promotion.yaml, every CODEOWNERS GitHub reads and the state file are owned by the
    most protected environment's owners (production's, not staging's)."""
    assert most_protected(CONFIG) == PROD
    assert control_files(CONFIG) == [
        "promotion.yaml",
        ".github/CODEOWNERS",
        "CODEOWNERS",
        "docs/CODEOWNERS",
        "versions.json",
    ]
    for path in control_files(CONFIG):
        rule = owner_rule(parse(BLOCK), path)
        assert rule is not None
        assert rule.owners == ("@o/oncall",), path


TAKEN = [
    ("*.yaml @x", "'apps/api/overlays/staging/kustomization.yaml' (staging) from @o/seniors"),
    ("/apps/** @x", "(staging) from @o/seniors, giving it to @x"),
    ("**/production/ @x", f"takes '{PROD_FILE}' (production) from @o/oncall, giving it to @x"),
    ("/apps/api/overlays/production/", "giving it to no one (a rule without owners)"),
    ("/promotion.yaml @o/seniors", "takes control file 'promotion.yaml' from @o/oncall"),
    ("/.github/ @x", "takes control file '.github/CODEOWNERS' from @o/oncall"),
    ("versions.json @x", "takes control file 'versions.json' from @o/oncall"),
    ("/apps/*/overlays/production/ @o/oncall @x", "giving it to @o/oncall @x"),
]


@pytest.mark.parametrize(("later", "words"), TAKEN, ids=[t[0] for t in TAKEN])
def test_a_later_rule_that_takes_a_covered_file_fails(later: str, words: str) -> None:
    """Any rule after the block that gives a file the block covers to other owners (more
    owners, fewer, or none) fails the gate, naming the line, the file and both owners."""
    result = ownership_gate(CONFIG, BLOCK + later + "\n")
    assert not result.passed
    line = BLOCK.count("\n") + 1
    assert result.line == line
    assert f".github/CODEOWNERS:{line} '{later.split(maxsplit=1)[0]}' comes after" in result.message
    assert words in result.message


def test_a_file_of_the_tree_is_judged_too() -> None:
    """A production file no probe names (a JSON patch) taken by ``/apps/**/*.json`` fails
    once the tree's files are given; without it the probes alone see nothing wrong."""
    text = BLOCK + "/apps/**/*.json @x\n"
    assert ownership_gate(CONFIG, text).passed
    result = ownership_gate(CONFIG, text, paths=["apps/api/overlays/production/patch.json"])
    assert not result.passed
    assert "takes 'apps/api/overlays/production/patch.json' (production)" in result.message


KEPT = [
    ("a rule elsewhere", "/handbook/ @x"),
    ("the same owners, in another case", "/apps/*/overlays/production/*.yaml @O/ONCALL"),
    ("negation does not work in CODEOWNERS", "!/apps/ @x"),
    ("ranges do not work in CODEOWNERS", "/apps/*/overlays/[p]roduction/ @x"),
    ("an escaped # does not work in CODEOWNERS", "\\#promotion.yaml @x"),
    ("'/' never matches", "/ @x"),
    ("not a gitignore pattern at all", "/apps/**\\"),
    ("docs/* is not recursive", "/apps/* @x"),
]


@pytest.mark.parametrize(("case", "later"), KEPT, ids=[k[0] for k in KEPT])
def test_rules_that_do_not_take_anything_pass(case: str, later: str) -> None:
    """Rules after the block that GitHub would not apply to a covered file pass."""
    result = ownership_gate(CONFIG, BLOCK + later + "\n", paths=[PROD_FILE, "apps/README.md"])
    assert result.passed, result.message


def test_codeowners_files_github_does_not_read_are_not_judged() -> None:
    """``/docs/ @x`` after the block in .github/CODEOWNERS takes nothing that matters:
    GitHub never reads docs/CODEOWNERS while .github/CODEOWNERS exists. In docs/CODEOWNERS
    itself the same rule takes the file GitHub reads, and fails."""
    text = BLOCK + "/docs/ @x\n"
    assert ownership_gate(CONFIG, text, paths=["docs/CODEOWNERS"]).passed
    result = ownership_gate(CONFIG, text, "docs/CODEOWNERS")
    assert not result.passed
    assert "takes control file 'docs/CODEOWNERS' from @o/oncall" in result.message


def test_rules_before_the_block_do_not_matter() -> None:
    """The block wins over every rule above it."""
    assert ownership_gate(CONFIG, "*.yaml @x\n**/production/\n" + BLOCK).passed


def test_an_old_block_without_control_files_is_out_of_date() -> None:
    """A block written before control files were covered asks to be regenerated."""
    old = "\n".join(
        [
            BEGIN,
            "/apps/*/overlays/staging/ @o/seniors",
            "/apps/*/overlays/production/ @o/oncall",
            END,
        ]
    )
    result = ownership_gate(CONFIG, old + "\n")
    assert not result.passed
    assert "line 4 should read '/promotion.yaml @o/oncall'" in result.message
