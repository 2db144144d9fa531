"""What one trial needs, how many fit on the cluster, and what to do when none fits.

:class:`TrialResources` is the validated ``resources_per_trial``; :meth:`TrialResources.slots_on`
counts the trials one node holds. :class:`ClusterWatch` reads the live nodes (``ray.nodes()``) at
most every ``refresh_s`` seconds and raises as soon as no node can hold a trial for longer than the
allowed wait: at once on a fixed-size cluster (a ``{"gpu": 1}`` trial on a CPU-only cluster would
otherwise wait forever), with a warning and a bounded wait where an autoscaler may add a node.
Ray counts resources in units of 1/10000 (``ray._raylet`` fixed point), so slots are counted in
those units too: ``0.3 / 0.1`` is 3 slots, not 2.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tune_extras._validation import check_real

logger = logging.getLogger("tune_extras.ray")

#: Default wait (seconds) for a node that fits a trial when an autoscaler is detected: about what
#: a cloud GPU node takes to join.
AUTOSCALER_WAIT_S = 600.0
_UNITS = 10_000  # Ray's fixed-point resolution of resource quantities
_RAY_NAMES = {"cpu": "CPU", "gpu": "GPU"}


class NoNodeFitsError(RuntimeError):
    """No node of the Ray cluster could hold a trial for as long as ``optimize`` may wait."""


@dataclass(frozen=True)
class TrialResources:
    """The Ray resources one trial holds: ``cpu`` and ``gpu`` (fractions allowed up to 1)."""

    cpu: float = 1.0
    gpu: float = 0.0

    @classmethod
    def parse(cls, resources: Mapping[str, Any] | None) -> TrialResources:
        """From ``resources_per_trial`` (``None``: one CPU); a ValueError names what is wrong."""
        given = dict(resources or {})
        unknown = sorted(set(given) - set(_RAY_NAMES))
        if unknown:
            raise ValueError(f"resources_per_trial takes 'cpu' and 'gpu', got {unknown}")
        merged = {"cpu": 1.0, **given}
        for name, value in merged.items():
            number = check_real(f"resources_per_trial[{name!r}]", value, low=0.0)
            if number > 1 and not number.is_integer():
                raise ValueError(
                    f"resources_per_trial[{name!r}] above 1 must be a whole number (Ray's rule), "
                    f"got {value!r}"
                )
        if not any(float(v) > 0 for v in merged.values()):
            raise ValueError(f"resources_per_trial needs a positive 'cpu' or 'gpu', got {given}")
        return cls(cpu=float(merged["cpu"]), gpu=float(merged.get("gpu", 0.0)))

    def as_dict(self) -> dict[str, float]:
        """``{"cpu": ..., "gpu": ...}`` without zero entries (for messages)."""
        return {k: v for k, v in (("cpu", self.cpu), ("gpu", self.gpu)) if v > 0}

    def ray_options(self) -> dict[str, float]:
        """The task options that hold these resources."""
        return {"num_cpus": self.cpu, "num_gpus": self.gpu}

    def slots_on(self, node: Mapping[str, float]) -> int:
        """How many trials fit at once on a node with total resources ``node`` (Ray's names)."""
        slots = math.inf
        for name, need in self.as_dict().items():
            have = round(float(node.get(_RAY_NAMES[name], 0.0)) * _UNITS)
            slots = min(slots, have // round(need * _UNITS))
        return int(slots)


def cluster_slots(resources: TrialResources, nodes: list[dict[str, Any]]) -> int:
    """Trials that fit at once on the alive ``nodes`` (as ``ray.nodes()`` lists them)."""
    return sum(resources.slots_on(n.get("Resources", {})) for n in nodes if n.get("Alive"))


def describe_nodes(nodes: list[dict[str, Any]]) -> str:
    """``"2 alive nodes: {'CPU': 2, 'GPU': 0}, {'CPU': 1, 'GPU': 0}"`` for error messages."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    shown = ", ".join(
        "{" + ", ".join(f"'{k}': {r.get(k, 0):g}" for k in ("CPU", "GPU")) + "}" for r in alive
    )
    return f"{len(alive)} alive node{'s' if len(alive) != 1 else ''}" + (
        f": {shown}" if shown else ""
    )


def autoscaler_fits(resources: TrialResources) -> bool | None:
    """Whether the cluster's autoscaler can add a node that holds one trial.

    ``True``/``False`` from the node types of Ray's autoscaler v2 (the cluster config it keeps in
    the GCS); ``True`` where the cluster launcher's ``~/ray_bootstrap_config.yaml`` exists (the
    autoscaler v1 that Ray Tune detects the same way; its node types are not read); ``None`` when
    no autoscaler is detected (KubeRay's v1 autoscaler is not: pass ``resource_timeout`` there).
    """
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception:  # a private API: absent or changed in another Ray version
        config = None
    if config is not None and config.node_group_configs:
        return any(
            group.max_count != 0 and resources.slots_on(dict(group.resources)) > 0
            for group in config.node_group_configs
        )
    if Path("~/ray_bootstrap_config.yaml").expanduser().exists():
        return True
    return None


class ClusterWatch:
    """The cluster's room for trials, and the rule for a cluster where no node fits one.

    Args:
        resources: One trial's resources.
        wait: Seconds to wait for a node that fits one trial when none does (``None``:
            :data:`AUTOSCALER_WAIT_S` where :func:`autoscaler_fits` says an autoscaler can add one,
            else 0: raise at once).
        nodes: Reads the nodes (default ``ray.nodes``); a parameter for tests.
        autoscaler: Detects an autoscaler (default :func:`autoscaler_fits`).
        clock: Monotonic seconds (default ``time.monotonic``).
        refresh_s: Read the nodes at most this often (seconds) unless forced.
    """

    def __init__(
        self,
        resources: TrialResources,
        wait: float | None = None,
        *,
        nodes: Callable[[], list[dict[str, Any]]] | None = None,
        autoscaler: Callable[[TrialResources], bool | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = 1.0,
    ) -> None:
        if nodes is None:
            import ray

            nodes = ray.nodes
        self.resources = resources
        self._autoscaler = (autoscaler or autoscaler_fits)(resources)
        self.autoscaling = self._autoscaler is True
        if wait is None:
            wait = AUTOSCALER_WAIT_S if self.autoscaling else 0.0
        self.wait = check_real("resource_timeout", wait, low=0.0)
        self._nodes = nodes
        self._clock = clock
        self._refresh_s = refresh_s
        self._read_at = -math.inf
        self._slots = 0
        self._seen_room = False
        self._short_since: float | None = None
        self._described = ""

    @property
    def slots(self) -> int:
        """Trials that fit at once on the nodes as last read."""
        return self._slots

    def refresh(self, force: bool = False) -> int:
        """Read the nodes (if ``refresh_s`` passed, or ``force``); return the slots."""
        now = self._clock()
        if force or now - self._read_at >= self._refresh_s:
            nodes = self._nodes()
            self._slots = cluster_slots(self.resources, nodes)
            self._described = describe_nodes(nodes)
            self._read_at = now
        return self._slots

    def check(self, force: bool = False) -> int:
        """The slots; a ValueError/RuntimeError once no node fitted a trial for over ``wait`` s.

        ValueError when no node ever fitted and no wait is allowed (the resources are wrong for
        this cluster); :class:`NoNodeFitsError` (a RuntimeError) when the wait ran out or the
        last fitting node left.
        """
        slots = self.refresh(force)
        if slots > 0:
            self._seen_room = True
            self._short_since = None
            return slots
        now = self._clock()
        if self._short_since is None:
            self._short_since = now
            if self.wait > 0:
                logger.warning(
                    "No node of the Ray cluster can hold a trial's resources %s now (%s); "
                    "waiting up to %g s for one%s.",
                    self.resources.as_dict(),
                    self._described,
                    self.wait,
                    " (autoscaler detected)" if self.autoscaling else "",
                )
        if now - self._short_since >= self.wait:
            raise self._error()
        return 0

    def _error(self) -> Exception:
        wanted = self.resources.as_dict()
        if self.wait > 0:
            added = "; the autoscaler added none that fits" if self.autoscaling else ""
            return NoNodeFitsError(
                f"no node of the Ray cluster could hold a trial's resources {wanted} for "
                f"{self.wait:g} s ({self._described}){added}"
            )
        if self._seen_room:
            return NoNodeFitsError(
                f"the Ray cluster lost every node that could hold a trial's resources {wanted} "
                f"({self._described} left); pass resource_timeout=SECONDS to wait for one"
            )
        autoscaler = (
            "and no node type of its autoscaler has them"
            if self._autoscaler is False
            else "no autoscaler detected; if one runs, pass resource_timeout=SECONDS to wait"
        )
        return ValueError(
            f"resources_per_trial={wanted} fits on no node of the Ray cluster "
            f"({self._described}), so no trial could ever start: ask for less, or add a node "
            f"that has them ({autoscaler})"
        )
