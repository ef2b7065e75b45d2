"""Turning predictions, targets and universes (files, DataFrames, mappings) into request bodies,
and served rows into DataFrames. pandas is imported only when a DataFrame is asked for."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import math
import os
import struct
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import InputError

PathLike = Union[str, "os.PathLike[str]"]

PREDICTION_COLUMNS = ("prediction", "probability")


def pandas() -> Any:
    """The pandas module, or an InputError saying how to get it."""
    try:
        import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: PLC0415
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise InputError("this call returns or reads a DataFrame: install pandas (pip install 'stakeweight[pandas]')") from error
    return pd


def read_file(path: PathLike, what: str) -> bytes:
    """The bytes of a file, or an InputError naming it."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {os.fspath(path)}") from None
    except IsADirectoryError:
        raise InputError(f"{what} path is a directory, not a file: {os.fspath(path)}") from None
    except OSError as error:
        raise InputError(f"cannot read {what} file {os.fspath(path)}: {error.strerror}") from None


def content_type_of(path: PathLike) -> str:
    return "application/json" if os.fspath(path).lower().endswith(".json") else "text/csv"


def number_text(value: Any) -> str:
    """A float64 as the shortest decimal that reads back as the same bits."""
    return repr(float(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def frame_column(df: Any, names: Sequence[str], what: str) -> Tuple[str, Any]:
    for name in names:
        if name in df.columns:
            return name, df[name]
    raise InputError(f"the DataFrame has no {what} column (expected one of: {', '.join(names)}; it has: {', '.join(map(str, df.columns))})")


def frame_ids(df: Any) -> List[str]:
    """Ids from an ``id`` column, or from an index named ``id`` (numerai's files use one)."""
    if "id" in df.columns:
        return [str(v) for v in df["id"].tolist()]
    if getattr(df.index, "name", None) == "id":
        return [str(v) for v in df.index.tolist()]
    raise InputError("the DataFrame needs an `id` column (or an index named `id`)")


def predictions_from_frame(df: Any) -> Dict[str, float]:
    ids = frame_ids(df)
    _, values = frame_column(df, PREDICTION_COLUMNS, "prediction")
    return dict(zip(ids, (float(v) for v in values.tolist())))


def predictions_csv(predictions: Mapping[str, float]) -> bytes:
    return csv_text(("id", "prediction"), ((i, number_text(v)) for i, v in predictions.items()))


def read_predictions(source: Any) -> Dict[str, float]:
    """Predictions as {id: value} from a mapping, a DataFrame or a CSV/JSON file path."""
    if isinstance(source, Mapping):
        return {str(k): float(v) for k, v in source.items()}
    if hasattr(source, "columns"):
        return predictions_from_frame(source)
    if isinstance(source, (str, os.PathLike)):
        raw = read_file(source, "predictions")
        if content_type_of(source) == "application/json":
            return _predictions_from_json(raw, os.fspath(source))
        return _predictions_from_csv(raw.decode("utf-8-sig"), os.fspath(source))
    raise InputError("predictions must be a mapping {id: value}, a DataFrame with id and prediction, or a CSV file path")


def _predictions_from_csv(text: str, name: str) -> Dict[str, float]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputError(f"{name} is empty")
    header = [h.strip() for h in rows[0]]
    if "id" not in header or not any(c in header for c in PREDICTION_COLUMNS):
        raise InputError(f"{name}: the header must name `id` and `prediction` (it is: {','.join(header)})")
    id_at = header.index("id")
    value_at = next(header.index(c) for c in PREDICTION_COLUMNS if c in header)
    out: Dict[str, float] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            out[row[id_at]] = float(row[value_at])
        except (IndexError, ValueError):
            raise InputError(f"{name} line {line}: expected an id and a number") from None
    return out


def _predictions_from_json(raw: bytes, name: str) -> Dict[str, float]:
    import json  # noqa: PLC0415

    doc = json.loads(raw)
    if isinstance(doc, dict) and "ids" in doc and "predictions" in doc:
        return {str(i): float(v) for i, v in zip(doc["ids"], doc["predictions"])}
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        return {str(r["id"]): float(r["prediction"]) for r in doc["rows"]}
    raise InputError(f"{name}: expected {{ids, predictions}} or {{rows: [{{id, prediction}}]}}")


def submission_sha256(predictions: Mapping[str, float]) -> str:
    """The digest the service gives a submission of these predictions (its receipt's
    ``sha256``): the ids in code-unit order, one per line, a blank line, then the base64 of
    their float64 values (little-endian) in that order. Any format or row order of the same
    content has the same digest."""
    ids = sorted(predictions, key=lambda s: s.encode("utf-16-be"))
    packed = b"".join(struct.pack("<d", float(predictions[i])) for i in ids)
    text = "".join(f"{i}\n" for i in ids) + "\n"
    return hashlib.sha256(text.encode("utf-8") + base64.b64encode(packed)).hexdigest()


def universe_csv_from_frame(df: Any) -> bytes:
    """A universe DataFrame (id, sector, industry, country, tags, attribute columns) as CSV;
    ``tags`` may hold lists (joined with ``;``) or ready ``;``-separated strings."""
    ids = frame_ids(df)
    columns = [str(c) for c in df.columns if str(c) != "id"]
    rows = []
    for position, id_ in enumerate(ids):
        row: List[str] = [id_]
        for column in columns:
            value = df[column].iloc[position]
            row.append(_cell(value, column))
        rows.append(row)
    return csv_text(["id", *columns], rows)


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return "" if math.isnan(value) else number_text(value)
    return str(value)


def targets_csv_from_frame(df: Any, names: Optional[Sequence[str]] = None) -> Tuple[bytes, List[str]]:
    ids = frame_ids(df)
    names = list(names) if names else [str(c) for c in df.columns if str(c) != "id"]
    if not names:
        raise InputError("the DataFrame has no target column besides `id`")
    for name in names:
        if name not in df.columns:
            raise InputError(f"the DataFrame has no column {name!r}")
    columns = [df[name].tolist() for name in names]
    rows = ([id_, *(number_text(col[i]) for col in columns)] for i, id_ in enumerate(ids))
    return csv_text(["id", *names], rows), names


def to_frame(rows: List[Mapping[str, Any]], index: Optional[str] = None) -> Any:
    pd = pandas()
    frame = pd.DataFrame(list(rows))
    if index and index in frame.columns:
        frame = frame.set_index(index)
    return frame
