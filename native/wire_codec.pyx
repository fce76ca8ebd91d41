# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""JSON values as google.protobuf.Struct / Value wire bytes and back (``llmspell_sessions.wire._codec``).

Building a Struct field by field through the protobuf runtime costs ~1 us per value; these write
the message's wire bytes in one pass, for ``Message.MergeFromString``, and read a message's
serialization back into Python values. ``wire/values.py`` uses them when this module is built (and
``LLMSPELL_SESSIONS_PURE`` is not set), else the runtime's field-by-field path, which they are tested
against (``tests/native/test_struct_encoding.py``). A module of its own, outside the hot path's
selector: the light client imports ``wire`` and must never require a native build.

Field numbers (google/protobuf/struct.proto): Struct.fields = 1 (map entries: key = 1, value = 2);
Value: null_value = 1 (varint), number_value = 2 (fixed64 double), string_value = 3, bool_value = 4
(varint), struct_value = 5, list_value = 6; ListValue.values = 1.
"""

from collections.abc import Mapping as _Mapping

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.string cimport memcpy, memmove

cdef enum:
    MAX_NESTING = 200  # containers; protobuf parses at most 100 message levels anyway


cdef struct _Out:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _reserve(_Out* out, Py_ssize_t more) except -1:
    cdef Py_ssize_t wanted = out.size + more
    cdef Py_ssize_t capacity
    cdef char* grown
    if wanted <= out.capacity:
        return 0
    capacity = out.capacity * 2 if out.capacity * 2 > wanted else wanted + 64
    grown = <char*> PyMem_Realloc(out.data, capacity)
    if grown == NULL:
        raise MemoryError()
    out.data, out.capacity = grown, capacity
    return 0


cdef inline int _byte(_Out* out, unsigned char value) except -1:
    _reserve(out, 1)
    out.data[out.size] = <char> value
    out.size += 1
    return 0


cdef inline int _bytes(_Out* out, const char* data, Py_ssize_t n) except -1:
    _reserve(out, n)
    memcpy(out.data + out.size, data, n)
    out.size += n
    return 0


cdef inline Py_ssize_t _open(_Out* out) except -1:
    """Leaves one byte for a length and returns where the content starts (see _close)."""
    _byte(out, 0)
    return out.size


cdef int _close(_Out* out, Py_ssize_t start) except -1:
    """Writes the varint length of out[start:] before it, moving the content if it needs more bytes."""
    cdef Py_ssize_t n = out.size - start
    cdef Py_ssize_t width = 1
    cdef Py_ssize_t rest = n >> 7
    cdef Py_ssize_t i
    while rest:
        width += 1
        rest >>= 7
    if width > 1:
        _reserve(out, width - 1)
        memmove(out.data + start + width - 1, out.data + start, n)
        out.size += width - 1
    rest = n
    for i in range(width):
        out.data[start - 1 + i] = <char> ((rest & 0x7F) | (0x80 if i < width - 1 else 0))
        rest >>= 7
    return 0


cdef int _text(_Out* out, unsigned char tag, object text) except -1:
    """A length-delimited string field (text is a str, or a subclass: its own characters)."""
    cdef Py_ssize_t n
    cdef const char* utf8 = PyUnicode_AsUTF8AndSize(text, &n)
    _byte(out, tag)
    cdef Py_ssize_t start = _open(out)
    _bytes(out, utf8, n)
    _close(out, start)
    return 0


cdef int _value(_Out* out, object value, int depth) except -1:
    """The fields of a Value message holding value."""
    cdef double number
    cdef Py_ssize_t start
    if depth > MAX_NESTING:
        raise ValueError(f"a JSON value nests deeper than {MAX_NESTING} levels")
    if value is None:
        _bytes(out, b"\x08\x00", 2)
    elif value is True:  # bool has no subclasses: these two are every bool
        _bytes(out, b"\x20\x01", 2)
    elif value is False:
        _bytes(out, b"\x20\x00", 2)
    elif isinstance(value, str):
        _text(out, 0x1A, value)
    elif isinstance(value, (int, float)):
        number = value
        _byte(out, 0x11)
        _bytes(out, <const char*> &number, 8)  # little-endian on every platform this builds for
    elif isinstance(value, dict) or isinstance(value, _Mapping):
        _byte(out, 0x2A)
        start = _open(out)
        _fields(out, value, depth + 1)
        _close(out, start)
    elif isinstance(value, (list, tuple)):
        _byte(out, 0x32)
        start = _open(out)
        for item in value:
            _byte(out, 0x0A)
            _open_value(out, item, depth + 1)
        _close(out, start)
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")
    return 0


cdef int _open_value(_Out* out, object value, int depth) except -1:
    cdef Py_ssize_t start = _open(out)
    _value(out, value, depth)
    _close(out, start)
    return 0


cdef int _fields(_Out* out, object mapping, int depth) except -1:
    """The map entries of a Struct holding mapping."""
    cdef Py_ssize_t entry
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"Struct keys must be str, not {type(key).__name__}")
        _byte(out, 0x0A)
        entry = _open(out)
        _text(out, 0x0A, key)
        _byte(out, 0x12)
        _open_value(out, item, depth)
        _close(out, entry)
    return 0


cdef bytes _encoded(object value, bint as_struct):
    """value's wire bytes as a Struct (a mapping's fields) or as a Value; the buffer is freed either way."""
    cdef _Out out = _Out(NULL, 0, 0)
    try:
        _reserve(&out, 256)
        if as_struct:
            _fields(&out, value, 1)
        else:
            _value(&out, value, 0)
        return out.data[:out.size] if out.size else b""
    finally:
        PyMem_Free(out.data)


def struct_bytes(object mapping) -> bytes:
    """The wire bytes of a google.protobuf.Struct holding mapping (str keys, JSON values)."""
    return _encoded(mapping, True)


def value_bytes(object value) -> bytes:
    """The wire bytes of a google.protobuf.Value holding value (None, bool, number, str, list, dict)."""
    return _encoded(value, False)


# -- and back: Struct / Value wire bytes as Python values -----------------------------------------
#
# For messages the protobuf runtime has already parsed and serialized again (canonical bytes: each
# field once). Numbers come back as in ``wire.values.value_to_py``: integral ones within +-2**53 as
# int, others as float; a Value with no kind set is None. Malformed bytes raise ValueError.

cdef double _EXACT_INT = 9007199254740992.0  # 2**53


cdef struct _In:
    const unsigned char* data
    Py_ssize_t pos
    Py_ssize_t end


cdef unsigned long long _varint_in(_In* src) except? 0xFFFFFFFFFFFFFFFF:
    cdef unsigned long long result = 0
    cdef int shift = 0
    cdef unsigned char byte
    while True:
        if src.pos >= src.end or shift > 63:
            raise ValueError("malformed varint")
        byte = src.data[src.pos]
        src.pos += 1
        result |= (<unsigned long long> (byte & 0x7F)) << shift
        if not byte & 0x80:
            return result
        shift += 7


cdef Py_ssize_t _length(_In* src) except -1:
    cdef unsigned long long n = _varint_in(src)
    if n > <unsigned long long> (src.end - src.pos):
        raise ValueError("length past the end of the message")
    return <Py_ssize_t> n


cdef int _skip(_In* src, unsigned long long key) except -1:
    cdef int wire = key & 7
    if wire == 0:
        _varint_in(src)
    elif wire == 1:
        if src.end - src.pos < 8:
            raise ValueError("truncated fixed64")
        src.pos += 8
    elif wire == 2:
        src.pos += _length(src)
    elif wire == 5:
        if src.end - src.pos < 4:
            raise ValueError("truncated fixed32")
        src.pos += 4
    else:
        raise ValueError(f"unsupported wire type {wire}")
    return 0


cdef object _number(double number):
    if number == number and -_EXACT_INT <= number <= _EXACT_INT and number == <double> (<long long> number):
        return int(<long long> number)
    return number


cdef object _value_in(_In* src, Py_ssize_t end, int depth):
    """The Python value of the Value message in src[pos:end]."""
    cdef object result = None
    cdef unsigned long long key
    cdef double number
    cdef Py_ssize_t n
    cdef _In inner
    if depth > MAX_NESTING:
        raise ValueError("a Value nests too deeply")
    while src.pos < end:
        key = _varint_in(src)
        if key == 0x08:  # null_value
            _varint_in(src)
            result = None
        elif key == 0x11:  # number_value
            if end - src.pos < 8:
                raise ValueError("truncated double")
            memcpy(&number, src.data + src.pos, 8)
            src.pos += 8
            result = _number(number)
        elif key == 0x1A:  # string_value
            n = _length(src)
            result = PyUnicode_DecodeUTF8(<const char*> src.data + src.pos, n, NULL)
            src.pos += n
        elif key == 0x20:  # bool_value
            result = _varint_in(src) != 0
        elif key == 0x2A:  # struct_value
            n = _length(src)
            inner = _In(src.data, src.pos, src.pos + n)
            result = _struct_in(&inner, depth + 1)
            src.pos += n
        elif key == 0x32:  # list_value
            n = _length(src)
            inner = _In(src.data, src.pos, src.pos + n)
            result = _list_in(&inner, depth + 1)
            src.pos += n
        else:
            _skip(src, key)
    if src.pos != end:
        raise ValueError("a field runs past its message")
    return result


cdef list _list_in(_In* src, int depth):
    cdef list items = []
    cdef unsigned long long key
    cdef Py_ssize_t n, stop
    while src.pos < src.end:
        key = _varint_in(src)
        if key == 0x0A:
            n = _length(src)
            stop = src.pos + n
            items.append(_value_in(src, stop, depth))
        else:
            _skip(src, key)
    return items


cdef dict _struct_in(_In* src, int depth):
    cdef dict fields = {}
    cdef unsigned long long key, entry_key
    cdef Py_ssize_t n, stop, k
    cdef object name, item
    while src.pos < src.end:
        key = _varint_in(src)
        if key != 0x0A:
            _skip(src, key)
            continue
        n = _length(src)
        stop = src.pos + n
        name, item = "", None
        while src.pos < stop:
            entry_key = _varint_in(src)
            if entry_key == 0x0A:
                k = _length(src)
                name = PyUnicode_DecodeUTF8(<const char*> src.data + src.pos, k, NULL)
                src.pos += k
            elif entry_key == 0x12:
                k = _length(src)
                item = _value_in(src, src.pos + k, depth)
            else:
                _skip(src, entry_key)
        if src.pos != stop:
            raise ValueError("a map entry runs past its end")
        fields[name] = item
    return fields


cdef object _decoded(const unsigned char[::1] data, bint as_struct):
    cdef _In src = _In(NULL, 0, data.shape[0])
    if data.shape[0]:
        src.data = &data[0]
    return _struct_in(&src, 1) if as_struct else _value_in(&src, src.end, 0)


def struct_from_bytes(const unsigned char[::1] data) -> dict:
    """The dict a google.protobuf.Struct's (canonical) wire bytes hold."""
    return _decoded(data, True)


