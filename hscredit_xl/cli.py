"""The `hscredit-xl` command (contract §2). Exit 0 done; 2 the input has problems; 1 anything else."""
from __future__ import annotations

import argparse
import contextlib
import gc
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
    """Every problem, one line each; where none is an error (the command went on), how many 提示 there were:
    at hundreds of units they run past a screen, and the count says how many to look through."""
    from .inputs import WARNING

    for p in problems:
        print(p.message(), file=sys.stderr)
    notes = sum(1 for p in problems if p.level == WARNING)
    if notes > 1 and notes == len(problems):
        print(f"共 {notes} 个提示，请逐条核对。", file=sys.stderr)


def _units_file(path: str | None, rubric=None):
    """The units of `--units FILE` (None without the option); InputProblems listing every bad line."""
    from .scoring import InputProblems
    from .unitlist import read_units_file

    if not path:
        return None
    units, problems = read_units_file(Path(path), rubric)
    if problems:
        raise InputProblems(problems)
    return units


def _given_rubric(args):
    """The rubric of `--rubric FILE` (None without the option); InputProblems when it can not be read."""
    path = getattr(args, "rubric", None)
    if not path:
        return None
    from .workbook.rubricof import load_given  # imported only when given: `score` needs no workbook code

    return load_given(path)


def _rubric(args):
    """The rubric a command that makes something uses: `--rubric FILE`, else the shipped one."""
    from .rubric import load_rubric

    return _given_rubric(args) or load_rubric()


UNITS_HELP = ("单位名单 CSV：第一行为表头 unit（细则有只考核部分单位的规则时再加一列该组的键，填 是/否；"
              "表头不对时会提示应写的表头）；默认为细则中的单位")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


def _missing(*paths: tuple[str, str], then: str = "未写入任何文件") -> int | None:
    """Every input file that is not there, said plainly with its path; the exit status, or None: all there."""
    missing = [(path, role) for path, role in paths if not Path(path).exists()]
    for path, role in missing:
        where = role if Path(path).is_absolute() else f"{role}；完整路径：{Path(path).absolute()}"
        print(f"[错误] 文件不存在：{path}（{where}）", file=sys.stderr)
    if not missing:
        return None
    print(f"共 {len(missing)} 个错误，{then}。", file=sys.stderr)
    return EXIT_INPUT


def _is_workbook(path: str) -> bool:
    """A workbook by its name or its first bytes (.xlsx is a zip, .xls an OLE file)."""
    if Path(path).suffix.lower() in WORKBOOK_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0")


def _wrong_argument(message: str, then: str = "未写入任何文件") -> int:
    print(f"[错误] {message}", file=sys.stderr)
    print(f"共 1 个错误，{then}。", file=sys.stderr)
    return EXIT_INPUT


def cmd_score(args) -> int:
    from .report import ranking_table, to_json
    from .scoring import InputProblems, score_file

    status = _missing((args.data, "数据文件"), then="未计分")
    if status is not None:
        return status
    if _is_workbook(args.data):
        return _wrong_argument(f"「{args.data}」是工作簿，score 只读数据文件（CSV）。查看工作簿的计分结果请用："
                               f"hscredit-xl report {args.data}", then="未计分")
    try:
        rubric = _rubric(args)  # read once: with --rubric it is a file to parse
        result = score_file(Path(args.data), rubric, units=_units_file(args.units, rubric))
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
    """A workbook read and written in place (xlsxfile.XlsxBook): only the sheets read are parsed, only the rows
    written are rewritten."""
    from .workbook.xlsxfile import XlsxBook

    return XlsxBook(Path(path))


def cmd_new(args) -> int:
    from .scoring import InputProblems
    from .workbook.atomic import refuse_existing
    from .workbook.template import write_template

    try:
        rubric = _rubric(args)
        output = args.output or (None if args.data_file else default_template(rubric))
        if output:  # checked before anything is written, the data file included
            refuse_existing(output, args.force)
        units = _units_file(args.units, rubric)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    if args.data_file:
        status = _new_data_file(args, rubric)
        if status != EXIT_OK or not output:  # `new --data-file X` alone writes the data file only
            return status
    if units is None:
        out = write_template(Path(output), rubric)
    else:
        try:
            out = write_template(Path(output), rubric, units=units.names, public_service=units.public_service)
        except ValueError as exc:  # two names that give the same 考评表 sheet name
            from .inputs import ERROR, Problem

            return _fail_input([Problem(ERROR, "", str(args.units), "单位名单", "", str(exc))])
    print(f"已生成模板：{out}")
    return EXIT_OK


