"""Money never travels as a binary float, and check_history notices history that was removed
or rewritten since the last check (against a real server)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import unittest
from decimal import Decimal
from typing import Any, Dict, Optional

import support

from stakeweight import HistoryRewrittenError
from stakeweight.cli import EXIT_HISTORY_REWRITTEN, EXIT_OK


class MoneyIsNeverAFloatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        # Funds for the 17-digit stake below: stakes are paid from the wallet.
        cls.author = support.account("author", funds="20000000000000000")
        cls.model = cls.author.create_model(support.unique_name("money"))["name"]

    def amount(self) -> str:
        return str(self.author.stake_get(self.model)["amount"])

    def test_a_float_is_refused_naming_decimal_or_str_and_nothing_is_sent(self) -> None:
        self.author.stake_set(self.model, "150")
        for call in (self.author.stake_set, self.author.stake_increase, self.author.stake_decrease):
            with self.assertRaises(TypeError) as caught:
                call(self.model, 150.1 + 0.2)
            self.assertRegex(str(caught.exception), r"\bDecimal\b|\bstr\b")
            self.assertIn("150.29999999999998", str(caught.exception))
        with self.assertRaises(TypeError):
            self.author.stake_set(self.model, 0.3)
        self.assertEqual(self.amount(), "150")

    def test_int_str_and_decimal_pass_as_exact_decimal_strings(self) -> None:
        self.assertEqual(self.author.stake_set(self.model, Decimal("150.1") + Decimal("0.2"))["amount"], "150.3")
        self.assertEqual(self.author.stake_set(self.model, "12345678901234567.000000000000000001")["amount"], "12345678901234567.000000000000000001")
        self.assertEqual(self.author.stake_set(self.model, 7)["amount"], "7")
        self.assertEqual(self.author.stake_set(self.model, Decimal("1E+2"))["amount"], "100")
        self.assertEqual(self.author.stake_increase(self.model, Decimal("0.25"))["amount"], "100.25")
        self.assertEqual(self.author.stake_decrease(self.model, "0.05")["amount"], "100.2")


class _Database:
    """psql on the run's server database, as a superuser: what an attacker with that right does."""

    def __init__(self) -> None:
        server = support.server()
        assert server.database is not None
        self.url = support._with_database(server.admin_url, server.database)  # noqa: SLF001

    def query(self, sql: str) -> str:
        done = subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def as_replica(self, sql: str) -> None:
        """Past the audit log's append-only trigger: replication's role fires no trigger."""
        self.query(f"begin; set local session_replication_role = replica; {sql}; commit;")


class CheckHistoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.public = support.StakeweightAPI(support.server().url, key="")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def heads_file(self, name: str) -> str:
        return os.path.join(self.tmp.name, name, "heads.json")

    def kept(self, path: str) -> Dict[str, Any]:
        with open(path, encoding="utf-8") as handle:
            return dict(json.load(handle))

    def audited_action(self) -> None:
        support.account("author")

    def test_keeps_the_heads_and_passes_while_history_only_grows(self) -> None:
        path = self.heads_file("grows")
        first = self.public.check_history(path)
        self.assertIsNone(first["previous"])
        self.assertEqual(first["current"], self.public.get_heads())
        self.assertEqual(self.kept(path), {support.server().url: first["current"]})
        self.audited_action()
        second = self.public.check_history(path)
        self.assertEqual(second["previous"], first["current"])
        self.assertGreater(second["current"]["audit"]["count"], first["current"]["audit"]["count"])
        self.assertEqual(self.kept(path)[support.server().url], second["current"])

    def test_the_default_file_is_overridden_by_the_environment_and_the_cli_uses_it(self) -> None:
        path = self.heads_file("env")
        first = self.run_cli(path)
        self.assertEqual(first.returncode, EXIT_OK, first.stderr)
        self.assertIn("first check", first.stderr)
        self.assertTrue(os.path.exists(path))
        again = self.run_cli(path)
        self.assertEqual(again.returncode, EXIT_OK, again.stderr)
        self.assertEqual(json.loads(again.stdout)["previous"], json.loads(first.stdout)["current"])

    def test_by_default_the_heads_are_kept_in_the_home_directory(self) -> None:
        home = os.path.join(self.tmp.name, "home")
        done = self.run_cli(None, HOME=home)
        self.assertEqual(done.returncode, EXIT_OK, done.stderr)
        self.assertEqual(self.kept(os.path.join(home, ".stakeweight", "heads.json")), {support.server().url: json.loads(done.stdout)["current"]})

    def run_cli(self, heads: Optional[str], *args: str, **env: str) -> "subprocess.CompletedProcess[str]":
        """check-history with $STAKEWEIGHT_HEADS set to ``heads`` (unset when None) and ``env`` added."""
        changes = {"STAKEWEIGHT_HEADS": heads, **env}
        saved = {name: os.environ.get(name) for name in changes}
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        try:
            return support.run_cli(["check-history", *args], key=None)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def test_kept_heads_the_chains_do_not_extend_fail_naming_the_chain_and_are_not_replaced(self) -> None:
        path = self.heads_file("forged")
        current = self.public.check_history(path)["current"]
        url = support.server().url
        # Kept earlier: one bundle more than the chain holds now (a link was removed since) …
        forged = {url: {"bundles": {"count": current["bundles"]["count"] + 1, "chainDigest": "a" * 64}, "audit": current["audit"]}}
        support.write(path, json.dumps(forged))
        with self.assertRaises(HistoryRewrittenError) as caught:
            self.public.check_history(path)
        self.assertEqual(caught.exception.chains, ["bundles"])
        self.assertIn("bundles", str(caught.exception))
        self.assertIn("links were removed", str(caught.exception))
        self.assertEqual(self.kept(path), forged)
        # … or another digest at the kept position of the audit chain.
        forged = {url: {"bundles": current["bundles"], "audit": {"count": current["audit"]["count"], "chainDigest": "b" * 64}}}
        support.write(path, json.dumps(forged))
        with self.assertRaises(HistoryRewrittenError) as caught:
            self.public.check_history(path)
        self.assertEqual(caught.exception.chains, ["audit"])
        self.assertIn(f"link {current['audit']['count']} has chain digest", str(caught.exception))
        done = support.run_cli(["check-history", "--heads-file", path], key=None)
        self.assertEqual(done.returncode, EXIT_HISTORY_REWRITTEN, done.stderr)
        self.assertIn("the audit chain does not extend the kept head", done.stderr)
        self.assertEqual(self.kept(path), forged)

    def test_the_newest_audit_entry_removed_in_the_database_fails_naming_audit(self) -> None:
        if support.server().database is None:
            self.skipTest("no PostgreSQL server to tamper with (the service runs its embedded one)")
        db = _Database()
        path = self.heads_file("removed")
        self.audited_action()
        self.public.check_history(path)
        newest = db.query("select row_to_json(a)::text from audit_log a order by id desc limit 1")
        entry_id = json.loads(newest)["id"]
        db.as_replica(f"delete from audit_log where id = {int(entry_id)}")
        try:
            with self.assertRaises(HistoryRewrittenError) as caught:
                self.public.check_history(path)
            self.assertEqual(caught.exception.chains, ["audit"])
            self.assertIn("links were removed", caught.exception.problems["audit"])
            done = support.run_cli(["check-history", "--heads-file", path], key=None)
            self.assertEqual(done.returncode, EXIT_HISTORY_REWRITTEN, done.stderr)
            self.assertIn("audit", done.stderr)
        finally:
            literal = newest.replace("'", "''")
            db.as_replica(f"insert into audit_log select * from json_populate_record(null::audit_log, '{literal}'::json)")
        self.public.check_history(path)


if __name__ == "__main__":
    unittest.main()
