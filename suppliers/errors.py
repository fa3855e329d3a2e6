"""What a supplier client raises. Business outcomes are not here: they are `Rejected` results.

SupplierError                 base; `supplier` names the API ("airline", "payment", …)
├── SupplierUnavailable       transient: timeout, connection error, 5xx, 429 — retry, after
│                             `retry_after` seconds when the supplier said so; `outcome_unknown`
│                             when the request may have reached the supplier and been carried out
└── SupplierProtocolError     permanent and unexpected: a 4xx the call does not treat as a business
                              outcome (a bug on one side, e.g. validation_error or a reused
                              Idempotency-Key) or a body that cannot be read — do not retry
"""

from __future__ import annotations


class SupplierError(Exception):
    """Base of every supplier client error."""

    def __init__(
        self, supplier: str, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(f"{supplier}: {message}")
        self.supplier = supplier
        self.status = status
        self.code = code


class SupplierUnavailable(SupplierError):
    """Worth retrying. `retry_after` is in seconds when the supplier sent Retry-After, else None.

    `outcome_unknown` is True when no answer came after the request may have been sent (a read or
    write timeout, a dropped connection): the supplier may have done it. False when it answered, or
    when the request provably never left (connection refused, DNS, connect timeout, no pooled slot).
    """

    def __init__(
        self,
        supplier: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(supplier, message, status=status, code=code)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class SupplierProtocolError(SupplierError):
    """Not worth retrying: the request or the answer is wrong, not the moment."""
