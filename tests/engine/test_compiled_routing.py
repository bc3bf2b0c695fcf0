"""Which fits run through the compiled kernels, and what happens at their edges.

The parity tests (``test_compiled_em.py``) compare the two paths; these check that the
compiled side of a comparison really ran compiled (a parity test with NumPy on both
sides proves nothing), that fits the kernels do not implement never reach them, that a
model overriding its parent's M-step is not fitted with the parent's compiled one, and
what a hand-back in the middle of a collapsing fit gives.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.engine import kernels
from gaussmix.engine.core import compiled_em
from gaussmix.engine.covariance.models.ellipsoidal import VVV
from gaussmix.engine.covariance.models.registry import names_with, register, unregister

pytest.importorskip("numba")


class KernelCalls:
    """Counts the calls into the kernels (whole loops and single E-steps), passing them on."""

    def __init__(self, monkeypatch):
        self.loops: list[kernels.CompiledRun] = []
        self.e_steps = 0
        run_loop, statistics = kernels.run_compiled_em, kernels.compiled_statistics

        def counted_loop(*args, **kwargs):
            run = run_loop(*args, **kwargs)
            self.loops.append(run)
            return run

        def counted_statistics(*args, **kwargs):
            self.e_steps += 1
            return statistics(*args, **kwargs)

        monkeypatch.setattr(compiled_em, "run_compiled_em", counted_loop)
        monkeypatch.setattr(compiled_em, "compiled_statistics", counted_statistics)

    @property
    def any(self) -> bool:
        return bool(self.loops) or self.e_steps > 0


@pytest.fixture
def kernel_calls(monkeypatch):
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    return KernelCalls(monkeypatch)


def two_blobs(n_per_blob=80, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n_per_blob, 2)), rng.normal(size=(n_per_blob, 2)) + 5.0])


@pytest.mark.parametrize("name", names_with("compiled_constraint"))
def test_a_model_with_a_compiled_m_step_runs_its_whole_loop_compiled(kernel_calls, name):
    X = two_blobs()
    if name in ("E", "V"):
        X = X[:, :1]
    GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
    assert kernel_calls.loops and len(kernel_calls.loops[0].lower_bounds) > 0


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in ("VEI", "VEE", "VEV", "EEV", "EVE", "VVE")
        if name not in names_with("compiled_constraint")
    ],
)
def test_a_model_without_a_compiled_m_step_runs_its_e_steps_compiled(kernel_calls, name):
    GaussianMixture(2, covariance_type=name, random_state=0).fit(two_blobs())
    assert not kernel_calls.loops and kernel_calls.e_steps > 0


def labels_for(X):
    labels = np.full(len(X), -1)
    labels[0], labels[-1] = 0, 1
    return labels


@pytest.mark.parametrize(
    "settings, fit_arguments",
    [
        (dict(prior="default"), {}),
        (dict(noise=True), {}),
        (dict(batch_size=40, max_iter=3), {}),
        ({}, {"y": "labels"}),
        (dict(missing="marginalize"), {"nan": True}),
        ({}, {"float32": True}),
    ],
    ids=["prior", "noise", "mini-batches", "labels", "missing", "float32"],
)
def test_fits_the_kernels_do_not_implement_never_reach_them(kernel_calls, settings, fit_arguments):
    X = two_blobs()
    if fit_arguments.get("nan"):
        X[3, 1] = np.nan
    if fit_arguments.get("float32"):
        X = X.astype(np.float32)
    y = labels_for(X) if fit_arguments.get("y") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mini-batch fits may warn about convergence
        GaussianMixture(2, covariance_type="VVV", random_state=0, **settings).fit(X, y)
    assert not kernel_calls.any


class DoubledVVV(VVV):
    """VVV with every covariance doubled: a subclass that overrides the M-step."""

    name = "DoubledVVV"
    description = "VVV, covariances doubled"

    def estimate_covariances(self, scatter, counts, previous):
        return 2.0 * super().estimate_covariances(scatter, counts, previous)


@pytest.fixture
def doubled_vvv():
    register(DoubledVVV)
    yield DoubledVVV
    unregister(DoubledVVV.name)


def test_a_subclass_overriding_the_m_step_is_not_fitted_with_its_parents_kernel(
    doubled_vvv, monkeypatch
):
    assert VVV.compiled_constraint == "VVV" and DoubledVVV.compiled_constraint is None
    X = two_blobs()
    settings = dict(n_components=2, covariance_type="DoubledVVV", random_state=0, max_iter=5)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    reference = GaussianMixture(**settings).fit(X)
    calls = KernelCalls(monkeypatch)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    compiled = GaussianMixture(**settings).fit(X)
    assert not calls.loops and calls.e_steps > 0
    np.testing.assert_allclose(compiled.covariances_, reference.covariances_, rtol=1e-8)
    # The doubling is really in the fit: the covariances are not VVV's.
    plain = GaussianMixture(2, covariance_type="VVV", random_state=0, max_iter=5).fit(X)
    assert not np.allclose(compiled.covariances_, plain.covariances_, rtol=0.1)


def test_a_subclass_may_declare_its_own_compiled_constraint():
    class DeclaredVVV(VVV):
        name = "DeclaredVVV"
        compiled_constraint = "VVV"

        def estimate_covariances(self, scatter, counts, previous):
            return super().estimate_covariances(scatter, counts, previous)

    class PlainSubclass(VVV):
        name = "PlainSubclass"

    assert DeclaredVVV.compiled_constraint == "VVV"
    assert PlainSubclass.compiled_constraint == "VVV"


def collapsing_rows():
    """Two Gaussian blobs and three identical rows on the edge of one of them.

    With VII, K = 3, ``reg_covar=0`` and the random start of seed 19, one component
    shrinks onto the tied rows over about 25 iterations until its variance is rounding
    residue (1e-19); the compiled loop hands back the iteration where the variance is
    no longer usable, and the NumPy path reports the collapse.
    """
    rng = np.random.default_rng(19)
    return np.vstack(
        [rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + [4.0, 0.0], np.full((3, 2), 4.0)]
    )


def test_a_collapse_midway_is_handed_back_and_reported_as_by_numpy(monkeypatch):
    settings = dict(
        n_components=3, covariance_type="VII", reg_covar=0.0, init_params="random", random_state=19
    )
    X = collapsing_rows()
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = GaussianMixture(**settings).fit(X)
    calls = KernelCalls(monkeypatch)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = GaussianMixture(**settings).fit(X)

    (loop,) = calls.loops
    assert loop.handed_back and 0 < len(loop.lower_bounds) < compiled.n_iter_
    assert reference.collapse_reason_ is not None
    assert compiled.collapse_reason_ == reference.collapse_reason_
    assert compiled.n_iter_ == reference.n_iter_
    # The traces agree to rounding while the collapsing variance is a real number; in
    # the last step it is rounding residue of the tied rows (1e-19), and the two paths'
    # residues differ, so the final bound may differ in its fifth digit.
    np.testing.assert_allclose(
        compiled.lower_bounds_[:-1], reference.lower_bounds_[:-1], rtol=1e-12
    )
    np.testing.assert_allclose(compiled.lower_bounds_[-1], reference.lower_bounds_[-1], rtol=1e-3)
    spread = np.trace(reference.covariances_, axis1=1, axis2=2)
    kept = spread > 1e-6  # the components that did not collapse
    assert kept.sum() == 2
    np.testing.assert_allclose(compiled.means_[kept], reference.means_[kept], rtol=1e-9)
    np.testing.assert_allclose(compiled.covariances_[kept], reference.covariances_[kept], rtol=1e-9)


def test_kernels_that_fail_to_load_turn_themselves_off_with_a_warning(monkeypatch):
    """Numba raises RuntimeError at import when it finds no writable cache folder."""
    import builtins

    real_import = builtins.__import__

    def no_cache_locator(name, globals=None, locals=None, fromlist=(), level=0):
        if fromlist and "em_loop" in fromlist:
            raise RuntimeError("cannot cache function 'em_fit': no locator available")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    kernels._loaded_kernels.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_cache_locator)
    try:
        with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
            assert not kernels.compiled_em_available()
        monkeypatch.undo()
        model = GaussianMixture(2, random_state=0).fit(two_blobs())
        assert model.converged_
    finally:
        kernels._loaded_kernels.cache_clear()
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    assert kernels.compiled_em_available()
