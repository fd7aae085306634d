"""Pop-Diffuseq Studio: starts the editor, or the engine's command line when given a subcommand.

    python main.py [song.mid]            open the editor (the demo song when no file is given)
    python main.py analyze song.mid      any `popdiffuseq` subcommand (see --help)
"""

from __future__ import annotations

import os
import sys

CLI_COMMANDS = {"analyze", "infill", "render", "dataset", "train", "evaluate", "--help", "-h"}


def main(argv: list[str]) -> int:
    if argv and argv[0] in CLI_COMMANDS:
        from engine.cli import main as cli_main

        return cli_main(argv)
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        # Without this check Qt aborts the whole process (SIGABRT), which Python cannot catch.
        # Name this interpreter: a bare "python" may be the system one, without PySide6 (issue 18, item 11).
        here = os.path.relpath(os.path.abspath(__file__))
        print(
            "No display found. Run the editor on a desktop, or under a virtual display:\n"
            "  xvfb-run -a make run\n"
            f"  xvfb-run -a {sys.executable} {here}\n"
            f"or headless for a screenshot: QT_QPA_PLATFORM=offscreen {sys.executable} {here} --screenshot shot.png",
            file=sys.stderr,
        )
        return 2
    from app.main_window import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
