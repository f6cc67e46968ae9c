"""Command line: ``python -m a2c_lab.run [-m] key=value ...`` (Hydra)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from a2c_lab.config import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    # Imported here, in the process that trains: a launcher's parent process (joblib,
    # submitit) then never pays torch's import (about 1.5 s) before starting its workers.
    from a2c_lab.trainer import train

    if cfg.seeds:  # a group: several seeds, each in its own run folder (a2c_lab.groups)
        from a2c_lab.groups import run_group
        return run_group(cfg)
    summary = train(cfg)
    return summary.get("summary/last100_return")


if __name__ == "__main__":
    main()
