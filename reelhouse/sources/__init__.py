"""Where events come from: the landing contract (:mod:`.contract`), the landing zone on disk
(:mod:`.landing`), the synthetic world generator (:mod:`.generator`) and importers of real logs
(:mod:`.importers`). Everything here writes or reads *landing files*, never the lake."""
