"""``StakeweightAPI``: every call of the HTTP contract, numerapi-shaped."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import warnings
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union, cast
from urllib.parse import quote

from . import __version__
from .errors import HistoryRewrittenError, InputError, NotFoundError, VerificationError
from .events import stream_events
from .tabular import (
    PathLike,
    content_type_of,
    csv_text,
    frame_column,
    frame_ids,
    number_text,
    predictions_csv,
    predictions_from_frame,
    read_file,
    read_predictions,
    submission_sha256,
    targets_csv_from_frame,
    to_frame,
    universe_csv_from_frame,
)
from .transport import RetryPolicy, Transport

__all__ = ["StakeweightAPI", "DEFAULT_URL"]

DEFAULT_URL = "http://localhost:3000"

# Money is never a binary float: 150.1 + 0.2 is 150.29999999999998. A float is refused (TypeError).
Amount = Union[Decimal, str, int]
When = Union[_dt.datetime, str]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Served values and their recomputation agree to this (the published tolerance, 1e-9).
_TOLERANCE = 1e-9
# Where check_history keeps the chain heads it has seen, unless told otherwise.
HEADS_ENV = "STAKEWEIGHT_HEADS"
_CHAINS = ("bundles", "audit")


class StakeweightAPI:
    """A client for one Stakeweight service.

    ``url`` defaults to ``$STAKEWEIGHT_URL`` (else http://localhost:3000) and ``key`` to
    ``$STAKEWEIGHT_KEY``; without a key only public calls work. Every refusal raises an
    :class:`~stakeweight.errors.APIError` carrying the service's problem+json; a service out
    of reach raises :class:`~stakeweight.errors.TransportError`. Reads, stake changes,
    submissions (which the service de-duplicates by content), closes and resolutions (which
    it makes idempotent) are retried on connection errors, 5xx and 429 as ``retry`` says;
    other writes are sent once.

    Models may be named by id or by name everywhere (``model_id="my_model"``).
    """

    def __init__(
        self,
        url: Optional[str] = None,
        key: Optional[str] = None,
        *,
        timeout: float = 120.0,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        self.url = (url or os.environ.get("STAKEWEIGHT_URL") or DEFAULT_URL).rstrip("/")
        self.key = key if key is not None else (os.environ.get("STAKEWEIGHT_KEY") or None)
        self.retry = retry or RetryPolicy()
        self._http = Transport(self.url, self.key, timeout=timeout, retry=self.retry, user_agent=f"stakeweight-python/{__version__}")
        self._model_ids: Dict[str, str] = {}

    def __repr__(self) -> str:
        return f"StakeweightAPI(url={self.url!r}, key={'set' if self.key else None})"

    # ------------------------------------------------------------------ plumbing

    def _get(self, path: str, query: Optional[Mapping[str, Any]] = None, auth: bool = True) -> Dict[str, Any]:
        return _object(self._http.request("GET", path, query=query, safe=True, auth=auth).json())

    def _get_pages(self, path: str, query: Optional[Mapping[str, Any]] = None, *, page_size: Optional[int] = None) -> Dict[str, Any]:
        """A paged list (``{..., scores: [...], next}``) read page after page until ``next`` is
        null: the first page's other fields, every page's ``scores``, ``next`` None."""
        params: Dict[str, Any] = dict(query or {})
        if page_size is not None:
            params["limit"] = int(page_size)
        result = self._get(path, params)
        rows = list(result["scores"])
        while result.get("next"):
            result = self._get(path, {**params, "cursor": result["next"]})
            rows.extend(result["scores"])
        first = dict(result)
        first["scores"], first["next"] = rows, None
        return first

    def _get_csv(self, path: str) -> str:
        return self._http.request("GET", path, accept="text/csv", safe=True).text()

    def _send(
        self,
        method: str,
        path: str,
        *,
        safe: bool,
        json_body: Any = None,
        body: Optional[bytes] = None,
        content_type: Optional[str] = None,
        query: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, Any]:
        response = self._http.request(method, path, query=query, json_body=json_body, body=body, content_type=content_type, safe=safe)
        return _object(response.json())

    def _model(self, model: str) -> str:
        """A model id from an id or a name (names are looked up once and remembered)."""
        if not model:
            raise InputError("a model is required (its id or its name)")
        if _UUID.match(model):
            return model
        if model not in self._model_ids:
            self._model_ids.update(self.get_models())
        if model not in self._model_ids:
            raise InputError(f"no model named {model!r} is visible to this key (see get_models())")
        return self._model_ids[model]

    def _era(self, era: Optional[int]) -> int:
        if era is not None:
            return int(era)
        current = self.get_current_era()
        if current is None:
            raise InputError("no era is open now: pass era=N")
        return current

    # ------------------------------------------------------------------ events and webhooks

    def events(self, last_event_id: Optional[Union[int, str]] = None, *, reconnect: bool = True) -> Iterator[Dict[str, Any]]:
        """Iterates the events this key's account may see, as they happen: ``{id, type,
        timestamp, data}``. Pass ``last_event_id`` (an earlier event's ``id``) to resume after it;
        a dropped connection is resumed from the last event seen unless ``reconnect=False``."""
        return stream_events(self._http, last_event_id, reconnect=reconnect)

    def create_webhook(self, url: str, events: Sequence[str], description: Optional[str] = None) -> Dict[str, Any]:
        """Registers a webhook for this account: ``{id, url, events, secret, …}``. Keep ``secret``
        (``whsec_…``): it is shown only here, and :func:`verify_webhook` needs it."""
        body: Dict[str, Any] = {"url": url, "events": list(events)}
        if description is not None:
            body["description"] = description
        return self._send("POST", "/v1/webhooks", safe=False, json_body=body)

    def get_webhooks(self) -> List[Dict[str, Any]]:
        """This account's webhooks (without secrets)."""
        return cast(List[Dict[str, Any]], self._get("/v1/webhooks")["webhooks"])

    def delete_webhook(self, webhook_id: str) -> None:
        """Removes a webhook and its delivery log."""
        self._http.request("DELETE", f"/v1/webhooks/{quote(webhook_id, safe='')}", safe=True)

    def webhook_deliveries(self, webhook_id: str) -> List[Dict[str, Any]]:
        """A webhook's last deliveries, newest first, each with every attempt in ``log``."""
        return cast(List[Dict[str, Any]], self._get(f"/v1/webhooks/{quote(webhook_id, safe='')}/deliveries")["deliveries"])

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> Dict[str, Any]:
        """Sends a delivery again now, with the same ``webhook-id``."""
        return self._send("POST", f"/v1/webhooks/{quote(webhook_id, safe='')}/deliveries/{quote(delivery_id, safe='')}/retry", safe=True)

    # ------------------------------------------------------------------ account

    def get_me(self) -> Dict[str, Any]:
        """The account behind the key: ``{id, name, role}``."""
        return self._get("/v1/me")

    # ------------------------------------------------------------------ eras (read)

    def get_eras(self) -> List[Dict[str, Any]]:
        """Every era with its status (``scheduled``, ``open``, ``closed``, ``resolved``) and universe size."""
        return cast(List[Dict[str, Any]], self._get("/v1/eras")["eras"])

    def get_era(self, era: int) -> Dict[str, Any]:
        """One era."""
        return self._get(f"/v1/eras/{int(era)}")

    def get_current_era(self) -> Optional[int]:
        """The number of the era open for submissions now that closes first, or None."""
        open_eras = cast(List[Dict[str, Any]], self._get("/v1/eras", {"status": "open"})["eras"])
        return int(open_eras[0]["number"]) if open_eras else None

    def download_live_ids(self, era: Optional[int] = None, dest_path: Optional[PathLike] = None) -> List[str]:
        """The live ids of ``era`` (default: the open era closing first). With ``dest_path``, also writes
        them there as a one-column CSV (header ``id``)."""
        number = self._era(era)
        ids = cast(List[str], self._get(f"/v1/eras/{number}/live-ids")["ids"])
        if dest_path is not None:
            with open(dest_path, "wb") as handle:
                handle.write(csv_text(["id"], ([i] for i in ids)))
        return ids

    # ------------------------------------------------------------------ models and stakes

    def get_models(self) -> Dict[str, str]:
        """``{name: id}`` of the models this key sees (an author: their own; staff: all)."""
        models = self._get("/v1/models")["models"]
        return {m["name"]: m["id"] for m in models}

    def create_model(self, name: str) -> Dict[str, Any]:
        """Registers a model (``[a-z0-9_]{1,40}``, globally unique): ``{id, name, accountId}``."""
        model = self._send("POST", "/v1/models", safe=False, json_body={"name": name})
        self._model_ids[model["name"]] = model["id"]
        return model

    def stake_get(self, model_id: str) -> Dict[str, Any]:
        """The stake view of a model: ``amount`` (staked on eras that close from now on),
        ``balance``, ``releasing``, ``atRisk`` per unresolved era, ``pendingReleases`` and the
        ledger ``history``. Every amount is an exact decimal string: use ``Decimal(...)``."""
        return self._get(f"/v1/models/{self._model(model_id)}/stake")

    def stake_set(self, model_id: str, amount: Amount) -> Dict[str, Any]:
        """Sets the amount staked (an exact decimal ≥ 0 as a ``str``, ``Decimal`` or ``int``;
        a ``float`` raises ``TypeError``; sent as a decimal string so nothing is rounded).
        Raising it is immediate and paid from your wallet (see ``wallet()``): when the
        wallet holds less available than the raise it raises
        :class:`~stakeweight.errors.InsufficientFundsError`, whose ``available`` says what it
        holds. Lowering it releases the difference back to the wallet once the eras it is at
        risk in have resolved. Returns the stake view."""
        return self._send("PUT", f"/v1/models/{self._model(model_id)}/stake", safe=True, json_body={"amount": _decimal_text(amount)})

    def stake_increase(self, model_id: str, amount: Amount) -> Dict[str, Any]:
        """Raises the stake by ``amount`` (reads the current amount, then sets the sum)."""
        return self._stake_change(model_id, _decimal(amount))

    def stake_decrease(self, model_id: str, amount: Amount) -> Dict[str, Any]:
        """Lowers the stake by ``amount``; the difference is released when the eras it is at
        risk in have resolved. An amount larger than the stake is refused before sending."""
        return self._stake_change(model_id, -_decimal(amount))

    def _stake_change(self, model_id: str, delta: Decimal) -> Dict[str, Any]:
        model = self._model(model_id)
        current = Decimal(str(self.stake_get(model)["amount"]))
        target = current + delta
        if target < 0:
            raise InputError(f"cannot lower the stake by {-delta}: only {current} is staked")
        return self.stake_set(model, target)

    # ------------------------------------------------------------------ wallets

    def wallet(self, account_id: Optional[str] = None) -> Dict[str, Any]:
        """The wallet stakes are paid from: ``balance`` (including what pending withdrawals
        hold), ``held``, ``available`` (= balance − held) and its ``entries`` (``credit``,
        ``stake``, ``unstake``, ``withdrawal_held``, ``withdrawal_released``, ``withdrawn``).
        Your own by default; another account's with ``account_id`` (operators and admins).
        Every amount is an exact decimal string: use ``Decimal(...)``."""
        if account_id is None:
            return self._get("/v1/me/wallet")
        return self._get(f"/v1/accounts/{_segment(account_id)}/wallet")

    def withdraw(self, amount: Amount) -> Dict[str, Any]:
        """Asks to withdraw ``amount`` (an exact decimal > 0, at most the wallet's
        ``available``) from your wallet: the withdrawal is ``pending`` and holds its amount
        until an operator completes or rejects it. Above ``available`` it raises
        :class:`~stakeweight.errors.InsufficientFundsError`. Returns the withdrawal."""
        return self._send("POST", "/v1/me/wallet/withdrawals", safe=False, json_body={"amount": _decimal_text(amount)})

    def credit_wallet(self, account_id: str, amount: Amount, reference: str) -> Dict[str, Any]:
        """Credits an account's wallet with money paid in from outside (operators and admins;
        audited); ``reference`` names the payment. Returns the wallet."""
        return self._send(
            "POST", f"/v1/accounts/{_segment(account_id)}/wallet/credits", safe=False, json_body={"amount": _decimal_text(amount), "reference": reference}
        )

    def withdrawals(self, status: Optional[str] = "pending") -> List[Dict[str, Any]]:
        """Withdrawals, oldest first, of ``status`` (``pending`` by default, ``None`` for all;
        operators and admins)."""
        query = {"status": status} if status is not None else None
        return cast(List[Dict[str, Any]], self._get("/v1/withdrawals", query=query)["withdrawals"])

    def complete_withdrawal(self, withdrawal_id: str, reference: str) -> Dict[str, Any]:
        """Completes a pending withdrawal once paid out (operators and admins, not your own):
        the money leaves the wallet; ``reference`` names the payment."""
        return self._send("POST", f"/v1/withdrawals/{_segment(withdrawal_id)}/complete", safe=False, json_body={"reference": reference})

    def reject_withdrawal(self, withdrawal_id: str, reason: str) -> Dict[str, Any]:
        """Rejects a pending withdrawal (operators and admins, not your own): the hold ends and
        the money stays in the wallet."""
        return self._send("POST", f"/v1/withdrawals/{_segment(withdrawal_id)}/reject", safe=False, json_body={"reason": reason})

    # ------------------------------------------------------------------ submissions

    def upload_predictions(
        self,
        file_path: Optional[PathLike] = None,
        model_id: Optional[str] = None,
        df: Any = None,
        era: Optional[int] = None,
        *,
        predictions: Optional[Mapping[str, float]] = None,
    ) -> Dict[str, Any]:
        """Submits predictions for ``model_id`` (an id or a name) and returns the receipt
        ``{id, era, modelId, rows, sha256, late}``.

        Give exactly one of ``file_path`` (a CSV ``id,prediction`` file, or ``.json``),
        ``df`` (a DataFrame with ``id`` — column or index — and ``prediction``) or
        ``predictions`` (a mapping ``{id: value}``). ``era`` defaults to the open era that closes
        first (``get_current_era()``).
        Values travel as the shortest decimals that read back as the same float64.
        Re-sending identical content returns the same receipt. A submission after the era
        closed is accepted with ``late: True``: scored, but not paid. A refused submission
        raises :class:`~stakeweight.errors.BadRequestError` whose message names the wrong ids
        or lines.
        """
        given = [x is not None for x in (file_path, df, predictions)]
        if sum(given) != 1:
            raise InputError("give exactly one of file_path, df or predictions")
        if model_id is None:
            raise InputError("model_id is required (the model's id or name)")
        if file_path is not None:
            body = read_file(file_path, "predictions")
            content_type = content_type_of(file_path)
        else:
            values = predictions_from_frame(df) if df is not None else dict(predictions or {})
            body = predictions_csv(values)
            content_type = "text/csv"
        # Without an era, the open era that closes first.
        query = {"era": self._era(era)}
        return self._send("POST", f"/v1/models/{self._model(model_id)}/submissions", safe=True, body=body, content_type=content_type, query=query)

    def get_submissions(self, model_id: str) -> List[Dict[str, Any]]:
        """A model's submissions, newest first."""
        return cast(List[Dict[str, Any]], self._get(f"/v1/models/{self._model(model_id)}/submissions")["submissions"])

    # ------------------------------------------------------------------ scores and performance

    def model_scores(
        self, model_id: str, era: Optional[int] = None, target: Optional[str] = None, *, as_frame: bool = False, page_size: Optional[int] = None
    ) -> Any:
        """A model's current scores (``{modelId, scores: [...]}``), only those of ``era``
        and of ``target`` when given; with both, the score's ``history`` across target
        versions too. ``as_frame=True`` returns the ``scores`` rows as a DataFrame. The
        server pages them by era (``page_size`` eras a page, its default when None): every
        page is read, newest era first."""
        both = era is not None and target is not None
        result = self._get_pages(f"/v1/models/{self._model(model_id)}/scores", {"era": era, "target": target} if both else None, page_size=page_size)
        result["scores"] = [
            row for row in result["scores"] if (era is None or row.get("era") == int(era)) and (target is None or row.get("target") == target)
        ]
        return to_frame(result["scores"]) if as_frame else result

    def model_performance(self, model_id: str, target: Optional[str] = None, *, as_frame: bool = False) -> Any:
        """Performance over resolved eras: per-era ``eras`` and the ``corr``/``mmc`` summaries
        (mean, std, sharpe, maxDrawdown) and ``payout`` (total, return). ``as_frame=True``
        returns the per-era rows as a DataFrame indexed by era."""
        result = self._get(f"/v1/models/{self._model(model_id)}/performance", {"target": target})
        return to_frame(result["eras"], index="era") if as_frame else result

    def leaderboard(self, target: Optional[str] = None, window: Optional[int] = None, *, as_frame: bool = False) -> Any:
        """The reputation leaderboard over the last ``window`` resolved eras (default 20):
        ``{target, window, eras, rows: [{rank, model, eras, corrRep, mmcRep, score, stake}]}``.
        ``as_frame=True`` returns the rows as a DataFrame indexed by rank."""
        result = self._get("/v1/leaderboard", {"target": target, "window": window})
        return to_frame(result["rows"], index="rank") if as_frame else result

    # ------------------------------------------------------------------ verification

    def era_bundle(self, era: int, dest_path: Optional[PathLike] = None, *, verify: bool = True) -> Dict[str, Any]:
        """The resolved era's bundle (everything needed to recompute its published figures).
        With ``verify`` (default) its ``digest`` and ``chainDigest`` are recomputed and a
        mismatch raises :class:`~stakeweight.errors.VerificationError`. With ``dest_path``
        the bundle is also written there as JSON, exactly as served."""
        response = self._http.request("GET", f"/v1/eras/{int(era)}/bundle", safe=True)
        bundle = _object(response.json())
        if verify:
            check_bundle(bundle)
        if dest_path is not None:
            with open(dest_path, "wb") as handle:
                handle.write(response.body)
        return bundle

    def verify_scores(self, era: int, predictions: Any, model_id: Optional[str] = None, *, model: Optional[str] = None) -> Dict[str, Any]:
        """Recomputes your CORR, MMC and payout for ``era`` from its bundle and your own
        ``predictions`` (a mapping ``{id: value}``, a DataFrame or a CSV path), beside the
        served values.

        ``model_id`` is the model's name or id (``model=`` is its deprecated older name); by
        default the model whose submission digest in the bundle equals these predictions' digest. Returns the recomputation
        (``model``, ``corr``, ``mmc``, ``payout``, ``served``) plus ``submissionSha256``,
        ``submissionMatches`` (these are the predictions the service scored) and
        ``matches`` (every figure agrees with the served one to 1e-9).
        """
        from .recompute import recompute_model  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

        if model is not None:
            if model_id is not None:
                raise InputError("pass the model once: model_id= (model= is its deprecated older name)")
            warnings.warn("verify_scores(model=...) is deprecated: use model_id=", DeprecationWarning, stacklevel=2)
            model_id = model
        values = read_predictions(predictions)
        bundle = self.era_bundle(era)
        digest = submission_sha256(values)
        entries = bundle.get("models", [])
        name = self._bundle_model_name(entries, digest, model_id)
        result = dict(recompute_model(bundle, values, name))
        entry: Mapping[str, Any] = next((m for m in entries if m.get("model") == name), {})
        result["submissionSha256"] = digest
        result["submissionMatches"] = entry.get("submissionSha256") == digest
        result["matches"] = _agrees(result)
        return result

    def _bundle_model_name(self, entries: Sequence[Mapping[str, Any]], digest: str, model: Optional[str]) -> str:
        if model is None:
            found = [m["model"] for m in entries if m.get("submissionSha256") == digest]
            if not found:
                raise InputError("no model in this era's bundle has a submission with these exact predictions: pass model_id=")
            return str(found[0])
        if _UUID.match(model):
            names = {v: k for k, v in self.get_models().items()}
            if model not in names:
                raise InputError(f"model {model} is not visible to this key")
            model = names[model]
        if not any(m.get("model") == model for m in entries):
            raise InputError(f"model {model!r} had no at-risk submission in this era's bundle")
        return model

    def get_heads(self) -> Dict[str, Any]:
        """The heads of the era-bundle and audit-log chains (public):
        ``{bundles: {count, chainDigest}, audit: {count, chainDigest}}``."""
        return self._get("/v1/reports/heads", auth=False)

    def get_report_summary(self, page_size: int = 100) -> Dict[str, Any]:
        """Every closed era's headline figures (public), newest first.

        The service serves the summary a page of at most 100 eras at a time; this follows each
        page's ``next`` to the last and returns them joined as one answer:
        ``{eras, targets, cumulativeCost}`` (``targets``: those of any era, sorted;
        ``cumulativeCost``: per target over every era, as each page gives it).
        """
        eras: List[Any] = []
        targets: List[str] = []
        query: Dict[str, Any] = {"limit": page_size}
        first: Optional[Dict[str, Any]] = None
        while True:
            page = self._get("/v1/reports/summary", query=query, auth=False)
            first = first or page
            eras.extend(page["eras"])
            targets.extend(page["targets"])
            if page.get("next") is None:
                break
            query = {"limit": page_size, "cursor": page["next"]}
        return {"eras": eras, "targets": sorted(set(targets)), "cumulativeCost": first["cumulativeCost"]}

    def check_history(self, path: Optional[PathLike] = None) -> Dict[str, Any]:
        """Checks that the service's history was only ever appended to since the last check.

        Fetches the chains' heads and compares them with the heads kept for this service's URL
        in ``path`` (default ``$STAKEWEIGHT_HEADS``, else ``~/.stakeweight/heads.json``): each
        chain must hold at least as many links as kept, with the kept digest at the kept count.
        When they do, the new heads are kept and ``{url, path, previous, current}`` returned
        (``previous`` is None on the first check). When a chain does not, nothing is kept and
        :class:`~stakeweight.errors.HistoryRewrittenError` names the chain(s) and what differs.
        """
        file = os.fspath(path) if path is not None else (os.environ.get(HEADS_ENV) or os.path.join(os.path.expanduser("~"), ".stakeweight", "heads.json"))
        kept = _read_heads_file(file)
        previous = kept.get(self.url)
        current = self.get_heads()
        if previous is not None:
            problems: Dict[str, str] = {}
            for chain in _CHAINS:
                problem = self._head_break(chain, previous.get(chain), current[chain])
                if problem:
                    problems[chain] = problem
            if problems:
                raise HistoryRewrittenError(problems, saved=previous, current=current, path=file)
        kept[self.url] = {chain: {"count": current[chain]["count"], "chainDigest": current[chain]["chainDigest"]} for chain in _CHAINS}
        _write_heads_file(file, kept)
        return {"url": self.url, "path": file, "previous": previous, "current": current}

    def _head_break(self, chain: str, saved: Any, current: Mapping[str, Any]) -> Optional[str]:
        """Why ``current`` does not extend ``saved`` (None when it does)."""
        if not isinstance(saved, Mapping) or not isinstance(saved.get("count"), int):
            return f"the kept head is not {{count, chainDigest}}: {saved!r}"
        count = saved["count"]
        if current["count"] < count:
            return f"it holds {current['count']} link(s) where the kept head had {count}: links were removed"
        if count == 0:
            return None
        try:
            digest = self._get(f"/v1/reports/heads/{chain}/{count}", auth=False)["chainDigest"]
        except NotFoundError:
            return f"it no longer has a link {count}: links were removed"
        if digest != saved.get("chainDigest"):
            return f"its link {count} has chain digest {digest} where the kept head had {saved.get('chainDigest')}: history up to that link was rewritten"
        return None

    # ------------------------------------------------------------------ operator: eras

    def create_era(
        self,
        number: int,
        closes_at: When,
        *,
        opens_at: Optional[When] = None,
        main_target: Optional[str] = None,
        min_coverage: Optional[float] = None,
        payout: Optional[Mapping[str, float]] = None,
    ) -> Dict[str, Any]:
        """Creates an era (operator). Times are datetimes (naive ones are taken as UTC) or
        ISO 8601 strings; ``payout`` may set ``corrMultiplier``, ``mmcMultiplier``, ``clip``,
        ``stakeThreshold``."""
        body: Dict[str, Any] = {"number": int(number), "closesAt": _iso(closes_at)}
        if opens_at is not None:
            body["opensAt"] = _iso(opens_at)
        if main_target is not None:
            body["mainTarget"] = main_target
        if min_coverage is not None:
            body["minCoverage"] = min_coverage
        if payout is not None:
            body["payout"] = dict(payout)
        return self._send("POST", "/v1/eras", safe=False, json_body=body)

    def upload_universe(
        self,
        era: int,
        file_path: Optional[PathLike] = None,
        *,
        df: Any = None,
        rows: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> Dict[str, Any]:
        """Sets an era's universe (operator): a CSV file (``id`` and optional ``sector``,
        ``industry``, ``country``, ``tags`` — ``;``-separated — and attribute columns), a
        DataFrame of the same columns, or JSON ``rows``. Returns ``{era, count}``."""
        if sum(x is not None for x in (file_path, df, rows)) != 1:
            raise InputError("give exactly one of file_path, df or rows")
        path = f"/v1/eras/{int(era)}/universe"
        if rows is not None:
            return self._send("PUT", path, safe=True, json_body={"rows": [dict(r) for r in rows]})
        if df is not None:
            return self._send("PUT", path, safe=True, body=universe_csv_from_frame(df), content_type="text/csv")
        assert file_path is not None
        return self._send("PUT", path, safe=True, body=read_file(file_path, "universe"), content_type=content_type_of(file_path))

    def close_era(self, era: int) -> Dict[str, Any]:
        """Closes an era now and computes its meta-model (operator); idempotent."""
        return self._send("POST", f"/v1/eras/{int(era)}/close", safe=True)

    def download_meta_model(self, era: int, dest_path: Optional[PathLike] = None, *, as_frame: bool = False) -> Any:
        """The latest meta-model of a closed era (operator). With ``dest_path``: writes the
        CSV ``id,value`` of the tradable ids there and returns the path. With ``as_frame``: a
        DataFrame indexed by id (``value``, ``unconstrained``, ``excludedBy``). Otherwise the
        JSON ``{era, run, rows}``."""
        path = f"/v1/eras/{int(era)}/meta-model"
        if dest_path is not None:
            text = self._get_csv(path)
            with open(dest_path, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            return os.fspath(dest_path)
        result = self._get(path)
        return to_frame(result["rows"], index="id") if as_frame else result

    def upload_targets(
        self,
        era: int,
        file_path: Optional[PathLike] = None,
        *,
        target: Optional[str] = None,
        df: Any = None,
        values: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Uploads targets of a closed era (operator); every upload is a new version, scored.

        One target: pass ``target`` and a CSV ``id,target`` file, a DataFrame with ``id`` and
        a column named ``target`` or the target's name, or ``values={id: value}``; returns
        ``{era, target, version, count}``. Many at once (scored in one pass): no ``target``,
        and a CSV ``id,<name>,<name>…`` file, a DataFrame whose other columns are targets, or
        ``values={name: {id: value}}``; returns ``{era, targets: [{target, version, count}]}``.
        """
        if sum(x is not None for x in (file_path, df, values)) != 1:
            raise InputError("give exactly one of file_path, df or values")
        number = int(era)
        if target is not None:
            path = f"/v1/eras/{number}/targets/{_segment(target)}"
            if file_path is not None:
                return self._send("PUT", path, safe=True, body=read_file(file_path, "target"), content_type=content_type_of(file_path))
            if df is not None:
                _, column = frame_column(df, (target, "target"), f"{target!r}")
                rows = ((i, number_text(v)) for i, v in zip(frame_ids(df), column.tolist()))
                return self._send("PUT", path, safe=True, body=csv_text(("id", "target"), rows), content_type="text/csv")
            assert values is not None
            ids = list(values)
            return self._send("PUT", path, safe=True, json_body={"ids": ids, "values": [float(values[i]) for i in ids]})
        path = f"/v1/eras/{number}/targets"
        if file_path is not None:
            return self._send("PUT", path, safe=True, body=read_file(file_path, "targets"), content_type=content_type_of(file_path))
        if df is not None:
            body, _ = targets_csv_from_frame(df)
            return self._send("PUT", path, safe=True, body=body, content_type="text/csv")
        assert values is not None
        return self._send("PUT", path, safe=True, json_body=_targets_json(values))

    def era_scores(self, era: int, target: Optional[str] = None, *, as_frame: bool = False, page_size: Optional[int] = None) -> Any:
        """Every model's CORR, MMC, stake and payout on one target of the era (operator);
        the server pages them by model (``page_size`` rows a page): every page is read."""
        result = self._get_pages(f"/v1/eras/{int(era)}/scores", {"target": target}, page_size=page_size)
        return to_frame(result["scores"], index="modelId") if as_frame else result

    def resolve_era(self, era: int) -> Dict[str, Any]:
        """Final payouts on the main target, applied to stakes once (operator); idempotent."""
        return self._send("POST", f"/v1/eras/{int(era)}/resolve", safe=True)

    # ------------------------------------------------------------------ admin: policies, accounts, audit

    def create_policy(self, document: Union[Mapping[str, Any], PathLike]) -> Dict[str, Any]:
        """Creates a draft policy version from a document (a dict, or a JSON file path)."""
        if isinstance(document, Mapping):
            doc: Any = dict(document)
        else:
            raw = read_file(document, "policy")
            try:
                doc = json.loads(raw)
            except ValueError as error:
                raise InputError(f"policy file {os.fspath(document)} is not JSON: {error}") from None
        return self._send("POST", "/v1/policies", safe=False, json_body=doc)

    def get_policies(self, name: Optional[str] = None) -> Any:
        """Every policy version (admin), optionally of one name."""
        return self._get("/v1/policies", {"name": name})

    def get_active_policy(self) -> Any:
        """The policy in force and any scheduled one (public)."""
        return self._get("/v1/policies/active", auth=False)

    def preview_policy(self, policy_id: str, eras: Iterable[int]) -> Dict[str, Any]:
        """Dry-runs a policy version on past eras: counts, tilts, exposures, cost."""
        return self._send("POST", f"/v1/policies/{_segment(policy_id)}/preview", safe=True, json_body={"eras": [int(e) for e in eras]})

    def activate_policy(self, policy_id: str, reason: str, from_era: Optional[int] = None) -> Dict[str, Any]:
        """Puts a version in force now, or from a future era (``from_era``: scheduled until
        then). With four-eyes on, an admin other than its author must do it."""
        body: Dict[str, Any] = {"reason": reason}
        if from_era is not None:
            body["fromEra"] = int(from_era)
        return self._send("POST", f"/v1/policies/{_segment(policy_id)}/activate", safe=False, json_body=body)

    def audit_log(
        self,
        subject: Optional[str] = None,
        since: Optional[When] = None,
        until: Optional[When] = None,
        limit: Optional[int] = None,
        *,
        all_pages: bool = False,
    ) -> Dict[str, Any]:
        """Audit-log entries, newest first (admin): ``{entries, nextCursor}``. With
        ``all_pages`` every page is fetched and ``nextCursor`` is None."""
        query: Dict[str, Any] = {
            "subject": subject,
            "from": _iso(since) if since is not None else None,
            "to": _iso(until) if until is not None else None,
            "limit": limit,
        }
        page = self._get("/v1/audit-log", query)
        if not all_pages:
            return page
        entries = list(page["entries"])
        while page.get("nextCursor") is not None:
            page = self._get("/v1/audit-log", {**query, "before": page["nextCursor"]})
            entries.extend(page["entries"])
        return {"entries": entries, "nextCursor": None}

    def create_account(self, name: str, role: str) -> Dict[str, Any]:
        """Creates an account (admin): ``{id, name, role, status, apiKey}``; the key is shown
        once. An admin made so is ``pending`` until another admin confirms it (``confirm_account``)."""
        return self._send("POST", "/v1/accounts", safe=False, json_body={"name": name, "role": role})

    def create_key(self, account_id: str, *, scopes: Optional[Sequence[str]] = None, expires_at: Optional[When] = None) -> Dict[str, Any]:
        """Issues another key for an account, optionally limited to ``scopes`` (``submit``,
        ``stake``, ``read``) and expiring at ``expires_at``; the key is shown once."""
        body: Dict[str, Any] = {}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if expires_at is not None:
            body["expiresAt"] = _iso(expires_at)
        return self._send("POST", f"/v1/accounts/{_segment(account_id)}/keys", safe=False, json_body=body)

    def create_own_key(self, *, scopes: Optional[Sequence[str]] = None, expires_at: Optional[When] = None) -> Dict[str, Any]:
        """Issues a key for your own account, e.g. a ``submit``-only key for an automated job
        (``scopes`` among ``submit``, ``stake``, ``read``; optional expiry). Shown once."""
        body: Dict[str, Any] = {}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if expires_at is not None:
            body["expiresAt"] = _iso(expires_at)
        return self._send("POST", "/v1/me/keys", safe=False, json_body=body)

    def get_own_keys(self) -> List[Dict[str, Any]]:
        """Your account's live keys (their first characters, scopes and expiry; never the secret)."""
        return cast(List[Dict[str, Any]], self._get("/v1/me/keys")["keys"])

    def revoke_own_key(self, key_id: str) -> None:
        """Revokes one of your own keys; it stops working at once."""
        self._http.request("DELETE", f"/v1/me/keys/{_segment(key_id)}", safe=False)

    def revoke_key(self, key_id: str) -> None:
        """Revokes a key; it stops working at once."""
        self._http.request("DELETE", f"/v1/keys/{_segment(key_id)}", safe=False)

    def list_accounts(self, *, role: Optional[str] = None, q: Optional[str] = None) -> List[Dict[str, Any]]:
        """Accounts by name (admin), each with its status and live key summaries; ``q`` matches
        part of the name or a whole account id."""
        query = {k: v for k, v in {"role": role, "q": q}.items() if v is not None}
        return list(self._get("/v1/accounts", query)["accounts"])

    def confirm_account(self, account_id: str) -> Dict[str, Any]:
        """Confirms a pending admin account (admin, not the one who made it)."""
        return self._send("POST", f"/v1/accounts/{_segment(account_id)}/confirm", safe=False)

    def disable_account(self, account_id: str, reason: Optional[str] = None) -> Dict[str, Any]:
        """Disables an account (admin, not your own) and revokes every key it holds."""
        body = {} if reason is None else {"reason": reason}
        return self._send("POST", f"/v1/accounts/{_segment(account_id)}/disable", safe=False, json_body=body)


def check_bundle(bundle: Mapping[str, Any]) -> None:
    """Raises VerificationError unless the bundle's digest and chain digest are what its
    content says (SHA-256 of the canonical JSON; SHA-256 of previous ‖ digest)."""
    from .recompute import bundle_digest, chain_digest  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

    # The digest is over the bundle without its three digest fields.
    content = {k: v for k, v in bundle.items() if k not in ("digest", "chainDigest", "previousChainDigest")}
    digest = bundle_digest(content)
    if digest != bundle.get("digest"):
        raise VerificationError(f"era {bundle.get('era')}: the bundle's digest is {bundle.get('digest')}, its content hashes to {digest}")
    chained = chain_digest(bundle.get("previousChainDigest"), digest)
    if chained != bundle.get("chainDigest"):
        raise VerificationError(f"era {bundle.get('era')}: chainDigest is {bundle.get('chainDigest')}, previous ‖ digest hashes to {chained}")


def _segment(text: str) -> str:
    """One path segment, escaped so a stray ``/`` or ``?`` cannot change the route."""
    return quote(str(text), safe="")


def _object(value: Any) -> Dict[str, Any]:
    """A JSON object as served (the contract's replies are objects)."""
    return cast(Dict[str, Any], value)


def _agrees(result: Mapping[str, Any]) -> bool:
    served = result.get("served") or {}
    for name in ("corr", "mmc", "payout"):
        mine, theirs = result.get(name), served.get(name)
        if mine is None or theirs is None:
            if mine is not theirs:
                return False
            continue
        a, b = float(mine), float(theirs)
        if not (math.isfinite(a) and math.isfinite(b)) or abs(a - b) > _TOLERANCE * max(1.0, abs(b)):
            return False
    return True


def _decimal(amount: Amount) -> Decimal:
    if isinstance(amount, bool):
        raise InputError("a stake amount is a number, not a bool")
    if isinstance(amount, float):
        # A float is already rounded to binary (150.1 + 0.2 == 150.29999999999998): which decimal was meant cannot be known.
        raise TypeError(
            f"money is never a float: {amount!r} is a binary approximation; pass the exact amount as a str (\"150.3\") or a Decimal (Decimal(\"150.3\"))"
        )
    if not isinstance(amount, (Decimal, str, int)):
        raise TypeError(f"an amount is a str, Decimal or int, not {type(amount).__name__}")
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise InputError(f"not a decimal amount: {amount!r}") from None
    if not value.is_finite():
        raise InputError(f"not a finite amount: {amount!r}")
    return value


def _decimal_text(amount: Amount) -> str:
    value = _decimal(amount)
    if value < 0:
        raise InputError(f"a stake is ≥ 0, not {value}")
    return format(value, "f")


def _read_heads_file(path: str) -> Dict[str, Any]:
    """The kept heads by service URL; empty when the file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as handle:
            kept = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise InputError(f"the kept heads in {path} cannot be read: {error}") from None
    if not isinstance(kept, dict):
        raise InputError(f"the kept heads in {path} are not a JSON object of service URL → heads")
    return kept


def _write_heads_file(path: str, kept: Mapping[str, Any]) -> None:
    """Replaces the file at once (a crash leaves the old heads or the new ones, never half)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(kept, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


def _iso(when: When) -> str:
    if isinstance(when, str):
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return when.isoformat()


def _targets_json(values: Mapping[str, Mapping[str, float]]) -> Dict[str, Any]:
    ids: List[str] = []
    seen = set()
    for column in values.values():
        for id_ in column:
            if id_ not in seen:
                seen.add(id_)
                ids.append(id_)
    targets: Dict[str, List[Optional[float]]] = {}
    for name, column in values.items():
        missing = [i for i in ids if i not in column]
        if missing:
            raise InputError(f"target {name!r} has no value for {len(missing)} id(s), e.g. {missing[0]}: every target needs the same ids")
        targets[name] = [float(column[i]) for i in ids]
    return {"ids": ids, "targets": targets}

