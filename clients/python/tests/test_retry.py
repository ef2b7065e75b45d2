"""Retries on 503, 429 and dropped connections, against a tiny local HTTP server that answers
from a script (the service itself cannot be made to fail on cue). Waits are recorded by the
retry policy's ``sleep``, never slept, so nothing races a clock."""

from __future__ import annotations

import json
import socket
import threading
import unittest
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

import support

from stakeweight import RetryPolicy, ServerError, StakeweightAPI, TransportError
from stakeweight.cli import EXIT_UNAVAILABLE
from stakeweight.errors import RateLimitedError

MODEL = "5b0e8c1e-2f4c-4c7e-9a53-0d3c2b1a9e77"
# One scripted answer: (status, headers, body), or None to drop the connection unanswered.
Answer = Optional[Tuple[int, Dict[str, str], Any]]


def problem(status: int, detail: str) -> Tuple[int, Dict[str, str], Any]:
    return status, {"Content-Type": "application/problem+json"}, {"type": "about:blank", "title": "Service Unavailable" if status == 503 else "Too Many Requests", "status": status, "detail": detail}


class Stub:
    """Answers requests from a list, one per request, and records what it received."""

    def __init__(self, answers: List[Answer]) -> None:
        self.answers = list(answers)
        self.requests: List[Tuple[str, str, bytes]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append((self.command, self.path, body))
                answer = stub.answers.pop(0) if stub.answers else (500, {}, {"detail": "the stub ran out of answers"})
                if answer is None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, headers, payload = answer[0], dict(answer[1]), answer[2]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RetryTest(unittest.TestCase):
    def client(self, answers: List[Answer], max_retries: int = 4) -> Tuple[StakeweightAPI, Stub, List[float]]:
        stub = Stub(answers)
        self.addCleanup(stub.close)
        waits: List[float] = []
        api = StakeweightAPI(stub.url, "a-key", retry=RetryPolicy(max_retries=max_retries, backoff=0.25, max_wait=30, sleep=waits.append))
        return api, stub, waits

    def test_a_read_is_retried_on_503_honouring_retry_after(self) -> None:
        api, stub, waits = self.client([
            problem(503, "database away"),
            (503, {"Retry-After": "7", "Content-Type": "application/problem+json"}, {"status": 503, "detail": "shedding load"}),
            (200, {}, {"models": [{"id": MODEL, "name": "m", "accountId": MODEL}]}),
        ])
        self.assertEqual(api.get_models(), {"m": MODEL})
        self.assertEqual(len(stub.requests), 3)
        self.assertEqual(len(waits), 2)
        self.assertGreaterEqual(waits[0], 0.25)  # backoff · 2⁰ plus jitter below one backoff
        self.assertLess(waits[0], 0.5)
        self.assertEqual(waits[1], 7.0)

    def test_a_stake_change_is_retried_on_429_with_an_http_date(self) -> None:
        when = formatdate(timeval=None, usegmt=True)  # now: wait 0 (at most the clock's second)
        api, stub, waits = self.client([
            (429, {"Retry-After": when}, {"status": 429, "detail": "slow down"}),
            (200, {}, {"modelId": MODEL, "amount": "3"}),
        ])
        self.assertEqual(api.stake_set(MODEL, "3")["amount"], "3")
        self.assertEqual([r[0] for r in stub.requests], ["PUT", "PUT"])
        self.assertEqual(json.loads(stub.requests[1][2]), {"amount": "3"})
        self.assertEqual(len(waits), 1)
        self.assertLessEqual(waits[0], 1.0)

    def test_a_submission_is_retried_since_the_service_deduplicates_it(self) -> None:
        receipt = {"id": MODEL, "era": 1, "modelId": MODEL, "rows": 1, "sha256": "x", "late": False}
        api, stub, waits = self.client([problem(503, "busy"), None, (201, {}, receipt)])
        self.assertEqual(api.upload_predictions(predictions={"a": 0.5}, model_id=MODEL, era=1), receipt)
        self.assertEqual(len(stub.requests), 3)
        self.assertEqual(stub.requests[0][2], stub.requests[2][2])
        self.assertEqual(stub.requests[0][1], f"/v1/models/{MODEL}/submissions?era=1")
        self.assertEqual(len(waits), 2)

    def test_creating_something_is_not_retried(self) -> None:
        api, stub, waits = self.client([problem(503, "busy"), (201, {}, {"id": MODEL, "name": "m"})])
        with self.assertRaises(ServerError) as caught:
            api.create_model("m")
        self.assertEqual(len(stub.requests), 1)
        self.assertEqual(waits, [])
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(caught.exception.detail, "busy")

    def test_retries_are_bounded_and_the_last_problem_is_raised(self) -> None:
        api, stub, waits = self.client([problem(503, f"still down {k}") for k in range(10)], max_retries=3)
        with self.assertRaises(ServerError) as caught:
            api.get_eras()
        self.assertEqual(len(stub.requests), 4)
        self.assertEqual(len(waits), 3)
        # exponential: each wait in [backoff·2ⁿ, backoff·2ⁿ + backoff)
        for n, wait in enumerate(waits):
            self.assertGreaterEqual(wait, 0.25 * 2**n)
            self.assertLess(wait, 0.25 * 2**n + 0.25)
        self.assertEqual(caught.exception.attempts, 4)
        self.assertIn("still down 3", str(caught.exception))

    def test_a_retry_after_beyond_the_cap_is_raised_not_waited(self) -> None:
        api, stub, waits = self.client([(429, {"Retry-After": "3600"}, {"status": 429, "detail": "come back in an hour"})])
        with self.assertRaises(RateLimitedError) as caught:
            api.get_eras()
        self.assertEqual(caught.exception.retry_after, 3600.0)
        self.assertEqual(waits, [])
        self.assertEqual(len(stub.requests), 1)

    def test_a_client_error_is_never_retried(self) -> None:
        api, stub, waits = self.client([(400, {}, {"status": 400, "title": "Bad Request", "detail": "no"}), (200, {}, {"eras": []})])
        with self.assertRaises(Exception):
            api.get_eras()
        self.assertEqual((len(stub.requests), waits), (1, []))

    def test_a_service_out_of_reach_is_a_transport_error_after_the_retries(self) -> None:
        port = support.free_port()  # nothing listens there
        waits: List[float] = []
        api = StakeweightAPI(f"http://127.0.0.1:{port}", "k", retry=RetryPolicy(max_retries=2, backoff=0.1, sleep=waits.append))
        with self.assertRaises(TransportError) as caught:
            api.get_eras()
        self.assertEqual(caught.exception.attempts, 3)
        self.assertEqual(len(waits), 2)
        self.assertIsInstance(caught.exception.cause, ConnectionRefusedError)

        done = support.run_cli(["--retries", "0", "models"], key="k", url=f"http://127.0.0.1:{port}")
        self.assertEqual(done.returncode, EXIT_UNAVAILABLE, done.stderr)
        self.assertIn("127.0.0.1", done.stderr)

    def test_the_cli_reports_a_503_after_its_retries(self) -> None:
        stub = Stub([problem(503, "database away")] * 2)
        self.addCleanup(stub.close)
        done = support.run_cli(["--retries", "1", "leaderboard"], key="k", url=stub.url)
        self.assertEqual(done.returncode, EXIT_UNAVAILABLE, done.stderr)
        self.assertIn("database away", done.stderr)
        self.assertEqual(len(stub.requests), 2)


if __name__ == "__main__":
    unittest.main()
