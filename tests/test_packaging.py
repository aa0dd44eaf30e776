"""A non-editable install works outside the checkout: the ontology and queries ship in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_answers_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("cd38kg-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = subprocess.run(
        [str(python), "-c", "import cd38kg.resources as r; print(r.ontology_dir()); print(r.queries_dir())"],
        check=True, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert str(env_dir) in probe.stdout and str(ROOT) not in probe.stdout
    cache = tmp_path / "cache"
    result = subprocess.run([str(env_dir / "bin" / "cd38kg"), "explain", "-c", "daratumumab + ATRA", "-r",
                             "CD38 downregulation", "--format", "json"],
                            check=True, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path)})
    assert json.loads(result.stdout)["verdict"] == "overcomes"
    assert not cache.exists() or not any(cache.rglob("*.nt")), "the shipped inferences must be used (no reasoner run)"
    page = tmp_path / "kb.html"
    subprocess.run([str(env_dir / "bin" / "cd38kg"), "export", "html", "--out", str(page)], check=True,
                   capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert "vis.Network" in page.read_text(encoding="utf-8"), "the HTML template and vis-network ship in the wheel"
