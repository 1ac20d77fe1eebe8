"""Machine learning on the lake: point-in-time training examples and their manifests
(:mod:`.datasets`) and the ranking model with its MLflow registry and champion/challenger
promotion (:mod:`.model`)."""
