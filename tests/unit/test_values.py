"""Value checks and flattening (values.py): what ``log`` accepts, how it is stored, what it refuses."""

from __future__ import annotations

import enum
import math
import sys

import numpy as np
import pytest

from jupyter_tracker import values
from jupyter_tracker.values import MediaValue, fast_copy, flatten, normalise, normalise_mapping, normalise_row
from tests.extras import FRAMEWORKS, import_or_skip


class Colour(enum.IntEnum):
    RED = 1


class FakeImage(MediaValue):
    media_kind = "image"

    def encode(self, run_dir):  # pragma: no cover - not reached in these tests
        return {"_type": "fake"}


# flattening -----------------------------------------------------------------------------------
def test_flatten_nested_dicts_to_dotted_names():
    assert flatten({"a": 1, "b": {"c": "hello", "d": [1, 2, 3]}}) == {"a": 1, "b.c": "hello", "b.d": [1, 2, 3]}


def test_flatten_without_a_bound_goes_all_the_way_down():
    assert flatten({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}) == {"a.b.c.d.e.f": 1}


@pytest.mark.parametrize(
    ("max_dots", "expected"),
    [
        (0, {"a": {"b": {"c": {"d": {"e": 1}}}}}),
        (1, {"a.b": {"c": {"d": {"e": 1}}}}),
        (3, {"a.b.c.d": {"e": 1}}),
        (4, {"a.b.c.d.e": 1}),
    ],
)
def test_flatten_depth_bound_keeps_the_rest_nested(max_dots, expected):
    assert flatten({"a": {"b": {"c": {"d": {"e": 1}}}}}, max_dots=max_dots) == expected


def test_config_keeps_three_dots_and_summary_four():
    nested = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    assert normalise_mapping(nested, 3, "config") == {"a.b.c.d": {"e": {"f": 1}}}
    assert normalise_mapping(nested, 4, "summary") == {"a.b.c.d.e": {"f": 1}}


def test_flatten_keeps_an_empty_dict_as_a_value():
    assert flatten({"a": {}, "b": 1}) == {"a": {}, "b": 1}


def test_a_key_that_already_has_dots_is_kept():
    assert flatten({"train/loss.x": 1.0, "a": {"b.c": 2}}) == {"train/loss.x": 1.0, "a.b.c": 2}


def test_non_string_keys_are_refused_with_the_key_named():
    with pytest.raises(TypeError, match="1"):
        normalise_row({1: 1.0})
    with pytest.raises(TypeError, match=r"outer\.") as info:
        normalise_row({"outer": {2: 1.0}})
    assert "2" in str(info.value)


def test_empty_names_are_refused():
    with pytest.raises(ValueError, match="empty"):
        normalise_row({"": 1.0})
    with pytest.raises(ValueError, match="empty"):
        normalise_row({"a": {"": 1.0}})


# accepted values --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (1, 1),
        (-2**63, -2**63),
        (2.5, 2.5),
        (True, True),
        (None, None),
        ("hello", "hello"),
        ("", ""),
        (np.float32(1.5), 1.5),
        (np.float64(2.5), 2.5),
        (np.int8(-3), -3),
        (np.uint64(7), 7),
        (np.bool_(True), True),
        (np.str_("s"), "s"),
        (Colour.RED, 1),
        ((1, 2.0, "x"), [1, 2.0, "x"]),
        ([1, [2, [3]]], [1, [2, [3]]]),
        ([], []),
        (np.array(3.0), 3.0),
    ],
)
def test_accepted_values_are_stored_as_plain_python(given, stored):
    value, _size = normalise(given, "k")
    assert value == stored
    assert type(value) is type(stored)


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")])
def test_nan_and_infinities_are_kept_as_such(special):
    value, _ = normalise(special, "k")
    assert type(value) is float
    if math.isnan(special):
        assert math.isnan(value)
    else:
        assert value == special


