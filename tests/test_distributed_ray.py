"""The Ray Tune recipe on a local Ray (ray.init(num_cpus=2)): a function
trainable reports pybp's per-epoch validation loss through a callback, ASHA
stops bad trials early, each trial keeps to its CPU share, and the reported
numbers are those of the same fit run here.  Skipped without the ray extra."""
import numpy as np
import pytest

ray = pytest.importorskip("ray")
tune = pytest.importorskip("ray.tune")
schedulers = pytest.importorskip("ray.tune.schedulers")

import pybp  # noqa: E402
import pybp.distributed as pdist  # noqa: E402

EPOCHS = 20
# Good rates first: with 2 CPUs and 1 per trial, the two good trials fill
# ASHA's rungs before the bad ones start, so the bad ones are compared
# against them (and stopped) whatever the timing.
RATES = [0.3, 0.2, 1e-6, 1e-5]


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR", configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _fit(lr, callbacks=()):
    """The trial's training: the same in a Tune trial and here."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    T = np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)]
    net = pybp.Network([4, 8, 3], "tanh", "softmax", seed=0)
    return net.fit(X, T, loss="cross_entropy", optimizer=pybp.optim.SGD(lr),
                   epochs=EPOCHS, batch_size=10, seed=0,
                   validation_split=0.25, callbacks=list(callbacks))


def _trainable():
    # A closure, so that Ray pickles it by value (the workers cannot import
    # this test module).
    def trainable(config):
        threads = pdist.set_thread_budget()
        report = pdist.tune_report(extra=lambda net, h: {"threads": threads})
        _fit(config["lr"], [report])
    return trainable


def test_thread_share_in_a_ray_task(ray_local):
    @ray.remote(num_cpus=2)
    def two():
        return pdist.thread_share()

    @ray.remote(num_cpus=1)
    def one():
        return pdist.thread_share()

    assert ray.get(one.remote()) == 1
    assert ray.get(two.remote()) == min(2, pdist._usable_cores())


def test_asha_stops_bad_trials_early(ray_local, tmp_path):
    scheduler = schedulers.ASHAScheduler(time_attr="epoch", max_t=EPOCHS,
                                         grace_period=2, reduction_factor=2)
    tuner = tune.Tuner(
        tune.with_resources(_trainable(), {"cpu": 1}),
        param_space={"lr": tune.grid_search(RATES)},
        tune_config=tune.TuneConfig(scheduler=scheduler, metric="val_loss",
                                    mode="min"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="asha",
                                  verbose=0))
    results = tuner.fit()
    assert not results.errors
    by_lr = {r.config["lr"]: r for r in results}
    assert sorted(by_lr) == sorted(RATES)
    epochs = {lr: r.metrics["epoch"] for lr, r in by_lr.items()}
    assert epochs[0.3] == EPOCHS
    stopped = [lr for lr, e in epochs.items() if e < EPOCHS]
    assert stopped and set(stopped) <= {1e-6, 1e-5, 0.2}, epochs
    for lr, r in by_lr.items():
        local = _fit(lr)
        # Every reported epoch is the local fit's epoch, to the last bit.
        reported = r.metrics_dataframe.sort_values("epoch")
        e = reported["epoch"].to_numpy()
        np.testing.assert_array_equal(e, np.arange(1, len(e) + 1))
        np.testing.assert_array_equal(reported["val_loss"].to_numpy(),
                                      np.array(local.val_loss[:len(e)]))
        np.testing.assert_array_equal(reported["loss"].to_numpy(),
                                      np.array(local.loss[:len(e)]))
        assert "val_accuracy" in reported
        # One CPU per trial: pybp is limited to one thread there.
        assert set(reported["threads"]) == {1}
    best = results.get_best_result(metric="val_loss", mode="min")
    assert best.config["lr"] == 0.3


def test_tune_report_outside_a_trial_only_warns(ray_local):
    # The same training code runs outside Tune: Ray warns that there is no
    # trial to report to, and the fit goes on unchanged.
    with pytest.warns(UserWarning, match="Tuner"):
        history = _fit(0.1, [pdist.tune_report()])
    assert history.epochs == EPOCHS and history.stopped == "max_epochs"
    assert history.val_loss == _fit(0.1).val_loss


def test_tune_report_checks_its_arguments():
    with pytest.raises(ValueError, match="every"):
        pdist.tune_report(every=0)
    with pytest.raises(TypeError, match="extra must be callable"):
        pdist.tune_report(extra=3)
