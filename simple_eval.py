"""Accuracy on arithmetic word problems WITHOUT a tool (the model computes in its head).

    python simple_eval.py --model qwen2.5-coder-0.5b --n 100 --seeds 0 1 2

Writes OUT/episodes.jsonl (one line per episode, resumable) and OUT/summary.json, and prints the README's table row.
"""

import evaluation


def main(argv=None) -> dict:
    parser = evaluation.build_parser(__doc__)
    args = parser.parse_args(argv)
    return evaluation.main(args, use_tool=False, script="simple_eval", parser=parser)


if __name__ == "__main__":
    main()
