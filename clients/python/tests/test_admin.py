"""Admin calls: accounts and keys, policies under four-eyes, the audit log."""

from __future__ import annotations

import json
import os
import tempfile
import unittest

import support

from stakeweight import APIError, AuthenticationError, PermissionDeniedError, StakeweightAPI

# Shadow mode: computed and reported, never applied, so other tests' meta-models are unchanged.
POLICY = {
    "description": "tobacco out, in shadow",
    "mode": "shadow",
    "onMissingData": "ignore",
    "rules": [{"id": "tobacco", "match": {"field": "tags", "op": "contains", "value": "tobacco"}, "action": {"type": "exclude"}}],
}


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.admin = support.admin()
        cls.second_admin = support.account("admin")
        cls.operator = support.account("operator")

    def test_an_admin_made_over_http_waits_for_another_admin(self) -> None:
        created = self.admin.create_account(support.unique_name("dana"), "admin")
        self.assertEqual(created["status"], "pending")
        dana = StakeweightAPI(support.server().url, created["apiKey"])
        with self.assertRaises(PermissionDeniedError):
            dana.get_me()
        with self.assertRaises(PermissionDeniedError):
            self.admin.confirm_account(created["id"])
        with self.assertRaises(PermissionDeniedError):
            self.admin.create_key(self.second_admin.get_me()["id"])
        self.assertEqual(self.second_admin.confirm_account(created["id"])["status"], "active")
        self.assertEqual(dana.get_me()["status"], "active")
        listed = self.admin.list_accounts(role="admin", q=created["id"])
        self.assertEqual([a["status"] for a in listed], ["active"])
        self.assertEqual(self.admin.disable_account(created["id"], "test over")["status"], "disabled")
        with self.assertRaises(AuthenticationError):
            dana.get_me()

    def test_keys_are_issued_and_revoked(self) -> None:
        account = self.admin.create_account(support.unique_name("carol"), "author")
        self.assertEqual(account["role"], "author")
        first = StakeweightAPI(support.server().url, account["apiKey"])
        self.assertEqual(first.get_me()["id"], account["id"])

        key = self.admin.create_key(account["id"])
        second = StakeweightAPI(support.server().url, key["apiKey"])
        self.assertEqual(second.get_me()["name"], account["name"])
        self.admin.revoke_key(key["id"])
        with self.assertRaises(AuthenticationError):
            second.get_me()
        self.assertEqual(first.get_me()["id"], account["id"])

    def test_a_policy_from_draft_to_force_under_four_eyes(self) -> None:
        era = support.open_era(self.operator)
        author = support.account("author")
        model = author.create_model(support.unique_name("pol"))
        author.stake_set(model["name"], "10")
        author.upload_predictions(predictions=support.random_predictions(support.universe_ids(era), 9), model_id=model["name"], era=era)
        self.operator.close_era(era)

        name = support.unique_name("shadow")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "policy.json")
            with open(path, "w") as handle:
                json.dump({**POLICY, "name": name}, handle)
            draft = self.admin.create_policy(path)
        self.assertEqual((draft["name"], draft["version"], draft["status"]), (name, 1, "draft"))
        second = self.admin.create_policy({**POLICY, "name": name, "description": "again"})
        self.assertEqual(second["version"], 2)

        preview = self.operator.preview_policy(draft["id"], [era])
        self.assertEqual([e["era"] for e in preview["eras"]], [era])

        with self.assertRaises(APIError) as caught:
            self.admin.activate_policy(draft["id"], "author may not approve")
        self.assertEqual(caught.exception.status, 403)

        active = self.second_admin.activate_policy(draft["id"], "shadow run of the tobacco rule")
        self.assertEqual(active["status"], "active")
        self.assertEqual(StakeweightAPI(support.server().url, key="").get_active_policy()["id"], draft["id"])

        entries = self.admin.audit_log(all_pages=True)["entries"]
        self.assertIsNone(self.admin.audit_log(all_pages=True)["nextCursor"])
        reasons = [e.get("reason") for e in entries]
        self.assertIn("shadow run of the tobacco rule", reasons)
        page = self.admin.audit_log(limit=1)
        self.assertEqual(len(page["entries"]), 1)
        self.assertEqual(page["entries"][0]["id"], entries[0]["id"])
        self.assertEqual(len(entries), len({e["id"] for e in entries}))


if __name__ == "__main__":
    unittest.main()
