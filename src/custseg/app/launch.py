"""Start the web app: ``streamlit run`` in a child process, locked down by default.

The server binds 127.0.0.1 unless told otherwise, answers only requests that
name it by the host it is bound to (no DNS rebinding), sends no usage statistics,
caps uploads, hides tracebacks from the page, and runs with a private temporary
folder (its ``TMPDIR``) that is removed when the app stops.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ..errors import ConfigError

DEFAULT_PORT = 8501
DEFAULT_MAX_UPLOAD_MB = 200
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
APP_SCRIPT = Path(__file__).with_name("streamlit_app.py")
INSTALL_HINT = 'the web app needs Streamlit; install it with: pip install "custseg[app]"'


def check_streamlit() -> None:
    """Raise :class:`ConfigError` with the install command when Streamlit is missing."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None


def free_port(host: str = "127.0.0.1", start: int = DEFAULT_PORT, tries: int = 100) -> int:
    """The first port from ``start`` on which ``host`` accepts a listening socket."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise ConfigError(f"no free port in {start}..{start + tries - 1} on {host}; pass --port")


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str) -> list[str]:
    """The Host header names the app answers on: the names of the address it is bound to.

    A web page elsewhere can make a browser send requests to this machine under a
    name of its own (DNS rebinding); the app serves only requests that name it by
    one of these. Bound to 127.0.0.1: the loopback names. Bound to one address or
    name: that one, plus the loopback names. Bound to every address (0.0.0.0):
    this machine's own names and addresses.
    """
    names = ["localhost", "127.0.0.1", "::1"]
    if host in LOCAL_HOSTS:
        return names
    if host not in WILDCARD_HOSTS:
        return [host.lower(), *names]
    own = {socket.gethostname(), socket.getfqdn()}
    for name in list(own):
        try:
            own.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    return sorted(n.lower() for n in own if n) + names


def streamlit_command(
    *, host: str, port: int, max_upload_mb: int, python: str | None = None
) -> list[str]:
    """The ``python -m streamlit run`` command line for the app.

    The browser is opened by :func:`run_app`, not Streamlit, so the server always
    runs headless (no first-run e-mail prompt, nothing written to ``~/.streamlit``).
    """
    return [
        python or sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.maxUploadSize",
        str(max_upload_mb),
        "--server.maxMessageSize",
        str(max(200, max_upload_mb)),
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--server.enableXsrfProtection",
        "true",
        *[arg for name in allowed_hosts(host) for arg in ("--server.allowedHosts", name)],
        "--browser.gatherUsageStats",
        "false",
        "--browser.serverAddress",
        "localhost" if host in LOCAL_HOSTS else host,
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_app(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = True,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    say=print,
) -> int:
    """Serve the web app until interrupted; return the server's exit status.

    Parameters
    ----------
    host : str
        Address to bind. Anything other than 127.0.0.1/localhost exposes the
        app (and the data uploaded to it) to other machines.
    port : int, optional
        Default: the first free port from 8501.
    open_browser : bool
        Open the page in the default browser once the server answers.
    max_upload_mb : int
        Largest file accepted, in megabytes (stated on the page).
    say : callable
        Where to print status lines.

    Examples
    --------
    >>> run_app(port=8502, open_browser=False)  # doctest: +SKIP
    """
    check_streamlit()
    if max_upload_mb < 1:
        raise ConfigError(f"--max-upload-mb {max_upload_mb} must be at least 1")
    if port is None:
        port = free_port(host if host != "localhost" else "127.0.0.1")
    url = f"http://{'localhost' if host in LOCAL_HOSTS else host}:{port}"
    if host not in LOCAL_HOSTS:
        say(
            f"Warning: serving on {host}: anyone who can reach this machine on port {port} "
            "can use the app and see the data uploaded to it."
        )
    private_tmp = tempfile.mkdtemp(prefix="custseg-app-")
    env = dict(os.environ)
    env.update(
        {
            # Uploads are read through temporary files: keep them in our private folder.
            "TMPDIR": private_tmp,
            "TEMP": private_tmp,
            "TMP": private_tmp,
            "MPLCONFIGDIR": private_tmp,
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            "CUSTSEG_APP_MAX_UPLOAD_MB": str(max_upload_mb),
        }
    )
    cmd = streamlit_command(host=host, port=port, max_upload_mb=max_upload_mb)
    proc = subprocess.Popen(cmd, env=env, cwd=private_tmp)

    def _terminate(signum, frame):  # stop the server too when we are told to stop
        raise KeyboardInterrupt

    previous = {
        sig: signal.signal(sig, _terminate)
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))
    }
    try:
        if _wait_until_up(url, proc, timeout=60):
            say(f"custseg app running at {url}  (Ctrl+C to stop; uploads up to {max_upload_mb} MB)")
            if open_browser:
                import webbrowser

                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        say("Stopping custseg app.")
        return 0
    finally:
        _stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(private_tmp, ignore_errors=True)


__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "allowed_hosts",
    "check_streamlit",
    "free_port",
    "run_app",
    "streamlit_command",
]
