"""Run an Optuna study on a Ray cluster: the entry point of the cluster recipes in this folder.

    python -m tune_extras.integrations.study_on_ray --storage sqlite:///study.db --study demo \\
        --n-trials 200 --gpus-per-trial 1 --address auto

On a Ray cluster (``ray up integrations/ray_cluster.yaml`` then ``ray submit``, or the KubeRay
``integrations/kuberay_job.yaml``) it runs the tune-extras demo objective (a small torch MLP) with
``tune_extras.ray.optimize``: one trial per GPU (or per CPU), the study stored by the driver, pruned
by tune-extras' successive halving, and prints the analyzer's report. Replace ``objective`` with your
own to run your study the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    import optuna

    from tune_extras.analysis import analyze
    from tune_extras.demo import objective_factory
    from tune_extras.optuna import SuccessiveHalvingPruner
    from tune_extras.ray import optimize
    from tune_extras.ray._resources import NoNodeFitsError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:///study_on_ray.db")
    parser.add_argument("--study", default="study-on-ray")
    parser.add_argument("--n-trials", type=int, default=200)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--address", default=None, help='"auto" on a cluster; default: local')
    parser.add_argument("--max-retries", type=int, default=2, help="re-runs of a lost trial")
    parser.add_argument(
        "--resource-timeout",
        type=float,
        default=None,
        help="seconds to wait for a node that fits a trial (default: 600 where an autoscaler "
        "is detected, else fail at once)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=args.storage,
        study_name=args.study,
        sampler=optuna.samplers.RandomSampler(seed=args.seed),
        pruner=SuccessiveHalvingPruner(),
        load_if_exists=True,
    )
    try:
        optimize(
            study,
            objective_factory(args.seed),
            n_trials=args.n_trials,
            resources_per_trial={"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial},
            max_retries=args.max_retries,
            resource_timeout=args.resource_timeout,
            address=args.address,
        )
    except (ValueError, NoNodeFitsError) as error:  # resources the cluster lacks, bad arguments
        print(f"error: {error}", file=sys.stderr)
        return 2
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) >= 20:
        print(analyze(study).to_text())
    else:
        print(f"{len(complete)} trials completed; the report needs at least 20")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
