"""Hydra plugin: the grouping sweeper, ``hydra/sweeper=grouping`` (a2c-lab's default).

Hydra instantiates a sweeper only from the ``hydra_plugins`` namespace package, and imports
every module in it at start-up, in every Hydra program of the environment. So this module is
thin and imports nothing from a2c_lab until a sweep starts; the logic is in ``a2c_lab.sweeps.sweeper``.
"""

# No ``from __future__ import annotations``: Hydra's scanner runs this module before it is in
# sys.modules, and dataclasses then cannot resolve string annotations.
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper


@dataclass
class GroupingSweeperConf:
    _target_: str = "hydra_plugins.a2c_lab_sweeper.GroupingSweeper"
    group_size: Optional[int] = None  # most seeds per group; null = fill the launcher's parallel slots evenly
    params: Optional[Dict[str, str]] = None  # sweep overrides kept in a config, as hydra/sweeper=basic has them


ConfigStore.instance().store(group="hydra/sweeper", name="grouping", node=GroupingSweeperConf, provider="a2c_lab")


class GroupingSweeper(Sweeper):
    """Runs the jobs that differ only in ``seed`` as one group job each; see a2c_lab.sweeps.sweeper."""

    def __init__(self, group_size: Optional[int] = None, params: Optional[Dict[str, str]] = None):
        self.group_size = group_size
        self.params = params or {}
        self.hydra_context = None
        self.config = None
        self.launcher = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        from a2c_lab.sweeps.sweeper import run_sweep

        result = run_sweep(arguments, config=self.config, config_loader=self.hydra_context.config_loader,
                           launcher=self.launcher, group_size=self.group_size, params=self.params)
        if result.exit_code:
            sys.exit(result.exit_code)  # 1: some job did not finish; 2: a bad config, nothing ran
        return result.returns
