"""Command line: ``python -m a2c_lab.run [-m] key=value ...`` (Hydra)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from a2c_lab.config import register_configs
from a2c_lab.trainer import train

register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    summary = train(cfg)
    return summary.get("summary/last100_return")


if __name__ == "__main__":
    main()
