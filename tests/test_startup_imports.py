"""What every process that imports the pipeline pays before its first line runs.

jsonschema 4.25+ imports `rfc3987_syntax` whenever it is installed (Jupyter installs it with
`jsonschema[format-nongpl]`), and that module builds about 35 Earley parsers at import: 2.5 s
of CPU in each kernel, CLI run, scheduled run and Dask worker (python-jsonschema/jsonschema#1428).
requirements.txt pins jsonschema 4.24.1, which does not.
"""

import subprocess
import sys

SLOW_AT_IMPORT = ("rfc3987_syntax", "lark")


def test_importing_the_pipeline_builds_no_iri_parsers():
    code = "import sys, github_stars.pipeline; print(*sorted(sys.modules), sep='\\n')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = done.stdout.split()
    assert "prefect" in loaded  # the import this test is about happened
    assert [name for name in loaded if name.split(".")[0] in SLOW_AT_IMPORT] == []
