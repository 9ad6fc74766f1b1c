"""Building learners from spec strings."""

from __future__ import annotations

import numpy as np
import pytest
from river import linear_model, multioutput, naive_bayes, tree

from streamml import registry
from streamml.base import MultiLabelLearner
from streamml.learners import BinaryRelevance, BRLogisticRegression, MajorityLabelset, RiverMultiLabel
from streamml.registry import SpecError


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry that a test may change."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_builtin_specs_are_listed_with_descriptions():
    specs = registry.available()
    for name in ("majority", "br-ht", "br-lr", "river-br-lr", "river-br-ht"):
        assert name in specs
        assert specs[name] and "\n" not in specs[name]


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_every_spec_builds_a_working_learner(name):
    model = registry.make(name)
    assert isinstance(model, MultiLabelLearner)
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(3):
        model.learn_row(x, np.array([True, False]))
    assert model.predict_proba_row(x).shape == (2,)
    assert registry.make(name) is not registry.make(name)


def test_builtin_specs_build_the_documented_learners():
    assert type(registry.make("majority")) is MajorityLabelset
    assert type(registry.make("br-lr")) is BRLogisticRegression
    br_ht = registry.make("br-ht")
    assert type(br_ht) is BinaryRelevance and type(br_ht.model) is tree.HoeffdingTreeClassifier
    for name, base in (("river-br-lr", linear_model.LogisticRegression), ("river-br-ht", tree.HoeffdingTreeClassifier)):
        peer = registry.make(name)
        assert type(peer) is RiverMultiLabel
        assert type(peer.model) is multioutput.PerOutputClassifier
        assert type(peer.model.classifier) is base


def test_spec_parameters():
    m = registry.make("br-lr(lr=0.3, l2=1e-4, clip_gradient=2, standardize=True)")
    assert (m.lr, m.l2, m.clip_gradient, m.standardize) == (0.3, 1e-4, 2, True)
    assert registry.make(" br-ht( grace_period = 50 ) ").model.grace_period == 50
    peer = registry.make("river-br-lr(lr=0.1, l2=0.01)")
    assert peer.model.classifier.optimizer.lr.learning_rate == 0.1
    assert peer.model.classifier.l2 == 0.01
    assert registry.make("br-lr()").lr == BRLogisticRegression().lr


def test_river_paths():
    for spec in ("river:tree.HoeffdingTreeClassifier", "river:river.tree.HoeffdingTreeClassifier"):
        m = registry.make(spec)
        assert type(m) is BinaryRelevance and type(m.model) is tree.HoeffdingTreeClassifier
    m = registry.make("river:linear_model.LogisticRegression(l2=0.5)")
    assert type(m.model) is linear_model.LogisticRegression and m.model.l2 == 0.5
    m = registry.make("river:naive_bayes.GaussianNB")
    assert type(m.model) is naive_bayes.GaussianNB
    m.learn_row(np.ones(2), np.array([True]))
    assert m.predict_row(np.ones(2)).shape == (1,)


@pytest.mark.parametrize(
    "spec",
    [
        "river:os.system",
        "river:subprocess.Popen",
        "river:checks.np.random.RandomState",  # reachable through a River module, but not River's
        "river:..os",
        "river:tree.__class__",
        "river:tree.NoSuchTree",
        "river:preprocessing.StandardScaler",  # River, but not a classifier
        "river:multioutput.ClassifierChain",  # River, but multi-label
        "river:",
    ],
)
def test_river_paths_reject_non_river_or_unusable_classes(spec):
    with pytest.raises(SpecError):
        registry.make(spec)


def test_river_paths_only_import_river_modules(monkeypatch):
    imported = []
    real = registry.importlib.import_module

    def spy(name, *args, **kwargs):
        imported.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(registry.importlib, "import_module", spy)
    for spec in ("river:os.path.join", "river:tree.HoeffdingTreeClassifier", "river:json.loads"):
        try:
            registry.make(spec)
        except SpecError:
            pass
    assert imported and all(name == "river" or name.startswith("river.") for name in imported)


def test_unknown_name_lists_the_available_specs():
    with pytest.raises(SpecError) as info:
        registry.make("mlhat-9000")
    message = str(info.value)
    assert "mlhat-9000" in message
    for name in registry.available():
        assert name in message
    assert "river:" in message


@pytest.mark.parametrize(
    "spec",
    [
        "br-lr(0.1)",  # positional
        "br-lr(lr=__import__('os').getcwd())",  # not a literal
        "br-lr(lr=1+x)",
        "br-lr(**{'lr': 1})",
        "br-lr(lr=",
        "br-lr(nonsense=1)",  # the learner rejects it
        "river:tree.HoeffdingTreeClassifier(bogus=1)",
        "",
        "majority(lr=1)",
    ],
)
def test_bad_specs_raise_spec_error(spec):
    with pytest.raises(SpecError):
        registry.make(spec)


def test_spec_values_are_never_evaluated(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(SpecError):
        registry.make(f"br-lr(lr=open({str(marker)!r}, 'w'))")
    assert not marker.exists()


def test_register_adds_and_protects_names(scratch_registry):
    registry.register("br-lr-fast", lambda **kw: BRLogisticRegression(lr=0.5, **kw), "BR-LR with a large step")
    assert registry.available()["br-lr-fast"] == "BR-LR with a large step"
    m = registry.make("br-lr-fast(l2=0.1)")
    assert (m.lr, m.l2) == (0.5, 0.1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("br-lr-fast", MajorityLabelset, "dup")
    registry.register("br-lr-fast", MajorityLabelset, "replaced", replace=True)
    assert type(registry.make("br-lr-fast")) is MajorityLabelset
    for bad in ("river:mine", "has space", "", "a(b)"):
        with pytest.raises(ValueError):
            registry.register(bad, MajorityLabelset, "bad name")
    registry.register("not-a-learner", lambda: object(), "returns the wrong type")
    with pytest.raises(TypeError):
        registry.make("not-a-learner")


def test_river_br_logistic_is_the_per_output_peer():
    peer = registry.river_br_logistic()
    assert isinstance(peer, RiverMultiLabel)
    assert isinstance(peer.model, multioutput.PerOutputClassifier)
    assert isinstance(peer.model.classifier, linear_model.LogisticRegression)
    assert peer.model.classifier.optimizer.lr.learning_rate == 0.01
