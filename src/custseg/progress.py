"""Step-by-step progress of a run on the terminal (presentation; used by the CLI only).

The pipeline reports each step as it starts through a ``progress(message)``
callable. :class:`StepProgress` is such a callable: on a terminal it shows the
running step with a spinner and its elapsed time (rich) and leaves a line per
finished step with how long it took; elsewhere (pipes, logs, tests) it prints one
plain ``... message`` line per step.
"""

from __future__ import annotations

import sys
from typing import IO, Any


class StepProgress:
    """Progress display for the steps of one run; use it as a context manager.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with StepProgress(stream=out) as say:
    ...     say("reading data")
    >>> out.getvalue()
    '... reading data\\n'
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._live: Any = None  # a rich Progress on a terminal
        self._task: Any = None

    def __enter__(self) -> StepProgress:
        if getattr(self._stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._live = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
            )
            self._live.start()
        return self

    def __call__(self, message: str) -> None:
        if self._live is None:
            print(f"... {message}", file=self._stream, flush=True)
            return
        self._finish_step()
        self._task = self._live.add_task(message, total=None)

    def _finish_step(self) -> None:
        if self._live is not None and self._task is not None:
            self._live.update(self._task, total=1, completed=1)
            self._live.stop_task(self._task)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._live is not None:
            if exc_type is None:
                self._finish_step()
            self._live.stop()  # also on Ctrl-C: the terminal is left clean


class _Quiet:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def step_progress(quiet: bool) -> StepProgress | _Quiet:
    """A :class:`StepProgress` on stderr, or a context that yields None when ``quiet``."""
    return _Quiet() if quiet else StepProgress()
