"""iHOMER: an incrementally maintained hierarchy of multi-label learners over online label clusters.

Neves, Lourenço, Cano and Marreiros, ECAI 2025 (arXiv 2507.20894), built as the paper describes
it (the public reference code trains one learner over all labels and never uses its clusters).

How it works
------------
**Clusters.** :class:`~streamml.ihomer.clustering.JaccardODAC` partitions the labels online into
groups that co-occur (ODAC over a windowed Jaccard distance, O(k^2) per instance for k relevant
labels).

**Hierarchy.** The cluster tree becomes a HOMER hierarchy (:mod:`streamml.ihomer.hierarchy`): the
root unit -- a multi-label tree learner, MLHAT by default, i.e. the global tree grown with the
multivariate-Bernoulli (multi-label entropy) criterion -- learns the meta-labels of its children,
every internal unit learns its children's meta-labels from the instances where its own meta-label
holds, and every leaf unit learns its cluster's labels from the instances where some of them is
relevant. Prediction descends only into children predicted relevant (a reached unit predicts at
least one child or label: ``consistent``). The labels are decided by HOMER's routed rule or by the
path probability, whichever has matched more labelsets exactly so far (``decision``). With the
default ``branching`` the hierarchy has two levels: the root, then the leaf clusters. ``flat=True``
keeps one learner per cluster trained on every instance and joins their predictions.

**Global drift.** A change in label co-occurrence is seen twice: by the clustering's own tests
(a cluster whose labels stop co-occurring splits, clusters that start co-occurring merge), and by
an ADWIN detector (River's, ``global_delta``) fed, for every instance, the active hierarchy's
meta-label error (the fraction of its leaf clusters whose relevance -- some label predicted
relevant -- was wrong). When that ADWIN signals a change, the clustering forgets its counts and
returns to a single cluster, which its tests re-split from post-change data.

**Local drift.** Each unit has its own ADWIN (``local_delta``) on its prequential Hamming error,
measured on the instances it trains on. On a signal, a background *alternate* learner starts,
warm-started from the buffered instances that fall inside the window ADWIN kept (the post-change
ones); it trains alongside and replaces the unit's learner when its paired error is lower by a
Bernstein bound (confidence ``1 - switch_delta``, after at least ``min_switch`` instances); it is
dropped when it is worse by the bound after ``max_candidate_age / 2`` instances or has not won
within ``max_candidate_age`` instances. (A
node learner with its own drift handling, such as MLHAT, keeps it; this is the node-level layer.)
By default (``local_drift=None``) this layer is on only when the node learner does not handle drift
itself: MLHAT already runs an ADWIN per node and alternate subtrees, so a second ADWIN and a second
alternate learner per unit doubled the cost without a measured gain. A unit whose MLHAT never
splits has no internal node and so no alternate subtree: its leaf's ADWIN only restarts the leaf's
loss count, and the unit adapts by its regressions' steps alone. That is the case on the drift
benchmark's clustered stream, and there ``local_drift=True`` did not help either: on seed 0 its
detectors fired once, 4,676 instances after the drift, and that alternate was dropped; on seeds 0
to 4 its whole-stream scores were those without it, to four digits.

**Restructuring without a cliff.** When the partition changes (and then holds for ``n_min``
instances, so that a cascade of splits produces one hierarchy, not many; at the latest ``window / 2``
instances after the first change, or at instance ``buffer_size``), a *candidate* hierarchy is built
in the background. Units whose key (label groups and training rule) already exists in the
active or candidate hierarchy are shared, not copied (they would receive exactly the same training
instances); new units are warm-started by replaying the last ``buffer_size`` instances (those whose
meta-label holds) -- only once the candidate is kept: no replay is paid for a partition that is the
active hierarchy again, or a hierarchy rejected within the last ``window`` instances (logged as a
``skip`` event). One candidate is on trial at a time: partition changes made meanwhile wait for
its verdict and go into the next one (a churning partition would otherwise replace every
candidate, each with a warm start, before any was tested). After ``r`` rejections in a row, the
next candidate waits ``window * 2^(r-1)`` instances; an earned switch or a global drift ends the
streak (and a global drift drops a candidate on trial, built from the old co-occurrence). On
Delicious, where label relocations never stop and no candidate after the bootstrap has won, this
took the candidates built from 23 to 4 (each warm-started on the buffer and trained alongside the
active units), with unchanged predictions; Corel5k, whose candidates win, keeps its switches
(measured with the bootstrap switch below, then the default).

The active hierarchy keeps predicting; both are scored on every instance, and the candidate
replaces the active one only when it has earned the switch: by default (``switch_criterion=
"micro_f1"``) when its micro-F1 on the same instances is higher by a Bernstein bound on the paired
differences (:class:`~streamml.bounds.PairedMicroF1`: the exact linearisation of the micro-F1
difference; confidence ``1 - switch_delta``, at least ``min_switch`` instances). Micro-F1, not
Hamming loss: a hierarchy that is worth having routes each instance to the clusters whose labels
are relevant, and the way a worse one fails is by routing -- its meta-labels miss clusters, so it
predicts too few labels. On a sparse label space Hamming loss barely charges for that (predicting
nothing is nearly optimal for it): judged on Hamming loss, no hierarchy earned a switch from the
single root on the benchmark streams, and after a global drift candidates built on the new
clusters tied the stale hierarchy or lost to it. Micro-F1 counts each missed label against the
true ones. ``switch_criterion="auto"`` judges on Hamming loss, whose differences are less noisy,
except from a global drift to the next switch (the active hierarchy is then known to be stale):
with the bootstrap switch below it won two early switches on Corel5k that a micro-F1 test lost
(micro-F1 0.3011 against 0.2869, measured before the units' intercept rate changed).
``"hamming"`` always uses Hamming loss. A candidate that is worse by the bound after
``max_candidate_age / 2`` instances, or has not won within ``max_candidate_age`` instances, is
rejected (an early deficit is expected while its new units warm up, so it is not rejected on that
alone). Every restructure (cluster split, aggregate, merge, refinement, reset, candidate, switch,
rejection, global drift, local replacement) is logged in :attr:`IHOMER.events` with the index of
the instance being learned; :meth:`evaluation_report` returns the structural ones, which
``streamml evaluate --plot`` draws on the curves.

**Every switch is earned, the first included (the default).** The model starts from its single
root -- one unit over all labels, the units' MLHAT with iHOMER's decision rule and consistent
root -- and a hierarchy predicts only once it has beaten it, as the rule above asks. On the
benchmark streams a hierarchy earns its switch on Corel5k (at instance 601) and Delicious (at
639), on the drift benchmark's clustered stream and on the hold-out rcv1subset1-500f (at instance
600), and on none of the other target datasets, where the single root keeps predicting
(``benchmarks/RESULTS.md``, section ``suite:ihomer``: over the eight target datasets mean
micro-F1 0.5010 and subset accuracy 0.2387, against MLHAT's 0.4756 and 0.2319). The hierarchy is
still built, trained and scored on every such stream, as a candidate that has not won, and that
is not free (section ``ihomer-cost``). Nor is a hierarchy cheaper than the single root where it
predicts: on Corel5k its units make 3.2 learn calls per instance over 128 label slots, against
MLHAT's one over 374, and those calls alone take as long as MLHAT's whole step.

**Bootstrap (``bootstrap=True``; the default until 2026-11-27, with ``switch_criterion="auto"``).**
While the stream is no longer than ``buffer_size``, the buffer holds every instance seen, so a
candidate's units are warm-started on exactly the active hierarchy's history; with
``bootstrap=True`` such a candidate replaces the active hierarchy at once (a ``switch`` event with
``bootstrap=True``). Later switches always have to be earned. Over the eight target datasets that
former default scored mean micro-F1 0.4949 and subset accuracy 0.2354 (section ``suite:ihomer``, row
``ihomer(bootstrap=True,switch_criterion='auto')``), lower on both than the earned default's 0.5010
and 0.2387, mostly on Bibtex (micro-F1 0.3403 against 0.3777; see "Fallback"); Birds trades the
other way (micro-F1 0.1690 against 0.1807, subset accuracy 0.4620 against 0.4558), and Corel5k and
Delicious are within 0.001. It runs at about the same speed (its early trial runs the hierarchy and
the single root side by side, as the earned default's candidates do). On the hold-out datasets
(section ``suite:ihomer-holdout``) the earned default scores higher subset accuracy (0.5177 against
0.5155) and the same micro-F1 (0.6619 against 0.6620). It was the default while the earned switch
was judged on Hamming loss, under which no hierarchy ever earned its place and the model never left
its single root -- the very pitfall of the public reference code; judged on micro-F1, hierarchies
earn their place where they lead.

**Fallback (with ``bootstrap=True``; ``fallback=False`` turns it off).** A bootstrap switch has
nothing to earn; with the fallback, what it replaced -- at first the single root -- stays on trial
as the candidate (a ``candidate`` event with ``fallback=True``): scored on every instance and taking
back over if it earns the switch (a ``switch`` event with ``fallback=True``), so that the old
structure is dropped only once the new one has held its own. It is judged on micro-F1 (Hamming loss
with ``switch_criterion="hamming"``), by the same bound and age limits as any candidate, and it
cannot win within the first ``max_candidate_age / 2`` instances: the new hierarchy's early deficit,
while its units warm up, is forgiven as a candidate's is. A rejected fallback does not back off the
next candidate (no hierarchy built from the partition has lost), while a fallback that wins counts
as a rejection of the hierarchy it displaces (which is not rebuilt within ``window`` instances, and
the next candidate backs off), and until the next switch candidates are judged on the criterion the
hierarchy lost on; a candidate built from a later partition change takes the fallback's place on
trial (a ``reject`` event with ``reason="new candidate"``). With the bootstrap, the single root
takes back over on 20ng, at instance 965 (a hold-out dataset of 20 nearly exclusive labels, where
co-occurrence gives the clustering nothing to group; micro-F1 0.6590 without the fallback, 0.7262
with it); on Corel5k the hierarchy holds its own (the fallback is rejected at instance 1,335), and
on Bibtex a candidate built from a partition change at instance 800 takes the fallback's place
before its verdict, so that the hierarchy stays (micro-F1 0.3403, against the earned default's
0.3777). The rows ``ihomer(bootstrap=True,switch_criterion='auto',fallback=False)`` of both suites
show the fallback off.

**New labels.** A label that arrives before the first split joins the single cluster; later, it
waits until it is first relevant and then joins the cluster holding most of the labels relevant
with it, and the units over that cluster grow by one target -- no restart. A declared label that
has not been relevant by the first split waits in the same way (the split leaves it out; the units
built before the split, such as the single root, keep predicting it): a label with no relevant
instance gives the clustering nothing to place it by (see "Deliberate deviations").

Deliberate deviations
---------------------
Figures that name a section of ``benchmarks/RESULTS.md`` are from its latest run; the others were
measured when the deviation was made, with the settings of that day, and are kept as its reason.

* The paper's hierarchy is not fully specified; here internal positions may have up to
  ``branching`` children (ODAC's binary tree is widened), and leaves are clusters predicted by a
  multi-label learner, not single labels.
* The global signal resets the clustering (see above) rather than pruning selected subtrees; the
  hierarchy is then rebuilt through the candidate mechanism, reusing every unit whose key survives.
* Label clusters of size at least the most common labelset size (the reference code's refinement)
  **and at least twice the mean labelset size** (``cardinality_factor=2``; ours): smaller clusters
  scatter a typical labelset over many units, so that every instance trains and is routed
  through more units (slower) and more meta-label errors multiply. On Flags, Emotions, Yeast and Scene it keeps
  a single cluster; on Bibtex it cut the time per instance by 40 %. ``cardinality_factor=0`` restores
  the reference floor. The merge, relocation and average-distance reassignment steps of
  :mod:`~streamml.ihomer.clustering` are ours, as are its windowed counts.
* **A label is clustered once it has been relevant** (ours; see :mod:`~streamml.ihomer.clustering`):
  a split leaves out the labels not relevant so far, and each joins a cluster when it first is --
  the one holding most of the labels relevant with it, as for a label that arrives later. ODAC deals
  every series to a side; a label with no relevant instance has no co-occurrence to be placed by, so
  it landed in a cluster at random, and once it fired it routed its instances to that cluster's
  units. On Corel5k (264 of 374 labels not relevant in its first 500 instances) a hierarchy now
  earns its switch, at instance 601 (before, both candidates lost and the single root predicted):
  micro-F1 0.3914 to 0.4117 and subset accuracy 0.0374 to 0.0420, at a cost in speed (0.68 to 0.49
  times MLHAT's, section ``suite:ihomer``); on Delicious (86 of 983) micro-F1 rose from 0.2726 to
  0.2770; on the hold-out meka-Imdb it trades micro-F1 for subset accuracy (0.2826 to 0.2781, 0.0700
  to 0.0734). The other benchmark streams predict as before (on the drift benchmark's streams every
  label is relevant within 67 instances, before a split can be made). With the bootstrap switch (not
  the default) Bibtex loses: a partition change at instance 800 puts a candidate on trial in place
  of the fallback single root, which had taken back over at instance 1,000 (micro-F1 0.3734 to
  0.3403).
* **A partition that routes nothing is not used** (ours): when every cluster has some relevant
  label in at least 90 % of the buffered instances, the hierarchy is built over a single cluster.
  HOMER would train and visit every unit on every instance, below a root whose meta-labels are
  nearly constant: more work than one learner, and the meta-label errors multiply. On CAL500 (26
  of 174 labels per instance; two clusters, relevant in 99 % and 100 % of instances) this made
  iHOMER 2.7 times faster for 0.0015 micro-F1; no other benchmark dataset comes near the
  threshold (Delicious: its clusters are relevant in 14 % to 89 % of instances).
* **Units use MLHAT with** ``cardinality_th=100`` (MLHAT's default is 750 instances at a leaf
  before its bagged logistic regressions may predict). A unit trains only on the instances where
  its meta-label holds, often a few percent of the stream, so with 750 most units never left the
  kNN; on Bibtex that cost 0.08 micro-F1. With MLHAT's loss-based leaf selection the regressions
  still take over only while their running loss is no worse than the kNN's. **And without
  MLHAT's bootstrap weights** (``bootstrap_sampling=False``): MLHAT multiplies an instance's
  weight by a Poisson(1) draw when the draw is positive (a draw of 0 keeps weight 1), so about a
  quarter of the instances count twice or more, at random; a unit sees only its meta-label's
  instances, and that random reweighting of its few instances cost Bibtex 0.018 micro-F1 and
  0.006 subset accuracy (every hierarchy dataset gained without it). **And their leaves settle**
  (``selection_delta=0.01``): MLHAT scores its kNN and its regressions on every instance to pick
  the better; a unit leaf stops querying the kNN once its regressions lead by a Bernstein bound
  (confidence 99 %) on the paired per-instance losses, and keeps the regressions. The kNN query was
  the largest cost per unit; on the benchmark datasets the predictions did not change (with the
  reference intercept step; with the one below, see the weak spot at the end). **And their
  intercepts learn at the weights' rate** (``intercept_lr=0.3``): the reference MLHAT sets its
  regressions' learning rate to 0.3 but leaves their intercept at River's default step, 0.01, and
  so does our MLHAT. On sparse rows the intercept is the only parameter that every instance
  updates (Corel5k: 8 of 499 features are non-zero), so it carries each label's base rate, and at
  0.01 a leaf needs thousands of instances to learn a rate of a few percent -- longer than a unit,
  or a leaf new after a split, sees. At the weights' rate iHOMER's micro-F1 on Corel5k (then with
  the bootstrap switch and its fallback by default) rose from
  0.3014 to 0.3872 and its subset accuracy from 0.0224 to 0.0378, and it ran faster, mostly
  because its single root, now the better learner in the fallback trial, takes back over at
  instance 1,000 (see "Fallback"); over the eight target datasets mean micro-F1 rose from 0.4868
  to 0.4963, subset accuracy stayed 0.2388. It is not a gain everywhere: Yeast, whose dense
  rows let every weight share that work, lost 0.012 micro-F1 and 0.019 subset accuracy (0.6180 to
  0.6060, 0.1365 to 0.1179), and Delicious lost 0.011 micro-F1 (0.2776 to 0.2671). It is a
  finding about MLHAT as much as about iHOMER: ``mlhat(intercept_lr=0.3)`` is a row of the
  ``ihomer`` suite (Corel5k 0.3536 against 0.2537).
  **These settings, not the hierarchy, make most of iHOMER's lead over a default MLHAT.** One MLHAT
  over all labels with exactly these settings is nearly iHOMER's single root (to the digit on Flags,
  CAL500 and the planted drift stream, within 0.0004 on Yeast and Scene, where iHOMER's decision
  rule and consistent root differ); as a row of the ``ihomer`` suite it scores mean micro-F1 0.4946
  and subset accuracy 0.2342 over the eight target datasets, against iHOMER's 0.5010 and 0.2387 and
  default MLHAT's 0.4756 and 0.2319. Where no hierarchy earns its switch, the rest of iHOMER's lead
  comes from the decision rule and the consistent root (micro-F1 on Bibtex 0.3777 against 0.3689,
  Emotions 0.4896 against 0.4812). The hierarchy itself gains where it earns its switch: on Corel5k
  (0.4117 against 0.3786, subset accuracy 0.0420 against 0.0364), on Delicious (0.2770 against
  0.2594) and on rcv1subset1-500f (below); on Corel5k it is also far slower than that one MLHAT
  (0.49 against 1.40 times MLHAT's speed). Adopted at once instead (``bootstrap=True,
  fallback=False``), it trades micro-F1 for subset accuracy on Birds and loses on Bibtex (0.3403
  against the single root's 0.3777): there the earned rule keeps it out. On the drift benchmark's
  clustered stream a hierarchy earns its switch within the first 600 instances (seeds 0 to 4) and
  then loses to that one MLHAT over the whole stream (micro-F1 0.3815 against 0.4197, section
  ``ihomer-drift-clustered``): the drift changes which labels co-occur, not each label's link to the
  features, so one regression per label keeps its knowledge while the units, which learn each label
  given its cluster's meta-label, must be rebuilt. The settings have a weak spot: one MLHAT with all
  of them over all labels collapses on rcv1subset1-500f (micro-F1 0.1924 against MLHAT's 0.4120,
  section ``suite:ihomer-holdout``), as its leaves settle, on Hamming loss, on regressions that
  predict almost nothing; iHOMER's single root starts to collapse too, and a hierarchy of cluster
  units earns its switch at instance 600 (0.4220).
* **The cluster units choose their leaf models on micro-F1** (``cluster_learner``; ours). A unit
  over a leaf cluster below the root trains only on the instances where some label of its cluster
  is relevant, and its job is to say which. MLHAT chooses between a leaf's kNN and its regressions
  on Hamming loss, which favours whichever predicts fewer labels: on the generator's streams the
  units kept kNN leaves that found few of the relevant labels, while the regressions would have
  found far more (MLHAT alone on such a stream: micro-F1 0.19 for the kNN against 0.32 for the
  regressions, Hamming loss 0.11 against 0.20). These units compare the two on micro-F1 instead
  (MLHAT's ``selection_metric="micro_f1"``, settling by the same bound). The root, and a cluster
  that trains on every instance (a single cluster, the flat mode), keep Hamming loss: with
  micro-F1 there Birds lost 0.018 micro-F1 and 0.023 subset accuracy. The figures are in
  ``benchmarks/RESULTS.md`` (sections ``suite:ihomer`` and ``ihomer-drift-clustered``); on the
  synthetic stream it trades subset accuracy for micro-F1.
* **Consistent routing** (``consistent=True``; ours): a unit reached because its meta-label was
  predicted predicts at least one of its children or labels, and so does the root while empty
  labelsets are rare (under 5 %). HOMER's meta-labels mean "some label below is relevant"; a
  reached unit predicting nothing contradicts its parent. It gained subset accuracy on Bibtex
  (0.110 to 0.123) and Corel5k.
* **The decision rule is chosen online** (``decision="auto"``; ours). HOMER's routed rule (a
  label is relevant when its leaf predicts it and every meta-label on its path was predicted)
  uses leaves that estimate a label's probability *given* their meta-label; it leans towards
  predicting labels, which helps micro-F1 on sparse label spaces but costs exact matches where
  many labelsets are empty (Birds: 46 %). The marginal rule thresholds the path probability
  (meta-label probabilities times the leaf's) at 0.5 instead. Both are computed from the same
  unit outputs, so both are scored on every instance before it is learned; ``auto`` starts with
  the routed rule while empty labelsets are rare (under 5 %, the same condition that holds the
  root to consistency: the routed rule assumes some label is relevant) and with the marginal rule
  otherwise, and changes rule when the other leads in exact matches by two standard
  deviations of a sign test on the instances only one of them matched (McNemar; counts faded by
  ``decision_fading=0.999``).
* A switch restarts the global ADWIN: the meta-label error of a new hierarchy is a new series
  (without the restart, Yeast saw a false global drift 100 instances after a bootstrap switch).
  The bootstrap switch and its fallback (``bootstrap=True``; off by default) are ours.
* Local drift detection per unit is off by default for node learners that detect drift
  themselves (MLHAT); candidates are dropped after 1,000 unearned instances (``max_candidate_age``),
  a rejected hierarchy is not rebuilt within ``window`` instances, and rejections in a row back
  off the next candidate (see "Restructuring without a cliff").
* The switch tests' criteria (micro-F1 by default; Hamming loss, or Hamming loss with micro-F1
  from a global drift to the next switch) are ours: the paper does not say how a restructured
  hierarchy takes over.
* The prequential error used for the switch tests is computed from the predictions made for the
  evaluator (cached for the same row object); a row learned without a prediction is predicted first.

>>> from streamml.generators import MultiLabelDriftStream
>>> from streamml.trees import MLHT
>>> stream = MultiLabelDriftStream(n_instances=1500, n_features=6, n_labels=6, n_groups=2, seed=3)
>>> model = IHOMER(node_learner=MLHT(grace_period=100), cardinality_factor=0.0)
>>> for x, y in stream:
...     _ = model.predict_row(x)
...     model.learn_row(x, y)
>>> model.partition()
[[0, 3, 5], [1, 2, 4]]
>>> [list(map(int, g)) for g in stream.concept_at(0).groups]
[[0, 3, 5], [1, 2, 4]]
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
from river.drift import ADWIN

from streamml.base import MultiLabelLearner
from streamml.ihomer.clustering import JaccardODAC
from streamml.bounds import PairedMicroF1, bernstein_gap
from streamml.ihomer.hierarchy import Position, Unit, build_positions, leaf_clusters, predict_structure, structure_key, unit_key
from streamml.schema import Row, SparseRow, frozen_row

__all__ = ["IHOMER", "default_cluster_learner", "default_node_learner", "has_own_drift"]

#: Event kinds that :meth:`IHOMER.evaluation_report` passes to the plots.
STRUCTURAL = ("split", "aggregate", "merge", "relocate", "refine", "reset", "global_drift", "switch", "reject")


#: Below this share of empty labelsets seen so far, the root is held to consistency and "auto"
#: starts from the routed rule (both assume that some label is relevant).
RARE_EMPTY_SHARE = 0.05

#: A partition whose every cluster has some relevant label in at least this share of the buffered
#: instances routes nothing: the hierarchy uses a single cluster instead (see "Deliberate deviations").
ALWAYS_RELEVANT_SHARE = 0.9

#: MLHAT's leaf-model threshold for the units (see "Deliberate deviations"); MLHAT's own default is 750.
UNIT_CARDINALITY_TH = 100

#: ``delta`` of the Bernstein bound (confidence ``1 - delta``) at which a unit's MLHAT leaf settles on its
#: logistic regressions (``MLHAT(selection_delta=...)``).
UNIT_SELECTION_DELTA = 0.01

#: The units' intercept learning rate: the rate of their regressions' weights (MLHAT's ``learning_rate``),
#: where the reference leaves the intercept at River's default 0.01 (see "Deliberate deviations").
UNIT_INTERCEPT_LR = 0.3


def _unchanged(x: Row, copy: Row) -> bool:
    """Whether the row object ``x`` still holds what was copied into ``copy`` (sparse rows are taken
    as unchanged; dense ones are compared bytewise, so that NaN matches NaN)."""
    if isinstance(x, SparseRow):
        return True
    if x.dtype == np.float64 and x.shape == copy.shape:
        return x.tobytes() == copy.tobytes()
    return np.array_equal(x, copy, equal_nan=True)


def default_node_learner() -> MultiLabelLearner:
    """MLHAT (``streamml.trees.mlhat``) with ``cardinality_th=100``, no bootstrap weights, settling
    leaves (``selection_delta=0.01``) and ``intercept_lr=0.3`` when available, else MLHT."""
    try:
        from streamml.trees.mlhat import MLHAT
    except ImportError:  # pragma: no cover - MLHAT lands separately
        from streamml.trees import MLHT

        return MLHT()
    return MLHAT(cardinality_th=UNIT_CARDINALITY_TH, bootstrap_sampling=False, selection_delta=UNIT_SELECTION_DELTA,
                 intercept_lr=UNIT_INTERCEPT_LR)


def default_cluster_learner() -> MultiLabelLearner:
    """:func:`default_node_learner` whose leaves choose between their kNN and their regressions on
    micro-F1 (``selection_metric="micro_f1"``; see "Deliberate deviations")."""
    learner = default_node_learner()
    return learner.clone({"selection_metric": "micro_f1"}) if hasattr(learner, "selection_metric") else learner


def has_own_drift(learner: MultiLabelLearner) -> bool:
    """Whether ``learner`` detects and adapts to drift itself (MLHAT: ADWIN per node, alternate trees)."""
    try:
        from streamml.trees.mlhat import MLHAT
    except ImportError:  # pragma: no cover
        return False
    return isinstance(learner, MLHAT)


class IHOMER(MultiLabelLearner):
    """iHOMER (see the module docstring for the design and the deviations).

    Parameters
    ----------
    node_learner
        Template of the units' learners (cloned, unfitted); ``None``: MLHAT with
        ``cardinality_th=100``, ``bootstrap_sampling=False`` and ``selection_delta=0.01`` (see
        "Deliberate deviations"; MLHT if MLHAT is not installed).
    cluster_learner
        Template of the learners of the leaf clusters that train only on their own instances (those
        where some label of the cluster is relevant: the clusters below the root). ``None``: the
        node learner when one is given, else :func:`default_cluster_learner` (the default node
        learner choosing its leaf models on micro-F1).
    flat
        One learner per cluster trained on every instance, predictions joined (no meta level).
    branching
        Most children of an internal position (64: in practice the root's children are the leaf
        clusters, a two-level hierarchy; a small value gives deeper hierarchies).
    confidence, n_min, tau
        ODAC's parameters (0.9, 100, 0.1).
    window
        Instances over which label co-occurrence is counted.
    min_support
        Relevant instances in the window a label needs to drive the clustering tests.
    min_cluster_size
        Smallest cluster (``None``: the most common labelset size seen so far, and at least
        ``cardinality_factor`` times the mean size of the non-empty labelsets).
    merge
        Let the clustering merge clusters whose labels start to co-occur.
    max_clusters
        Most leaf clusters (``None``: no limit).
    buffer_size
        Recent instances kept to warm-start new units and alternates.
    switch_delta
        ``1 - confidence`` of the Bernstein bound for hierarchy switches and local replacements.
    min_switch
        Instances a candidate (or alternate) must be scored on before it can win.
    max_candidate_age
        A candidate or alternate that has not won after this many instances is dropped (a rejected
        hierarchy is not built again within ``window`` instances).
    local_drift, local_delta
        Per-unit ADWIN detectors (and their ``delta``); ``None``: on only when the node learner does
        not handle drift itself (:func:`has_own_drift`; off for MLHAT).
    global_drift, global_delta
        The ADWIN on the meta-label error (and its ``delta``).
    bootstrap
        ``False`` (default): every switch is earned, the first included, starting from the single
        root. ``True``: a candidate built within the first ``buffer_size`` instances replaces the
        active hierarchy at once (see "Bootstrap" above; the default until 2026-11-27, with
        ``switch_criterion="auto"``).
    fallback
        After a bootstrap switch, keep the hierarchy it replaced on trial, judged on micro-F1, and
        let it take back over if it earns the switch (see "Fallback" above; no effect without
        ``bootstrap``).
    switch_criterion
        What a candidate hierarchy must beat the active one on: ``"micro_f1"`` (default) always;
        ``"hamming"`` always; or ``"auto"``, Hamming loss except from a global drift to the next
        switch, when it is micro-F1 (see "Restructuring without a cliff").
    consistent
        A unit reached because some label under it is predicted relevant predicts at least one
        child (meta unit) or label (leaf unit): its most probable one when it predicts none. The root
        is held to this while instances without any relevant label are rare (under 5 % so far).
    cardinality_factor
        See ``min_cluster_size`` (2.0; 0 gives the reference code's floor).
    decision
        How labels are decided from the units' outputs: ``"routed"`` (HOMER: a label is relevant
        when its leaf predicts it and every meta-label on its path was predicted), ``"marginal"``
        (when its path probability -- the product of the meta-label probabilities on the path and
        the leaf's conditional probability -- is at least 0.5), or ``"auto"`` (default): routed
        while empty labelsets are rare (under 5 %), else marginal, until the other rule matches
        labelsets exactly significantly more often (a sign test on the instances only one of them
        matched, counts faded by ``decision_fading``), and so on.
    """

    def __init__(
        self,
        node_learner: MultiLabelLearner | None = None,
        cluster_learner: MultiLabelLearner | None = None,
        flat: bool = False,
        branching: int = 64,
        confidence: float = 0.9,
        n_min: int = 100,
        tau: float = 0.1,
        window: int = 2000,
        min_support: int = 5,
        min_cluster_size: int | None = None,
        merge: bool = True,
        max_clusters: int | None = None,
        buffer_size: int = 500,
        switch_delta: float = 0.05,
        min_switch: int = 100,
        max_candidate_age: int = 1000,
        local_drift: bool | None = None,
        local_delta: float = 0.002,
        global_drift: bool = True,
        global_delta: float = 0.002,
        bootstrap: bool = False,
        fallback: bool = True,
        consistent: bool = True,
        cardinality_factor: float = 2.0,
        decision: str = "auto",
        decision_fading: float = 0.999,
        switch_criterion: str = "micro_f1",
    ) -> None:
        super().__init__()
        self.node_learner = node_learner
        self.cluster_learner = cluster_learner
        self.flat = flat
        self.branching = branching
        self.confidence = confidence
        self.n_min = n_min
        self.tau = tau
        self.window = window
        self.min_support = min_support
        self.min_cluster_size = min_cluster_size
        self.merge = merge
        self.max_clusters = max_clusters
        self.buffer_size = buffer_size
        self.switch_delta = switch_delta
        self.min_switch = min_switch
        self.max_candidate_age = max_candidate_age
        self.local_drift = local_drift
        self.local_delta = local_delta
        self.global_drift = global_drift
        self.global_delta = global_delta
        self.bootstrap = bootstrap
        self.fallback = fallback
        self.consistent = consistent
        self.cardinality_factor = cardinality_factor
        if decision not in ("routed", "marginal", "auto"):
            raise ValueError(f"decision must be 'routed', 'marginal' or 'auto', not {decision!r}")
        self.decision = decision
        self.decision_fading = decision_fading
        if switch_criterion not in ("auto", "hamming", "micro_f1"):
            raise ValueError(f"switch_criterion must be 'auto', 'hamming' or 'micro_f1', not {switch_criterion!r}")
        self.switch_criterion = switch_criterion
        self._template = node_learner if node_learner is not None else default_node_learner()
        if cluster_learner is None:
            cluster_learner = node_learner if node_learner is not None else default_cluster_learner()
        self._cluster_template = cluster_learner
        if local_drift is None:  # node learners that handle their own drift need no second layer
            local_drift = not (has_own_drift(self._template) and has_own_drift(self._cluster_template))
        self._local_drift = bool(local_drift)
        self._odac = JaccardODAC(confidence, n_min, tau, window, min_support, min_cluster_size, merge, max_clusters,
                                 cardinality_factor=cardinality_factor)
        self._active: Position | None = None
        self._candidate: Position | None = None
        self._cand_stats = [0.0, 0.0, 0.0, 0.0]
        self._cand_f1 = PairedMicroF1()
        self._judge_on_f1 = False  # from a global drift to the next switch (see "Restructuring without a cliff")
        self._fallback_trial = False  # whether the candidate on trial is the hierarchy a bootstrap switch replaced
        self._pool: dict[tuple, Unit] = {}
        self._always: list[Unit] = []
        self._by_label: dict[int, list[Unit]] = {}
        self._leaf_labels = np.zeros(0, dtype=np.intp)  # the active leaves' labels, leaf by leaf
        self._leaf_starts = np.zeros(0, dtype=np.intp)  # where each leaf's labels start in it
        self._building: dict[tuple, Unit] = {}
        self._fresh: list[Unit] = []
        self._global = ADWIN(delta=global_delta) if global_drift else None
        self._buffer: collections.deque = collections.deque(maxlen=buffer_size)
        self._n = 0
        self._n_empty = 0
        self._decision_hits = np.zeros(2)  # faded counts of instances only routed / only marginal matched
        self._marginal: bool | None = None  # "auto": None until the sign test first decides
        self._next_uid = 0
        self._change_at: int | None = None
        self._change_first: int | None = None
        self._reset_pending = False
        self._odac_seen = 0
        self._cache: tuple | None = None
        self._rejected: dict[tuple, int] = {}  # structure key -> instance index it was rejected at
        self._losing_streak = 0  # candidates rejected in a row since the last earned switch or global drift
        self._quiet_until = 0  # no candidate is built before this instance (back-off after rejections)
        #: Every event, ``{"n": instance index, "kind": ..., ...}``, in order.
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------- inspection
    def partition(self) -> list[list[int]]:
        """The clustering's current label clusters (label indices)."""
        return self._odac.partition()

    def active_partition(self) -> list[list[int]]:
        """The clusters of the hierarchy that is predicting."""
        if self._active is None:
            return []
        return sorted((sorted(int(v) for v in u.domain) for u in self._active.leaf_units()), key=lambda c: c[0])

    @property
    def clustering(self) -> JaccardODAC:
        return self._odac

    @property
    def hierarchy(self) -> Position | None:
        """The active hierarchy (``None`` before the first label)."""
        return self._active

    @property
    def candidate(self) -> Position | None:
        """The candidate hierarchy being evaluated in the background, if any."""
        return self._candidate

    def owner(self, label: int) -> Unit | None:
        """The leaf unit of the active hierarchy that predicts ``label``."""
        if self._active is None:
            return None
        for u in self._active.leaf_units():
            if label in u.domain:
                return u
        return None

    def evaluation_report(self) -> dict[str, Any]:
        kinds = collections.Counter(e["kind"] for e in self.events)
        return {
            "events": [e for e in self.events if e["kind"] in STRUCTURAL],
            "event_counts": dict(sorted(kinds.items())),
            "partition": self.active_partition(),
            "n_units": len(self._pool),
            "hierarchy": self._active.to_tree() if self._active is not None else None,
        }

    # ------------------------------------------------------------------ units
    def _new_learner(self, kind: str, always: bool) -> MultiLabelLearner:
        """A fresh learner for a unit: a leaf cluster trained only on its own instances gets the
        cluster learner, every other unit the node learner."""
        template = self._cluster_template if kind == "leaf" and not always else self._template
        return template.clone()

    def _get_unit(self, kind: str, groups: list[list[int]], always: bool) -> Unit:
        key = unit_key(kind, groups, always)
        unit = self._pool.get(key) or self._building.get(key)
        if unit is None:
            unit = Unit(kind, groups, always, self._new_learner(kind, always), self._next_uid, self.local_delta if self._local_drift else None)
            self._next_uid += 1
            self._fresh.append(unit)  # warm-started by the caller once the hierarchy is kept
        self._building[key] = unit
        return unit

    def _all_labels(self, y: np.ndarray) -> np.ndarray:
        """A buffered label vector over every label known now (labels added since are False)."""
        if y.shape[0] == self.n_labels:
            return y
        full = np.zeros(self.n_labels, bool)
        full[: y.shape[0]] = y
        return full

    def _replay(self, unit: Unit, limit: int) -> list[tuple[Row, np.ndarray]]:
        """The last ``limit`` buffered instances that ``unit`` trains on (oldest first)."""
        out = []
        for bx, by in reversed(self._buffer):
            if len(out) >= limit:
                break
            by = self._all_labels(by)
            if unit.trains_on(by):
                out.append((bx, by))
        return out[::-1]

    def _warm_start(self, unit: Unit, learner: MultiLabelLearner, limit: int) -> None:
        for bx, by in self._replay(unit, limit):
            t = unit.targets(by)
            if learner is unit.learner:
                unit.learn(bx, by, t, 1.0)
            else:
                learner.learn_row(bx, t, 1.0)

    def _warm_start_all(self, units: list[Unit]) -> None:
        """Warm-start new ``units`` on every buffered instance each trains on.

        Instance by instance rather than unit by unit (each unit sees the same instances in the same
        order either way), so that the units share each row's reduced form.
        """
        if not units:
            return
        for bx, by in self._buffer:
            by = self._all_labels(by)
            for unit in units:
                if unit.trains_on(by):
                    unit.learn(bx, by, unit.targets(by), 1.0)

    def _rebuild_pool(self) -> None:
        units: dict[int, Unit] = {}
        for root in (self._active, self._candidate):
            if root is not None:
                for u in root.units():
                    units[u.uid] = u
        self._pool = {u.key: u for u in sorted(units.values(), key=lambda u: u.uid)}
        # which units an instance trains: the ones training on everything, and those owning one of
        # its relevant labels (looked up per label: O(k) per instance, not a pass over the pool)
        self._always = [u for u in self._pool.values() if u.always]
        by_label: dict[int, list[Unit]] = {}
        for u in self._pool.values():
            if not u.always:
                for lab in u.domain.tolist():
                    by_label.setdefault(lab, []).append(u)
        self._by_label = by_label
        # the active hierarchy's leaf clusters, laid end to end, for the meta-label error (a leaf
        # unit owns at least one label, so no segment is empty)
        leaves = self._active.leaf_units() if self._active is not None else []
        sizes = np.array([u.domain.shape[0] for u in leaves], dtype=np.intp)
        self._leaf_labels = np.concatenate([u.domain for u in leaves]) if leaves else np.zeros(0, dtype=np.intp)
        self._leaf_starts = np.cumsum(sizes) - sizes

    def _training_units(self, y: np.ndarray) -> list[Unit]:
        """The units that train on an instance with labels ``y`` (in creation order)."""
        if not self._by_label:  # only units that train on everything (a single cluster, flat mode)
            return list(self._always)
        chosen = {u.uid: u for u in self._always}
        by_label = self._by_label
        for lab in np.flatnonzero(y).tolist():
            for u in by_label.get(lab, ()):
                chosen[u.uid] = u
        return [chosen[k] for k in sorted(chosen)]

    def _ensure_active(self) -> None:
        if self._active is None and self.n_labels:
            self._building, self._fresh = {}, []
            self._active = build_positions(self._routing_tree(), self.flat, self.branching, self._get_unit)
            self._warm_start_all(self._fresh)
            self._building, self._fresh = {}, []
            self._rebuild_pool()

    # ------------------------------------------------------------------ spaces
    def _on_new_labels(self, old: int, new: int) -> None:
        placed = self._odac.add_labels(new - old)
        if self._active is not None and placed:
            root_units = self._active.leaf_units()
            anchor = int(root_units[0].domain[0]) if root_units and root_units[0].domain.shape[0] else None
            for lab in placed:
                if anchor is None:
                    continue
                for u in list(self._pool.values()):
                    u.add_label(anchor, lab)
            self._rebuild_pool()
        self._cache = None

    def _place_label(self, label: int, cluster: int) -> None:
        mates = [lab for lab in self._odac._labels[cluster] if lab != label]
        if not mates:
            return
        for u in list(self._pool.values()):
            u.add_label(mates[0], label)
        self._rebuild_pool()

    # -------------------------------------------------------------- prediction
    def _compute(self, x: Row) -> tuple:
        c = self._cache
        if c is not None and c[0] is x and c[2][0].shape[0] == self.n_labels and _unchanged(x, c[1]):
            return c
        self._ensure_active()
        L = self.n_labels
        preds: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # one read-only copy for every unit: each may reuse what it (or another unit) computed from it
        fx = frozen_row(x)

        def unit_pred(u: Unit) -> tuple[np.ndarray, np.ndarray]:
            r = preds.get(u.uid)
            if r is None:
                r = preds[u.uid] = u.predict(fx)
            return r

        root_routed = self.consistent and self._empty_labelsets_rare()
        act = predict_structure(self._active, x, L, unit_pred, self.consistent, root_routed)
        cand = predict_structure(self._candidate, x, L, unit_pred, self.consistent, root_routed) if self._candidate is not None else None
        routed = act[0]
        if self._use_marginal():
            act = (act[1] >= 0.5, act[1])
            if cand is not None:
                cand = (cand[1] >= 0.5, cand[1])
        self._cache = (x, fx, act, cand, preds, routed)
        return self._cache

    def _empty_labelsets_rare(self) -> bool:
        return self._n_empty < RARE_EMPTY_SHARE * self._n

    def _use_marginal(self) -> bool:
        if self.decision == "auto":
            if self._marginal is None:  # no evidence yet: routed while empty labelsets are rare
                return self._n > 0 and not self._empty_labelsets_rare()
            return self._marginal
        return self.decision == "marginal"

    def predict_row_and_proba(self, x: Row) -> tuple[np.ndarray, np.ndarray]:
        self._fit_spaces(x, None)
        if not self.labels_:
            return np.zeros(0, dtype=bool), np.zeros(0)
        pred, proba = self._compute(x)[2]
        return pred.copy(), proba.copy()

    def _predict_proba_row(self, x: Row) -> np.ndarray:
        return self._compute(x)[2][1].copy()

    def _predict_row(self, x: Row) -> np.ndarray:
        return self._compute(x)[2][0].copy()

    # ---------------------------------------------------------------- learning
    def _event(self, kind: str, **info: Any) -> None:
        self.events.append({"n": self._n, "kind": kind, **info})

    def _learn_row(self, x: Row, y: np.ndarray, w: float) -> None:
        self._ensure_active()
        _, x, act, cand, preds, routed = self._compute(x)
        self._n += 1
        # instances only one decision rule matched exactly (faded): "auto" changes rule when the
        # other one leads by two standard deviations of a sign test on them (McNemar)
        only = self._decision_hits
        only *= self.decision_fading
        r_ok, m_ok = bool((routed == y).all()), bool(((act[1] >= 0.5) == y).all())
        if r_ok != m_ok:
            only[int(m_ok)] += 1.0
            current = self._use_marginal()
            lead = (only[0] - only[1]) if current else (only[1] - only[0])
            if lead > 2.0 * np.sqrt(only.sum()):
                self._marginal = not current
                self._event("decision", rule="marginal" if self._marginal else "routed")
        self._n_empty += not y.any()
        if self._global is not None:
            self._global_step(act[0], y)
        if cand is not None:
            d = float(np.mean(act[0] != y)) - float(np.mean(cand[0] != y))
            s = self._cand_stats
            s[0] += 1
            s[1] += d
            s[2] += d * d
            s[3] = max(s[3], abs(d))
            if self._switch_on_f1():
                self._cand_f1.update(y, act[0], cand[0])
        for unit in self._training_units(y):
            t = unit.targets(y)
            if unit.adwin is not None:
                r = preds.get(unit.uid)
                if r is None:
                    r = unit.predict(x)
                self._local_step(unit, x, t, float(np.mean(r[0] != t)))
            unit.learn(x, y, t, w)
        self._cache = None
        # into the buffer before any new unit is warm-started, so that units built now see this instance
        self._buffer.append((x, y.copy()))  # x is the read-only copy made for the units

        placed, changed = self._odac.update(np.flatnonzero(y))
        if self._reset_pending:
            self._reset_pending = False
            self._odac.reset()
        for lab, cluster in placed:
            self._place_label(lab, cluster)
        if len(self._odac.events) > self._odac_seen:
            self.events.extend(dict(e) for e in self._odac.events[self._odac_seen :])
            self._odac_seen = len(self._odac.events)
        if changed:
            self._change_at = self._n
            if self._change_first is None:
                self._change_first = self._n
        # build a candidate once the partition has held for n_min instances (a cascade of splits
        # gives one hierarchy), or at the latest window / 2 instances after the first change; not
        # while another is on trial (a churning partition would replace every candidate, each with
        # a warm start, before any was tested), nor while backing off after rejections
        if self._change_at is not None and (self._candidate is None or self._fallback_trial) and self._n >= self._quiet_until and (
            self._n - self._change_at >= self.n_min
            or (self._change_first is not None and self._n - self._change_first >= self.window // 2)
            or self._n == self.buffer_size  # the last instance at which a bootstrap switch is possible
        ):
            self._change_at = self._change_first = None
            self._start_candidate()
        elif self._candidate is not None:
            self._switch_test()

    def _global_step(self, pred: np.ndarray, y: np.ndarray) -> None:
        """Feed the global ADWIN the fraction of active leaf clusters whose relevance was mispredicted."""
        labels, starts = self._leaf_labels, self._leaf_starts
        if not starts.shape[0]:
            return
        wrong = np.logical_or.reduceat(pred[labels], starts) != np.logical_or.reduceat(y[labels], starts)
        self._global_update(np.count_nonzero(wrong) / starts.shape[0])

    def _global_update(self, error: float) -> None:
        before = self._global.estimation
        self._global.update(error)
        if self._global.drift_detected and self._global.estimation > before:  # the error rose
            self._event("global_drift", width=int(self._global.width))
            self._losing_streak, self._quiet_until = 0, 0  # a real change: candidates are worth their cost again
            self._judge_on_f1 = True
            if self._candidate is not None:  # built from the co-occurrence before the change
                self._candidate = None
                self._fallback_trial = False
                self._event("reject", reason="global drift")
                self._rebuild_pool()
            self._reset_pending = True  # done after this instance's clustering update
            # reconsider the hierarchy once the re-split has had time to happen
            self._change_at = self._n + self.n_min

    def _local_step(self, unit: Unit, x: Row, t: np.ndarray, err: float) -> None:
        if unit.alt is not None:
            ea = float(np.mean(unit.predict(x, unit.alt)[0] != t))
            s = unit.alt_stats
            d = err - ea
            s[0] += 1
            s[1] += d
            s[2] += d * d
            s[3] = max(s[3], abs(d))
            if s[0] >= self.min_switch:
                mean, bound = bernstein_gap(s[0], s[1], s[2], s[3], self.switch_delta)
                if mean > bound:
                    unit.learner, unit.alt = unit.alt, None
                    unit.adwin = ADWIN(delta=self.local_delta)
                    self._event("local_replace", unit=unit.uid, gain=mean, bound=bound, after=int(s[0]))
                    return
                if (mean < -bound and s[0] >= self.max_candidate_age / 2) or s[0] >= self.max_candidate_age:
                    unit.alt = None
                    self._event("local_prune", unit=unit.uid, gain=mean, bound=bound, after=int(s[0]))
        before = unit.adwin.estimation
        unit.adwin.update(err)
        if unit.adwin.drift_detected and unit.alt is None and unit.adwin.estimation > before:
            unit.alt = self._new_learner(unit.kind, unit.always)
            unit.alt_stats = [0.0, 0.0, 0.0, 0.0]
            kept = int(unit.adwin.width)
            self._warm_start(unit, unit.alt, kept)
            self._event("local_drift", unit=unit.uid, labels=[int(v) for v in unit.domain], kept=kept)

    def _routing_tree(self) -> Any:
        """The clustering tree the hierarchy is built from: the clustering's own, or a single cluster
        when every cluster has some relevant label in nearly every recent instance (HOMER would then
        train and visit every unit on every instance, below a root that predicts constants)."""
        tree = self._odac.tree()
        if tree is None or not tree[1] or self.flat or not self._buffer:
            return tree
        Y = np.array([self._all_labels(y) for _, y in self._buffer])
        if all(Y[:, c].any(axis=1).mean() >= ALWAYS_RELEVANT_SHARE for c in leaf_clusters(tree)):
            return (tree[0], [])
        return tree

    def _start_candidate(self) -> None:
        self._building, self._fresh = {}, []
        n_before = self._next_uid
        new = build_positions(self._routing_tree(), self.flat, self.branching, self._get_unit)
        fresh, self._building, self._fresh = self._fresh, {}, []
        key = structure_key(new)
        if key == structure_key(self._active):
            pass  # the partition came back to the active one: nothing to build
        elif key in self._rejected and self._n - self._rejected[key] < self.window:
            # the same hierarchy lost the switch test recently: do not pay for it again so soon
            self._event("skip", reason="rejected recently", at=self._rejected[key])
        else:
            if self._fallback_trial:  # a hierarchy from the newer partition takes its place on trial
                self._fallback_trial = False
                self._event("reject", reason="new candidate", after=int(self._cand_stats[0]), fallback=True)
            # new units are warm-started only now, when the candidate is kept (not for a hierarchy
            # that is the active one again, or one rejected recently)
            self._warm_start_all(fresh)
            replaced = self._active
            self._put_on_trial(new, self._next_uid - n_before)
            if self.bootstrap and self._n <= self.buffer_size:
                # Bootstrap: the buffer holds every instance seen so far, so the candidate's new units
                # were warm-started on the active hierarchy's whole history; it has nothing to earn.
                self._active, self._candidate = new, None
                self._event("switch", gain=0.0, bound=0.0, after=0, clusters=self.active_partition(), bootstrap=True)
                if self._global is not None:  # the meta-label error of another hierarchy is a new series
                    self._global = ADWIN(delta=self.global_delta)
                if self.fallback and replaced is not None:
                    # the replaced hierarchy stays on trial: it takes back over if it earns the switch
                    self._put_on_trial(replaced, 0, fallback=True)
        self._rebuild_pool()

    def _put_on_trial(self, candidate: Position, new_units: int, fallback: bool = False) -> None:
        """Make ``candidate`` the hierarchy on trial, with fresh paired statistics."""
        self._candidate = candidate
        self._fallback_trial = fallback
        self._cand_stats = [0.0, 0.0, 0.0, 0.0]
        self._cand_f1 = PairedMicroF1()
        self._event("candidate", clusters=[sorted(int(v) for v in u.domain) for u in candidate.leaf_units()],
                    new_units=new_units, **({"fallback": True} if fallback else {}))

    def _reject(self, hierarchy: Position) -> None:
        """Record that ``hierarchy`` lost (not rebuilt within ``window`` instances) and back off: the
        r-th rejection in a row holds the next candidate back for ``window * 2^(r-1)`` instances; the
        partition changes made meanwhile go into that one candidate."""
        self._rejected[structure_key(hierarchy)] = self._n
        self._losing_streak += 1
        self._quiet_until = self._n + self.window * 2 ** (self._losing_streak - 1)

    def _switch_on_f1(self) -> bool:
        if self._fallback_trial and self.switch_criterion != "hamming":
            return True
        if self.switch_criterion == "auto":
            return self._judge_on_f1
        return self.switch_criterion == "micro_f1"

    def _switch_test(self) -> None:
        s = self._cand_stats
        if s[0] < self.min_switch:
            return
        criterion = "micro_f1" if self._switch_on_f1() else "hamming"
        if criterion == "micro_f1":
            mean, bound = self._cand_f1.gap(self.switch_delta)
        else:
            mean, bound = bernstein_gap(s[0], s[1], s[2], s[3], self.switch_delta)
        fallback = self._fallback_trial
        won = mean > bound
        lost = (mean < -bound and s[0] >= self.max_candidate_age / 2) or s[0] >= self.max_candidate_age
        if fallback and won and s[0] < self.max_candidate_age / 2:
            return  # the new hierarchy's units are warming up: the grace a candidate gets for its deficit
        if not (won or lost):
            return
        self._fallback_trial = False
        if won and fallback:
            # the bootstrap hierarchy has lost to what it replaced: a rejection like any other
            self._reject(self._active)
            self._active, self._candidate = self._candidate, None
            # a hierarchy comes back only by beating it on the criterion it lost on
            self._judge_on_f1 = criterion == "micro_f1"
            self._event("switch", gain=mean, bound=bound, after=int(s[0]), clusters=self.active_partition(), criterion=criterion,
                        fallback=True, quiet_until=self._quiet_until)
        elif won:
            self._active, self._candidate = self._candidate, None
            self._losing_streak = 0
            self._judge_on_f1 = False
            self._event("switch", gain=mean, bound=bound, after=int(s[0]), clusters=self.active_partition(), criterion=criterion)
        elif fallback:
            # the bootstrap hierarchy keeps its place; no back-off: no hierarchy from the partition has lost
            self._rejected[structure_key(self._candidate)] = self._n
            self._candidate = None
            self._event("reject", gain=mean, bound=bound, after=int(s[0]), criterion=criterion, fallback=True)
        else:
            self._reject(self._candidate)
            self._candidate = None
            self._event("reject", gain=mean, bound=bound, after=int(s[0]), quiet_until=self._quiet_until, criterion=criterion)
        self._rebuild_pool()
        if self._global is not None:
            self._global = ADWIN(delta=self.global_delta)

    # -------------------------------------------------------------- persistence
    def _get_state(self) -> dict[str, Any]:
        def pos_state(p: Position | None) -> Any:
            if p is None:
                return None
            return {"unit": -1 if p.unit is None else p.unit.uid, "children": [pos_state(c) for c in p.children]}

        units: dict[int, Unit] = {u.uid: u for u in self._pool.values()}
        buf = []
        for bx, by in self._buffer:
            if isinstance(bx, SparseRow):
                buf.append({"indices": bx.indices, "values": bx.values, "size": int(bx.size), "y": by})
            else:
                buf.append({"x": bx, "y": by})
        return {
            "odac": self._odac.get_state(),
            "units": [units[k].get_state() for k in sorted(units)],
            "active": pos_state(self._active),
            "candidate": pos_state(self._candidate),
            "cand_stats": list(self._cand_stats),
            "cand_f1": self._cand_f1.sums.tolist(),
            "judge_on_f1": self._judge_on_f1,
            "fallback_trial": self._fallback_trial,
            "global": self._global,
            "buffer": buf,
            "n": self._n,
            "n_empty": self._n_empty,
            "decision_hits": self._decision_hits,
            "marginal": self._marginal,
            "next_uid": self._next_uid,
            "change_at": self._change_at,
            "change_first": self._change_first,
            "odac_seen": self._odac_seen,
            "losing_streak": self._losing_streak,
            "quiet_until": self._quiet_until,
            "events": self.events,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self._odac.set_state(state["odac"])
        units = {u.uid: u for u in (Unit.from_state(s) for s in state["units"])}

        def build(s: Any) -> Position | None:
            if s is None:
                return None
            return Position(None if s["unit"] < 0 else units[int(s["unit"])], [build(c) for c in s["children"]])

        self._active = build(state["active"])
        self._candidate = build(state["candidate"])
        self._cand_stats = [float(v) for v in state["cand_stats"]]
        self._cand_f1 = PairedMicroF1.from_sums(state["cand_f1"]) if "cand_f1" in state else PairedMicroF1()
        self._judge_on_f1 = bool(state.get("judge_on_f1", False))
        self._fallback_trial = bool(state.get("fallback_trial", False))
        self._global = state["global"]
        self._buffer = collections.deque(maxlen=self.buffer_size)
        for item in state["buffer"]:
            y = np.asarray(item["y"], dtype=bool)
            if "x" in item:
                self._buffer.append((np.asarray(item["x"], dtype=np.float64), y))
            else:
                self._buffer.append((SparseRow(np.asarray(item["indices"], np.int32), np.asarray(item["values"], np.float64), int(item["size"])), y))
        self._n = int(state["n"])
        self._n_empty = int(state.get("n_empty", 0))
        self._decision_hits = np.asarray(state.get("decision_hits", np.zeros(2)), dtype=np.float64).copy()
        self._marginal = state.get("marginal")
        self._next_uid = int(state["next_uid"])
        self._change_at = None if state["change_at"] is None else int(state["change_at"])
        self._change_first = None if state["change_first"] is None else int(state["change_first"])
        self._odac_seen = int(state["odac_seen"])
        self._losing_streak = int(state.get("losing_streak", 0))
        self._quiet_until = int(state.get("quiet_until", 0))
        self.events = list(state["events"])
        self._cache = None
        self._rebuild_pool()
