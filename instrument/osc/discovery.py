"""OSCQuery: the namespace (types, ranges, current values, descriptions) over HTTP,
so Max (ossia), TouchOSC or Chataigne find the parameters without typing addresses.

Built on python-oscquery's address space and HTTP handler. The HTTP server
listens on the OSC host only (loopback unless configured otherwise); mDNS
advertisement (zeroconf) is opt-in with ``osc.zeroconf``.
"""

from __future__ import annotations

import threading
from typing import Any

from pythonoscquery.osc_query_service import OSCQueryHTTPHandler, OSCQueryHTTPServer, OSCQueryService
from pythonoscquery.shared.osc_access import OSCAccess
from pythonoscquery.shared.osc_address_space import OSCAddressSpace
from pythonoscquery.shared.osc_host_info import OSCHostInfo
from pythonoscquery.shared.osc_path_node import OSCPathNode
from pythonoscquery.shared.oscquery_spec import OSCQueryAttribute

from instrument.errors import DreamSoundError
from instrument.osc import namespace as ns
from instrument.settings import OscSettings


def _placeholder(parameter: ns.Parameter, value: Any) -> list[Any]:
    """A value of the OSC type the address takes (OSCQuery derives TYPE from it)."""
    if parameter.kind == "float":
        return [float(value)]
    if parameter.kind == "int":
        return [int(value)]
    if parameter.kind == "bool":
        return [int(bool(value))]
    if parameter.kind == "class":
        return [-1 if value is None else value if isinstance(value, int) else str(value)]
    return [str(value if value is not None else "none")]


def _range(parameter: ns.Parameter) -> list[dict[str, Any]] | None:
    if parameter.kind == "choice":
        return [{"VALS": list(parameter.spec.choices)}]
    if parameter.range is not None:
        low, high = parameter.range
        return [{"MIN": low, "MAX": high}]
    return None


class Discovery:
    """Serves ``/dream/...`` over OSCQuery and keeps its VALUEs current."""

    def __init__(self, settings: OscSettings, controls: Any, osc_port: int) -> None:
        self.settings = settings
        self.controls = controls
        self.space = OSCAddressSpace()
        self._nodes: dict[str, tuple[ns.Parameter, OSCPathNode]] = {}
        containers = {a.path.rsplit("/", 1)[0] for a in ns.ACTIONS}
        for parameter in ns.PARAMETERS:
            if parameter.path in containers:
                # OSCQuery nodes hold a value or children, not both: /dream/target_sound has
                # /capture below it, so only the action is listed (the address still works).
                continue
            node = OSCPathNode(
                parameter.path, OSCAccess.READWRITE_VALUE,
                _placeholder(parameter, controls.get(parameter.name)), parameter.spec.description,
            )
            node.attributes[OSCQueryAttribute.RANGE] = _range(parameter)
            self.space.add_node(node)
            self._nodes[parameter.name] = (parameter, node)
        for action in ns.ACTIONS:
            self.space.add_node(OSCPathNode(action.path, OSCAccess.NO_VALUE, None, action.description))
        self.host_info = OSCHostInfo(
            "DreamSound Live",
            {"ACCESS": True, "CLIPMODE": False, "RANGE": True, "TYPE": True, "VALUE": True, "DESCRIPTION": True},
            settings.host, osc_port, "UDP",
        )
        self.http: OSCQueryHTTPServer | None = None
        self._zeroconf_service: OSCQueryService | None = None
        self._remove = controls.add_listener(self._changed)

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.server_address[1]

    def start(self) -> None:
        try:
            self.http = OSCQueryHTTPServer(
                self.space, self.host_info, (self.settings.host, self.settings.oscquery_port), OSCQueryHTTPHandler
            )
        except OSError as err:
            raise DreamSoundError(
                f"cannot serve OSCQuery on {self.settings.host}:{self.settings.oscquery_port} ({err.strerror}); "
                "set osc.oscquery_port, or osc.oscquery: false"
            ) from err
        self.http.RequestHandlerClass.log_message = lambda *a, **k: None
        threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, name="oscquery", daemon=True
        ).start()
        if self.settings.zeroconf:
            service = OSCQueryService(self.space, "DreamSound Live", self.port, self.host_info.osc_port,
                                      self.settings.host)
            service.http_server = self.http  # reuse ours: only the mDNS part is started
            service.start()
            self._zeroconf_service = service

    def stop(self) -> None:
        self._remove()
        if self._zeroconf_service is not None:
            self._zeroconf_service.http_server = None
            self._zeroconf_service.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()

    def _changed(self, name: str, value: Any) -> None:
        if name in self._nodes:
            parameter, node = self._nodes[name]
            with self.space.lock:
                node.attributes[OSCQueryAttribute.VALUE] = _placeholder(parameter, value)