def value_from_bytes(const unsigned char[::1] data) -> object:
    """The Python value a google.protobuf.Value's (canonical) wire bytes hold."""
    return _decoded(data, False)


# -- Event and ReplayFrame messages whole ---------------------------------------------------------
#
# A replay sends one small ReplayFrame per event; building it through the runtime (an Event, its
# Timestamp and Struct, then the serialization) cost more than the engine's own work per frame. These
# write a frame's wire bytes directly (the servicer yields them as they are) and read them back into
# plain tuples the wire package turns into model objects.
#
# Field numbers: Event (common.proto): session_id = 1, seq = 2 (int64), type = 3, time = 4
# (Timestamp: seconds = 1 int64, nanos = 2 int32), actor = 5, correlation_id = 6, causation_id = 7,
# payload = 8 (Struct). ReplayFrame (replay.proto): event = 1, index = 2, total = 3 (int64),
# status = 4 (enum), changed_keys = 5 (repeated string).

cdef int _varint(_Out* out, unsigned long long value) except -1:
    _reserve(out, 10)
    while value >= 0x80:
        out.data[out.size] = <char> ((value & 0x7F) | 0x80)
        out.size += 1
        value >>= 7
    out.data[out.size] = <char> value
    out.size += 1
    return 0


cdef int _int_field(_Out* out, unsigned char tag, long long value) except -1:
    """An int64/int32/enum field (negative values as ten-byte varints, as protobuf writes them);
    zero is the default and is not written."""
    if value:
        _byte(out, tag)
        _varint(out, <unsigned long long> value)
    return 0


