"""`save` and `load`: fitted gaussmix models as versioned, validated JSON.

File layout (format version 1)::

    {
      "format": "gaussmix-model",
      "format_version": 1,
      "gaussmix_version": "0.1.0",
      "model": {"class": "GaussianMixture", "init_params": {...}, "fitted": {...}},
      "metadata": {...}                      # optional, free JSON object
    }

An `AnomalyDetector` stores its threshold and its fitted mixture (itself a
``GaussianMixture`` entry) under ``fitted``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks.parameters import validate_parameters
from ..engine.core.noise import NoiseComponent, NoiseRegion
from ..engine.core.params import MixtureParams
from ..engine.covariance.forms import SingularCovarianceError
from ..engine.covariance.models import canonical_name, get_covariance_model
from ..io import read_json, write_json_atomic
from ..version import package_version
from .anomaly import AnomalyDetector
from .gaussian_mixture import GaussianMixture

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save", "load", "read_model_file"]

FORMAT_NAME = "gaussmix-model"
FORMAT_VERSION = 1

#: Sanity limits checked before any array is built.
MAX_COMPONENTS = 10_000
MAX_FEATURES = 10_000
MAX_COVARIANCE_VALUES = 10_000_000
MAX_HISTORY = 1_000_000
#: Longest ``collapse`` text (why EM stopped at a collapse) a model file may hold.
MAX_REASON = 10_000

_OUTPUT_DTYPES = ("float64", "float32")


class _Invalid(ValueError):
    """A problem in one field of a model file (the loader adds the file name)."""


# ---------------------------------------------------------------------------- encoding
def _plain(value):
    """A constructor parameter as JSON: scalars as they are, arrays as nested lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.random.RandomState):
        return None  # the fitted parameters do not depend on it; sample() draws afresh
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        return float(value)
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.asarray(value, dtype=np.float64).tolist()
    raise TypeError(
        f"cannot save a parameter of type {type(value).__name__}; set it to a number, string "
        "or array before saving."
    )


def _check_fitted(model) -> None:
    if not hasattr(model, "converged_") and not hasattr(model, "threshold_"):
        raise ValueError(f"This {type(model).__name__} is not fitted; call fit before saving it.")


def _encode_gaussian_mixture(model: GaussianMixture) -> dict:
    _check_fitted(model)
    params = model._params
    n_components, n_features = params.means.shape
    feature_names = getattr(model, "feature_names_in_", None)
    init_params = model.get_params(deep=False)
    if not isinstance(init_params.get("noise", False), (bool, np.bool_)):
        init_params["noise"] = True  # a training-row mask only started the fit
    return {
        "class": "GaussianMixture",
        "init_params": {k: _plain(v) for k, v in init_params.items()},
        "fitted": {
            "covariance_model": model._model.name,
            "n_components": n_components,
            "n_features": n_features,
            "weights": params.weights.tolist(),
            "means": params.means.tolist(),
            "covariances": params.covariance.covariances.tolist(),
            "precisions_cholesky": params.covariance.precisions_cholesky.tolist(),
            "converged": bool(model.converged_),
            "collapse": model.collapse_reason_,
            "n_iter": int(model.n_iter_),
            "lower_bounds": [float(v) for v in model.lower_bounds_],
            "output_dtype": np.dtype(model._output_dtype).name,
            "feature_names": None if feature_names is None else [str(f) for f in feature_names],
            "n_steps": int(getattr(model, "n_steps_", 0)),
            "n_missing_values": int(getattr(model, "n_missing_values_", 0)),
            "noise": _encode_noise(params.noise),
        },
    }


def _encode_noise(noise) -> dict | None:
    """The optional ``noise`` field: weight and region of a noise component, or null."""
    if noise is None:
        return None
    return {
        "weight": float(noise.weight),
        "centre": noise.region.centre.tolist(),
        "axes": noise.region.axes.tolist(),
        "half_widths": noise.region.half_widths.tolist(),
    }


