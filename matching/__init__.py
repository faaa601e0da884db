"""matching: find and merge duplicate customer records the way myKaarma's Customer
Matching Logic does.

The public API, by concept:

- :mod:`matching.model`: customers and vehicles in myKaarma's documented shapes
  (:class:`CustomerRequest`, :class:`Customer`, :class:`Vehicle`, ...), JSON in and out,
  validation with the documented warning codes.
- :mod:`matching.normalize`: names, phones, emails, VINs and addresses.
- :mod:`matching.logic`: the documented Customer Matching Logic (:func:`match_customer`,
  :class:`MatchPolicy`, :class:`Decision`).
- :class:`CustomerStore`: the embedded customer store (create, update, read, search,
  save with ``searchForDuplicate``, merge).
- :func:`dedupe`: batch deduplication of an export -> :class:`DedupeResult`.
- :mod:`matching.evaluate`: accuracy of a clustering against ground truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Imported on first use: `import matching` stays light for the CLI and for ETL code that
# only needs the model or the normalizers.
_LAZY = {
    "CustomerRequest": "matching.model",
    "Customer": "matching.model",
    "Vehicle": "matching.model",
    "ValidationIssue": "matching.model",
    "MatchPolicy": "matching.logic",
    "Decision": "matching.logic",
    "match_customer": "matching.logic",
    "CustomerStore": "matching.store",
    "dedupe": "matching.pipeline.dedupe",
    "write_run": "matching.pipeline.dedupe",
    "DedupeResult": "matching.pipeline.result",
}
# `matching.evaluate` is the module (``matching.evaluate.evaluate(truth, clusters)``).

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'matching' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    # "import X as X": explicit re-exports for type checkers (the names resolve lazily above).
    from matching.logic import Decision as Decision
    from matching.logic import MatchPolicy as MatchPolicy
    from matching.logic import match_customer as match_customer
    from matching.model import Customer as Customer
    from matching.model import CustomerRequest as CustomerRequest
    from matching.model import ValidationIssue as ValidationIssue
    from matching.model import Vehicle as Vehicle
    from matching.pipeline.dedupe import dedupe as dedupe
    from matching.pipeline.dedupe import write_run as write_run
    from matching.pipeline.result import DedupeResult as DedupeResult
    from matching.store import CustomerStore as CustomerStore
