"""docs/cli.md is the contract other tools read: every command it documents exists with the
options its heading shows, and every command exists in it."""

from __future__ import annotations

import re

import click

from headcheck.cli import main
from tests.conftest import ROOT

HEADINGS = re.findall(r"^## `headcheck ([a-z-]+)([^`]*)`", (ROOT / "docs" / "cli.md").read_text(),
                      re.M)


def test_every_command_is_documented_and_every_documented_command_exists() -> None:
    ctx = click.Context(main)
    assert {name for name, _ in HEADINGS} == set(main.list_commands(ctx))


def test_documented_options_exist() -> None:
    ctx = click.Context(main)
    for name, rest in HEADINGS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None, name
        known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        documented = set(re.findall(r"--[a-z][a-z0-9-]*", rest))
        assert documented <= known, (name, documented - known)