def _writing(source: str, output: str | None, command: str):
    """The writer lock on the workbook a command replaces (see workbook/lock.py)."""
    from .workbook.lock import writer_lock

    return writer_lock(Path(output or source), command)


DEFAULT_TEMPLATE = "hscredit_2020.xlsx"  # `new` without -o, for the shipped 2020 rubric (default_template)


def default_template(rubric) -> str:
    return f"hscredit_{rubric.year}.xlsx"


def _new_data_file(args, rubric) -> int:
    from .datafile import write_blank

    path = Path(args.data_file)
    if path.exists() and not args.force:
        return _wrong_argument(f"文件已存在：{args.data_file}。为免覆盖已填写的数据，未写入；确需覆盖请加 --force")
    if path.suffix.lower() != ".csv":
        return _wrong_argument(f"数据文件应以 .csv 结尾，收到「{args.data_file}」")
    out = write_blank(path, rubric)
    print(f"已生成空白数据文件（中文表头，每个单位一行）：{out}")
    print("填好后：hscredit-xl score 数据文件.csv，或 hscredit-xl fill 工作簿.xlsx 数据文件.csv")
    return EXIT_OK


def cmd_fill(args) -> int:
    from .datafile import read_rows
    from .scoring import InputProblems
    from .workbook.fill import fill_book
    from .workbook.rubricof import rubric_for

    status = _missing((args.workbook, "模板工作簿"), (args.data, "数据文件"))
    if status is not None:
        return status
    usage = "用法：hscredit-xl fill 工作簿.xlsx 数据.csv"
    if Path(args.workbook).suffix.lower() in TEXT_SUFFIXES:
        swapped = "两个参数是否写反了？" if _is_workbook(args.data) else "没有模板可先用 hscredit-xl new 生成。"
        return _wrong_argument(f"第一个参数应为模板工作簿（.xlsx），收到的「{args.workbook}」是数据文件。{swapped}{usage}")
    if _is_workbook(args.data):
        return _wrong_argument(f"第二个参数应为数据文件（.csv），收到的「{args.data}」是工作簿。{usage}；"
                               "把各单位报送的工作簿并入主工作簿请用 hscredit-xl merge")
    try:
        with _writing(args.workbook, args.output, "fill"):
            book = _open_book(args.workbook)
            rubric = rubric_for(book, _given_rubric(args))  # the data file is read by the workbook's rubric
            rows, problems = read_rows(Path(args.data), rubric)
            # problems of the data file itself, and conflicts with what the workbook holds, stop it before any write
            found = fill_book(book, rows, problems, replace=args.replace, rubric=rubric)
            out = book.save(Path(args.output or args.workbook))
    except InputProblems as exc:
        return _fail_input(exc.problems)
    _print_problems(found)
    print(f"已填入数据：{out}")
    return EXIT_OK


def cmd_recompute(args) -> int:
    from .report import ranking_table
    from .scoring import InputProblems
    from .workbook.recompute import recompute

    status = _missing((args.workbook, "工作簿"))
    if status is not None:
        return status
    try:
        with _writing(args.workbook, args.output, "recompute"):
            book = _open_book(args.workbook)
            outcome = recompute(book, rubric=_given_rubric(args))
            if not outcome.ok:
                raise InputProblems(outcome.problems)
            out = book.save(Path(args.output or args.workbook))
    except InputProblems as exc:
        return _fail_input(exc.problems)
    _print_problems(outcome.problems)
    print(ranking_table(outcome.result))
    print(f"已重算并保存：{out}")
    return EXIT_OK


