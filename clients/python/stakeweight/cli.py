"""The command line: ``python -m stakeweight COMMAND …`` (also installed as ``stakeweight``).

Results are printed to stdout as JSON (or CSV where asked); messages go to stderr.
Exit codes a shell script can branch on:

==  =====================================================================
0   done
1   ``check-history``: a chain no longer extends the heads kept earlier (history was
    rewritten); otherwise an unexpected failure (a bug: please report it)
2   usage error, or a local input problem (a missing file, an unknown model name)
3   the service refused the request (400, 404, 409, 413, 415: the message says why)
4   the key is missing, wrong, revoked, expired or not allowed (401, 403)
5   the service is unavailable or out of reach (5xx, 429, network) after the retries
6   ``upload``: the submission was stored but is late (the era had closed: scored, not paid)
7   ``verify``: the recomputed scores differ from the served ones
141 stdout was closed early (``… | head``): the rest is not printed, quietly
==  =====================================================================
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from typing import Any, Callable, Dict, Optional, Sequence

from . import __version__
from .api import StakeweightAPI
from .errors import (
    APIError,
    AuthenticationError,
    HistoryRewrittenError,
    InputError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    StakeweightError,
    TransportError,
    VerificationError,
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_HISTORY_REWRITTEN = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_AUTH = 4
EXIT_UNAVAILABLE = 5
EXIT_LATE = 6
EXIT_MISMATCH = 7
# What a shell reports for a program that SIGPIPE stopped (128 + 13).
EXIT_BROKEN_PIPE = 141


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot print {type(value).__name__}")


def _upload(api: StakeweightAPI, args: argparse.Namespace) -> int:
    receipt = api.upload_predictions(args.file, model_id=args.model, era=args.era)
    _print_json(receipt)
    if receipt.get("late"):
        print(f"late: era {receipt.get('era')} had closed; the submission is stored and scored but not paid", file=sys.stderr)
        return EXIT_LATE
    return EXIT_OK


def _stake(api: StakeweightAPI, args: argparse.Namespace) -> int:
    if args.action == "get":
        _print_json(api.stake_get(args.model))
        return EXIT_OK
    if args.amount is None:
        raise InputError(f"stake {args.action} needs an AMOUNT")
    change: Callable[[str, Any], Dict[str, Any]] = {
        "set": api.stake_set,
        "increase": api.stake_increase,
        "decrease": api.stake_decrease,
    }[args.action]
    _print_json(change(args.model, args.amount))
    return EXIT_OK


def _scores(api: StakeweightAPI, args: argparse.Namespace) -> int:
    _print_json(api.model_scores(args.model, era=args.era, target=args.target))
    return EXIT_OK


def _performance(api: StakeweightAPI, args: argparse.Namespace) -> int:
    _print_json(api.model_performance(args.model, target=args.target))
    return EXIT_OK


def _leaderboard(api: StakeweightAPI, args: argparse.Namespace) -> int:
    _print_json(api.leaderboard(target=args.target, window=args.window))
    return EXIT_OK


def _bundle(api: StakeweightAPI, args: argparse.Namespace) -> int:
    bundle = api.era_bundle(args.era, dest_path=args.output, verify=not args.no_verify)
    if args.output:
        print(f"era {bundle['era']}: bundle written to {args.output} (digest {bundle.get('digest')})", file=sys.stderr)
    else:
        _print_json(bundle)
    return EXIT_OK


def _verify(api: StakeweightAPI, args: argparse.Namespace) -> int:
    result = api.verify_scores(args.era, args.predictions, model_id=args.model)
    _print_json(result)
    if not result["submissionMatches"]:
        print("warning: these predictions are not the submission the service scored (digests differ)", file=sys.stderr)
    if not result["matches"]:
        print("mismatch: the recomputed scores differ from the served ones", file=sys.stderr)
        return EXIT_MISMATCH
    return EXIT_OK


def _check_history(api: StakeweightAPI, args: argparse.Namespace) -> int:
    result = api.check_history(args.heads_file)
    _print_json(result)
    if result["previous"] is None:
        print(f"first check of {result['url']}: heads kept in {result['path']}", file=sys.stderr)
    else:
        print(f"both chains extend the heads kept in {result['path']}; the new heads are kept", file=sys.stderr)
    return EXIT_OK


def _models(api: StakeweightAPI, args: argparse.Namespace) -> int:
    _print_json(api.get_models())
    return EXIT_OK


def _create_model(api: StakeweightAPI, args: argparse.Namespace) -> int:
    _print_json(api.create_model(args.name))
    return EXIT_OK


def _live_ids(api: StakeweightAPI, args: argparse.Namespace) -> int:
    ids = api.download_live_ids(args.era, dest_path=args.output)
    if args.output:
        print(f"{len(ids)} ids written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write("id\n" + "".join(f"{i}\n" for i in ids))
    return EXIT_OK


def _current_era(api: StakeweightAPI, args: argparse.Namespace) -> int:
    era = api.get_current_era()
    if era is None:
        print("no era is open now", file=sys.stderr)
        return EXIT_REFUSED
    print(era)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stakeweight",
        description="Stakeweight from the command line. The service URL and key come from --url/--key or $STAKEWEIGHT_URL/$STAKEWEIGHT_KEY.",
        epilog="exit codes: 0 done, 1 check-history: history rewritten (else a bug), 2 usage or local input, 3 refused, 4 key, 5 unavailable, 6 upload was late, 7 verify mismatch, 141 output closed early",
    )
    p.add_argument("--url", help="service URL (default $STAKEWEIGHT_URL or http://localhost:3000)")
    p.add_argument("--key", help="API key (default $STAKEWEIGHT_KEY, which is better: a command line is visible to other users)")
    p.add_argument("--retries", type=int, default=None, help="retries for requests safe to repeat (default 4)")
    p.add_argument("--version", action="version", version=f"stakeweight {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser("upload", help="submit a predictions CSV (id,prediction) for a model")
    up.add_argument("file", help="CSV file with header id,prediction (or a .json file)")
    up.add_argument("--model", "-m", required=True, help="model name or id")
    up.add_argument("--era", type=int, help="era number (default: the open era)")
    up.set_defaults(run=_upload)

    st = sub.add_parser("stake", help="read or change a model's stake")
    st.add_argument("action", choices=["get", "set", "increase", "decrease"])
    st.add_argument("amount", nargs="?", help="an exact decimal, e.g. 250.5 (set, increase, decrease)")
    st.add_argument("--model", "-m", required=True, help="model name or id")
    st.set_defaults(run=_stake)

    sc = sub.add_parser("scores", help="a model's scores")
    sc.add_argument("--model", "-m", required=True, help="model name or id")
    sc.add_argument("--era", type=int, help="only this era's scores (with --target: also that score's history across target versions)")
    sc.add_argument("--target", help="only this target's scores")
    sc.set_defaults(run=_scores)

    pf = sub.add_parser("performance", help="a model's performance over resolved eras")
    pf.add_argument("--model", "-m", required=True, help="model name or id")
    pf.add_argument("--target", help="target name (default: the main target)")
    pf.set_defaults(run=_performance)

    lb = sub.add_parser("leaderboard", help="the reputation leaderboard")
    lb.add_argument("--target", help="target name (default: the main target)")
    lb.add_argument("--window", type=int, help="resolved eras in the window (default 20)")
    lb.set_defaults(run=_leaderboard)

    bd = sub.add_parser("bundle", help="download a resolved era's bundle, checking its digests")
    bd.add_argument("era", type=int)
    bd.add_argument("--output", "-o", help="write the bundle to this file instead of stdout")
    bd.add_argument("--no-verify", action="store_true", help="do not check the digest and chain digest")
    bd.set_defaults(run=_bundle)

    vf = sub.add_parser("verify", help="recompute your CORR, MMC and payout from an era's bundle and your predictions")
    vf.add_argument("era", type=int)
    vf.add_argument("predictions", help="the predictions CSV you submitted")
    vf.add_argument("--model", "-m", help="model name (default: found by the predictions' digest)")
    vf.set_defaults(run=_verify)

    ch = sub.add_parser("check-history", help="check that the service's bundle and audit chains extend the heads kept at the last check, then keep the new ones")
    ch.add_argument("--heads-file", help="where the heads are kept (default $STAKEWEIGHT_HEADS or ~/.stakeweight/heads.json)")
    ch.set_defaults(run=_check_history)

    md = sub.add_parser("models", help="your models, {name: id}")
    md.set_defaults(run=_models)

    cm = sub.add_parser("create-model", help="register a model")
    cm.add_argument("name", help="[a-z0-9_]{1,40}")
    cm.set_defaults(run=_create_model)

    li = sub.add_parser("live-ids", help="the live ids of an era, as CSV")
    li.add_argument("--era", type=int, help="era number (default: the open era)")
    li.add_argument("--output", "-o", help="write to this file instead of stdout")
    li.set_defaults(run=_live_ids)

    ce = sub.add_parser("current-era", help="print the number of the era open now")
    ce.set_defaults(run=_current_era)
    return p


def exit_code_for(error: BaseException) -> int:
    """The exit code a failure maps to (see the module docstring)."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, (ServerError, RateLimitedError, TransportError)):
        return EXIT_UNAVAILABLE
    if isinstance(error, APIError):
        return EXIT_REFUSED
    if isinstance(error, HistoryRewrittenError):
        return EXIT_HISTORY_REWRITTEN
    if isinstance(error, VerificationError):
        return EXIT_MISMATCH
    if isinstance(error, InputError):
        return EXIT_USAGE
    return EXIT_UNEXPECTED


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs one command; returns its exit code."""
    args = parser().parse_args(list(argv) if argv is not None else None)
    try:
        from .transport import RetryPolicy  # noqa: PLC0415

        retry = RetryPolicy(max_retries=args.retries) if args.retries is not None else None
        api = StakeweightAPI(url=args.url, key=args.key, retry=retry)
        code: int = args.run(api, args)
        sys.stdout.flush()  # here, so a closed pipe is noticed while its error can be handled
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): print nothing more, and let the exit's flush go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except StakeweightError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_code_for(error)
    except ValueError as error:  # a malformed --url
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


