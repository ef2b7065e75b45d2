"""A real Stakeweight server for the tests, and independent reference computations.

The server is the repository's own (``npm start``) on a fresh PostgreSQL database created
for this run and dropped at exit: ``$TEST_DATABASE_URL`` (or the local
postgres://postgres@127.0.0.1:5432/postgres) names the server it is created on. When no
PostgreSQL answers there, the service starts its embedded PostgreSQL in a temporary
directory instead. One server serves every test module of a run.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from typing import Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

from stakeweight import StakeweightAPI

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")
ADMIN_KEY = "python-client-tests-admin-key-" + uuid.uuid4().hex
# Small enough that the 413 test sends little; a 200-id submission is about 6 KB.
BODY_LIMIT_BYTES = 256 * 1024
N_IDS = 200

_server: Optional["Server"] = None
_eras = itertools.count(100)
_names = itertools.count(1)


def next_era() -> int:
    """An era number no other test of this run uses."""
    return next(_eras)


def unique_name(prefix: str) -> str:
    """A model or account name no other test of this run uses."""
    return f"{prefix}_{os.getpid()}_{next(_names)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The service as its own process group, on its own database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = os.environ.get("TEST_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
        self.database: Optional[str] = None
        self.data_dir: Optional[str] = None
        self.log = tempfile.NamedTemporaryFile(prefix="stakeweight-server-", suffix=".log", delete=False)
        env = {
            **os.environ,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "LOG_LEVEL": "warn",
            "BODY_LIMIT_BYTES": str(BODY_LIMIT_BYTES),
            # The webhook tests' receiver listens on loopback.
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        }
        self.env = env
        env.pop("STAKEWEIGHT_URL", None)
        env.pop("STAKEWEIGHT_KEY", None)
        if _postgres_answers(self.admin_url):
            self.database = f"stakeweight_py_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            _psql(self.admin_url, f'CREATE DATABASE "{self.database}"')
            env["DATABASE_URL"] = _with_database(self.admin_url, self.database)
        else:
            self.data_dir = tempfile.mkdtemp(prefix="stakeweight-py-data-")
            env.pop("DATABASE_URL", None)
            env["DATA_DIR"] = self.data_dir
        self.process = subprocess.Popen(
            ["npm", "start", "--silent"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout=180)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited before it was ready:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the server was not ready after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            # npm, the shell and node share the group started for them: end that group only.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.database:
            _psql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.database = None
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def _postgres_answers(url: str) -> bool:
    if shutil.which("psql") is None:
        return False
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            pass
    except OSError:
        return False
    return subprocess.run(["psql", url, "-Atqc", "select 1"], capture_output=True, timeout=30).returncode == 0


def _psql(url: str, sql: str) -> None:
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def server() -> Server:
    """The run's server, started on first use and stopped at exit."""
    global _server
    if _server is None:
        _server = Server()
        atexit.register(_server.stop)
    return _server


def admin() -> StakeweightAPI:
    return StakeweightAPI(server().url, ADMIN_KEY)


_confirmer: Optional[StakeweightAPI] = None


def confirmer() -> StakeweightAPI:
    """A second admin, made by the command line (active at once), that confirms the admins the
    bootstrap admin makes over HTTP."""
    global _confirmer
    if _confirmer is None:
        done = subprocess.run(
            ["npm", "run", "--silent", "cli", "--", "create-key", "--role", "admin", "--name", unique_name("confirmer")],
            cwd=ROOT, env=server().env, capture_output=True, text=True, timeout=180,
        )
        match = re.search(r"api key \(shown once\): (\S+)", done.stdout)
        if done.returncode != 0 or match is None:
            raise RuntimeError(f"create-key failed:\n{done.stdout}\n{done.stderr}")
        _confirmer = StakeweightAPI(server().url, match.group(1))
    return _confirmer


def account(role: str, funds: Optional[str] = "1000000") -> StakeweightAPI:
    """A client holding the key of a new account with ``role`` (an admin confirmed by another
    admin); an author's wallet is credited with ``funds`` (stakes are paid from it), unless
    ``funds`` is None."""
    created = admin().create_account(unique_name(role), role)
    if created["status"] == "pending":
        confirmer().confirm_account(created["id"])
    if role == "author" and funds is not None:
        admin().credit_wallet(created["id"], funds, "test funds")
    return StakeweightAPI(server().url, created["apiKey"])


def universe_ids(era: int, n: int = N_IDS) -> List[str]:
    return [f"e{era}_{i:04d}" for i in range(n)]


def universe_csv(ids: Sequence[str]) -> str:
    lines = ["id,sector,industry,country,tags,carbon"]
    for i, id_ in enumerate(ids):
        lines.append(f"{id_},{10 + (i % 8) * 5},,US,{'tobacco' if i % 17 == 0 else ''},{(i % 11) / 10}")
    return "\n".join(lines) + "\n"


def open_era(operator: StakeweightAPI, n: int = N_IDS, **kwargs: object) -> int:
    """A new era, open now and closing in a day, with a universe of ``n`` ids."""
    era = next_era()
    closes = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    operator.create_era(era, closes, **kwargs)  # type: ignore[arg-type]
    operator.upload_universe(era, rows=[{"id": i, "sector": str(10 + (k % 8) * 5)} for k, i in enumerate(universe_ids(era, n))])
    return era


def random_predictions(ids: Sequence[str], seed: int) -> Dict[str, float]:
    rng = random.Random(seed)
    return {i: rng.random() for i in ids}


def random_targets(ids: Sequence[str], seed: int) -> Dict[str, float]:
    rng = random.Random(seed)
    return {i: rng.choice((0.0, 0.25, 0.5, 0.75, 1.0)) for i in ids}


def write(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


# ---------------------------------------------------------------------------- independent math
# Written from docs/scoring-and-payouts.md and the service's documented digest, not with the client's code.


def expected_digest(predictions: Mapping[str, float]) -> str:
    ids = sorted(predictions)
    head = "".join(i + "\n" for i in ids) + "\n"
    values = base64.b64encode(b"".join(struct.pack("<d", predictions[i]) for i in ids))
    return hashlib.sha256(head.encode() + values).hexdigest()


def tie_kept_rank(values: Sequence[float]) -> List[float]:
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = (average - 0.5) / len(values)
        start = end + 1
    return ranks


def numerai_corr(predictions: Mapping[str, float], targets: Mapping[str, float]) -> float:
    """CORR of docs/scoring-and-payouts.md over ids with both."""
    normal = statistics.NormalDist()
    target_mean = statistics.fmean(targets.values())
    ids = [i for i in predictions if i in targets]
    gauss = [normal.inv_cdf(r) for r in tie_kept_rank([predictions[i] for i in ids])]
    s = [math.copysign(abs(g) ** 1.5, g) for g in gauss]
    t = [math.copysign(abs(targets[i] - target_mean) ** 1.5, targets[i] - target_mean) for i in ids]
    return _pearson(s, t)


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def run_cli(args: Sequence[str], key: Optional[str], url: Optional[str] = None, timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """``python -m stakeweight ARGS`` with the URL and key in the environment, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("STAKEWEIGHT_URL", "STAKEWEIGHT_KEY")}
    env["STAKEWEIGHT_URL"] = url or server().url
    if key is not None:
        env["STAKEWEIGHT_KEY"] = key
    return subprocess.run([sys.executable, "-m", "stakeweight", *args], env=env, capture_output=True, text=True, timeout=timeout)


def cli_json(done: "subprocess.CompletedProcess[str]") -> object:
    return json.loads(done.stdout)


def have_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True