def cmd_history(args) -> int:
    from .scoring import InputProblems
    from .workbook import history
    from .workbook.lock import writer_lock

    target = Path(args.file)
    kept = history.versions(target)
    if args.restore is None:
        if not kept:
            print(f"「{target}」没有保存的历史版本（{history.history_folder(target)}）。")
            return EXIT_OK
        print(f"「{target}」的历史版本（最新在前，最多保留 {history.KEEP} 个；被替换前的内容）：")
        print("序号  被替换时间            原文件修改时间          大小")
        for v in kept:
            print(f"{v.number:>4}  {v.replaced_at:%Y-%m-%d %H:%M:%S}   {v.modified_at:%Y-%m-%d %H:%M:%S}   "
                  f"{v.size:,} 字节")
        print(f"恢复某个版本：hscredit-xl history {args.file} --restore 序号（当前文件会先保存为历史版本）")
        return EXIT_OK
    from .inputs import ERROR, Problem

    numbers = [v.number for v in kept]
    if args.restore not in numbers:
        expected = f"应为 1～{len(kept)} 之间的序号" if kept else "该文件没有保存的历史版本"
        return _fail_input([Problem(ERROR, "", "--restore", "历史版本序号", str(args.restore), expected,
                                    f"先运行 hscredit-xl history {args.file} 查看")])
    try:
        with writer_lock(target, "history --restore"):
            chosen = history.restore(target, args.restore)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    print(f"已恢复 {chosen.replaced_at:%Y-%m-%d %H:%M:%S} 被替换前的版本：{target}（恢复前的文件已保存为历史版本 1）")
    return EXIT_OK


def cmd_report(args) -> int:
    from .report import ranking_table, to_json
    from .scoring import InputProblems
    from .workbook.recompute import read_inputs, require_master, score_inputs, stamp_report

    status = _missing((args.workbook, "工作簿"), then="未计分")
    if status is not None:
        return status
    if Path(args.workbook).suffix.lower() in TEXT_SUFFIXES:
        return _wrong_argument(f"「{args.workbook}」是数据文件，report 读工作簿。直接对数据文件计分请用："
                               f"hscredit-xl score {args.workbook}", then="未计分")
    try:
        book = _open_book(args.workbook)
        inputs = read_inputs(book, _given_rubric(args))
        require_master(inputs)
        result = score_inputs(inputs)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    _print_problems(result.problems)
    print(to_json(result, stamp_report(book, inputs)) if args.json else ranking_table(result))
    return EXIT_OK


def cmd_explain(args) -> int:
    from .report import explanation
    from .scoring import InputProblems, score_file

    status = _missing((args.source, "工作簿或数据文件"), then="无法说明")
    if status is not None:
        return status
    try:
        if _is_workbook(args.source):
            from .workbook.recompute import read_inputs, score_inputs

            result = score_inputs(read_inputs(_open_book(args.source), _given_rubric(args)))
        else:
            result = score_file(Path(args.source), _rubric(args))
    except InputProblems as exc:
        _print_problems(exc.problems)
        print(f"共 {sum(p.level == 'error' for p in exc.problems)} 个错误，未计分，无法说明。", file=sys.stderr)
        return EXIT_INPUT
    unit, problem = _find_unit(result, args.unit)
    if unit is None:
        return _wrong_argument(problem, then="无法说明")
    rule_ids = None
    if args.rule:
        wanted = args.rule.strip()
        rule_ids = [r.id for r in result.rubric.rules if wanted in (r.id, r.indicator, r.item)]
        if not rule_ids:
            ids = "、".join(r.id for r in result.rubric.rules)
            return _wrong_argument(f"细则中没有规则「{args.rule}」。可用的规则编号：{ids}", then="无法说明")
    print(explanation(result, unit, rule_ids))
    return EXIT_OK


def _find_unit(result, name: str):
    """The unit named, however its dots and spaces are typed; else (None, a message suggesting the one meant)."""
    import difflib

    from .inputs import normalize_unit_name

    wanted = normalize_unit_name(name)
    by_name = {normalize_unit_name(u.unit): u for u in result.units}
    if wanted in by_name:
        return by_name[wanted], ""
    containing = [n for n in by_name if wanted and wanted in n]  # 大冶 -> 大冶市
    close = containing if len(containing) == 1 else difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.5)
    meant = f"是否为「{by_name[close[0]].unit}」？" if close else ""
    return None, f"没有单位「{name}」。{meant}全部单位：{'、'.join(u.unit for u in result.units)}"


