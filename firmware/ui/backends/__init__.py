"""Feedback sink backends, chosen by the ``[ui] type`` setting."""
