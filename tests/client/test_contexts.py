"""The contexts loader as a library: where the file is, parsing and its errors (one message
naming FILE:LINE), the precedence of resolve() with the source of each setting, secrets by
reference, writing, and mqadmin's tools.yml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nsctl.client import contexts
from nsctl.client.contexts import ConfigError, Context, load, read_tools_yml, resolve

EXAMPLE = """\
current-context = "dev"

[contexts.dev]
namesrv = "127.0.0.1:9876"
timeout = 5
retries = 2
output = "json"
namespaces = ["app", "billing"]

[contexts.prod]
address-server = "http://jmenv:8080/rocketmq/nsaddr"
tls = true
tls-ca = "ca.pem"
access-key = "ak"
secret-key-env = "PROD_SK"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_where_the_file_is():
    assert contexts.config_path({"NSCTL_CONFIG": "/x/c.toml", "HOME": "/h"}) == Path("/x/c.toml")
    assert contexts.config_path({"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}) == Path(
        "/xdg/nsctl/config.toml"
    )
    assert contexts.config_path({"HOME": "/h"}) == Path("/h/.config/nsctl/config.toml")


def test_a_missing_file_is_an_empty_configuration(tmp_path):
    config = load(tmp_path / "none.toml")
    assert (config.exists, config.current, config.contexts) == (False, None, {})
    assert load(Path(os.devnull) / "config.toml").contexts == {}  # what the tests point at
    settings = resolve({}, config=config, env={})
    assert settings.timeout == 3.0 and settings.sources["timeout"] == "default"
    assert settings.sources["namesrv"] == "none"


def test_parse(tmp_path):
    config = load(write(tmp_path, EXAMPLE))
    assert config.current == "dev"
    assert list(config.contexts) == ["dev", "prod"]
    assert config.contexts["dev"].namespaces == ["app", "billing"]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('[contexts.a]\nnamesrv = "x:1\n', 2, "invalid TOML"),
        ('[contexts.a]\nnamesrv = "x:1"\ncolour = "red"\n', 3, "contexts.a.colour: unknown key"),
        ('[contexts.a]\nnamesrv = "x:1"\ntimeout = "fast"\n', 3, "contexts.a.timeout: expected"),
        ("[contexts.a]\nretries = -1\n", 2, "contexts.a.retries: expected a whole number"),
        ('[contexts.a]\noutput = "yaml"\n', 2, "expected one of table, json, plain"),
        ('[contexts.a]\nnamesrv = "nohost"\n', 2, "contexts.a.namesrv: invalid NameServer"),
        ('[contexts.a]\naddress-server = "ftp://x"\n', 2, "not an http:// or https:// URL"),
        ('[contexts.a]\nsecret-key-env = "1X"\n', 2, "name of an environment variable"),
        ('[contexts.a]\nnamesrv = "x:1"\naddress-server = "http://x/"\n', 1, "exclude each"),
        ('current-context = "b"\n[contexts.a]\nnamesrv = "x:1"\n', 1, "'b' is not a context"),
        ('colour = "red"\n', 1, "colour: unknown key"),
        ("contexts = 3\n", 1, "expected a table of contexts"),
    ],
)
def test_a_broken_file_is_one_error_naming_file_and_line(tmp_path, text, line, says):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load(path)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert message.startswith(f"{path}:{line}: "), message
    assert says in message
    assert "\n" not in message


def test_an_unknown_context_is_an_error(tmp_path):
    config = load(write(tmp_path, EXAMPLE))
    with pytest.raises(ConfigError, match=r"no context 'nope' .*\(contexts: dev, prod\)"):
        resolve({}, context="nope", config=config, env={})


SECRET = {"PROD_SK": "sk-from-env"}


@pytest.mark.parametrize(
    ("explicit", "context", "env", "want", "source"),
    [
        # timeout: option > --context > current context > default (no variable)
        ({"timeout": 1.0}, "dev", {}, 1.0, "option"),
        ({}, "dev", {}, 5.0, "context dev (--context)"),
        ({}, None, {}, 5.0, "current context dev"),
        ({}, "prod", {}, 3.0, "default"),  # --context replaces the current context
    ],
)
def test_timeout_precedence(tmp_path, explicit, context, env, want, source):
    config = load(write(tmp_path, EXAMPLE))
    settings = resolve(explicit, context=context, config=config, env={**SECRET, **env})
    assert settings.timeout == want
    assert settings.sources["timeout"].startswith(source)