def cmd_merge(args) -> int:
    import datetime as dt

    from .inputs import ERROR, Problem
    from .scoring import InputProblems
    from .workbook.merge import merge_files

    status = _missing((args.master, "主工作簿"), *((p, "单位报送的工作簿") for p in args.unit_files))
    if status is not None:
        return status
    received = None
    if args.received:
        try:
            received = dt.date.fromisoformat(args.received)
        except ValueError:
            return _fail_input([Problem(ERROR, "", "--received", "收到日期", args.received, "应为日期 YYYY-MM-DD，如 2021-02-04")])
    try:
        with _writing(args.master, args.output, "merge"):
            out, outcome = merge_files(Path(args.master), [Path(p) for p in args.unit_files],
                                       Path(args.output) if args.output else None, replace_values=args.replace,
                                       received=received, rubric=_given_rubric(args))
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

    status = _missing((args.master, "主工作簿"))
    if status is not None:
        return status
    try:
        written = write_handouts(Path(args.master), Path(args.output), force=args.force, rubric=_given_rubric(args))
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

    status = _missing((args.master, "主工作簿"), then="无法查看")
    if status is not None:
        return status
    try:
        book = _open_book(args.master)
        inp = read_inputs(book, _given_rubric(args))
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

    from .scoring import InputProblems

    try:
        out, result = run_demo(Path(args.output), _given_rubric(args), Path(args.data) if args.data else None)
    except InputProblems as exc:
        return _fail_input(exc.problems)
    print(ranking_table(result))
    print(f"\n示例工作簿（已填入六个单位的示例数据并重算）：{out}")
    return EXIT_OK


def cmd_export(args) -> int:
    from .export import export
    from .office import OfficeError
    from .scoring import InputProblems

    status = _missing((args.workbook, "工作簿"))
    if status is not None:
        return status
    try:
        written = export(Path(args.workbook), Path(args.output) if args.output else None, pdf=args.pdf,
                         rubric=_given_rubric(args))
    except InputProblems as exc:
        return _fail_input(exc.problems)
    except OfficeError as exc:  # LibreOffice missing or failing: its own Chinese message, no traceback
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    for path in written:
        print(f"已导出：{path}")
    return EXIT_OK


def cmd_rubric_check(args) -> int:
    from .rubric_check import check_file

    checked = check_file(Path(args.file))
    if not checked.ok:
        print(checked.problem_report(), file=sys.stderr)
        return EXIT_INPUT
    print(checked.summary())
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


