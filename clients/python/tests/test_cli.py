"""The command line, as a shell script would use it, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from typing import Any

import support

from stakeweight.cli import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_USAGE


class CommandLineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.operator = support.account("operator")
        cls.author = support.account("author")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def run_ok(self, *args: str) -> Any:
        done = support.run_cli(args, key=self.author.key)
        self.assertEqual(done.returncode, EXIT_OK, f"{args}: {done.stderr}")
        return done

    def test_an_author_round_from_the_shell(self) -> None:
        era = support.open_era(self.operator)
        name = support.unique_name("shell")

        created = support.cli_json(self.run_ok("create-model", name))
        self.assertEqual(created["name"], name)  # type: ignore[index]
        self.assertEqual(support.cli_json(self.run_ok("models")), {name: created["id"]})  # type: ignore[index]
        self.assertEqual(self.run_ok("current-era").stdout.strip(), str(era))

        self.assertEqual(Decimal(support.cli_json(self.run_ok("stake", "set", "100.125", "--model", name))["amount"]), Decimal("100.125"))  # type: ignore[index]
        self.run_ok("stake", "increase", "0.875", "-m", name)
        self.assertEqual(Decimal(support.cli_json(self.run_ok("stake", "get", "--model", name))["amount"]), Decimal("101"))  # type: ignore[index]

        ids_path = os.path.join(self.tmp.name, "ids.csv")
        self.run_ok("live-ids", "--output", ids_path)
        with open(ids_path) as handle:
            ids = handle.read().split()[1:]
        self.assertEqual(sorted(ids), sorted(support.universe_ids(era)))

        preds = support.random_predictions(ids, seed=11)
        path = support.write(os.path.join(self.tmp.name, "predictions.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in preds.items()))
        receipt = support.cli_json(self.run_ok("upload", path, "--model", name))
        self.assertEqual(receipt["sha256"], support.expected_digest(preds))  # type: ignore[index]
        self.assertFalse(receipt["late"])  # type: ignore[index]

        self.operator.close_era(era)
        targets = support.random_targets(ids, seed=12)
        self.operator.upload_targets(era, target="target", values=targets)
        scores = support.cli_json(self.run_ok("scores", "--model", name))["scores"]  # type: ignore[index]
        self.assertEqual(len(scores), 1)
        self.assertAlmostEqual(scores[0]["corr"], support.numerai_corr(preds, targets), delta=1e-9)

        # --era and --target filter the rows, alone or together (a second target and a second era to filter out)
        self.operator.upload_targets(era, target="cyrus", values=support.random_targets(ids, seed=13))
        second = support.open_era(self.operator)
        second_ids = support.universe_ids(second)
        second_path = support.write(
            os.path.join(self.tmp.name, "second.csv"), "id,prediction\n" + "".join(f"{i},{v!r}\n" for i, v in support.random_predictions(second_ids, seed=14).items())
        )
        self.run_ok("upload", second_path, "--model", name, "--era", str(second))
        self.operator.close_era(second)
        self.operator.upload_targets(second, target="target", values=support.random_targets(second_ids, seed=15))
        rows = lambda *flags: [(r["era"], r["target"]) for r in support.cli_json(self.run_ok("scores", "--model", name, *flags))["scores"]]  # type: ignore[index]  # noqa: E731
        self.assertEqual(sorted(rows()), sorted([(era, "target"), (era, "cyrus"), (second, "target")]))
        self.assertEqual(rows("--era", str(era), "--target", "target"), [(era, "target")])
        self.assertEqual(sorted(rows("--era", str(era))), sorted([(era, "target"), (era, "cyrus")]))
        self.assertEqual(sorted(rows("--target", "target")), sorted([(era, "target"), (second, "target")]))
        history = support.cli_json(self.run_ok("scores", "--model", name, "--era", str(era), "--target", "target"))["history"]  # type: ignore[index]
        self.assertEqual(len(history), 1)

    def test_output_into_a_closed_pipe_ends_quietly(self) -> None:
        # `python -m stakeweight … | head`, where head has already gone: the pipe's reading end
        # is closed before the command starts, so its first write finds no reader.
        env = {k: v for k, v in os.environ.items() if k not in ("STAKEWEIGHT_URL", "STAKEWEIGHT_KEY")}
        env.update(STAKEWEIGHT_URL=support.server().url, STAKEWEIGHT_KEY=self.author.key)
        era = support.open_era(self.operator)
        read_fd, write_fd = os.pipe()
        os.close(read_fd)
        cli = subprocess.Popen([sys.executable, "-m", "stakeweight", "live-ids", "--era", str(era)], stdout=write_fd, stderr=subprocess.PIPE, env=env)
        os.close(write_fd)
        _, stderr = cli.communicate(timeout=120)
        self.assertNotIn(b"Traceback", stderr)
        self.assertNotIn(b"BrokenPipeError", stderr)
        self.assertEqual(cli.returncode, EXIT_BROKEN_PIPE, stderr)

    def test_usage_errors_exit_2(self) -> None:
        done = support.run_cli(["upload"], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_USAGE)
        self.assertIn("--model", done.stderr)
        done = support.run_cli(["stake", "set", "--model", "x"], key=self.author.key)
        self.assertEqual(done.returncode, EXIT_USAGE)
        self.assertIn("AMOUNT", done.stderr)


if __name__ == "__main__":
    unittest.main()
