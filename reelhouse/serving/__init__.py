"""Serving: the Feast feature views (:mod:`.feature_views`), the value encoding Feast's online
stores use (:mod:`.feast_encoding`) and the gated publish of gold features to the online store
(:mod:`.online_store`) through one writer interface, one implementation per store
(:mod:`.writers`: SQLite, Redis)."""
