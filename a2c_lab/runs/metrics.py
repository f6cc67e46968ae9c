"""Metric names and run-folder files, defined once.

Every sink (the local CSV files, W&B, the comparison report) uses these names, so a
column in ``updates.csv`` and a chart in W&B are the same string. Namespaces follow
CleanRL's habit: ``charts/`` for what the agent experiences, ``losses/`` for the
update's diagnostics, ``eval/`` for greedy evaluation, ``summary/`` for end-of-run
figures. The x-axis of everything is ``env_step``: real environment transitions summed
over all envs (the fake reset steps of NEXT_STEP autoreset are not counted).

A run folder holds:

``episodes.csv``   one row per finished training episode: EPISODE_COLUMNS
``updates.csv``    one row per update (or per ``logger.update_rows`` updates): UPDATE_COLUMNS, or
                   GAUSSIAN_UPDATE_COLUMNS for a Gaussian policy (Box actions)
``eval.csv``       one row per greedy evaluation: EVAL_COLUMNS
``summary.json``   SUMMARY_KEYS plus ``status`` (written at the end of the run)
``status.json``    the run's status, reason, signal, env step and update (a2c_lab.runs.run_folder)
``run_config.yaml`` the config these metrics belong to, written by the run (a2c_lab.runs.run_folder)
``meta.json``      git commit, dirty flag, package versions, start time, host
``model.pt``       final network weights of the seed (``state_dict``, nn.Linear layout)
``checkpoint.pt``  the seed's state to resume from, the previous one in ``checkpoint.prev.pt``
                   (a2c_lab.runs.checkpoint)
``.hydra/``        Hydra's resolved config, overrides and hydra config (rewritten by any later
                   command pointed at the folder: ``run_config.yaml`` is the authoritative one)

The CSV files are flushed after every update, so a run killed with SIGKILL keeps
every row up to its last completed update.
"""

ENV_STEP = "env_step"
WALL_TIME = "wall_time"  # seconds since the start of training

EPISODE_RETURN = "charts/episode_return"
EPISODE_LENGTH = "charts/episode_length"
EPISODE_COLUMNS = (ENV_STEP, WALL_TIME, EPISODE_RETURN, EPISODE_LENGTH)

POLICY_LOSS = "losses/policy"
VALUE_LOSS = "losses/value"
ENTROPY = "losses/entropy"
TOTAL_LOSS = "losses/total"
GRAD_NORM = "losses/grad_norm"  # global L2 norm of all gradients, before clipping
EXPLAINED_VARIANCE = "losses/explained_variance"
ADVANTAGE_MEAN = "losses/advantage_mean"  # before normalisation
ADVANTAGE_STD = "losses/advantage_std"  # before normalisation
LEARNING_RATE = "charts/learning_rate"  # actor's (split) or the one optimizer's (shared)
SPS = "charts/sps"  # env steps per second since the start of training
UPDATE_COLUMNS = (
    ENV_STEP, WALL_TIME, POLICY_LOSS, VALUE_LOSS, ENTROPY, TOTAL_LOSS, GRAD_NORM,
    EXPLAINED_VARIANCE, ADVANTAGE_MEAN, ADVANTAGE_STD, LEARNING_RATE, SPS,
)
POLICY_STD = "charts/policy_std"  # a Gaussian policy's standard deviation, the mean over action dimensions
GAUSSIAN_UPDATE_COLUMNS = (*UPDATE_COLUMNS, POLICY_STD)  # updates.csv of a run with Box actions

EVAL_RETURN_MEAN = "eval/return_mean"
EVAL_RETURN_STD = "eval/return_std"
EVAL_LENGTH_MEAN = "eval/length_mean"
EVAL_COLUMNS = (ENV_STEP, WALL_TIME, EVAL_RETURN_MEAN, EVAL_RETURN_STD, EVAL_LENGTH_MEAN)

LAST100_RETURN = "summary/last100_return"  # mean return of the last 100 episodes
LAST20_RETURN = "summary/last20_return"  # the notebook's own metric
BEST_RETURN = "summary/best_return"  # best single-episode return
AUC = "summary/auc"  # mean of the last-20 learning curve over the env-step axis
STEPS_TO_THRESHOLD = "summary/steps_to_threshold"  # first env step with last-100 mean >= threshold, or null
EPISODES = "summary/episodes"
TOTAL_ENV_STEPS = "summary/env_steps"
TOTAL_WALL_TIME = "summary/wall_time"
FINAL_SPS = "summary/sps"
SUMMARY_KEYS = (
    LAST100_RETURN, LAST20_RETURN, BEST_RETURN, AUC, STEPS_TO_THRESHOLD, EPISODES,
    TOTAL_ENV_STEPS, TOTAL_WALL_TIME, FINAL_SPS,
)

EPISODES_FILE = "episodes.csv"
UPDATES_FILE = "updates.csv"
EVAL_FILE = "eval.csv"
SUMMARY_FILE = "summary.json"
STATUS_FILE = "status.json"
META_FILE = "meta.json"
MODEL_FILE = "model.pt"
