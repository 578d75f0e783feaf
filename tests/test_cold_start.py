"""What a cold start imports and builds (issue #16): checked in fresh interpreters, as Lambda starts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from lapor_cli.template import _CfnLoader

ROOT = Path(__file__).resolve().parents[1]
GLOBALS = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
VARIABLES = GLOBALS["Globals"]["Function"]["Environment"]["Variables"]


def fresh(code: str, function: str, **env: str) -> dict:
    """Run ``code`` in a new interpreter with ``function``'s code on the path; the JSON it prints last."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYDANTIC_")} | env
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'functions' / function)!r})\n"
                           + code], capture_output=True, text=True, env=child_env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_functions_load_no_pydantic_plugins():
    """Without PYDANTIC_DISABLE_PLUGINS pydantic reads every installed package's entry points at its first model."""
    assert VARIABLES["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    scanned = fresh("import json, lapor_api.app\nfrom lapor.settings import get_settings\nget_settings()\n"
                    "from pydantic.plugin import _loader\nprint(json.dumps(_loader._plugins is not None))",
                    "api", PYDANTIC_DISABLE_PLUGINS=VARIABLES["PYDANTIC_DISABLE_PLUGINS"])
    assert scanned is False


def test_the_sms_function_does_not_create_every_route_s_models():
    """SmsFunction validates one body, ReportIn (lapor.intake_models); lapor.models holds the other ~60 classes."""
    loaded = fresh("import json, sys, lapor_sms.app\nprint(json.dumps(sorted(m for m in sys.modules "
                   "if m.startswith(('lapor.models', 'lapor.intake_models')))))", "sms")
    assert loaded == ["lapor.intake_models"]
    from lapor import intake_models, models

    assert models.ReportIn is intake_models.ReportIn  # one class: the same schema in the OpenAPI document


def test_the_api_builds_no_request_model_at_import():
    """Every model of lapor.models is deferred (built at its first use, or by SnapStart's priming): building them
    all took ~40 ms of every cold start. A parametrized RootModel[...] base would be a class of its own, built at
    import; only the settings, read at init anyway, are built."""
    built = fresh("import json, lapor_api.app, pydantic\n"
                  "def subclasses(cls):\n"
                  "    for sub in cls.__subclasses__():\n"
                  "        yield sub\n"
                  "        yield from subclasses(sub)\n"
                  "print(json.dumps(sorted({f'{c.__module__}.{c.__qualname__}' for c in subclasses(pydantic.BaseModel)\n"
                  "                         if c.__module__.startswith('lapor') and c.__pydantic_complete__})))", "api")
    assert built == ["lapor.settings.Settings"]


def test_the_collector_is_paused_while_a_function_starts_and_its_objects_are_frozen_out_of_later_collections():
    """Init's objects live as long as the container: collecting while they are made was ~35 ms of ApiFunction's
    cold start. After init the collector runs again, without them."""
    for function, module in (("api", "lapor_api.app"), ("sms", "lapor_sms.app")):
        seen = fresh(f"import gc, json\nbefore = [s['collections'] for s in gc.get_stats()]\nimport {module}\n"
                     "after = [s['collections'] for s in gc.get_stats()]\n"
                     "print(json.dumps([[a - b for a, b in zip(after, before)], gc.isenabled(), gc.get_freeze_count()]))",
                     function)
        collections, enabled, frozen = seen
        # Loading the module's code before its first line runs may take a young collection or two; without the
        # pause there are ~180, older generations' too.
        assert collections[0] <= 3 and collections[1:] == [0, 0], (function, collections)
        assert enabled and frozen > 10_000, (function, seen)


# What the Lambda runtime sets (plus fake credentials).
IN_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "ApiFunction", "AWS_DEFAULT_REGION": "ap-southeast-3",
             "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def test_boto3_comes_with_the_first_table_access_not_with_the_module():
    """A cold start whose first request never reads the table (the web form's reference lists) skips boto3's
    import and the client, in Lambda too."""
    seen = fresh("import json, sys, lapor_api.app\nfrom lapor import runtime\nat_import = 'boto3' in sys.modules\n"
                 "runtime.store().client\nprint(json.dumps([at_import, 'boto3' in sys.modules]))", "api", **IN_LAMBDA)
    assert seen == [False, True]
