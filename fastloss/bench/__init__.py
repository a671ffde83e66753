"""The benchmark behind ``fastloss bench`` and ``bench/``: the case table
(:mod:`fastloss.bench.cases`) and the runner (:mod:`fastloss.bench.run`)."""
