"""jupyter_tracker as a user installs it: the wheel built from this checkout, pip-installed into a fresh venv.

The browser tests of the JupyterLab and Notebook 7 hosts run against this venv, not the project's
``.venv`` (whose editable install keeps no labextension): what they find there, the labextension in
``share/jupyter/labextensions`` and the server extensions' ``etc/jupyter`` config, came from the
wheel alone. The venv is built once per test session (``fresh_venv``); its dependencies are pinned
to the versions of the running test environment, so pip takes them from its cache (or the local
index) and the JupyterLab under test is the one the other browser tests use. The wheel size and the
install time go to ``test-artifacts/wheel_install.json``.

``venv_hosts`` gives the test modules one user's directory for the session (a local store with one
seeded run), one server of the venv with kernels and one with none (for saved notebooks reopened
without a kernel), started when first asked for and stopped when the session ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lab_helpers import ARTIFACTS, NO_KERNEL, ROOT, free_port, wait_until

#: what the fresh venv gets besides the wheel: the two front ends and the kernel a notebook runs in
HOSTS = ("jupyterlab", "notebook", "ipykernel")
#: environment variables that would point the venv's processes at the test environment or at a user's setup
FOREIGN = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "JUPYTER_", "JUPYTERLAB_", "WANDB_",
           "JUPYTER_TRACKER_", "IPYTHONDIR")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: the finished run of the session's store, seeded by the venv's own jupyter_tracker; the modules' runs go to
#: the same project, "wheel", so the Runs sidebar (which opens a lone project by itself) lists them all
SEEDED = "seeded-run"
SEED_RUN = f"""
import jupyter_tracker as jt
run = jt.init(project="wheel", name={SEEDED!r}, config={{"lr": 0.1}})
for step in range(3000):
    run.log({{"train/loss": 1.0 / (step + 1) + (step % 7) * 0.01, "acc": step / 3000}})
run.finish()
"""
# prints the store's projects and the names of their runs (JSON), as the venv's jupyter_tracker lists them
LIST_STORE = """
import json
from jupyter_tracker.api import backend_for
from jupyter_tracker.settings import resolve
backend = backend_for(resolve())
print(json.dumps({project: sorted(run.get("name") or run["id"] for run in backend.list_runs(None, project, None, None, 500).page(1))
                  for project in backend.projects(None)}))
"""


@dataclass(frozen=True)
class WheelVenv:
    """The built wheel and the fresh venv it is installed in."""

    wheel: Path
    venv: Path
    build_seconds: float
    install_seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environment(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a user who activated the venv: its bin first, Jupyter's own dirs under ``home``."""
        environment = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
        test_bin = str(Path(sys.executable).parent)
        path = [entry for entry in environment.get("PATH", "/usr/bin:/bin").split(os.pathsep) if entry != test_bin]
        environment.update({
            "PATH": os.pathsep.join([str(self.bin), *path]), "VIRTUAL_ENV": str(self.venv),
            "WANDB_DIR": str(home / "store"), "WANDB_MODE": "offline",
            "JUPYTER_TRACKER_HOME": str(home / "tracker"),
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"), "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"), "IPYTHONDIR": str(home / "ipython"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
            **extra,
        })
        return environment

    def run(self, arguments: list[str], home: Path, timeout: float = 120) -> str:
        """A command of the venv's bin (``jupyter``, ``python``) run from ``home``; its output without colours."""
        done = subprocess.run([str(self.bin / arguments[0]), *arguments[1:]], cwd=home, env=self.environment(home),
                              capture_output=True, text=True, timeout=timeout)
        output = ANSI.sub("", done.stdout + done.stderr)
        assert done.returncode == 0, f"{' '.join(arguments)} failed ({done.returncode}):\n{output[-3000:]}"
        return output


_built: WheelVenv | None = None


def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> WheelVenv:
    """The wheel built from this checkout (with no Node on PATH) and installed with ``HOSTS`` into a new venv; once per session."""
    global _built
    if _built is None:
        _built = _build_and_install(tmp_path_factory.mktemp("wheel-venv"))
    return _built


def _build_and_install(root: Path) -> WheelVenv:
    dist = root / "dist"
    # no Node on PATH: the wheel carries the committed, prebuilt labextension and builds nothing
    python_only = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    python_only["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("node", path=python_only["PATH"]) is None
    started = time.monotonic()
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(dist),
            str(ROOT)], env=python_only, cwd=root, what="building the wheel")
    build_seconds = time.monotonic() - started
    (wheel,) = dist.glob("jupyter_tracker-*.whl")

    venv = root / "venv"
    constraints = root / "constraints.txt"
    constraints.write_text(_pinned_versions(), encoding="utf-8")
    started = time.monotonic()
    # the test environment's pip installs into the new venv (``pip --python``): no ensurepip, no bytecode
    # compiling ahead (the venv's Python writes it on import); both would only add to the time
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=python_only, cwd=root,
           what="creating the venv")
    _check([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile",
            "--disable-pip-version-check", "-c", str(constraints), str(wheel), *HOSTS],
           env=python_only, cwd=root, what="installing the wheel into the fresh venv", timeout=480)
    install_seconds = time.monotonic() - started
    built = WheelVenv(wheel=wheel, venv=venv, build_seconds=build_seconds, install_seconds=install_seconds)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "wheel_install.json").write_text(json.dumps({
        "wheel": wheel.name, "wheel_bytes": wheel.stat().st_size, "build_seconds": round(build_seconds, 1),
        "venv_and_install_seconds": round(install_seconds, 1), "installed": [wheel.name, *HOSTS],
        "load_average": os.getloadavg(),
    }, indent=2), encoding="utf-8")
    return built


