"""A build backend in the standard library only (PEP 517), so that ``pip install ./clients/python``
works on a machine with no package index: no setuptools or wheel to fetch or to have installed.

It builds one pure-Python wheel (``py3-none-any``) of the ``stakeweight`` package from the
``[project]`` table of pyproject.toml: name, version, description, requires-python,
optional dependencies and scripts. Every file under ``stakeweight/`` but caches goes in.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "stakeweight"


def _pyproject() -> Dict[str, Any]:
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as handle:
        text = handle.read().decode("utf-8")
    try:
        import tomllib  # Python 3.11+  # noqa: PLC0415
    except ImportError:
        return _read_toml_subset(text)
    return tomllib.loads(text)


def _read_toml_subset(text: str) -> Dict[str, Any]:
    """The TOML pyproject.toml uses: [tables], and keys holding strings, arrays of strings
    (over several lines) or inline tables of strings (for Python < 3.11, which has no tomllib)."""
    document: Dict[str, Any] = {}
    table = document
    pending = ""
    for raw in text.splitlines():
        line = pending + re.sub(r"\s+#.*$", "", raw).strip() if pending else re.sub(r"^#.*$", "", raw.strip())
        if not line:
            continue
        if line.count("[") > line.count("]"):
            pending = line + " "
            continue
        pending = ""
        header = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
        if header:
            table = document
            for part in header.group(1).split("."):
                table = table.setdefault(part, {})
            continue
        key, _, value = line.partition("=")
        table[key.strip().strip('"')] = _toml_value(value.strip())
    return document


def _toml_value(value: str) -> Any:
    if value.startswith("["):
        return re.findall(r'"((?:[^"\\]|\\.)*)"', value)
    if value.startswith("{"):
        return dict(re.findall(r'([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"', value))
    return value.strip('"')


def _metadata(project: Dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    license_ = project.get("license", {})
    if isinstance(license_, dict) and "text" in license_:
        lines.append(f"License: {license_['text']}")
    for classifier in project.get("classifiers", []):
        lines.append(f"Classifier: {classifier}")
    for requirement in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {requirement}")
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for requirement in requirements:
            lines.append(f'Requires-Dist: {requirement}; extra == "{extra}"')
    readme = os.path.join(HERE, str(project.get("readme", "")))
    if project.get("readme") and os.path.isfile(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as handle:
            return "\n".join(lines) + "\n\n" + handle.read()
    return "\n".join(lines) + "\n"


def _dist_info(project: Dict[str, Any]) -> List[Tuple[str, bytes]]:
    name = f"{project['name']}-{project['version']}.dist-info"
    files = [
        (f"{name}/METADATA", _metadata(project).encode("utf-8")),
        (f"{name}/WHEEL", b"Wheel-Version: 1.0\nGenerator: stakeweight_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    scripts = project.get("scripts", {})
    if scripts:
        entries = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
        files.append((f"{name}/entry_points.txt", entries.encode("utf-8")))
    return files


def _package_files() -> List[Tuple[str, bytes]]:
    found = []
    for folder, dirs, names in os.walk(os.path.join(HERE, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found.append((os.path.relpath(path, HERE).replace(os.sep, "/"), handle.read()))
    return found


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{path},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    project = _pyproject()["project"]
    filename = f"{project['name']}-{project['version']}-py3-none-any.whl"
    files = _package_files() + _dist_info(project)
    record = f"{project['name']}-{project['version']}.dist-info/RECORD"
    lines = [_record_line(path, data) for path, data in files] + [f"{record},,"]
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            wheel.writestr(path, data)
        wheel.writestr(record, "\n".join(lines) + "\n")
    return filename


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = _pyproject()["project"]
    base = f"{project['name']}-{project['version']}"
    members = [("pyproject.toml", None), ("README.md", None), ("build_backend/stakeweight_build.py", None)]
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as sdist:
        for path, _ in members:
            sdist.add(os.path.join(HERE, path), arcname=f"{base}/{path}")
        for path, data in _package_files():
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))
    return filename
