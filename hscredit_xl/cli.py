"""The `hscredit-xl` command (contract §2). Exit 0 done; 2 the input has problems; 1 anything else."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code 2 would read as "bad input data"
        self.print_usage(sys.stderr)
        print(f"hscredit-xl：参数有误：{message}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED)


def _print_problems(problems) -> None:
    for p in problems:
        print(p.message(), file=sys.stderr)


def cmd_score(args) -> int:
    from .report import ranking_table, to_json
    from .scoring import InputProblems, score_file

    try:
        result = score_file(Path(args.data))
    except InputProblems as exc:
        _print_problems(exc.problems)
        print(f"共 {sum(p.level == 'error' for p in exc.problems)} 个错误，未计分。", file=sys.stderr)
        return EXIT_INPUT
    _print_problems(result.problems)
    print(to_json(result) if args.json else ranking_table(result))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hscredit-xl", description="黄石市县（市）区社会信用体系建设工作考核评价：计分、模板、重算、导出。")
    parser.add_argument("--version", action="version", version=f"hscredit-xl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("score", help="直接对数据文件（CSV）计分，打印排名或 JSON 报告")
    p.add_argument("data", help="数据文件 DATA.csv（每个单位一行，第一行为数据键）")
    p.add_argument("--json", action="store_true", help="输出 JSON 报告")
    p.set_defaults(func=cmd_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the last resort: a clear line, never a traceback for the user
        print(f"hscredit-xl：出错了：{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