cdef int _text_field(_Out* out, unsigned char tag, object text) except -1:
    """A string field, left out when empty (the default)."""
    if text:
        _text(out, tag, text)
    return 0


cdef int _event(_Out* out, object event, long long micros) except -1:
    """The fields of an Event message holding event (a model Event; its time as µs since the epoch)."""
    cdef long long seconds = micros // 1000000
    cdef long long rest = micros - seconds * 1000000
    cdef Py_ssize_t start
    if rest < 0:  # C division truncates; a Timestamp's nanos are never negative
        seconds -= 1
        rest += 1000000
    _text_field(out, 0x0A, event.session_id)
    _int_field(out, 0x10, event.seq)
    _text_field(out, 0x1A, event.type)
    _byte(out, 0x22)
    start = _open(out)
    _int_field(out, 0x08, seconds)
    _int_field(out, 0x10, rest * 1000)
    _close(out, start)
    _text_field(out, 0x2A, event.actor)
    _text_field(out, 0x32, event.correlation_id)
    _text_field(out, 0x3A, event.causation_id)
    if event.payload:  # an empty payload is left unset, as the runtime leaves it
        _byte(out, 0x42)
        start = _open(out)
        _fields(out, event.payload, 1)
        _close(out, start)
    return 0


def event_bytes(object event, long long micros) -> bytes:
    """The wire bytes of the Event message holding event, whose time is micros µs since the epoch."""
    cdef _Out out = _Out(NULL, 0, 0)
    try:
        _reserve(&out, 256)
        _event(&out, event, micros)
        return out.data[:out.size]
    finally:
        PyMem_Free(out.data)


