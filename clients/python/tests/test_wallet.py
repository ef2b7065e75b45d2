"""Wallets: stakes are paid from them, staff credit them, authors withdraw from them."""

from __future__ import annotations

import unittest
from decimal import Decimal

import support

from stakeweight import ConflictError, InsufficientFundsError, PermissionDeniedError


class WalletTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.operator = support.account("operator")
        cls.author = support.account("author", funds=None)
        cls.author_id = cls.author.get_me()["id"]

    def test_a_stake_needs_money_in_the_wallet(self) -> None:
        model = self.author.create_model(support.unique_name("wallet"))
        with self.assertRaises(InsufficientFundsError) as caught:
            self.author.stake_set(model["name"], "999999")
        error = caught.exception
        self.assertIsInstance(error, ConflictError)
        self.assertEqual(error.status, 409)
        self.assertEqual(error.available, Decimal("0"))
        self.assertEqual(error.problem["available"], "0")
        self.assertIn("wallet holds 0 available", str(error))

        credited = self.operator.credit_wallet(self.author_id, "40.5", "wire 1")
        self.assertEqual(Decimal(credited["available"]), Decimal("40.5"))
        self.author.stake_set(model["name"], "40")
        wallet = self.author.wallet()
        self.assertEqual(Decimal(wallet["balance"]), Decimal("0.5"))
        self.assertEqual(wallet["entries"][-1]["kind"], "stake")
        self.assertEqual(self.operator.wallet(self.author_id), wallet)
        with self.assertRaises(InsufficientFundsError) as short:
            self.author.stake_increase(model["name"], "1")
        self.assertEqual(short.exception.available, Decimal("0.5"))

    def test_withdrawals_are_held_then_completed_or_rejected(self) -> None:
        self.operator.credit_wallet(self.author_id, "100", "wire 2")
        available = Decimal(self.author.wallet()["available"])
        with self.assertRaises(InsufficientFundsError):
            self.author.withdraw(available + Decimal("0.01"))
        first = self.author.withdraw("30")
        second = self.author.withdraw(Decimal("20"))
        self.assertEqual(first["status"], "pending")
        wallet = self.author.wallet()
        self.assertEqual(Decimal(wallet["held"]), Decimal("50"))
        self.assertEqual(Decimal(wallet["available"]), available - 50)
        with self.assertRaises(PermissionDeniedError):
            self.author.complete_withdrawal(first["id"], "me")
        self.assertIn(first["id"], [w["id"] for w in self.operator.withdrawals()])
        self.assertEqual(self.operator.complete_withdrawal(first["id"], "paid out")["status"], "completed")
        self.assertEqual(self.operator.reject_withdrawal(second["id"], "not now")["status"], "rejected")
        wallet = self.author.wallet()
        self.assertEqual(Decimal(wallet["held"]), Decimal("0"))
        self.assertEqual(Decimal(wallet["available"]), available - 30)


if __name__ == "__main__":
    unittest.main()
