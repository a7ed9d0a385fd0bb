import numpy as np
import pytest

import visiongrad as vg
from visiongrad import models, optim, train


def net():
    return models.create("fc", hidden_dims=[16], input_shape=(1, 4, 4), num_classes=3)


def test_ensemble_averages_member_probabilities(blobs):
    members = [net(), net()]
    ensemble = train.Ensemble(members, weights=[1.0, 3.0])
    x, y = blobs[2:]
    # Same batches on both sides: a float32 product's last bits depend on the batch's rows.
    expected = (0.25 * train.predict_proba(members[0], x, batch_size=7)
                + 0.75 * train.predict_proba(members[1], x, batch_size=7))
    np.testing.assert_allclose(ensemble.predict_proba(x, batch_size=7), expected, rtol=1e-12)
    np.testing.assert_array_equal(ensemble.predict(x), expected.argmax(axis=1))
    assert ensemble.evaluate(x, y)["accuracy"] == pytest.approx(
        np.mean(expected.argmax(axis=1) == y))


def test_snapshot_ensemble_from_one_run(blobs):
    vg.manual_seed(0)
    model = net()
    trainer = train.Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                            epochs=3, batch_size=32, snapshot_every=1, progress=False,
                            restore_best=False).fit(*blobs)
    ensemble = train.Ensemble.from_snapshots(net, trainer.snapshots)
    assert len(ensemble.models) == 3
    x = blobs[2]
    np.testing.assert_allclose(train.predict_proba(ensemble.models[-1], x),
                               trainer.predict_proba(x), rtol=1e-6)
    first = train.predict_proba(ensemble.models[0], x)
    assert not np.allclose(first, trainer.predict_proba(x))  # snapshots differ


def test_bad_ensembles():
    with pytest.raises(ValueError, match="at least one model"):
        train.Ensemble([])
    with pytest.raises(ValueError, match="non-negative"):
        train.Ensemble([net(), net()], weights=[1.0, -1.0])
    wider = models.create("fc", hidden_dims=[32], input_shape=(1, 4, 4), num_classes=3)
    with pytest.raises(ValueError, match="snapshot 0 does not fit"):
        train.Ensemble.from_snapshots(net, [wider.state_dict()])
