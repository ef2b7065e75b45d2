"""Stakeweight's Python client: ``StakeweightAPI`` and the ``python -m stakeweight`` command line.

>>> from stakeweight import StakeweightAPI
>>> api = StakeweightAPI()            # $STAKEWEIGHT_URL, $STAKEWEIGHT_KEY
>>> api.upload_predictions("predictions.csv", model_id="my_model")
"""

__version__ = "0.1.0"

from .api import DEFAULT_URL, StakeweightAPI, check_bundle  # noqa: E402
from .errors import (  # noqa: E402
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HistoryRewrittenError,
    InputError,
    InsufficientFundsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    StakeweightError,
    TransportError,
    UnsupportedMediaTypeError,
    VerificationError,
)
from .events import verify_webhook  # noqa: E402
from .tabular import submission_sha256  # noqa: E402
from .transport import RetryPolicy  # noqa: E402

__all__ = [
    "__version__",
    "DEFAULT_URL",
    "StakeweightAPI",
    "RetryPolicy",
    "check_bundle",
    "submission_sha256",
    "verify_webhook",
    "StakeweightError",
    "InputError",
    "TransportError",
    "VerificationError",
    "HistoryRewrittenError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "InsufficientFundsError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "RateLimitedError",
    "ServerError",
]
