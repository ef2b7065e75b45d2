"""Events: webhooks registered, delivered and verified; the event stream; the current era."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

import support

from stakeweight import NotFoundError, VerificationError, verify_webhook


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k: v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_"):])
    return "v1," + base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()


class VerifyWebhookTest(unittest.TestCase):
    SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()

    def test_accepts_the_signed_body_and_refuses_any_change(self) -> None:
        body = b'{"type":"era.closed","timestamp":"2026-01-01T00:00:00.000Z","data":{"era":1}}'
        now = int(time.time())
        headers = {"Webhook-Id": "d1", "Webhook-Timestamp": str(now), "Webhook-Signature": "v1,bm9wZQ== " + _sign(self.SECRET, "d1", now, body)}
        self.assertEqual(verify_webhook(self.SECRET, headers, body)["data"], {"era": 1})
        with self.assertRaises(VerificationError):
            verify_webhook(self.SECRET, headers, body.replace(b"1}", b"2}"))
        with self.assertRaises(VerificationError):
            verify_webhook("whsec_" + base64.b64encode(bytes(32)).decode(), headers, body)
        stale = dict(headers, **{"Webhook-Timestamp": str(now - 3600), "Webhook-Signature": _sign(self.SECRET, "d1", now - 3600, body)})
        with self.assertRaises(VerificationError):
            verify_webhook(self.SECRET, stale, body)
        with self.assertRaises(VerificationError):
            verify_webhook(self.SECRET, {"webhook-id": "d1"}, body)


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.operator = support.account("operator")
        cls.author = support.account("author")
        _Receiver.received = []
        cls.httpd = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def test_a_webhook_receives_signed_events_and_the_stream_carries_them(self) -> None:
        url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        hook = self.author.create_webhook(url, ["era.opened", "era.closed"], description="python")
        self.assertTrue(hook["secret"].startswith("whsec_"))
        self.assertEqual([w["id"] for w in self.author.get_webhooks()], [hook["id"]])
        self.assertNotIn("secret", self.author.get_webhooks()[0])

        era = support.open_era(self.operator)
        deadline = time.time() + 30
        payload = None
        while payload is None and time.time() < deadline:
            for headers, body in list(_Receiver.received):
                event = verify_webhook(hook["secret"], headers, body)
                if event["type"] == "era.opened" and event["data"]["era"] == era:
                    payload = event
            time.sleep(0.1)
        self.assertIsNotNone(payload, "era.opened was not delivered")
        deliveries = self.author.webhook_deliveries(hook["id"])
        self.assertTrue(any(d["status"] == "delivered" and d["type"] == "era.opened" for d in deliveries))
        self.assertEqual(self.author.retry_delivery(hook["id"], deliveries[0]["id"])["status"], "pending")

        # The stream from the start holds the same event; resuming after it starts past it.
        seen = None
        for event in self.author.events(last_event_id=0, reconnect=False):
            if event["type"] == "era.opened" and event["data"]["era"] == era:
                seen = event
                break
        self.assertIsNotNone(seen)
        self.operator.close_era(era)
        for event in self.author.events(last_event_id=seen["id"], reconnect=False):
            self.assertNotEqual(event["id"], seen["id"])
            if event["type"] == "era.closed" and event["data"]["era"] == era:
                break

        self.author.delete_webhook(hook["id"])
        with self.assertRaises(NotFoundError):
            self.author.webhook_deliveries(hook["id"])

    def test_the_current_era_is_the_open_one_closing_first_and_uploads_go_there(self) -> None:
        soon = support.next_era()
        closes = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
        self.operator.create_era(soon, closes)
        ids = support.universe_ids(soon, 50)
        self.operator.upload_universe(soon, rows=[{"id": i, "sector": "10"} for i in ids])
        later = support.open_era(self.operator)
        try:
            self.assertEqual(self.author.get_current_era(), soon)
            model = self.author.create_model(support.unique_name("current"))
            receipt = self.author.upload_predictions(predictions=support.random_predictions(ids, 3), model_id=model["name"])
            self.assertEqual(receipt["era"], soon)
        finally:
            self.operator.close_era(soon)
            self.operator.close_era(later)


if __name__ == "__main__":
    unittest.main()
