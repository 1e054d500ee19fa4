"""Issue 11: the fast path for large files guards memory for Parquet before decoding.

A run-length-encoded Parquet file of a few KB can hold millions of rows; the
columnar path must estimate from the decoded size in the metadata and refuse with
the general loader's one-line message, as the general loader does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_cli
from corpus import FAST

N_ROWS = 1_000_000


@pytest.fixture
def compressible(tmp_path):
    path = tmp_path / "many.parquet"
    table = pa.table(
        {"Income": np.zeros(N_ROWS, dtype=np.float64), "Spend": np.ones(N_ROWS, dtype=np.float64)}
    )
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 64 * 1024  # tiny on disk, 16 MB decoded
    return path


def _message(path, need: str) -> str:
    from custseg.data.loading import human_size

    return (
        f"file '{path}' ({human_size(path.stat().st_size)}) needs about {need} of memory to load, more "
        "than the 10.0 MB available; save a random sample of its rows (or only the columns "
        "you need) as a smaller file and segment that (--sample samples only after loading, "
        "so it does not help here), or use a machine with more memory"
    )


def test_fast_path_refuses_a_parquet_file_too_large_once_decoded(compressible, monkeypatch):
    from custseg.config import SegmentationConfig
    from custseg.data.fast import prepare_large_file
    from custseg.errors import DataError

    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", "10M")
    with pytest.raises(DataError) as info:
        prepare_large_file(compressible, SegmentationConfig(), min_bytes=0)
    # 1M rows x 2 columns x 8 bytes decoded, x2.5 for the matrix and its copies
    assert str(info.value) == _message(compressible, "38.1 MB")


def test_segment_refuses_it_in_one_line_and_writes_nothing(compressible, monkeypatch):
    import custseg.data.fast as fast

    monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", "10M")
    out = compressible.parent / "out"
    code, _, err = run_cli("segment", str(compressible), "--out", str(out), *FAST)
    assert code == 1
    assert err.strip() == f"Error: {_message(compressible, '38.1 MB')}"
    assert not out.exists()


def test_fast_path_reads_it_when_memory_allows(compressible, monkeypatch):
    from custseg.config import SegmentationConfig
    from custseg.data.fast import parquet_memory, prepare_large_file

    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", "1G")
    assert parquet_memory(compressible, ["Income"]) == N_ROWS * 8 * 5 // 2
    # Read and then handed to the general path: both features are constant.
    assert prepare_large_file(compressible, SegmentationConfig(), min_bytes=0) is None
