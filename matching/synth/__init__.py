"""Synthetic dealer-customer exports with ground truth, for measuring matchers.

>>> from matching.synth import generate, write
>>> data = generate(2_000, seed=7)
>>> sorted(data.truth.columns)
['entity_id', 'record_id']

``generate(records, seed, config)`` returns a :class:`SyntheticData` with three tables
(``customers``, ``truth``, ``tags``); ``write(data, out_dir)`` saves them as
``customers.csv``, ``truth.csv`` and ``pairs_tags.csv``. Rates live in
:class:`GeneratorConfig`. The same seed always gives the same bytes.

Modules: :mod:`~matching.synth.world` (who exists and what they hold when),
:mod:`~matching.synth.export` (records typed in with noise), :mod:`~matching.synth.tags`
(hard-negative pairs), :mod:`~matching.synth.vins` (VINs with valid check digits),
:mod:`~matching.synth.noise` (typos, formats), :mod:`~matching.synth.vocab` (the tables).
"""

from matching.synth.config import GeneratorConfig
from matching.synth.generator import (
    CUSTOMER_COLUMNS,
    MAX_PARTNERS,
    TAG_COLUMNS,
    TAG_KINDS,
    TRUTH_COLUMNS,
    SyntheticData,
    generate,
    main,
    summarize,
    write,
)

__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_PARTNERS",
    "TAG_COLUMNS",
    "TAG_KINDS",
    "TRUTH_COLUMNS",
    "GeneratorConfig",
    "SyntheticData",
    "generate",
    "main",
    "summarize",
    "write",
]
