"""Recompute a resolved era from its verification bundle, with the standard library only.

A bundle (GET /v1/eras/{n}/bundle) holds everything an era's published figures follow from,
except other authors' predictions. With it and your own predictions file you can check:

- the bundle's ``digest`` (SHA-256 of its RFC 8785 canonical JSON without ``digest``,
  ``chainDigest`` and ``previousChainDigest``) and its link in the chain of resolved eras
  (``chainDigest`` = SHA-256 of ``previousChainDigest`` + ``digest``, as hex text);
- your model's CORR and MMC on the main target (docs/scoring-and-payouts.md, steps 1-3, 6 and 7);
- its payout (step 8), in exact decimals as the service pays it.

Usage::

    python3 recompute.py bundle.json predictions.csv --model my_model [--json]

``predictions.csv`` is the file you uploaded (``id,prediction`` or ``id,probability``; JSON
``{"ids": [...], "predictions": [...]}`` or ``{"rows": [{"id": ..., "prediction": ...}]}``
works too). The script prints the recomputed values beside the served ones and exits 1 when
any differs (CORR and MMC beyond 1e-12, the payout by more than its last decimal place, the
digest or the chain link at all).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from statistics import NormalDist
from typing import Any, Dict, List, Mapping, Optional, Sequence

__all__ = ["bundle_digest", "chain_digest", "canonical_json", "recompute_model", "payout_of", "main"]

SEAL_FIELDS = ("digest", "chainDigest", "previousChainDigest")
GENESIS = "0" * 64
#: numerai-tools refuses to score when under 80 % of either side's ids overlap
MIN_OVERLAP = 0.8
#: payouts are stake x factor rounded half away from zero to this many decimal places
PAYOUT_PLACES = 10
TOLERANCE = 1e-12

_PHI_INV = NormalDist().inv_cdf


# --- RFC 8785 (JCS) -------------------------------------------------------------------------

def _es_number(x: float) -> str:
    """ECMAScript Number::toString of a double, as RFC 8785 requires for numbers."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError("NaN and Infinity have no JSON form")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _es_number(-x)
    # repr gives the shortest digits that round-trip, as ECMAScript does; only the layout differs.
    mantissa, _, exponent = repr(x).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    n = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _es_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical_json(value: Any) -> str:
    """The RFC 8785 canonical form of a parsed JSON value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _es_number(float(value))
    if isinstance(value, str):
        return _es_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        # Keys in UTF-16 code unit order, as RFC 8785 sorts them.
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_es_string(k) + ":" + canonical_json(value[k]) for k in keys) + "}"
    raise TypeError(f"{type(value).__name__} has no JSON form")


def bundle_digest(bundle: dict) -> str:
    """SHA-256 (hex) of the bundle's canonical JSON without its digest and chain fields."""
    content = {k: v for k, v in bundle.items() if k not in SEAL_FIELDS}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def chain_digest(previous: str, digest: str) -> str:
    """SHA-256 (hex) of the previous era's chainDigest followed by this bundle's digest, as text."""
    return hashlib.sha256((previous + digest).encode("ascii")).hexdigest()


# --- docs/scoring-and-payouts.md -----------------------------------------------------------------------

def _tie_kept_rank(values: Sequence[float]) -> List[float]:
    """(average 1-based rank - 0.5) / m, ties sharing their average rank (step 1)."""
    m = len(values)
    order = sorted(range(m), key=lambda i: values[i])
    ranks = [0.0] * m
    start = 0
    while start < m:
        end = start
        while end + 1 < m and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + 1 + end + 1) / 2
        for j in range(start, end + 1):
            ranks[order[j]] = (average - 0.5) / m
        start = end + 1
    return ranks


def _gaussianized_rank(values: Sequence[float]) -> List[float]:
    """Step 2: the standard normal quantile of each tie-kept rank."""
    return [_PHI_INV(r) for r in _tie_kept_rank(values)]


def _pow15(x: float) -> float:
    return x * math.sqrt(abs(x))


