"""Command line: ``python -m a2c_lab.run [-m] key=value ...`` (Hydra).

A single run's exit code says how it ended (a2c_lab.runs.outcomes): 0 finished, 1 failed, 2 a
config error or a folder that holds another run (one message, no traceback), 3 diverged,
128 + n a signal n. A group (``seeds=[...]``) ends with 3 if a seed diverged. In a multirun the
same endings are recorded in each job's folder and do not stop the other jobs, except a signal,
which stops the sweep; the grouping sweeper (a2c_lab.sweeps.sweeper) then sets the exit code.
"""

from __future__ import annotations

import os
import sys

import hydra
from omegaconf import DictConfig

from a2c_lab.config import ConfigError, register_configs
from a2c_lab.runs.outcomes import (LAUNCHER_PID_VAR, Diverged, Interrupted, exit_by_signal, forward_signals_to_children,
                                   outcome_of)
from a2c_lab.runs.run_folder import FolderTaken

register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | list | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    # Imported here, in the process that trains: a launcher's parent process (joblib,
    # submitit) then never pays torch's import (about 1.5 s) before starting its workers.
    from a2c_lab.training.trainer import train

    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    launch_dir = hydra_cfg.sweep.dir if multirun else run_dir  # names the W&B group: the whole launch
    try:
        if cfg.seeds:  # a group: several seeds as one computation, each in its own run folder
            from a2c_lab.sweeps.groups import run_group

            results = run_group(cfg, launch_dir)
            diverged = [r for r in results if isinstance(r, Diverged)]
            if diverged:
                raise Diverged(f"{len(diverged)} of {len(results)} seeds diverged (each recorded in its folder): "
                               + "; ".join(str(d) for d in diverged))
            return [r.get("summary/last100_return") for r in results]
        summary = train(cfg, run_dir, list(hydra_cfg.overrides.task), launch_dir)
    except (ConfigError, FolderTaken, Diverged) as err:
        print(f"a2c-lab: {err}\n  run folder: {run_dir}", file=sys.stderr)
        if multirun:
            raise  # recorded in the folder; the sweeper goes on with the other jobs
        sys.exit(outcome_of(err).exit_code)
    except Interrupted as err:
        print(f"a2c-lab: {err}; status 'interrupted' in {run_dir}", file=sys.stderr)
        if os.getpid() != int(os.environ.get(LAUNCHER_PID_VAR, os.getpid())):
            exit_by_signal(err.signum)  # a launcher's worker: die by the signal, as it asked
        raise
    return summary.get("summary/last100_return")


def cli() -> None:
    """The launching process: forwards SIGINT, SIGTERM and SIGHUP to launcher workers, and exits
    with 128 + n after a signal n."""
    os.environ[LAUNCHER_PID_VAR] = str(os.getpid())
    forward_signals_to_children()
    try:
        main()
    except Interrupted as err:
        sys.exit(outcome_of(err).exit_code)


if __name__ == "__main__":
    cli()
