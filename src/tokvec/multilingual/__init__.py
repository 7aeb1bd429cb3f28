"""Cross-lingual word vectors: joint models, alignment, bilingual lexicon induction.

- :mod:`.model`: the ``multilingual`` model kind, one table with a language per row
  (:class:`MultilingualModel`);
- :mod:`.vectors`: cross-lingual queries (:class:`MultilingualVectors`);
- :mod:`.retrieval`: nearest-neighbour and CSLS retrieval in bounded memory;
- :mod:`.align`: orthogonal Procrustes with CSLS refinement (:func:`align_spaces`,
  :func:`align_models`);
- :mod:`.dictionary`: ``source TAB target`` dictionary files;
- :mod:`.bli`: bilingual lexicon induction, precision at 1, 5 and 10 (:func:`evaluate_bli`).

Importing this package registers the ``multilingual`` kind with :func:`tokvec.modeldir.load_model`.
"""

from .model import KIND, MultilingualModel
from .vectors import MultilingualVectors

__all__ = ["KIND", "MultilingualModel", "MultilingualVectors"]
