"""How many attributes the instances of a PersistentObject class will set.

An object's attribute table cannot grow where it is (its offset is its
identity), so an instance that outgrows the room it was made with moves
its attributes to a spill table: an extra allocation, kept for the
object's life.  Each instance is made with the room the earlier instances
of its class needed, but the first one in a session of the pool (each
open) has none to go by: without a guess, a program that adds one object
per run would spill every object it made.  The guess is read from the class's ``__init__`` methods
(along its MRO): the distinct names they assign as ``self.<name> = ...``.
Attributes set otherwise (``setattr``, other methods) are not seen; the
first instance then spills as before, and the next ones get its room.
"""

import dis
import types


def init_attributes(cls):
    """The number of distinct ``self.<name>`` assigned in cls's __init__s."""
    names = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if not isinstance(init, types.FunctionType):
            continue
        code = init.__code__
        if code.co_argcount == 0:
            continue
        self_name = code.co_varnames[0]
        prev = None
        for ins in dis.get_instructions(code):
            if (ins.opname == "STORE_ATTR" and prev is not None
                    and prev.opname == "LOAD_FAST" and prev.argval == self_name):
                names.add(ins.argval)
            prev = ins
    return len(names)
