"""The command line: the commands (:mod:`.commands`) and their analysis options,
generated from :class:`~custseg.config.SegmentationConfig` (:mod:`.options`)."""

from .commands import EXIT_INTERNAL, EXIT_OK, EXIT_USER, ISSUES_URL, cli, main

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USER", "ISSUES_URL", "cli", "main"]
