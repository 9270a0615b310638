"""What an executor needs besides the root: the settings it is built with, the jobs the driver
hands it, the events it yields back, the trial runner that runs a job in a worker, and the
worker-slot state machine (`WorkerSlots`) with its typed messages (`Ready`, `SetupFailed`,
`Started`, `Epoch`, `Done`, and `Answer`, the reply to an epoch of a trial that may be pruned)
that an executor of reusable workers builds on."""

from automl_bench._api.records import ExecutionSettings, Finished, Job, Progressed, TrialOutcome, TrialRequest
from automl_bench._run.gpus import detect_gpus
from automl_bench._run.trials import TrialRunner
from automl_bench._run.workers import (
    SETUP_TIMEOUT,
    Answer,
    Done,
    Epoch,
    Message,
    Ready,
    SetupFailed,
    Started,
    WorkerSlot,
    WorkerSlots,
)

__all__ = [
    "SETUP_TIMEOUT",
    "Answer",
    "Done",
    "Epoch",
    "ExecutionSettings",
    "Finished",
    "Job",
    "Message",
    "Progressed",
    "Ready",
    "SetupFailed",
    "Started",
    "TrialOutcome",
    "TrialRequest",
    "TrialRunner",
    "WorkerSlot",
    "WorkerSlots",
    "detect_gpus",
]