def test_numpy_arrays_are_kept_as_copied_arrays_not_per_element_metrics():
    source = np.arange(12, dtype=np.float32).reshape(3, 4)
    row, sizes, media = normalise_row({"w": source})
    assert list(row) == ["w"]
    assert isinstance(row["w"], np.ndarray)
    assert row["w"].dtype == np.float32 and row["w"].shape == (3, 4)
    source[0, 0] = 99  # the caller may mutate its array after log() returns
    assert row["w"][0, 0] == 0
    assert sizes == {"w": source.nbytes}
    assert media == []


def test_non_contiguous_arrays_are_copied_contiguously():
    source = np.arange(20).reshape(4, 5)[:, ::2]
    value, _ = normalise(source, "k")
    assert value.flags["C_CONTIGUOUS"]
    assert np.array_equal(value, source)


@pytest.mark.parametrize("dtype", [object, "U3", complex, "datetime64[s]"])
def test_arrays_of_unsupported_dtype_are_refused(dtype):
    with pytest.raises(TypeError, match="'arr'"):
        normalise(np.zeros(2, dtype=dtype), "arr")


def test_sizes_count_strings_and_arrays_but_not_plain_numbers():
    row, sizes, _ = normalise_row({"a": 1.0, "s": "x" * 100, "arr": np.zeros(4)})
    assert sizes == {"s": 100, "arr": 32}
    assert row["a"] == 1.0


def test_media_values_are_kept_by_reference_and_reported():
    image = FakeImage()
    row, sizes, media = normalise_row({"img": image, "imgs": [FakeImage(), FakeImage()]})
    assert row["img"] is image
    assert [key for key, _ in media] == ["img", "imgs"]
    assert sizes == {}


# refused values -----------------------------------------------------------------------------------
class Opaque:
    pass


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"x": Opaque()}, "'x'"),
        ({"outer": {"inner": Opaque()}}, "'outer.inner'"),
        ({"xs": [1, Opaque()]}, r"'xs\[1\]'"),
        ({"s": {1, 2}}, "'s'"),
        ({"b": b"bytes"}, "'b'"),
        ({"f": print}, "'f'"),
    ],
)
def test_other_objects_raise_type_error_naming_the_key(data, named):
    with pytest.raises(TypeError, match=named):
        normalise_row(data)


def test_log_requires_a_mapping():
    with pytest.raises(TypeError, match="dict"):
        normalise_row([("a", 1)])  # type: ignore[arg-type]


# the fast path ---------------------------------------------------------------------------------------
def test_fast_copy_takes_flat_plain_dicts_and_returns_a_copy():
    data = {"a": 1.0, "b": 2, "c": True, "d": None}
    copy = fast_copy(data)
    assert copy == data and copy is not data


@pytest.mark.parametrize(
    "data",
    [{"a": "text"}, {"a": {"b": 1}}, {"a": [1]}, {"a": np.float64(1)}, {1: 1.0}, {"a": Colour.RED}, {"": 1.0}],
)
def test_fast_copy_declines_anything_that_needs_checking(data):
    assert fast_copy(data) is None


def test_fast_and_slow_paths_agree():
    data = {"a": 1.0, "b": 2, "c": False, "d": None, "e": math.nan}
    fast = fast_copy(data)
    slow = normalise_row(data)[0]
    assert list(fast) == list(slow)
    assert all(type(fast[key]) is type(slow[key]) for key in fast)


# torch stays optional --------------------------------------------------------------------------------
def test_values_never_import_torch(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    normalise_row({"a": [1, 2], "b": np.zeros(2), "c": "s"})
    assert "torch" not in sys.modules


def test_torch_tensors_when_torch_is_importable():
    torch = import_or_skip("torch", "frameworks", FRAMEWORKS)
    value, _ = normalise(torch.tensor(2.5), "t")
    assert value == 2.5 and type(value) is float
    array, _ = normalise(torch.ones(2, 3), "t")
    assert isinstance(array, np.ndarray) and array.shape == (2, 3)


def test_is_finite_number_excludes_bools_and_non_finite():
    assert values.is_finite_number(1) and values.is_finite_number(1.5)
    assert not values.is_finite_number(True)
    assert not values.is_finite_number(math.nan)
    assert not values.is_finite_number(math.inf)
    assert not values.is_finite_number("1")
