"""The progress display of fit(verbose=True): tqdm when it is installed, a
small built-in bar on stderr otherwise."""
import sys
import time

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None


def _postfix(history, rate):
    parts = {"loss": f"{history.loss[-1]:.4g}"}
    if history.val_loss:
        parts["val_loss"] = f"{history.val_loss[-1]:.4g}"
    if history.accuracy:
        parts["acc"] = f"{history.accuracy[-1]:.3f}"
    if history.val_accuracy:
        parts["val_acc"] = f"{history.val_accuracy[-1]:.3f}"
    parts["samples/s"] = f"{rate:,.0f}"
    return parts


class ProgressBar:
    """Epochs done of the total, the last epoch's loss, validation loss and
    accuracy, and samples/s; redrawn at most every 0.1 s within an epoch.
    When the stream is not a terminal (a log file, a pipe) the built-in bar
    writes one line per epoch instead of redrawing in place."""

    def __init__(self, epochs, n_samples, file=None):
        self.epochs, self.n_samples = epochs, n_samples
        self.file = file if file is not None else sys.stderr
        self.epoch = 0
        self.text = ""
        self._last_draw = 0.0
        self._width = 0
        isatty = getattr(self.file, "isatty", None)
        self._redraw = bool(isatty()) if callable(isatty) else False
        self._bar = (_tqdm(total=epochs, unit="epoch", file=self.file,
                           dynamic_ncols=True) if _tqdm is not None else None)

    def update_samples(self, done):
        if self._bar is not None or not self._redraw:
            return
        now = time.perf_counter()
        if now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(done / max(self.n_samples, 1))

    def end_epoch(self, history, rate):
        self.epoch += 1
        parts = _postfix(history, rate)
        if self._bar is not None:
            self._bar.set_postfix(parts, refresh=False)
            self._bar.update(1)
            return
        self.text = " ".join(f"{k} {v}" for k, v in parts.items())
        if not self._redraw:
            self.file.write(f"epoch {self.epoch}/{self.epochs} {self.text}\n")
            self.file.flush()
            return
        self._draw(0.0)

    def _draw(self, within):
        width = 24
        total = max(self.epochs, 1)
        filled = int(width * min(1.0, (self.epoch + within) / total))
        line = (f"\repoch {self.epoch}/{self.epochs} "
                f"[{'=' * filled}{' ' * (width - filled)}] {self.text}")
        # Pad over what is left of a longer previous line.
        self.file.write(line.ljust(self._width))
        self._width = len(line)
        self.file.flush()

    def close(self, stopped):
        if self._bar is not None:
            self._bar.close()
        elif self._redraw:
            self.file.write("\n")
        if stopped != "max_epochs":
            self.file.write(f"stopped: {stopped}\n")
        self.file.flush()