def _pinned_versions() -> str:
    """``name==version`` of every distribution of the test environment but this project (pip constraints)."""
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    return "".join(f"{line}\n" for line in frozen.splitlines()
                   if "==" in line and not line.lower().replace("-", "_").startswith("jupyter_tracker=="))


def _check(command: list[str], env: dict[str, str], cwd: Path, what: str, timeout: float = 240) -> None:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {' '.join(command)}\n{(done.stdout + done.stderr)[-4000:]}")


class VenvLab:
    """The venv's JupyterLab server (``python -m jupyterlab``) on loopback with a random token, serving ``work``.

    Its Jupyter paths are the venv's and ``home``'s only, so the extensions it loads are those the wheel installed.
    With the ``notebook`` package in the venv the same server serves Notebook 7 at ``/notebooks/``.
    """

    def __init__(self, installed: WheelVenv, work: Path, home: Path, extra: tuple[str, ...] = ()) -> None:
        self.work = work
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        # no "get notified about Jupyter news?" toast over the screenshots
        notification = home / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text('{"fetchNews": "false"}', encoding="utf-8")
        config = home / "jupyter-config" / "jupyter_server_config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"JupyterNotebookApp": {"expose_app_in_browser": True}}), encoding="utf-8")
        command = [
            str(installed.python), "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            *extra,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        self.log_path = Path(tempfile.mkstemp(prefix=f"jupyterlab-{self.port}-", suffix=".log", dir=home)[1])
        with open(self.log_path, "wb") as log:
            # a workspace of its own: a second server on the same home does not restore the first one's tabs
            environment = installed.environment(home, JUPYTERLAB_WORKSPACES_DIR=str(home / f"lab-workspaces-{self.port}"))
            self.process = subprocess.Popen(command, cwd=work, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, 120, "the venv's JupyterLab did not start", interval=0.3)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"JupyterLab exited early:\n{self.log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lab_url(self, path: str = "") -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}" if path else f"{self.base}/lab?token={self.token}"

    def notebook7_url(self, path: str) -> str:
        return f"{self.base}/notebooks/{path}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class VenvHosts:
    """The session's user directory (``home``: store, Jupyter dirs; ``work``: the notebooks) and its two servers."""

    installed: WheelVenv
    home: Path
    work: Path
    _servers: dict[str, VenvLab] = field(default_factory=dict)

    def lab(self) -> VenvLab:
        """The venv's server that runs kernels (JupyterLab at ``/lab``, Notebook 7 at ``/notebooks``)."""
        if "lab" not in self._servers:
            self._servers["lab"] = VenvLab(self.installed, self.work, self.home)
        return self._servers["lab"]

    def reader(self) -> VenvLab:
        """The venv's server with no kernel to give: a notebook opened there shows only what its file holds."""
        if "reader" not in self._servers:
            self._servers["reader"] = VenvLab(self.installed, self.work, self.home, extra=NO_KERNEL)
        return self._servers["reader"]

    def store(self) -> dict[str, list[str]]:
        """The store's projects and the sorted names of their runs, as the venv's jupyter_tracker lists them now."""
        output = self.installed.run(["python", "-c", LIST_STORE], self.home)
        return dict(json.loads(output.strip().splitlines()[-1]))

    def stop(self) -> None:
        """Stops the servers started so far (each one, even if stopping another failed); called once the session ends."""
        servers, self._servers = list(self._servers.values()), {}
        failures: list[BaseException] = []
        for server in servers:
            try:
                server.stop()
            except Exception as error:  # the next server must stop too
                failures.append(error)
        if failures:
            raise failures[0]


_hosts: VenvHosts | None = None


def venv_hosts(request: pytest.FixtureRequest) -> VenvHosts:
    """The session's ``VenvHosts`` over the ``fresh_venv``; its servers stop when the session ends."""
    global _hosts
    if _hosts is None:
        factory = request.getfixturevalue("tmp_path_factory")
        installed = fresh_venv(factory)
        home = factory.mktemp("venv-hosts")
        installed.run(["python", "-c", SEED_RUN], home)
        (home / "work").mkdir()
        _hosts = VenvHosts(installed, home, home / "work")
        request.config.add_cleanup(_hosts.stop)
    return _hosts


def charts_output(path: Path) -> dict[str, Any] | None:
    """The data of the saved notebook's first output that holds the charts mimetype, or None."""
    from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE

    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if CHARTS_MIMETYPE in output.get("data", {}):
                return dict(output["data"])
    return None
