"""mqadmin 5.3.3's long option names, per command (from its SubCommand classes): every nsctl
command accepts them beside its own (`deleteTopic --clusterName`), added from this one table
when the command is registered.

Left out on purpose: `topicList -c` is mqadmin's `--clusterModel`, a switch for another layout,
where nsctl's `-c` names a cluster; the common `-n/--namesrvAddr` is one of the common options.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Iterable

#: mqadmin command -> its short option -> its long option name.
MQADMIN_LONG_NAMES: dict[str, dict[str, str]] = {
    "topicRoute": {"-t": "--topic", "-l": "--list"},
    "topicClusterList": {"-t": "--topic"},
    "topicStatus": {"-t": "--topic", "-c": "--cluster"},
    "clusterList": {"-m": "--moreStats", "-i": "--interval", "-c": "--clusterName"},
    "brokerStatus": {"-b": "--brokerAddr", "-c": "--clusterName"},
    "deleteTopic": {"-t": "--topic", "-c": "--clusterName"},
    "updateOrderConf": {"-t": "--topic", "-v": "--orderConf", "-m": "--method"},
    "wipeWritePerm": {"-b": "--brokerName"},
    "addWritePerm": {"-b": "--brokerName"},
    "updateKvConfig": {"-s": "--namespace", "-k": "--key", "-v": "--value"},
    "deleteKvConfig": {"-s": "--namespace", "-k": "--key"},
    "updateNamesrvConfig": {"-k": "--key", "-v": "--value"},
    "updateTopic": {
        "-b": "--brokerAddr",
        "-c": "--clusterName",
        "-a": "--attributes",
        "-t": "--topic",
        "-r": "--readQueueNums",
        "-w": "--writeQueueNums",
        "-p": "--perm",
        "-o": "--order",
        "-u": "--unit",
        "-s": "--hasUnitSub",
    },
    "updateTopicPerm": {
        "-b": "--brokerAddr",
        "-c": "--clusterName",
        "-t": "--topic",
        "-p": "--perm",
    },
    "updateSubGroup": {
        "-b": "--brokerAddr",
        "-c": "--clusterName",
        "-g": "--groupName",
        "-s": "--consumeEnable",
        "-m": "--consumeFromMinEnable",
        "-d": "--consumeBroadcastEnable",
        "-o": "--consumeMessageOrderly",
        "-q": "--retryQueueNums",
        "-r": "--retryMaxTimes",
        "-p": "--groupRetryPolicy",
        "-i": "--brokerId",
        "-w": "--whichBrokerWhenConsumeSlowly",
        "-a": "--notifyConsumerIdsChanged",
    },
    "deleteSubGroup": {
        "-b": "--brokerAddr",
        "-c": "--clusterName",
        "-g": "--groupName",
        "-r": "--removeOffset",
    },
}


def with_mqadmin_names(
    commands: Iterable[str], parameters: list[inspect.Parameter]
) -> list[inspect.Parameter]:
    """`parameters` (a command function's own) with mqadmin's long name added to each option
    whose short name mqadmin gives one, for any of `commands` (a command and its aliases)."""
    names: dict[str, str] = {}
    for command in commands:
        names.update(MQADMIN_LONG_NAMES.get(command, {}))
    if not names:
        return parameters
    changed = []
    for parameter in parameters:
        base, *extras = typing.get_args(parameter.annotation) or (None,)
        info = next((e for e in extras if hasattr(e, "param_decls")), None)
        decls = list(getattr(info, "param_decls", None) or ())
        wanted = [names[d] for d in decls if d in names and names[d] not in decls]
        if info is None or not wanted:
            changed.append(parameter)
            continue
        extended = copy.copy(info)  # the Option may be shared by other commands
        extended.param_decls = (*decls, *wanted)
        rest = [extended if e is info else e for e in extras]
        annotation = typing.Annotated[(base, *rest)]  # type: ignore[valid-type]
        changed.append(parameter.replace(annotation=annotation))
    return changed
