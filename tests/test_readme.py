"""The README's two set-up commands and .ci/run stay in sync."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    first_screen = text[: text.index("\n## ")]
    return re.findall(r"```(?:bash|sh|console)\n(.*?)\n```", first_screen, re.S)


def test_first_screen_has_exactly_two_setup_commands():
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    assert "fastloss bench" in cmds[0] and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    test_cmd = readme_commands()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines(), (test_cmd, ci)
