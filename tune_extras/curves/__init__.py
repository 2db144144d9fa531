"""Framework-free core (curves). Imports neither optuna nor ray."""