HELP_RUBRIC_NEW = "细则文件 .yaml（默认为随工具提供的 2020 年细则；通知原文按其 document.source 放在同一文件夹）"
HELP_RUBRIC_WORKBOOK = ("生成工作簿的细则文件 .yaml：默认按工作簿记录的细则（说明!H8 的 SHA-256）在随工具提供的细则和"
                        "记录的路径（说明!H9）中查找；文件被移动后用此项指定，其 SHA-256 须与记录的相同")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hscredit-xl", description="黄石市县（市）区社会信用体系建设工作考核评价：计分、模板、重算、导出。")
    parser.add_argument("--version", action="version", help="显示版本号并退出",
                        version=f"hscredit-xl 版本 {__version__}（黄石市社会信用体系建设工作考核评价工具）")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("score", help="直接对数据文件（CSV）计分，打印排名或 JSON 报告")
    p.add_argument("data", help="数据文件 DATA.csv（每个单位一行，第一行为数据键）")
    p.add_argument("--json", action="store_true", help="输出 JSON 报告")
    p.add_argument("--units", metavar="UNITS.csv", help=UNITS_HELP)
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_NEW)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("demo", help="生成模板，填入六个单位的示例数据，重算并打印排名")
    p.add_argument("-o", "--output", default="hscredit-demo", help="输出文件夹（默认 hscredit-demo）")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_NEW)
    p.add_argument("--data", metavar="数据.csv", help="示例数据文件（默认为随工具提供的 2020 年示例数据；换用其他细则时给出与之相符的数据）")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("new", help="生成空白模板工作簿（默认按随工具提供的 2020 年细则，--rubric 指定其他细则）；"
                                   "加 --data-file 生成空白数据文件（CSV）")
    p.add_argument("-o", "--output", help=f"输出文件（默认 hscredit_<细则年度>.xlsx，如 {DEFAULT_TEMPLATE}）")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_NEW)
    p.add_argument("--data-file", metavar="数据.csv",
                   help="生成空白数据文件：中文表头、每个单位一行（只给此项时不生成模板）")
    p.add_argument("--force", action="store_true", help="输出文件已存在时替换它（被替换的工作簿保留在历史版本中）")
    p.add_argument("--units", metavar="UNITS.csv", help=UNITS_HELP)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("fill", help="把数据文件（CSV）填入模板的录入表")
    p.add_argument("workbook", help="模板工作簿 .xlsx")
    p.add_argument("data", help="数据文件 DATA.csv")
    p.add_argument("-o", "--output", help="另存为（默认覆盖原文件）")
    p.add_argument("--replace", action="store_true",
                   help="数据文件的值与工作簿中已填的值不同时，以数据文件为准（默认列出冲突、不写入）")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_fill)

    p = sub.add_parser("recompute", help="一键重算（无需 Excel）：校验、计分，写入考评表、汇总和校验结果")
    p.add_argument("workbook", help="工作簿 .xlsx")
    p.add_argument("-o", "--output", help="另存为（默认覆盖原文件）")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_recompute)

    p = sub.add_parser("report", help="工作簿的计分结果（与 score 相同的报告）")
    p.add_argument("workbook", help="工作簿 .xlsx")
    p.add_argument("--json", action="store_true", help="输出 JSON 报告")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("explain", help="说明某单位每项得分的由来（与 JSON 报告中的 why 相同）")
    p.add_argument("source", metavar="工作簿或数据文件", help="工作簿 .xlsx 或数据文件 .csv")
    p.add_argument("unit", metavar="单位", help="单位名称，如 大冶市")
    p.add_argument("rule", metavar="规则", nargs="?", help="规则编号（也可写指标或项目编号）；不写则说明全部")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("merge", help="把各单位交回的填报版（或完整模板、CSV）合并进主工作簿：数据、自评得分、瞒报率明细、佐证资料、报送信息")
    p.add_argument("master", help="主工作簿 .xlsx（市里的模板）")
    p.add_argument("unit_files", nargs="+", metavar="UNIT_FILE", help="单位报送的工作簿 .xlsx，每个单位一个")
    p.add_argument("-o", "--output", help="另存为（默认覆盖主工作簿）")
    p.add_argument("--received", metavar="YYYY-MM-DD", help="市信用办收到文件的日期（默认取填报版中的填报日期）")
    p.add_argument("--replace", action="store_true", help="单位文件的值与主工作簿已有的值不同时，以单位文件为准（默认列出冲突、不写入）")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("history", help="工作簿被替换前保存的历史版本：列出，或恢复其中一个")
    p.add_argument("file", help="工作簿 .xlsx")
    p.add_argument("--restore", type=int, metavar="序号", help="恢复该序号的版本（当前文件先保存为历史版本）")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("handout", help="为每个单位生成填报版（只含本单位，无需加载项，WPS/LibreOffice/Excel 均可填写）")
    p.add_argument("master", help="主工作簿 .xlsx")
    p.add_argument("-o", "--output", required=True, help="输出文件夹")
    p.add_argument("--force", action="store_true", help="覆盖文件夹中已有的同名填报版")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_handout)

    p = sub.add_parser("status", help="各单位填报版的报送情况：是否收到、是否按时、自评总分、缺少的佐证资料")
    p.add_argument("master", help="主工作簿 .xlsx")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", help="报送版：只含数值的工作簿副本；加 --pdf 另出各考评表的 PDF（需 LibreOffice）")
    p.add_argument("workbook", help="已重算的工作簿 .xlsx")
    p.add_argument("-o", "--output", help="输出文件夹（默认与工作簿相同）")
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 打印 A4 横向 PDF")
    p.add_argument("--rubric", metavar="细则.yaml", help=HELP_RUBRIC_WORKBOOK)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("rubric", help="评分细则文件（YAML）")
    rubric = p.add_subparsers(dest="rubric_command", required=True, parser_class=_Parser)
    q = rubric.add_parser("check", help="检查细则文件：原文引用逐字见于通知、分值逐级相加、案例按所写计算、数据键与开关均有定义")
    q.add_argument("file", metavar="FILE", help="细则文件 .yaml（通知原文按其 document.source 在同一文件夹中查找）")
    q.set_defaults(func=cmd_rubric_check)

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


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector off while a command runs (and back as it was after). A command builds up to
    millions of objects that live until it ends — a workbook's cells, a sheet's values — and the collector
    would go through all of them again and again: a third of `new` at 3,000 units (BENCHMARKS.md). Memory
    is still freed as it is released; only reference cycles wait until the end."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        with gc_paused():
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
