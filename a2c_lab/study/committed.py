"""What results/study/ already holds, read back so that a report written where some parts' run
folders are absent (part 1's are not kept) loses none of them: each comparison's committed
``runs.csv`` (its per-run values, from which its rows are recomputed), the committed
``variants.csv`` (the columns no resample touches) and the top-level tables, merged by part with
the rows of the run folders that are here.

Top-level tables are merged as text: the committed rows are written back character for
character, the new ones as pandas writes them, and columns are the union (committed ones first).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from a2c_lab.study.comparisons import Comparison
from a2c_lab.study.tables import NOT_RESAMPLED


def read_text(path: Path) -> pd.DataFrame | None:
    """A CSV as text cells (empty cells as ''), or None if there is none."""
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else None


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s cells as ``to_csv`` writes them."""
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)), dtype=str, keep_default_na=False)


def merge_by_part(committed: pd.DataFrame | None, fresh: pd.DataFrame, key: str = "part") -> pd.DataFrame:
    """The committed rows of every ``key`` that ``fresh`` has no row of, and all of ``fresh``'s rows,
    ordered by ``key`` (rows of one ``key`` keep their order); as text."""
    fresh = as_text(fresh) if len(fresh.columns) else pd.DataFrame(columns=[key], dtype=str)
    if committed is None or committed.empty:
        return fresh
    kept = committed[~committed[key].isin(set(fresh[key]))]
    columns = [*committed.columns, *[c for c in fresh.columns if c not in committed.columns]]
    merged = pd.concat([kept, fresh], ignore_index=True).reindex(columns=columns).fillna("")
    return merged.sort_values(key, kind="stable", ignore_index=True)


def comparison_runs(out: Path, comparison: Comparison) -> pd.DataFrame | None:
    """The comparison's committed per-run table (``results/study/<key>/runs.csv``), or None."""
    path = out / comparison.key / "runs.csv"
    return pd.read_csv(path) if path.is_file() else None


def not_resampled(variants: pd.DataFrame | None, comparison: Comparison) -> dict[str, dict]:
    """Variant -> its committed ``NOT_RESAMPLED`` columns (from variants.csv), for ``variant_rows``."""
    if variants is None or variants.empty:
        return {}
    rows = variants[variants["comparison"] == comparison.key]
    return {r["variant"]: {k: r[k] for k in NOT_RESAMPLED if k in r} for _, r in rows.iterrows()}
