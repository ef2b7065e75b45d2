"""Every error a user meets arrives as an exception carrying the service's problem+json, and
the command line turns it into a message and an exit code."""

from __future__ import annotations

import os
import tempfile
import time
import unittest

import support

from stakeweight import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    StakeweightAPI,
)
from stakeweight.cli import EXIT_AUTH, EXIT_LATE, EXIT_REFUSED, EXIT_USAGE


class ErrorPathsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.operator = support.account("operator")
        cls.author = support.account("author")
        cls.era = support.open_era(cls.operator)
        cls.ids = support.universe_ids(cls.era)
        cls.model = cls.author.create_model(support.unique_name("err"))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def path(self, name: str) -> str:
        return os.path.join(self.tmp.name, name)

    def assertNothingStored(self) -> None:
        self.assertEqual(self.author.get_submissions(self.model["name"]), [])

    # ---------------------------------------------------------------- keys

    def test_a_wrong_key_is_an_authentication_error(self) -> None:
        api = StakeweightAPI(support.server().url, "not-a-key-anyone-was-given")
        with self.assertRaises(AuthenticationError) as caught:
            api.get_models()
        error = caught.exception
        self.assertEqual(error.status, 401)
        self.assertEqual(error.problem["status"], 401)
        self.assertTrue(error.detail)
        self.assertIn(error.detail, str(error))
        self.assertTrue(str(error).startswith("401 "))

        done = support.run_cli(["models"], key="not-a-key-anyone-was-given")
        self.assertEqual(done.returncode, EXIT_AUTH, done.stderr)
        self.assertIn(error.detail, done.stderr)
        self.assertEqual(done.stdout, "")

    def test_no_key_is_an_authentication_error(self) -> None:
        with self.assertRaises(AuthenticationError):
            StakeweightAPI(support.server().url, key="").get_me()

    def test_an_author_calling_an_operator_route_is_refused(self) -> None:
        with self.assertRaises(PermissionDeniedError) as caught:
            self.author.create_era(support.next_era(), "2099-01-01T00:00:00Z")
        self.assertEqual(caught.exception.status, 403)

    def test_another_authors_model_is_refused(self) -> None:
        other = support.account("author")
        with self.assertRaises(APIError) as caught:
            other.upload_predictions(predictions=support.random_predictions(self.ids, 1), model_id=self.model["id"], era=self.era)
        self.assertIn(caught.exception.status, (403, 404))
        self.assertNothingStored()

    # ---------------------------------------------------------------- bad files

    def test_a_bad_file_names_the_wrong_ids_and_lines(self) -> None:
        preds = support.random_predictions(self.ids, 2)
        lines = [f"{i},{v!r}" for i, v in preds.items()]
        lines[4] = f"{self.ids[4]},not-a-number"  # line 6 of the file
        lines.append("nobody_knows_me,0.5")  # line 202
        path = support.write(self.path("bad.csv"), "id,prediction\n" + "\n".join(lines) + "\n")
        with self.assertRaises(BadRequestError) as caught:
            self.author.upload_predictions(path, model_id=self.model["name"], era=self.era)
        error = caught.exception
        self.assertEqual(error.status, 400)
        message = str(error)
        self.assertIn("nobody_knows_me", message)
        self.assertIn("line 6", message)
        self.assertIn("202", message)
        codes = {e.get("code") for e in error.errors}
        self.assertTrue({"unknown_ids", "non_numeric"} <= codes, error.errors)
        unknown = next(e for e in error.errors if e.get("code") == "unknown_ids")
        self.assertEqual(unknown["ids"], ["nobody_knows_me"])
        self.assertNothingStored()

        done = support.run_cli(["upload", path, "--model", self.model["name"], "--era", str(self.era)], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_REFUSED, done.stderr)
        self.assertIn("nobody_knows_me", done.stderr)
        self.assertIn("line 6", done.stderr)
        self.assertNothingStored()

    def test_a_file_missing_ids_says_which(self) -> None:
        preds = support.random_predictions(self.ids[:-3], 3)
        with self.assertRaises(BadRequestError) as caught:
            self.author.upload_predictions(predictions=preds, model_id=self.model["name"], era=self.era)
        for missing in self.ids[-3:]:
            self.assertIn(missing, str(caught.exception))
        self.assertNothingStored()

    def test_a_file_without_a_header_is_refused(self) -> None:
        path = support.write(self.path("noheader.csv"), "".join(f"{i},0.5\n" for i in self.ids))
        with self.assertRaises(BadRequestError) as caught:
            self.author.upload_predictions(path, model_id=self.model["name"], era=self.era)
        self.assertIn("header", str(caught.exception).lower())
        self.assertNothingStored()

    def test_a_missing_file_is_an_input_error_before_anything_is_sent(self) -> None:
        with self.assertRaises(InputError) as caught:
            self.author.upload_predictions(self.path("nope.csv"), model_id=self.model["name"])
        self.assertIn("nope.csv", str(caught.exception))
        done = support.run_cli(["upload", self.path("nope.csv"), "--model", self.model["name"]], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_USAGE, done.stderr)
        self.assertIn("nope.csv", done.stderr)

    def test_an_unknown_model_name_is_an_input_error(self) -> None:
        with self.assertRaises(InputError) as caught:
            self.author.upload_predictions(predictions={"a": 0.5}, model_id="no_such_model_here")
        self.assertIn("no_such_model_here", str(caught.exception))

    def test_a_body_over_the_limit_is_413_and_not_retried(self) -> None:
        rows = "".join(f"{self.ids[k % len(self.ids)]},0.{k:06d}\n" for k in range(support.BODY_LIMIT_BYTES // 15))
        path = support.write(self.path("big.csv"), "id,prediction\n" + rows)
        self.assertGreater(os.path.getsize(path), support.BODY_LIMIT_BYTES)
        with self.assertRaises(PayloadTooLargeError) as caught:
            self.author.upload_predictions(path, model_id=self.model["name"], era=self.era)
        self.assertEqual(caught.exception.status, 413)
        self.assertEqual(caught.exception.attempts, 1)
        self.assertIn("larger", str(caught.exception))
        self.assertNothingStored()

    def test_a_negative_or_malformed_stake_is_refused_before_sending(self) -> None:
        self.author.stake_set(self.model["name"], "5")
        with self.assertRaises(InputError):
            self.author.stake_decrease(self.model["name"], "5.000001")
        with self.assertRaises(InputError):
            self.author.stake_set(self.model["name"], "-1")
        with self.assertRaises(InputError):
            self.author.stake_set(self.model["name"], "lots")
        self.assertEqual(self.author.stake_get(self.model["name"])["amount"], "5")

    def test_an_unknown_era_is_not_found(self) -> None:
        with self.assertRaises(NotFoundError) as caught:
            self.author.get_era(999_999)
        self.assertIn("999999", str(caught.exception))


class ClosedEraTest(unittest.TestCase):
    """What an author and an operator meet around a closed era."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.operator = support.account("operator")
        cls.author = support.account("author")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def test_a_submission_after_close_is_late_and_the_cli_says_so(self) -> None:
        era = support.open_era(self.operator)
        ids = support.universe_ids(era)
        model = self.author.create_model(support.unique_name("late"))
        with self.assertRaises(ConflictError) as caught:
            self.operator.upload_targets(era, target="target", values=support.random_targets(ids, 1))
        self.assertIn("clos", str(caught.exception))
        self.operator.close_era(era)

        receipt = self.author.upload_predictions(predictions=support.random_predictions(ids, 1), model_id=model["name"], era=era)
        self.assertTrue(receipt["late"])

        path = support.write(os.path.join(self.tmp.name, "late.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in support.random_predictions(ids, 2).items()))
        done = support.run_cli(["upload", path, "--model", model["name"], "--era", str(era)], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_LATE, done.stderr)
        self.assertIn("late", done.stderr)
        self.assertTrue(support.cli_json(done)["late"])  # type: ignore[index]

    def test_the_universe_of_a_closed_era_cannot_change(self) -> None:
        era = support.open_era(self.operator)
        model = self.author.create_model(support.unique_name("fixed"))
        self.author.upload_predictions(predictions=support.random_predictions(support.universe_ids(era), 4), model_id=model["name"], era=era)
        self.operator.close_era(era)
        with self.assertRaises(ConflictError) as caught:
            self.operator.upload_universe(era, rows=[{"id": "x"}])
        self.assertEqual(caught.exception.status, 409)
        self.assertTrue(caught.exception.detail)

    def test_resolving_before_the_main_target_is_a_conflict(self) -> None:
        era = support.open_era(self.operator)
        self.operator.close_era(era)
        with self.assertRaises(ConflictError):
            self.operator.resolve_era(era)

    def test_an_era_that_has_not_opened_refuses_submissions(self) -> None:
        era = support.next_era()
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
        self.operator.create_era(era, later, opens_at=soon)
        self.operator.upload_universe(era, rows=[{"id": i} for i in support.universe_ids(era)])
        model = self.author.create_model(support.unique_name("early"))
        with self.assertRaises(ConflictError) as caught:
            self.author.upload_predictions(predictions=support.random_predictions(support.universe_ids(era), 5), model_id=model["name"], era=era)
        self.assertIn("not open yet", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
