"""The files shipped in custseg parse to the same documents with either YAML loader."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from custseg._packaged import packaged_yaml


@pytest.mark.parametrize(
    ("package", "name"),
    [("custseg.features", "roles.yaml"), ("custseg.playbook", "default.yaml")],
)
def test_packaged_yaml_equals_the_pure_python_parse(package, name):
    text = resources.files(package).joinpath(name).read_text("utf-8")
    assert packaged_yaml(package, name) == yaml.load(text, Loader=yaml.SafeLoader)
