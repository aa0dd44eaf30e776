"""The reasoning engine: the signed causal graph, bounded path search, scoring, explanations,
ranked hypotheses, patient profiles and the expert question set."""