def _decode_noise(value, d: int) -> NoiseComponent | None:
    """A validated `NoiseComponent` from the optional ``noise`` field (absent in old files)."""
    if value is None:
        return None
    weight = _finite_number(_field(value, "weight", "noise"), "noise weight")
    if not 0.0 <= weight < 1.0:
        raise _Invalid(f"noise weight must be in [0, 1), got {weight:.6g}")
    centre = _array(_field(value, "centre", "noise"), (d,), "noise centre")
    axes = _array(_field(value, "axes", "noise"), (d, d), "noise axes")
    half_widths = _array(_field(value, "half_widths", "noise"), (d,), "noise half_widths")
    if not np.allclose(axes.T @ axes, np.eye(d), atol=1e-8):
        raise _Invalid("noise axes must be orthonormal columns")
    if np.any(half_widths <= 0) or not np.isfinite(np.sum(np.log(2 * half_widths))):
        raise _Invalid("noise half_widths must be positive")
    return NoiseComponent(weight, NoiseRegion(centre, axes, half_widths))


def _encode_anomaly_detector(detector: AnomalyDetector) -> dict:
    _check_fitted(detector)
    if type(detector.mixture_) is not GaussianMixture:
        raise TypeError(
            "gaussmix.save stores anomaly detectors built on gaussmix.GaussianMixture only; "
            f"this one uses {type(detector.mixture_).__name__}."
        )
    init_params = detector.get_params(deep=False)
    template = init_params.pop("mixture")
    encoded = {k: _plain(v) for k, v in init_params.items()}
    encoded["mixture"] = (
        None
        if template is None
        else {k: _plain(v) for k, v in template.get_params(deep=False).items()}
    )
    return {
        "class": "AnomalyDetector",
        "init_params": encoded,
        "fitted": {
            "threshold": float(detector.threshold_),
            "mixture": _encode_gaussian_mixture(detector.mixture_),
        },
    }


_ENCODERS = {GaussianMixture: _encode_gaussian_mixture, AnomalyDetector: _encode_anomaly_detector}


def save(model, path, *, metadata=None) -> None:
    """Save a fitted model as a JSON file (gaussmix never writes pickle files), atomically.

    Parameters
    ----------
    model : GaussianMixture or AnomalyDetector
        A fitted model.
    path : str or path-like
        Destination file (conventionally ``*.json``); its folder must exist. An existing
        file is replaced only once the new one is completely written.
    metadata : dict, default=None
        Extra JSON-serialisable information stored beside the model (for example how
        the data were preprocessed); `read_model_file` returns it.

    Raises
    ------
    TypeError
        If the model is of a class gaussmix cannot save.
    ValueError
        If the model is not fitted or the folder does not exist.

    Examples
    --------
    >>> import numpy as np, tempfile, os, gaussmix
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> gaussmix.save(model, path)
    >>> bool((gaussmix.load(path).predict(X) == model.predict(X)).all())
    True
    """
    encoder = _ENCODERS.get(type(model))
    if encoder is None:
        raise TypeError(
            f"gaussmix.save stores GaussianMixture and AnomalyDetector models; got "
            f"{type(model).__name__}."
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None; got {type(metadata).__name__}.")
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gaussmix_version": package_version(),
        "model": encoder(model),
        "metadata": metadata or {},
    }
    write_json_atomic(path, document)


# ---------------------------------------------------------------------------- validation
def _field(mapping: dict, key: str, where: str):
    if not isinstance(mapping, dict):
        raise _Invalid(f"{where} must be a JSON object")
    if key not in mapping:
        raise _Invalid(f"{where} has no {key!r} field")
    return mapping[key]


