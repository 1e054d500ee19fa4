"""Recommend a marketing action for each segment from a readable YAML playbook."""

from .playbook import Playbook, load_playbook

__all__ = ["Playbook", "load_playbook"]
