"""How a run ends: the exceptions that stop one, the status and exit code of each, and the
signal handling that turns SIGINT, SIGTERM and SIGHUP into an orderly stop.

==========================  ================  =====================================
what stopped the run        status.json       exit code of a single run
==========================  ================  =====================================
nothing: total_steps        finished          0
a config error              not_started       2 (before training; nothing else written)
a non-finite number         diverged          3
a signal n                  interrupted       128 + n (SIGINT 130, SIGTERM 143, SIGHUP 129)
the preemption signal n     preempted         128 + n (SIGUSR2 140), then submitit's handler
any other error             failed            1
==========================  ================  =====================================
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable

from a2c_lab.config import ConfigError
from a2c_lab.runs.run_folder import (EXIT_CONFIG_ERROR, EXIT_DIVERGED, EXIT_FAILED, EXIT_SIGNAL_BASE, FolderTaken,
                                     Status)

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PREEMPT_SIGNAL_VAR = "SUBMITIT_PREEMPT_SIGNAL"  # submitit's: the signal that checkpoints and requeues (USR2)


def preemption_signal() -> int:
    """The signal submitit checkpoints and requeues on: SIGUSR2, or ``SUBMITIT_PREEMPT_SIGNAL`` (``TERM``)."""
    name = os.environ.get(PREEMPT_SIGNAL_VAR, "USR2").strip().upper()
    return int(getattr(signal, name if name.startswith("SIG") else f"SIG{name}", signal.SIGUSR2))


class Diverged(RuntimeError):
    """A loss, the gradient norm or a parameter became non-finite."""

    def __init__(self, what: str, update: int | None = None, env_step: int | None = None):
        self.what, self.update, self.env_step = what, update, env_step
        super().__init__(self._message())

    def _message(self) -> str:
        where = "" if self.update is None else f" at update {self.update} (env step {self.env_step})"
        return (f"diverged{where}: {self.what}; the metrics up to the last good update are kept, "
                "and nothing after it is trained or logged")


class Interrupted(BaseException):
    """A signal asked the run to stop. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way out swallows it."""

    def __init__(self, signum: int, preempted: bool = False):
        self.signum = signum
        self.preempted = preempted  # the scheduler's preemption signal, with its handler installed
        super().__init__(f"{'preempted' if preempted else 'interrupted'} by {signal.Signals(signum).name}")


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str | None
    exit_code: int
    signal: str | None = None


def outcome_of(error: BaseException | None) -> Outcome:
    """The status and exit code for a run that ended with ``error`` (None: it finished)."""
    if error is None:
        return Outcome(Status.finished, None, 0)
    if isinstance(error, (ConfigError, FolderTaken)):
        return Outcome(Status.not_started, str(error), EXIT_CONFIG_ERROR)
    if isinstance(error, Diverged):
        return Outcome(Status.diverged, str(error), EXIT_DIVERGED)
    signum = error.signum if isinstance(error, Interrupted) else (
        signal.SIGINT if isinstance(error, KeyboardInterrupt) else None)
    if signum is not None:
        name = signal.Signals(signum).name
        if isinstance(error, Interrupted) and error.preempted:
            return Outcome(Status.preempted, f"preempted by {name} (to be requeued)", EXIT_SIGNAL_BASE + signum, name)
        return Outcome(Status.interrupted, f"interrupted by {name}", EXIT_SIGNAL_BASE + signum, name)
    return Outcome(Status.failed, f"{type(error).__name__}: {error}", EXIT_FAILED)


def _foreign(handler: object) -> bool:
    """A program's own handler (submitit's), not Python's defaults and not a2c-lab's."""
    return callable(handler) and handler is not signal.default_int_handler and not getattr(
        handler, "a2c_lab_handler", False)


class SignalGuard:
    """While a run trains: SIGINT, SIGTERM and SIGHUP write the run's status at once (through
    ``on_signal``), then stop the run with ``Interrupted`` so that it unwinds (flush the files,
    close W&B, close the envs). The preemption signal (``preemption_signal()``, submitit's
    SIGUSR2) is handled too where a program's handler is installed for it (submitit's): the run
    then ends ``preempted``.

    ``defer``: while True (the training loop), the handler only records the signal and the loop
    calls ``check`` after each update's logging, where the run's state is whole: it writes its
    checkpoint there, so nothing logged is ahead of it. A second signal while deferring stops
    the run at once (a loop that never reaches ``check``). Otherwise ``Interrupted`` is raised in
    the handler. A signal while the run is unwinding is only noted: its cleanup must finish.

    A handler that was installed before (submitit's) is never replaced for good: ``chain`` calls
    it after the run has cleaned up (submitit's requeues), and ``__exit__`` puts it back.
    Outside the main thread Python cannot install handlers; the guard then does nothing.
    """

    def __init__(self, on_signal: Callable[["Interrupted"], None]):
        self.on_signal = on_signal
        self.received: Interrupted | None = None
        self.defer = False
        self._raised = False
        self._previous: dict[int, object] = {}
        self._preempting: set[int] = set()

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            preempt = preemption_signal()
            signals = list(HANDLED_SIGNALS)
            if preempt not in signals and _foreign(signal.getsignal(preempt)):
                signals.append(preempt)
            for signum in signals:
                self._previous[signum] = signal.signal(signum, self._handle)
            if _foreign(self._previous.get(preempt)):
                self._preempting.add(preempt)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            if self.defer and not self._raised:  # asked twice: stop now
                self._raised = True
                raise self.received
            return
        err = Interrupted(signum, preempted=signum in self._preempting)
        self.received = err
        try:
            self.on_signal(err)
        finally:
            if not self.defer:
                self._raised = True
                raise err

    def check(self) -> None:
        """Raise the deferred signal's ``Interrupted``, if one came."""
        if self.received is not None and not self._raised:
            self._raised = True
            raise self.received

    def chain(self, signum: int) -> None:
        """Call the handler that was installed before ours, if it is a program's own (not
        Python's defaults, not a2c-lab's): e.g. submitit's preemption and requeue logic."""
        previous = self._previous.get(signum)
        if _foreign(previous):
            previous(signum, None)  # type: ignore[operator]


def exit_by_signal(signum: int) -> None:
    """End this process the way the signal would have, after the run has cleaned up, so that
    its parent (a launcher, a shell) sees it killed by that signal."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


LAUNCHER_PID_VAR = "A2C_LAB_LAUNCHER_PID"  # set by the command line in the launching process
CHILDREN_GRACE_S = 60.0  # how long the launching process waits for its workers to clean up


def _child_pids() -> list[int]:
    """Live child processes of this one (Linux /proc); empty where /proc is unavailable."""
    me, children = os.getpid(), []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            children.append(int(entry.name))
    return children


def _ignores(pid: int, signum: int) -> bool:
    """Whether the process ignores the signal (SIG_IGN), e.g. multiprocessing's resource tracker."""
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except OSError:
        pass
    return False


def _forward(signum: int, frame) -> None:
    if _forward.received is not None:  # type: ignore[attr-defined]
        return
    _forward.received = signum  # type: ignore[attr-defined]
    waiting = []
    for pid in _child_pids():
        try:
            os.kill(pid, signum)
        except OSError:
            continue
        if not _ignores(pid, signum):
            waiting.append(pid)
    deadline = time.monotonic() + CHILDREN_GRACE_S
    while time.monotonic() < deadline and set(waiting) & set(_child_pids()):
        time.sleep(0.05)
    raise Interrupted(signum)


_forward.a2c_lab_handler = True  # type: ignore[attr-defined]
_forward.received = None  # type: ignore[attr-defined]


def forward_signals_to_children() -> None:
    """In the launching process: on SIGINT, SIGTERM or SIGHUP, pass the signal on to the child
    processes (joblib's workers, submitit's local jobs), wait up to CHILDREN_GRACE_S for them
    to record their status and exit, then raise ``Interrupted``.

    A signal sent to the whole process group (a terminal, SLURM) reaches the workers anyway;
    one sent to the launcher's pid alone (``kill PID``, ``timeout``) would otherwise kill the
    launcher and leave its workers training with nobody to report to. While a job trains in
    this very process (the basic launcher), the run's own SignalGuard handles the signal.
    """
    if threading.current_thread() is threading.main_thread():
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, _forward)
