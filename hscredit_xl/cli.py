"""The `hscredit-xl` command (contract §2). Exit 0 done; 2 the input has problems; 1 anything else."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


# argparse's own words (usage, headings, its error messages), in Chinese like the rest of the command
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的命令：%(value)r（可选：%(choices)s）",
    "expected one argument": "需要一个值",
    "argument %(argument_name)s: %(message)s": "%(message)s",
}


def _zh(text: str) -> str:
    return _ARGPARSE_ZH.get(text, text)


argparse._ = _zh  # argparse looks its words up through this module-level gettext alias


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


def _fail_input(problems) -> int:
    _print_problems(problems)
    print(f"共 {sum(p.level == 'error' for p in problems)} 个错误，未写入任何文件。", file=sys.stderr)
    return EXIT_INPUT


def _open_book(path: str):
    from .workbook.book import OpenpyxlBook
    from .workbook.safety import open_untrusted

    return OpenpyxlBook(Path(path), open_untrusted(Path(path)))


def cmd_new(args) -> int:
    from .workbook.template import write_template

    out = write_template(Path(args.output))
    print(f"已生成模板：{out}")
    return EXIT_OK


def cmd_fill(args) -> int:
    from .datafile import read_rows
    from .rubric import load_rubric
    from .scoring import InputProblems
    from .workbook.fill import fill_book

    rows, problems = read_rows(Path(args.data), load_rubric())
    try:
        book = _open_book(args.workbook)
        found = fill_book(book, rows, problems)  # problems of the data file itself stop it before any write
    except InputProblems as exc:
        return _fail_input(exc.problems)
    out = book.save(Path(args.output or args.workbook))
    _print_problems(found)
    print(f"已填入数据：{out}")
    return EXIT_OK


def cmd_recompute(args) -> int:
    from .report import ranking_table
    from .scoring import InputProblems
    from .workbook.recompute import recompute

    try:
        book = _open_book(args.workbook)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    outcome = recompute(book)
    if not outcome.ok:
        return _fail_input(outcome.problems)
    out = book.save(Path(args.output or args.workbook))
    _print_problems(outcome.problems)
    print(ranking_table(outcome.result))
    print(f"已重算并保存：{out}")
    return EXIT_OK


def cmd_report(args) -> int:
    from .report import ranking_table, to_json
    from .scoring import InputProblems
    from .workbook.recompute import read_inputs, require_master, score_inputs, stamp_report

    try:
        book = _open_book(args.workbook)
        inputs = read_inputs(book)
        require_master(inputs)
        result = score_inputs(inputs)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    _print_problems(result.problems)
    print(to_json(result, stamp_report(book, inputs)) if args.json else ranking_table(result))
    return EXIT_OK


def cmd_merge(args) -> int:
    import datetime as dt

    from .inputs import ERROR, Problem
    from .scoring import InputProblems
    from .workbook.merge import merge_files

    received = None
    if args.received:
        try:
            received = dt.date.fromisoformat(args.received)
        except ValueError:
            return _fail_input([Problem(ERROR, "", "--received", "收到日期", args.received, "应为日期 YYYY-MM-DD，如 2021-02-04")])
    try:
        out, outcome = merge_files(Path(args.master), [Path(p) for p in args.unit_files],
                                   Path(args.output) if args.output else None, replace_values=args.replace,
                                   received=received)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    _print_problems(outcome.problems)
    for uf in outcome.merged:
        unit = uf.data.name
        print(f"已合并：{unit}（{uf.path.name}）")
    print(f"已写入：{out}（请重算后复核）")
    return EXIT_OK


def cmd_handout(args) -> int:
    from .scoring import InputProblems
    from .workbook.handout import write_handouts

    try:
        written = write_handouts(Path(args.master), Path(args.output), force=args.force)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    for path in written:
        print(f"已生成填报版：{path}")
    return EXIT_OK


def cmd_status(args) -> int:
    import json

    from .scoring import InputProblems
    from .workbook.recompute import read_inputs, require_master
    from .workbook.returns import status_report, status_table, unit_statuses

    try:
        book = _open_book(args.master)
        inp = read_inputs(book)
        if inp.layout is None:
            raise InputProblems(inp.problems)
        require_master(inp)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    choices = dict(inp.rubric.default_choices, **inp.choices)
    statuses = unit_statuses(inp.rubric, inp.layout, choices, inp.rows, inp.returns)
    if args.json:
        print(json.dumps(status_report(inp.rubric, statuses), ensure_ascii=False, indent=1))
    else:
        print(status_table(inp.rubric, statuses))
    return EXIT_OK


def cmd_demo(args) -> int:
    from .report import ranking_table
    from .workbook.demo import run_demo

    out, result = run_demo(Path(args.output))
    print(ranking_table(result))
    print(f"\n示例工作簿（已填入六个单位的示例数据并重算）：{out}")
    return EXIT_OK


def cmd_export(args) -> int:
    from .export import export
    from .office import OfficeError
    from .scoring import InputProblems

    try:
        written = export(Path(args.workbook), Path(args.output) if args.output else None, pdf=args.pdf)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    except OfficeError as exc:  # LibreOffice missing or failing: its own Chinese message, no traceback
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    for path in written:
        print(f"已导出：{path}")
    return EXIT_OK


_ADDIN_EXTRA_MODULES = {"ms_ovba", "ms_ovba_compression", "ms_cfb", "oletools", "olefile"}


def _without_addin_extra(exc: ModuleNotFoundError) -> int:
    """Building the add-in needs the `addin` extra: say which, or re-raise any other missing module."""
    if (exc.name or "").split(".")[0] not in _ADDIN_EXTRA_MODULES:
        raise exc
    print(f"生成加载项需要可选组件 addin（ms-ovba、oletools），本环境没有安装（缺少模块 {exc.name}），"
          "未写入任何文件。请先安装：pip install \"hscredit-xl[addin]\"（在源码目录中：pip install -e \".[addin]\"）。",
          file=sys.stderr)
    return EXIT_FAILED


def cmd_addin_build(args) -> int:
    from .addin import build_addin

    try:
        out = build_addin(Path(args.output) if args.output else None)
    except ModuleNotFoundError as exc:
        return _without_addin_extra(exc)
    print(f"已生成加载项：{out}")
    return EXIT_OK


def cmd_addin_install(args) -> int:
    from .addin import install_addin

    try:
        return install_addin()
    except ModuleNotFoundError as exc:
        return _without_addin_extra(exc)


def cmd_bundle(args) -> int:
    from .bundle import BundleError, build_bundle

    try:
        out = build_bundle(Path(args.output), force=args.force)
    except BundleError as exc:
        print(f"未生成安装包：{exc}", file=sys.stderr)
        return EXIT_FAILED
    except ModuleNotFoundError as exc:
        return _without_addin_extra(exc)
    print(f"已生成 Windows 离线安装包：{out}\n把它拷到办公电脑上，解压后按其中的「安装说明.txt」安装。")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hscredit-xl", description="黄石市县（市）区社会信用体系建设工作考核评价：计分、模板、重算、导出。")
    parser.add_argument("--version", action="version", version=f"hscredit-xl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("score", help="直接对数据文件（CSV）计分，打印排名或 JSON 报告")
    p.add_argument("data", help="数据文件 DATA.csv（每个单位一行，第一行为数据键）")
    p.add_argument("--json", action="store_true", help="输出 JSON 报告")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("demo", help="生成模板，填入六个单位的示例数据，重算并打印排名")
    p.add_argument("-o", "--output", default="hscredit-demo", help="输出文件夹（默认 hscredit-demo）")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("new", help="生成 2020 年细则的空白模板工作簿")
    p.add_argument("-o", "--output", default="hscredit_2020.xlsx", help="输出文件（默认 hscredit_2020.xlsx）")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("fill", help="把数据文件（CSV）填入模板的录入表")
    p.add_argument("workbook", help="模板工作簿 .xlsx")
    p.add_argument("data", help="数据文件 DATA.csv")
    p.add_argument("-o", "--output", help="另存为（默认覆盖原文件）")
    p.set_defaults(func=cmd_fill)

    p = sub.add_parser("recompute", help="一键重算（无需 Excel）：校验、计分，写入考评表、汇总和校验结果")
    p.add_argument("workbook", help="工作簿 .xlsx")
    p.add_argument("-o", "--output", help="另存为（默认覆盖原文件）")
    p.set_defaults(func=cmd_recompute)

    p = sub.add_parser("report", help="工作簿的计分结果（与 score 相同的报告）")
    p.add_argument("workbook", help="工作簿 .xlsx")
    p.add_argument("--json", action="store_true", help="输出 JSON 报告")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("merge", help="把各单位报送的工作簿（自评数据、瞒报率明细、自评得分）合并进主工作簿")
    p.add_argument("master", help="主工作簿 .xlsx（市里的模板）")
    p.add_argument("unit_files", nargs="+", metavar="UNIT_FILE", help="单位报送的工作簿 .xlsx，每个单位一个")
    p.add_argument("-o", "--output", help="另存为（默认覆盖主工作簿）")
    p.add_argument("--received", metavar="YYYY-MM-DD", help="市信用办收到文件的日期（默认取填报版中的填报日期）")
    p.add_argument("--replace", action="store_true", help="单位文件的值与主工作簿已有的值不同时，以单位文件为准（默认列出冲突、不写入）")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("handout", help="为每个单位生成填报版（只含本单位，无需加载项，WPS/LibreOffice/Excel 均可填写）")
    p.add_argument("master", help="主工作簿 .xlsx")
    p.add_argument("-o", "--output", required=True, help="输出文件夹")
    p.add_argument("--force", action="store_true", help="覆盖文件夹中已有的同名填报版")
    p.set_defaults(func=cmd_handout)

    p = sub.add_parser("status", help="各单位填报版的报送情况：是否收到、是否按时、自评总分、缺少的佐证资料")
    p.add_argument("master", help="主工作簿 .xlsx")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", help="报送版：只含数值的工作簿副本；加 --pdf 另出各考评表的 PDF（需 LibreOffice）")
    p.add_argument("workbook", help="已重算的工作簿 .xlsx")
    p.add_argument("-o", "--output", help="输出文件夹（默认与工作簿相同）")
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 打印 A4 横向 PDF")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("addin", help="Excel 加载项（「信用考评」选项卡与 HS_ 函数）")
    addin = p.add_subparsers(dest="addin_command", required=True, parser_class=_Parser)
    q = addin.add_parser("build", help="生成加载项 hscredit_xl.xlam")
    q.add_argument("-o", "--output", help="输出文件（默认 ./hscredit_xl.xlam）")
    q.set_defaults(func=cmd_addin_build)
    q = addin.add_parser("install", help="（Windows）安装加载项到 Excel 启动文件夹并写入 xlwings 配置")
    q.set_defaults(func=cmd_addin_install)

    p = sub.add_parser("bundle", help="生成 Windows（64 位）离线安装包 .zip：办公电脑不联网即可安装加载项（生成时需要联网）")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="安装包所在的文件夹")
    p.add_argument("--force", action="store_true", help="覆盖已有的同名安装包")
    p.set_defaults(func=cmd_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): nothing left to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the last resort: a clear line, never a traceback for the user
        print(f"hscredit-xl：出错了：{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
