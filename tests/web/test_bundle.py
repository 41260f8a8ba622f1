"""The committed supabase-js bundle (examples/web/vendor/supabase-js.js) is what the build
produces from the lock file: the version it pins (the one the client recipes are tested with,
tests/js), bundled again here and compared byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.system import npm_ci

WEB = PROJECT_DIR / "examples" / "web"
BUNDLE = WEB / "vendor" / "supabase-js.js"


def locked_version() -> str:
    lock = json.loads((WEB / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/@supabase/supabase-js"]["version"]
    return version


def test_the_committed_bundle_is_of_the_pinned_supabase_js():
    pinned = json.loads((WEB / "package.json").read_text())["dependencies"]["@supabase/supabase-js"]
    recipes = json.loads((PROJECT_DIR / "tests" / "js" / "package.json").read_text())
    text = BUNDLE.read_text(encoding="utf-8")
    locked = locked_version()

    assert pinned == locked == recipes["dependencies"]["@supabase/supabase-js"]
    # The banner tools/bundle.mjs writes, and the version supabase-js compiles into its code.
    assert text.splitlines()[0] == (
        f"// @supabase/supabase-js {locked}, bundled by examples/web/tools/bundle.mjs"
    )
    assert f'"{locked}"' in text
    exported = text.rsplit("export{", 1)[-1]
    assert "as createClient" in exported
    assert "as FunctionsHttpError" in exported


def test_the_committed_bundle_is_what_the_lock_file_builds():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("rebuilding the supabase-js bundle needs Node.js and npm on PATH; not found")
    npm_ci(WEB, "@supabase/supabase-js")
    rebuilt = Path(tempfile.mkdtemp()) / "supabase-js.js"

    subprocess.run(  # noqa: S603 - node on the project's own build script
        [node, str(WEB / "tools" / "bundle.mjs"), str(rebuilt)],
        cwd=WEB,
        capture_output=True,
        timeout=120,
        check=True,
    )

    assert rebuilt.read_bytes() == BUNDLE.read_bytes()
