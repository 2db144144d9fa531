"""Names of the trial attributes tune-extras writes, shared by the samplers and the analyzer."""

from __future__ import annotations

#: User attribute set to ``True`` on a trial whose parameters were drawn i.i.d. from the search
#: distribution (by :class:`tune_extras.optuna.RandomShareSampler`): the analyzer fits such trials
#: alone, as a valid random-search sample, when a study has them.
RANDOM_DRAW_ATTR = "tune_extras.random_draw"
