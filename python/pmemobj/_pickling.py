"""The pickle policy of persist_via_pickle.

Writing uses plain pickle.  Reading uses an unpickler that resolves only the
classes nominated with ``pool.persist_via_pickle`` in this process: a pool
file is data, and opening one must never import or run anything the file
names.  A pickle that needs any other global fails with UnpicklingError.
"""

import io
import pickle

PROTOCOL = pickle.HIGHEST_PROTOCOL


def dumps(obj):
    return pickle.dumps(obj, protocol=PROTOCOL)


class _NominatedOnlyUnpickler(pickle.Unpickler):

    def __init__(self, data, allowed):
        super().__init__(io.BytesIO(data))
        self._allowed = {(c.__module__, c.__qualname__): c for c in allowed}

    def find_class(self, module, name):
        cls = self._allowed.get((module, name))
        if cls is None:
            e = pickle.UnpicklingError(
                f"refusing to load {module}.{name} from the pool: it was not "
                f"nominated with persist_via_pickle in this process")
            # A refusal by the policy, not damage: the runtime passes it on
            # as it is (any other failure to unpickle is CorruptPoolError).
            e.refused_by_policy = True
            raise e
        return cls


def loads(data, allowed):
    return _NominatedOnlyUnpickler(data, allowed).load()
