"""Using cd38kg from Python: why daratumumab + ATRA should counter CD38 loss, what else might work.

Run: python examples/api_example.py
"""

from cd38kg import KnowledgeBase


def main() -> None:
    kb = KnowledgeBase.load()
    result = kb.explain("daratumumab + ATRA", "CD38 downregulation")
    print(f"{result.verdict.value} (score {result.score:.3f}): {result.message}")
    for steps in result.explanations[:2]:
        for step in steps:
            print("  ", step.sentence)
    for conflict in result.conflicts:
        print("  conflict:", conflict.note)
    print("\nWhat else might work against NK-cell fratricide with daratumumab?")
    for hypothesis in kb.hypotheses("NK cell fratricide", antibody="daratumumab", top=5):
        also = ", ".join(e.label for e in hypothesis.equivalents)
        print(f"  {hypothesis.partner.label:35s} {hypothesis.result.verdict.value:9s} {hypothesis.status:8s}"
              + (f" (also: {also})" if also else ""))


if __name__ == "__main__":
    main()
