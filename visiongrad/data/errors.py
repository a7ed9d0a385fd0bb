"""The one exception family of the data readers: a file is not what it claims to be."""

from __future__ import annotations

__all__ = ["DataFormatError", "NotFittedError", "UnsafePickleError"]


class DataFormatError(ValueError):
    """A data file is not in the format it should be; the message names the file.

    Every reader raises this (or a subclass) for a damaged, truncated, crafted or
    oversized file, so a caller (the command line) can print the message as one line.

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp()
    >>> from visiongrad.data import read_npz
    >>> path = os.path.join(folder, 'broken.npz')
    >>> _ = open(path, 'wb').write(b'not a zip archive')
    >>> try:
    ...     read_npz(path)
    ... except DataFormatError as error:
    ...     print(type(error).__name__, 'names the file:', 'broken.npz' in str(error))
    DataFormatError names the file: True
    """


class UnsafePickleError(DataFormatError):
    """A pickle asked for something the restricted unpickler refuses (nothing was run).

    Examples
    --------
    >>> import os, tempfile; folder = tempfile.mkdtemp(); import pickle
    >>> from visiongrad.data import load_restricted_pickle
    >>> path = os.path.join(folder, 'crafted.pkl')
    >>> _ = open(path, 'wb').write(pickle.dumps(os.system))
    >>> try:
    ...     load_restricted_pickle(path)
    ... except UnsafePickleError as error:
    ...     print(type(error).__name__)
    UnsafePickleError
    """


class NotFittedError(RuntimeError):
    """A fitted object (a preprocessor here, a classical estimator in ``classic``) was used
    before ``fit``. It lives here, below both, so that ``data`` need not import
    ``classic``; ``classic.NotFittedError`` is this class.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import classic
    >>> try:
    ...     classic.PCA(2).transform(np.zeros((1, 3)))
    ... except classic.NotFittedError as error:
    ...     print(type(error).__name__)
    NotFittedError
    """
