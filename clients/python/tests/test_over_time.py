"""Calls over several eras, written against the OpenAPI document: the stake ledger view,
multi-target uploads, performance, the leaderboard, era bundles and their verification,
scheduled policy activation and scoped keys.

Each expected figure is computed here from what the service served per era (scores, payouts),
not by the code under test.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import unittest
from decimal import Decimal
from typing import Any, Dict, List

import support

from stakeweight import InputError, PermissionDeniedError, StakeweightAPI, VerificationError, check_bundle
from stakeweight.cli import EXIT_MISMATCH, EXIT_OK

# Far above the eras other modules number, so a leaderboard window of 2 holds only these.
FIRST_ERA = 900_001
MAIN = "target"


def max_drawdown(series: List[float]) -> float:
    peak, total, worst = 0.0, 0.0, 0.0
    for x in series:
        total += x
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


class OverTimeTest(unittest.TestCase):
    """Two eras, three models (one with two submissions' worth of history), resolved in order."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.operator = support.account("operator")
        cls.author = support.account("author")
        cls.rival = support.account("author")
        cls.models = {
            "a": cls.author.create_model(support.unique_name("ot_a")),
            "b": cls.author.create_model(support.unique_name("ot_b")),
            "c": cls.rival.create_model(support.unique_name("ot_c")),
        }
        cls.owner = {"a": cls.author, "b": cls.author, "c": cls.rival}
        for key, stake in (("a", "100"), ("b", "50.5"), ("c", "25")):
            cls.owner[key].stake_set(cls.models[key]["name"], stake)
        cls.eras = [FIRST_ERA, FIRST_ERA + 1]
        cls.predictions: Dict[int, Dict[str, Dict[str, float]]] = {}
        cls.receipts: Dict[int, Dict[str, Dict[str, Any]]] = {}
        cls.targets: Dict[int, Dict[str, Dict[str, float]]] = {}
        for n, era in enumerate(cls.eras):
            cls.operator.create_era(era, "2099-01-01T00:00:00Z", payout={"stakeThreshold": 100})
            ids = support.universe_ids(era)
            cls.operator.upload_universe(era, rows=[{"id": i, "sector": str(10 + (k % 8) * 5)} for k, i in enumerate(ids)])
            cls.predictions[era], cls.receipts[era] = {}, {}
            for k, key in enumerate("abc"):
                preds = support.random_predictions(ids, seed=era * 10 + k)
                cls.predictions[era][key] = preds
                cls.receipts[era][key] = cls.owner[key].upload_predictions(predictions=preds, model_id=cls.models[key]["name"], era=era)
            cls.operator.close_era(era)
            if n == 0:
                # lowered while at risk in the first era: released only once it resolves
                cls.lowered = cls.author.stake_set(cls.models["a"]["name"], "60")
            cls.targets[era] = {MAIN: support.random_targets(ids, seed=era + 1), "cyrus_60": support.random_targets(ids, seed=era + 2)}
            for target, values in cls.targets[era].items():
                cls.operator.upload_targets(era, target=target, values=values)
            cls.operator.resolve_era(era)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def served(self, era: int, target: str = MAIN) -> Dict[str, Dict[str, Any]]:
        scores = {s["modelId"]: s for s in self.operator.era_scores(era, target)["scores"]}
        return {key: scores[m["id"]] for key, m in self.models.items()}

    # ---------------------------------------------------------------- the stake ledger

    def test_a_lowered_stake_waits_for_the_era_it_was_at_risk_in(self) -> None:
        lowered = self.lowered
        self.assertEqual(Decimal(lowered["amount"]), Decimal("60"))
        self.assertEqual(Decimal(lowered["releasing"]), Decimal("40"))
        self.assertEqual(Decimal(lowered["balance"]), Decimal("100"))
        self.assertEqual([r["waitsForEras"] for r in lowered["pendingReleases"]], [[self.eras[0]]])
        self.assertEqual(Decimal(lowered["pendingReleases"][0]["amount"]), Decimal("40"))
        self.assertEqual([(a["era"], Decimal(a["amount"])) for a in lowered["atRisk"]], [(self.eras[0], Decimal("100"))])

        view = self.author.stake_get(self.models["a"]["name"])
        kinds = [h["kind"] for h in view["history"]]
        self.assertEqual(kinds[0], "deposit")
        self.assertIn("release_requested", kinds)
        self.assertIn("released", kinds)
        self.assertEqual(kinds.count("payout") + kinds.count("burn"), 2)
        self.assertEqual(view["pendingReleases"], [])
        self.assertEqual(view["atRisk"], [])
        self.assertEqual(Decimal(view["balance"]), sum(Decimal(h["delta"]) for h in view["history"]))
        self.assertEqual(Decimal(view["balance"]), Decimal(view["amount"]) + Decimal(view["releasing"]))
        paid = sum(Decimal(self.served(era)["a"]["payout"]) for era in self.eras)
        self.assertEqual(Decimal(view["amount"]), Decimal("60") + paid)

    # ---------------------------------------------------------------- targets

    def test_many_targets_in_one_upload_score_like_one_by_one(self) -> None:
        era = support.open_era(self.operator)
        ids = support.universe_ids(era)
        preds = {key: support.random_predictions(ids, seed=era * 3 + k) for k, key in enumerate("xy")}
        models = {}
        for key in "xy":
            models[key] = self.author.create_model(support.unique_name(f"ot_{key}"))
            self.author.upload_predictions(predictions=preds[key], model_id=models[key]["name"], era=era)
        self.operator.close_era(era)
        targets = {MAIN: support.random_targets(ids, 21), "cyrus_60": support.random_targets(ids, 22), "ender_20": support.random_targets(ids, 23)}
        uploaded = self.operator.upload_targets(era, values=targets)
        self.assertEqual(sorted((t["target"], t["version"], t["count"]) for t in uploaded["targets"]), sorted((t, 1, len(ids)) for t in targets))
        for target, values in targets.items():
            served = {s["modelId"]: s for s in self.operator.era_scores(era, target)["scores"]}
            for key in "xy":
                self.assertAlmostEqual(served[models[key]["id"]]["corr"], support.numerai_corr(preds[key], values), delta=1e-9)

    def test_a_targets_file_with_several_columns(self) -> None:
        era = support.open_era(self.operator)
        ids = support.universe_ids(era)
        model = self.author.create_model(support.unique_name("ot_file"))
        preds = support.random_predictions(ids, seed=5)
        self.author.upload_predictions(predictions=preds, model_id=model["name"], era=era)
        self.operator.close_era(era)
        t1, t2 = support.random_targets(ids, 6), support.random_targets(ids, 7)
        path = support.write(os.path.join(self.tmp.name, "targets.csv"), "id,target,ender_20\n" + "".join(f"{i},{t1[i]},{t2[i]}\n" for i in ids))
        result = self.operator.upload_targets(era, path)
        self.assertEqual({t["target"]: t["version"] for t in result["targets"]}, {"target": 1, "ender_20": 1})
        again = self.operator.upload_targets(era, target="ender_20", values=t1)
        self.assertEqual(again["version"], 2)
        history = self.author.model_scores(model["name"], era=era, target="ender_20")
        corrs = [h["corr"] for h in sorted(history["history"], key=lambda h: h["version"])]
        self.assertAlmostEqual(corrs[0], support.numerai_corr(preds, t2), delta=1e-9)
        self.assertAlmostEqual(corrs[1], support.numerai_corr(preds, t1), delta=1e-9)

    def test_scores_are_read_page_after_page(self) -> None:
        name = self.models["a"]["name"]
        whole = self.author.model_scores(name)
        paged = self.author.model_scores(name, page_size=1)
        self.assertEqual(paged["scores"], whole["scores"])
        self.assertEqual(sorted({s["era"] for s in paged["scores"]}, reverse=True), list(reversed(self.eras)))
        self.assertIsNone(paged["next"])
        # One era a page: the server says a next page follows, and the client followed it.
        first = self.author._get(f"/v1/models/{self.models['a']['id']}/scores", {"limit": 1})
        self.assertIsNotNone(first["next"])
        self.assertEqual({s["era"] for s in first["scores"]}, {self.eras[-1]})
        era = self.eras[0]
        self.assertEqual(self.operator.era_scores(era, page_size=1)["scores"], self.operator.era_scores(era)["scores"])
        self.assertGreater(len(self.operator.era_scores(era, page_size=1)["scores"]), 1)

    # ---------------------------------------------------------------- performance and leaderboard

    def test_the_report_summary_follows_every_page(self) -> None:
        public = StakeweightAPI(support.server().url, key="")
        whole = public.get_report_summary()
        paged = public.get_report_summary(page_size=1)
        self.assertEqual(paged, whole)
        numbers = [point["era"] for point in whole["eras"]]
        self.assertEqual(numbers, sorted(set(numbers), reverse=True), "every era once, newest first")
        self.assertTrue(set(self.eras) <= set(numbers))
        self.assertIn(MAIN, whole["targets"])
        self.assertTrue({c["target"] for c in whole["cumulativeCost"]} <= set(whole["targets"]))
        # One page is what the service serves without the client's help: the joined answer holds more.
        first = public._get("/v1/reports/summary", query={"limit": 1}, auth=False)
        self.assertEqual(len(first["eras"]), 1)
        self.assertIsNotNone(first["next"])

    def test_performance_summarises_the_served_eras(self) -> None:
        perf = self.author.model_performance(self.models["a"]["name"])
        self.assertEqual([e["era"] for e in perf["eras"]], self.eras)
        served = [self.served(era)["a"] for era in self.eras]
        for field in ("corr", "mmc"):
            series = [s[field] for s in served]
            summary = perf[field]
            self.assertAlmostEqual(summary["mean"], statistics.fmean(series), delta=1e-9)
            self.assertAlmostEqual(summary["std"], statistics.pstdev(series), delta=1e-9)
            self.assertAlmostEqual(summary["sharpe"], statistics.fmean(series) / statistics.pstdev(series), delta=1e-6)
            self.assertAlmostEqual(summary["maxDrawdown"], max_drawdown(series), delta=1e-9)
        total = sum(Decimal(s["payout"]) for s in served)
        self.assertEqual(Decimal(perf["payout"]["total"]), total)
        at_risk = sum(Decimal(s["stake"]) for s in served)
        self.assertAlmostEqual(float(perf["payout"]["return"]), float(total / at_risk), delta=1e-9)

        done = support.run_cli(["performance", "--model", self.models["a"]["name"]], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_OK, done.stderr)
        self.assertEqual(support.cli_json(done)["modelId"], self.models["a"]["id"])  # type: ignore[index]

    def test_the_leaderboard_ranks_by_reputation(self) -> None:
        board = self.rival.leaderboard(window=2)
        self.assertEqual(sorted(board["eras"]), self.eras)
        expected = []
        for key, model in self.models.items():
            per_era = [self.served(era)[key] for era in self.eras]
            score = statistics.fmean(0.5 * s["corr"] + 2 * s["mmc"] for s in per_era)
            expected.append((-score, model["name"]))
        expected.sort()
        rows = [r for r in board["rows"] if r["model"] in {m["name"] for m in self.models.values()}]
        self.assertEqual([r["model"] for r in rows], [name for _, name in expected])
        for row, (neg_score, _) in zip(rows, expected):
            self.assertAlmostEqual(row["score"], -neg_score, delta=1e-9)
            self.assertEqual(row["eras"], 2)
        self.assertEqual([r["rank"] for r in board["rows"]], list(range(1, len(board["rows"]) + 1)))

        done = support.run_cli(["leaderboard", "--window", "2"], key=self.rival.key)
        self.assertEqual(done.returncode, EXIT_OK, done.stderr)
        self.assertEqual(sorted(support.cli_json(done)["eras"]), self.eras)  # type: ignore[index]

    # ---------------------------------------------------------------- bundles and verification

    def test_a_bundle_checks_its_digests_and_names_each_submission(self) -> None:
        era = self.eras[1]
        path = os.path.join(self.tmp.name, "bundle.json")
        bundle = self.rival.era_bundle(era, dest_path=path)
        self.assertEqual(bundle["era"], era)
        self.assertEqual(sorted(bundle["ids"]), sorted(support.universe_ids(era)))
        by_name = {m["model"]: m for m in bundle["models"]}
        for key, model in self.models.items():
            self.assertEqual(by_name[model["name"]]["submissionSha256"], self.receipts[era][key]["sha256"])
        first = self.rival.era_bundle(self.eras[0])
        self.assertEqual(bundle["previousChainDigest"], first["chainDigest"])
        # a bundle altered after it was served no longer checks
        tampered = {**bundle, "models": [{**m, "payout": "1000000"} for m in bundle["models"]]}
        with self.assertRaises(VerificationError):
            check_bundle(tampered)
        with self.assertRaises(VerificationError):
            check_bundle({**first, "previousChainDigest": bundle["chainDigest"]})
        self.assertTrue(os.path.getsize(path) > 0)

        done = support.run_cli(["bundle", str(era), "-o", os.path.join(self.tmp.name, "cli.json")], key=self.rival.key)
        self.assertEqual(done.returncode, EXIT_OK, done.stderr)

    def test_an_author_verifies_their_scores(self) -> None:
        era = self.eras[0]
        preds = self.predictions[era]["b"]
        result = self.author.verify_scores(era, preds)
        self.assertEqual(result["model"], self.models["b"]["name"])
        self.assertTrue(result["submissionMatches"])
        self.assertTrue(result["matches"], result)
        served = self.served(era)["b"]
        self.assertAlmostEqual(result["corr"], served["corr"], delta=1e-9)
        self.assertAlmostEqual(result["mmc"], served["mmc"], delta=1e-9)
        self.assertAlmostEqual(float(result["payout"]), float(served["payout"]), delta=1e-9)

        # other predictions: no model has them, so one must be named, and they do not match
        other = {i: 1 - v for i, v in preds.items()}
        with self.assertRaises(InputError):
            self.author.verify_scores(era, other)
        mismatch = self.author.verify_scores(era, other, model_id=self.models["b"]["name"])
        self.assertFalse(mismatch["submissionMatches"])
        self.assertFalse(mismatch["matches"])
        # model_id takes an id as well as a name
        by_id = self.author.verify_scores(era, preds, model_id=self.models["b"]["id"])
        self.assertEqual(by_id["model"], self.models["b"]["name"])
        self.assertTrue(by_id["matches"], by_id)
        # the older keyword still works, with a DeprecationWarning; both at once is an input error
        with self.assertWarns(DeprecationWarning):
            old = self.author.verify_scores(era, other, model=self.models["b"]["name"])
        self.assertEqual(old["model"], self.models["b"]["name"])
        with self.assertRaises(InputError):
            self.author.verify_scores(era, other, model_id=self.models["b"]["name"], model=self.models["b"]["name"])

        good = support.write(os.path.join(self.tmp.name, "b.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in preds.items()))
        done = support.run_cli(["verify", str(era), good], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_OK, done.stderr)
        bad = support.write(os.path.join(self.tmp.name, "other.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in other.items()))
        done = support.run_cli(["verify", str(era), bad, "--model", self.models["b"]["name"]], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_MISMATCH, done.stderr)



class PolicyAndKeyTest(unittest.TestCase):
    """Scheduled activation and scoped keys, each on its own."""

    def test_a_policy_can_be_scheduled_from_a_future_era(self) -> None:
        proposer, approver = support.account("admin"), support.account("admin")
        draft = proposer.create_policy({
            "name": support.unique_name("later"),
            "mode": "shadow",
            "onMissingData": "ignore",
            "rules": [{"id": "tobacco", "rationale": "health", "match": {"field": "tags", "op": "contains", "value": "tobacco"}, "action": {"type": "exclude"}}],
        })
        scheduled = approver.activate_policy(draft["id"], "from a far era", from_era=999_999)
        self.assertEqual((scheduled["status"], scheduled["fromEra"]), ("scheduled", 999_999))
        upcoming = StakeweightAPI(support.server().url, key="").get_active_policy()["upcoming"]
        self.assertEqual(upcoming["fromEra"], 999_999)

    def test_a_scoped_key_is_refused_outside_its_scope(self) -> None:
        author = support.account("author")
        model = author.create_model(support.unique_name("scoped"))
        key = support.admin().create_key(author.get_me()["id"], scopes=["read"])
        reader = StakeweightAPI(support.server().url, key["apiKey"])
        self.assertEqual(reader.get_models(), {model["name"]: model["id"]})
        with self.assertRaises(PermissionDeniedError) as caught:
            reader.stake_set(model["name"], "61")
        self.assertIn("stake", str(caught.exception))

    def test_an_author_issues_a_submit_only_key_for_automation(self) -> None:
        operator = support.account("operator")
        era = support.open_era(operator)
        author = support.account("author")
        model = author.create_model(support.unique_name("robot"))
        key = author.create_own_key(scopes=["submit"])
        self.assertIn(key["id"], [k["id"] for k in author.get_own_keys()])
        robot = StakeweightAPI(support.server().url, key["apiKey"])
        receipt = robot.upload_predictions(predictions=support.random_predictions(support.universe_ids(era), 8), model_id=model["id"], era=era)
        self.assertFalse(receipt["late"])
        with self.assertRaises(PermissionDeniedError) as caught:
            robot.stake_set(model["id"], "1")
        self.assertIn("stake", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