def _integer(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid(f"{name} must be an integer in [{low}, {high}], got {value!r:.60}")
    return value


def _finite_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = np.inf
    if not np.isfinite(number):
        raise _Invalid(f"{name} must be finite")
    return number


def _check_nested(node, shape: tuple[int, ...], name: str, depth: int = 0) -> None:
    if depth == len(shape):
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise _Invalid(f"{name} must contain only numbers, found {type(node).__name__}")
        return
    if not isinstance(node, list) or len(node) != shape[depth]:
        found = f"a list of {len(node)}" if isinstance(node, list) else type(node).__name__
        raise _Invalid(
            f"{name} must be nested lists of shape {shape}; found {found} at depth {depth}"
        )
    for item in node:
        _check_nested(item, shape, name, depth + 1)


def _array(value, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A finite float64 array of exactly ``shape`` from nested JSON lists."""
    _check_nested(value, shape, name)
    try:
        array = np.array(value, dtype=np.float64).reshape(shape)
    except OverflowError:
        raise _Invalid(f"{name} contains a number too large for float64") from None
    if not np.all(np.isfinite(array)):
        raise _Invalid(f"{name} contains NaN or infinite values")
    return array


def _plain_init_value(value, name: str):
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str) and len(value) > 100:
            raise _Invalid(f"init_params[{name!r}] is too long")
        return value
    if isinstance(value, (int, float)):
        return (
            _finite_number(value, f"init_params[{name!r}]") if isinstance(value, float) else value
        )
    if isinstance(value, list):
        try:
            array = np.asarray(value, dtype=object)
        except ValueError:  # ragged or too deeply nested
            raise _Invalid(f"init_params[{name!r}] is not a rectangular array") from None
        if array.size > MAX_COVARIANCE_VALUES:
            raise _Invalid(f"init_params[{name!r}] is too large")
        _check_nested(value, array.shape, f"init_params[{name!r}]")
        return _array(value, array.shape, f"init_params[{name!r}]")
    raise _Invalid(f"init_params[{name!r}] has unsupported type {type(value).__name__}")


def _init_params(value, estimator_class, where: str, exclude=()) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be a JSON object")
    value = {name: v for name, v in value.items() if name not in exclude}
    unknown = sorted(set(value) - set(estimator_class().get_params(deep=False)))
    if unknown:
        raise _Invalid(f"{where} has unknown parameter(s) {', '.join(map(repr, unknown[:5]))}")
    return {name: _plain_init_value(v, name) for name, v in value.items()}


def _checked_estimator(estimator_class, params: dict, where: str):
    estimator = estimator_class(**params)
    rules = getattr(estimator, "_rules", {})
    try:
        validate_parameters(estimator.get_params(deep=False), rules)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"{where}: {exc}") from None
    return estimator


def check_fit_history(n_iter: int, lower_bounds: list, n_steps: int) -> None:
    """Refuse a trace of lower bounds that disagrees with the fit's counters.

    A fit records one bound per EM iteration (``n_iter``, full passes of a mini-batch
    fit included) and each later ``partial_fit`` step appends one, counted in ``n_steps``
    (which also counts mini-batch steps). So ``n_iter <= len(lower_bounds) <= n_iter +
    n_steps``; anything else (e.g. an emptied trace with ``n_iter`` 2, which would give
    ``lower_bound_ = -inf``) is a corrupt file.

    Raises
    ------
    ValueError
        Naming the disagreeing fields (the loader adds the file name).
    """
    if not n_iter <= len(lower_bounds) <= n_iter + n_steps:
        expected = (
            f"exactly {n_iter}" if n_steps == 0 else f"between {n_iter} and {n_iter + n_steps}"
        )
        raise _Invalid(
            f"lower_bounds has {len(lower_bounds)} entries but n_iter is {n_iter} and n_steps "
            f"{n_steps}: a fit records one bound per iteration and per partial_fit step, so "
            f"{expected} were expected"
        )


# ---------------------------------------------------------------------------- decoding
#: Stands for "no default": a field that must be present.
_REQUIRED = object()


@dataclass(frozen=True)
class _FieldSpec:
    """One field of a GaussianMixture's ``fitted`` object and how it is checked.

    ``check(value, decoded)`` returns the checked (converted) value or raises
    `_Invalid`; ``decoded`` holds the fields checked before it (and the ``init_params``
    estimator under ``"template"``), so that a field's shape can depend on them.
    A field with a ``default`` may be absent (files from before it existed).
    """

    name: str
    check: Callable[[Any, dict], Any]
    default: Any = _REQUIRED


def _covariance_model(value, decoded):
    template = decoded["template"]
    try:
        model = get_covariance_model(value)
        declared = canonical_name(template.covariance_type)
    except (TypeError, ValueError):
        raise _Invalid(f"unknown covariance model {value!r:.60}") from None
    if model.name != declared:
        raise _Invalid(
            f"covariance model {model.name!r} does not match covariance_type "
            f"{template.covariance_type!r}"
        )
    return model


def _n_components(value, decoded):
    K = _integer(value, "n_components", 1, MAX_COMPONENTS)
    expected = decoded["template"].n_components
    if K != expected:
        raise _Invalid(f"n_components={K} does not match init_params n_components={expected}")
    return K


def _n_features(value, decoded):
    """The number of features; with it the covariances' size is known and limited."""
    d = _integer(value, "n_features", 1, MAX_FEATURES)
    K = decoded["n_components"]
    if int(np.prod(_covariance_shape(decoded, d))) > MAX_COVARIANCE_VALUES:
        raise _Invalid(f"{K} components in {d} dimensions exceed the size limit")
    return d


def _covariance_shape(decoded, d=None) -> tuple[int, ...]:
    d = decoded["n_features"] if d is None else d
    return decoded["covariance_model"].form.compact_shape(decoded["n_components"], d)


def _weights(value, decoded):
    return _array(value, (decoded["n_components"],), "weights")


def _noise(value, decoded):
    return _decode_noise(value, decoded["n_features"])


def _means(value, decoded):
    return _array(value, (decoded["n_components"], decoded["n_features"]), "means")


def _covariances(value, decoded):
    return _array(value, _covariance_shape(decoded), "covariances")


def _precisions_cholesky(value, decoded):
    return _array(value, _covariance_shape(decoded), "precisions_cholesky")


def _converged(value, decoded):
    if not isinstance(value, bool):
        raise _Invalid("converged must be true or false")
    return value


def _collapse(value, decoded):
    if value is not None and not (isinstance(value, str) and 0 < len(value) <= MAX_REASON):
        raise _Invalid(f"collapse must be null or a text of at most {MAX_REASON} characters")
    return value


def _n_iter(value, decoded):
    return _integer(value, "n_iter", 0, MAX_HISTORY)


def _lower_bounds(value, decoded):
    if not isinstance(value, list) or len(value) > MAX_HISTORY:
        raise _Invalid(f"lower_bounds must be a list of at most {MAX_HISTORY} numbers")
    return [_finite_number(v, "lower_bounds") for v in value]


def _output_dtype(value, decoded):
    if value not in _OUTPUT_DTYPES:
        raise _Invalid(f"output_dtype must be one of {_OUTPUT_DTYPES}, got {value!r:.60}")
    return value


def _feature_names(value, decoded):
    d = decoded["n_features"]
    if value is not None and (
        not isinstance(value, list)
        or len(value) != d
        or not all(isinstance(name, str) and len(name) <= 1000 for name in value)
    ):
        raise _Invalid(f"feature_names must be null or a list of {d} strings")
    return value


def _count(name: str) -> Callable[[Any, dict], int]:
    def check(value, decoded):
        return _integer(value, name, 0, 2**62)

    return check


#: The fields of a GaussianMixture's ``fitted`` object, checked in this order.
_GAUSSIAN_MIXTURE_FIELDS: tuple[_FieldSpec, ...] = (
    _FieldSpec("covariance_model", _covariance_model),
    _FieldSpec("n_components", _n_components),
    _FieldSpec("n_features", _n_features),
    _FieldSpec("weights", _weights),
    _FieldSpec("noise", _noise, default=None),
    _FieldSpec("means", _means),
    _FieldSpec("covariances", _covariances),
    _FieldSpec("precisions_cholesky", _precisions_cholesky),
    _FieldSpec("converged", _converged),
    _FieldSpec("collapse", _collapse, default=None),  # absent in older files
    _FieldSpec("n_iter", _n_iter),
    _FieldSpec("lower_bounds", _lower_bounds),
    _FieldSpec("output_dtype", _output_dtype),
    _FieldSpec("feature_names", _feature_names),
    _FieldSpec("n_steps", _count("n_steps"), default=0),
    _FieldSpec("n_missing_values", _count("n_missing_values"), default=0),
)


def _weights_sum_to_one(decoded) -> None:
    weights, noise = decoded["weights"], decoded["noise"]
    noise_weight = 0.0 if noise is None else noise.weight
    if np.any(weights < 0) or abs(weights.sum() + noise_weight - 1.0) > 1e-6:
        raise _Invalid(
            "weights (with the noise weight) must be non-negative and sum to 1 (sum is "
            f"{weights.sum() + noise_weight:.6g})"
        )


def _covariances_are_valid(decoded) -> None:
    """Positive definite, symmetric, and matching their saved Cholesky factors."""
    form = decoded["covariance_model"].form
    try:
        checked = form.from_covariances(decoded["covariances"])
    except SingularCovarianceError:
        raise _Invalid("a covariance is not positive definite") from None
    dense = checked.dense_covariances(decoded["n_components"], decoded["n_features"])
    scale = max(float(np.abs(dense).max()), np.finfo(np.float64).tiny)
    if np.abs(dense - np.swapaxes(dense, 1, 2)).max() > 1e-5 * scale:  # float32 fits
        raise _Invalid("a covariance matrix is not symmetric")
    if not np.allclose(
        checked.precisions_cholesky, decoded["precisions_cholesky"], rtol=1e-6, atol=1e-12
    ):
        raise _Invalid("precisions_cholesky does not match the covariances")


def _history_agrees_with_counters(decoded: dict) -> None:
    check_fit_history(decoded["n_iter"], decoded["lower_bounds"], decoded["n_steps"])


def _collapse_means_not_converged(decoded: dict) -> None:
    """EM that stopped at a collapse did not converge, and took at least one step."""
    if decoded["collapse"] is not None and (decoded["converged"] or decoded["n_iter"] < 1):
        raise _Invalid(
            "collapse says EM stopped at a collapse, but converged is true or n_iter is 0"
        )


#: Checks that relate fields of ``fitted`` to each other, run in this order once every
#: field has passed its own check. Add a consistency rule here as one small function
#: ``check(decoded) -> None`` that raises `_Invalid`.
_GAUSSIAN_MIXTURE_CROSS_CHECKS: tuple[Callable[[dict], None], ...] = (
    _weights_sum_to_one,
    _covariances_are_valid,
    _history_agrees_with_counters,
    _collapse_means_not_converged,
)


def _decoded_fields(fitted, specs, decoded: dict) -> dict:
    """Walk ``specs`` over the JSON object ``fitted``, adding each checked field to
    ``decoded``."""
    for spec in specs:
        if spec.default is _REQUIRED:
            value = _field(fitted, spec.name, "fitted")
        else:
            value = _field(fitted, spec.name, "fitted") if spec.name in fitted else spec.default
        decoded[spec.name] = spec.check(value, decoded)
    return decoded


def _decode_gaussian_mixture(body) -> GaussianMixture:
    if _field(body, "class", "model") != "GaussianMixture":
        raise _Invalid(f"expected a GaussianMixture entry, found {body.get('class')!r:.60}")
    init = _init_params(_field(body, "init_params", "model"), GaussianMixture, "init_params")
    template = _checked_estimator(GaussianMixture, init, "init_params")
    fitted = _field(body, "fitted", "model")
    if not isinstance(fitted, dict):
        raise _Invalid("fitted must be a JSON object")
    decoded = _decoded_fields(fitted, _GAUSSIAN_MIXTURE_FIELDS, {"template": template})
    for check in _GAUSSIAN_MIXTURE_CROSS_CHECKS:
        check(decoded)
    form = decoded["covariance_model"].form
    params = MixtureParams(
        weights=decoded["weights"],
        means=decoded["means"],
        covariance=form(decoded["covariances"], decoded["precisions_cholesky"]),
        noise=decoded["noise"],
    )
    return GaussianMixture._from_fitted(
        init,
        params,
        lower_bounds=decoded["lower_bounds"],
        converged=decoded["converged"],
        n_iter=decoded["n_iter"],
        output_dtype=decoded["output_dtype"],
        feature_names=decoded["feature_names"],
        n_steps=decoded["n_steps"],
        n_missing_values=decoded["n_missing_values"],
        collapse=decoded["collapse"],
    )


def _decode_anomaly_detector(body) -> AnomalyDetector:
    init_value = _field(body, "init_params", "model")
    init = _init_params(init_value, AnomalyDetector, "init_params", exclude=("mixture",))
    template = _field(init_value, "mixture", "init_params")
    init["mixture"] = (
        None
        if template is None
        else _checked_estimator(
            GaussianMixture,
            _init_params(template, GaussianMixture, "init_params.mixture"),
            "init_params.mixture",
        )
    )
    _checked_estimator(
        AnomalyDetector, {k: v for k, v in init.items() if k != "mixture"}, "init_params"
    )
    contamination = init.get("contamination", 0.05)
    if (
        isinstance(contamination, bool)
        or not isinstance(contamination, (int, float))
        or not (0 <= contamination <= 0.5)
    ):
        raise _Invalid("contamination must be a number in [0, 0.5]")
    fitted = _field(body, "fitted", "model")
    threshold = _finite_number(_field(fitted, "threshold", "fitted"), "threshold")
    mixture = _decode_gaussian_mixture(_field(fitted, "mixture", "fitted"))
    return AnomalyDetector._from_fitted(init, mixture, threshold)


_DECODERS = {
    "GaussianMixture": _decode_gaussian_mixture,
    "AnomalyDetector": _decode_anomaly_detector,
}


def read_model_file(path):
    """Load a model file and its metadata, validating everything.

    Parameters
    ----------
    path : str or path-like
        A file written by `save`.

    Returns
    -------
    model : GaussianMixture or AnomalyDetector
        The fitted model; its predictions equal the saved model's.
    metadata : dict
        The metadata saved with it (empty if none).

    Raises
    ------
    ValueError
        If the file is missing, not JSON, not a gaussmix model file, from a newer format
        version, or fails any check (class, covariance model, shapes, finite values,
        weights summing to one, positive definite covariances, size limits).
    """
    document = read_json(path, what="model file")
    try:
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise _Invalid('it is not a gaussmix model file (no "format": "gaussmix-model")')
        version = document.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _Invalid("format_version must be a positive integer")
        if version > FORMAT_VERSION:
            raise _Invalid(
                f"it uses format version {version}, newer than this gaussmix understands "
                f"({FORMAT_VERSION}); upgrade gaussmix"
            )
        body = _field(document, "model", "the file")
        class_name = _field(body, "class", "model")
        decoder = _DECODERS.get(class_name) if isinstance(class_name, str) else None
        if decoder is None:
            raise _Invalid(
                f"unknown model class {class_name!r:.60}; gaussmix loads {', '.join(_DECODERS)}"
            )
        model = decoder(body)
        metadata = document.get("metadata", {})
        if not isinstance(metadata, dict):
            raise _Invalid("metadata must be a JSON object")
    except _Invalid as exc:
        raise ValueError(
            f"model file {str(path)!r} is invalid: {exc}. Re-create it with gaussmix.save."
        ) from None
    except RecursionError:
        raise ValueError(f"model file {str(path)!r} is nested too deeply.") from None
    return model, metadata


def load(path):
    """Load a model saved by `save`, validating the file first.

    Parameters
    ----------
    path : str or path-like
        A file written by `save`.

    Returns
    -------
    model : GaussianMixture or AnomalyDetector
        The fitted model.

    Raises
    ------
    ValueError
        If the file is not a valid gaussmix model file; the message says why.
    """
    return read_model_file(path)[0]
