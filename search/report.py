"""python -m search.report: one self-contained HTML page that explains a study.

Writes <results>/<study>/report.html (beside the storage, search/store/_paths.py): a header (study,
storage, trials by state, epochs saved by pruning, best configuration), validation accuracy by strategy with the
thesis's recipes marked, Optuna's plots (optimisation history, intermediate values,
parameter importance, parallel coordinates, slices, timeline) and, once
search.final has run, the final result beside the thesis's figures.  plotly's
JavaScript is embedded: the file opens offline.

    python -m search.report                    # the study fmnist-snn
    python -m search.report --study best       # the study with the best trial
"""

from __future__ import annotations

import argparse
from pathlib import Path

from search import inspection, store, tuning
from search.cli import add_storage_flags, make_parser, quiet_optuna
from search.errors import command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.report", __doc__)
    add_storage_flags(parser, best=True, results=True)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write (default <results>/<study>/report.html, beside the storage)",
    )
    return parser.parse_args(argv)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    quiet_optuna(errors_only=True)
    storage = store.open_storage(args.storage, create=False)
    study, why = tuning.pick_study(storage, args.study, args.storage)
    if why:
        print(why)
    folder = store.study_dir(store.results_root(args.storage, args.results_dir), study.study_name)
    out = args.out or folder / "report.html"
    store.check_file_writable(out, "the report")
    page, sections = inspection.build_report(study, args.storage, folder)
    store.write_text(out, page)
    drawn = sum(len(s.figures) for s in sections)
    missing = [s.title for s in sections if s.unavailable]
    print(
        f"wrote {out}: study {study.study_name!r}, {drawn} figures"
        + (f"; not available yet: {'; '.join(missing)}" if missing else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
