"""One rule for which columns can be features, whatever describes their type."""

import numpy as np
import pandas as pd
import pytest

from gaussmix.engine.data.columns import can_be_feature, column_kind, is_feature_by_default

pa = pytest.importorskip("pyarrow")

# (NumPy dtype, can be a feature, is one by default): booleans only when named.
NUMPY_CASES = [
    ("float64", True, True),
    ("float32", True, True),
    ("float16", True, True),
    ("int8", True, True),
    ("int64", True, True),
    ("uint8", True, True),
    ("uint64", True, True),
    ("bool", True, False),
    ("complex128", False, False),
    ("datetime64[ns]", False, False),
    ("timedelta64[ns]", False, False),
    ("U3", False, False),
    ("object", False, False),
]


@pytest.mark.parametrize(("dtype", "feature", "default"), NUMPY_CASES)
def test_numpy_dtypes(dtype, feature, default):
    assert can_be_feature(np.dtype(dtype)) is feature
    assert is_feature_by_default(np.dtype(dtype)) is default


@pytest.mark.parametrize(("dtype", "feature", "default"), NUMPY_CASES)
def test_a_pandas_column_follows_the_rule_of_its_numpy_dtype(dtype, feature, default):
    column = pd.Series(np.zeros(3).astype(dtype))
    assert can_be_feature(column.dtype) is feature
    assert is_feature_by_default(column.dtype) is default


@pytest.mark.parametrize(
    ("dtype", "feature", "default"),
    [
        (pd.Int64Dtype(), True, True),
        (pd.UInt8Dtype(), True, True),
        (pd.Float32Dtype(), True, True),
        (pd.BooleanDtype(), True, False),
        (pd.CategoricalDtype(["a", "b"]), False, False),
        (pd.StringDtype(), False, False),
        (pd.DatetimeTZDtype(tz="UTC"), False, False),
    ],
)
def test_pandas_extension_dtypes(dtype, feature, default):
    assert can_be_feature(dtype) is feature
    assert is_feature_by_default(dtype) is default


ARROW_TYPES = [
    pa.bool_(),
    pa.int8(),
    pa.int32(),
    pa.int64(),
    pa.uint16(),
    pa.uint64(),
    pa.float16(),
    pa.float32(),
    pa.float64(),
    pa.string(),
    pa.large_string(),
    pa.binary(),
    pa.timestamp("ns"),
    pa.date32(),
    pa.decimal128(10, 2),
    pa.list_(pa.float64()),
]


@pytest.mark.parametrize("arrow_type", ARROW_TYPES, ids=str)
def test_an_arrow_type_follows_the_rule_of_the_numpy_dtype_pyarrow_maps_it_to(arrow_type):
    """The reference is PyArrow's own mapping, i.e. what the in-memory reader decodes."""
    reference = np.dtype(arrow_type.to_pandas_dtype())
    assert can_be_feature(arrow_type) is can_be_feature(reference)
    assert is_feature_by_default(arrow_type) is is_feature_by_default(reference)


def test_arrow_kinds_are_numpy_kinds():
    assert [column_kind(t) for t in ARROW_TYPES[:9]] == [
        np.dtype(t.to_pandas_dtype()).kind for t in ARROW_TYPES[:9]
    ]


def test_dictionary_encoded_text_is_not_a_feature():
    """Read whole, pandas decodes it as a categorical column: not a feature either way."""
    arrow_type = pa.dictionary(pa.int8(), pa.string())
    decoded = pa.table({"c": pa.array(["a", "b"]).dictionary_encode()}).to_pandas()["c"].dtype
    assert not can_be_feature(arrow_type) and not can_be_feature(decoded)
