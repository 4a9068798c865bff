"""Public surface of ``search.cli``, loaded lazily (see ``__init__.py``)."""

from ._config_flags import add_config_flags, config_from_flags
from ._parser import (
    add_compile_flag,
    add_runtime_flags,
    add_storage_flags,
    first_rung_help,
    image_count,
    make_parser,
    positive_float,
    positive_int,
    quiet_optuna,
    seed_number,
    study_name,
)

__all__ = [
    "add_compile_flag",
    "add_config_flags",
    "add_runtime_flags",
    "add_storage_flags",
    "config_from_flags",
    "first_rung_help",
    "image_count",
    "make_parser",
    "positive_float",
    "positive_int",
    "quiet_optuna",
    "seed_number",
    "study_name",
]
