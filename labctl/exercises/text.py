"""The words labctl's exercise commands print, in English and Japanese, and the choice of language:
--lang, else the locale (LC_ALL, LC_MESSAGES, LANG: ja* means Japanese), else English."""

from __future__ import annotations

import os

from labctl.errors import LabctlError

UI: dict[str, dict[str, str]] = {
    "en": {
        "exercise": "Exercise", "lab": "lab", "router": "your router", "started": "started",
        "goal": "Goal", "start_state": "Your router", "connect": "Work on it with",
        "check_with": "Check your work with", "pass": "PASS", "fail": "FAIL", "expected": "expected",
        "observed": "observed", "hint": "Hint", "no_hint": "No more hints: every hint has been shown.",
        "all_passed": "All {n} checks passed. Well done!", "some_failed": "{f} of {n} checks failed.",
        "checks_run": "check runs", "hints_shown": "hints shown", "solved_by_reference":
        "the reference solution was applied (labctl exercise solve)", "check": "check", "result": "result",
        "first_pass": "first passed", "not_run": "not run", "history": "History", "passed_word": "passed",
        "reset_done": "{node} is back in its start state.", "solved": "Reference solution applied to {node}.",
        "level": "level", "checks": "checks", "check": "check", "unconfigured": "unconfigured", "half-configured": "half-configured",
        "broken": "broken", "hints_left": "hints left", "stop_with": "Remove the lab with",
    },
    "ja": {
        "exercise": "演習", "lab": "ラボ", "router": "あなたのルータ", "started": "開始",
        "goal": "目標", "start_state": "あなたのルータの状態", "connect": "作業するには",
        "check_with": "確認するには", "pass": "合格", "fail": "不合格", "expected": "期待値",
        "observed": "観測値", "hint": "ヒント", "no_hint": "ヒントはもうありません(すべて表示済みです)。",
        "all_passed": "{n} 件のチェックにすべて合格しました。お疲れさまでした!",
        "some_failed": "{n} 件中 {f} 件のチェックが不合格です。",
        "checks_run": "チェック実行回数", "hints_shown": "表示したヒント",
        "solved_by_reference": "模範解答を適用しました (labctl exercise solve)", "check": "チェック", "result": "結果",
        "first_pass": "初回合格", "not_run": "未実行", "history": "履歴", "passed_word": "合格",
        "reset_done": "{node} を開始時の状態に戻しました。", "solved": "{node} に模範解答を適用しました。",
        "level": "レベル", "checks": "チェック", "check": "チェック", "unconfigured": "未設定", "half-configured": "設定途中",
        "broken": "設定ミスあり", "hints_left": "残りのヒント", "stop_with": "ラボを削除するには",
    },
}


def language(flag: str | None = None, environ: dict | None = None) -> str:
    if flag is not None:
        if flag not in UI:
            raise LabctlError(f"unknown language '{flag}'", f"--lang {' or --lang '.join(UI)}")
        return flag
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def ui(lang: str) -> dict[str, str]:
    return UI.get(lang, UI["en"])