def _pearson(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    n = len(a)
    if n < 2:
        return None
    mean_a = sum(a) / n
    mean_b = sum(b) / n
    cross = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b))
    squares_a = sum((x - mean_a) ** 2 for x in a)
    squares_b = sum((y - mean_b) ** 2 for y in b)
    if squares_a == 0 or squares_b == 0:
        return None
    return cross / math.sqrt(squares_a * squares_b)


def _overlap(kept: int, targeted: int, predicted: int) -> float:
    return 0.0 if targeted == 0 or predicted == 0 else min(kept / targeted, kept / predicted)


def _corr(p: Sequence[float], t: Sequence[float], target_mean: float) -> Optional[float]:
    """Step 6 over the ids kept: Pearson of power-1.5 gaussianized ranks and power-1.5 centred targets."""
    s = [_pow15(g) for g in _gaussianized_rank(p)]
    return _pearson(s, [_pow15(x - target_mean) for x in t])


def _mmc(p: Sequence[float], m: Sequence[float], t: Sequence[float]) -> Optional[float]:
    """Step 7 over T: t_c . p_perp / |T| with p_perp = p - m (p.m)/(m.m); targets in [0, 1] times 4."""
    size = len(p)
    if size == 0:
        return None
    gp = _gaussianized_rank(p)
    gm = _gaussianized_rank(m)
    scale = 4.0 if all(0 <= x <= 1 for x in t) else 1.0
    mean = scale * sum(t) / size
    tc = [scale * x - mean for x in t]
    mm = sum(v * v for v in gm)
    if mm == 0:
        return None
    pm = sum(a * b for a, b in zip(gp, gm))
    tp = sum(a * b for a, b in zip(tc, gp))
    tm = sum(a * b for a, b in zip(tc, gm))
    return (tp - tm * pm / mm) / size


def _payout_factor(bundle: dict, corr: Optional[float], mmc: Optional[float]) -> float:
    """Step 8's share of the stake: clip(pf (corrMultiplier CORR + mmcMultiplier MMC)); 0 without both scores."""
    if corr is None or mmc is None:
        return 0.0
    p = bundle["payout"]
    total = float(bundle["totalAtRisk"])
    threshold = float(p["stakeThreshold"])
    pf = threshold / total if total > threshold else 1.0
    raw = pf * (float(p["corrMultiplier"]) * corr + float(p["mmcMultiplier"]) * mmc)
    return min(float(p["clip"]), max(-float(p["clip"]), raw))


def _decimal_text(d: Decimal) -> str:
    """A decimal without trailing zeros or exponent, as the service writes amounts."""
    if d == 0:
        return "0"
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def payout_of(bundle: dict, stake: str, corr: Optional[float], mmc: Optional[float]) -> str:
    """stake x factor in exact decimals, rounded half away from zero to 10 places."""
    factor = _payout_factor(bundle, corr, mmc)
    with localcontext() as ctx:
        ctx.prec = 200
        # repr is the shortest text of the double, the same number the service multiplies by.
        amount = (Decimal(stake) * Decimal(repr(factor))).quantize(Decimal(1).scaleb(-PAYOUT_PLACES), rounding=ROUND_HALF_UP)
    return _decimal_text(amount)


def _entry(bundle: dict, model: str) -> dict:
    for entry in bundle["models"]:
        if entry["model"] == model:
            return entry
    raise KeyError(f"model {model!r} had no at-risk stake in era {bundle['era']}; its bundle lists {len(bundle['models'])} models")


