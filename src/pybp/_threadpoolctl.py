"""pybp's thread pool as threadpoolctl sees it: a LibController
(user_api "pybp") registered when threadpoolctl is imported, before or
after pybp, so that threadpool_info() lists the pool and
threadpool_limits(...) limits it.  Dynamic by nature (threadpoolctl's
classes exist only once it is imported), so kept apart from _config."""
import sys
import warnings


def _threadpoolctl_controller(threadpoolctl):
    """A threadpoolctl LibController for pybp's pool: threadpool_info()
    lists it (user_api "pybp") and threadpool_limits(...) limits it."""

    class PybpController(threadpoolctl.LibController):
        user_api = "pybp"
        internal_api = "pybp"
        # the extension module's file, e.g. _core.cpython-311-...so; the
        # symbols tell it from other packages' _core modules
        filename_prefixes = ("_core",)
        check_symbols = ("pybp_get_num_threads", "pybp_set_num_threads",
                         "pybp_kernels_active")

        def get_num_threads(self):
            return self.dynlib.pybp_get_num_threads()

        def set_num_threads(self, num_threads):
            self.dynlib.pybp_set_num_threads(int(num_threads))

        def get_version(self):
            from pybp import __version__
            return __version__

    return PybpController


def _register_with(threadpoolctl):
    if hasattr(threadpoolctl, "register") and hasattr(threadpoolctl,
                                                      "LibController"):
        threadpoolctl.register(_threadpoolctl_controller(threadpoolctl))


class _ThreadpoolctlHook:
    """Registers pybp's controller when threadpoolctl is first imported
    (importing it eagerly would add ~50 ms to ``import pybp``)."""

    def find_spec(self, name, path=None, target=None):
        if name != "threadpoolctl":
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or \
                not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            try:
                _register_with(module)
            except Exception as exc:  # an incompatible threadpoolctl
                warnings.warn(f"pybp could not register with threadpoolctl: "
                              f"{exc}", RuntimeWarning, stacklevel=2)

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Makes pybp's pool visible to threadpoolctl, now or on its import."""
    module = sys.modules.get("threadpoolctl")
    if module is not None:
        _register_with(module)
    elif not any(isinstance(f, _ThreadpoolctlHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _ThreadpoolctlHook())
