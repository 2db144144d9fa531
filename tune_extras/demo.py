"""The demo: a real random-search Optuna study that trains small torch models, then the report.

Each trial trains a two-layer MLP with SGD on a generated 4-class problem (a random "teacher" network
labels Gaussian inputs, with label noise) and returns the validation cross-entropy, reporting it
after each epoch. Trials run ``n_jobs`` at a time in threads, each with one torch thread (so two
trials use two cores, and they do not fight over them); each trial's weights and batches come from
its own generator seeded by ``(seed, trial number)``. A progress bar (Optuna's, tqdm) shows the
trials done; the default 300 trials take about a minute on 2 cores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tune_extras._validation import check_int

N_FEATURES = 20
N_CLASSES = 4


def make_data(seed: int = 0, n: int = 4500) -> tuple[Any, Any, Any, Any]:
    """Teacher-labelled Gaussian data split 2:1 into train and validation tensors."""
    import torch

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_FEATURES)).astype(np.float32)
    w1 = rng.standard_normal((N_FEATURES, 32)) / np.sqrt(N_FEATURES)
    w2 = rng.standard_normal((32, N_CLASSES))
    logits = np.tanh(x @ w1) @ w2 * 2.0
    labels = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    split = 2 * n // 3
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
    return xt[:split], yt[:split], xt[split:], yt[split:]


def objective_factory(seed: int = 0, epochs: int = 8) -> Any:
    """An Optuna objective training an MLP; reports validation loss per epoch (prunable)."""
    import torch

    x_train, y_train, x_val, y_val = make_data(seed)

    def objective(trial: Any) -> float:
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        weight_decay = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
        hidden = trial.suggest_int("hidden", 8, 128, log=True)
        batch_size = trial.suggest_categorical("batch_size", [32, 64, 128, 256])
        generator = torch.Generator().manual_seed(seed * 100_003 + trial.number)
        layers = [torch.nn.Linear(N_FEATURES, hidden), torch.nn.Linear(hidden, N_CLASSES)]
        model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1])
        with torch.no_grad():  # torch's default init, from the trial's own generator
            for layer in layers:
                bound = 1.0 / float(np.sqrt(layer.in_features))
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
        optimizer = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
        )
        loss_fn = torch.nn.functional.cross_entropy
        val_loss = float("nan")
        for epoch in range(epochs):
            order = torch.randperm(len(x_train), generator=generator)
            for start in range(0, len(x_train), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(x_train[batch]), y_train[batch])
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
            with torch.no_grad():
                val_loss = float(loss_fn(model(x_val), y_val))
            if not np.isfinite(val_loss):
                return float("nan")  # diverged: Optuna records the trial as failed
            trial.report(val_loss, epoch + 1)
        return val_loss

    return objective


def run_demo(
    storage: str = "sqlite:///tune_extras_demo.db",
    study_name: str = "tune-extras-demo",
    n_trials: int = 300,
    seed: int = 0,
    n_jobs: int = 2,
    progress: bool = True,
) -> Any:
    """Run (or resume) the random-search study up to ``n_trials`` finished trials; return the study.

    Args:
        storage: Optuna storage URL the study is written to.
        study_name: Its name (an existing study of that name is resumed).
        n_trials: Finished trials wanted (>= 1).
        seed: Seed of the sampler, the data and every trial's weights and batches.
        n_jobs: Trials run at once, in threads, each with one torch thread (>= 1).
        progress: Show Optuna's progress bar (tqdm, on standard error).
    """
    import optuna
    import torch

    check_int("n_trials", n_trials, low=1)
    check_int("n_jobs", n_jobs, low=1)
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        direction="minimize",
        load_if_exists=True,
    )
    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if done < n_trials:
        study.optimize(
            objective_factory(seed), n_trials=n_trials - done, n_jobs=n_jobs,
            show_progress_bar=progress,
        )
    return study
