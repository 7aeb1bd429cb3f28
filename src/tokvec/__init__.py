"""tokvec: turn discrete tokens into dense vectors."""

__version__ = "0.1.0"
