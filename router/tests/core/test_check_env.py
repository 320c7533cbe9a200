"""`make check-env` (the repo root's Makefile and scripts/check-env.sh) takes either spelling of a
required setting: ours, or the hardened WhatsApp gateway's that the router reads too."""

import shutil
import subprocess
from pathlib import Path

import pytest

from app.settings import ALIASES, Settings

REPO = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make")
ENOUGH = "WHATSAPP_PHONE_NUMBER_ID=1122334455667\nWHATSAPP_ACCESS_TOKEN=access\n"

pytestmark = pytest.mark.skipif(
    MAKE is None or not (REPO / "Makefile").is_file(),
    reason="needs make and the repo root's Makefile (not in the router's test image)",
)


def make(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """make in a copy of the Makefile and scripts/check-env.sh."""
    assert MAKE is not None
    (folder / "scripts").mkdir(exist_ok=True)
    shutil.copy(REPO / "Makefile", folder / "Makefile")
    shutil.copy(REPO / "scripts" / "check-env.sh", folder / "scripts" / "check-env.sh")
    return subprocess.run(
        [MAKE, "--no-print-directory", *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def check_env(folder: Path, env: str) -> subprocess.CompletedProcess[str]:
    """`make check-env` beside `env` as `.env`."""
    (folder / ".env").write_text(env)
    return make(folder, "check-env")


@pytest.mark.parametrize(
    "names",
    [
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN=v\nWHATSAPP_APP_SECRET=s\n",
        "WHATSAPP_VERIFY_TOKEN=v\nWHATSAPP_WEBHOOK_SECRET=s\n",
        # .env.example's empty lines, filled in under the gateway's names.
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN=\nWHATSAPP_APP_SECRET=\n"
        "WHATSAPP_VERIFY_TOKEN=v\nWHATSAPP_WEBHOOK_SECRET=s\n",
    ],
    ids=["ours", "the gateway's", "the gateway's below our empty ones"],
)
def test_either_spelling_of_a_required_setting_does(tmp_path: Path, names: str) -> None:
    done = check_env(tmp_path, ENOUGH + names)

    assert done.returncode == 0, done.stderr
    assert "sets every required variable" in done.stdout


def test_a_missing_one_is_named_by_our_name_then_the_gateways(tmp_path: Path) -> None:
    done = check_env(tmp_path, ENOUGH + "WHATSAPP_VERIFY_TOKEN=verify-value\n")

    assert done.returncode != 0  # make's 2, for the script's 1
    assert done.stderr.splitlines()[0] == (
        ".env is missing a value for: WHATSAPP_APP_SECRET (or WHATSAPP_WEBHOOK_SECRET)"
    )
    assert "verify-value" not in done.stdout + done.stderr


def test_the_makefiles_other_spellings_are_the_ones_the_router_reads(tmp_path: Path) -> None:
    printed = make(tmp_path, "--eval", "print-required: ; @echo $(REQUIRED_ENV)", "print-required")
    assert printed.returncode == 0, printed.stderr
    spellings = [entry.split("/") for entry in printed.stdout.split()]

    others = {ours: rest for ours, *rest in spellings if rest}
    assert others == {
        name.upper(): [ALIASES[name].upper()]
        for name in ("whatsapp_webhook_verify_token", "whatsapp_app_secret")
    }


def test_a_recommended_setting_left_unset_is_named_but_not_required(tmp_path: Path) -> None:
    required = ENOUGH + "WHATSAPP_WEBHOOK_VERIFY_TOKEN=v\nWHATSAPP_APP_SECRET=s\n"

    unset = check_env(tmp_path, required)
    key = "a-key-value-never-printed"
    set_ = check_env(tmp_path, required + f"ROUTER_ENCRYPTION_KEYS={key}\n")

    assert unset.returncode == 0, unset.stderr
    assert "Recommended, not required: .env leaves ROUTER_ENCRYPTION_KEYS unset" in unset.stdout
    assert set_.returncode == 0, set_.stderr
    assert "Recommended" not in set_.stdout
    assert key not in set_.stdout + set_.stderr


def test_the_makefiles_recommended_settings_are_the_routers(tmp_path: Path) -> None:
    printed = make(
        tmp_path, "--eval", "print-recommended: ; @echo $(RECOMMENDED_ENV)", "print-recommended"
    )
    assert printed.returncode == 0, printed.stderr

    names = printed.stdout.split()
    assert names == ["ROUTER_ENCRYPTION_KEYS"]
    assert all(name.lower() in Settings.model_fields for name in names)
