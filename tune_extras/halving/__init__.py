"""Framework-free core (halving). Imports neither optuna nor ray."""
