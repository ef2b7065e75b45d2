"""A whole round from both sides, through the client, against a real server."""

from __future__ import annotations

import csv
import os
import random
import tempfile
import unittest
from decimal import Decimal

import support

from stakeweight import StakeweightAPI, submission_sha256


class WholeRoundTest(unittest.TestCase):
    """Operator opens an era, two authors stake and submit (a CSV file, a mapping), the era
    closes, targets score it, it resolves and pays; every figure checked independently."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.operator = support.account("operator")
        cls.alice = support.account("author")
        cls.bob = support.account("author")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def path(self, name: str) -> str:
        return os.path.join(self.tmp.name, name)

    def test_a_round_end_to_end(self) -> None:
        operator, alice, bob = self.operator, self.alice, self.bob
        era = support.next_era()
        ids = support.universe_ids(era)

        # operator: the era and its universe, from a CSV file
        created = operator.create_era(era, "2099-01-01T00:00:00Z", payout={"stakeThreshold": 100})
        self.assertEqual(created["number"], era)
        self.assertEqual(created["status"], "open")
        universe = operator.upload_universe(era, support.write(self.path("universe.csv"), support.universe_csv(ids)))
        self.assertEqual((universe["era"], universe["count"]), (era, len(ids)))
        self.assertEqual(universe["columns"], {"numbers": ["carbon"], "codes": ["country", "sector"], "mixed": [], "tags": ["tags"]})

        # authors: models, stakes, live ids, predictions
        # Open now; get_current_era() is the open era closing first, which tests/test_events.py checks.
        self.assertIn(era, [e["number"] for e in alice.get_eras() if e["status"] == "open"])
        model_a = alice.create_model(support.unique_name("alice"))
        model_b = bob.create_model(support.unique_name("bob"))
        self.assertEqual(alice.get_models(), {model_a["name"]: model_a["id"]})

        self.assertEqual(Decimal(alice.stake_set(model_a["name"], "250.5")["amount"]), Decimal("250.5"))
        self.assertEqual(Decimal(alice.stake_increase(model_a["name"], "9.75")["amount"]), Decimal("260.25"))
        self.assertEqual(Decimal(alice.stake_decrease(model_a["id"], Decimal("0.25"))["amount"]), Decimal("260"))
        self.assertEqual(Decimal(alice.stake_get(model_a["name"])["amount"]), Decimal("260"))
        bob.stake_set(model_b["name"], 40)

        live = alice.download_live_ids(era=era, dest_path=self.path("live.csv"))
        self.assertEqual(sorted(live), sorted(ids))
        with open(self.path("live.csv"), newline="") as handle:
            self.assertEqual([row[0] for row in csv.reader(handle)], ["id", *live])

        preds_a = support.random_predictions(live, seed=era)
        csv_path = support.write(self.path("a.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in preds_a.items()))
        receipt_a = alice.upload_predictions(csv_path, model_id=model_a["name"], era=era)
        self.assertEqual((receipt_a["era"], receipt_a["modelId"], receipt_a["rows"], receipt_a["late"]), (era, model_a["id"], len(ids), False))
        self.assertEqual(receipt_a["sha256"], support.expected_digest(preds_a))
        self.assertEqual(submission_sha256(preds_a), receipt_a["sha256"])
        # the same content again is the same submission, not a new one
        self.assertEqual(alice.upload_predictions(csv_path, model_id=model_a["id"], era=era)["id"], receipt_a["id"])
        self.assertEqual(len(alice.get_submissions(model_a["name"])), 1)

        preds_b = support.random_predictions(live, seed=era + 1000)
        receipt_b = bob.upload_predictions(predictions=preds_b, model_id=model_b["name"], era=era)
        self.assertEqual(receipt_b["sha256"], support.expected_digest(preds_b))

        # operator: close, fetch the meta-model both ways
        closed = operator.close_era(era)
        self.assertEqual(closed["status"], "closed")
        self.assertEqual(Decimal(closed["run"]["totalStake"]), Decimal("300"))
        meta_csv = operator.download_meta_model(era, dest_path=self.path("meta.csv"))
        with open(meta_csv, newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.assertEqual(sorted(r["id"] for r in rows), sorted(ids))
        meta = operator.download_meta_model(era)
        self.assertEqual({r["id"]: float(r["value"]) for r in meta["rows"]}, {r["id"]: float(r["value"]) for r in rows})

        # operator: a target scores both models
        targets = support.random_targets(ids, seed=era + 7)
        uploaded = operator.upload_targets(era, target="target", values=targets)
        self.assertEqual(uploaded["count"], len(ids))
        scores = {s["modelId"]: s for s in operator.era_scores(era)["scores"]}
        for model, preds in ((model_a, preds_a), (model_b, preds_b)):
            self.assertAlmostEqual(scores[model["id"]]["corr"], support.numerai_corr(preds, targets), delta=1e-9)

        # author: their own scores
        mine = alice.model_scores(model_a["name"])["scores"]
        self.assertEqual([(s["era"], s["target"]) for s in mine], [(era, "target")])
        self.assertAlmostEqual(mine[0]["corr"], support.numerai_corr(preds_a, targets), delta=1e-9)

        # operator: resolve; the payout lands on the stake exactly once
        resolved = operator.resolve_era(era)
        self.assertEqual(resolved["status"], "resolved")
        self.assertEqual(operator.resolve_era(era)["totalPayout"], resolved["totalPayout"])
        payout_a = Decimal(scores[model_a["id"]]["payout"])
        payout_b = Decimal(scores[model_b["id"]]["payout"])
        self.assertEqual(Decimal(resolved["totalPayout"]), payout_a + payout_b)
        self.assertEqual(Decimal(alice.stake_get(model_a["name"])["amount"]), Decimal("260") + payout_a)
        # clip(pf·(0.5·CORR + 2·MMC), ±0.05) × stake, with pf = 100 / 300
        pf = 100 / 300
        expected = 260 * max(-0.05, min(0.05, pf * (0.5 * scores[model_a["id"]]["corr"] + 2 * scores[model_a["id"]]["mmc"])))
        self.assertAlmostEqual(float(payout_a), expected, delta=1e-9)

    @unittest.skipUnless(support.have_pandas(), "pandas is not installed")
    def test_dataframes_in_and_out(self) -> None:
        import pandas as pd

        era = support.open_era(self.operator)
        model = self.alice.create_model(support.unique_name("frame"))
        ids = self.alice.download_live_ids(era)
        rng = random.Random(era)
        # values needing all 17 significant digits must arrive bit for bit
        values = [rng.random() for _ in ids]
        receipt = self.alice.upload_predictions(df=pd.DataFrame({"id": ids, "prediction": values}), model_id=model["name"], era=era)
        self.assertEqual(receipt["sha256"], support.expected_digest(dict(zip(ids, values))))
        # an index named id, as numerai's parquet files have it, works too
        shuffled = [v * 0.5 for v in values]
        indexed = pd.DataFrame({"prediction": shuffled}, index=pd.Index(ids, name="id"))
        again = self.alice.upload_predictions(df=indexed, model_id=model["id"], era=era)
        self.assertEqual(again["sha256"], support.expected_digest(dict(zip(ids, shuffled))))

        self.operator.close_era(era)
        frame = self.operator.download_meta_model(era, as_frame=True)
        self.assertEqual(sorted(frame.index), sorted(ids))
        targets = support.random_targets(ids, seed=3)
        self.operator.upload_targets(era, target="target", df=pd.DataFrame({"id": list(targets), "target": list(targets.values())}))
        scores = self.alice.model_scores(model["name"], as_frame=True)
        self.assertAlmostEqual(float(scores["corr"].iloc[0]), support.numerai_corr(dict(zip(ids, shuffled)), targets), delta=1e-9)


class ClientConfigurationTest(unittest.TestCase):
    def test_url_and_key_come_from_the_environment(self) -> None:
        admin = support.admin()
        old = {k: os.environ.get(k) for k in ("STAKEWEIGHT_URL", "STAKEWEIGHT_KEY")}
        os.environ["STAKEWEIGHT_URL"] = support.server().url
        os.environ["STAKEWEIGHT_KEY"] = admin.key or ""
        try:
            self.assertEqual(StakeweightAPI().get_me()["role"], "admin")
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


if __name__ == "__main__":
    unittest.main()
