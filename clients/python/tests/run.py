"""Runs the client's test modules (all by default, or those named) and ends with one line
``python: N passed, N failed, N skipped``; exits non-zero when any failed.

    python tests/run.py                       # every test_*.py here
    python tests/run.py test_round test_retry
"""

from __future__ import annotations

import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv: list) -> int:
    sys.path.insert(0, HERE)
    names = [n[:-3] if n.endswith(".py") else n for n in argv] or sorted(
        os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "test_*.py"))
    )
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped - len(result.expectedFailures)
    print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
