"""Files shipped inside custseg (the default playbook, the column roles)."""

from __future__ import annotations

from importlib import resources
from typing import Any


def packaged_yaml(package: str, name: str) -> Any:
    """The YAML document ``name`` shipped in ``package``, parsed with PyYAML's libyaml
    loader when it has one (ten times faster than the pure-Python one, the same document
    for these files; a user's file goes through the checked loaders instead)."""
    import yaml

    text = resources.files(package).joinpath(name).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
