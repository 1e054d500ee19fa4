"""The docs tell the truth: every command has help, every README command runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import run_cli
from custseg.cli import cli
from custseg.data.demo import make_customers

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """Lines of README code blocks that run custseg (comments stripped)."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("custseg "):
                lines.append(line)
    return lines


def test_every_command_has_help_with_an_example():
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        code, out, _ = run_cli(name, "--help")
        assert code == 0, name
        assert "Example" in out, f"custseg {name} --help has no example"


def test_readme_quick_start_is_the_ci_command():
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_readme_command_runs(tmp_path, monkeypatch):
    """Run the README's commands in order, in a folder with the files they name."""
    monkeypatch.chdir(tmp_path)
    make_customers(400, seed=1).to_csv("customers.csv", index=False)
    make_customers(60, seed=2).to_csv("new_customers.csv", index=False)
    q2 = make_customers(400, seed=3)
    q2.to_csv("customers_q2.csv", index=False)
    make_customers(2_000, seed=4).to_parquet("big.parquet", index=False)
    from rfm_logs import make_invoice_log

    make_invoice_log(200, seed=5).to_csv("invoices.csv", index=False)
    commands = readme_commands()
    assert len(commands) >= 6
    ran = 0
    for line in commands:
        args = shlex.split(line)[1:]
        if args[0] == "app":  # a long-running server; tested in test_app_browser.py
            continue
        code, _, err = (
            run_cli(*args, "--quiet") if args[0] in ("segment", "demo", "rfm") else run_cli(*args)
        )
        assert code == 0, f"{line}\n{err}"
        ran += 1
    assert ran >= 6
    assert Path("result/report.html").is_file()
    assert Path("q2/segments.json").is_file()
    assert Path("big_assigned.parquet").is_file()
    assert Path("rfm/customers.csv").is_file()


@pytest.mark.parametrize("doc", sorted(p.name for p in (ROOT / "docs").glob("*.md")))
def test_docs_pages_link_to_existing_files(doc):
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)\)", text):
        assert (ROOT / "docs" / target).exists(), f"{doc} links to missing {target}"