@pytest.mark.parametrize(
    ("explicit", "context", "env", "namesrv", "address_server", "source"),
    [
        ({"namesrv": "9.9.9.9:1"}, "prod", {"NAMESRV_ADDR": "8.8.8.8:1"}, "9.9.9.9:1", None,
         "-n/--namesrv"),
        ({"address_server": "http://a/"}, "dev", {"NAMESRV_ADDR": "8.8.8.8:1"}, None,
         "http://a/", "--address-server"),
        ({}, "prod", {"NAMESRV_ADDR": "8.8.8.8:1"}, None, "http://jmenv:8080/rocketmq/nsaddr",
         "context prod (--context)"),
        ({}, None, {"NAMESRV_ADDR": "8.8.8.8:1"}, None, None, "NAMESRV_ADDR"),
        ({}, None, {"NSCTL_ADDRESS_SERVER_URL": "http://b/"}, None, None,
         "NSCTL_ADDRESS_SERVER_URL"),
        ({}, None, {}, "127.0.0.1:9876", None, "current context dev"),
    ],
)  # fmt: skip
def test_address_precedence(tmp_path, explicit, context, env, namesrv, address_server, source):
    config = load(write(tmp_path, EXAMPLE))
    settings = resolve(explicit, context=context, config=config, env={**SECRET, **env})
    assert (settings.namesrv, settings.address_server) == (namesrv, address_server)
    assert settings.sources["namesrv"].startswith(source)


def test_keys_precedence_and_references(tmp_path):
    config = load(write(tmp_path, EXAMPLE))
    settings = resolve({}, context="prod", config=config, env=SECRET)
    assert (settings.access_key, settings.secret_key) == ("ak", "sk-from-env")
    assert settings.credentials().access_key == "ak"
    # the environment's keys beat the current context's, lose to --context's
    env = {**SECRET, "NSCTL_ACCESS_KEY": "env-ak", "NSCTL_SECRET_KEY": "env-sk"}
    assert resolve({}, context="prod", config=config, env=env).access_key == "ak"
    assert resolve({}, config=config, env=env).access_key == "env-ak"
    assert (
        resolve({"access_key": "opt"}, context="prod", config=config, env=env).sources["access_key"]
        == "option"
    )
    with pytest.raises(ConfigError, match=r"config.toml:\d+: context prod: secret-key-env: "
                       r"\$PROD_SK is not set"):  # fmt: skip
        resolve({}, context="prod", config=config, env={})


def test_secret_file_and_inline_secret_warnings(tmp_path):
    secret = tmp_path / "sk"
    secret.write_text("file-secret\n")
    secret.chmod(0o600)
    text = f'[contexts.a]\nnamesrv = "x:1"\naccess-key = "ak"\nsecret-key-file = "{secret.name}"\n'
    settings = resolve({}, context="a", config=load(write(tmp_path, text)), env={})
    assert settings.secret_key == "file-secret" and settings.warnings == []
    secret.chmod(0o644)
    settings = resolve({}, context="a", config=load(write(tmp_path, text)), env={})
    assert settings.secret_key == "file-secret"
    assert settings.warnings == [f"{secret} holds a secret key and others may read it: "
                                 f"chmod 600 {secret}"]  # fmt: skip

    inline = '[contexts.a]\nnamesrv = "x:1"\naccess-key = "ak"\nsecret-key = "inline"\n'
    settings = resolve({}, context="a", config=load(write(tmp_path, inline, 0o600)), env={})
    assert settings.secret_key == "inline" and settings.warnings == []
    settings = resolve({}, context="a", config=load(write(tmp_path, inline, 0o644)), env={})
    assert settings.secret_key == "inline"
    assert len(settings.warnings) == 1 and "chmod 600" in settings.warnings[0]


def test_tls_ca_is_relative_to_the_file(tmp_path):
    settings = resolve({}, context="prod", config=load(write(tmp_path, EXAMPLE)), env=SECRET)
    assert settings.tls is True and settings.tls_ca == tmp_path / "ca.pem"


def test_save_keeps_other_contexts_and_makes_a_private_file(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    config = load(path)
    config.contexts["a"] = Context("a", {"namesrv": "x:1", "timeout": 2.5})
    config.current = "a"
    config.save()
    assert path.stat().st_mode & 0o777 == 0o600
    again = load(path)
    again.contexts["b"] = Context("b", {"namesrv": "y:2"})
    again.save()
    final = load(path)
    assert final.current == "a"
    assert final.contexts["a"].values == {"namesrv": "x:1", "timeout": 2.5}
    assert final.contexts["b"].values == {"namesrv": "y:2"}


def test_tools_yml(tmp_path):
    path = tmp_path / "tools.yml"
    path.write_text("# mqadmin\naccessKey: rocketmq2\nsecretKey: '12345678'\n")
    assert read_tools_yml(path) == ("rocketmq2", "12345678")
    path.write_text("accessKey: rocketmq2\n")
    with pytest.raises(ConfigError, match="no secretKey line"):
        read_tools_yml(path)


def test_settings_make_a_manager(tmp_path, nameserver):
    from nsctl.client import NameServerManager

    path = write(tmp_path, f'[contexts.here]\nnamesrv = "{nameserver.address}"\ntimeout = 2\n')
    settings = resolve({}, context="here", config=load(path), env={})
    config = settings.manager_config(hedge_delay=0)
    assert (config.addresses, config.timeout, config.max_retry_times) == (
        [nameserver.address],
        2.0,
        2,
    )
    with NameServerManager(config) as manager:
        assert manager.invoke(lambda c: c.get_broker_cluster_info()).cluster_addr_table == {}