def frame_bytes(object event, long long micros, long long index, long long total, int status, object changed_keys) -> bytes:
    """The wire bytes of a ReplayFrame: event (None: no event field; else its time as micros),
    index, total, status and the changed state keys."""
    cdef _Out out = _Out(NULL, 0, 0)
    cdef Py_ssize_t start
    try:
        _reserve(&out, 256)
        if event is not None:
            _byte(&out, 0x0A)
            start = _open(&out)
            _event(&out, event, micros)
            _close(&out, start)
        _int_field(&out, 0x10, index)
        _int_field(&out, 0x18, total)
        _int_field(&out, 0x20, status)
        for key in changed_keys:
            if not isinstance(key, str):
                raise TypeError(f"changed keys must be str, not {type(key).__name__}")
            _text(&out, 0x2A, key)
        return out.data[:out.size] if out.size else b""
    finally:
        PyMem_Free(out.data)


cdef inline str _text_in(_In* src):
    cdef Py_ssize_t n = _length(src)
    cdef str text = PyUnicode_DecodeUTF8(<const char*> src.data + src.pos, n, NULL)
    src.pos += n
    return text


cdef tuple _time_in(_In* src):
    cdef long long seconds = 0
    cdef long long nanos = 0
    cdef unsigned long long key
    while src.pos < src.end:
        key = _varint_in(src)
        if key == 0x08:
            seconds = <long long> _varint_in(src)
        elif key == 0x10:
            nanos = <long long> _varint_in(src)
        else:
            _skip(src, key)
    return (seconds, nanos)


cdef tuple _event_in(_In* src):
    """(session_id, seq, type, (seconds, nanos), actor, correlation_id, causation_id, payload)."""
    cdef str session_id = "", kind = "", actor = "", correlation = "", causation = ""
    cdef long long seq = 0
    cdef tuple time = (0, 0)
    cdef dict payload = {}
    cdef unsigned long long key
    cdef Py_ssize_t n
    cdef _In inner
    while src.pos < src.end:
        key = _varint_in(src)
        if key == 0x0A:
            session_id = _text_in(src)
        elif key == 0x10:
            seq = <long long> _varint_in(src)
        elif key == 0x1A:
            kind = _text_in(src)
        elif key == 0x22 or key == 0x42:
            n = _length(src)
            inner = _In(src.data, src.pos, src.pos + n)
            if key == 0x22:
                time = _time_in(&inner)
            else:
                payload = _struct_in(&inner, 1)
            src.pos += n
        elif key == 0x2A:
            actor = _text_in(src)
        elif key == 0x32:
            correlation = _text_in(src)
        elif key == 0x3A:
            causation = _text_in(src)
        else:
            _skip(src, key)
    if src.pos != src.end:
        raise ValueError("a field runs past its message")
    return (session_id, seq, kind, time, actor, correlation, causation, payload)


cdef _In _input(const unsigned char[::1] data):
    cdef _In src = _In(NULL, 0, data.shape[0])
    if data.shape[0]:
        src.data = &data[0]
    return src


def event_fields(const unsigned char[::1] data) -> tuple:
    """An Event message's fields from its wire bytes, as _event_in gives them."""
    cdef _In src = _input(data)
    return _event_in(&src)


def frame_fields(const unsigned char[::1] data) -> tuple:
    """A ReplayFrame's fields from its wire bytes: (event fields or None, index, total, status,
    changed_keys)."""
    cdef _In src = _input(data)
    cdef _In inner
    cdef object event = None
    cdef long long index = 0, total = 0, status = 0
    cdef list keys = []
    cdef unsigned long long key
    cdef Py_ssize_t n
    while src.pos < src.end:
        key = _varint_in(&src)
        if key == 0x0A:
            n = _length(&src)
            inner = _In(src.data, src.pos, src.pos + n)
            event = _event_in(&inner)
            src.pos += n
        elif key == 0x10:
            index = <long long> _varint_in(&src)
        elif key == 0x18:
            total = <long long> _varint_in(&src)
        elif key == 0x20:
            status = <long long> _varint_in(&src)
        elif key == 0x2A:
            keys.append(_text_in(&src))
        else:
            _skip(&src, key)
    if src.pos != src.end:
        raise ValueError("a field runs past its message")
    return (event, index, total, status, keys)
