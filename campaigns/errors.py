class TransitionError(Exception):
    """Base of status-change errors; the message is meant for the person who asked."""


class InvalidTransition(TransitionError):
    """The move is not in the status machine (or a precondition is not met)."""


class ConcurrentTransition(TransitionError):
    """Someone else changed the status first: the compare-and-set matched no row."""


class UnknownActionType(ValueError):
    pass