def recompute_model(bundle: dict, predictions: Mapping[str, float], model: str) -> dict:
    """
    The model's CORR and MMC on the era's main target from the bundle and the model's own
    predictions (keyed by id; ids outside the era's universe play no part), and its payout
    from those scores; beside them what the bundle says was served.
    """
    entry = _entry(bundle, model)
    ids: List[str] = bundle["ids"]
    target: List[Optional[float]] = bundle["targets"][bundle["mainTarget"]]
    value: List[Optional[float]] = bundle["value"]

    predicted = [i for i, id_ in enumerate(ids) if id_ in predictions and math.isfinite(predictions[id_])]
    targeted = [i for i in range(len(ids)) if target[i] is not None]
    kept = [i for i in predicted if target[i] is not None]
    overlap = _overlap(len(kept), len(targeted), len(predicted))
    corr: Optional[float] = None
    mmc: Optional[float] = None
    if overlap >= MIN_OVERLAP:
        target_mean = sum(target[i] for i in targeted) / len(targeted)
        corr = _corr([predictions[ids[i]] for i in kept], [target[i] for i in kept], target_mean)
        tradable = [i for i in kept if value[i] is not None]
        mmc = _mmc([predictions[ids[i]] for i in tradable], [value[i] for i in tradable], [target[i] for i in tradable])
    return {
        "model": model,
        "corr": corr,
        "mmc": mmc,
        "payout": payout_of(bundle, entry["stake"], corr, mmc),
        "served": {"corr": entry["corr"], "mmc": entry["mmc"], "payout": entry["payout"]},
    }


# --- command line ---------------------------------------------------------------------------

def read_predictions(path: str) -> Dict[str, float]:
    """A predictions file as uploaded: CSV `id,prediction` (or `id,probability`) or JSON."""
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    if path.endswith(".json") or text.lstrip().startswith("{"):
        body = json.loads(text)
        if "rows" in body:
            return {row["id"]: float(row["prediction"]) for row in body["rows"]}
        return {id_: float(v) for id_, v in zip(body["ids"], body["predictions"])}
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader)]
    if len(header) != 2 or header[0] != "id" or header[1] not in ("prediction", "probability"):
        raise ValueError(f"{path}: the header must be id,prediction or id,probability, not {','.join(header)}")
    return {row[0].strip(): float(row[1]) for row in reader if row}


def _close(a: Optional[float], b: Optional[float]) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= TOLERANCE)


def _payout_close(recomputed: str, served: Optional[str]) -> bool:
    # Scores equal to 1e-12 can round to neighbouring last places: one unit of the 10th decimal is allowed.
    return served is not None and abs(Decimal(recomputed) - Decimal(served)) <= Decimal(1).scaleb(-PAYOUT_PLACES)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Recompute a model's CORR, MMC and payout from an era bundle and its predictions.")
    parser.add_argument("bundle", help="the bundle, as GET /v1/eras/{n}/bundle served it")
    parser.add_argument("predictions", help="the predictions file you uploaded (CSV or JSON)")
    parser.add_argument("--model", required=True, help="the model's name")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    with open(args.bundle, encoding="utf-8") as f:
        bundle = json.load(f)
    try:
        result = recompute_model(bundle, read_predictions(args.predictions), args.model)
    except (KeyError, ValueError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    entry = _entry(bundle, args.model)
    digest = bundle_digest(bundle)
    link = chain_digest(bundle["previousChainDigest"], digest)
    served = result["served"]
    checks = {
        "digest": digest == bundle["digest"],
        "chainDigest": link == bundle["chainDigest"],
        "corr": _close(result["corr"], served["corr"]),
        "mmc": _close(result["mmc"], served["mmc"]),
        "payout": _payout_close(result["payout"], served["payout"]),
        # From the bundle alone: the served scores through step 8 give exactly the served payout.
        "payoutFromServedScores": served["payout"] is not None
        and Decimal(payout_of(bundle, entry["stake"], served["corr"], served["mmc"])) == Decimal(served["payout"]),
    }
    ok = all(checks.values())
    if args.json:
        print(json.dumps({**result, "digest": digest, "chainDigest": link, "checks": checks, "ok": ok}))
        return 0 if ok else 1

    mark = lambda good: "ok" if good else "MISMATCH"  # noqa: E731
    print(f"era {bundle['era']}, model {args.model}, stake {entry['stake']}, main target {bundle['mainTarget']}")
    print(f"{'':8}{'recomputed':>26}  {'served':>26}")
    for name in ("corr", "mmc", "payout"):
        print(f"{name:8}{str(result[name]):>26}  {str(served[name]):>26}  {mark(checks[name])}")
    print(f"payout from the bundle's own scores: {mark(checks['payoutFromServedScores'])}")
    print(f"digest       {digest}  {mark(checks['digest'])}")
    print(f"chainDigest  {link}  {mark(checks['chainDigest'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
