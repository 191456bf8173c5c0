"""Run a panel's long job (training) so that a Stop button can end it cleanly.

While a cell or a widget callback runs, the kernel reads no further messages
from the browser, so a Stop click made during ``fit`` in a click handler would
wait in the queue until training ended. Two ways out were weighed:

* **A worker thread** (chosen). The Train handler starts ``fit`` in a thread
  and returns; the kernel is free, handles the Stop click at once, and the
  worker sees the request at its next batch (``model.stop_training``). The
  worker updates the widgets by assigning traits (``show_figure`` assigns
  ``Output.outputs`` in one step); ipykernel sends those messages through its
  IOPub thread, which is safe from any thread. This works in JupyterLab,
  Notebook 7 and VS Code.
* Polling the kernel's message queue from a Keras callback (what
  ``jupyter-ui-poll`` does with ``kernel.do_one_iteration``). It relies on
  ipykernel internals that ipykernel 7 rewrote, and replays queued cells
  out of order; rejected.

Colab is the exception: its front end drops widget updates that arrive after
the request that caused them has finished (googlecolab/colabtools#3373), so a
worker that outlives the click handler trains invisibly there. In Colab
(``run_mode="auto"``) the handler therefore *waits* for the worker: the
updates arrive while the click is still being handled and are shown live, and
Stop becomes **Runtime → Interrupt execution** (Ctrl+M I): the
``KeyboardInterrupt`` lands in the waiting handler, which asks the worker to
stop at its next batch and keeps waiting for the clean end (best weights
restored by the kit's trainers). ``wait()`` behaves the same way in a cell.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import keras

from .. import _checks
from ._html import show_message

RUN_MODES = ("auto", "background", "foreground")
"""``"background"``: the click returns and Stop works; ``"foreground"``: the click
waits (Stop by interrupting the kernel); ``"auto"``: foreground in Colab only."""

_PROGRESS_INTERVAL_S = 0.25  # at most four progress messages a second reach the browser


@dataclass(kw_only=True)
class JobStatus:
    """What a panel with a long job shows about it; the panels' state objects extend it.

    Attributes:
        status: ``"idle"``, or what the job is doing (``"training"``, ``"stopping"``, ...).
        progress: the progress line.
        message: the latest message under the progress line.
        error: the exception of the latest job that failed, or None.
        n_redraws: how many times the panel's figure was drawn.
    """

    status: str = "idle"
    progress: str = ""
    message: str = ""
    error: Exception | None = None
    n_redraws: int = 0


class StatusLines:
    """A panel's progress and message lines, written together with its :class:`JobStatus`.

    Args:
        state: the panel's state (a :class:`JobStatus`).
        progress: the ``HTML`` widget of the progress line.
        message: the ``HTML`` widget of the message line.
    """

    def __init__(self, state: JobStatus, progress, message):
        self.state, self.progress, self.message = state, progress, message

    def say(self, text: str, kind: str = "info") -> None:
        """Show a message (``kind``: info, ok, warning or error)."""
        self.state.message = text
        show_message(self.message, text, kind)

    def set_progress(self, text: str) -> None:
        """Replace the progress line."""
        self.state.progress = text
        self.progress.value = text

    def stop_handler(self, runner, stopping: str, nothing_to_stop: str):
        """A Stop button's click handler: ask ``runner`` to stop and say so, or say nothing runs."""
        def on_stop(_button):
            if runner.stop():
                self.state.status = "stopping"
                self.say(stopping, "info")
            else:
                self.say(nothing_to_stop, "warning")
        return on_stop


def resolve_run_mode(run_mode: str) -> str:
    """``"background"`` or ``"foreground"`` for a ``run_mode`` of :data:`RUN_MODES`.

    Raises:
        ValueError: for another value.
    """
    if run_mode not in RUN_MODES:
        raise _checks.fail(f"`run_mode` must be one of {RUN_MODES}.", "run_mode", run_mode)
    if run_mode == "auto":
        return "foreground" if "google.colab" in sys.modules else "background"
    return run_mode


class JobRunner:
    """One job at a time in a worker thread, with a stop request it can poll.

    Args:
        run_mode: one of :data:`RUN_MODES`.
    """

    def __init__(self, run_mode: str = "auto"):
        self.mode = resolve_run_mode(run_mode)
        self.stop_requested = threading.Event()
        # Set when no job runs. An Event, not Thread.join/is_alive: a KeyboardInterrupt that lands
        # in Thread.join can leave is_alive() False while the thread still runs (CPython 3.11).
        self._idle = threading.Event()
        self._idle.set()

    @property
    def running(self) -> bool:
        """Whether a job is under way."""
        return not self._idle.is_set()

    def start(self, work, finish) -> None:
        """Run ``work()`` in a worker thread, then ``finish(result, error)`` in the same thread.

        ``finish`` always runs, with ``error`` the exception ``work`` raised (or
        None), so the caller's widgets never stay in a "running" state. In the
        foreground mode this call returns only when the job has ended.
        """
        self.stop_requested.clear()
        self._idle.clear()

        def run():
            result, error = None, None
            try:
                result = work()
            except Exception as caught:  # reported by `finish`, never left in the kernel log
                error = caught
            try:
                finish(result, error)
            finally:
                self._idle.set()

        threading.Thread(target=run, name="crossdomain-kit-job", daemon=True).start()
        if self.mode == "foreground":
            self.wait()

    def stop(self) -> bool:
        """Ask the running job to stop; False when nothing runs."""
        if not self.running:
            return False
        self.stop_requested.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True once nothing runs.

        A ``KeyboardInterrupt`` (Ctrl-C, Interrupt kernel) while waiting asks
        the job to stop and keeps waiting for its clean end.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:  # the whole step: an interrupt can land between the checks as well as in the wait
                if not self.running:
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._idle.wait(0.1)
            except KeyboardInterrupt:
                self.stop_requested.set()


class JobCallback(keras.callbacks.Callback):
    """Stops ``fit`` at the next batch once a stop is requested, and reports progress.

    Args:
        stop_requested: a ``threading.Event`` (:attr:`JobRunner.stop_requested`).
        on_progress: called as ``on_progress(epoch, n_epochs, batch, n_batches, logs)``
            at most four times a second (``batch`` is None at an epoch's end).
        on_epoch_end: called as ``on_epoch_end(epoch, logs)`` after every epoch.
    """

    def __init__(self, stop_requested: threading.Event, on_progress=None, on_epoch_end=None):
        super().__init__()
        self.stop_requested = stop_requested
        self._on_progress = on_progress
        self._on_epoch_end = on_epoch_end
        self._epoch = 0
        self._last_report = 0.0

    def _stop_if_asked(self):
        if self.stop_requested.is_set():
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._stop_if_asked()
        now = time.monotonic()
        if self._on_progress is not None and now - self._last_report >= _PROGRESS_INTERVAL_S:
            self._last_report = now
            self._on_progress(self._epoch, self.params.get("epochs"), batch,
                              self.params.get("steps"), dict(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        self._stop_if_asked()
        if self._on_progress is not None:
            self._on_progress(epoch, self.params.get("epochs"), None, self.params.get("steps"),
                              dict(logs or {}))
        if self._on_epoch_end is not None:
            self._on_epoch_end(epoch, dict(logs or {}))
